# Drives the tiling commands of the tessera CLI: info, tile, preview, point
# and statistics on a small UTM raster, and the documented errors.
#
# The raster is written here as an ESRI ASCII grid (plain text) and turned
# into a tiled GeoTIFF with gdal_translate (Debian gdal-bin, installed by
# scripts/setup.sh): 64x64 int32 pixels of 40 m in EPSG:32633, upper-left
# corner 500000/5000000 (around 15.016E 45.142N), value = row * 64 + column.
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")

find_program(GDAL_TRANSLATE gdal_translate)
if(NOT GDAL_TRANSLATE)
  message(FATAL_ERROR "gdal_translate not found: install gdal-bin (scripts/setup.sh does)")
endif()

set(grid "ncols 64\nnrows 64\nxllcorner 500000\nyllcorner 4997440\ncellsize 40\nNODATA_value -1\n")
foreach(row RANGE 63)
  set(line "")
  foreach(column RANGE 63)
    math(EXPR value "${row} * 64 + ${column}")
    string(APPEND line "${value} ")
  endforeach()
  string(APPEND grid "${line}\n")
endforeach()
file(WRITE "${WORK}/utm.asc" "${grid}")
execute_process(
  COMMAND "${GDAL_TRANSLATE}" -q -a_srs EPSG:32633 -co TILED=YES "${WORK}/utm.asc" "${WORK}/utm.tif"
  RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gdal_translate failed: ${err}")
endif()
set(raster "${WORK}/utm.tif")

include("${CMAKE_CURRENT_LIST_DIR}/cli_run.cmake")

# The first bytes of a file as hex.
function(magic file length result)
  if(NOT EXISTS "${file}")
    message(FATAL_ERROR "${file} was not written")
  endif()
  file(READ "${file}" bytes LIMIT ${length} HEX)
  set(${result} "${bytes}" PARENT_SCOPE)
endfunction()

# info: JSON with the CRS, size and zoom range.
run(0 info "${raster}")
if(NOT out MATCHES "\"crs\": \"EPSG:32633\"" OR NOT out MATCHES "\"width\": 64" OR NOT out MATCHES "\"maxzoom\"")
  message(FATAL_ERROR "unexpected info output: ${out}")
endif()
run(0 info "${raster}" --tms WorldCRS84Quad)
if(NOT out MATCHES "\"tms\": \"WorldCRS84Quad\"")
  message(FATAL_ERROR "unexpected info --tms output: ${out}")
endif()

# tile: the WebMercatorQuad tile 14/8875/5884 lies inside the raster.
run(0 tile "${raster}" 14 8875 5884 -o "${WORK}/tile.png" --rescale 0,4095 --colormap viridis)
magic("${WORK}/tile.png" 8 png)
if(NOT png STREQUAL "89504e470d0a1a0a")
  message(FATAL_ERROR "tile.png is not a PNG: ${png}")
endif()
run(0 tile "${raster}" 14 8875 5884 -o "${WORK}/tile.jpg" --tilesize 512 --resampling bilinear --rescale 0,4095)
magic("${WORK}/tile.jpg" 3 jpeg)
if(NOT jpeg STREQUAL "ffd8ff")
  message(FATAL_ERROR "tile.jpg is not a JPEG: ${jpeg}")
endif()
run(0 tile "${raster}" 14 8875 5884 -o "${WORK}/tile.bin" --format npy --expression "b1*2")
magic("${WORK}/tile.bin" 6 npy)
if(NOT npy STREQUAL "934e554d5059")
  message(FATAL_ERROR "tile.bin is not NPY: ${npy}")
endif()

# preview, point and statistics.
run(0 preview "${raster}" -o "${WORK}/preview.png" --max-size 32 --rescale 0,4095 --indexes 1)
magic("${WORK}/preview.png" 4 png)
if(NOT png STREQUAL "89504e47")
  message(FATAL_ERROR "preview.png is not a PNG: ${png}")
endif()
run(0 point "${raster}" 15.0163 45.1420)
if(NOT out MATCHES "\"masked\":false" OR NOT out MATCHES "\"band_names\":\\[\"b1\"\\]")
  message(FATAL_ERROR "unexpected point output: ${out}")
endif()
run(0 statistics "${raster}" --max-size 0)
if(NOT out MATCHES "\"max\": 4095")
  message(FATAL_ERROR "unexpected statistics output: ${out}")
endif()

# Errors: a tile outside the matrix set, a tile off the raster, a bad
# expression, a missing raster, a /vsi href, a bad rescale: clear message,
# non-zero exit, no output file.
run(1 tile "${raster}" 14 99999 5884 -o "${WORK}/bad.png")
if(NOT err MATCHES "invalid_input" OR NOT err MATCHES "outside WebMercatorQuad")
  message(FATAL_ERROR "expected invalid_input for a tile outside the set, got: ${err}")
endif()
run(1 tile "${raster}" 14 0 0 -o "${WORK}/bad.png")
if(NOT err MATCHES "not_found" OR NOT err MATCHES "outside the bounds")
  message(FATAL_ERROR "expected not_found for a tile off the raster, got: ${err}")
endif()
run(1 tile "${raster}" 14 8875 5884 -o "${WORK}/bad.png" --expression "b1 +* 2")
if(NOT err MATCHES "position")
  message(FATAL_ERROR "expected the position of the expression error, got: ${err}")
endif()
run(1 info "${WORK}/missing.tif")
if(NOT err MATCHES "not_found")
  message(FATAL_ERROR "expected not_found for a missing raster, got: ${err}")
endif()
run(1 info "/vsimem/x.tif")
if(NOT err MATCHES "invalid_input" OR NOT err MATCHES "/vsi")
  message(FATAL_ERROR "expected /vsi hrefs to be refused, got: ${err}")
endif()
run(1 tile "${raster}" 14 8875 5884 -o "${WORK}/bad.png" --rescale 0)
if(NOT err MATCHES "rescale")
  message(FATAL_ERROR "expected a --rescale error, got: ${err}")
endif()
if(EXISTS "${WORK}/bad.png")
  message(FATAL_ERROR "a failed tile command wrote bad.png")
endif()
run(106 tile "${raster}" 14 8875)  # CLI11: a required argument is missing

# mosaic: a catalog with the raster as one item's asset, then one mosaic tile.
set(catalog "sqlite://${WORK}/catalog.db")
file(WRITE "${WORK}/collection.json" [=[{"type": "Collection", "stac_version": "1.1.0", "id": "utm",
  "description": "the test raster", "license": "CC-BY-4.0", "links": [],
  "extent": {"spatial": {"bbox": [[15, 45, 16, 46]]}, "temporal": {"interval": [["2024-01-01T00:00:00Z", null]]}}}]=])
file(WRITE "${WORK}/item.json" "{\"type\": \"Feature\", \"stac_version\": \"1.1.0\", \"id\": \"scene\",
  \"collection\": \"utm\", \"bbox\": [15.0, 45.1, 15.1, 45.2],
  \"geometry\": {\"type\": \"Polygon\", \"coordinates\": [[[15.0, 45.1], [15.1, 45.1], [15.1, 45.2], [15.0, 45.2], [15.0, 45.1]]]},
  \"properties\": {\"datetime\": \"2024-01-02T00:00:00Z\"}, \"links\": [],
  \"assets\": {\"data\": {\"href\": \"${raster}\"}}}")
run(0 collection upsert "${catalog}" "${WORK}/collection.json")
run(0 load "${catalog}" "${WORK}/item.json")
run(0 mosaic "${catalog}" 14 8875 5884 --search "{\"collections\": [\"utm\"]}" --assets data --rescale 0,4096
    -o "${WORK}/mosaic.png")
magic("${WORK}/mosaic.png" 4 png)
if(NOT png STREQUAL "89504e47" OR NOT err MATCHES "1 used")
  message(FATAL_ERROR "mosaic did not write a PNG from the one item: ${png} ${err}")
endif()
# One band of the asset, TiTiler 2's spelling, named after it: the same tile.
run(0 mosaic "${catalog}" 14 8875 5884 --assets "data|bidx=1" --asset-as-band --rescale 0,4096
    -o "${WORK}/mosaic-band.png")
file(READ "${WORK}/mosaic.png" whole HEX)
file(READ "${WORK}/mosaic-band.png" band HEX)
if(NOT whole STREQUAL band)
  message(FATAL_ERROR "--assets data|bidx=1 --asset-as-band did not give the tile of --assets data")
endif()
run(1 mosaic "${catalog}" 14 8875 5884 --assets "data|bidx=2" -o "${WORK}/bad-mosaic.png")
if(NOT err MATCHES "invalid_input" OR NOT err MATCHES "asset 'data' has 1 band")
  message(FATAL_ERROR "expected a band beyond the asset's to be refused naming it, got: ${err}")
endif()
run(1 mosaic "${catalog}" 14 8875 5884 --assets "data|bidx=0" -o "${WORK}/bad-mosaic.png")
if(NOT err MATCHES "invalid_input" OR NOT err MATCHES "not an integer from 1")
  message(FATAL_ERROR "expected a bad band index to be refused, got: ${err}")
endif()
run(1 mosaic "${catalog}" 14 8875 5884 --assets data --method loudest -o "${WORK}/bad-mosaic.png")
if(NOT err MATCHES "invalid_input" OR NOT err MATCHES "loudest")
  message(FATAL_ERROR "expected an unknown pixel selection to be refused, got: ${err}")
endif()
run(1 mosaic "${catalog}" 14 0 0 --assets data -o "${WORK}/bad-mosaic.png")
if(NOT err MATCHES "not_found" OR NOT err MATCHES "no item")
  message(FATAL_ERROR "expected not_found for a tile without items, got: ${err}")
endif()
