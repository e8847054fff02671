"""Packaging: exact clips (checked against gdalwarp and rasterio's masks), Data Packages (checked with
frictionless), jobs, locks, atomic updates on local storage and S3, and sketch preprocessing."""

import hashlib
import io
import json
import math
import os
import subprocess
import threading
import time

import frictionless
import numpy
import pytest
import rasterio
import rasterio.features
import rasterio.warp
from rasterio.transform import from_origin

import tessera

UTM = "EPSG:32633"
ORIGIN = (500000.0, 4000000.0)
PIXEL = 30.0


def write_raster(path, data, crs=UTM, transform=None, nodata=0):
    count, height, width = data.shape
    profile = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": count,
        "dtype": data.dtype.name,
        "crs": crs,
        "transform": transform or from_origin(ORIGIN[0], ORIGIN[1], PIXEL, PIXEL),
    }
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return str(path)


def gradient(height=150, width=200, bands=1, dtype="uint16"):
    values = numpy.arange(height * width * bands).reshape(bands, height, width) % 6000 + 1
    return values.astype(dtype)


def to_wgs84(geometry, crs=UTM):
    return rasterio.warp.transform_geom(crs, "EPSG:4326", geometry, precision=-1)


def densified(geometry, step=1e-5):
    """Extra vertices every `step` degrees along each edge: edges straight in longitude/latitude stay where they
    are when the geometry is reprojected (tessera and gdalwarp both follow them)."""
    def ring(points):
        out = []
        for (x1, y1), (x2, y2) in zip(points, points[1:]):
            count = max(1, int(math.hypot(x2 - x1, y2 - y1) / step))
            out.extend([x1 + (x2 - x1) * i / count, y1 + (y2 - y1) * i / count] for i in range(count))
        return out + [points[-1]]

    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    dense = [[ring(r) for r in rings] for rings in polygons]
    return {"type": geometry["type"], "coordinates": dense[0] if geometry["type"] == "Polygon" else dense}


# A polygon with a hole, in UTM metres, crossing pixel centres at odd places.
UTM_BOUNDARY = {
    "type": "Polygon",
    "coordinates": [
        [[500123, 3999111], [505000, 3998000], [504000, 3996000], [501000, 3996500], [500123, 3999111]],
        [[502000, 3997500], [503000, 3997500], [503000, 3997000], [502000, 3997500]],
    ],
}


def expected_clip(source, clipped_path, boundary_wgs84, all_touched=False):
    """The source pixels under the clip's grid, masked with rasterio's rasterization of the boundary."""
    with rasterio.open(clipped_path) as clipped, rasterio.open(source) as src:
        local = rasterio.warp.transform_geom("EPSG:4326", src.crs, densified(boundary_wgs84), precision=-1)
        window = rasterio.windows.from_bounds(*clipped.bounds, transform=src.transform)
        data = src.read(window=window, boundless=True, fill_value=src.nodata or 0)
        inside = rasterio.features.geometry_mask(
            [local], out_shape=(clipped.height, clipped.width), transform=clipped.transform, invert=True,
            all_touched=all_touched,
        )
        fill = src.nodata if src.nodata is not None else 0
        return numpy.where(inside, data, fill), inside, clipped.read()


def against_gdalwarp(tmp_path, source, boundary, clipped, *warp_options):
    """tessera's clip over gdalwarp -cutline -crop_to_cutline's window, and gdalwarp's pixels."""
    cutline = tmp_path / "cut.geojson"
    cutline.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": boundary}]}))
    warped = tmp_path / "warp.tif"
    subprocess.run(["gdalwarp", "-q", "-overwrite", *warp_options, "-cutline", str(cutline), "-crop_to_cutline",
                    source, str(warped)], check=True)
    with rasterio.open(clipped) as ours, rasterio.open(warped) as warp:
        assert ours.res == warp.res and ours.crs == warp.crs
        # Same source grid: gdalwarp's window (pixels wholly inside the cutline's extent) lies inside ours.
        col = (warp.bounds.left - ours.bounds.left) / PIXEL
        row = (ours.bounds.top - warp.bounds.top) / PIXEL
        assert col == int(col) and row == int(row) and col >= 0 and row >= 0
        col, row = int(col), int(row)
        return ours.read(1)[row:row + warp.height, col:col + warp.width], warp.read(1)


