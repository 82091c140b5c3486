#!/bin/sh
# `mpirun -n N imgpipe batch` scaling (issue 15, item 5): the whole job of 24 photo-like
# pictures of mixed sizes (12 PNG, 12 JPEG: 12 MP camera frames, 4K, 1080p, 720p), one
# process per command timed from start to exit (mpirun's start-up included), in
# interleaved rounds:
#   single  imgpipe batch without mpirun, --cpus 0 (one core: the single-process figure)
#   1x1     mpirun -n 1, backend simd (1 pipeline thread), --jobs 1
#   2x1     mpirun -n 2, backend simd, --jobs 1: one rank per core
#   2x2     mpirun -n 2, backend simd-threads --threads 2, --jobs 2: two threads per
#           rank on the two cores, so the ranks' threads take turns (interleaving)
# mpirun binds each rank to a core (--bind-to core, recorded in bindings.txt), so a rank
# and all its threads (reader, pipeline, writer) share that core. On one machine the
# ranks talk through shared memory (OMPI_MCA_pml=ob1, OMPI_MCA_btl=self,vader: Open MPI
# then skips probing UCX and network devices, a fixed start-up cost of a few tenths of
# a second per run; MPI_ONE_MACHINE=0 keeps Open MPI's own choice). Every round's
# outputs are compared byte for byte with the single-process batch's.
# Writes OUT/mpi.csv (every round: the whole process's seconds and the run's own wall
# time from its report), OUT/summary.md (median, min..max, images/s, speedup
# over 1x1), OUT/machine.txt (CPU, cores, kernel, Open MPI, commit), OUT/run-*.txt (one
# run's own report each), OUT/trace-2x1.json (--trace of a 2x1 run) and the chart
# OUT/mpi.png / .svg (images/s against ranks; results/gnuplot/mpi.gp).
#
# usage: results/mpi.sh OUT [BUILD_DIR]   (BUILD_DIR default: build-mpi-rel)
# MPI_ROUNDS (default 9) interleaved rounds after one warm-up round. Needs Open MPI
# (openmpi-bin), python3 and gnuplot; ImageMagick's convert for the pictures (else
# imgpipe's built-in picture). The pictures are made once (a minute or two) into
# BUILD_DIR/mpi-inputs and not committed.
set -eu
out=$1
src=$(cd "$(dirname "$0")/.." && pwd)
build=${2:-$src/build-mpi-rel}
rounds=${MPI_ROUNDS:-9}
command -v mpirun >/dev/null || { echo "mpi: needs mpirun (apt-get install openmpi-bin)" >&2; exit 1; }
# Open MPI refuses to start as root without both.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
one_machine=${MPI_ONE_MACHINE:-1}
if [ "$one_machine" = 1 ]; then
    export OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader
fi
echo "mpi: building $build (Release, IMGPIPE_MPI=ON)" >&2
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DIMGPIPE_MPI=ON -DIMGPIPE_TESTS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target imgpipe >/dev/null
imgpipe=$build/imgpipe
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
inputs=$build/mpi-inputs
mkdir -p "$inputs" "$work/ref"

# picture SEED WxH FILE: ImageMagick's plasma fractal, else the built-in picture.
picture() {
    if command -v convert >/dev/null; then
        convert -seed "$1" -size "$2" plasma:fractal -depth 8 "$3"
    else
        "$imgpipe" run --backend simd --size "$2" --brightness 0 --contrast 1 --sigma 0 \
            --scale 1 --output "$3" >/dev/null 2>&1
    fi
}
if command -v convert >/dev/null; then
    source_note="ImageMagick plasma:fractal, seeds 300 and up"
else
    source_note="imgpipe's built-in picture (ImageMagick not installed)"
