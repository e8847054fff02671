"""The guided tour of tessera, end to end on one machine (SQLite + local files).

Over a real country (Luxembourg, from Natural Earth's boundaries):
  1. generated imagery: nine two-band (red, nir) scenes become COGs and STAC items;
  2. a model registers the country as its area of interest;
  3. the scenes are ingested into an SQLite catalog, and every scene the model
     wants triggers a run request in the same transaction;
  4. the local runner executes the model, which reports its STAC prediction through its run's
     callback (an HTTP route of the service and a token for that run only: no catalog access);
  5. a STAC API search with a CQL2 filter;
  6. a dynamic mosaic of the search (NDVI from the two bands) rendered to a PNG;
  7. a Frictionless data package of the country: the newest scene clipped
     exactly to the border, and the country outline;
and writes walkthrough.json (catalog, search id, allowed folder) for the viewer.

Usage: python3 examples/python/walkthrough.py WORK_DIR COUNTRIES_SHAPEFILE
"""

import http.server
import json
import pathlib
import sys
import threading
import urllib.parse

import numpy
import rasterio
from rasterio.transform import from_origin

import tessera

work = pathlib.Path(sys.argv[1])
countries = sys.argv[2]
if (work / "catalog.db").exists():
    sys.exit(f"{work} holds a previous run: use a new folder")
(work / "scenes").mkdir(parents=True, exist_ok=True)
# tessera reads no file outside the work folder and the boundaries' folder.
tessera.configure(allowed_roots=[str(work), str(pathlib.Path(countries).parent)])


def step(number, text):
    print(f"\n[{number}/7] {text}")


# --- 1. Imagery -------------------------------------------------------------------------------
step(1, "Generated imagery: 9 scenes over Luxembourg, 40 m pixels, red + nir, UTM 32N")
storage = tessera.Storage.open(str(work / "packages"))
packager = tessera.Packager(storage)
packager.add_boundaries(countries, name_field="name")
luxembourg = json.loads(storage.get(".tessera/boundaries/luxembourg.json"))
print("   Luxembourg from Natural Earth: bbox", [round(v, 2) for v in luxembourg["bbox"]])

bands = [
    {"name": "red", "common_name": "red", "center_wavelength": 0.665, "full_width_half_max": 0.03},
    {"name": "nir", "common_name": "nir", "center_wavelength": 0.842, "full_width_half_max": 0.115},
]
size, pixel = 768, 40
rows, cols = numpy.mgrid[0:size, 0:size] / size
items = []
for n in range(9):
    column, row = n % 3, n // 3
    west, north = 262000 + 30000 * column, 5565000 - 30000 * row
    # Fields and forest: nir well above red where "vegetation" grows, with a per-scene season.
    vegetation = 0.5 + 0.5 * numpy.sin(9 * cols + 2 * n) * numpy.cos(7 * rows - n)
    red = (600 + 900 * (1 - vegetation)).astype("uint16")
    nir = (1200 + 2600 * vegetation * (0.6 + 0.05 * n)).astype("uint16")
    path = work / "scenes" / f"lux-{n}.tif"
    with rasterio.open(path, "w", driver="COG", width=size, height=size, count=2, dtype="uint16", crs="EPSG:32632",
                       transform=from_origin(west, north, pixel, pixel), nodata=0, compress="deflate") as scene:
        scene.write(numpy.stack([red, nir]))
    cloud_cover = [3, 45, 8, 12, 60, 5, 20, 2, 35][n]
    items.append(tessera.create_item(str(path), id=f"lux-{n}", collection="scenes",
                                     datetime=f"2024-06-{n + 1:02d}T10:30:00Z",
                                     properties={"gsd": pixel, "eo:bands": bands, "eo:cloud_cover": cloud_cover}))
    (work / "scenes" / f"lux-{n}.json").write_text(json.dumps(items[-1]))
print(f"   wrote {len(items)} COGs and STAC items to {work / 'scenes'}")

