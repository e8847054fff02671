"""STAC API benchmark (issue 17): stac-fastapi-pgstac vs `tessera serve`.

The same generated Sentinel-2-like items are served by three servers:

* stac-fastapi-pgstac (PyPI, pinned in bench/peer_env.py, installed by this script into a
  virtualenv of its own) under uvicorn with its recommended settings
  (`create_app --factory --workers 2 --no-access-log`, PG* variables, default
  pool and extensions), on a pgstac database;
* `tessera serve` on the same pgstac database (PgSTAC backend);
* `tessera serve` on a SQLite catalog holding the same items.

Steps: start a throw-away PostgreSQL + pgstac cluster (scripts/pgstac_cluster.sh),
generate N items (a 20 x 15 grid of 1-degree MGRS-like tiles over western and
central Europe, each revisited through one year, 17 assets, ~30 properties,
several tiles per acquisition time), load them with tessera into one pgstac
collection and into a SQLite catalog (reused on the next run when unchanged),
then:

1. **Same answers.** Every request of every shape goes to the three servers;
   the item ids (in order) must agree, and a single item's content too.
2. **Load.** Per round and server (alternating order): start it, warm it up,
   then run wrk (Debian) with bench/stac_api_requests.lua for `--duration`
   seconds per shape over `--connections` keep-alive connections (the same
   for all servers; tessera gets `--threads` >= connections since each
   keep-alive connection holds a pool thread), sampling the resident memory
   of the server's processes (the PostgreSQL backends are not counted).
   Then one connection for `--single` seconds per shape (latency without
   queueing) and the paging walks.
3. **Paging walk.** 1,000 items through `next` links (limit 100, 10 pages),
   one client, `--walks` times: GET /collections/{id}/items and POST /search.
4. **Floor.** pgstac's `search()` called directly over psycopg (what both
   PostgreSQL-backed servers must at least spend per search).

Shapes: POST /search bbox + datetime (limit 10), POST /search with a CQL2-JSON
filter (s_intersects a point and eo:cloud_cover < x, limit 10),
GET /collections/{id}/items/{itemId}.

Writes the section "## STAC API (issue 17)" of BENCHMARKS.md. Not a test.

    python3 bench/stac_api_bench.py --items 20000 --duration 10
"""

import argparse
import json
import math
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import psycopg

import tessera

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peer_env  # noqa: E402
from process_memory import process_tree_pss  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
PEER = "stac-fastapi-pgstac"  # its pins: bench/peer_env.py
PEER_DISTRIBUTIONS = ["stac-fastapi-pgstac", "stac-fastapi-api", "stac-fastapi-types", "fastapi", "starlette",
                      "uvicorn", "uvloop", "httptools", "asyncpg", "pydantic", "orjson", "cql2"]
COLLECTION = "sentinel-2-l2a"
GENERATOR_VERSION = 1
COLUMNS, ROWS = 20, 15  # 1-degree tiles from (0E, 40N)
WEST, SOUTH = 0.0, 40.0
YEAR = 2023
SHAPES = ["search_bbox_datetime", "search_cql2_filter", "get_item"]
SHAPE_TITLES = {
    "search_bbox_datetime": "POST /search bbox+datetime, limit 10",
    "search_cql2_filter": "POST /search CQL2-JSON filter, limit 10",
    "get_item": "GET /collections/{id}/items/{itemId}",
}
WALKS = {
    "walk_items": "GET /collections/{id}/items?limit=100, 10 pages",
    "walk_search": "POST /search bbox, limit 100, 10 pages",
}
SERVERS = ["stac-fastapi-pgstac", "tessera serve (PgSTAC)", "tessera serve (SQLite)"]
BANDS = [  # name, common name, centre wavelength (um), gsd
    ("B01", "coastal", 0.443, 60), ("B02", "blue", 0.490, 10), ("B03", "green", 0.560, 10),
    ("B04", "red", 0.665, 10), ("B05", "rededge", 0.704, 20), ("B06", "rededge", 0.740, 20),
    ("B07", "rededge", 0.783, 20), ("B08", "nir", 0.842, 10), ("B8A", "nir08", 0.865, 20),
    ("B09", "nir09", 0.945, 60), ("B11", "swir16", 1.610, 20), ("B12", "swir22", 2.190, 20),
]
COG = "image/tiff; application=geotiff; profile=cloud-optimized"


# --- data ---------------------------------------------------------------------------------


