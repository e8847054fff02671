"""Queue loader benchmark (issue 22): items/s from an SQS queue into a catalog, end to end.

tessera's loader (tessera.run_loader: receive, load, delete) into SQLite and PgSTAC, against a
pypgstac-based loader loop doing the same on PgSTAC the way eoapi-cdk's StacItemLoader does
(receive a batch of messages, pypgstac Loader.load_items, delete the batch). Both read one
item per message from the same queue server (moto in server mode, scripts/queue_server.sh),
with batches of --batch-size messages, one loader each, and stop once a 1 s long poll finds
the queue empty (the same rule both sides). A "queue only" loop (receive and delete,
nothing loaded) shows what the queue server itself costs. The pypgstac loop runs in a venv
of its own with pinned packages (bench/peer_env.py, bench/PEERS.md).

    python3 bench/loader_bench.py /tmp/tessera-loader-bench \
        --pgstac postgresql://tessera:tessera@127.0.0.1:55533/pgstac --items 5000 --runs 3
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

PEER = "pypgstac"
PEER_PINS = ["pypgstac[psycopg]==0.10.0", "boto3==1.44.18"]
CREDENTIALS = {"region": "us-east-1", "access_key_id": "tessera", "secret_access_key": "tessera-secret"}


def item(n, collection):
    x = -120 + (n % 2400) * 0.1
    y = -60 + (n // 2400) * 0.1
    return {
        "type": "Feature", "stac_version": "1.1.0", "id": f"bench-{n:07d}", "collection": collection,
        "geometry": {"type": "Polygon", "coordinates": [[[x, y], [x + 0.1, y], [x + 0.1, y + 0.1], [x, y + 0.1],
                                                         [x, y]]]},
        "bbox": [x, y, x + 0.1, y + 0.1],
        "properties": {"datetime": f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}T10:00:00Z", "eo:cloud_cover": n % 100,
                       "platform": "bench-sat", "updated": "2024-06-01T00:00:00Z"},
        "assets": {"data": {"href": f"s3://bench/scenes/{n}.tif", "type": "image/tiff; application=geotiff",
                            "roles": ["data"]}},
        "links": [],
    }


def collection_json(collection):
    return {"type": "Collection", "stac_version": "1.1.0", "id": collection, "description": collection,
            "license": "proprietary", "links": [],
            "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]},
                       "temporal": {"interval": [["2024-01-01T00:00:00Z", None]]}}}


# --- In the peer venv: the queue chores and the pypgstac loop ----------------------------------------

def sqs_client(endpoint):
    import boto3

    return boto3.client("sqs", endpoint_url=endpoint, region_name=CREDENTIALS["region"],
                        aws_access_key_id=CREDENTIALS["access_key_id"],
                        aws_secret_access_key=CREDENTIALS["secret_access_key"])


def receive_batch(sqs, queue, batch_size):
    """Up to batch_size messages: a 1 s long poll for the first, then what is at hand."""
    messages = []
    wait = 1
    while len(messages) < batch_size:
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=min(10, batch_size - len(messages)),
                                  WaitTimeSeconds=wait, VisibilityTimeout=60).get("Messages", [])
        if not got:
            break
        messages.extend(got)
        wait = 0
    return messages


def delete_batch(sqs, queue, messages):
    for start in range(0, len(messages), 10):
        entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages[start:start + 10])]
        sqs.delete_message_batch(QueueUrl=queue, Entries=entries)


def peer_command(argv):
    command, endpoint, queue = argv[:3]
    sqs = sqs_client(endpoint) if command != "pgstac-version" else None
    if command == "pgstac-version":
        from pypgstac.db import PgstacDB

        print(PgstacDB(dsn=argv[3]).version)
    elif command == "create":
        print(sqs.create_queue(QueueName=queue, Attributes={"VisibilityTimeout": "60"})["QueueUrl"])
    elif command == "fill":
        count, collection = int(argv[3]), argv[4]
        for start in range(0, count, 10):
            entries = [{"Id": str(n), "MessageBody": json.dumps(item(n, collection))}
                       for n in range(start, min(count, start + 10))]
            assert not sqs.send_message_batch(QueueUrl=queue, Entries=entries).get("Failed")
    elif command in ("pypgstac", "queue-only"):
        batch_size = int(argv[3])
        loader = None
        if command == "pypgstac":
            from pypgstac.db import PgstacDB
            from pypgstac.load import Loader, Methods

            db = PgstacDB(dsn=argv[4])
            loader = Loader(db=db)
        loaded = 0
        start = time.perf_counter()
        while True:
            messages = receive_batch(sqs, queue, batch_size)
            if not messages:
                break
            if loader is not None:
                items = [json.loads(m["Body"]) for m in messages]
                loader.load_items(iter(items), insert_mode=Methods.upsert)
            delete_batch(sqs, queue, messages)
            loaded += len(messages)
        print(json.dumps({"items": loaded, "seconds": time.perf_counter() - start}))
    else:
        raise SystemExit(f"unknown peer command {command}")


# --- The benchmark (tessera's Python) ------------------------------------------------------------

def moto_pin():
    """The queue server's moto version, as scripts/setup.sh pins it."""
    for line in (REPO / "tests" / "queue_server" / "requirements.txt").read_text().splitlines():
        if line.startswith("moto=="):
            return line.split("==")[1]
    return "unknown"