def test_clip_raster_equals_gdalwarp_cutline_inside_and_outside(tmp_path):
    source = write_raster(tmp_path / "src.tif", gradient())
    boundary = to_wgs84(UTM_BOUNDARY)
    result = tessera.clip_raster(source, boundary, tmp_path / "clip.tif")
    assert result["crs"] == UTM and result["format"] == "tif" and result["bytes"] > 0
    with rasterio.open(tmp_path / "clip.tif") as ours:
        assert ours.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert ours.nodata == 0
    mine, theirs = against_gdalwarp(tmp_path, source, boundary, tmp_path / "clip.tif")
    assert numpy.array_equal(mine, theirs)
    assert (theirs == 0).sum() > 0 and (theirs != 0).sum() > 1000  # both inside and outside were compared
    # Outside gdalwarp's window too: every pixel whose centre is inside the boundary, nodata elsewhere.
    expected, inside, actual = expected_clip(source, tmp_path / "clip.tif", boundary)
    assert numpy.array_equal(actual[0], expected[0])
    assert inside.sum() > 0 and (~inside).sum() > 0


def test_clip_raster_all_touched_equals_gdalwarp_all_touched_cutline(tmp_path):
    source = write_raster(tmp_path / "src.tif", gradient())
    boundary = to_wgs84(UTM_BOUNDARY)
    tessera.clip_raster(source, boundary, tmp_path / "centres.tif")
    tessera.clip_raster(source, boundary, tmp_path / "touched.tif", all_touched=True)
    mine, theirs = against_gdalwarp(tmp_path, source, boundary, tmp_path / "touched.tif",
                                    "-wo", "CUTLINE_ALL_TOUCHED=TRUE")
    assert numpy.array_equal(mine, theirs)
    with rasterio.open(tmp_path / "centres.tif") as centres, rasterio.open(tmp_path / "touched.tif") as touched:
        assert (touched.read(1) != 0).sum() > (centres.read(1) != 0).sum()


def test_clip_raster_multipolygon_partly_outside_and_multiband(tmp_path):
    source = write_raster(tmp_path / "src.tif", gradient(bands=3, dtype="float32"), nodata=-9999.0)
    inside_part = [[499000, 3999500], [501500, 3999500], [501500, 3998000], [499000, 3998000], [499000, 3999500]]
    other_part = [[504000, 3996000], [505500, 3996000], [505500, 3994000], [504000, 3994000], [504000, 3996000]]
    boundary = to_wgs84({"type": "MultiPolygon", "coordinates": [[inside_part], [other_part]]})
    result = tessera.clip_raster(source, boundary, str(tmp_path / "clip.tif"))
    with rasterio.open(tmp_path / "clip.tif") as clipped, rasterio.open(source) as src:
        assert clipped.count == 3 and clipped.dtypes[0] == "float32" and clipped.nodata == -9999.0
        # The part west of the raster is cut at its edge; the window stays inside the raster.
        assert clipped.bounds.left == src.bounds.left
        assert clipped.bounds.bottom >= src.bounds.bottom
    expected, inside, actual = expected_clip(source, tmp_path / "clip.tif", boundary)
    assert numpy.array_equal(actual, expected)
    assert result["width"] == actual.shape[2] and result["height"] == actual.shape[1]


def test_clip_raster_without_nodata_writes_zero_under_a_mask(tmp_path):
    source = write_raster(tmp_path / "src.tif", gradient(dtype="uint8"), nodata=None)
    boundary = to_wgs84(UTM_BOUNDARY)
    tessera.clip_raster(source, boundary, tmp_path / "clip.tif")
    expected, inside, actual = expected_clip(source, tmp_path / "clip.tif", boundary)
    assert numpy.array_equal(actual[0], expected[0])
    with rasterio.open(tmp_path / "clip.tif") as clipped:
        assert clipped.nodata is None
        assert numpy.array_equal(clipped.dataset_mask() > 0, inside)


def test_clip_raster_across_the_antimeridian(tmp_path):
    # A geographic raster from 170°E to 170°W (longitudes 170..190), and a boundary split at ±180.
    data = gradient(height=40, width=200)
    source = write_raster(tmp_path / "pacific.tif", data, crs="EPSG:4326",
                          transform=from_origin(170.0, -10.0, 0.1, 0.1))
    boundary = {"type": "MultiPolygon", "coordinates": [
        [[[175.0, -12.0], [180.0, -12.0], [180.0, -13.0], [175.0, -13.0], [175.0, -12.0]]],
        [[[-180.0, -12.0], [-175.0, -12.0], [-175.0, -13.0], [-180.0, -13.0], [-180.0, -12.0]]],
    ]}
    result = tessera.clip_raster(source, boundary, tmp_path / "clip.tif")
    with rasterio.open(tmp_path / "clip.tif") as clipped:
        assert clipped.bounds.left == pytest.approx(175.0) and clipped.bounds.right == pytest.approx(185.0)
        values = clipped.read(1)
        assert values.shape == (10, 100)
        assert (values != 0).all()  # both halves of the boundary are filled
        assert numpy.array_equal(values, data[0, 20:30, 50:150])
    assert result["bbox"][0] == pytest.approx(175.0)


