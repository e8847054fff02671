# A module sees its own sources and the public headers of the modules below
# it, nothing else: compiling a probe in tiling's include root must succeed
# for a header tiling may use and fail for one of a module above it.
function(probe header expect_success)
  set(source "${WORK}/probe_${expect_success}.cpp")
  file(WRITE "${source}" "#include \"${header}\"\nint main() { return 0; }\n")
  execute_process(
    COMMAND "${CXX}" -std=c++20 -fsyntax-only -I "${ROOT}/tiling" -I /usr/include/gdal "${source}"
    RESULT_VARIABLE result ERROR_VARIABLE errors)
  if(expect_success AND NOT result EQUAL 0)
    message(FATAL_ERROR "tiling cannot include ${header}:\n${errors}")
  endif()
  if(NOT expect_success)
    if(result EQUAL 0)
      message(FATAL_ERROR "tiling could include ${header}: the boundary does not hold")
    endif()
    if(NOT errors MATCHES "No such file")
      message(FATAL_ERROR "including ${header} failed for another reason:\n${errors}")
    endif()
  endif()
endfunction()
file(MAKE_DIRECTORY "${WORK}")
probe("tessera/tiling.hpp" TRUE)
probe("storage/href_policy.hpp" TRUE)
probe("tessera/catalog.hpp" FALSE)
probe("tessera/mosaic.hpp" FALSE)
probe("catalog/stac.hpp" FALSE)
probe("storage/local_storage.hpp" FALSE)