fi
neutral="--brightness 0 --contrast 1 --sigma 0 --scale 1"
i=0
for size in 4032x3024 4032x3024 4032x3024 3840x2160 3840x2160 3840x2160 \
    1920x1080 1920x1080 1920x1080 1920x1080 1280x720 1280x720; do
    i=$((i + 1))
    [ -f "$inputs/p$i.png" ] || picture $((300 + i)) "$size" "$inputs/p$i.png"
    if [ ! -f "$inputs/j$i.jpg" ]; then
        picture $((400 + i)) "$size" "$work/j$i.png"
        # shellcheck disable=SC2086
        "$imgpipe" run --backend simd --input "$work/j$i.png" $neutral \
            --output "$inputs/j$i.jpg" >/dev/null 2>&1
        rm -f "$work/j$i.png"
    fi
done
images=$(ls "$inputs" | wc -l)
[ "$images" -eq 24 ] || { echo "mpi: $inputs holds $images files, not the 24 pictures" >&2; exit 1; }
"$imgpipe" batch --backend simd --input-dir "$inputs" --output-dir "$work/ref" >/dev/null

# The commands, by name.
command_of() {
    o="--input-dir $inputs --output-dir $work/out"
    case $1 in
    single) echo "$imgpipe batch --cpus 0 --backend simd --jobs 1 $o" ;;
    1x1) echo "mpirun --bind-to core -n 1 $imgpipe batch --backend simd --jobs 1 $o" ;;
    2x1) echo "mpirun --bind-to core -n 2 $imgpipe batch --backend simd --jobs 1 $o" ;;
    2x2) echo "mpirun --bind-to core -n 2 $imgpipe batch --backend simd-threads --threads 2 --jobs 2 $o" ;;
    esac
}
configs="single 1x1 2x1 2x2"
for c in $configs; do
    rm -rf "$work/out" && mkdir "$work/out"
    $(command_of "$c") >"$out/run-$c.txt" 2>&1
done
rm -rf "$work/out" && mkdir "$work/out"
$(command_of 2x1) --trace "$out/trace-2x1.json" >/dev/null 2>&1
mpirun --bind-to core --report-bindings -n 2 true >"$out/bindings.txt" 2>&1 || true

echo "round,config,ranks,threads_per_rank,seconds,run_seconds,images" >"$out/mpi.csv"
echo "mpi: $rounds rounds of: $configs (and a warm-up round)" >&2
r=0
while [ "$r" -le "$rounds" ]; do
    for c in $configs; do
        rm -rf "$work/out" && mkdir "$work/out"
        t0=$(date +%s.%N)
        $(command_of "$c") >"$work/log" 2>&1 || { cat "$work/log" >&2; echo "mpi: $c failed" >&2; exit 1; }
        t1=$(date +%s.%N)
        diff -r "$work/ref" "$work/out" >/dev/null || { echo "mpi: $c: outputs differ" >&2; exit 1; }
        case $c in single | 1x1) ranks=1 tpr=1 ;; 2x1) ranks=2 tpr=1 ;; 2x2) ranks=2 tpr=2 ;; esac
        # The run's own wall time, from its report: without process and MPI start-up.
        run_s=$(sed -n -e 's/.*total: .* in \([0-9.]*\) s:.*/\1/p' \
            -e 's/.*overlapped ([^)]*): *\([0-9.]*\) s.*/\1/p' "$work/log")
        # Round 0 warms the page cache and the binaries: not recorded.
        [ "$r" -eq 0 ] ||
            echo "$r,$c,$ranks,$tpr,$(awk "BEGIN { printf \"%.4f\", $t1 - $t0 }"),$run_s,$images" >>"$out/mpi.csv"
    done
    r=$((r + 1))
done

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit: $(git -C "$src" rev-parse HEAD)$(git -C "$src" diff --quiet HEAD -- host CMakeLists.txt || echo ' (modified)')"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
    echo "cores: $(nproc)"
    echo "kernel: $(uname -sr)"
    echo "mpi: $(mpirun --version 2>&1 | head -n 1)"
    echo "inputs: $images files, $source_note"
    echo "rounds: $rounds (interleaved, after one warm-up round)"
    echo "one machine: $one_machine (1: OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader)"
} >"$out/machine.txt"