def test_clip_raster_no_data_for_this_boundary(tmp_path):
    source = write_raster(tmp_path / "src.tif", gradient())
    far_away = {"type": "Polygon", "coordinates": [[[100, 10], [101, 10], [101, 11], [100, 11], [100, 10]]]}
    with pytest.raises(tessera.NotFound, match="no data for this boundary"):
        tessera.clip_raster(source, far_away, tmp_path / "clip.tif")
    assert not (tmp_path / "clip.tif").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["src.tif"]  # no temporary file left either
    with pytest.raises(tessera.InvalidInput, match="not a raster"):
        tessera.clip_raster(tmp_path / "missing.tif", to_wgs84(UTM_BOUNDARY), tmp_path / "clip.tif")


def test_clip_raster_huge_boundary_is_fast_and_exact(tmp_path):
    source = write_raster(tmp_path / "src.tif", gradient(height=1000, width=1000))
    centre_x, centre_y, radius = 515000.0, 3985000.0, 14000.0
    ring = []
    count = 120000
    for i in range(count):
        angle = 2 * math.pi * i / count
        wobble = 1 + 0.05 * math.sin(angle * 37)
        ring.append([centre_x + radius * wobble * math.cos(angle), centre_y + radius * wobble * math.sin(angle)])
    ring.append(ring[0])
    boundary = to_wgs84({"type": "Polygon", "coordinates": [ring]})
    start = time.perf_counter()
    tessera.clip_raster(source, boundary, tmp_path / "clip.tif")
    elapsed = time.perf_counter() - start
    expected, inside, actual = expected_clip(source, tmp_path / "clip.tif", boundary)
    assert numpy.array_equal(actual[0], expected[0])
    assert inside.sum() > 500000
    assert elapsed < 10, f"clip with a 120k-vertex boundary took {elapsed:.1f}s"


# --- Vector ---------------------------------------------------------------------


def square(x, y, size):
    return {"type": "Polygon", "coordinates": [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]}


def shoelace(ring):
    return abs(sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring, ring[1:]))) / 2


def polygon_area(geometry):
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    return sum(shoelace(rings[0]) - sum(shoelace(hole) for hole in rings[1:]) for rings in polygons)


@pytest.fixture
def vector_source(tmp_path):
    features = [
        {"type": "Feature", "properties": {"name": "inside", "value": 1}, "geometry": square(10.2, 45.2, 0.2)},
        {"type": "Feature", "properties": {"name": "crossing", "value": 2}, "geometry": square(10.8, 45.5, 0.4)},
        {"type": "Feature", "properties": {"name": "outside", "value": 3}, "geometry": square(12.0, 47.0, 0.1)},
    ]
    path = tmp_path / "features.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


@pytest.mark.parametrize("extension", [".geojson", ".gpkg", ".fgb"])
def test_clip_vector_cuts_geometries_and_keeps_attributes(tmp_path, vector_source, extension):
    boundary = square(10.0, 45.0, 1.0)
    destination = tmp_path / f"clip{extension}"
    result = tessera.clip_vector(vector_source, boundary, destination)
    assert result["features"] == 2 and result["crs"] == "EPSG:4326"
    if extension != ".geojson":
        subprocess.run(["ogr2ogr", "-f", "GeoJSON", str(tmp_path / "read.geojson"), str(destination)], check=True)
        destination = tmp_path / "read.geojson"
    features = {f["properties"]["name"]: f for f in json.loads(destination.read_text())["features"]}
    assert sorted(features) == ["crossing", "inside"]
    assert features["inside"]["properties"]["value"] == 1
    assert polygon_area(features["inside"]["geometry"]) == pytest.approx(0.04)
    assert polygon_area(features["crossing"]["geometry"]) == pytest.approx(0.2 * 0.4)  # cut at x = 11
    assert result["bbox"] == pytest.approx([10.2, 45.2, 11.0, 45.9])


def test_clip_vector_errors(tmp_path, vector_source):
    with pytest.raises(tessera.NotFound, match="no data for this boundary"):
        tessera.clip_vector(vector_source, square(-50, -50, 1), tmp_path / "none.gpkg")
    with pytest.raises(tessera.InvalidInput, match="extension"):
        tessera.clip_vector(vector_source, square(10, 45, 1), tmp_path / "clip.shp")
    named = tessera.clip_vector(vector_source, square(10, 45, 1), tmp_path / "named.out", format="GeoPackage")
    assert named["format"] == "gpkg" and named["media_type"] == "application/geopackage+sqlite3"
    (tmp_path / "named.out").unlink()
    with pytest.raises(tessera.InvalidInput, match="format 'KML'"):
        tessera.clip_vector(vector_source, square(10, 45, 1), tmp_path / "clip.kml", format="KML")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["features.geojson"]


