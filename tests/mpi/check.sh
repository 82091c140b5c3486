#!/bin/sh
# `mpirun -n N imgpipe batch` against the single-process batch of the same folder, with
# the real program: 1, 2 and 4 ranks on this one machine (loopback, oversubscribed).
#   - outputs byte-identical to `imgpipe batch` of the same folder (PNG, JPEG and PNM
#     inputs of mixed sizes), the bad file named exactly once, exit status 1;
#   - the one report: a row per rank and the total;
#   - --trace: one Chrome trace with a process row per rank;
#   - --compare: rank 0's sequential loop, reported beside the ranks' run;
#   - a refused command line (OUT is IN): one message, exit 2, nothing written;
#   - with the test hook (Debug builds): rank 1 kills itself after its first output:
#     the run aborts, mpirun names rank 1, and every file left in OUT is complete (the
#     same bytes as the reference) with no temporary file beside it.
#
# usage: check.sh IMGPIPE MPIEXEC HOOKS   (HOOKS: 1 when the binary has the test hook)
set -eu
imgpipe=$1
mpiexec=$2
hooks=$3
# Open MPI refuses to start as root without both (CI runs as root).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir "$work/in" "$work/ref"
i=0
for size in 1280x720 96x64 640x480 333x211 800x600 1024x576 160x120 512x512; do
    i=$((i + 1))
    "$imgpipe" run --backend simd --size "$size" --output "$work/in/p$i.png" >/dev/null 2>&1
    # Every stage neutral: the picture itself, as a JPEG.
    "$imgpipe" run --backend simd --size "$size" --brightness 0 --contrast 1 --sigma 0 \
        --scale 1 --output "$work/in/j$i.jpg" >/dev/null 2>&1
done
"$imgpipe" run --backend simd --size 300x200 --output "$work/in/n1.ppm" >/dev/null 2>&1
"$imgpipe" run --backend simd --size 700x90 --output "$work/in/n2.ppm" >/dev/null 2>&1
printf 'not an image' >"$work/in/bad.png"
echo "a note" >"$work/in/README.txt"
files=$(ls "$work/in" | grep -vc README)   # 19 images, one of them bad
good=$((files - 1))

set +e
"$imgpipe" batch --backend simd --input-dir "$work/in" --output-dir "$work/ref" \
    >"$work/ref.out" 2>"$work/ref.err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "single-process batch: exit $rc, expected 1"
[ "$(ls "$work/ref" | wc -l)" -eq "$good" ] || fail "single-process batch wrote $(ls "$work/ref" | wc -l) files"

# Without mpirun batch is the single-process batch: no MPI report, and --trace refused.
grep -q "overlapped (" "$work/ref.out" || fail "single-process batch: no overlapped line"
! grep -q "MPI" "$work/ref.out" || fail "single-process batch: an MPI report without mpirun"
set +e
"$imgpipe" batch --trace "$work/t.json" --input-dir "$work/in" --output-dir "$work/ref" \
    >/dev/null 2>"$work/trace-refused.err"
rc=$?
set -e
[ "$rc" -eq 2 ] && grep -q "batch: --trace is for batch under mpirun" "$work/trace-refused.err" ||
    fail "batch --trace without mpirun: exit $rc, expected 2 and a message"
[ ! -e "$work/t.json" ] || fail "batch --trace without mpirun wrote a trace"
echo "ok: without mpirun: the single-process batch, --trace refused (exit 2)"

# run_ranks N OUT [extra options]: the MPI run, its exit status in $rc.
run_ranks() {
    n=$1
    out=$2
    shift 2
    mkdir -p "$out"
    set +e
    "$mpiexec" --oversubscribe -n "$n" "$imgpipe" batch --backend simd --jobs 1 \
        --input-dir "$work/in" --output-dir "$out" "$@" >"$out.out" 2>"$out.err"
    rc=$?
    set -e
}

