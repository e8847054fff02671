"""Packaging and ingest across a Dask cluster, every worker on the shared catalog and storage.

Each task opens tessera's own handles from plain settings (a catalog URI, a
storage URI and options): the handles hold connections and do not pickle.
Duplicate or retried work is harmless: package builds take tessera's locks in
the catalog (PostgreSQL advisory locks with a PgSTAC catalog) and skip outputs
already published; item files are ingested with mode "ignore", so an item
loaded once is skipped after.

Usage:
  distributed_pipeline.py package --catalog URI --storage URI --boundaries SOURCE [--name-field NAME]
                                  --datasets datasets.json [--only NAME ...]
  distributed_pipeline.py ingest  --catalog URI SOURCE_OR_PREFIX ...

  --scheduler ADDRESS (or DASK_SCHEDULER_ADDRESS) joins a running cluster; without it a LocalCluster of
  --workers processes is started. --storage-option KEY=VALUE (endpoint, region...) is sent with the
  tasks; S3 keys come from the workers' own AWS_* environment. See docs/distributed.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import threading
import uuid

import tessera

ITEM_FILE_SUFFIXES = (".json", ".geojson", ".ndjson")


@dataclasses.dataclass(frozen=True)
class Target:
    """Where every worker connects. Plain strings only: this travels with each task."""

    catalog: str
    storage: str = ""
    storage_options: tuple[tuple[str, str], ...] = ()

    def options(self) -> dict[str, str] | None:
        return dict(self.storage_options) or None


# One catalog (a pool of connections) and one storage per worker process and target, opened on first use
# and shared by the worker's threads (both are thread-safe).
_handles: dict[Target, tuple[tessera.Catalog, tessera.Storage | None]] = {}
_handles_lock = threading.Lock()


def connect(target: Target) -> tuple[tessera.Catalog, tessera.Storage | None]:
    with _handles_lock:
        if target not in _handles:
            catalog = tessera.Catalog.open(target.catalog)
            storage = tessera.Storage.open(target.storage, target.options()) if target.storage else None
            _handles[target] = (catalog, storage)
        return _handles[target]


def connect_packaging(target: Target) -> tuple[tessera.Catalog, tessera.Storage]:
    """The handles a package task needs: packages are written to the target's storage, which it must name."""
    catalog, storage = connect(target)
    if storage is None:
        raise ValueError("packaging needs a storage URI (--storage)")
    return catalog, storage


def package_boundary(target: Target, boundary: str, datasets: list[dict], job_id: str,
                     wait_for_locks: bool = True) -> dict:
    """A worker task: build one boundary's package; returns the job's status record. A dataset another job
    is building is waited for and then skipped, or with wait_for_locks=False reported "in_progress"."""
    catalog, storage = connect_packaging(target)
    packager = tessera.Packager(storage, catalog)  # the catalog holds the locks
    try:
        packager.build(boundary, datasets, job_id=job_id, wait_for_locks=wait_for_locks,
                       storage_options=target.options())
    except tessera.Error:
        # A failed dataset does not stop the others; the status record names it.
        pass
    return packager.job_status(job_id)


def ingest_source(target: Target, source: str) -> dict:
    """A worker task: ingest one item file (or prefix); returns tessera's report."""
    catalog, _ = connect(target)
    return tessera.ingest(catalog, [source], mode="ignore", storage_options=target.options())


def add_boundaries(target: Target, source: str, name_field: str) -> list[str]:
    """Once, on the client: store the boundaries on the shared storage, where every worker finds them."""
    catalog, storage = connect_packaging(target)
    return [b["name"] for b in tessera.Packager(storage, catalog).add_boundaries(source, name_field=name_field)]


def item_files(target: Target, sources: list[str]) -> list[str]:
    """Expands storage prefixes (s3://..., file://...) into their item files: one task per file."""
    files = []
    for source in sources:
        if not source.endswith("/"):
            files.append(source)
            continue
        prefix = tessera.Storage.open(source, target.options())
        files += [prefix.uri(key) for key in prefix.list() if key.endswith(ITEM_FILE_SUFFIXES)]
    return files


def package_all(client, target: Target, boundaries: list[str], datasets: list[dict], run: str) -> list[dict]:
    """One task per boundary (listed twice, it is built once and skipped once); the job statuses, in order."""
    futures = [client.submit(package_boundary, target, boundary, datasets, f"{run}-{index}", pure=False)
               for index, boundary in enumerate(boundaries)]
    return client.gather(futures)


def ingest_all(client, target: Target, files: list[str]) -> list[dict]:
    """One task per item file; the ingest reports, in order."""
    return client.gather([client.submit(ingest_source, target, path, pure=False) for path in files])


def open_client(scheduler: str | None, workers: int):
    from dask.distributed import Client, LocalCluster

    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        return Client(address)
    return Client(LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None))


def main(argv: list[str]) -> int:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--catalog", required=True, help="postgresql://... (the shared PgSTAC catalog)")
    common.add_argument("--storage-option", action="append", default=[], metavar="KEY=VALUE")
    common.add_argument("--scheduler", help="a Dask scheduler address, e.g. tcp://scheduler:8786")
    common.add_argument("--workers", type=int, default=2, help="LocalCluster size without --scheduler")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    package = commands.add_parser("package", parents=[common], help="build the packages of many boundaries")
    package.add_argument("--storage", required=True, help="where packages go (s3://bucket/packages)")
    package.add_argument("--boundaries", required=True, help="an OGR source of boundaries")
    package.add_argument("--name-field", default="name")
    package.add_argument("--datasets", required=True, help="a JSON file with the dataset definitions")
    package.add_argument("--only", action="append", help="these boundaries only (default: all)")
    ingest = commands.add_parser("ingest", parents=[common], help="ingest many item files")
    ingest.add_argument("sources", nargs="+", help="item files or storage prefixes ending in '/'")
    args = parser.parse_args(argv)
    options = tuple(tuple(option.split("=", 1)) for option in args.storage_option)
    target = Target(args.catalog, getattr(args, "storage", ""), options)

    with open_client(args.scheduler, args.workers) as client:
        print("dask scheduler:", client.scheduler_info()["address"], file=sys.stderr)
        client.upload_file(__file__)  # every worker imports this module
        if args.command == "ingest":
            # Listed on a worker: the client needs no access to the data.
            files = client.submit(item_files, target, args.sources, pure=False).result()
            reports = ingest_all(client, target, files)
            for report in reports:
                for result in report["results"]:
                    if result["status"] == "failed":
                        print(f"{result['source']}: {result.get('error') or result['failed']}", file=sys.stderr)
            failed = sum(report["failed"] for report in reports)
            print(json.dumps({"files": len(reports), "loaded": sum(r["loaded"] for r in reports),
                              "skipped": sum(r["skipped"] for r in reports), "failed": failed}))
            return 1 if failed else 0
        names = add_boundaries(target, args.boundaries, args.name_field)
        with open(args.datasets) as definitions:
            datasets = json.load(definitions)
        statuses = package_all(client, target, args.only or names, datasets, f"dask-{uuid.uuid4().hex[:8]}")
        for status in statuses:
            print(status["id"], status["status"], {d["name"]: d["status"] for d in status["datasets"]})
        return 0 if all(status["status"] == "completed" for status in statuses) else 1


if __name__ == "__main__":
    # Run as the module, so that tasks refer to its functions by name instead of
    # pickling them from __main__ along with the client's open handles.
    import distributed_pipeline

    sys.exit(distributed_pipeline.main(sys.argv[1:]))
