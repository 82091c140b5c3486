#!/bin/sh
# The whole GPU check in one call (issue 14, item 4), for a machine where nothing can be
# installed: run it from the relocatable bundle (`cmake --build BUILD --target bundle`,
# README "GPU server"), which carries a copy of this script beside its launcher.
#   1. registers the NVIDIA OpenCL driver (libnvidia-opencl.so.1, found with
#      `ldconfig -p` or under the driver's folders) when /etc/OpenCL/vendors lacks it:
#      in a temporary vendors folder named by OCL_ICD_VENDORS, never in /etc;
#   2. `imgpipe info`; says loudly when no OpenCL device is a GPU;
#   3. `imgpipe verify` at odd sizes and at 8K;
#   4. `imgpipe bench --backends all --sizes 1080p,4k,8k`, then the streamed opencl
#      backend's band sweep at 4K and 8K, pinned and straight, and a traced 4K run;
#   5. packs OUTDIR/bench and the step outputs into OUTDIR/bench-HOST-DATE.tar.gz.
# Each step runs under `timeout` and its time is printed; everything is also in
# OUTDIR/log.txt. A failed step does not stop the later ones (one call on a borrowed
# machine should bring back all it can); the exit status is 1 when any step failed,
# 3 when all ran but no GPU was used (0 with --allow-cpu).
#
# usage: gpu_run.sh [--quick] [--allow-cpu] [--budget S] [--imgpipe PATH] [--driver LIB] OUTDIR
#   --quick      tiny sizes and few rounds: checks the script, measures nothing
#   --budget S   the whole script's time limit in seconds (default 270): a step gets
#                what is left of it at most, one that would start with none is skipped
#   --allow-cpu  an OpenCL CPU device (PoCL) is fine: for testing without a GPU
#   --imgpipe P  the program to run (default: the launcher beside this script, else
#                build/bundle/imgpipe in the checkout this script is in)
#   --driver L   the OpenCL driver to register (default libnvidia-opencl.so.1)
set -eu

usage() { echo "usage: gpu_run.sh [--quick] [--allow-cpu] [--budget S] [--imgpipe PATH] [--driver LIB] OUTDIR" >&2; exit 2; }
quick=0 allow_cpu=0 imgpipe="" driver="" budget=270
while [ $# -gt 0 ]; do
    case $1 in
    --quick) quick=1 ;;
    --allow-cpu) allow_cpu=1 ;;
    --imgpipe) [ $# -ge 2 ] || usage; imgpipe=$2; shift ;;
    --driver) [ $# -ge 2 ] || usage; driver=$2; shift ;;
    --budget) [ $# -ge 2 ] || usage; budget=$2; shift ;;
    -h|--help) usage ;;
    -*) echo "gpu_run: unknown option $1" >&2; usage ;;
    *) break ;;
    esac
    shift
done
[ $# -eq 1 ] || usage
case $budget in ''|*[!0-9]*) echo "gpu_run: --budget must be whole seconds (got '$budget')" >&2; exit 2 ;; esac
out=$1
here=$(cd "$(dirname "$0")" && pwd -P)
if [ -z "$imgpipe" ]; then
    if [ -f "$here/imgpipe" ] && [ -f "$here/MANIFEST" ]; then
        imgpipe=$here/imgpipe
    else
        imgpipe=$here/../build/bundle/imgpipe
    fi
fi
# A bundle copied by a tool that drops file modes still runs: its programs are made
# executable again (run this script as `sh gpu_run.sh` then).
bundle_dir=$(dirname "$imgpipe")
if [ -f "$bundle_dir/MANIFEST" ]; then
    for f in "$bundle_dir/imgpipe" "$bundle_dir/bin/imgpipe" "$bundle_dir"/glibc/ld-*; do
        if [ -f "$f" ] && [ ! -x "$f" ]; then
            chmod u+x "$f" && echo "gpu_run: made $f executable (the copy lost its mode)"
        fi
    done
fi
[ -x "$imgpipe" ] || { echo "gpu_run: no imgpipe at $imgpipe (build the bundle, or give --imgpipe)" >&2; exit 2; }
mkdir -p "$out" || { echo "gpu_run: cannot create $out" >&2; exit 2; }
out=$(cd "$out" && pwd -P)
log=$out/log.txt
: >"$log"
work=$(mktemp -d "${TMPDIR:-/tmp}/gpu_run.XXXXXX")
trap 'rm -rf "$work"' EXIT

say() { printf '%s\n' "$*" | tee -a "$log"; }
started=$(date +%s)
deadline=$((started + budget))
failures=0
if command -v timeout >/dev/null 2>&1; then have_timeout=1; else have_timeout=0; fi

