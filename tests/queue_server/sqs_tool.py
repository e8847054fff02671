"""SQS chores for the Python tests, run by the queue server's venv (boto3 comes with moto):

    sqs_tool.py ENDPOINT create NAME          prints the queue URL
    sqs_tool.py ENDPOINT send QUEUE_URL       sends each line of stdin as a message
    sqs_tool.py ENDPOINT drain QUEUE_URL      prints each message left as JSON {"body", "attributes"}, deleting it
"""
import json
import sys

import boto3


def main(endpoint, command, target):
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="tessera",
                       aws_secret_access_key="tessera-secret")
    if command == "create":
        print(sqs.create_queue(QueueName=target)["QueueUrl"])
    elif command == "send":
        lines = [line.rstrip("\n") for line in sys.stdin if line.strip()]
        for start in range(0, len(lines), 10):
            entries = [{"Id": str(n), "MessageBody": body} for n, body in enumerate(lines[start:start + 10])]
            failed = sqs.send_message_batch(QueueUrl=target, Entries=entries).get("Failed")
            if failed:
                sys.exit(f"send failed: {failed}")
    elif command == "drain":
        while True:
            messages = sqs.receive_message(QueueUrl=target, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                           MessageAttributeNames=["All"]).get("Messages", [])
            if not messages:
                return
            for message in messages:
                attributes = {k: v.get("StringValue") for k, v in message.get("MessageAttributes", {}).items()}
                print(json.dumps({"body": message["Body"], "attributes": attributes}))
                sqs.delete_message(QueueUrl=target, ReceiptHandle=message["ReceiptHandle"])
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
