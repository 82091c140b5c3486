#!/bin/sh
# Installs the build into a temporary prefix and uses it as an outsider would: example.c
# built through pkg-config and through find_package(imgpipe), each run on a picture
# and compared byte for byte with what `imgpipe run` writes for the same options.
#
# usage: check.sh BUILD_DIR SOURCE_DIR CMAKE CC
set -eu
build=$1 src=$2 cmake=$3 cc=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
step() { printf 'install test: %s\n' "$*"; }

step "cmake --install --prefix $prefix"
"$cmake" --install "$build" --prefix "$prefix" >/dev/null
pc=$(find "$prefix" -name imgpipe.pc)
test -n "$pc"
export PKG_CONFIG_PATH="$(dirname "$pc")"
libdir=$(pkg-config --variable=libdir imgpipe)
test -f "$prefix/include/imgpipe.h"
test -x "$prefix/bin/imgpipe"

# Hidden visibility: the library exports its API and nothing of the layers below it.
step "exported symbols"
leaked=$(nm -D --defined-only "$libdir/libimgpipe.so" | awk '{print $3}' | grep -v '^imgpipe_' || true)
if [ -n "$leaked" ]; then
    printf 'libimgpipe.so exports more than imgpipe_*:\n%s\n' "$leaked" >&2
    exit 1
fi

# The input: the built-in picture with every stage neutral, so it is the picture itself.
"$prefix/bin/imgpipe" run --size 97x31 --brightness 0 --contrast 1 --sigma 0 --scale 1 \
    --output "$tmp/in.png" 2>/dev/null
# The reference: example.c's parameters, through the CLI.
"$prefix/bin/imgpipe" run --input "$tmp/in.png" --output "$tmp/cli.png" --backend serial \
    --brightness -10 --contrast 1.5 --sigma 1.3 --resize 50x20 2>/dev/null

step "pkg-config: $(pkg-config --cflags --libs imgpipe)"
# shellcheck disable=SC2046
"$cc" -std=c17 -Wall -Wextra -Werror -o "$tmp/example" "$src/tests/install/example.c" \
    $(pkg-config --cflags --libs imgpipe) -Wl,-rpath,"$libdir"
"$tmp/example" "$tmp/in.png" "$tmp/pc.png" simd
cmp "$tmp/cli.png" "$tmp/pc.png"

step "find_package(imgpipe): imgpipe::imgpipe and imgpipe::imgpipe_static"
"$cmake" -S "$src/tests/install" -B "$tmp/user" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
"$cmake" --build "$tmp/user" >/dev/null
"$tmp/user/example" "$tmp/in.png" "$tmp/cmake.png" threads
cmp "$tmp/cli.png" "$tmp/cmake.png"
"$tmp/user/example_static" "$tmp/in.png" "$tmp/static.png" simd-threads
cmp "$tmp/cli.png" "$tmp/static.png"
# The installed program draws charts with the installed scripts, not the source tree's.
step "chart scripts beside the installed program"
test -f "$prefix/share/imgpipe/gnuplot/common.gp"
real_prefix=$(cd "$prefix" && pwd -P)
"$prefix/bin/imgpipe" info 2>/dev/null | grep -qx "chart scripts: $real_prefix/share/imgpipe/gnuplot"
step "ok"
