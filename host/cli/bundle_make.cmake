# Script mode (cmake -P), run by the `bundle` target of host/cli/bundle.cmake:
#   -DPROGRAM=  the imgpipe linked with RPATH $ORIGIN/../lib
#   -DBUNDLE=   the folder to (re)create
#   -DSOURCE_DIR= -DWITH_GLIBC=ON|OFF -DOBJDUMP= -DBUILD_TYPE= -DGNUPLOT_SUBDIR=
# The libraries are found the way the dynamic loader finds them, recursively, with
# file(GET_RUNTIME_DEPENDENCIES); glibc's own (libc, libm, the loader and the stubs of
# what glibc 2.34 folded into libc) stay out of lib/ so that, by default, the program
# runs with the target's C library like any other program there.
cmake_minimum_required(VERSION 3.20)
foreach(var PROGRAM BUNDLE SOURCE_DIR OBJDUMP GNUPLOT_SUBDIR)
  if(NOT ${var})
    message(FATAL_ERROR "bundle_make.cmake: -D${var}= is required")
  endif()
endforeach()

set(glibc_regex "^(libc|libm|libmvec|libpthread|libdl|librt|libresolv|libutil|libanl|libnsl|libBrokenLocale|ld-linux[-_a-z0-9]*)\\.so")

file(REMOVE_RECURSE ${BUNDLE})
file(MAKE_DIRECTORY ${BUNDLE}/bin ${BUNDLE}/lib ${BUNDLE}/${GNUPLOT_SUBDIR})
file(COPY_FILE ${PROGRAM} ${BUNDLE}/bin/imgpipe)

file(GET_RUNTIME_DEPENDENCIES
  EXECUTABLES ${PROGRAM}
  RESOLVED_DEPENDENCIES_VAR resolved
  UNRESOLVED_DEPENDENCIES_VAR unresolved)
if(unresolved)
  message(FATAL_ERROR "bundle: the loader cannot find ${unresolved} for ${PROGRAM}")
endif()

set(bundled "")
set(glibc_dir "")
foreach(path IN LISTS resolved)
  get_filename_component(name ${path} NAME)
  if(name MATCHES "${glibc_regex}")
    if(name MATCHES "^libc\\.so")
      get_filename_component(glibc_dir ${path} DIRECTORY)
    endif()
    continue()
  endif()
  # lib/ holds each library under the name the program asks for (its soname), as a
  # file: a relocated folder must not depend on symlinks surviving the copy.
  get_filename_component(real ${path} REALPATH)
  file(COPY_FILE ${real} ${BUNDLE}/lib/${name})
  # A library's own RUNPATH (Debian's libmpi names /usr/lib/.../openmpi/lib) would make
  # the loader look for its dependencies there and in the system, never in lib/:
  # without one, bin/imgpipe's RPATH ($ORIGIN/../lib) serves them too.
  file(RPATH_REMOVE FILE ${BUNDLE}/lib/${name})
  list(APPEND bundled ${name})
endforeach()

# The loader is the program's PT_INTERP: the .interp section, one NUL-terminated path,
# which file(STRINGS) reads out of the ELF like any other printable string.
file(STRINGS ${PROGRAM} interp REGEX "^/[^ ]*/ld-[-_a-zA-Z0-9.]*\\.so[.0-9]*$" LIMIT_COUNT 1)
if(NOT interp)
  message(FATAL_ERROR "bundle: no program interpreter found in ${PROGRAM}")
endif()
get_filename_component(loader ${interp} NAME)

# The oldest glibc each file needs: the highest GLIBC_x.y among its dynamic symbols.
function(glibc_needed file out_var)
  execute_process(COMMAND ${OBJDUMP} -T ${file} OUTPUT_VARIABLE syms RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "bundle: ${OBJDUMP} -T ${file} failed")
  endif()
  string(REGEX MATCHALL "GLIBC_[0-9]+\\.[0-9]+(\\.[0-9]+)?" versions "${syms}")
  set(best 0)
  foreach(v IN LISTS versions)
    string(REPLACE "GLIBC_" "" v ${v})
    if(v VERSION_GREATER best)
      set(best ${v})
    endif()
  endforeach()
  set(${out_var} ${best} PARENT_SCOPE)
endfunction()

function(soname_of file out_var)
  execute_process(COMMAND ${OBJDUMP} -p ${file} OUTPUT_VARIABLE dyn)
  string(REGEX MATCH "SONAME +([^ \n]+)" m "${dyn}")
  set(${out_var} "${CMAKE_MATCH_1}" PARENT_SCOPE)
