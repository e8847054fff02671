"""Tiles from Python: a COG becomes web-map tiles (PNG files you can open), a
preview, point values, statistics and a TileJSON document.

Usage: python3 examples/python/tiles.py WORK_DIR
"""

import json
import pathlib
import sys

import numpy

import tessera

work = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/tessera-example-tiles")
(work / "tiles").mkdir(parents=True, exist_ok=True)

# A 1024 x 1024 UTM "scene" with smooth hills (uint16, nodata 0 in one corner),
# written as raw pixels described by a GDAL VRT, then converted to a COG.
rows, cols = numpy.mgrid[0:1024, 0:1024] / 1024.0
hills = 2000 + 1500 * numpy.sin(6 * cols) * numpy.cos(4 * rows) + 800 * rows
hills[:200, :200] = 0
hills.astype("<u2").tofile(work / "scene.raw")
(work / "scene.vrt").write_text(
    """<VRTDataset rasterXSize="1024" rasterYSize="1024">
  <SRS>EPSG:32632</SRS>
  <GeoTransform>600000, 30, 0, 5100000, 0, -30</GeoTransform>
  <VRTRasterBand dataType="UInt16" band="1" subClass="VRTRawRasterBand">
    <NoDataValue>0</NoDataValue>
    <SourceFilename relativeToVRT="1">scene.raw</SourceFilename>
    <ByteOrder>LSB</ByteOrder><ImageOffset>0</ImageOffset><PixelOffset>2</PixelOffset><LineOffset>2048</LineOffset>
  </VRTRasterBand>
</VRTDataset>"""
)
cog = str(work / "scene.tif")
tessera.to_cog(str(work / "scene.vrt"), cog)

info = tessera.info(cog)
print(f"{cog}: {info['width']}x{info['height']} {info['dtype']} {info['crs']}, zooms {info['minzoom']}-{info['maxzoom']}")

# Every tile of the raster's lowest zoom and of the next one, as coloured PNGs.
tms = tessera.TileMatrixSet.from_name("WebMercatorQuad")
written = 0
for z in (info["minzoom"], info["minzoom"] + 1):
    for tile in tms.tiles(info["geographic_bounds"], z):
        try:
            image = tessera.tile(cog, tile)
        except tessera.NotFound:
            continue  # the tile's corner touches the raster's bounding box only
        path = work / "tiles" / f"{tile.z}-{tile.x}-{tile.y}.png"
        path.write_bytes(image.render(format="png", rescale=[(0, 4500)], colormap="terrain"))
        written += 1
print(f"wrote {written} tiles to {work / 'tiles'}")

preview = tessera.preview(cog, max_size=512)
(work / "preview.png").write_bytes(preview.render(format="png", rescale=[(0, 4500)], colormap="viridis"))
west, south, east, north = info["geographic_bounds"]
point = tessera.point(cog, (west + east) / 2, (south + north) / 2)
print("value at the centre:", point["values"], "masked" if point["masked"] else "")
stats = tessera.statistics(cog)["b1"]
print(f"statistics: min {stats['min']}, max {stats['max']}, mean {stats['mean']:.1f}, valid {stats['valid_percent']}%")
(work / "tilejson.json").write_text(json.dumps(tessera.tilejson(cog, "tiles/{z}-{x}-{y}.png"), indent=2))
print("preview and TileJSON in", work)
