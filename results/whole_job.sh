#!/bin/sh
# The whole job as a user runs it: one file in, one file out, a whole process each,
# imgpipe against a libvips program doing the same four operations (tests/bench_vips.c),
# timed by hyperfine in the same session. Writes into OUT:
#   inputs: plasma-4k.png (ImageMagick's plasma fractal when `convert` exists, else
#           imgpipe's built-in picture) and plasma-4k.jpg (quality 90, made by imgpipe)
#   png.csv, jpeg.csv   hyperfine's figures per command (seconds)
#   summary.md          the table the README quotes, with sizes, machine and commit
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

png=$out/plasma-4k.png
jpg=$out/plasma-4k.jpg
if [ ! -f "$png" ]; then
    if command -v convert >/dev/null; then
        convert -seed 42 -size 3840x2160 plasma:fractal -depth 8 "$png"
        source_note="ImageMagick plasma:fractal, seed 42, 3840x2160 8-bit RGB"
    else
        "$imgpipe" run --size 4k --brightness 0 --contrast 1 --sigma 0 --scale 1 --output "$png" 2>/dev/null
        source_note="imgpipe's built-in picture at 3840x2160 (ImageMagick not installed)"
    fi
else
    source_note="the existing $(basename "$png")"
fi
# Every stage neutral: the picture itself, as a quality-90 JPEG.
[ -f "$jpg" ] || "$imgpipe" run --input "$png" --brightness 0 --contrast 1 --sigma 0 --scale 1 \
    --output "$jpg" 2>/dev/null

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
