"""SQS chores for the Python tests, run by the queue server's venv (boto3 comes with moto):

    sqs_tool.py ENDPOINT create NAME          prints the queue URL
    sqs_tool.py ENDPOINT send QUEUE_URL       sends each line of stdin as a message
    sqs_tool.py ENDPOINT drain QUEUE_URL      prints each message left as JSON {"body", "attributes"}, deleting it
    sqs_tool.py ENDPOINT subscribe QUEUE_URL TOPIC_NAME
                                              subscribes the queue to the SNS topic (created when missing; raw
                                              delivery), prints the topic's ARN
"""
import json
import sys

import boto3


def main(endpoint, command, target, topic=None):
    credentials = {"endpoint_url": endpoint, "region_name": "us-east-1", "aws_access_key_id": "tessera",
                   "aws_secret_access_key": "tessera-secret"}
    sqs = boto3.client("sqs", **credentials)
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
    elif command == "subscribe":
        sns = boto3.client("sns", **credentials)
        topic_arn = sns.create_topic(Name=topic)["TopicArn"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=target, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn,
                      Attributes={"RawMessageDelivery": "true"})
        print(topic_arn)
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main(*sys.argv[1:5])