endfunction()

glibc_needed(${BUNDLE}/bin/imgpipe program_glibc)
set(glibc_required ${program_glibc})
set(lib_lines "")
foreach(name IN LISTS bundled)
  glibc_needed(${BUNDLE}/lib/${name} v)
  soname_of(${BUNDLE}/lib/${name} soname)
  file(SIZE ${BUNDLE}/lib/${name} size)
  string(APPEND lib_lines "  lib/${name}  soname ${soname}  needs GLIBC_${v}  ${size} bytes\n")
  if(v VERSION_GREATER glibc_required)
    set(glibc_required ${v})
  endif()
endforeach()

# glibc/: the C library this bundle was built against, loaded only by the launcher's
# fallback (an explicit `glibc/LOADER --library-path ...`) where the target's glibc is
# older than glibc_required. The stubs (libpthread, libdl, librt) come too: the drivers
# the ICD loader opens (libnvidia-opencl.so.1) link them, and a stub from another glibc
# release cannot be mixed with this libc.
set(glibc_lines "  (not bundled: configure with -DIMGPIPE_BUNDLE_GLIBC=ON)\n")
set(glibc_version none)
if(WITH_GLIBC)
  set(glibc_lines "")
  file(MAKE_DIRECTORY ${BUNDLE}/glibc)
  get_filename_component(real ${interp} REALPATH)
  file(COPY_FILE ${real} ${BUNDLE}/glibc/${loader})
  foreach(name libc.so.6 libm.so.6 libmvec.so.1 libpthread.so.0 libdl.so.2 librt.so.1
               libresolv.so.2 libutil.so.1)
    if(EXISTS ${glibc_dir}/${name})
      get_filename_component(real ${glibc_dir}/${name} REALPATH)
      file(COPY_FILE ${real} ${BUNDLE}/glibc/${name})
      string(APPEND glibc_lines "  glibc/${name}\n")
    endif()
  endforeach()
  string(APPEND glibc_lines "  glibc/${loader}  (the loader)\n")
  execute_process(COMMAND ${BUNDLE}/glibc/${loader} --version OUTPUT_VARIABLE ld_version)
  string(REGEX MATCH "version ([0-9]+\\.[0-9]+)" m "${ld_version}")
  set(glibc_version ${CMAKE_MATCH_1})
endif()

file(GLOB gnuplot_scripts ${SOURCE_DIR}/results/gnuplot/*.gp)
file(COPY ${gnuplot_scripts} DESTINATION ${BUNDLE}/${GNUPLOT_SUBDIR})
file(COPY ${SOURCE_DIR}/results/gpu_run.sh DESTINATION ${BUNDLE}
  FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                   WORLD_READ WORLD_EXECUTE)

# The launcher knows the loader's name and the glibc the bundle needs.
set(GLIBC_REQUIRED ${glibc_required})
set(LOADER ${loader})
configure_file(${SOURCE_DIR}/host/cli/bundle_launcher.sh.in ${BUNDLE}/imgpipe @ONLY
  FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                   WORLD_READ WORLD_EXECUTE)

execute_process(COMMAND git -C ${SOURCE_DIR} describe --always --dirty --abbrev=12
  OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT commit)
  set(commit unknown)
endif()
string(TIMESTAMP built "%Y-%m-%d %H:%M UTC" UTC)
cmake_host_system_information(RESULT host_name QUERY HOSTNAME)
file(WRITE ${BUNDLE}/MANIFEST
"imgpipe bundle
commit: ${commit}
build type: ${BUILD_TYPE}
built: ${built} on ${host_name}
needs: glibc >= ${glibc_required} (bin/imgpipe alone: GLIBC_${program_glibc}), x86-64 Linux
bundled glibc: ${glibc_version}
loader: ${interp}
the launcher uses the target's glibc when it is >= ${glibc_required}, else glibc/
(IMGPIPE_BUNDLE_GLIBC=system|bundled|auto overrides)
not bundled: the OpenCL drivers (libnvidia-opencl.so.1, PoCL...), loaded by the ICD
loader from the machine; gnuplot (only `imgpipe chart` needs it)

bin/imgpipe  needs GLIBC_${program_glibc}
${lib_lines}${glibc_lines}")
message(STATUS "bundle: ${BUNDLE} (${commit}, needs glibc >= ${glibc_required})")
