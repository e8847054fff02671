"""Packaging from Python: a data package for a real country.

Loads Natural Earth's countries as boundaries, builds a package for
Luxembourg from a raster (a synthetic 0.001° elevation-like grid over the
Benelux, in EPSG:4326) and a vector dataset (points every 0.05°), then a
second job that finds everything published and skips it, validates the
package with frictionless when it is installed, and preprocesses a sketch
that crosses the border.

Usage: python3 examples/python/package.py WORK_DIR COUNTRIES_SHAPEFILE
"""

import json
import math
import pathlib
import sys

import tessera

work = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/tessera-example-package")
countries = sys.argv[2]
work.mkdir(parents=True, exist_ok=True)

# The raster: an ESRI ASCII grid (plain text, no extra Python packages) turned into a COG by tessera.
width, height, size, west, north = 1200, 900, 0.001, 5.6, 50.3
rows = []
for row in range(height):
    y = north - (row + 0.5) * size
    rows.append(" ".join(str(int(300 + 150 * math.sin(x * 7) * math.cos(y * 9)))
                         for x in (west + (col + 0.5) * size for col in range(width))))
grid = work / "elevation.asc"
grid.write_text(f"ncols {width}\nnrows {height}\nxllcorner {west}\nyllcorner {north - height * size}\n"
                f"cellsize {size}\nNODATA_value -9999\n" + "\n".join(rows) + "\n")
(work / "elevation.prj").write_text('GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],'
                                    'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]]')
tessera.to_cog(str(grid), str(work / "elevation.tif"))

points = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"station": f"S{i:03d}-{j:03d}"},
     "geometry": {"type": "Point", "coordinates": [5.6 + i * 0.05, 49.3 + j * 0.05]}}
    for i in range(24) for j in range(20)]}
(work / "stations.geojson").write_text(json.dumps(points))

datasets = [
    {"name": "elevation", "version": "2024.1", "title": "Elevation (synthetic)",
     "description": "A smooth synthetic surface standing in for a DEM", "type": "raster",
     "license": {"name": "CC0-1.0", "path": "https://creativecommons.org/publicdomain/zero/1.0/",
                 "title": "CC0 1.0"},
     "citation": "tessera examples", "sources": [str(work / "elevation.tif")]},
    {"name": "stations", "version": "1", "title": "Stations (synthetic)", "type": "vector", "format": "GeoJSON",
     "license": {"name": "CC0-1.0"}, "sources": [str(work / "stations.geojson")]},
]

storage = tessera.Storage.open(str(work / "packages"))
packager = tessera.Packager(storage)
added = packager.add_boundaries(countries, name_field="name")
print(f"loaded {len(added)} country boundaries")


def progress(percent, step):
    print(f"  {percent:5.1f}%  {step}")


package = packager.build("Luxembourg", datasets, progress=progress, job_id="demo-luxembourg")
for resource in package["resources"]:
    print(f"{resource['path']}: {resource['bytes']} bytes, {resource['hash'][:23]}..., CRS {resource['tessera:crs']}")
status = packager.job_status("demo-luxembourg")
print("job", status["id"], status["status"], [d["status"] for d in status["datasets"]])
packager.build("Luxembourg", datasets, job_id="demo-again")
print("re-run:", [d["status"] for d in packager.job_status("demo-again")["datasets"]])

try:
    import frictionless
except ImportError:
    print("frictionless not installed: package not validated")
else:
    report = frictionless.validate(str(work / "packages" / "luxembourg" / "datapackage.json"))
    print("frictionless validate:", "valid" if report.valid else report.flatten(["type", "note"]))

# A sketch drawn over the Dutch coast: land erased (only the countries near the sketch are read).
sketch = {"type": "Polygon", "coordinates": [[[3.8, 52.0], [4.9, 52.0], [4.9, 52.6], [3.8, 52.6], [3.8, 52.0]]]}
sea = tessera.preprocess_sketch(sketch, erase=countries, keep_largest=True, cache=storage, cache_key="ne-110m")
again = tessera.preprocess_sketch(sketch, erase=countries, keep_largest=True, cache=storage, cache_key="ne-110m")
print(f"sketch: {sea['area_km2']:.0f} km² of sea kept, key {sea['key'][:12]}..., second call cached: {again['cached']}")
try:
    tessera.preprocess_sketch({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]})
except tessera.InvalidInput as error:
    print("rejected:", error)
