#!/bin/sh
# The whole job as a user runs it, measured in one session (issue 13's reference):
#   1. one file in, one file out, a whole process each: imgpipe against a libvips
#      program doing the same four operations (tests/bench_vips.c), timed by hyperfine
#      -> png.csv, jpeg.csv, *-hyperfine.txt, summary.md (the README's table)
#   2. where imgpipe's time goes: `imgpipe run` on each input -> run-png.txt, run-jpeg.txt
#   3. bench --input on the 4K PNG: pipeline and whole-job rows per backend, and the
#      charts (job.png: decode / pipeline / encode, Amdahl's ceiling) -> bench/
#   4. the PNG encoders on the pipeline's 1080p output and on the 4K input -> codecs/,
#      and on the built-in picture at 1080p and 4K -> codecs-builtin/
#   5. the PNG and JPEG decoders on the same files -> decode-bench.txt
#   6. batch on 16 mixed 1080p pictures (8 PNG, 8 JPEG) against a sequential loop in the
#      same run -> batch.txt
# The inputs (ImageMagick's plasma fractal, seeds 42 and up, when `convert` exists, else
# imgpipe's built-in picture) are made in BUILD_DIR/whole-job-inputs and not committed.
#
# usage: results/whole_job.sh OUT [BUILD_DIR]   (BUILD_DIR default: build-whole-job)
# Needs hyperfine and libvips-dev (neither is needed to build or test imgpipe).
set -eu
out=$1
src=$(cd "$(dirname "$0")/.." && pwd)
build=${2:-$src/build-whole-job}
runs=${WHOLE_JOB_RUNS:-10}
threads=${WHOLE_JOB_THREADS:-$(nproc)}

