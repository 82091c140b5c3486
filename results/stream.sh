#!/bin/sh
# `imgpipe run --stream off` against `--stream on` (issue 13, item 4), whole processes
# timed by hyperfine in interleaved runs, and the outputs compared byte for byte:
#   4K PNG -> PNG (the plasma fractal, seed 42, as results/whole_job.sh),
#   4K JPEG (q90, made by imgpipe from that PNG) -> JPEG and -> PNG, 1080p PNG -> PNG.
# Writes OUT/*-hyperfine.txt, OUT/*.json (hyperfine's), OUT/run-*.txt (one run's own
# account each way, with --trace OUT/trace-4k-png.json for the streamed one) and
# OUT/summary.txt (median and min..max per case).
#
# usage: results/stream.sh OUT [BUILD_DIR]   (BUILD_DIR default: build-rel)
# STREAM_RUNS (default 15) timed runs per command after 2 warm-ups; STREAM_BACKEND
# (default simd-threads). Needs hyperfine and ImageMagick's convert.
set -eu
out=$1
src=$(cd "$(dirname "$0")/.." && pwd)
build=${2:-$src/build-rel}
runs=${STREAM_RUNS:-15}
backend=${STREAM_BACKEND:-simd-threads}
command -v hyperfine >/dev/null || { echo "stream: needs hyperfine" >&2; exit 1; }
command -v convert >/dev/null || { echo "stream: needs ImageMagick's convert" >&2; exit 1; }
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" --target imgpipe >/dev/null
imgpipe=$build/imgpipe
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

convert -seed 42 -size 3840x2160 plasma:fractal -depth 8 "$work/4k.png"
convert -seed 42 -size 1920x1080 plasma:fractal -depth 8 "$work/1080p.png"
"$imgpipe" run --input "$work/4k.png" --brightness 0 --contrast 1 --sigma 0 --scale 1 \
    --output "$work/4k.jpg" 2>/dev/null

: >"$out/summary.txt"
# case NAME INPUT EXT
case_() {
    name=$1 in=$2 ext=$3
    off="$imgpipe run --backend $backend --stream off --input $in --output $work/off.$ext"
    on="$imgpipe run --backend $backend --stream on --input $in --output $work/on.$ext"
    hyperfine -N -w 2 -r "$runs" --export-json "$out/$name.json" "$off" "$on" \
        >"$out/$name-hyperfine.txt" 2>&1
    cmp "$work/off.$ext" "$work/on.$ext" || { echo "stream: $name outputs differ" >&2; exit 1; }
    $off >"$out/run-$name-off.txt" 2>&1
    $on --trace "$out/trace-$name.json" >"$out/run-$name-on.txt" 2>&1
    python3 - "$out/$name.json" "$name" >>"$out/summary.txt" <<'EOF'
import json, statistics, sys
r = json.load(open(sys.argv[1]))["results"]
med = [statistics.median(x["times"]) * 1e3 for x in r]
print(f"{sys.argv[2]:12s} off {med[0]:7.1f} ms ({min(r[0]['times'])*1e3:.1f}..{max(r[0]['times'])*1e3:.1f})"
      f"  on {med[1]:7.1f} ms ({min(r[1]['times'])*1e3:.1f}..{max(r[1]['times'])*1e3:.1f})"
      f"  off/on {med[0] / med[1]:.2f}x")
EOF
}
case_ 4k-png "$work/4k.png" png
case_ 4k-jpeg "$work/4k.jpg" jpg
case_ 4k-jpeg-png "$work/4k.jpg" png
case_ 1080p-png "$work/1080p.png" png
cat "$out/summary.txt"
