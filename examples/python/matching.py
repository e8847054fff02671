"""Matching from Python: a model registers an area of interest, a new scene is
ingested, the scene is matched and a run is requested in the same transaction,
the local runner executes the model, and the model's output is recorded as a
STAC label prediction.

Usage: python3 examples/python/matching.py WORK_DIR
"""

import json
import pathlib
import sys

import tessera

work = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/tessera-example-matching")
if (work / "catalog.db").exists():
    sys.exit(f"{work} holds a previous run: use a new folder")
work.mkdir(parents=True, exist_ok=True)

# New imagery: a small 10 m two-band raster (red, nir) near Turin, as a COG and a STAC item.
vrt = work / "scene.vrt"
vrt.write_text(
    """<VRTDataset rasterXSize="256" rasterYSize="256">
  <SRS>EPSG:32632</SRS>
  <GeoTransform>390000, 10, 0, 4995000, 0, -10</GeoTransform>
  <VRTRasterBand dataType="UInt16" band="1"/>
  <VRTRasterBand dataType="UInt16" band="2"/>
</VRTDataset>"""
)
tessera.to_cog(str(vrt), str(work / "scene.tif"))
bands = [
    {"name": "red", "common_name": "red", "center_wavelength": 0.665, "full_width_half_max": 0.03},
    {"name": "nir", "common_name": "nir", "center_wavelength": 0.842, "full_width_half_max": 0.115},
]
item = tessera.create_item(
    str(work / "scene.tif"),
    id="scene-2024-07-01",
    collection="scenes",
    datetime="2024-07-01T10:00:00Z",
    properties={"gsd": 10, "eo:bands": bands, "eo:cloud_cover": 3},
)
(work / "new").mkdir(exist_ok=True)
(work / "new" / "scene.json").write_text(json.dumps(item))

catalog = tessera.Catalog.open(f"sqlite://{work / 'catalog.db'}")
catalog.upsert_collection(
    {
        "type": "Collection",
        "stac_version": "1.1.0",
        "id": "scenes",
        "description": "new imagery",
        "license": "CC0-1.0",
        "links": [],
        "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]}, "temporal": {"interval": [[None, None]]}},
    }
)

# The model: a script that reads the item JSON (its last argument) and writes
# a label GeoJSON next to it. The runner appends the item's href or JSON path.
model_script = work / "water_model.py"
model_script.write_text(
    """import json, pathlib, sys
item = json.load(open(sys.argv[-1]))
out = pathlib.Path(sys.argv[-1]).with_suffix(".labels.geojson")
out.write_text(json.dumps({"type": "FeatureCollection", "features": [
    {"type": "Feature", "geometry": item["geometry"], "properties": {"class": "water"}}]}))
print("labelled", item["id"], "->", out)
"""
)
mt = tessera.Matcher(catalog)
model = mt.add_model(
    {
        "id": "water-segmenter",
        "name": "water segmenter",
        "description": "labels water from red and nir at 10 m or finer",
        "command": [sys.executable, str(model_script)],
        "runner": {"timeout": 60, "concurrency": 1},
    }
)
aoi = mt.add_aoi(
    {
        "model": model,
        # The field, in UTM 32N like the imagery (stored in WGS84).
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[391000, 4993000], [392000, 4993000], [392000, 4994000], [391000, 4994000], [391000, 4993000]]],
        },
        "crs": "EPSG:32632",
        "resolution": 10,
        "wavelengths": [0.665, 0.842],
        "max_cloud_cover": 20,
    }
)
print("model", model, "watches AOI", aoi)
print("match:", mt.match(item))

# Ingest: the run request is written with the item, in its transaction.
report = tessera.ingest(catalog, [str(work / "new")], matcher=mt)
print("ingested", report["loaded"], "item(s); pending:", [(e["kind"], e["payload"]["item"]) for e in mt.events(model=model)])

# The runner executes the model on the item and records the outcome.
for record in tessera.Runner(mt, work_dir=str(work / "runs")).run_pending():
    print(record["kind"], "exit", record["exit_code"], "log:", record["log"].strip())
    if record["kind"] != "run_succeeded":
        continue
    labels = pathlib.Path(record["command"][-1]).with_suffix(".labels.geojson")
    label_item = {
        "type": "Feature",
        "stac_version": "1.1.0",
        "id": f"{record['item']}-water",
        "geometry": item["geometry"],
        "bbox": item["bbox"],
        "properties": {
            "datetime": item["properties"]["datetime"],
            "label:properties": ["class"],
            "label:description": "water mask",
            "label:type": "vector",
            "label:tasks": ["segmentation"],
            "label:classes": [{"name": "class", "classes": ["water", "land"]}],
            "label:overviews": [{"property_key": "class", "counts": [{"name": "water", "count": 1}]}],
        },
        "links": [{"rel": "source", "href": f"scenes/{record['item']}.json"}],
        "assets": {"labels": {"href": str(labels), "type": "application/geo+json"}},
    }
    mt.add_prediction(model, record["aoi"], label_item)

summary = mt.summary(model)
print("predictions:", summary["predictions"], "classes:", summary["classes"], "latest:", summary["latest"]["item"])
print("events:", [e["kind"] for e in mt.events(model=model)])
