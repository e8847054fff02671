"""Generated COGs for the tiling tests (written with rasterio, which rio-tiler brings)."""

import numpy
import rasterio
import rasterio.shutil
from rasterio.transform import from_origin


def write_cog(
    path,
    data,
    crs,
    transform,
    nodata=None,
    mask=None,
    overviews=True,
    colorinterp=None,
    blocksize=256,
    overview_resampling="nearest",
):
    """Writes `data` (bands x rows x cols) as a COG at `path` and returns the path as str."""
    count, height, width = data.shape
    temporary = str(path) + ".tmp.tif"
    profile = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": count,
        "dtype": data.dtype.name,
        "crs": crs,
        "transform": transform,
        "tiled": True,
        "blockxsize": blocksize,
        "blockysize": blocksize,
    }
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(temporary, "w", **profile) as dst:
        dst.write(data)
        if colorinterp:
            dst.colorinterp = colorinterp
        if mask is not None:
            dst.write_mask(mask)
    options = {"blocksize": blocksize, "overview_resampling": overview_resampling, "compress": "DEFLATE"}
    if not overviews:
        options["overviews"] = "NONE"
    rasterio.shutil.copy(temporary, str(path), driver="COG", **options)
    rasterio.shutil.delete(temporary)
    return str(path)


def noise(rng, dtype, shape, low, high):
    return rng.integers(low, high, size=shape).astype(dtype)


def fidelity_rasters(folder):
    """The raster kinds the rio-tiler agreement test covers, by name."""
    rng = numpy.random.default_rng(42)
    utm = from_origin(500000, 5200000, 30, 30)  # EPSG:32633, central Europe
    rasters = {}

    data = noise(rng, "uint8", (1, 1200, 1000), 1, 255)
    data[:, :100, :] = 0
    rasters["uint8_nodata_utm"] = write_cog(folder / "uint8.tif", data, "EPSG:32633", utm, nodata=0)

    data = noise(rng, "uint16", (2, 900, 1300), 0, 10000)
    mask = numpy.full((900, 1300), 255, dtype="uint8")
    mask[300:500, 200:600] = 0
    rasters["uint16_mask_utm"] = write_cog(folder / "uint16.tif", data, "EPSG:32633", utm, mask=mask)

    data = noise(rng, "int16", (1, 800, 1000), -2000, 2000)
    data[0, 400:, 500:] = -9999
    geographic = from_origin(10.0, 48.0, 0.0005, 0.0005)
    rasters["int16_nodata_geographic"] = write_cog(
        folder / "int16.tif", data, "EPSG:4326", geographic, nodata=-9999
    )

    data = rng.normal(0, 100, size=(1, 1000, 1000)).astype("float32")
    data[0, 100:300, 100:300] = numpy.nan
    mercator = from_origin(1113194.9, 6446275.8, 25, 25)
    rasters["float32_nan_mercator"] = write_cog(
        folder / "float32.tif", data, "EPSG:3857", mercator, nodata=float("nan")
    )

    rgb = noise(rng, "uint8", (3, 1000, 1000), 0, 256)
    alpha = numpy.full((1, 1000, 1000), 255, dtype="uint8")
    alpha[0, 600:, :400] = 0
    from rasterio.enums import ColorInterp

    rasters["rgba_utm"] = write_cog(
        folder / "rgba.tif",
        numpy.concatenate([rgb, alpha]),
        "EPSG:32633",
        utm,
        colorinterp=[ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.alpha],
    )

    data = noise(rng, "uint16", (1, 700, 900), 0, 60000)
    rasters["uint16_no_overviews_utm"] = write_cog(
        folder / "plain.tif", data, "EPSG:32633", utm, overviews=False
    )

    # Half-transparent pixels (alpha 128): rio-tiler 8+ masks them (only a
    # fully opaque alpha is valid), 7.x kept them.
    rgb = noise(rng, "uint8", (3, 800, 800), 0, 256)
    alpha = numpy.full((1, 800, 800), 255, dtype="uint8")
    alpha[0, 200:500, 300:700] = 128
    alpha[0, 600:, :300] = 0
    rasters["rgba_partial_alpha_utm"] = write_cog(
        folder / "rgba_partial.tif",
        numpy.concatenate([rgb, alpha]),
        "EPSG:32633",
        utm,
        colorinterp=[ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.alpha],
    )
    return rasters


def overview_levels_raster(folder, levels=4):
    """A COG whose full resolution holds 10 and whose overview n (1 = half size) holds 10 * (n + 1).

    The overviews are written as separate files and tied to the base by a VRT's
    <Overview> elements; the COG driver then copies them as they are.
    """
    size = 256 * 2**levels
    origin = (1000000, 6000000)
    files = []
    for level in range(levels + 1):
        side = size // 2**level
        transform = from_origin(*origin, 10 * 2**level, 10 * 2**level)
        files.append(
            write_plain(folder / f"level{level}.tif", numpy.full((1, side, side), 10 * (level + 1), "uint8"), transform)
        )
    overviews = "".join(
        f"<Overview><SourceFilename>{name}</SourceFilename><SourceBand>1</SourceBand></Overview>"
        for name in files[1:]
    )
    vrt = (
        f'<VRTDataset rasterXSize="{size}" rasterYSize="{size}">'
        f"<SRS>EPSG:3857</SRS><GeoTransform>{origin[0]}, 10, 0, {origin[1]}, 0, -10</GeoTransform>"
        f'<VRTRasterBand dataType="Byte" band="1"><SimpleSource><SourceFilename>{files[0]}</SourceFilename>'
        f"<SourceBand>1</SourceBand></SimpleSource>{overviews}</VRTRasterBand></VRTDataset>"
    )
    (folder / "levels.vrt").write_text(vrt)
    path = str(folder / "levels.tif")
    rasterio.shutil.copy(str(folder / "levels.vrt"), path, driver="COG", overviews="FORCE_USE_EXISTING", blocksize=256)
    return path


def write_plain(path, data, transform, crs="EPSG:3857"):
    count, height, width = data.shape
    with rasterio.open(
        path, "w", driver="GTiff", width=width, height=height, count=count, dtype=data.dtype.name, crs=crs,
        transform=transform,
    ) as dst:
        dst.write(data)
    return str(path)
