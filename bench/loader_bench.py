"""Queue loader benchmark (issue 22): items/s from an SQS queue into a catalog, end to end.

tessera's loader (tessera.run_loader: receive, load, delete) into SQLite and PgSTAC, against a
pypgstac-based loader loop doing the same on PgSTAC the way eoapi-cdk's StacItemLoader does
(receive a batch of messages, json.loads each body, pypgstac Loader.load_items with upsert,
delete the batch). Both read one item per message from the same queue server, with batches of
--batch-size messages (received and deleted 10 per call, as SQS allows), one loader each, and
stop once a 1 s long poll finds the queue empty. The time counted runs from the start to the
deletion of the last batch (the final empty poll is the same second on both sides and is
left out).

Where the time goes:
- "queue only": the pypgstac loop's receive and delete calls (boto3) with nothing loaded;
- "load only": the same items given to each catalog directly, no queue (tessera.ingest_messages,
  the loader's own load step; pypgstac json.loads + Loader.load_items), in batches of
  --batch-size, and on PgSTAC also in one batch of all (the difference is the per-batch cost);
  "catalog load only": tessera's Catalog.load of the same batches as ndjson files, without the
  ingest step's source records and ordering checks;
- the pypgstac loop's receive / parse / load / delete seconds, and every run's CPU seconds in
  the loader's process and (when the bench started it) in the queue server.
tessera's loader also runs with --concurrency workers (several batches in flight on one
catalog), which overlaps queue round trips with catalog writes.

The queue server is ElasticMQ (scripts/elasticmq_server.sh; started on a free port unless
--queue-endpoint names a running one). moto, the test suite's queue server, answers ~15
messages/s and would time itself rather than the loaders. The pypgstac loop runs in a venv of
its own with pinned packages (bench/peer_env.py, bench/PEERS.md).

    scripts/elasticmq_server.sh install     # once: ElasticMQ from Maven Central
    python3 bench/loader_bench.py /tmp/tessera-loader-bench --template pgstac_template \
        --pgstac postgresql://tessera:tessera@127.0.0.1:55533/pgstac --items 5000 --runs 3
"""

import argparse
import contextlib
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

PEER = "pypgstac"
# pypgstac at the version of the test cluster's pgstac schema (0.10.0), as a deployment pairs them.
PEER_PINS = ["pypgstac[psycopg]==0.10.0", "boto3==1.44.18"]
CREDENTIALS = {"region": "us-east-1", "access_key_id": "tessera", "secret_access_key": "tessera-secret"}
SQS_BATCH = 10  # entries per SQS batch call and messages per receive: the AWS limits
VISIBILITY_SECONDS = 60
FINAL_POLL_SECONDS = 1


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


def message_bodies(count, collection):
    return [json.dumps(item(n, collection)) for n in range(count)]


def collection_json(collection):
    return {"type": "Collection", "stac_version": "1.1.0", "id": collection, "description": collection,
            "license": "proprietary", "links": [],
            "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]},
                       "temporal": {"interval": [["2024-01-01T00:00:00Z", None]]}}}


def chunks(values, size):
    return [values[start:start + size] for start in range(0, len(values), size)]


# --- In the peer venv: the queue chores and the pypgstac loop ----------------------------------------

def sqs_client(endpoint):
    import boto3

    return boto3.client("sqs", endpoint_url=endpoint, region_name=CREDENTIALS["region"],
                        aws_access_key_id=CREDENTIALS["access_key_id"],
                        aws_secret_access_key=CREDENTIALS["secret_access_key"])


def receive_batch(sqs, queue, batch_size):
    """Up to batch_size messages: a long poll for the first, then what is at hand."""
    messages = []
    wait = FINAL_POLL_SECONDS
    while len(messages) < batch_size:
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=min(SQS_BATCH, batch_size - len(messages)),
                                  WaitTimeSeconds=wait, VisibilityTimeout=VISIBILITY_SECONDS).get("Messages", [])
        if not got:
            break
        messages.extend(got)
        wait = 0
    return messages


def delete_batch(sqs, queue, messages):
    for part in chunks(messages, SQS_BATCH):
        entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(part)]
        assert not sqs.delete_message_batch(QueueUrl=queue, Entries=entries).get("Failed")


