#!/bin/sh
# The relocatable bundle (`--target bundle`, host/cli/bundle.cmake) as a GPU server would
# get it: copied to a folder outside the checkout and run with the system's copies of
# every library it bundles hidden from the loader. The hiding is real: in a private
# mount namespace (unshare --mount; never the machine's own mounts) an empty file is
# bind-mounted over each system copy, so a library not taken from the bundle fails to
# load. Where unshare is not permitted the test fails: it does not fall back silently.
# Then, in there: `imgpipe info`, verify on 97x31 (threads, simd, opencl on PoCL), a
# PNG -> PNG and a JPEG -> JPEG run compared byte for byte with the build's own program,
# `ldd` and LD_DEBUG=libs showing where each library came from, the launcher's bundled
# glibc mode, and results/gpu_run.sh --quick registering PoCL through OCL_ICD_VENDORS
# (with /etc/OpenCL/vendors hidden too) and packing its archive.
#
# usage: check.sh BUILD_DIR CMAKE
set -eu
if [ "${1:-}" = --inside ]; then
    shift
    inside=1
else
    inside=0
fi
build=$1 cmake=$2
step() { printf 'bundle test: %s\n' "$*"; }
fail() { printf 'bundle test: FAILED: %s\n' "$*" >&2; exit 1; }

if [ $inside = 0 ]; then
    step "cmake --build $build --target bundle"
    "$cmake" --build "$build" --target bundle >/dev/null
    bundle=$(sed -n 's/^IMGPIPE_BUNDLE_DIR:PATH=//p' "$build/CMakeCache.txt")
    [ -x "$bundle/imgpipe" ] || fail "no launcher at $bundle/imgpipe"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    cp -a "$bundle" "$tmp/b"
    # The expected outputs, made by the build's own program with the system's libraries.
    "$build/imgpipe" run --size 97x31 --brightness 0 --contrast 1 --sigma 0 --scale 1 \
        --output "$tmp/in.png" 2>/dev/null
    "$build/imgpipe" run --input "$tmp/in.png" --output "$tmp/in.jpg" --brightness 0 \
        --contrast 1 --sigma 0 --scale 1 2>/dev/null
    "$build/imgpipe" run --input "$tmp/in.png" --output "$tmp/want.png" --backend simd 2>/dev/null
    "$build/imgpipe" run --input "$tmp/in.jpg" --output "$tmp/want.jpg" --backend simd 2>/dev/null
    # As root a mount namespace is enough; another user needs a user namespace too.
    for ns in "--mount" "--user --map-root-user --mount"; do
        # shellcheck disable=SC2086
        if unshare $ns --propagation private true 2>/dev/null; then
            step "unshare $ns (a private mount namespace to hide the system's libraries in)"
            cd "$tmp"
            # shellcheck disable=SC2086
            exec unshare $ns --propagation private sh "$0" --inside "$build" "$cmake" "$tmp"
        fi
    done
    fail "unshare --mount is not permitted here: the bundle cannot be tested in isolation"
fi

# ---- inside the private mount namespace ----
tmp=$3
b=$tmp/b
cd "$tmp"
: >"$tmp/empty"
mkdir "$tmp/no-vendors"
pocl=$(ldconfig -p | awk '$1 ~ /^libpocl\.so/ { print $NF; exit }')
[ -n "$pocl" ] || fail "no PoCL in ldconfig -p: the OpenCL part of this test needs it"
# What to hide: every library the build's own program links but glibc (so a library
# the bundle forgot is hidden too and fails to load), and whatever the bundle carries.
glibc_regex='^(libc|libm|libmvec|libpthread|libdl|librt|ld-linux[-_a-z0-9]*)\.so'
sonames=$( { ldd "$1/imgpipe" | awk '$2 == "=>" { print $1 }'; ls "$b/lib"; } |
          grep -Ev "$glibc_regex" | sort -u)
hidden=""
for soname in $sonames; do
    for sys in $(ldconfig -p | awk -v n="$soname" '$1 == n { print $NF }') \
               /lib/x86_64-linux-gnu/"$soname" /usr/lib/x86_64-linux-gnu/"$soname"; do
        case " $hidden " in *" $sys "*) continue ;; esac
        if [ -e "$sys" ]; then
            mount --bind "$tmp/empty" "$sys" || fail "cannot hide $sys"
            hidden="$hidden $sys"
        fi
    done
done
[ -n "$hidden" ] || fail "found no system copy of the bundled libraries to hide"
step "hidden:$hidden"
mount --bind "$tmp/no-vendors" /etc/OpenCL/vendors || fail "cannot hide /etc/OpenCL/vendors"
# The hiding works: the build's own program can no longer start.
if "$1/imgpipe" --version >/dev/null 2>&1; then
    fail "the system build still starts: its libraries are not hidden"