def tile_name(column, row):
    west, south = WEST + column, SOUTH + row
    zone = int((west + 180) // 6) + 1
    band = "CDEFGHJKLMNPQRSTUVWX"[int((south + 80) // 8)]
    return f"{zone}{band}{'ABCDEFGHJKLMNPQRSTUVWXYZ'[column]}{'ABCDEFGHJKLMNPQRSTUV'[row]}", zone


def band_asset(name, common, wavelength, gsd):
    return {"type": COG, "roles": ["data"], "title": f"Band {name[1:]} ({common}) - {gsd}m", "gsd": gsd,
            "eo:bands": [{"name": name, "common_name": common, "center_wavelength": wavelength}]}


def item_assets():
    assets = {name: band_asset(name, common, wavelength, gsd) for name, common, wavelength, gsd in BANDS}
    assets["SCL"] = {"type": COG, "roles": ["data"], "title": "Scene classification map", "gsd": 20}
    assets["AOT"] = {"type": COG, "roles": ["data"], "title": "Aerosol optical thickness", "gsd": 10}
    assets["visual"] = {"type": COG, "roles": ["visual"], "title": "True color image", "gsd": 10}
    assets["thumbnail"] = {"type": "image/jpeg", "roles": ["thumbnail"], "title": "Thumbnail"}
    assets["granule_metadata"] = {"type": "application/xml", "roles": ["metadata"]}
    return assets


def collection():
    return {
        "type": "Collection", "stac_version": "1.0.0", "id": COLLECTION,
        "stac_extensions": ["https://stac-extensions.github.io/item-assets/v1.0.0/schema.json"],
        "title": "Sentinel-2 Level-2A (generated)", "description": "Generated Sentinel-2-like items for the STAC API "
        "benchmark", "license": "proprietary", "keywords": ["sentinel", "copernicus", "esa", "msi"],
        "providers": [{"name": "ESA", "roles": ["producer", "licensor"], "url": "https://example.com/esa"}],
        "links": [],
        "extent": {"spatial": {"bbox": [[WEST, SOUTH, WEST + COLUMNS + 0.3, SOUTH + ROWS + 0.3]]},
                   "temporal": {"interval": [[f"{YEAR}-01-01T00:00:00Z", f"{YEAR}-12-31T23:59:59Z"]]}},
        "summaries": {"platform": ["sentinel-2a", "sentinel-2b"], "constellation": ["sentinel-2"],
                      "instruments": ["msi"], "gsd": [10, 20, 60]},
        "item_assets": item_assets(),
    }


def generate_items(count):
    """Deterministic items: visit-major order, tiles of one column share an acquisition time."""
    rng = random.Random(17)
    tiles = COLUMNS * ROWS
    visits = math.ceil(count / tiles)
    spacing = (365 - 5) / visits
    start = datetime(YEAR, 1, 1, tzinfo=timezone.utc)
    template = item_assets()
    items = []
    for visit in range(visits):
        for column in range(COLUMNS):
            moment = start + timedelta(days=column % 5 + visit * spacing, hours=10, seconds=37 * column)
            moment = moment.replace(microsecond=(visit * 7919 + column * 104729) % 1000 * 1000)
            stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            compact = moment.strftime("%Y%m%dT%H%M%S")
            platform_letter = "AB"[visit % 2]
            orbit = 1 + (column * 7) % 143
            for row in range(ROWS):
                if len(items) == count:
                    return items
                name, zone = tile_name(column, row)
                west, south = WEST + column, SOUTH + row
                ring = [[west, south], [west + 1.25, south + 0.02], [west + 1.27, south + 0.97],
                        [west + 0.02, south + 0.95], [west, south]]
                ring = [[round(x, 6), round(y, 6)] for x, y in ring]
                cloud = round(100 * rng.random() ** 2, 4)
                item_id = f"S2{platform_letter}_MSIL2A_{compact}_R{orbit:03d}_T{name}_{compact[:8]}"
                prefix = f"https://sentinel-cogs.example.com/sentinel-s2-l2a-cogs/{zone}/{name[2]}/{name[3:]}/" \
                         f"{moment.year}/{moment.month}/{item_id}"
                assets = {}
                for key, base in template.items():
                    asset = dict(base)
                    suffix = {"thumbnail": "preview.jpg", "granule_metadata": "metadata.xml",
                              "visual": "TCI.tif"}.get(key, f"{key}.tif")
                    asset["href"] = f"{prefix}/{suffix}"
                    if base.get("gsd"):
                        size = 10980 * 10 // base["gsd"]
                        asset["proj:shape"] = [size, size]
                        asset["proj:transform"] = [base["gsd"], 0, 300000 + 100000 * (column % 6), 0, -base["gsd"],
                                                   4400000 + 110000 * row, 0, 0, 1]
                    assets[key] = asset
                items.append({
                    "type": "Feature", "stac_version": "1.0.0",
                    "stac_extensions": ["https://stac-extensions.github.io/eo/v1.1.0/schema.json",
                                        "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
                                        "https://stac-extensions.github.io/view/v1.0.0/schema.json"],
                    "id": item_id, "collection": COLLECTION,
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                    "bbox": [min(p[0] for p in ring), min(p[1] for p in ring), max(p[0] for p in ring),
                             max(p[1] for p in ring)],
                    "properties": {
                        "datetime": stamp, "created": stamp, "platform": f"sentinel-2{platform_letter.lower()}",
                        "constellation": "sentinel-2", "instruments": ["msi"], "gsd": 10,
                        "eo:cloud_cover": cloud, "eo:snow_cover": round(rng.random() * 5, 3),
                        "view:sun_azimuth": round(140 + rng.random() * 30, 3),
                        "view:sun_elevation": round(20 + rng.random() * 45, 3), "view:off_nadir": 0,
                        "proj:epsg": 32600 + zone, "mgrs:utm_zone": zone, "mgrs:latitude_band": name[2],
                        "mgrs:grid_square": name[3:], "s2:mgrs_tile": name, "s2:product_type": "S2MSI2A",
                        "s2:processing_baseline": "05.09", "s2:datatake_type": "INS-NOBS",
                        "s2:datatake_id": f"GS2{platform_letter}_{compact}_{orbit:06d}_N05.09",
                        "s2:nodata_pixel_percentage": round(rng.random() * 40 if column % 5 == 0 else 0, 4),
                        "s2:water_percentage": round(rng.random() * 20, 4),
                        "s2:vegetation_percentage": round(rng.random() * 60, 4),
                        "s2:high_proba_clouds_percentage": round(cloud * 0.4, 4),
                        "s2:medium_proba_clouds_percentage": round(cloud * 0.4, 4),
                        "s2:thin_cirrus_percentage": round(cloud * 0.2, 4),
                        "sat:orbit_state": "descending", "sat:relative_orbit": orbit,
                    },
                    "links": [{"rel": "license", "href": "https://sentinel.esa.int/documents/247904/690755/"
                                                          "Sentinel_Data_Legal_Notice"}],
                    "assets": assets,
                })
    return items


def load_catalogs(args, pg_url, sqlite_path):
    marker = args.work / "loaded.json"
    fingerprint = {"items": args.items, "generator": GENERATOR_VERSION, "pg_url": pg_url,
                   "sqlite": str(sqlite_path)}
    items_path = args.work / f"items-{args.items}-v{GENERATOR_VERSION}.ndjson"
    if marker.exists() and json.loads(marker.read_text()) == fingerprint and sqlite_path.exists():
        counts = [count_items(tessera.Catalog.open(url)) for url in (pg_url, f"sqlite:///{sqlite_path}")]
        if counts == [args.items, args.items]:
            print(f"reusing the loaded catalogs ({args.items} items)", file=sys.stderr)
            return json.loads((args.work / "load-times.json").read_text())
    marker.unlink(missing_ok=True)
    if not items_path.exists():
        with open(items_path, "w") as out:
            for item in generate_items(args.items):
                out.write(json.dumps(item, separators=(",", ":")) + "\n")
    times = {}
    for name, url in (("pgstac", pg_url), ("sqlite", f"sqlite:///{sqlite_path}")):
        if name == "sqlite" and sqlite_path.exists():
            for leftover in sqlite_path.parent.glob(sqlite_path.name + "*"):
                leftover.unlink()
        catalog = tessera.Catalog.open(url)
        if any(existing["id"] == COLLECTION for existing in catalog.collections()):
            catalog.delete_collection(COLLECTION, cascade=True)
        catalog.upsert_collection(collection())
        start = time.perf_counter()
        report = catalog.load(str(items_path), mode="insert", batch_size=5000)
        times[name] = time.perf_counter() - start
        assert report["loaded"] == args.items and not report["failed"], report["failed"][:3]
        print(f"loaded {args.items} items into {name} in {times[name]:.1f} s", file=sys.stderr)
        del catalog
    with psycopg.connect(pg_url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    (args.work / "load-times.json").write_text(json.dumps(times))
    marker.write_text(json.dumps(fingerprint))
    return times


def count_items(catalog):
    try:
        return catalog.search({"collections": [COLLECTION], "limit": 1}).get("numberMatched")
    except Exception:  # noqa: BLE001 - a missing collection or table: reload
        return None


# --- requests -----------------------------------------------------------------------------


def request_sets(items_path, count):
    """Per shape, a list of (method, path, body) requests, the same for every server."""
    rng = random.Random(42)
    ids = []
    with open(items_path) as source:
        for line in source:
            ids.append(json.loads(line)["id"])
    sets = {shape: [] for shape in SHAPES}
    for _ in range(count):
        x = WEST + rng.uniform(0.5, COLUMNS - 2.5)
        y = SOUTH + rng.uniform(0.5, ROWS - 2.5)
        size = rng.uniform(0.3, 2.0)
        first = datetime(YEAR, 1, 1, tzinfo=timezone.utc) + timedelta(days=rng.randrange(0, 300))
        last = first + timedelta(days=rng.randrange(14, 90))
        sets["search_bbox_datetime"].append(("POST", "/search", {
            "collections": [COLLECTION], "bbox": [round(x, 4), round(y, 4), round(x + size, 4), round(y + size, 4)],
            "datetime": f"{first:%Y-%m-%dT%H:%M:%SZ}/{last:%Y-%m-%dT%H:%M:%SZ}", "limit": 10}))
        px, py = WEST + rng.uniform(0.5, COLUMNS - 0.5), SOUTH + rng.uniform(0.5, ROWS - 0.5)
        sets["search_cql2_filter"].append(("POST", "/search", {
            "collections": [COLLECTION], "filter-lang": "cql2-json", "limit": 10,
            "filter": {"op": "and", "args": [
                {"op": "s_intersects", "args": [{"property": "geometry"},
                                                {"type": "Point", "coordinates": [round(px, 4), round(py, 4)]}]},
                {"op": "<", "args": [{"property": "eo:cloud_cover"}, rng.choice([5, 10, 20, 30])]}]}}))
        sets["get_item"].append(("GET", f"/collections/{COLLECTION}/items/{rng.choice(ids)}", None))
    return sets


def walk_starts():
    return {
        "walk_items": ("GET", f"/collections/{COLLECTION}/items?limit=100", None),
        "walk_search": ("POST", "/search", {"collections": [COLLECTION], "bbox": [4.0, 44.0, 12.0, 50.0],
                                            "limit": 100}),
    }


def write_requests(path, requests):
    with open(path, "w") as out:
        for method, target, body in requests:
            line = f"{method}\t{target}"
            if body is not None:
                line += "\t" + json.dumps(body, separators=(",", ":"))
            out.write(line + "\n")


def send(client, base, method, target, body):
    url = target if target.startswith("http") else base + target
    response = client.request(method, url, json=body) if body is not None else client.request(method, url)
    return response


def walk(client, base, start, wanted=1000):
    """Follows next links from `start` until `wanted` items; returns (ids, pages, statuses)."""
    method, target, body = start
    ids, pages, bad = [], 0, []
    while len(ids) < wanted:
        response = send(client, base, method, target, body)
        if response.status_code != 200:
            bad.append((method, target, body, response.status_code, response.text[:300]))
            break
        page = response.json()
        ids += [feature["id"] for feature in page["features"]]
        pages += 1
        link = next((link for link in page.get("links", []) if link.get("rel") == "next"), None)
        if link is None:
            break
        method, target = link.get("method", "GET").upper(), link["href"]
        if method == "POST":
            body = {**body, **link.get("body", {})} if link.get("merge") else link.get("body", {})
        else:
            body = None
    return ids[:wanted], pages, bad


# --- servers ------------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, name, args, pg_url, sqlite_path):
        self.name, self.args = name, args
        self.log = open(args.work / f"{re.sub(r'[^a-z]+', '-', name.lower()).strip('-')}.log", "ab")
        if name == "stac-fastapi-pgstac":
            self.port = free_port()
            parts = re.match(r"postgresql://([^:]+):([^@]+)@([^:]+):(\d+)/(.+)", pg_url)
            env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
            env.update(PGUSER=parts[1], PGPASSWORD=parts[2], PGHOST=parts[3], PGPORT=parts[4], PGDATABASE=parts[5])
            self.command = [str(peer_env.venv_dir(args.work, PEER) / "bin/uvicorn"),
                            "stac_fastapi.pgstac.app:create_app", "--factory",
                            "--host", "127.0.0.1", "--port", str(self.port), "--workers", "2", "--no-access-log"]
            self.env, self.cwd = env, args.work / "peer-cwd"  # no .env file there
        else:
            uri = pg_url if "PgSTAC" in name else f"sqlite:///{sqlite_path}"
            self.command = [str(args.tessera), "serve", "--catalog", uri, "--port", "0",
                            "--threads", str(args.threads)]
            self.env, self.cwd = None, args.work

    def __enter__(self):
        self.cwd.mkdir(exist_ok=True)
        tessera_server = self.name.startswith("tessera")
        self.process = subprocess.Popen(self.command, cwd=self.cwd, env=self.env, stderr=self.log,
                                        stdout=subprocess.PIPE if tessera_server else self.log)
        if tessera_server:
            line = self.process.stdout.readline().decode().strip()
            if not line.startswith("http"):
                raise RuntimeError(f"{self.name}: first line {line!r}, see {self.log.name}")
            self.base = line.rstrip("/")
            threading.Thread(target=shutil.copyfileobj, args=(self.process.stdout, self.log), daemon=True).start()
        else:
            self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 90
        while True:
            try:
                if httpx.get(self.base + "/", timeout=5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.time() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"{self.name} did not start, see {self.log.name}")
            time.sleep(0.3)

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def run_wrk(base, requests_file, seconds, connections, threads, rss_of=None):
    samples = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            samples.append(process_tree_pss(rss_of))
            stop.wait(0.2)

    sampler = threading.Thread(target=sample)
    if rss_of:
        sampler.start()
    try:
        output = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s",
             "-s", str(REPO / "bench" / "stac_api_requests.lua"), base, "--", str(requests_file)],
            check=True, capture_output=True, text=True).stdout
    finally:
        stop.set()
        if rss_of:
            sampler.join()
    result = json.loads(output.strip().splitlines()[-1])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["rss"] = samples
    return result


# --- checks and measurements --------------------------------------------------------------


def comparable_item(item):
    return {key: item.get(key) for key in ("id", "collection", "geometry", "bbox", "properties", "assets")}


def check_answers(args, pg_url, sqlite_path, sets):
    """Every request to every server; returns per shape {agree, set_only, differ, errors, examples}."""
    answers = {}
    for name in SERVERS:
        with Server(name, args, pg_url, sqlite_path) as server, httpx.Client(timeout=60) as client:
            per_server = {}
            for shape, requests in sets.items():
                per_server[shape] = []
                for method, target, body in requests:
                    response = send(client, server.base, method, target, body)
                    if response.status_code != 200:
                        per_server[shape].append(("error", response.status_code, response.text[:300]))
                    elif shape == "get_item":
                        per_server[shape].append(comparable_item(response.json()))
                    else:
                        page = response.json()
                        per_server[shape].append([f["id"] for f in page["features"]])
            for shape, start in walk_starts().items():
                ids, pages, bad = walk(client, server.base, start)
                per_server[shape] = [("error",) + bad[0][3:] if bad else (ids, pages)]
            answers[name] = per_server
    reference = SERVERS[0]
    summary = {}
    for shape in list(sets) + list(walk_starts()):
        count = len(answers[reference][shape])
        summary[shape] = {}
        for name in SERVERS[1:]:
            stats = {"requests": count, "same_order": 0, "same_set": 0, "differ": 0, "errors": 0, "examples": []}
            for index in range(count):
                mine, theirs = answers[name][shape][index], answers[reference][shape][index]
                request = sets[shape][index] if shape in sets else walk_starts()[shape]
                if (isinstance(mine, tuple) and mine and mine[0] == "error") or \
                        (isinstance(theirs, tuple) and theirs and theirs[0] == "error"):
                    stats["errors"] += 1
                    stats["examples"].append({"request": request, "server": mine, "peer": theirs})
                    continue
                if shape.startswith("walk"):
                    mine, theirs = mine[0], theirs[0]
                if mine == theirs:
                    stats["same_order"] += 1
                elif not isinstance(mine, dict) and set(mine) == set(theirs):
                    stats["same_set"] += 1
                else:
                    stats["differ"] += 1
                    if len(stats["examples"]) < 3:
                        stats["examples"].append({"request": request, "server": diff_summary(mine, theirs)})
            summary[shape][name] = stats
            print(f"answers {shape} {name}: {json.dumps({k: v for k, v in stats.items() if k != 'examples'})}",
                  file=sys.stderr)
            for example in stats["examples"][:2]:
                print(f"  example: {json.dumps(example, default=str)[:600]}", file=sys.stderr)
    return summary


def diff_summary(mine, theirs):
    if isinstance(mine, dict):
        keys = {}
        for key in mine:
            if mine[key] != theirs.get(key):
                if isinstance(mine[key], dict) and isinstance(theirs.get(key), dict):
                    keys[key] = sorted(k for k in set(mine[key]) | set(theirs[key])
                                       if mine[key].get(k) != theirs[key].get(k))[:8]
                else:
                    keys[key] = "differs"
        return {"item": mine.get("id"), "differing": keys}
    return {"tessera": mine[:12], "peer": theirs[:12], "len": [len(mine), len(theirs)]}


def time_walks(client, base, walks):
    timings = {}
    for shape, start in walk_starts().items():
        seconds = []
        walk(client, base, start)  # warm
        for _ in range(walks):
            begin = time.perf_counter()
            ids, pages, bad = walk(client, base, start)
            seconds.append(time.perf_counter() - begin)
            if bad or len(ids) != 1000 or pages != 10:
                raise RuntimeError(f"walk {shape} at {base}: {len(ids)} ids, {pages} pages, {bad[:1]}")
        timings[shape] = {"median_s": statistics.median(seconds), "min_s": min(seconds), "max_s": max(seconds)}
    return timings


def pgstac_floor(pg_url, sets, repeats):
    """pgstac's search() called directly, one connection, context off (as the peer calls it)."""
    floor = {}
    with psycopg.connect(pg_url, autocommit=True) as connection:
        connection.execute("SET search_path TO pgstac, public")
        for shape in ("search_bbox_datetime", "search_cql2_filter"):
            times = []
            for _ in range(repeats):
                for _, _, body in sets[shape]:
                    begin = time.perf_counter()
                    connection.execute("SELECT search(%s::jsonb)", [json.dumps(body)]).fetchone()
                    times.append((time.perf_counter() - begin) * 1000)
            floor[shape] = {"p50_ms": statistics.median(times), "p99_ms": percentile(times, 0.99)}
            # tessera asks for numberMatched (conf.context on): the count query it adds.
            times = []
            for _, _, body in sets[shape]:
                begin = time.perf_counter()
                connection.execute("SELECT search(%s::jsonb)", [json.dumps(dict(body, conf={
                    "context": "on", "context_stats_ttl": "0"}))]).fetchone()
                times.append((time.perf_counter() - begin) * 1000)
            floor[shape]["context_on_p50_ms"] = statistics.median(times)
    return floor


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure(args, pg_url, sqlite_path, sets):
    files = {}
    for shape, requests in sets.items():
        files[shape] = args.work / f"requests-{shape}.tsv"
        write_requests(files[shape], requests)
    results = {name: [] for name in SERVERS}
    for round_index in range(args.rounds):
        order = SERVERS if round_index % 2 == 0 else list(reversed(SERVERS))
        for name in order:
            with Server(name, args, pg_url, sqlite_path) as server, httpx.Client(timeout=60) as client:
                pid = server.process.pid
                run = {"rss_idle": process_tree_pss(pid), "load": {}, "single": {}}
                for shape in SHAPES:
                    run_wrk(server.base, files[shape], args.warmup, args.connections, 2)
                    result = run_wrk(server.base, files[shape], args.duration, args.connections, 2, rss_of=pid)
                    run["load"][shape] = result
                    print(f"round {round_index + 1} {name} {shape}: {result['rps']:.0f} req/s, p50 "
                          f"{result['p50_us'] / 1000:.1f} ms, p99 {result['p99_us'] / 1000:.1f} ms, "
                          f"{result['non_200']} non-200, {result['socket_errors']} socket errors, RSS peak "
                          f"{max(result['rss']) / 2**20:.0f} MiB {result['first_bad']}", flush=True)
                for shape in SHAPES:
                    result = run_wrk(server.base, files[shape], args.single, 1, 1)
                    run["single"][shape] = result
                run["walks"] = time_walks(client, server.base, args.walks)
                run["rss_end"] = process_tree_pss(pid)
                print(f"round {round_index + 1} {name}: single "
                      + ", ".join(f"{s} p50 {r['p50_us'] / 1000:.2f} ms" for s, r in run["single"].items())
                      + "; walks " + ", ".join(f"{s} {w['median_s'] * 1000:.0f} ms" for s, w in run["walks"].items()),
                      flush=True)
            results[name].append(run)
    return results


# --- report -------------------------------------------------------------------------------


def med(values):
    return statistics.median(values)


def machine_line(load_start, load_end):
    cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text()).group(1)
    memory = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) / 2**20
    return (f"{os.cpu_count()} vCPU, {cpu}, {memory:.0f} GiB RAM, Linux {platform.release()}; 1-minute load "
            f"average {load_start:.2f} at the start and {load_end:.2f} at the end (the machine is shared with "
            f"other work; load generator, servers and PostgreSQL share the 2 cores)")