# --- 2. A model and its area of interest ------------------------------------------------------
step(2, "A model registers Luxembourg as its area of interest (≤ 50 m, needs nir at 0.84 µm, ≤ 25 % cloud)")
catalog = tessera.Catalog.open(f"sqlite://{work / 'catalog.db'}")
catalog.upsert_collection({
    "type": "Collection", "stac_version": "1.1.0", "id": "scenes", "description": "generated scenes over Luxembourg",
    "license": "CC0-1.0", "links": [],
    "extent": {"spatial": {"bbox": [luxembourg["bbox"]]}, "temporal": {"interval": [["2024-06-01T00:00:00Z", None]]}},
})
model_script = work / "vegetation_model.py"
# The model knows nothing of the catalog: it reads the item file it is given and reports its label
# item to its run's callback URL with its run's token (any language could: curl does the same).
model_script.write_text("""import json, os, pathlib, sys, urllib.request
item = json.load(open(sys.argv[-1]))
out = pathlib.Path(os.environ["LABELS_DIR"]) / (item["id"] + ".vegetation.geojson")
out.write_text(json.dumps({"type": "FeatureCollection", "features": [
    {"type": "Feature", "geometry": item["geometry"], "properties": {"class": "vegetation"}}]}))
label = {"type": "Feature", "stac_version": "1.1.0", "id": item["id"] + "-vegetation",
         "geometry": item["geometry"], "bbox": item["bbox"],
         "properties": {"datetime": item["properties"]["datetime"], "label:properties": ["class"],
                        "label:description": "vegetation", "label:type": "vector", "label:tasks": ["segmentation"],
                        "label:classes": [{"name": "class", "classes": ["vegetation", "other"]}]},
         "links": [{"rel": "source", "href": "scenes/" + item["id"] + ".json"}],
         "assets": {"labels": {"href": str(out), "type": "application/geo+json"}}}
request = urllib.request.Request(os.environ["TESSERA_CALLBACK_URL"] + "?final=true", json.dumps(label).encode(),
                                 {"Authorization": "Bearer " + os.environ["TESSERA_CALLBACK_TOKEN"],
                                  "Content-Type": "application/json"}, method="POST")
with urllib.request.urlopen(request, timeout=30) as answer:
    print("labelled", item["id"], "reported", answer.status)
""")
(work / "labels").mkdir(exist_ok=True)
matcher = tessera.Matcher(catalog)
model = matcher.add_model({"id": "vegetation", "name": "vegetation mapper", "description": "NDVI classes",
                           "command": [sys.executable, str(model_script)], "runner": {"timeout": 60},
                           "item_argument": "file", "env": {"LABELS_DIR": str(work / "labels")}})
aoi = matcher.add_aoi({"model": model, "geometry": luxembourg["geometry"], "resolution": 50,
                       "wavelengths": [0.842], "max_cloud_cover": 25})
print(f"   model '{model}' watches AOI {aoi}")

# --- 3. Ingest ----------------------------------------------------------------------------------
step(3, "Ingest the scenes into the SQLite catalog; matching runs in the same transaction")
report = tessera.ingest(catalog, [str(work / "scenes")], matcher=matcher)
pending = [event["payload"]["item"] for event in matcher.events(model=model)]
print(f"   loaded {report['loaded']} items; run requests for {sorted(pending)}")
print("   (the others are too cloudy or do not reach the country)")

# --- 4. Runner --------------------------------------------------------------------------------
step(4, "The runner executes the model for every request; the model reports through its run's callback")


class ServiceHandler(http.server.BaseHTTPRequestHandler):
    """The service's model routes on a loopback port (what `tessera serve --models` serves)."""

    def answer(self):
        url = urllib.parse.urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, headers, content = service.handle(self.command, urllib.parse.unquote(url.path),
                                                  urllib.parse.parse_qsl(url.query), list(self.headers.items()), body)
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = answer

    def log_message(self, *args):
        pass


