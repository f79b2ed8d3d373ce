# Install rules of the plugin SDK (CMake package Ferry) and the Debian packages made by
# `cpack -G DEB` from the same install rules. Included at the end of the top CMakeLists.txt.
#
# Components:
#   runtime  bin/ferry, bin/ferry-seed, lib/ferry/plugins/*.so          -> package ferry
#   sdk      include/ferry/, lib/libferry_sdk.a, lib/cmake/Ferry/,
#            bin/ferry-conformance (the conformance kit)                 -> package ferry-dev
include(CMakePackageConfigHelpers)

set(FERRY_CMAKE_INSTALL_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/Ferry")

# The plugin ABI version, read from the header that defines it (one source of truth).
file(STRINGS "${PROJECT_SOURCE_DIR}/core/include/ferry/plugin.hpp" abi_line
  REGEX "^#define FERRY_PLUGIN_ABI_VERSION [0-9]+u?$")
string(REGEX REPLACE "^#define FERRY_PLUGIN_ABI_VERSION ([0-9]+)u?$" "\\1" FERRY_PLUGIN_ABI_VERSION "${abi_line}")
if(NOT FERRY_PLUGIN_ABI_VERSION MATCHES "^[0-9]+$")
  message(FATAL_ERROR "cannot read FERRY_PLUGIN_ABI_VERSION from core/include/ferry/plugin.hpp")
endif()

# This build's FERRY_TOOLCHAIN_STAMP, exactly as the compiler expands it: compiled once into a
# small program whose string is read back. Plugin builds compare theirs against it at compile time.
set(stamp_key "${CMAKE_CXX_COMPILER};${CMAKE_CXX_COMPILER_VERSION};${CMAKE_CXX_FLAGS};${FERRY_PLUGIN_ABI_VERSION}")
if(NOT FERRY_TOOLCHAIN_STAMP_KEY STREQUAL stamp_key)
  set(stamp_bin "${PROJECT_BINARY_DIR}/CMakeFiles/ferry-toolchain-stamp.bin")
  try_compile(stamp_ok "${PROJECT_BINARY_DIR}/CMakeFiles/ferry-toolchain-stamp"
    SOURCES "${PROJECT_SOURCE_DIR}/cmake/toolchain-stamp.cpp"
    CMAKE_FLAGS "-DINCLUDE_DIRECTORIES=${PROJECT_SOURCE_DIR}/core/include"
    CXX_STANDARD 20 CXX_STANDARD_REQUIRED ON CXX_EXTENSIONS OFF
    OUTPUT_VARIABLE stamp_log
    COPY_FILE "${stamp_bin}")
  if(NOT stamp_ok)
    message(FATAL_ERROR "cannot compile cmake/toolchain-stamp.cpp:\n${stamp_log}")
  endif()
  file(STRINGS "${stamp_bin}" stamp_strings REGEX "FERRY_TOOLCHAIN_STAMP\\[[^]]*\\]")
  string(REGEX MATCH "FERRY_TOOLCHAIN_STAMP\\[([^]]*)\\]" stamp_match "${stamp_strings}")
  if(NOT CMAKE_MATCH_1)
    message(FATAL_ERROR "cannot read FERRY_TOOLCHAIN_STAMP from ${stamp_bin}")
  endif()
  set(FERRY_TOOLCHAIN_STAMP "${CMAKE_MATCH_1}" CACHE INTERNAL "this build's plugin toolchain stamp")
  set(FERRY_TOOLCHAIN_STAMP_KEY "${stamp_key}" CACHE INTERNAL "")
endif()
message(STATUS "Ferry plugin ABI ${FERRY_PLUGIN_ABI_VERSION}, toolchain ${FERRY_TOOLCHAIN_STAMP}")

install(EXPORT FerryTargets
  NAMESPACE Ferry::
  FILE FerryTargets.cmake
  DESTINATION "${FERRY_CMAKE_INSTALL_DIR}"
  COMPONENT sdk)
configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/FerryConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/cmake/FerryConfig.cmake"
  INSTALL_DESTINATION "${FERRY_CMAKE_INSTALL_DIR}")
# 0.x: a minor release may change the SDK's API; the plugin ABI is checked separately at load.
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/cmake/FerryConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMinorVersion)
install(FILES
  "${PROJECT_BINARY_DIR}/cmake/FerryConfig.cmake"
  "${PROJECT_BINARY_DIR}/cmake/FerryConfigVersion.cmake"
  "${PROJECT_SOURCE_DIR}/cmake/FerryPlugin.cmake"
  DESTINATION "${FERRY_CMAKE_INSTALL_DIR}"
  COMPONENT sdk)

# ---- Debian packages: cpack -G DEB (in the build directory) --------------------------------
set(CPACK_PACKAGE_NAME "ferry")
set(CPACK_PACKAGE_VENDOR "Ferry")
set(CPACK_PACKAGE_CONTACT "Ferry maintainers <ferry@localhost>")
# No CPACK_PACKAGE_DESCRIPTION_SUMMARY: CPackDeb would put it before each component's
# description; the first line of each description below is its package's synopsis.
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR "DEB")
set(CPACK_DEB_COMPONENT_INSTALL ON)
# Only these two: helpers of the build (benchmarks, tests) are never packaged.
set(CPACK_COMPONENTS_ALL runtime sdk)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "database")
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/ory/keto")
# Depends on the Debian runtime libraries, computed by dpkg-shlibdeps (package dpkg-dev).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME "ferry")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION "database")
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION "Ory Keto v0.6 to v0.7 migration tool
ferry migrates Keto's schema and moves the relation tuples of the per-namespace legacy \
tables into keto_relation_tuples, on SQLite, PostgreSQL and MySQL/MariaDB. Includes \
ferry-seed and the dialect plugins.")

set(CPACK_DEBIAN_SDK_PACKAGE_NAME "ferry-dev")
set(CPACK_DEBIAN_SDK_PACKAGE_SECTION "libdevel")
set(CPACK_COMPONENT_SDK_DEPENDS runtime)  # becomes Depends: ferry (= version)
set(CPACK_COMPONENT_SDK_DESCRIPTION "SDK for ferry dialect plugins
Headers, the static ferry_sdk library and the CMake package (find_package(Ferry)) to \
build dialect plugins for ferry out of tree, and ferry-conformance, the conformance suite \
to run against them.")
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # Plugins must be built with the compiler major version ferry was built with.
  string(REGEX MATCH "^[0-9]+" gcc_major "${CMAKE_CXX_COMPILER_VERSION}")
  set(CPACK_DEBIAN_SDK_PACKAGE_RECOMMENDS "g++-${gcc_major}, cmake (>= 3.22)")
endif()

include(CPack)