def database_versions(pg_url):
    with psycopg.connect(pg_url) as connection:
        return [connection.execute("SHOW server_version").fetchone()[0].split()[0],
                connection.execute("SELECT postgis_lib_version()").fetchone()[0],
                connection.execute("SELECT pgstac.get_version()").fetchone()[0]]


def report(args, pg_url, results, answers, floor, load_times, load_start, load_end, seconds, command, pg_versions):
    peer = peer_env.installed_versions(peer_env.venv_dir(args.work, PEER) / "bin/python", PEER_DISTRIBUTIONS)
    pg_version, postgis, pgstac_version = pg_versions
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()[1]
    commit, build_type = tessera_build_info(args.tessera)
    peer_name = SERVERS[0]

    def rps(name, shape):
        return med([run["load"][shape]["rps"] for run in results[name]])

    def lat(name, shape, key, kind="load"):
        return med([run[kind][shape][key] for run in results[name]]) / 1000

    def rss_peak(name):
        return med([max(max(run["load"][s]["rss"]) for s in SHAPES) for run in results[name]]) / 2**20

    def errors(name, shape):
        return sum(run["load"][shape]["non_200"] + run["load"][shape]["socket_errors"] for run in results[name])

    def walk_ms(name, shape):
        return med([run["walks"][shape]["median_s"] for run in results[name]]) * 1000

    rows, ratio_rows, single_rows = [], [], []
    for shape in SHAPES:
        for name in SERVERS:
            rows.append(f"| {SHAPE_TITLES[shape]} | {name} | {rps(name, shape):,.0f} | {lat(name, shape, 'p50_us'):.1f} "
                        f"| {lat(name, shape, 'p99_us'):.1f} | {errors(name, shape)} | |")
    for shape in WALKS:
        for name in SERVERS:
            rows.append(f"| walk: {WALKS[shape]} | {name} | {1000 / walk_ms(name, shape) * 1000 / 100:,.1f} pages/s "
                        f"| {walk_ms(name, shape):,.0f} ms per 1,000 items | | 0 | |")
    peak_rows = [f"| {name} | {med([r['rss_idle'] for r in results[name]]) / 2**20:.0f} | {rss_peak(name):.0f} | "
                 f"{med([r['rss_end'] for r in results[name]]) / 2**20:.0f} |" for name in SERVERS]
    met_all = {}
    for shape in list(SHAPES) + list(WALKS):
        cells = []
        for name, target in ((SERVERS[1], 5), (SERVERS[2], 20)):
            if shape in WALKS:
                ratio = walk_ms(peer_name, shape) / walk_ms(name, shape)
            else:
                ratio = rps(name, shape) / rps(peer_name, shape)
            met = ratio >= target
            met_all[(shape, name)] = met
            cells.append(f"**{ratio:.2f}×** (target ≥ {target}×: {'met' if met else 'missed'})")
        title = SHAPE_TITLES.get(shape) or "walk: " + WALKS[shape]
        ratio_rows.append(f"| {title} | {cells[0]} | {cells[1]} |")
    for shape in SHAPES:
        cells = [f"{lat(name, shape, 'p50_us', 'single'):.2f}" for name in SERVERS]
        floor_cell = (f"{floor[shape]['p50_ms']:.2f} (numberMatched on: {floor[shape]['context_on_p50_ms']:.2f})"
                      if shape in floor else "")
        single_rows.append(f"| {SHAPE_TITLES[shape]} | {' | '.join(cells)} | {floor_cell} |")
    answer_rows = []
    for shape in list(SHAPES) + list(WALKS):
        title = SHAPE_TITLES.get(shape) or "walk: " + WALKS[shape]
        cells = []
        for name in SERVERS[1:]:
            s = answers[shape][name]
            cells.append(f"{s['same_order']}/{s['requests']} same ids in the same order"
                         + (f", {s['same_set']} same set in another order" if s["same_set"] else "")
                         + (f", **{s['differ']} differ**" if s["differ"] else "")
                         + (f", **{s['errors']} errors**" if s["errors"] else ""))
        answer_rows.append(f"| {title} | {cells[0]} | {cells[1]} |")
    return f"""## STAC API (issue 17)

```sh
{command}   # builds `tessera` (Release) from `git archive HEAD` unless --tessera is given
```

**Machine:** {machine_line(load_start, load_end)}. **Versions:** tessera 0.1.0 at {commit} ({build_type} build of `tessera serve`, cpp-httplib 0.11.4), PostgreSQL {pg_version}, PostGIS {postgis}, pgstac {pgstac_version}; peer: stac-fastapi-pgstac {peer['stac-fastapi-pgstac']} (stac-fastapi-api {peer['stac-fastapi-api']}, stac-fastapi-types {peer['stac-fastapi-types']}), fastapi {peer['fastapi']}, starlette {peer['starlette']}, uvicorn {peer['uvicorn']} with uvloop {peer['uvloop']} and httptools {peer['httptools']}, asyncpg {peer['asyncpg']}, pydantic {peer['pydantic']}, orjson {peer['orjson']}, cql2 {peer['cql2']} (the latest stac-fastapi-pgstac on PyPI, in its own venv); wrk {wrk_version}; Python {platform.python_version()}.

**Data.** {args.items:,} generated Sentinel-2 L2A-like items in one collection: a 20 × 15 grid of 1° MGRS-like tiles over western and central Europe (0–21°E, 40–56°N), each revisited through {YEAR}, the tiles of one column sharing an acquisition time (ties broken by id), 17 assets (item_assets in the collection, so pgstac stores them dehydrated), ~30 properties incl. `eo:cloud_cover`; ~{(args.work / f"items-{args.items}-v{GENERATOR_VERSION}.ndjson").stat().st_size / args.items / 1024:.1f} KB of JSON per item. Loaded with tessera into the pgstac database (one load, which also registers the queryables with their types; then `VACUUM ANALYZE`; {load_times['pgstac']:.0f} s) and into a SQLite catalog ({load_times['sqlite']:.0f} s).

**Servers**, on loopback: stac-fastapi-pgstac `uvicorn stac_fastapi.pgstac.app:create_app --factory --workers 2 --no-access-log` with PG* variables and every other setting at its default (asyncpg pool 1–10 per worker, all extensions, pgstac's context off: no `numberMatched`); `tessera serve --catalog postgresql://… --threads {args.threads}` on the same database (libpq pool of 8; it asks pgstac for `numberMatched`, one count more per search); `tessera serve --catalog sqlite:///… --threads {args.threads}`.

**Load.** {len(SHAPES)} request shapes, each a list of {args.requests_per_shape} different requests cycled by wrk (Lua script `bench/stac_api_requests.lua`, 2 threads, {args.connections} keep-alive connections, the same for all servers), {args.warmup} s warm-up then {args.duration} s timed; memory of the server's processes (PSS, proportional set size, so pages shared by processes or mappings count once; uvicorn: master + 2 workers; not the PostgreSQL backends) sampled every 0.2 s. Then one connection for {args.single} s per shape, and the paging walks ({args.walks} walks per server of 1,000 items by `next` links, 10 pages of 100, one httpx client with keep-alive, medians). Medians of {args.rounds} round(s), servers in alternating order. Requests: bbox+datetime = a random 0.3–2° box and a 2–13 week interval of {YEAR}; CQL2 = `s_intersects(geometry, POINT) AND eo:cloud_cover < 5|10|20|30`; item = a random item id.

**Same answers** (checked before timing, every request once against every server; reference: stac-fastapi-pgstac; items compared on id, collection, geometry, bbox, properties and assets):

| shape | tessera serve (PgSTAC) | tessera serve (SQLite) |
|---|---|---|
{chr(10).join(answer_rows)}

| shape | server | req/s | p50 ms | p99 ms | errors | |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Ratios (req/s over stac-fastapi-pgstac's; walks: its time over the server's):

| shape | tessera serve (PgSTAC) | tessera serve (SQLite) |
|---|---|---|
{chr(10).join(ratio_rows)}

Memory (PSS in MiB, medians of rounds):

| server | idle (after start) | peak under load | at the end |
|---|---|---|---|
{chr(10).join(peak_rows)}

One connection, p50 ms (latency without queueing), and pgstac's `search()` called directly over psycopg from Python (the database's share for both PostgreSQL-backed servers):

| shape | {' | '.join(SERVERS)} | pgstac search() direct |
|---|---|---|---|---|
{chr(10).join(single_rows)}

Run time {seconds:.0f} s.
"""