fi

step "imgpipe info from $b"
"$b/imgpipe" info >info.txt 2>&1 || { cat info.txt; fail "imgpipe info"; }
grep -qx "chart scripts: $b/share/imgpipe/gnuplot" info.txt || fail "info: chart scripts not the bundle's"

step "ldd bin/imgpipe: only the bundle's lib/ and glibc"
ldd "$b/bin/imgpipe" >ldd.txt
! grep -q 'not found' ldd.txt || { cat ldd.txt; fail "ldd: a library not found"; }
# RPATH $ORIGIN/../lib shows as BUNDLE/bin/../lib.
awk -v lib="$b/lib/" '$2 == "=>" { sub(/\/bin\/\.\.\/lib\//, "/lib/", $3) }
     $2 == "=>" && index($3, lib) != 1 &&
     $1 !~ glibc' glibc="$glibc_regex" ldd.txt >foreign.txt
[ ! -s foreign.txt ] || { cat foreign.txt; fail "ldd: libraries from outside the bundle"; }

step "LD_DEBUG=libs: every bundled library loaded from lib/"
LD_DEBUG=libs "$b/imgpipe" --version >/dev/null 2>debug.txt
# Found through the program's RPATH, a library's path reads BUNDLE/bin/../lib/NAME.
sed -i 's|/bin/\.\./lib/|/lib/|' debug.txt
for lib in "$b"/lib/*; do
    grep -q "calling init: $lib\$" debug.txt || fail "$(basename "$lib") not loaded from the bundle"
done

step "without a registered driver there is no OpenCL (the vendors folder is hidden)"
if "$b/imgpipe" verify --size 97x31 --backends opencl >/dev/null 2>&1; then
    fail "opencl ran with /etc/OpenCL/vendors hidden"
fi

step "verify --size 97x31 on threads, simd and opencl (PoCL named by OCL_ICD_VENDORS)"
printf '%s\n' "$pocl" >"$tmp/no-vendors/pocl.icd"
OCL_ICD_VENDORS=$tmp/no-vendors/ "$b/imgpipe" verify --size 97x31 --backends threads,simd,opencl \
    >verify.txt 2>&1 || { cat verify.txt; fail "verify"; }
[ "$(grep -c 'bit-exact' verify.txt)" -ge 3 ] || { cat verify.txt; fail "verify: not every backend bit-exact"; }
rm "$tmp/no-vendors/pocl.icd"

step "run PNG -> PNG and JPEG -> JPEG, the same bytes as the build's program"
"$b/imgpipe" run --input in.png --output got.png --backend simd 2>/dev/null
cmp want.png got.png
"$b/imgpipe" run --input in.jpg --output got.jpg --backend simd 2>/dev/null
cmp want.jpg got.jpg

step "the bundled glibc (IMGPIPE_BUNDLE_GLIBC=bundled)"
IMGPIPE_BUNDLE_GLIBC=bundled LD_DEBUG=libs "$b/imgpipe" run --input in.png --output glibc.png \
    --backend simd 2>debug-glibc.txt || { tail debug-glibc.txt; fail "bundled glibc run"; }
grep -q "calling init: $b/glibc/libc.so.6\$" debug-glibc.txt || fail "libc not from the bundle's glibc/"
cmp want.png glibc.png
# A driver opened by the ICD loader (PoCL here, NVIDIA's there) runs on the bundled glibc.
printf '%s\n' "$pocl" >"$tmp/no-vendors/pocl.icd"
IMGPIPE_BUNDLE_GLIBC=bundled OCL_ICD_VENDORS=$tmp/no-vendors/ "$b/imgpipe" verify --size 97x31 \
    --backends opencl >verify-glibc.txt 2>&1 || { cat verify-glibc.txt; fail "bundled glibc: verify opencl"; }
grep -q '^opencl .*bit-exact' verify-glibc.txt || { cat verify-glibc.txt; fail "bundled glibc: opencl not bit-exact"; }
rm "$tmp/no-vendors/pocl.icd"
IMGPIPE_BUNDLE_GLIBC=bundled "$b/imgpipe" info 2>&1 |
    grep -qx "chart scripts: $b/share/imgpipe/gnuplot" || fail "bundled glibc: chart scripts"

step "gpu_run.sh --quick --allow-cpu --driver $pocl"
rc=0
"$b/gpu_run.sh" --quick --allow-cpu --driver "$pocl" "$tmp/gpu" >gpu_run.txt 2>&1 || rc=$?
[ $rc -eq 0 ] || { cat gpu_run.txt; fail "gpu_run.sh exit $rc"; }
grep -q "^OpenCL: registered $pocl in OCL_ICD_VENDORS=" gpu_run.txt || { cat gpu_run.txt; fail "gpu_run: driver not registered"; }
grep -q '^opencl .*bit-exact' "$tmp/gpu/verify-97x31.txt" || fail "gpu_run: opencl not verified"
grep -q '^opencl,' "$tmp/gpu/bench/bench.csv" || fail "gpu_run: no opencl row in bench.csv"
cmp gpu_run.txt "$tmp/gpu/log.txt" || fail "gpu_run: log.txt is not what it printed"
set -- "$tmp"/gpu/bench-*.tar.gz
[ -f "$1" ] || fail "gpu_run: no archive in $tmp/gpu"
tar -tzf "$1" >archive.txt
grep -qx 'bench/bench.csv' archive.txt || { cat archive.txt; fail "gpu_run: bench.csv not in the archive"; }
grep -qx 'MANIFEST' archive.txt || fail "gpu_run: MANIFEST not in the archive"
for mode in on off; do
    grep -q '^opencl,bands=2,' "$tmp/gpu/bench-stream-pinned-$mode/bench.csv" ||
        fail "gpu_run: no bands=2 opencl row in the pinned $mode sweep"
    grep -qx "bench-stream-pinned-$mode/bench.csv" archive.txt ||
        { cat archive.txt; fail "gpu_run: the pinned $mode sweep not in the archive"; }
done
grep -qx 'trace-opencl.json' archive.txt || { cat archive.txt; fail "gpu_run: no opencl trace in the archive"; }
grep -q '"kernel queue"' "$tmp/gpu/trace-opencl.json" || fail "gpu_run: the trace has no kernel queue"
step "gpu_run.sh without --allow-cpu: exit 3, no GPU said loudly"
rc=0
"$b/gpu_run.sh" --quick --driver "$pocl" "$tmp/gpu-nogpu" >nogpu.txt 2>&1 || rc=$?
[ $rc -eq 3 ] || { cat nogpu.txt; fail "gpu_run.sh without a GPU: exit $rc, not 3"; }
grep -q '^gpu_run: WARNING: NO OPENCL GPU DEVICE' nogpu.txt || fail "gpu_run: no GPU warning"

# The GPU path without a GPU: a stand-in imgpipe whose `info` shows one (in the format
# cl_util.c prints) and which records how it is called.
step "gpu_run.sh with an imgpipe that reports a GPU: --device gpu everywhere, exit 0"
mkdir "$tmp/fake"
cat >"$tmp/fake/imgpipe" <<'FAKE'
#!/bin/sh
printf '%s\n' "$*" >>"$(dirname "$0")/calls.txt"
case $1 in
info) printf '%s\n' "imgpipe 0.1.0 (commit 0, Release build, gcc)" \
          "  device 0: NVIDIA H200" "    type GPU, vendor NVIDIA Corporation" ;;
bench) while [ $# -gt 0 ]; do
           if [ "$1" = --out ]; then mkdir -p "$2" && echo backend >"$2/bench.csv"; fi
           shift
       done ;;
esac
FAKE
chmod +x "$tmp/fake/imgpipe"
rc=0
"$b/gpu_run.sh" --quick --imgpipe "$tmp/fake/imgpipe" "$tmp/gpu-fake" >fake.txt 2>&1 || rc=$?
[ $rc -eq 0 ] || { cat fake.txt; fail "gpu_run.sh with a GPU: exit $rc"; }
grep -qx 'OpenCL GPU: NVIDIA H200' fake.txt || { cat fake.txt; fail "gpu_run: the GPU not named"; }
[ "$(grep -c '^verify .*--device gpu' "$tmp/fake/calls.txt")" -eq 2 ] &&
    grep -q '^bench --backends all .*--device gpu' "$tmp/fake/calls.txt" &&
    [ "$(grep -c '^bench --backends opencl .*--pinned .* --device gpu' "$tmp/fake/calls.txt")" -eq 2 ] &&
    grep -q '^run --backend opencl .*--device gpu --trace' "$tmp/fake/calls.txt" ||
    { cat "$tmp/fake/calls.txt"; fail "gpu_run: --device gpu not passed to verify and bench"; }

step "gpu_run.sh --budget 0: every step skipped, exit 1, still an archive"
rc=0
"$b/gpu_run.sh" --quick --allow-cpu --budget 0 "$tmp/gpu-0" >budget.txt 2>&1 || rc=$?
[ $rc -eq 1 ] || { cat budget.txt; fail "gpu_run.sh --budget 0: exit $rc, not 1"; }
grep -q '^gpu_run: bench SKIPPED: the 0s budget is spent' budget.txt || { cat budget.txt; fail "gpu_run: bench not skipped"; }
set -- "$tmp"/gpu-0/bench-*.tar.gz
[ -f "$1" ] || fail "gpu_run --budget 0: no archive"
step "ok"
