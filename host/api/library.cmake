# libimgpipe, shared and static, and everything `cmake --install` puts in place.
#
# Both libraries are made from the objects the library layers already compiled (PIC,
# hidden visibility: see IMGPIPE_LIBRARY_LAYERS), so nothing is compiled twice and the
# layers keep their include rules. Included from the top-level CMakeLists.txt.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(IMGPIPE_LIBRARY_OBJECTS "")
foreach(layer IN LISTS IMGPIPE_LIBRARY_LAYERS)
  list(APPEND IMGPIPE_LIBRARY_OBJECTS $<TARGET_OBJECTS:${layer}>)
endforeach()

add_library(imgpipe_shared SHARED ${IMGPIPE_LIBRARY_OBJECTS})
add_library(imgpipe_static STATIC ${IMGPIPE_LIBRARY_OBJECTS})
foreach(lib imgpipe_shared imgpipe_static)
  add_dependencies(${lib} ${IMGPIPE_LIBRARY_LAYERS})
  target_include_directories(${lib} INTERFACE
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/host/api>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  # lib/ keeps libimgpipe.so apart from the imgpipe program in the build folder.
  set_target_properties(${lib} PROPERTIES OUTPUT_NAME imgpipe LINKER_LANGUAGE C
    ARCHIVE_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib
    LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib)
endforeach()

set_target_properties(imgpipe_shared PROPERTIES EXPORT_NAME imgpipe
  VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR})
target_link_libraries(imgpipe_shared PRIVATE PNG::PNG PkgConfig::SPNG JPEG::JPEG ZLIB::ZLIB
  PkgConfig::LIBDEFLATE OpenCL::OpenCL Threads::Threads m)
# A symbol the objects need and nothing provides fails here, not in a user's link.
# (The sanitizer runtimes are only provided by the final executable.)
if(IMGPIPE_SANITIZE STREQUAL "" AND NOT IMGPIPE_FUZZ)
  target_link_options(imgpipe_shared PRIVATE LINKER:--no-undefined)
endif()

set_target_properties(imgpipe_static PROPERTIES EXPORT_NAME imgpipe_static)
target_link_libraries(imgpipe_static INTERFACE PNG::PNG PkgConfig::SPNG JPEG::JPEG ZLIB::ZLIB
  PkgConfig::LIBDEFLATE OpenCL::OpenCL Threads::Threads m)

# ---- install ---------------------------------------------------------------------------
set(IMGPIPE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/imgpipe)

install(TARGETS imgpipe RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# `imgpipe chart` looks for its scripts at bin/../share/imgpipe/gnuplot.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/results/gnuplot/ DESTINATION
  ${CMAKE_INSTALL_DATADIR}/imgpipe/gnuplot FILES_MATCHING PATTERN "*.gp")
install(TARGETS imgpipe_shared EXPORT imgpipe-targets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS imgpipe_static EXPORT imgpipe-static-targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${PROJECT_SOURCE_DIR}/host/api/imgpipe.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(EXPORT imgpipe-targets NAMESPACE imgpipe:: DESTINATION ${IMGPIPE_CMAKE_DIR})
install(EXPORT imgpipe-static-targets NAMESPACE imgpipe:: DESTINATION ${IMGPIPE_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/host/api/imgpipe-config.cmake.in
  ${CMAKE_BINARY_DIR}/imgpipe-config.cmake INSTALL_DESTINATION ${IMGPIPE_CMAKE_DIR})
# 0.x: a minor release may change the API.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/imgpipe-config-version.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/imgpipe-config.cmake
  ${CMAKE_BINARY_DIR}/imgpipe-config-version.cmake DESTINATION ${IMGPIPE_CMAKE_DIR})

# pkg-config: prefix relative to the .pc file, so `cmake --install --prefix ANY` works.
# A dependency without a .pc file of its own goes to Libs.private as a plain -l.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(IMGPIPE_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH IMGPIPE_PC_UP "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
  string(REGEX REPLACE "/$" "" IMGPIPE_PC_UP "${IMGPIPE_PC_UP}")
  set(IMGPIPE_PC_PREFIX "\${pcfiledir}/${IMGPIPE_PC_UP}")
endif()
set(IMGPIPE_PC_REQUIRES "")
set(IMGPIPE_PC_LIBS "")
foreach(dep libpng:png spng:spng libjpeg:jpeg zlib:z libdeflate:deflate OpenCL:OpenCL)
  string(REPLACE ":" ";" dep "${dep}")
  list(GET dep 0 module)
  list(GET dep 1 lib)
  pkg_check_modules(IMGPIPE_PC_${lib} QUIET ${module})
  if(IMGPIPE_PC_${lib}_FOUND)
    string(APPEND IMGPIPE_PC_REQUIRES " ${module}")
  else()
    string(APPEND IMGPIPE_PC_LIBS " -l${lib}")
  endif()
endforeach()
configure_file(${PROJECT_SOURCE_DIR}/host/api/imgpipe.pc.in ${CMAKE_BINARY_DIR}/imgpipe.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/imgpipe.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