# step NAME LIMIT_S COMMAND...: COMMAND under `timeout LIMIT_S` (or what is left of the
# budget, if less), its stdout and stderr into OUT/NAME.txt, the log and the terminal,
# then its elapsed time.
step() {
    name=$1 limit=$2
    shift 2
    left=$((deadline - $(date +%s)))
    [ "$left" -ge "$limit" ] || limit=$left
    if [ "$limit" -le 0 ]; then
        say "gpu_run: $name SKIPPED: the ${budget}s budget is spent" | tee "$out/$name.txt"
        failures=$((failures + 1))
        return 0
    fi
    say "== $name (limit ${limit}s): $*"
    t0=$(date +%s)
    set +e
    if [ $have_timeout = 1 ]; then
        timeout -k 10 "$limit" "$@" >"$out/$name.txt" 2>&1
    else
        "$@" >"$out/$name.txt" 2>&1
    fi
    rc=$?
    set -e
    tee -a "$log" <"$out/$name.txt"
    say "-- $name: exit $rc, $(($(date +%s) - t0)) s (total $(($(date +%s) - started)) s)"
    if [ $rc -eq 124 ]; then
        say "gpu_run: $name ran past its ${limit}s limit and was stopped"
    fi
    if [ $rc -ne 0 ]; then
        failures=$((failures + 1))
        say "gpu_run: $name FAILED (exit $rc)"
    fi
    return 0
}

say "gpu_run: $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(uname -n), imgpipe $imgpipe"
[ $have_timeout = 1 ] || say "gpu_run: no \`timeout\` on this machine: the steps run without a limit"
if [ -f "$(dirname "$imgpipe")/MANIFEST" ]; then
    cp "$(dirname "$imgpipe")/MANIFEST" "$out/MANIFEST"
fi
if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv \
        >"$out/nvidia-smi.txt" 2>&1 || true
    tee -a "$log" <"$out/nvidia-smi.txt"
fi