for n in 1 2 4; do
    out=$work/out$n
    run_ranks "$n" "$out"
    [ "$rc" -ne 0 ] || fail "$n ranks: exit 0 with a bad file"
    diff -r "$work/ref" "$out" || fail "$n ranks: outputs differ from the single-process batch"
    named=$(grep -c "bad.png: unrecognised image format" "$out.err" || true)
    [ "$named" -eq 1 ] || { cat "$out.err" >&2; fail "$n ranks: the bad file named $named times"; }
    grep -q "batch: $files image files: $good processed, 1 failed; 1 other entry ignored" "$out.out" ||
        { cat "$out.out" >&2; fail "$n ranks: summary line"; }
    grep -q "batch under MPI: $n rank" "$out.out" || fail "$n ranks: no MPI report"
    rows=$(grep -cE '^  [0-9]+ ' "$out.out")
    [ "$rows" -eq "$n" ] || fail "$n ranks: $rows rank rows in the report"
    grep -q "total: $good processed, 1 failed" "$out.out" || fail "$n ranks: total line"
    echo "ok: $n rank(s): outputs identical, bad file named once, report of $rows rank(s)"
done

# Every rank's work with 2 ranks x 2 threads each (--jobs 2), traced.
run_ranks 2 "$work/traced" --jobs 2 --trace "$work/trace.json"
diff -r "$work/ref" "$work/traced" || fail "traced run: outputs differ"
for r in 0 1; do
    grep -q "\"process_name\", \"ph\": \"M\", \"pid\": $r, .*\"rank $r (" "$work/trace.json" ||
        fail "trace: no process row for rank $r"
done
for stage in decode pipeline encode write; do
    grep -q "\"cat\": \"$stage\"" "$work/trace.json" || fail "trace: no $stage span"
done
# One decode span per file, the bad file's too (its decode fails, and is timed).
decodes=$(grep -c '"cat": "decode"' "$work/trace.json")
[ "$decodes" -eq "$files" ] || fail "trace: $decodes decode spans for $files files"
echo "ok: --trace: a process row per rank, $decodes decode spans"

# --compare: rank 0's sequential loop first, into a scratch folder it removes.
run_ranks 2 "$work/compared" --compare
diff -r "$work/ref" "$work/compared" || fail "--compare: outputs differ, or the scratch folder is left"
grep -q "sequential loop (--compare, rank 0 alone): .* the ranks together [0-9.]*x" \
    "$work/compared.out" || fail "--compare: no comparison line"
named=$(grep -c "bad.png" "$work/compared.err" || true)
[ "$named" -eq 1 ] || fail "--compare: the bad file named $named times"
echo "ok: --compare: the sequential loop on rank 0, outputs identical, bad file named once"

# A refused command line is refused once, by rank 0, before anything is written.
run_ranks 2 "$work/refused" --output-dir "$work/in"
[ "$rc" -ne 0 ] || fail "OUT = IN under mpirun: exit 0"
n=$(grep -c "is the input folder" "$work/refused.err" || true)
[ "$n" -eq 1 ] || { cat "$work/refused.err" >&2; fail "OUT = IN: message printed $n times"; }
[ "$(ls "$work/in" | wc -l)" -eq $((files + 1)) ] || fail "OUT = IN: the input folder changed"
echo "ok: a refused command line: one message, exit $rc"

if [ "$hooks" = 1 ]; then
    # The test hook: rank 1 kills itself (SIGKILL) before its second output.
    out=$work/killed
    IMGPIPE_TEST_MPI_KILL_RANK=1 run_ranks 2 "$out"
    [ "$rc" -ne 0 ] || fail "a rank died: exit 0"
    grep -q "process rank 1 .*exited on signal 9" "$out.err" ||
        { cat "$out.err" >&2; fail "a rank died: no message naming rank 1"; }
    left=$(ls -A "$out" | grep -c '\.tmp\.' || true)
    [ "$left" -eq 0 ] || { ls -A "$out" >&2; fail "a rank died: $left temporary files left in OUT"; }
    kept=0
    for f in "$out"/*; do
        [ -e "$f" ] || continue
        cmp -s "$f" "$work/ref/$(basename "$f")" || fail "a rank died: $f is not the complete output"
        kept=$((kept + 1))
    done
    echo "ok: rank 1 died: exit $rc, mpirun named rank 1, $kept complete outputs and nothing else left"
else
    echo "note: no test hook in this build (not Debug): the rank-death check did not run"
fi
echo "all MPI checks passed"