def pypgstac_loader(dsn):
    from pypgstac.db import PgstacDB
    from pypgstac.load import Loader

    return Loader(db=PgstacDB(dsn=dsn))


def queue_loop(sqs, queue, batch_size, loader):
    """The StacItemLoader loop; loader None receives and deletes only. Seconds per step, and
    the time from the start to the last batch's deletion."""
    from pypgstac.load import Methods

    spent = {"receive": 0.0, "parse": 0.0, "load": 0.0, "delete": 0.0}
    loaded = 0
    cpu = time.process_time()
    start = last_delete = time.perf_counter()
    while True:
        mark = time.perf_counter()
        messages = receive_batch(sqs, queue, batch_size)
        spent["receive"] += time.perf_counter() - mark
        if not messages:
            break
        if loader is not None:
            mark = time.perf_counter()
            items = [json.loads(m["Body"]) for m in messages]
            spent["parse"] += time.perf_counter() - mark
            mark = time.perf_counter()
            loader.load_items(iter(items), insert_mode=Methods.upsert)
            spent["load"] += time.perf_counter() - mark
        mark = time.perf_counter()
        delete_batch(sqs, queue, messages)
        last_delete = time.perf_counter()
        spent["delete"] += last_delete - mark
        loaded += len(messages)
    # The receive time holds the final empty long poll: it is not part of the drain.
    spent["receive"] -= time.perf_counter() - last_delete
    return {"items": loaded, "seconds": last_delete - start, "steps": spent, "loader_cpu": time.process_time() - cpu}