def test_http_sources_need_the_allow_list(tmp_path, http_folder, vector_source):
    folder, base = http_folder
    write_raster(folder / "src.tif", gradient())
    (folder / "features.geojson").write_bytes(open(vector_source, "rb").read())
    boundary = to_wgs84(UTM_BOUNDARY)
    tessera.configure()
    with pytest.raises(tessera.InvalidInput, match="not under an allowed URL prefix"):
        tessera.clip_raster(base + "src.tif", boundary, tmp_path / "clip.tif")
    with pytest.raises(tessera.InvalidInput, match="not under an allowed URL prefix"):
        tessera.clip_vector(base + "features.geojson", square(10, 45, 1), tmp_path / "clip.gpkg")
    assert not (tmp_path / "clip.tif").exists() and not (tmp_path / "clip.gpkg").exists()

    tessera.configure(allowed_prefixes=["http://127.0.0.1:1/elsewhere/"])
    with pytest.raises(tessera.InvalidInput, match="allowed URL prefix"):
        tessera.clip_raster(base + "src.tif", boundary, tmp_path / "clip.tif")

    tessera.configure(allowed_prefixes=[base])
    over_http = tessera.clip_raster(base + "src.tif", boundary, tmp_path / "clip.tif")
    local = tessera.clip_raster(str(folder / "src.tif"), boundary, tmp_path / "local.tif")
    assert over_http["bytes"] > 0
    with rasterio.open(tmp_path / "clip.tif") as remote, rasterio.open(tmp_path / "local.tif") as here:
        assert numpy.array_equal(remote.read(), here.read())
    assert tessera.clip_vector(base + "features.geojson", square(10, 45, 1), tmp_path / "clip.gpkg")["bytes"] > 0


def test_gdal_syntax_and_roots_are_refused_in_sources(tmp_path):
    source = write_raster(tmp_path / "src.tif", gradient())
    boundary = to_wgs84(UTM_BOUNDARY)
    for href in ["/vsicurl/http://127.0.0.1/x.tif", "s3://bucket/%2Fvsicurl%2Fx.tif", "PG:dbname=x", "ftp://host/x.tif"]:
        with pytest.raises(tessera.InvalidInput, match="href"):
            tessera.clip_raster(href, boundary, tmp_path / "clip.tif")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    try:
        tessera.configure(allowed_roots=[str(elsewhere)])
        with pytest.raises(tessera.InvalidInput, match="outside the allowed local folders"):
            tessera.clip_raster(str(source), boundary, tmp_path / "clip.tif")
        (elsewhere / "link.tif").symlink_to(source)
        with pytest.raises(tessera.InvalidInput, match="outside the allowed local folders"):
            tessera.clip_raster(str(elsewhere / "link.tif"), boundary, tmp_path / "clip.tif")
    finally:
        tessera.configure()
    assert not (tmp_path / "clip.tif").exists()


# --- Sketches --------------------------------------------------------------------


def test_sketch_validation_messages():
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]}
    with pytest.raises(tessera.InvalidInput, match=r"Self-intersection at \(1, 1\)"):
        tessera.preprocess_sketch(bowtie)
    with pytest.raises(tessera.InvalidInput, match="expected a Polygon or MultiPolygon, got LineString"):
        tessera.preprocess_sketch({"type": "LineString", "coordinates": [[0, 0], [1, 1]]})
    with pytest.raises(tessera.InvalidInput, match="empty"):
        tessera.preprocess_sketch({"type": "Polygon", "coordinates": []})
    with pytest.raises(tessera.InvalidInput, match="more than the limit of 100 km²"):
        tessera.preprocess_sketch(square(0, 0, 1), max_area_km2=100)
    with pytest.raises(tessera.InvalidInput, match="vertices, more than the limit of 4"):
        tessera.preprocess_sketch(square(0, 0, 1), max_vertices=4)
    feature = {"type": "Feature", "properties": {}, "geometry": square(0, 0, 0.1)}
    result = tessera.preprocess_sketch(feature)
    assert result["area_km2"] == pytest.approx(123.6, rel=0.01) and result["cached"] is False