python3 - "$out" <<'PY'
import csv, statistics, sys
out = sys.argv[1]
rows = list(csv.DictReader(open(f"{out}/mpi.csv")))
names = {"single": "imgpipe batch, no mpirun, 1 core (--cpus 0)",
         "1x1": "mpirun -n 1, 1 thread (simd, --jobs 1)",
         "2x1": "mpirun -n 2, 1 thread each (simd, --jobs 1)",
         "2x2": "mpirun -n 2, 2 threads each (simd-threads --threads 2, --jobs 2)"}
stats = {}
for c in names:
    t = [float(r["seconds"]) for r in rows if r["config"] == c]
    images = int(next(r["images"] for r in rows if r["config"] == c))
    ranks = int(next(r["ranks"] for r in rows if r["config"] == c))
    tpr = int(next(r["threads_per_rank"] for r in rows if r["config"] == c))
    run = [float(r["run_seconds"]) for r in rows if r["config"] == c]
    stats[c] = (statistics.median(t), min(t), max(t), images, ranks, tpr, len(t),
                statistics.median(run))
base = stats["1x1"][0]
machine = open(f"{out}/machine.txt").read()
with open(f"{out}/summary.md", "w") as f:
    f.write("Whole job (process start to exit, mpirun's start-up included), "
            f"{stats['1x1'][3]} files, median of {stats['1x1'][6]} interleaved rounds.\n\n")
    f.write("| command | median s | min..max s | images/s | vs 1 rank x 1 thread "
            "| the run alone (its report): median s, vs 1x1 |\n")
    f.write("|---|---:|---:|---:|---:|---:|\n")
    run_base = stats["1x1"][7]
    for c, name in names.items():
        m, lo, hi, n, _, _, _, run = stats[c]
        f.write(f"| {name} | {m:.3f} | {lo:.3f}..{hi:.3f} | {n / m:.2f} | {base / m:.2f}x "
                f"| {run:.3f}, {run_base / run:.2f}x |\n")
    f.write("\n```\n" + machine + "```\n")
# The chart's data: one block per series: ranks, images/s at the median, at the
# slowest and at the fastest round; then the ideal line from 1 rank x 1 thread.
def block(f, label, configs):
    f.write(f'"{label}"\n')
    for c in configs:
        m, lo, hi, n, ranks, _, _, _ = stats[c]
        f.write(f"{ranks} {n / m:.4f} {n / hi:.4f} {n / lo:.4f}\n")
    f.write("\n\n")
with open(f"{out}/mpi.dat", "w") as f:
    block(f, "1 thread per rank (simd, --jobs 1)", ("1x1", "2x1"))
    block(f, "2 threads per rank (simd-threads, --jobs 2)", ("2x2",))
    block(f, "single process, no mpirun, 1 core", ("single",))
    n = stats["1x1"][3]
    f.write('"ideal: ranks x (1 rank x 1 thread)"\n')
    for ranks in (1, 2):
        f.write(f"{ranks} {ranks * n / base:.4f} {ranks * n / base:.4f} {ranks * n / base:.4f}\n")
with open(f"{out}/mpi_info.dat", "w") as f:
    f.write(f'"({n} files, whole job; single process on one core: {n / stats["single"][0]:.2f} images/s)" 0\n')
print(open(f"{out}/summary.md").read())
PY
caption="$(grep '^cpu:' "$out/machine.txt" | cut -d' ' -f2-), $(nproc) cores, $(date -u +%Y-%m-%d)"
if command -v gnuplot >/dev/null; then
    gnuplot -e "datadir='$out'; outdir='$out'; caption='$caption'" "$src/results/gnuplot/mpi.gp"
else
    echo "mpi: gnuplot not found: no chart (the data is in $out/mpi.dat)" >&2
fi