command -v hyperfine >/dev/null || { echo "whole_job: needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }
echo "whole_job: building $build (Release, with bench_vips)" >&2
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DIMGPIPE_VIPS_COMPARE=ON \
    -DIMGPIPE_TESTS=OFF >/dev/null
cmake --build "$build" -j "$threads" --target imgpipe bench_vips >/dev/null
imgpipe=$build/imgpipe
vips=$build/bench_vips
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
inputs=$build/whole-job-inputs
mkdir -p "$inputs/photos"

# picture SEED WxH FILE: ImageMagick's plasma fractal, else the built-in picture.
picture() {
    if command -v convert >/dev/null; then
        convert -seed "$1" -size "$2" plasma:fractal -depth 8 "$3"
    else
        "$imgpipe" run --size "$2" --brightness 0 --contrast 1 --sigma 0 --scale 1 --output "$3" 2>/dev/null
    fi
}
if command -v convert >/dev/null; then
    source_note="ImageMagick plasma:fractal, seed 42, 3840x2160 8-bit RGB"
else
    source_note="imgpipe's built-in picture at 3840x2160 (ImageMagick not installed)"
fi
neutral="--brightness 0 --contrast 1 --sigma 0 --scale 1"
png=$inputs/plasma-4k.png
jpg=$inputs/plasma-4k.jpg
half=$inputs/pipeline-output-1080p.png
[ -f "$png" ] || picture 42 3840x2160 "$png"
# Every stage neutral: the picture itself, as a quality-90 JPEG.
# shellcheck disable=SC2086
[ -f "$jpg" ] || "$imgpipe" run --input "$png" $neutral --output "$jpg" 2>/dev/null
# What `run` encodes: the default pipeline's 1920x1080 output.
[ -f "$half" ] || "$imgpipe" run --backend simd-threads --input "$png" --output "$half" 2>/dev/null
for i in 1 2 3 4 5 6 7 8; do
    [ -f "$inputs/photos/p$i.png" ] || picture $((100 + i)) 1920x1080 "$inputs/photos/p$i.png"
    if [ ! -f "$inputs/photos/j$i.jpg" ]; then
        picture $((200 + i)) 1920x1080 "$work/j$i.png"
        # shellcheck disable=SC2086
        "$imgpipe" run --input "$work/j$i.png" $neutral --output "$inputs/photos/j$i.jpg" 2>/dev/null
    fi
done

time_pair() {   # name input extension
    hyperfine --style basic --warmup 2 --runs "$runs" --export-csv "$out/$1.csv" \
        -n "imgpipe simd-threads" "$imgpipe run --backend simd-threads --threads $threads --input $2 --output $work/imgpipe.$3" \
        -n "libvips (VIPS_CONCURRENCY=$threads)" "env VIPS_CONCURRENCY=$threads $vips $2 $work/vips.$3" \
        >"$out/$1-hyperfine.txt"
}
echo "whole_job: timing PNG -> PNG and JPEG -> JPEG, $runs runs each" >&2
time_pair png "$png" png
png_sizes="$(stat -c %s "$work/imgpipe.png") $(stat -c %s "$work/vips.png")"
time_pair jpeg "$jpg" jpg
jpg_sizes="$(stat -c %s "$work/imgpipe.jpg") $(stat -c %s "$work/vips.jpg")"

# hyperfine's CSV: command,mean,stddev,median,user,system,min,max
median_ms() { awk -F, -v row="$2" 'NR == row + 1 { printf "%.0f", $4 * 1000 }' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }
{
    echo "# The whole job: imgpipe against libvips, file in, file out"
    echo
    echo "Command: \`results/whole_job.sh $out\`; $("$imgpipe" info | sed -n 1p)."
    echo "Machine: $("$imgpipe" info | sed -n 2,3p | paste -sd ';' | sed 's/;/; /'); $(date -u +%Y-%m-%dT%H:%MZ)."
    echo "Input: $source_note; the JPEG made from it by imgpipe at quality 90."
    echo "Each command a whole process, hyperfine median of $runs runs after 2 warm-ups;"
    echo "imgpipe \`run --backend simd-threads --threads $threads\`, libvips \`VIPS_CONCURRENCY=$threads\`,"
    echo "both with the same four operations and output size (1920x1080)."
    echo
    echo "| job | imgpipe median | libvips median | imgpipe faster by | imgpipe output | libvips output |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    set -- $png_sizes
    echo "| PNG -> PNG | $(median_ms "$out/png.csv" 1) ms | $(median_ms "$out/png.csv" 2) ms |" \
        "$(ratio "$(median_ms "$out/png.csv" 1)" "$(median_ms "$out/png.csv" 2)")x | $1 bytes | $2 bytes |"
    set -- $jpg_sizes
    echo "| JPEG q90 -> JPEG | $(median_ms "$out/jpeg.csv" 1) ms | $(median_ms "$out/jpeg.csv" 2) ms |" \
        "$(ratio "$(median_ms "$out/jpeg.csv" 1)" "$(median_ms "$out/jpeg.csv" 2)")x | $1 bytes | $2 bytes |"
} >"$out/summary.md"
cat "$out/summary.md"

echo "whole_job: run's own account of the time" >&2
"$imgpipe" run --backend simd-threads --input "$png" --output "$work/run.png" >"$out/run-png.txt" 2>&1
"$imgpipe" run --backend simd-threads --input "$jpg" --output "$work/run.jpg" >"$out/run-jpeg.txt" 2>&1

echo "whole_job: bench --input (pipeline and whole-job rows, every backend)" >&2
mkdir -p "$out/bench"
"$imgpipe" bench --input "$png" --out "$out/bench" >"$out/bench/bench-stdout.txt"
"$imgpipe" chart "$out/bench" >/dev/null

echo "whole_job: PNG encoders" >&2
mkdir -p "$out/codecs"
"$imgpipe" codecs --input "$half" --input "$png" --reps 3 --out "$out/codecs" >"$out/codecs/codecs-stdout.txt"
mkdir -p "$out/codecs-builtin"
"$imgpipe" codecs --sizes 1080p,4k --reps 3 --out "$out/codecs-builtin" \
    >"$out/codecs-builtin/codecs-stdout.txt"

echo "whole_job: decoders" >&2
"$imgpipe" decode-bench "$png" "$half" "$jpg" >"$out/decode-bench.txt"

echo "whole_job: batch of 16 mixed 1080p pictures against a sequential loop" >&2
"$imgpipe" batch --backend simd-threads --input-dir "$inputs/photos" --output-dir "$work" --compare \
    >"$out/batch.txt" 2>&1
echo "whole_job: done: $out" >&2