def write_section(section):
    path = REPO / "BENCHMARKS.md"
    text = path.read_text()
    pattern = re.compile(r"## STAC API \(issue 17\)\n.*?(?=\n## |\Z)", re.S)
    text = pattern.sub(lambda _: section.strip() + "\n", text) if pattern.search(text) \
        else text.rstrip() + "\n\n" + section
    path.write_text(text)


# --- main ---------------------------------------------------------------------------------


def build_tessera(work):
    """A Release `tessera` of the committed HEAD (not the work tree, which may hold unfinished edits)."""
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    build = work / f"tessera-{commit}"
    binary = build / "build/cli/tessera"
    if binary.exists():
        return binary
    source = build / "src"
    shutil.rmtree(build, ignore_errors=True)
    source.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "HEAD"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
    print(f"building tessera {commit} (Release) in {build}", file=sys.stderr, flush=True)
    subprocess.run(["cmake", "--preset", "release", "-B", str(build / "build"), "-DTESSERA_BUILD_TESTS=OFF",
                    "-DTESSERA_BUILD_BENCH=OFF", "-DTESSERA_BUILD_EXAMPLES=OFF", "-DTESSERA_BUILD_PYTHON=OFF"],
                   cwd=source, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", str(build / "build"), "--target", "tessera_cli"], check=True,
                   stdout=subprocess.DEVNULL)
    (build / "build/SOURCE_COMMIT").write_text(commit + "\n")
    return binary


