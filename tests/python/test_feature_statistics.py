"""Feature (zonal) statistics: exact coverage-weighted statistics agree with
exactextract, rio-tiler's estimate (cover_scale) with rio-tiler, for one raster
and for a mosaic of it."""

import json
import math
import os

import exactextract
import numpy
import pytest
from rasterio.transform import from_origin
from rio_tiler.io import Reader

import tessera
from raster_fixtures import write_cog
from stac_fixtures import collection

ORIGIN_X, ORIGIN_Y, PIXEL = 500000.0, 5000000.0, 10.0


def xy(column, row):
    """UTM coordinates of a point given in the raster's pixel units."""
    return [ORIGIN_X + column * PIXEL, ORIGIN_Y - row * PIXEL]


def polygon(*rings):
    return {"type": "Polygon", "coordinates": [[xy(c, r) for c, r in ring] for ring in rings]}


def feature(geometry):
    return {"type": "Feature", "properties": {}, "geometry": geometry}


def star(centre_column, centre_row, points=17, outer=21.3, inner=8.7):
    ring = []
    for n in range(points * 2):
        angle = math.pi * n / points
        radius = outer if n % 2 == 0 else inner
        ring.append((centre_column + radius * math.cos(angle), centre_row + 0.8 * radius * math.sin(angle)))
    return ring + [ring[0]]


SHAPES = {
    "triangle": polygon([(10.3, 60.2), (70.6, 65.9), (30.1, 12.7), (10.3, 60.2)]),
    "with a hole": polygon(
        [(80.5, 10.25), (140.75, 10.25), (140.75, 70.6), (80.5, 70.6), (80.5, 10.25)],
        [(95.3, 25.1), (120.2, 28.4), (110.9, 50.3), (95.3, 25.1)],
    ),
    "multipolygon": {
        "type": "MultiPolygon",
        "coordinates": [
            polygon(star(40.2, 100.7))["coordinates"],
            polygon([(100.4, 90.1), (130.9, 92.3), (118.8, 118.2), (100.4, 90.1)])["coordinates"],
        ],
    },
    "partly outside": polygon([(-20.5, 125.3), (30.2, 118.1), (25.7, 160.4), (-20.5, 125.3)]),
}


@pytest.fixture(autouse=True)
def default_configuration():
    tessera.configure()
    yield
    tessera.configure()


@pytest.fixture(scope="module")
def raster(tmp_path_factory):
    """A float32 UTM raster of 160 x 140 pixels of 10 m: smooth values with noise, and a block of nodata."""
    folder = tmp_path_factory.mktemp("zonal")
    rows, columns = numpy.mgrid[0:140, 0:160]
    random = numpy.random.default_rng(7)
    data = (100 + 3 * rows + 2 * columns + random.normal(0, 5, rows.shape)).astype("float32")
    data[40:48, 100:112] = -9999
    return write_cog(folder / "values.tif", data[numpy.newaxis], "EPSG:32633",
                     from_origin(ORIGIN_X, ORIGIN_Y, PIXEL, PIXEL), nodata=-9999)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_exact_statistics_match_exactextract(raster, name):
    shape = SHAPES[name]
    ours = tessera.feature_statistics(raster, feature(shape), shape_crs="EPSG:32633")["b1"]
    theirs = exactextract.exact_extract(
        raster, [feature(shape)], ["count", "sum", "mean", "min", "max", "stdev"], output="geojson"
    )[0]["properties"]
    assert ours["count"] == pytest.approx(theirs["count"], rel=1e-9)
    assert ours["sum"] == pytest.approx(theirs["sum"], rel=1e-9)
    assert ours["mean"] == pytest.approx(theirs["mean"], rel=1e-9)
    assert ours["min"] == theirs["min"]
    assert ours["max"] == theirs["max"]
    assert ours["std"] == pytest.approx(theirs["stdev"], rel=1e-6)
    # The histogram counts coverage fractions: they add up to the count.
    assert sum(ours["histogram"][0]) == pytest.approx(ours["count"], rel=1e-9)


@pytest.mark.parametrize("name", ["triangle", "with a hole"])
def test_cover_scale_statistics_match_rio_tiler(raster, name):
    shape = SHAPES[name]
    ours = tessera.feature_statistics(raster, feature(shape), shape_crs="EPSG:32633", cover_scale=10)["b1"]
    with Reader(raster) as source:
        image = source.feature(shape, shape_crs="EPSG:32633", max_size=None, align_bounds_with_dataset=True)
        coverage = image.get_coverage_array(shape, shape_crs="EPSG:32633", cover_scale=10)
        theirs = image.statistics(coverage=coverage)["b1"]
    # rio-tiler sums its float32 coverage array in float32.
    for key in ("count", "sum", "mean", "min", "max", "valid_pixels", "masked_pixels"):
        assert ours[key] == pytest.approx(theirs.model_dump()[key], rel=1e-5), key


