# Drives `tessera package`: boundaries from a GeoJSON file, a raster and a
# vector dataset clipped and published as a data package, the progress bar,
# a re-run that skips what exists, and the documented errors.
#
# The raster is a 40x40 Int32 ESRI ASCII grid of 0.01° pixels from
# (10.0, 45.6) to (10.4, 46.0) in EPSG:4326, turned into a GeoTIFF with
# gdal_translate (Debian gdal-bin, installed by scripts/setup.sh).
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")

find_program(GDAL_TRANSLATE gdal_translate)
if(NOT GDAL_TRANSLATE)
  message(FATAL_ERROR "gdal_translate not found: install gdal-bin (scripts/setup.sh does)")
endif()
set(grid "ncols 40\nnrows 40\nxllcorner 10.0\nyllcorner 45.6\ncellsize 0.01\nNODATA_value -1\n")
foreach(row RANGE 39)
  set(line "")
  foreach(column RANGE 39)
    math(EXPR value "${row} * 40 + ${column}")
    string(APPEND line "${value} ")
  endforeach()
  string(APPEND grid "${line}\n")
endforeach()
file(WRITE "${WORK}/grid.asc" "${grid}")
execute_process(COMMAND "${GDAL_TRANSLATE}" -q -a_srs EPSG:4326 "${WORK}/grid.asc" "${WORK}/grid.tif"
  RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gdal_translate failed: ${err}")
endif()

file(WRITE "${WORK}/areas.geojson" [=[
{"type": "FeatureCollection", "features": [
  {"type": "Feature", "properties": {"name": "Test Area", "long": "The Test Area"},
   "geometry": {"type": "Polygon", "coordinates": [[[10.05, 45.65], [10.25, 45.7], [10.15, 45.9], [10.05, 45.65]]]}}]}
]=])
file(WRITE "${WORK}/sites.geojson" [=[
{"type": "FeatureCollection", "features": [
  {"type": "Feature", "properties": {"site": "in"}, "geometry": {"type": "Point", "coordinates": [10.15, 45.75]}},
  {"type": "Feature", "properties": {"site": "out"}, "geometry": {"type": "Point", "coordinates": [10.35, 45.95]}}]}
]=])
file(WRITE "${WORK}/datasets.json" "[
  {\"name\": \"grid\", \"version\": \"1\", \"license\": {\"name\": \"CC0-1.0\"},
   \"sources\": [\"${WORK}/grid.tif\"], \"type\": \"raster\"},
  {\"name\": \"sites\", \"version\": \"2\", \"sources\": [\"${WORK}/sites.geojson\"], \"type\": \"vector\",
   \"format\": \"FlatGeobuf\"}
]")

include("${CMAKE_CURRENT_LIST_DIR}/cli_run.cmake")

run(0 package "${WORK}/out" --boundaries "${WORK}/areas.geojson" --long-name-field long --boundary "Test Area"
  --datasets "${WORK}/datasets.json" --job-id cli-job)
if(NOT out MATCHES "\"path\": \"datasets/grid/1/grid.tif\"" OR NOT out MATCHES "\"path\": \"datasets/sites/2/sites.fgb\""
   OR NOT out MATCHES "\"title\": \"The Test Area\"" OR NOT out MATCHES "\"hash\": \"sha256:[0-9a-f]+\"")
  message(FATAL_ERROR "unexpected package output: ${out}")
endif()
if(NOT err MATCHES "added 1 boundaries" OR NOT err MATCHES "package \\[#+\\] 100%")
  message(FATAL_ERROR "no progress bar on stderr: ${err}")
endif()
foreach(file datapackage.json provenance.json datasets/grid/1/grid.tif datasets/sites/2/sites.fgb)
  if(NOT EXISTS "${WORK}/out/test-area/${file}")
    message(FATAL_ERROR "test-area/${file} was not written")
  endif()
endforeach()
file(READ "${WORK}/out/.tessera/jobs/cli-job.json" job)
if(NOT job MATCHES "\"status\":\"completed\"")
  message(FATAL_ERROR "job record: ${job}")
endif()

# A re-run (the boundary is stored now) skips the published outputs.
run(0 package "${WORK}/out" --boundary test-area --datasets "${WORK}/datasets.json" --job-id again -q)
file(READ "${WORK}/out/.tessera/jobs/again.json" job)
if(NOT job MATCHES "\"status\":\"skipped\"")
  message(FATAL_ERROR "re-run did not skip: ${job}")
endif()

run(1 package "${WORK}/out" --boundary Atlantis --datasets "${WORK}/datasets.json" -q)
# The error names the job, then what went wrong.
if(NOT err MATCHES "not_found: package job [0-9a-f]+: boundary 'Atlantis' is not known")
  message(FATAL_ERROR "unexpected error: ${err}")
endif()
file(WRITE "${WORK}/bad.json" "[{\"name\": \"x\", \"version\": \"1\", \"sources\": [\"a\"], \"type\": \"table\"}]")
run(1 package "${WORK}/out" --boundary test-area --datasets "${WORK}/bad.json" -q)
if(NOT err MATCHES "datasets\\[0\\].type: 'table' is not a dataset type")
  message(FATAL_ERROR "unexpected error: ${err}")
endif()