def test_sketch_clip_erase_keep_largest_and_outside(tmp_path):
    sketch = square(0, 0, 1)
    study_area = square(0.5, 0, 1)
    clipped = tessera.preprocess_sketch(sketch, clip_to=study_area)
    assert polygon_area(clipped["geometry"]) == pytest.approx(0.5)
    # Land from a file: a strip through the middle and a feature far outside the sketch's bbox.
    land = tmp_path / "land.geojson"
    land.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [
            [[0.3, -1], [0.4, -1], [0.4, 2], [0.3, 2], [0.3, -1]]]}},
        {"type": "Feature", "properties": {}, "geometry": square(50, 50, 1)},
    ]}))
    erased = tessera.preprocess_sketch(sketch, erase=str(land))
    assert erased["geometry"]["type"] == "MultiPolygon"
    assert polygon_area(erased["geometry"]) == pytest.approx(0.9)
    largest = tessera.preprocess_sketch(sketch, erase=land, keep_largest=True)
    assert largest["geometry"]["type"] == "Polygon"
    assert polygon_area(largest["geometry"]) == pytest.approx(0.6)
    with pytest.raises(tessera.InvalidInput, match="outside of boundary"):
        tessera.preprocess_sketch(sketch, clip_to=square(5, 5, 1))
    # No reference feature near the sketch: nothing to clip to.
    far_features = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": square(50, 50, 1)}]}
    with pytest.raises(tessera.InvalidInput, match="outside of boundary"):
        tessera.preprocess_sketch(sketch, clip_to=far_features)
    assert tessera.preprocess_sketch(sketch, erase=far_features)["area_km2"] == pytest.approx(12364, rel=0.01)


def test_sketch_cache_on_storage(storage, tmp_path):
    sketch = square(0, 0, 1)
    first = tessera.preprocess_sketch(sketch, clip_to=square(0.5, 0, 1), cache=storage)
    assert first["cached"] is False
    assert storage.exists(f"sketch-cache/{first['key']}.json")
    # The same geometry written from another starting vertex is the same canonical geometry.
    rotated = {"type": "Polygon", "coordinates": [[[1, 0], [1, 1], [0, 1], [0, 0], [1, 0]]]}
    again = tessera.preprocess_sketch(rotated, clip_to=square(0.5, 0, 1), cache=storage)
    assert again["cached"] is True and again["key"] == first["key"] and again["geometry"] == first["geometry"]
    other_params = tessera.preprocess_sketch(sketch, clip_to=square(0.5, 0, 1), keep_largest=True, cache=storage)
    other_caller = tessera.preprocess_sketch(sketch, clip_to=square(0.5, 0, 1), cache=storage, cache_key="land-v2")
    assert len({first["key"], other_params["key"], other_caller["key"]}) == 3
    assert other_params["cached"] is False and other_caller["cached"] is False


# --- Packages ---------------------------------------------------------------------


def boundaries_file(tmp_path):
    """Two regions in UTM over the test raster, one of them an invalid bow-tie that must be repaired."""
    region = to_wgs84(UTM_BOUNDARY)
    bowtie = to_wgs84({"type": "Polygon", "coordinates": [[
        [501000, 3999000], [504000, 3996000], [504000, 3999000], [501000, 3996000], [501000, 3999000]]]})
    path = tmp_path / "regions.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"NAME": "Côte Région", "LONG": "The Côte Region"}, "geometry": region},
        {"type": "Feature", "properties": {"NAME": "Bow Tie", "LONG": "Bow Tie District"}, "geometry": bowtie},
    ]}))
    return path


@pytest.fixture
def package_inputs(tmp_path):
    raster = write_raster(tmp_path / "elevation.tif", gradient())
    points = tmp_path / "wells.geojson"
    points.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": i}, "geometry": to_wgs84(
            {"type": "Point", "coordinates": [500000 + 300 * i + 15, 3997500]})} for i in range(20)]}))
    datasets = [
        {"name": "elevation", "version": "2024.1", "title": "Elevation", "description": "Synthetic heights",
         "license": {"name": "CC-BY-4.0", "path": "https://creativecommons.org/licenses/by/4.0/",
                     "title": "Creative Commons Attribution 4.0"},
         "citation": "Tessera test data (2024)", "sources": [raster], "type": "raster", "format": "COG"},
        {"name": "wells", "version": "1", "title": "Wells", "license": {"name": "ODbL-1.0"},
         "sources": [str(points)], "type": "vector", "format": "GeoJSON"},
    ]
    return {"datasets": datasets, "boundaries": boundaries_file(tmp_path)}


def validate(root, boundary_id):
    report = frictionless.validate(str(root / boundary_id / "datapackage.json"))
    assert report.valid, report.flatten(["type", "note"])


