# Packaging in the style of fmt: a namespaced tessera::tessera target, exported
# with install(EXPORT) and a config file so find_package(tessera) works.
include(CMakePackageConfigHelpers)

set(TESSERA_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/tessera")

install(TARGETS tessera
  EXPORT tesseraTargets
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}"
  INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/tessera"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
  FILES_MATCHING PATTERN "*.hpp")
install(FILES "${PROJECT_SOURCE_DIR}/capi/tessera.h"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/tessera")
install(FILES "${PROJECT_BINARY_DIR}/generated/tessera/version.hpp"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/tessera")

install(EXPORT tesseraTargets
  NAMESPACE tessera::
  DESTINATION "${TESSERA_CMAKE_DIR}")
configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/tesseraConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/tesseraConfig.cmake"
  INSTALL_DESTINATION "${TESSERA_CMAKE_DIR}")
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/tesseraConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES
  "${PROJECT_BINARY_DIR}/tesseraConfig.cmake"
  "${PROJECT_BINARY_DIR}/tesseraConfigVersion.cmake"
  DESTINATION "${TESSERA_CMAKE_DIR}")