@pytest.fixture
def catalog(raster, tmp_path):
    """A SQLite catalog with the raster as the one item of collection "zonal"."""
    catalog = tessera.Catalog.open(f"sqlite://{tmp_path / 'catalog.db'}")
    catalog.upsert_collection(collection("zonal"))
    bounds = tessera.info(raster)["geographic_bounds"]
    west, south, east, north = bounds
    catalog.load([{
        "type": "Feature", "stac_version": "1.1.0", "id": "values", "collection": "zonal",
        "geometry": {"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north],
                                                         [west, north], [west, south]]]},
        "bbox": bounds, "properties": {"datetime": "2024-05-01T00:00:00Z"}, "links": [],
        "assets": {"data": {"href": raster}},
    }])
    return catalog


def test_mosaic_statistics_of_one_item_are_the_rasters(raster, catalog):
    """On a grid of the raster's own pixels a one-item mosaic has the raster's exact statistics."""
    mosaic = tessera.Mosaic(catalog, {"collections": ["zonal"]}, assets=["data"])
    # The triangle's bounding box widened to whole pixels: columns 10-71, rows 12-66.
    shape = SHAPES["triangle"]
    framed = {"type": "MultiPolygon", "coordinates": [shape["coordinates"], polygon(
        [(10, 12), (10.001, 12), (10, 12.001), (10, 12)])["coordinates"], polygon(
        [(71, 66), (70.999, 66), (71, 65.999), (71, 66)])["coordinates"]]}
    result = mosaic.statistics(feature(framed), shape_crs="EPSG:32633", width=61, height=54)
    assert result["assets"] == ["values"]
    ours = result["statistics"]["data_b1"]
    theirs = tessera.feature_statistics(raster, feature(framed), shape_crs="EPSG:32633")["b1"]
    for key in ("count", "sum", "mean", "min", "max"):
        assert ours[key] == pytest.approx(theirs[key], rel=1e-9), key


def test_coverage_fractions_as_an_array():
    fractions = tessera.coverage_fractions(
        {"type": "Polygon", "coordinates": [[[0, 0], [4, 0], [0, 4], [0, 0]]]}, [0, 0, 4, 4], 4, 4)
    assert fractions.shape == (4, 4)
    assert fractions.sum() == pytest.approx(8.0)
    assert fractions[3, 0] == 1.0 and fractions[0, 0] == 0.5


def test_bad_shapes_are_invalid_input(raster):
    with pytest.raises(tessera.InvalidInput, match="Polygon or MultiPolygon"):
        tessera.feature_statistics(raster, {"type": "Point", "coordinates": [15, 45]})
    with pytest.raises(tessera.InvalidInput, match="cover_scale"):
        tessera.feature_statistics(raster, feature(SHAPES["triangle"]), shape_crs="EPSG:32633", cover_scale=0)


def test_statistics_routes_as_titiler_pgstac_clients_call_them(raster, catalog):
    """POST /searches/{id}/statistics answers the FeatureCollection with properties.statistics and used_assets."""
    tessera.configure(allowed_roots=[os.path.dirname(raster)])
    service = tessera.Service(catalog)
    status, _, body = service.handle("POST", "/searches/register", body=json.dumps({"collections": ["zonal"]}).encode())
    assert status == 200, body
    search_id = json.loads(body)["id"]
    shapes = {"type": "FeatureCollection", "features": [feature(SHAPES["triangle"]), feature(SHAPES["with a hole"])]}
    status, headers, body = service.handle(
        "POST", f"/searches/{search_id}/statistics", query=[("assets", "data"), ("coord_crs", "EPSG:32633")],
        body=json.dumps(shapes).encode())
    assert status == 200, body
    assert dict(headers)["Content-Type"] == "application/geo+json"
    answer = json.loads(body)
    mosaic = tessera.Mosaic(catalog, {"collections": ["zonal"]}, assets=["data"])
    for posted, answered in zip(shapes["features"], answer["features"]):
        expected = mosaic.statistics(posted, shape_crs="EPSG:32633")
        assert answered["properties"]["used_assets"] == ["values"]
        assert answered["properties"]["statistics"]["data_b1"]["count"] == pytest.approx(
            expected["statistics"]["data_b1"]["count"])
    status, headers, body = service.handle(
        "GET", f"/collections/zonal/bbox/{','.join(map(str, tessera.info(raster)['geographic_bounds']))}/64x64.png",
        query=[("assets", "data"), ("rescale", "0,600")])
    assert status == 200 and body.startswith(b"\x89PNG")