# ---- 1. the OpenCL driver ----
# ocl-icd reads its drivers' .icd files (one library path each) from /etc/OpenCL/vendors,
# or from the folder OCL_ICD_VENDORS names instead (libOpenCL(7)): a temporary one
# holding the existing entries plus one for the driver leaves /etc alone.
vendors=${OCL_ICD_VENDORS:-/etc/OpenCL/vendors}
[ -d "$vendors" ] || vendors=/etc/OpenCL/vendors
driver_name=${driver:-libnvidia-opencl.so.1}
if [ -z "$driver" ] && grep -qsil nvidia "$vendors"/*.icd; then
    say "OpenCL: the NVIDIA driver is registered already ($(grep -sil nvidia "$vendors"/*.icd | tr '\n' ' '))"
else
    lib=""
    case $driver_name in
    /*) [ -e "$driver_name" ] && lib=$driver_name ;;
    *)
        lib=$(ldconfig -p 2>/dev/null | awk -v n="$driver_name" '$1 == n { print $NF; exit }')
        if [ -z "$lib" ]; then
            for dir in /usr/lib64 /usr/lib/x86_64-linux-gnu /usr/local/nvidia/lib64 \
                       /usr/local/nvidia/lib /usr/lib/nvidia /usr/lib64/nvidia \
                       /run/nvidia/driver/usr/lib64 /run/nvidia/driver/usr/lib/x86_64-linux-gnu; do
                if [ -e "$dir/$driver_name" ]; then lib=$dir/$driver_name; break; fi
            done
        fi
        if [ -z "$lib" ]; then
            lib=$(timeout 30 find /usr /opt /run /lib /lib64 -maxdepth 6 -name "$driver_name*" \
                  \( -type f -o -type l \) 2>/dev/null | head -n 1 || true)
        fi
        ;;
    esac
    if [ -n "$lib" ]; then
        mkdir "$work/vendors"
        for icd in "$vendors"/*.icd; do
            [ -f "$icd" ] && cp "$icd" "$work/vendors/"
        done
        printf '%s\n' "$lib" >"$work/vendors/gpu_run-driver.icd"
        OCL_ICD_VENDORS=$work/vendors/
        export OCL_ICD_VENDORS
        # The driver opens its own helpers (libnvidia-ptxjitcompiler...) by soname: a
        # folder the loader's cache does not list must be on the path.
        LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$(dirname "$lib")
        export LD_LIBRARY_PATH
        say "OpenCL: registered $lib in OCL_ICD_VENDORS=$OCL_ICD_VENDORS (with $(ls "$work/vendors" | tr '\n' ' '))"
    else
        say "OpenCL: no $driver_name found (ldconfig -p, the driver folders): only what $vendors lists will show"
    fi
fi

# The OpenCL program cache in a folder of this run's own: nothing left in a borrowed
# machine's home, and no binary cached by another driver or commit is reused.
XDG_CACHE_HOME=$work/cache
export XDG_CACHE_HOME

# ---- 2. what is here ----
step info 60 "$imgpipe" info
gpu=$(awk '/^  device [0-9]+: / { name = $0; sub(/^  device [0-9]+: /, "", name) }
           /^    type GPU/ { print name; exit }' "$out/info.txt")
device=""
if [ -n "$gpu" ]; then
    say "OpenCL GPU: $gpu"
    device="--device gpu"
elif [ $allow_cpu = 1 ]; then
    say "gpu_run: no OpenCL GPU device; --allow-cpu: the opencl backend runs on what there is"
else
    say "gpu_run: WARNING: NO OPENCL GPU DEVICE (see info above): the opencl rows will not be a GPU's"
fi
if ! head -n 1 "$out/info.txt" | grep -q 'Release build'; then
    say "gpu_run: WARNING: not a Release build ($(head -n 1 "$out/info.txt")): the timings mean little"
fi

# ---- 3. verify: odd sizes (borders, tails of vectors and work-groups), then 8K ----
if [ $quick = 1 ]; then
    verify_sizes="1x1 97x31"
else
    verify_sizes="1x1 97x31 641x479 1921x1081 7680x4320"
fi
for size in $verify_sizes; do
    # shellcheck disable=SC2086
    step "verify-$size" 120 "$imgpipe" verify --size "$size" $device
done

# ---- 4. bench ----
# Rounds: the slow settings (serial, simd:portable) take seconds a run at 8K even on a
# fast core, so 3 timed rounds after 1 warm-up, and --threads with the core count skips
# the threads backend's 1, 2, 4, 8 series; the fast ones still run for --min-time
# (0.5 s) each. That keeps the bench near a minute on a 16-core server (README "GPU
# server"): the GPU rows are the point, serial is there as the yardstick.
cores=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)
if [ $quick = 1 ]; then
    bench_opts="--sizes 97x31 --reps 2 --warmup 0 --min-time 0 --threads 2"
else
    bench_opts="--sizes 1080p,4k,8k --reps 3 --warmup 1 --threads $cores"
fi
# shellcheck disable=SC2086
step bench 170 "$imgpipe" bench --backends all $bench_opts $device --out "$out/bench"

# ---- 4b. streaming: the band sweep, through pinned staging and straight, and a trace ----
# The streamed opencl backend (README "Streaming"): each band count a setting, so the
# breakdown's serialized sum, ideal and end-to-end time can be read per count, and one
# traced 4K run shows the three queues overlapping.
if [ $quick = 1 ]; then
    stream_opts="--sizes 97x31 --bands 1,2 --reps 2 --warmup 0 --min-time 0"
    trace_size=97x31
else
    stream_opts="--sizes 4k,8k --bands 1,2,4,8,16,32 --reps 5 --warmup 1 --min-time 0.1"
    trace_size=4k
fi
for mode in on off; do
    # shellcheck disable=SC2086
    step "stream-pinned-$mode" 45 "$imgpipe" bench --backends opencl $stream_opts \
        --pinned "$mode" $device --out "$out/bench-stream-pinned-$mode"
done
# shellcheck disable=SC2086
step trace 20 "$imgpipe" run --backend opencl --size "$trace_size" $device \
    --trace "$out/trace-opencl.json" --output "$work/trace-out.png"

# ---- 5. one archive ----
stamp=$(date -u +%Y%m%dT%H%MZ)
archive=bench-$(uname -n)-$stamp.tar.gz
say "gpu_run: $failures failed step(s), $(($(date +%s) - started)) s in all; archive $out/$archive"
members=$(cd "$out" && ls -d bench bench-stream-* ./*.txt ./*.json MANIFEST 2>/dev/null |
    sed 's|^\./||' | tr '\n' ' ')
# shellcheck disable=SC2086
(cd "$out" && tar -czf "$archive" $members) || { say "gpu_run: tar failed"; exit 1; }
if [ $failures -gt 0 ]; then exit 1; fi
if [ -z "$gpu" ] && [ $allow_cpu = 0 ]; then
    say "gpu_run: WARNING: NO OPENCL GPU DEVICE was used"
    exit 3
fi
exit 0