service = tessera.Service(catalog, tiles=False, stac=False, models=True)
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ServiceHandler)
threading.Thread(target=server.serve_forever, daemon=True).start()
callback = service.runner_callback(f"http://127.0.0.1:{server.server_address[1]}")
for record in tessera.Runner(matcher, work_dir=str(work / "runs"), callback=callback).run_pending():
    print("   ", record["item"], record["state"], "(reported by the model)" if record.get("reported") else "",
          record["log"].strip())
server.shutdown()
summary = matcher.summary(model)
print(f"   {summary['predictions']} predictions recorded; latest for {summary['latest']['item']}")

# --- 5. Search --------------------------------------------------------------------------------
step(5, "STAC API search: scenes over Luxembourg City in June with less than 30 % cloud, newest first")
request = {"collections": ["scenes"], "bbox": [6.05, 49.55, 6.2, 49.65],
           "datetime": "2024-06-01T00:00:00Z/2024-06-30T23:59:59Z", "filter": "eo:cloud_cover < 30",
           "sortby": [{"field": "datetime", "direction": "desc"}], "limit": 10}
found = catalog.search(request)
print(f"   {found['numberMatched']} matched:",
      [(f["id"], f["properties"]["eo:cloud_cover"]) for f in found["features"]])

# --- 6. Mosaic --------------------------------------------------------------------------------
step(6, "A dynamic mosaic of every clear scene (NDVI), registered as a search, rendered for the whole country")
search_id = catalog.register_search({"collections": ["scenes"], "filter": "eo:cloud_cover < 30"},
                                    metadata={"name": "clear scenes over Luxembourg"})
asset = next(iter(items[0]["assets"]))
mosaic = tessera.Mosaic.from_registered(catalog, search_id, expression=f"({asset}_b2 - {asset}_b1) / ({asset}_b2 + {asset}_b1)",
                                        method="first")
tms = tessera.TileMatrixSet.from_name("WebMercatorQuad")
zoom = 9
west_tile = tms.tile(luxembourg["bbox"][0], luxembourg["bbox"][3], zoom)
east_tile = tms.tile(luxembourg["bbox"][2], luxembourg["bbox"][1], zoom)
for x in range(west_tile.x, east_tile.x + 1):
    for y in range(west_tile.y, east_tile.y + 1):
        try:
            tile = mosaic.tile(x, y, zoom)
        except tessera.NotFound:
            continue
        png = work / f"ndvi-{zoom}-{x}-{y}.png"
        png.write_bytes(tile.render(format="png", rescale=[(0, 0.8)], colormap="viridis"))
        print(f"   {png.name}: from {tile.assets}")
print(f"   search id {search_id}")

# --- 7. Package --------------------------------------------------------------------------------
step(7, "A Frictionless data package of Luxembourg: the newest clear scene clipped to the border, the outline")
(work / "outline.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [luxembourg]}))
newest = found["features"][0]
datasets = [
    {"name": "scene", "version": "2024.06", "title": f"Scene {newest['id']} (generated)", "type": "raster",
     "license": {"name": "CC0-1.0"}, "sources": [newest["assets"][asset]["href"]]},
    {"name": "outline", "version": "1", "title": "Country outline (Natural Earth)", "type": "vector",
     "format": "GeoPackage", "license": {"name": "ODC-PDDL-1.0"}, "sources": [str(work / "outline.geojson")]},
]
package = packager.build("Luxembourg", datasets, job_id="walkthrough")
for resource in package["resources"]:
    print(f"   {resource['path']}: {resource['bytes']} bytes, {resource['hash'][:20]}...")
try:
    import frictionless
except ImportError:
    print("   (frictionless not installed: package not validated)")
else:
    report = frictionless.validate(str(work / "packages" / "luxembourg" / "datapackage.json"))
    print("   frictionless validate:", "valid" if report.valid else report.flatten(["type", "note"]))

(work / "walkthrough.json").write_text(json.dumps(
    {"catalog": f"sqlite://{work / 'catalog.db'}", "search_id": search_id, "allowed_root": str(work),
     "bbox": luxembourg["bbox"]}, indent=2))