def peer_command(argv):
    command = argv[0]
    if command == "versions":
        from pypgstac.db import PgstacDB

        db = PgstacDB(dsn=argv[1])
        print(json.dumps({"pgstac": db.version, "postgresql": db.query_one("SHOW server_version")}))
    elif command in ("create-database", "drop-database"):
        import psycopg
        from psycopg import sql

        dsn, name = argv[1], argv[2]
        with psycopg.connect(dsn, autocommit=True) as connection:
            if command == "create-database":
                connection.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name),
                                                                                  sql.Identifier(argv[3])))
            else:
                connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    elif command == "create":
        endpoint, name = argv[1:3]
        attributes = {"VisibilityTimeout": str(VISIBILITY_SECONDS)}
        print(sqs_client(endpoint).create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
    elif command == "delete":
        endpoint, queue = argv[1:3]
        sqs_client(endpoint).delete_queue(QueueUrl=queue)
    elif command == "fill":
        endpoint, queue, count, collection = argv[1], argv[2], int(argv[3]), argv[4]
        sqs = sqs_client(endpoint)
        for part in chunks(message_bodies(count, collection), SQS_BATCH):
            entries = [{"Id": str(n), "MessageBody": body} for n, body in enumerate(part)]
            assert not sqs.send_message_batch(QueueUrl=queue, Entries=entries).get("Failed")
    elif command in ("pypgstac", "queue-only"):
        endpoint, queue, batch_size = argv[1], argv[2], int(argv[3])
        loader = pypgstac_loader(argv[4]) if command == "pypgstac" else None
        print(json.dumps(queue_loop(sqs_client(endpoint), queue, batch_size, loader)))
    elif command == "pypgstac-load":
        from pypgstac.load import Methods

        dsn, count, collection, batch_size = argv[1], int(argv[2]), argv[3], int(argv[4])
        loader = pypgstac_loader(dsn)
        spent = {"parse": 0.0, "load": 0.0}
        cpu = time.process_time()
        for bodies in chunks(message_bodies(count, collection), batch_size):
            mark = time.perf_counter()
            items = [json.loads(body) for body in bodies]
            spent["parse"] += time.perf_counter() - mark
            mark = time.perf_counter()
            loader.load_items(iter(items), insert_mode=Methods.upsert)
            spent["load"] += time.perf_counter() - mark
        print(json.dumps({"items": count, "seconds": spent["parse"] + spent["load"], "steps": spent,
                          "loader_cpu": time.process_time() - cpu}))
    else:
        raise SystemExit(f"unknown peer command {command}")


# --- The benchmark (tessera's Python) ------------------------------------------------------------

def elasticmq_pin():
    """The ElasticMQ version bench/elasticmq/pom.xml pins (what scripts/elasticmq_server.sh runs)."""
    found = re.search(r"<elasticmq.version>(.*)</elasticmq.version>",
                      (REPO / "bench" / "elasticmq" / "pom.xml").read_text())
    return found.group(1) if found else "unknown"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def peer(python, *argv):
    run = subprocess.run([str(python), __file__, "--peer", *map(str, argv)], capture_output=True, text=True,
                         check=False)
    if run.returncode != 0:
        raise SystemExit(f"peer {argv[0]} failed: {run.stderr[-3000:]}")
    return run.stdout.strip().splitlines()


def with_database(url, name):
    return urllib.parse.urlsplit(url)._replace(path="/" + name).geturl()


def process_cpu_seconds(pid):
    """User + system CPU seconds of a process (Linux /proc), or None when it is not ours to read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def git_commit(path):
    run = subprocess.run(["git", "-C", str(path), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                         check=False)
    return run.stdout.strip() or "unknown"


class Bench:
    def __init__(self, args, python, endpoint, tessera, server_pid):
        self.args, self.python, self.endpoint, self.tessera = args, python, endpoint, tessera
        self.server_pid = server_pid  # the queue server's, when the bench started it
        self.collection = f"loader-bench-{os.getpid()}"
        self.pg = tessera.Catalog.open(args.pgstac)

    def fresh_pgstac_collection(self):
        self.drop_pgstac_collection()
        self.pg.upsert_collection(collection_json(self.collection))

    def drop_pgstac_collection(self):
        try:
            self.pg.delete_collection(self.collection, cascade=True)
        except self.tessera.NotFound:
            pass

    def close(self):
        """Drops the bench's collection and closes the PgSTAC catalog (its connections)."""
        self.drop_pgstac_collection()
        self.pg = None

    def sqlite_catalog(self, name):
        path = Path(self.args.work_dir) / f"{name}.db"
        path.unlink(missing_ok=True)
        catalog = self.tessera.Catalog.open(f"sqlite://{path}")
        catalog.upsert_collection(collection_json(self.collection))
        return catalog

    def catalog(self, target, name):
        if target == "sqlite":
            return self.sqlite_catalog(name)
        self.fresh_pgstac_collection()
        return self.pg

    def server_cpu(self):
        return process_cpu_seconds(self.server_pid) if self.server_pid else None

    def with_server_cpu(self, report, before):
        """The report with the queue server's CPU seconds since `before` (when known)."""
        if before is not None:
            report["queue_server_cpu"] = self.server_cpu() - before
        return report

    def filled_queue(self):
        queue = peer(self.python, "create", self.endpoint, f"bench-{uuid.uuid4().hex[:12]}")[0]
        peer(self.python, "fill", self.endpoint, queue, self.args.items, self.collection)
        return queue

    def tessera_loader(self, target, concurrency, name):
        catalog = self.catalog(target, name)
        queue = self.filled_queue()
        last_batch = []

        def on_batch(summary):
            if summary["received"]:
                last_batch.append(time.perf_counter())

        server_cpu = self.server_cpu()
        cpu = time.process_time()
        start = time.perf_counter()
        totals = self.tessera.run_loader(
            catalog, queue, queue_options={"endpoint": self.endpoint, **CREDENTIALS},
            batch_size=self.args.batch_size, batch_window_seconds=5, wait_seconds=FINAL_POLL_SECONDS,
            visibility_timeout_seconds=VISIBILITY_SECONDS, concurrency=concurrency, until_empty=True,
            on_batch=on_batch)
        report = self.with_server_cpu(
            {"items": totals["loaded"], "seconds": max(last_batch) - start, "loader_cpu": time.process_time() - cpu},
            server_cpu)
        peer(self.python, "delete", self.endpoint, queue)
        return report

    def pypgstac_loop(self, command):
        if command == "pypgstac":
            self.fresh_pgstac_collection()
        queue = self.filled_queue()
        extra = [self.args.pgstac] if command == "pypgstac" else []
        server_cpu = self.server_cpu()
        report = json.loads(peer(self.python, command, self.endpoint, queue, self.args.batch_size, *extra)[-1])
        report = self.with_server_cpu(report, server_cpu)
        peer(self.python, "delete", self.endpoint, queue)
        return report

    def tessera_load_only(self, target, name, batch_size):
        catalog = self.catalog(target, name)
        batches = chunks(message_bodies(self.args.items, self.collection), batch_size)
        loaded = 0
        cpu = time.process_time()
        start = time.perf_counter()
        for bodies in batches:
            results = self.tessera.ingest_messages(catalog, bodies, batch_size=batch_size)
            loaded += sum(result["loaded"] for result in results)
        return {"items": loaded, "seconds": time.perf_counter() - start, "loader_cpu": time.process_time() - cpu}

    def tessera_catalog_load_only(self, target, name):
        """Catalog.load of ndjson files of --batch-size items, upsert: the catalog's write without the
        ingest step's bookkeeping (source records looked up and stored, ordering by `updated`)."""
        catalog = self.catalog(target, name)
        files = []
        for n, bodies in enumerate(chunks(message_bodies(self.args.items, self.collection), self.args.batch_size)):
            path = Path(self.args.work_dir) / f"batch-{n}.ndjson"
            path.write_text("\n".join(bodies) + "\n")
            files.append(path)
        loaded = 0
        cpu = time.process_time()
        start = time.perf_counter()
        for path in files:
            loaded += catalog.load(str(path), mode="upsert", batch_size=self.args.batch_size)["loaded"]
        report = {"items": loaded, "seconds": time.perf_counter() - start, "loader_cpu": time.process_time() - cpu}
        for path in files:
            path.unlink()
        return report

    def pypgstac_load_only(self, batch_size):
        self.fresh_pgstac_collection()
        return json.loads(peer(self.python, "pypgstac-load", self.args.pgstac, self.args.items, self.collection,
                               batch_size)[-1])

    def configurations(self):
        """name -> a function timing one run."""
        runs = {
            "tessera_sqlite": lambda: self.tessera_loader("sqlite", 1, "loader-sqlite"),
            "tessera_pgstac": lambda: self.tessera_loader("pgstac", 1, "-"),
        }
        for workers in self.args.concurrency:
            if workers > 1:
                runs[f"tessera_sqlite_c{workers}"] = (
                    lambda workers=workers: self.tessera_loader("sqlite", workers, f"loader-sqlite-c{workers}"))
                runs[f"tessera_pgstac_c{workers}"] = lambda workers=workers: self.tessera_loader("pgstac", workers, "-")
        runs.update({
            "pypgstac": lambda: self.pypgstac_loop("pypgstac"),
            "queue_only": lambda: self.pypgstac_loop("queue-only"),
            "load_only_tessera_sqlite": lambda: self.tessera_load_only("sqlite", "load-sqlite", self.args.batch_size),
            "load_only_tessera_pgstac": lambda: self.tessera_load_only("pgstac", "-", self.args.batch_size),
            "load_only_pypgstac": lambda: self.pypgstac_load_only(self.args.batch_size),
            "catalog_load_only_tessera_sqlite": lambda: self.tessera_catalog_load_only("sqlite", "catalog-sqlite"),
            "catalog_load_only_tessera_pgstac": lambda: self.tessera_catalog_load_only("pgstac", "-"),
            # All items in one batch: what a batch's fixed costs take from the rows above.
            "load_only_one_batch_tessera_pgstac": lambda: self.tessera_load_only("pgstac", "-", self.args.items),
            "load_only_one_batch_pypgstac": lambda: self.pypgstac_load_only(self.args.items),
        })
        return runs


def median_steps(reports):
    names = reports[0].get("steps", {}).keys()
    return {name: statistics.median(report["steps"][name] for report in reports) for name in names}


def median_cpu(reports):
    """Median CPU seconds of the loader's process and of the queue server, where measured."""
    keys = [key for key in ("loader_cpu", "queue_server_cpu") if key in reports[0]]
    return {key: statistics.median(report[key] for report in reports) for key in keys}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("work_dir")
    parser.add_argument("--pgstac", required=True, help="PgSTAC database URL")
    parser.add_argument("--template", help="load into a clone of this template database of the --pgstac "
                                           "cluster (CREATE DATABASE ... TEMPLATE), dropped at the end, so that "
                                           "tests sharing the cluster neither disturb the bench nor see it")
    parser.add_argument("--queue-endpoint", help="a running SQS server (default: start ElasticMQ on a free port)")
    parser.add_argument("--queue-server", help="what runs at --queue-endpoint, for the report "
                                               "(default: the ElasticMQ version bench/elasticmq/pom.xml pins)")
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warmup-items", type=int, default=5000,
                        help="messages sent and drained once, untimed, before the runs (the JVM's JIT)")
    parser.add_argument("--concurrency", type=int, nargs="*", default=[4],
                        help="tessera loader worker counts to time besides 1")
    args = parser.parse_args()

    import peer_env
    import tessera

    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    python = peer_env.ensure_venv(work, PEER, PEER_PINS)
    endpoint = args.queue_endpoint
    server_pid = None  # the queue server's CPU per run is known when the bench started it
    cluster_url = args.pgstac
    with contextlib.ExitStack() as cleanup:  # undone in reverse order, whatever fails
        if endpoint is None:
            queue_dir = work / "elasticmq"
            server_script = REPO / "scripts" / "elasticmq_server.sh"
            cleanup.callback(subprocess.run, [str(server_script), "stop", "--purge", str(queue_dir)], check=False)
            endpoint = subprocess.run([str(server_script), "start", str(queue_dir), str(free_port())],
                                      capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
            server_pid = int((queue_dir / "elasticmq.pid").read_text())
        if args.template:
            database = f"tessera_loader_bench_{os.getpid()}"
            cleanup.callback(peer, python, "drop-database", cluster_url, database)
            peer(python, "create-database", cluster_url, database, args.template)
            args.pgstac = with_database(cluster_url, database)
        versions = peer_env.installed_versions(python, ["pypgstac", "boto3"])
        versions.update(json.loads(peer(python, "versions", args.pgstac)[-1]))
        load_before = os.getloadavg()
        bench = Bench(args, python, endpoint, tessera, server_pid)
        cleanup.callback(bench.close)
        runs = bench.configurations()
        reports = {name: [] for name in runs}
        if args.warmup_items > 0:
            queue = peer(python, "create", endpoint, f"warmup-{uuid.uuid4().hex[:12]}")[0]
            peer(python, "fill", endpoint, queue, args.warmup_items, bench.collection)
            peer(python, "queue-only", endpoint, queue, args.batch_size)
            peer(python, "delete", endpoint, queue)
        for run in range(args.runs):
            for name, time_one in runs.items():
                report = time_one()
                if report["items"] != args.items:
                    raise SystemExit(f"{name} run {run}: {report['items']} of {args.items} items")
                reports[name].append(report)
                details = {key: value for key, value in report.items() if key not in ("items", "seconds")}
                print(f"{name} run {run}: {args.items / report['seconds']:,.0f} items/s ({report['seconds']:.2f} s) "
                      f"{json.dumps(details)}", file=sys.stderr, flush=True)
    medians = {name: args.items / statistics.median(r["seconds"] for r in values) for name, values in reports.items()}
    versions.update({"tessera": tessera.__version__, "tessera_package": str(Path(tessera.__file__).parent),
                     # The checkout holding the package, at the time of the run (the install may be older).
                     "tessera_repo_head": git_commit(Path(tessera.__file__).resolve().parent),
                     "queue_server": args.queue_server or f"ElasticMQ {elasticmq_pin()}"})
    print(json.dumps({
        "items": args.items, "batch_size": args.batch_size, "runs": args.runs,
        "items_per_second": medians,
        "pypgstac_loop_seconds": median_steps(reports["pypgstac"]),
        "queue_only_seconds": median_steps(reports["queue_only"]),
        "load_only_pypgstac_seconds": median_steps(reports["load_only_pypgstac"]),
        "median_cpu_seconds": {name: median_cpu(values) for name, values in reports.items()},
        "ratio_pgstac_vs_pypgstac": {name: value / medians["pypgstac"] for name, value in medians.items()
                                     if name.startswith("tessera_pgstac")},
        "ratio_load_only_pgstac_vs_pypgstac": medians["load_only_tessera_pgstac"] / medians["load_only_pypgstac"],
        "versions": versions,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_before": load_before, "load_average_after": os.getloadavg()},
    }, indent=2))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--peer":
        peer_command(sys.argv[2:])
    else:
        main()
