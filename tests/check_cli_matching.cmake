# Drives the matching commands: model/aoi add and ls, match, runner, maintenance, aoi rm,
# and a documented error.
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")

include("${CMAKE_CURRENT_LIST_DIR}/cli_run.cmake")

set(catalog "sqlite://${WORK}/catalog.db")
run(0 collection upsert "${catalog}" "${DATA}/sample-collection.json")
file(WRITE "${WORK}/model.json" [=[{"id": "echo", "name": "echo", "command": ["/bin/sh", "-c", "echo got $0"]}]=])
run(0 model add "${catalog}" "${WORK}/model.json")
if(NOT out STREQUAL "echo\n")
  message(FATAL_ERROR "unexpected model add output: '${out}'")
endif()
# An AOI over the sample items (Aosta valley), accepting 10 m red and nir.
file(WRITE "${WORK}/aoi.json" [=[{"id": "valley", "model": "echo", "resolution": 10, "wavelengths": [0.665, 0.842],
  "geometry": {"type": "Polygon", "coordinates": [[[7.0, 45.0], [8.0, 45.0], [8.0, 46.0], [7.0, 46.0], [7.0, 45.0]]]}}]=])
run(0 aoi add "${catalog}" "${WORK}/aoi.json")
run(0 aoi ls "${catalog}")
if(NOT out MATCHES "\"id\":\"valley\"")
  message(FATAL_ERROR "unexpected aoi ls output: '${out}'")
endif()
file(WRITE "${WORK}/item.json" [=[{"type": "Feature", "stac_version": "1.1.0", "id": "scene", "collection": "sample-s2",
  "geometry": {"type": "Polygon", "coordinates": [[[7.2, 45.2], [7.4, 45.2], [7.4, 45.4], [7.2, 45.4], [7.2, 45.2]]]},
  "bbox": [7.2, 45.2, 7.4, 45.4], "links": [], "assets": {},
  "properties": {"datetime": "2024-01-01T00:00:00Z", "gsd": 10,
    "eo:bands": [{"common_name": "red"}, {"common_name": "nir"}]}}]=])
run(0 match "${catalog}" "${WORK}/item.json")
if(NOT out STREQUAL "[{\"aoi\":\"valley\",\"model\":\"echo\"}]\n")
  message(FATAL_ERROR "unexpected match output: '${out}'")
endif()
# Nothing requested yet (match does not load): the runner has nothing to do.
run(0 runner "${catalog}")
if(NOT out STREQUAL "")
  message(FATAL_ERROR "unexpected runner output: '${out}'")
endif()
# Retention: nothing acknowledged or ended yet, so nothing is deleted.
run(0 maintenance "${catalog}" --older-than-days 0)
if(NOT out STREQUAL "{\"events\":0,\"run_logs\":0,\"runs\":0}\n")
  message(FATAL_ERROR "unexpected maintenance output: '${out}'")
endif()
run(0 aoi rm "${catalog}" valley)
run(0 match "${catalog}" "${WORK}/item.json")
if(NOT out STREQUAL "[]\n")
  message(FATAL_ERROR "unexpected match output after rm: '${out}'")
endif()
run(1 aoi rm "${catalog}" valley)
if(NOT err MATCHES "not_found: aoi 'valley' not found")
  message(FATAL_ERROR "expected not_found, got: ${err}")
endif()
