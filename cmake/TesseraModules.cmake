# Module boundaries the compiler checks. Each module of src/ is an OBJECT
# library compiled against an include root of its own, made at configure time
# from symbolic links: its own src/<module>/ folder, the public headers
# (include/tessera/) of itself and of the modules it may use, and the few
# internal headers those modules offer upwards (OFFERS). Including anything
# else — another module's header, a module above — fails with "No such file".
# The objects are linked into the one libtessera.
#
# tessera_module(<name> DEPENDS <modules below, direct> PUBLIC_HEADERS <h>...
#                OFFERS <internal headers, relative to src/<name>/>... SOURCES <s>...)

set(TESSERA_MODULE_INCLUDE_ROOT "${PROJECT_BINARY_DIR}/module_include")
set_property(GLOBAL PROPERTY TESSERA_MODULES "")

function(_tessera_link target link)
  get_filename_component(folder "${link}" DIRECTORY)
  file(MAKE_DIRECTORY "${folder}")
  file(CREATE_LINK "${target}" "${link}" SYMBOLIC)
endfunction()

function(tessera_module name)
  cmake_parse_arguments(ARG "" "" "DEPENDS;PUBLIC_HEADERS;OFFERS;SOURCES" ${ARGN})
  # What the module may see: itself and everything its dependencies may see.
  set(visible ${name})
  foreach(dependency IN LISTS ARG_DEPENDS)
    get_property(known GLOBAL PROPERTY TESSERA_MODULES)
    if(NOT dependency IN_LIST known)
      message(FATAL_ERROR "module ${name} depends on ${dependency}, which is not declared before it")
    endif()
    get_property(dependency_visible GLOBAL PROPERTY TESSERA_MODULE_${dependency}_VISIBLE)
    list(APPEND visible ${dependency_visible})
  endforeach()
  list(REMOVE_DUPLICATES visible)

  set(root "${TESSERA_MODULE_INCLUDE_ROOT}/${name}")
  file(REMOVE_RECURSE "${root}")
  _tessera_link("${PROJECT_SOURCE_DIR}/src/${name}" "${root}/${name}")
  foreach(module IN LISTS visible)
    if(module STREQUAL name)
      set(headers ${ARG_PUBLIC_HEADERS})
      set(offers "")
    else()
      get_property(headers GLOBAL PROPERTY TESSERA_MODULE_${module}_HEADERS)
      get_property(offers GLOBAL PROPERTY TESSERA_MODULE_${module}_OFFERS)
    endif()
    foreach(header IN LISTS headers)
      if(EXISTS "${PROJECT_SOURCE_DIR}/include/tessera/${header}")
        _tessera_link("${PROJECT_SOURCE_DIR}/include/tessera/${header}" "${root}/tessera/${header}")
      else()
        _tessera_link("${PROJECT_BINARY_DIR}/generated/tessera/${header}" "${root}/tessera/${header}")
      endif()
    endforeach()
    foreach(offer IN LISTS offers)
      _tessera_link("${PROJECT_SOURCE_DIR}/src/${module}/${offer}" "${root}/${module}/${offer}")
    endforeach()
  endforeach()

  add_library(tessera_${name} OBJECT ${ARG_SOURCES})
  target_include_directories(tessera_${name} PRIVATE "${root}")
  if(NOT BUILD_SHARED_LIBS)
    target_compile_definitions(tessera_${name} PRIVATE TESSERA_STATIC_DEFINE)
  endif()
  target_link_libraries(tessera_${name} PRIVATE
    nlohmann_json::nlohmann_json GDAL::GDAL GEOS::geos_c PROJ::proj SQLite::SQLite3 PostgreSQL::PostgreSQL fmt::fmt
    simdjson::simdjson zstd::libzstd_shared OpenSSL::Crypto Threads::Threads tessera_warnings)

  set_property(GLOBAL APPEND PROPERTY TESSERA_MODULES ${name})
  set_property(GLOBAL PROPERTY TESSERA_MODULE_${name}_VISIBLE ${visible})
  set_property(GLOBAL PROPERTY TESSERA_MODULE_${name}_DEPENDS ${ARG_DEPENDS})
  set_property(GLOBAL PROPERTY TESSERA_MODULE_${name}_HEADERS ${ARG_PUBLIC_HEADERS})
  set_property(GLOBAL PROPERTY TESSERA_MODULE_${name}_OFFERS ${ARG_OFFERS})
endfunction()

# Writes the declared graph ("module: dependencies", one line each, in
# declaration order) to `file`; a test compares it with docs/ARCHITECTURE.md.
function(tessera_write_module_graph file)
  get_property(modules GLOBAL PROPERTY TESSERA_MODULES)
  set(text "")
  foreach(module IN LISTS modules)
    get_property(depends GLOBAL PROPERTY TESSERA_MODULE_${module}_DEPENDS)
    list(JOIN depends " " joined)
    if(joined)
      string(APPEND text "${module}: ${joined}\n")
    else()
      string(APPEND text "${module}:\n")
    endif()
  endforeach()
  file(WRITE "${file}" "${text}")
endfunction()
