# `cmake --build BUILD --target bundle`: a relocatable copy of the imgpipe program for a
# machine where nothing can be installed (README "GPU server"). It lays out
#   IMGPIPE_BUNDLE_DIR/imgpipe            the launcher (POSIX sh): run this
#   IMGPIPE_BUNDLE_DIR/bin/imgpipe        the program, RPATH $ORIGIN/../lib
#   IMGPIPE_BUNDLE_DIR/lib/               every shared library it needs but glibc's
#   IMGPIPE_BUNDLE_DIR/glibc/             this machine's glibc, used only where the
#                                         target's own is older than the program needs
#   IMGPIPE_BUNDLE_DIR/share/imgpipe/gnuplot  the chart scripts
#   IMGPIPE_BUNDLE_DIR/gpu_run.sh         results/gpu_run.sh, the one-call GPU check
#   IMGPIPE_BUNDLE_DIR/MANIFEST           libraries, sonames, GLIBC_ versions, commit
# The OpenCL ICD loader is bundled, the vendor drivers are not: they come from the
# machine (NVIDIA's libnvidia-opencl.so.1, PoCL here), loaded by the ICD loader.
# Included from the top-level CMakeLists.txt; the copying is host/cli/bundle_make.cmake.
set(IMGPIPE_BUNDLE_DIR ${CMAKE_BINARY_DIR}/bundle CACHE PATH
  "Where `--target bundle` puts the relocatable imgpipe")
option(IMGPIPE_BUNDLE_GLIBC
  "Put this machine's glibc into the bundle (glibc/), for targets whose glibc is older" ON)

# The same program linked once more with $ORIGIN/../lib as its search path, so that
# bin/imgpipe finds the bundled libraries even without the launcher. A second link
# rather than an rpath edit: CMake cannot lengthen an ELF's rpath and patchelf is not a
# dependency. As DT_RPATH, not the newer DT_RUNPATH: a RUNPATH applies to the
# program's own dependencies only, and libmpi's (libopen-pal, hwloc, libevent: the
# MPI build links them) would then come from the system.
add_executable(imgpipe_bundled EXCLUDE_FROM_ALL host/cli/main.c)
target_link_libraries(imgpipe_bundled PRIVATE img_commands)
target_link_options(imgpipe_bundled PRIVATE LINKER:--disable-new-dtags)
set_target_properties(imgpipe_bundled PROPERTIES OUTPUT_NAME imgpipe
  RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bundle-bin
  BUILD_RPATH "$ORIGIN/../lib")

find_program(IMGPIPE_OBJDUMP NAMES objdump ${CMAKE_OBJDUMP})
add_custom_target(bundle
  COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:imgpipe_bundled>
          -DBUNDLE=${IMGPIPE_BUNDLE_DIR} -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
          -DWITH_GLIBC=${IMGPIPE_BUNDLE_GLIBC} -DOBJDUMP=${IMGPIPE_OBJDUMP}
          -DBUILD_TYPE=${CMAKE_BUILD_TYPE}
          -DGNUPLOT_SUBDIR=${CMAKE_INSTALL_DATADIR}/imgpipe/gnuplot
          -P ${PROJECT_SOURCE_DIR}/host/cli/bundle_make.cmake
  DEPENDS imgpipe_bundled
  COMMENT "Bundling imgpipe into ${IMGPIPE_BUNDLE_DIR}"
  VERBATIM)
