#!/bin/sh
# The streamed opencl backend (issue 14) on this machine's OpenCL device, measured:
#   1. today's build against the single-shot backend it replaced (BASELINE, default the
#      last commit before streaming), in alternating rounds of `imgpipe bench` at 4K,
#      each binary with its defaults: the goal is "no more than 10 % slower" on PoCL,
#      where the device is the host and overlap cannot help;
#   2. a band sweep (--bands 1,2,3,4,8) at 1080p and 4K, straight transfers and
#      through pinned staging, one bench run each (bench.csv with streamed_s,
#      serialized_s and ideal_s per row, and the charts);
#   3. one traced 4K run in 4 pinned bands: the queues' timeline (trace-4k.json).
# Writes OUT/summary.md (machine, commits, the table), OUT/ab.csv (every round),
# OUT/sweep-direct/, OUT/sweep-pinned/ and OUT/trace-4k.json.
#
# usage: results/opencl_stream.sh OUT [BUILD_DIR] [BASELINE]
#   BUILD_DIR default build-rel; BASELINE a commit (default 9c69fcc).
# OPENCL_ROUNDS (default 7) A/B rounds; OPENCL_DEVICE (default: the backend's) is
# passed as --device.
set -eu
out=$1
src=$(cd "$(dirname "$0")/.." && pwd)
build=${2:-$src/build-rel}
baseline=${3:-9c69fcc}
rounds=${OPENCL_ROUNDS:-7}
device=${OPENCL_DEVICE:+--device $OPENCL_DEVICE}

cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DIMGPIPE_TESTS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target imgpipe >/dev/null
new=$build/imgpipe
work=$(mktemp -d)
cleanup() {
    git -C "$src" worktree remove --force "$work/baseline" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
git -C "$src" worktree add --detach "$work/baseline" "$baseline" >/dev/null 2>&1
cmake -S "$work/baseline" -B "$work/baseline-build" -DCMAKE_BUILD_TYPE=Release \
    -DIMGPIPE_TESTS=OFF >/dev/null
cmake --build "$work/baseline-build" -j "$(nproc)" --target imgpipe >/dev/null
old=$work/baseline-build/imgpipe
mkdir -p "$out"

# median_s of the opencl row of a bench folder.
median_of() {
    python3 - "$1/bench.csv" <<'EOF'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["backend"] == "opencl"]
assert rows and rows[0]["verdict"] == "bit-exact", rows
print(rows[0]["median_s"])
EOF
}

echo "round,binary,median_s" >"$out/ab.csv"
for r in $(seq "$rounds"); do
    for which in baseline streamed; do
        bin=$new
        [ "$which" = baseline ] && bin=$old
        rm -rf "$work/ab"
        # shellcheck disable=SC2086
        "$bin" bench --backends opencl --sizes 4k --reps 10 $device --out "$work/ab" \
            >/dev/null 2>&1
        echo "$r,$which,$(median_of "$work/ab")" >>"$out/ab.csv"
    done
    echo "opencl_stream: round $r of $rounds done" >&2
done

for mode in off on; do
    name=direct
    [ "$mode" = on ] && name=pinned
    rm -rf "$out/sweep-$name"
    # shellcheck disable=SC2086
    "$new" bench --backends opencl --sizes 1080p,4k --bands 1,2,3,4,8 --pinned "$mode" \
        $device --out "$out/sweep-$name" >"$out/sweep-$name.txt" 2>&1
done
# shellcheck disable=SC2086
"$new" run --backend opencl --size 4k --bands 4 --pinned on $device \
    --trace "$out/trace-4k.json" --output "$work/4k.png" >"$out/trace-4k.txt" 2>&1

python3 - "$out" "$baseline" "$(git -C "$src" rev-parse --short HEAD)" <<'EOF' >"$out/summary.md"
import csv, json, os, statistics, sys
out, baseline, head = sys.argv[1:4]
ab = list(csv.DictReader(open(os.path.join(out, "ab.csv"))))
def times(which):
    return [float(r["median_s"]) * 1e3 for r in ab if r["binary"] == which]
old, cur = times("baseline"), times("streamed")
env = json.load(open(os.path.join(out, "sweep-direct", "bench.json")))["environment"]
print(f"# opencl streaming, measured by results/opencl_stream.sh\n")
print(f"Machine: {env.get('cpu_model', '?')}, {os.cpu_count()} CPUs; OpenCL: {env.get('opencl', '?')}.")
print(f"Commit {head} (streamed) against {baseline} (single-shot), {len(old)} alternating rounds")
print("of `imgpipe bench --backends opencl --sizes 4k --reps 10`, each binary with its defaults.\n")
print("| build | median of round medians (ms) | min .. max (ms) |")
print("| --- | ---: | ---: |")
print(f"| single-shot ({baseline}) | {statistics.median(old):.2f} | {min(old):.2f} .. {max(old):.2f} |")
print(f"| streamed ({head}) | {statistics.median(cur):.2f} | {min(cur):.2f} .. {max(cur):.2f} |")
print(f"\nstreamed / single-shot: {statistics.median(cur) / statistics.median(old):.3f}\n")
for name in ("direct", "pinned"):
    print(f"## Band sweep, {name} transfers (sweep-{name}/bench.csv)\n")
    print("| size | setting | median (ms) | serialized (ms) | ideal (ms) | upload | kernel | download |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in csv.DictReader(open(os.path.join(out, f"sweep-{name}", "bench.csv"))):
        if r["backend"] != "opencl" or r.get("job", "pipeline") not in ("", "pipeline"):
            continue
        f = lambda k: f"{float(r[k]) * 1e3:.2f}" if r.get(k) else "-"
        print(f"| {r['width']}x{r['height']} | {r['setting']} | {f('median_s')} | "
              f"{f('serialized_s')} | {f('ideal_s')} | {f('upload_s')} | {f('kernel_s')} | "
              f"{f('download_s')} |")
    print()
EOF
cat "$out/summary.md"