def test_package_build_layout_frictionless_and_job_status(tmp_path, package_inputs):
    root = tmp_path / "packages"
    storage = tessera.Storage.open(str(root))
    packager = tessera.Packager(storage)
    warnings = []
    tessera.set_log_callback(lambda level, message: warnings.append(message) if level == "warning" else None)
    try:
        added = packager.add_boundaries(package_inputs["boundaries"], name_field="NAME", long_name_field="LONG")
    finally:
        tessera.set_log_callback(None)
    assert [b["id"] for b in added] == ["c-te-r-gion", "bow-tie"]
    assert any("Bow Tie" in w and "make_valid" in w for w in warnings)
    assert [b["name"] for b in packager.boundaries()] == ["Bow Tie", "Côte Région"]

    steps = []
    package = packager.build("Côte Région", package_inputs["datasets"], job_id="job-1",
                             progress=lambda percent, step: steps.append((percent, step)))
    assert package["name"] == "c-te-r-gion" and package["title"] == "The Côte Region"
    assert [r["name"] for r in package["resources"]] == ["elevation", "wells"]
    elevation = package["resources"][0]
    assert elevation["path"] == "datasets/elevation/2024.1/elevation.tif"
    data = (root / "c-te-r-gion" / elevation["path"]).read_bytes()
    assert elevation["bytes"] == len(data)
    assert elevation["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
    assert elevation["tessera:crs"] == UTM and len(elevation["tessera:bbox"]) == 4
    assert elevation["licenses"][0]["name"] == "CC-BY-4.0"
    assert {license["name"] for license in package["licenses"]} == {"CC-BY-4.0", "ODbL-1.0"}
    assert json.loads((root / "c-te-r-gion" / "datapackage.json").read_text()) == package
    provenance = json.loads((root / "c-te-r-gion" / "provenance.json").read_text())
    assert {e["dataset"] for e in provenance["entries"]} == {"elevation", "wells"}
    validate(root, "c-te-r-gion")

    percents = [p for p, _ in steps]
    assert percents == sorted(percents) and percents[-1] == 100.0 and steps[-1][1] == "done"
    status = packager.job_status("job-1")
    assert status["status"] == "completed" and status["percent"] == 100.0
    assert [d["status"] for d in status["datasets"]] == ["completed", "completed"]
    with pytest.raises(tessera.NotFound, match="job 'nope'"):
        packager.job_status("nope")

    # A re-run skips the outputs that exist; the package is unchanged.
    before = (root / "c-te-r-gion" / elevation["path"]).stat().st_mtime_ns
    packager.build("c-te-r-gion", package_inputs["datasets"], job_id="job-2")
    assert [d["status"] for d in packager.job_status("job-2")["datasets"]] == ["skipped", "skipped"]
    assert (root / "c-te-r-gion" / elevation["path"]).stat().st_mtime_ns == before

    # Adding a dataset keeps the others; a new version replaces the old one's resources.
    newer = dict(package_inputs["datasets"][0], version="2025.1")
    package = packager.build("c-te-r-gion", [newer])
    assert [(r["name"], r["tessera:version"]) for r in package["resources"]] == [
        ("elevation", "2025.1"), ("wells", "1")]
    validate(root, "c-te-r-gion")


def test_package_repaired_boundary_and_bad_input(tmp_path, package_inputs):
    storage = tessera.Storage.open(str(tmp_path / "packages"))
    packager = tessera.Packager(storage)
    packager.add_boundaries(str(package_inputs["boundaries"]), name_field="NAME")
    package = packager.build("Bow Tie", package_inputs["datasets"][:1])
    validate(tmp_path / "packages", "bow-tie")
    assert package["resources"][0]["bytes"] > 0
    with pytest.raises(tessera.InvalidInput, match=r"datasets\[1\].type: 'table' is not a dataset type"):
        packager.build("Bow Tie", [package_inputs["datasets"][0], dict(package_inputs["datasets"][1], type="table")])
    with pytest.raises(tessera.InvalidInput, match=r"datasets\[0\].sources: required"):
        packager.build("Bow Tie", [{"name": "x", "version": "1", "type": "raster"}])
    with pytest.raises(tessera.NotFound, match="boundary 'Atlantis' is not known"):
        packager.build("Atlantis", package_inputs["datasets"])
    with pytest.raises(tessera.InvalidInput, match="has no field 'nom'"):
        packager.add_boundaries(str(package_inputs["boundaries"]), name_field="nom")


def test_package_failed_and_no_data_datasets(tmp_path, package_inputs):
    storage = tessera.Storage.open(str(tmp_path / "packages"))
    packager = tessera.Packager(storage)
    packager.add_boundaries(package_inputs["boundaries"], name_field="NAME")
    far = write_raster(tmp_path / "far.tif", gradient(), transform=from_origin(700000, 4500000, 30, 30))
    datasets = [
        package_inputs["datasets"][0],
        {"name": "broken", "version": "1", "sources": [str(tmp_path / "missing.tif")], "type": "raster"},
        {"name": "elsewhere", "version": "1", "sources": [far], "type": "raster"},
    ]
    with pytest.raises(tessera.InvalidInput, match="job job-f: broken: .*missing.tif"):
        packager.build("Côte Région", datasets, job_id="job-f")
    status = packager.job_status("job-f")
    assert status["status"] == "failed" and "broken" in status["error"]
    assert [d["status"] for d in status["datasets"]] == ["completed", "failed", "no_data"]
    assert "no data for this boundary" in status["datasets"][2]["error"]
    package = json.loads((tmp_path / "packages" / "c-te-r-gion" / "datapackage.json").read_text())
    assert [r["name"] for r in package["resources"]] == ["elevation"]


class SlowCsvProcessor(tessera.Processor):
    """Writes a CSV of the boundary's name slowly, counting its calls."""

    def __init__(self):
        super().__init__()
        self.calls = 0
        self.lock = threading.Lock()

    def process(self, context):
        with self.lock:
            self.calls += 1
        time.sleep(1.0)
        path = os.path.join(context["output_dir"], "names.csv")
        with open(path, "w") as out:
            out.write("id,name\n%s,%s\n" % (context["boundary"]["id"], context["boundary"]["properties"]["name"]))
        return [{"file": "names.csv", "format": "csv", "media_type": "text/csv"}]


def lock_catalogs(kind, tmp_path, request):
    """Two catalog handles on one database (as two processes would have), or none for storage markers."""
    if kind == "storage":
        return [None, None]
    if kind == "sqlite":
        return [tessera.Catalog.open(f"sqlite://{tmp_path}/locks.db") for _ in range(2)]
    url = request.getfixturevalue("pgstac_url")
    return [tessera.Catalog.open(url) for _ in range(2)]


@pytest.mark.parametrize("locks", ["storage", "sqlite", "pgstac"])
def test_python_processor_and_concurrent_jobs_run_once(tmp_path, package_inputs, locks, request):
    storage = tessera.Storage.open(str(tmp_path / "packages"))
    processor = SlowCsvProcessor()
    packagers = [tessera.Packager(storage, catalog) for catalog in lock_catalogs(locks, tmp_path, request)]
    for packager in packagers:
        packager.register_processor("names", processor)
    packagers[0].add_boundaries(package_inputs["boundaries"], name_field="NAME")
    with pytest.raises(tessera.InvalidInput, match="must be a tessera.Processor subclass"):
        packagers[0].register_processor("bad", lambda context: [])
    # A version per run: PgSTAC's advisory locks are server-wide, shared by every test run.
    version = f"{os.getpid()}-{time.time_ns()}"
    dataset = {"name": "names", "version": version, "sources": ["boundaries"], "type": "vector", "processor": "names",
               "license": {"name": "CC0-1.0"}}
    results = {}

    def run(index):
        results[index] = packagers[index].build("Côte Région", [dataset], job_id=f"concurrent-{index}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert processor.calls == 1
    statuses = sorted(packagers[0].job_status(f"concurrent-{i}")["datasets"][0]["status"] for i in range(2))
    assert statuses == ["completed", "skipped"]
    assert results[0]["resources"] == results[1]["resources"]
    assert (tmp_path / "packages" / "c-te-r-gion" / "datasets" / "names" / version / "names.csv").read_text() == \
        "id,name\nc-te-r-gion,Côte Région\n"
    validate(tmp_path / "packages", "c-te-r-gion")

    # Without waiting, a job finding the lock held reports the dataset as in progress.
    again = dict(dataset, version=version + "-2")
    thread = threading.Thread(target=packagers[0].build, args=("Côte Région", [again]), kwargs={"job_id": "holder"})
    thread.start()
    time.sleep(0.3)
    package = packagers[1].build("Côte Région", [again], job_id="impatient", wait_for_locks=False)
    thread.join()
    status = packagers[1].job_status("impatient")
    assert status["status"] == "completed"
    assert status["datasets"][0]["status"] == "in_progress"
    assert "being built by another job" in status["datasets"][0]["error"]
    assert processor.calls == 2
    assert [r["tessera:version"] for r in package["resources"]] == [version]  # not yet the one in progress


def test_stale_lock_of_a_crashed_job_is_taken_over(tmp_path, package_inputs):
    storage = tessera.Storage.open(str(tmp_path / "packages"))
    packager = tessera.Packager(storage)
    packager.add_boundaries(package_inputs["boundaries"], name_field="NAME")
    dead = subprocess.Popen(["true"])
    dead.wait()
    marker = {"owner": "crashed", "host": os.uname().nodename, "pid": dead.pid, "acquired_unix_ms": 0,
              "expires_unix_ms": int(time.time() * 1000) + 3600000}
    storage.put(".tessera/locks/c-te-r-gion/elevation/2024.1.json", json.dumps(marker).encode())
    package = packager.build("Côte Région", package_inputs["datasets"][:1], job_id="rerun")
    assert package["resources"][0]["name"] == "elevation"
    assert not storage.exists(".tessera/locks/c-te-r-gion/elevation/2024.1.json")


def run_readers_while_updating(storage, packager, datasets, key):
    """Readers parse datapackage.json in a loop while jobs add datasets; none may see a torn file."""
    stop = threading.Event()
    seen = [[] for _ in range(3)]
    errors = []
    retries = []

    def read(index):
        while not stop.is_set():
            try:
                if storage.exists(key):
                    seen[index].append(len(json.loads(storage.get(key))["resources"]))
            except tessera.NotFound:
                pass
            except tessera.Unavailable as error:
                # S3: the object was replaced between the size check and the read; the storage refuses the short
                # read (retryable) instead of returning part of a file.
                retries.append(str(error))
            except Exception as error:  # a torn or partial file
                errors.append(repr(error))

    readers = [threading.Thread(target=read, args=(index,)) for index in range(3)]
    for reader in readers:
        reader.start()
    try:
        for index in range(6):
            packager.build("Côte Région", [dict(datasets[1], name=f"wells-{index}")])
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    assert errors == []
    assert all(counts == sorted(counts) for counts in seen)  # each reader sees the package only grow
    assert any(seen)
    final = json.loads(storage.get(key))["resources"]
    assert {f"wells-{index}" for index in range(6)} <= {resource["name"] for resource in final}
    assert all("cut short" in message for message in retries)


def test_datapackage_updates_are_atomic_locally(tmp_path, package_inputs):
    storage = tessera.Storage.open(str(tmp_path / "packages"))
    packager = tessera.Packager(storage)
    packager.add_boundaries(package_inputs["boundaries"], name_field="NAME")
    run_readers_while_updating(storage, packager, package_inputs["datasets"], "c-te-r-gion/datapackage.json")
    validate(tmp_path / "packages", "c-te-r-gion")


def test_package_on_s3_with_atomic_updates(s3_env, tmp_path, package_inputs):
    prefix = f"s3://{s3_env['bucket']}/packaging-{os.getpid()}-{time.time_ns()}"
    storage = tessera.Storage.open(prefix, s3_env["options"])
    packager = tessera.Packager(storage)
    packager.add_boundaries(package_inputs["boundaries"], name_field="NAME")
    package = packager.build("Côte Région", package_inputs["datasets"], job_id="s3-job")
    assert packager.job_status("s3-job")["status"] == "completed"
    data = storage.get("c-te-r-gion/" + package["resources"][0]["path"])
    assert package["resources"][0]["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
    run_readers_while_updating(storage, packager, package_inputs["datasets"], "c-te-r-gion/datapackage.json")
    # A local copy of the published package validates.
    copy = tmp_path / "copy"
    for key in storage.list("c-te-r-gion/"):
        target = copy / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(storage.get(key))
    validate(copy, "c-te-r-gion")
    # Clips read from and write to S3 directly.
    storage.put("sources/elevation.tif", open(package_inputs["datasets"][0]["sources"][0], "rb").read())
    result = tessera.clip_raster(f"{prefix}/sources/elevation.tif", to_wgs84(UTM_BOUNDARY),
                                 f"{prefix}/clips/elevation.tif", storage_options=s3_env["options"])
    assert storage.stat("clips/elevation.tif")["size"] == result["bytes"]


def test_boundaries_from_a_postgis_table(tmp_path, pgstac_url):
    url = pgstac_url
    psycopg = pytest.importorskip("psycopg")
    table = f"tessera_boundaries_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"CREATE TABLE public.{table} (admin_name text, geom geometry(Polygon, 32633))")
        connection.execute(f"INSERT INTO public.{table} VALUES ('District One', ST_GeomFromText(%s, 32633))",
                           ["POLYGON((500000 3990000, 510000 3990000, 510000 4000000, 500000 4000000, 500000 3990000))"])
    try:
        parsed = psycopg.conninfo.conninfo_to_dict(url)
        source = ("PG:" + " ".join(f"{key}={parsed[key]}" for key in ("host", "port", "dbname", "user", "password")
                                   if key in parsed) + f" tables={table}")
        packager = tessera.Packager(tessera.Storage.open(str(tmp_path / "packages")))
        assert packager.add_boundaries(source, name_field="admin_name") == [
            {"id": "district-one", "name": "District One", "long_name": "District One"}]
        bbox = packager.boundaries()[0]["bbox"]
        assert bbox[0] == pytest.approx(15.0, abs=0.01) and bbox[3] == pytest.approx(36.14, abs=0.01)  # WGS84 now
    finally:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(f"DROP TABLE public.{table}")