def peer(python, *argv):
    run = subprocess.run([str(python), __file__, "--peer", *map(str, argv)], capture_output=True, text=True,
                         check=False)
    if run.returncode != 0:
        raise SystemExit(f"peer {argv[0]} failed: {run.stderr[-3000:]}")
    return run.stdout.strip().splitlines()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("work_dir")
    parser.add_argument("--pgstac", required=True, help="PgSTAC database URL")
    parser.add_argument("--queue-endpoint", help="a running SQS server (default: start one)")
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    import peer_env
    import tessera

    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    python = peer_env.ensure_venv(work, PEER, PEER_PINS)
    endpoint = args.queue_endpoint
    queue_dir = work / "queue"
    if endpoint is None:
        port = 57000 + os.getpid() % 900
        endpoint = subprocess.run([str(REPO / "scripts" / "queue_server.sh"), "start", str(queue_dir), str(port)],
                                  capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    collection = f"loader-bench-{os.getpid()}"
    results = {name: [] for name in ("tessera_sqlite", "tessera_pgstac", "pypgstac", "queue_only")}
    pg = tessera.Catalog.open(args.pgstac)
    try:
        for run in range(args.runs):
            for name in results:
                queue = peer(python, "create", endpoint, f"bench-{uuid.uuid4().hex[:12]}")[0]
                peer(python, "fill", endpoint, queue, args.items, collection)
                if name == "tessera_pgstac" or name == "pypgstac":
                    try:
                        pg.delete_collection(collection, cascade=True)
                    except tessera.NotFound:
                        pass
                    pg.upsert_collection(collection_json(collection))
                if name.startswith("tessera"):
                    if name == "tessera_sqlite":
                        path = work / f"loader-{run}.db"
                        path.unlink(missing_ok=True)
                        catalog = tessera.Catalog.open(f"sqlite://{path}")
                        catalog.upsert_collection(collection_json(collection))
                    else:
                        catalog = pg
                    start = time.perf_counter()
                    totals = tessera.run_loader(catalog, queue, queue_options={"endpoint": endpoint, **CREDENTIALS},
                                                batch_size=args.batch_size, batch_window_seconds=5, wait_seconds=1,
                                                until_empty=True)
                    seconds = time.perf_counter() - start
                    loaded = totals["loaded"]
                else:
                    extra = [args.pgstac] if name == "pypgstac" else []
                    report = json.loads(peer(python, name, endpoint, queue, args.batch_size, *extra)[-1])
                    seconds, loaded = report["seconds"], report["items"]
                if loaded != args.items:
                    raise SystemExit(f"{name} run {run}: {loaded} of {args.items} items")
                results[name].append(args.items / seconds)
                print(f"{name} run {run}: {args.items / seconds:,.0f} items/s ({seconds:.2f} s)", file=sys.stderr,
                      flush=True)
    finally:
        try:
            pg.delete_collection(collection, cascade=True)
        except tessera.NotFound:
            pass
        if args.queue_endpoint is None:
            subprocess.run([str(REPO / "scripts" / "queue_server.sh"), "stop", "--purge", str(queue_dir)],
                           check=False)
    medians = {name: statistics.median(values) for name, values in results.items()}
    print(json.dumps({
        "items": args.items, "batch_size": args.batch_size, "runs": args.runs,
        "items_per_second": medians,
        "ratio_pgstac_vs_pypgstac": medians["tessera_pgstac"] / medians["pypgstac"],
        "versions": {"tessera": tessera.__version__, **peer_env.installed_versions(python, ["pypgstac", "boto3"]),
                     "moto": moto_pin(), "pgstac": peer(python, "pgstac-version", endpoint, "-", args.pgstac)[0]},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
    }, indent=2))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--peer":
        peer_command(sys.argv[2:])
    else:
        main()
