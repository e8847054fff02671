"""Ingest from Python: a raster becomes a COG and a STAC item, queue messages
(an SNS-wrapped item, an S3 test event, a broken message) are ingested with a
dead-letter file, and the catalog is searched.

Usage: python3 examples/python/ingest.py WORK_DIR
"""

import json
import pathlib
import sys

import tessera

work = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/tessera-example-ingest")
work.mkdir(parents=True, exist_ok=True)

# A small UTM raster described as a GDAL VRT, converted to a COG.
vrt = work / "scene.vrt"
vrt.write_text(
    """<VRTDataset rasterXSize="512" rasterYSize="512">
  <SRS>EPSG:32632</SRS>
  <GeoTransform>600000, 20, 0, 5100000, 0, -20</GeoTransform>
  <VRTRasterBand dataType="UInt16" band="1"><NoDataValue>0</NoDataValue></VRTRasterBand>
</VRTDataset>"""
)
cog = work / "scene.tif"
tessera.to_cog(str(vrt), str(cog))
item = tessera.create_item(str(cog), collection="scenes", datetime="2024-07-01T10:00:00Z")
print("created item", item["id"], "bbox", [round(v, 3) for v in item["bbox"]], item["properties"]["proj:code"])

catalog = tessera.Catalog.open(f"sqlite://{work / 'catalog.db'}")
catalog.upsert_collection(
    {
        "type": "Collection",
        "stac_version": "1.1.0",
        "id": "scenes",
        "description": "rasters",
        "license": "CC0-1.0",
        "links": [],
        "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]}, "temporal": {"interval": [[None, None]]}},
    }
)
messages = [
    {"Type": "Notification", "Message": json.dumps(item)},
    {"Event": "s3:TestEvent"},
    "this is not a message",
]
dead_letters = work / "dead-letters.ndjson"
for result in tessera.ingest_messages(catalog, messages, dead_letter=str(dead_letters)):
    print(f"  {result['source']}: {result['status']}", result.get("error", ""))
print("dead letters:", len(dead_letters.read_text().splitlines()), "in", dead_letters)
print("search:", [f["id"] for f in catalog.search(bbox=item["bbox"])["features"]])