def tessera_build_info(binary):
    """(source commit, build type) of a tessera binary: SOURCE_COMMIT beside a build made from an archive,
    else the work tree's HEAD (which may hold uncommitted edits)."""
    build = binary.parent.parent
    marker = build / "SOURCE_COMMIT"
    if marker.exists():
        commit = marker.read_text().strip()
    else:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip() + " + work tree"
    cache = build / "CMakeCache.txt"
    found = re.search(r"CMAKE_BUILD_TYPE:STRING=(\w*)", cache.read_text()) if cache.exists() else None
    return commit, found.group(1) if found else "unknown"


def wait_for_quiet(max_load, patience):
    deadline = time.time() + patience
    while os.getloadavg()[0] > max_load and time.time() < deadline:
        print(f"load average {os.getloadavg()[0]:.2f} > {max_load}: waiting", file=sys.stderr, flush=True)
        time.sleep(15)
    return os.getloadavg()[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/stac-api-bench"))
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--duration", type=int, default=10, help="timed seconds per shape and server")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--single", type=int, default=3, help="seconds per shape over one connection")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, help="tessera serve --threads (default max(16, 2 x connections))")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--walks", type=int, default=3)
    parser.add_argument("--requests-per-shape", type=int, default=60)
    parser.add_argument("--tessera", type=Path,
                        help="a tessera binary (default: a Release build of the committed HEAD, made under --work "
                             "from `git archive HEAD` and reused while HEAD is unchanged)")
    parser.add_argument("--pg-dir", default="/tmp/bench-pgstac")
    parser.add_argument("--pg-port", default="55492")
    parser.add_argument("--keep-cluster", action="store_true", help="leave the PostgreSQL cluster running")
    parser.add_argument("--max-load", type=float, default=1.5, help="wait (up to --patience s) for a quieter machine")
    parser.add_argument("--patience", type=int, default=300)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--report-only", action="store_true",
                        help="write the section again from --work's results.json (no cluster, no servers)")
    args = parser.parse_args()
    args.threads = args.threads or max(16, 2 * args.connections)
    args.work.mkdir(parents=True, exist_ok=True)
    args.tessera = (args.tessera or build_tessera(args.work)).resolve()
    started = time.time()
    if args.report_only:
        saved = json.loads((args.work / "results.json").read_text())
        for key, value in saved["args"].items():
            setattr(args, key, value)
        args.tessera = Path(saved["tessera"])
        section = report(args, saved["pg_url"], saved["results"], saved["answers"], saved["floor"],
                         saved["load_times"], saved["load_start"], saved["load_end"], saved["seconds"],
                         saved["command"], saved["pg_versions"])
        print(section)
        if not args.no_write:
            write_section(section)
        return
    peer_env.ensure_peer(args.work, PEER)

    pg_url = subprocess.run(["bash", str(REPO / "scripts/pgstac_cluster.sh"), "start", args.pg_dir, args.pg_port],
                            check=True, capture_output=True, text=True, start_new_session=True).stdout.strip()
    try:
        sqlite_path = args.work / "catalog.db"
        load_times = load_catalogs(args, pg_url, sqlite_path)
        items_path = args.work / f"items-{args.items}-v{GENERATOR_VERSION}.ndjson"
        sets = request_sets(items_path, args.requests_per_shape)
        answers = check_answers(args, pg_url, sqlite_path, sets)
        floor = pgstac_floor(pg_url, sets, 2)
        print(f"pgstac search() direct: {json.dumps(floor)}", file=sys.stderr)
        load_start = wait_for_quiet(args.max_load, args.patience)
        results = measure(args, pg_url, sqlite_path, sets)
        load_end = os.getloadavg()[0]
        saved = {"results": results, "answers": answers, "floor": floor, "pg_url": pg_url, "load_times": load_times,
                 "load_start": load_start, "load_end": load_end, "seconds": time.time() - started,
                 "command": " ".join(["python3 bench/stac_api_bench.py"] + sys.argv[1:]),
                 "pg_versions": database_versions(pg_url), "tessera": str(args.tessera),
                 "args": {key: getattr(args, key) for key in ("items", "duration", "warmup", "single", "connections", "threads", "rounds", "walks", "requests_per_shape")}}
        (args.work / "results.json").write_text(json.dumps(saved, default=str))
        section = report(args, pg_url, results, answers, floor, load_times, load_start, load_end, saved["seconds"],
                         saved["command"], saved["pg_versions"])
        print(section)
        if not args.no_write:
            write_section(section)
    finally:
        if not args.keep_cluster:
            subprocess.run(["bash", str(REPO / "scripts/pgstac_cluster.sh"), "stop", args.pg_dir],
                           capture_output=True, start_new_session=True)


if __name__ == "__main__":
    main()
