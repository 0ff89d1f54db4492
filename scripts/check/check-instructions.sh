#!/usr/bin/env bash
# Checks the instruction-count gate (scripts/bench/instructions.sh) end to end: per round it
# counts three builds — A and B this build, C a build that carries a planted change of at least 2%
# in the instructions of the native engine — then the gate must find nothing between A and B and
# the change between A and C (exit 2 at the 1% threshold). The llama.cpp rows are not planted: a
# verdict on them is a false alarm, as is any verdict between A and B.
#
# The planted build is this tree copied to .build-planted/src with NativeBackend's prefill and
# decode made to run a xorshift loop per token (its result stored in a global, so the optimiser
# keeps it): PREFILL_ITERATIONS per prompt token and DECODE_ITERATIONS per decode step. An
# iteration costs 10 instructions (measured), and the defaults are 2% of the larger native count
# of each phase (Q8_0: 33.28M Ir per prompt token, 87.04M per decode step, measured 2026-12-03),
# so Q8_0 grows by 2.0% and Q4_0, whose counts are smaller, by 3.1% (prefill) and 3.3% (decode). It is built into .build-planted/build,
# the scratch folder scripts/check/check-compare.sh uses for its own planted build: the two plant
# different changes into the same file, so running one after the other rebuilds that module (a few
# minutes) and they must not run at the same time. Nothing of it is committed.
#
# The counts do not depend on the machine's load, so the three builds are measured side by side.
#
#   scripts/check/check-instructions.sh [WORK-FOLDER] [ROUNDS]
#   (defaults: a new folder under /tmp, 1 round; about 8 minutes a round on 2 cores)
#   PREFILL_ITERATIONS=N DECODE_ITERATIONS=N scripts/check/check-instructions.sh …   (another plant size)
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${1:-$(mktemp -d /tmp/slmbench-instructions-check.XXXXXX)}
rounds=${2:-1}
prefill_iterations=${PREFILL_ITERATIONS:-66600}
decode_iterations=${DECODE_ITERATIONS:-174100}
if ! [[ "$rounds" =~ ^[1-9][0-9]*$ ]]; then echo "check-instructions: ROUNDS must be a positive number, got '$rounds'" >&2; exit 64; fi
for n in "$prefill_iterations" "$decode_iterations"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "check-instructions: PREFILL_ITERATIONS and DECODE_ITERATIONS must be numbers, got '$n'" >&2; exit 64; }
done
mkdir -p "$work"
swift build -c release --product slmbench 2>&1 | tail -n 1 >&2
slmbench=$PWD/.build/release/slmbench

# The planted build: the same sources, one file changed.
planted_src=.build-planted/src
planted_file=$planted_src/Sources/Backends/NativeBackend.swift
mkdir -p "$planted_src"
[ -f "$planted_file" ] && cp -a "$planted_file" "$work/NativeBackend.previous.swift"
cp -a Package.swift Sources Tests "$planted_src/"
python3 - "$planted_file" "$prefill_iterations" "$decode_iterations" <<'PY'
import re, sys
path, prefill, decode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
text = open(path).read()
call = re.compile(r"(        catch \{ throw BackendError\(Self\.code\(error\), error\.description\) \}\n)(        return CallTiming\(startNanoseconds: start, endNanoseconds: MonotonicClock\.now\(\)\))")
counts = iter([f"tokens.count * {prefill}", f"steps.count * {decode}"])
text, n = call.subn(lambda m: m.group(1) + f"        plantedWork({next(counts)}) // planted (scripts/check/check-instructions.sh)\n" + m.group(2), text)
if n != 2:
    sys.exit(f"check-instructions: expected to plant the change in prefill and decode of {path}, matched {n} places; update the script")
text += """
// Planted by scripts/check/check-instructions.sh: a xorshift chain the optimiser cannot fold, kept by
// storing its result in a global.
nonisolated(unsafe) var plantedSink: UInt64 = 0x9E37_79B9_7F4A_7C15
@inline(never) func plantedWork(_ iterations: Int) {
    var x = plantedSink
    for _ in 0..<iterations { x ^= x << 13; x ^= x >> 7; x ^= x << 17 }
    plantedSink = x
}
"""
open(path, "w").write(text)
PY
# Unchanged since the last build: keep the old timestamp, so nothing rebuilds.
if [ -f "$work/NativeBackend.previous.swift" ] && cmp -s "$planted_file" "$work/NativeBackend.previous.swift"; then
  cp -a "$work/NativeBackend.previous.swift" "$planted_file"
fi
echo "check-instructions: building the planted build (.build-planted)" >&2
swift build -c release --product slmbench --package-path "$planted_src" --scratch-path .build-planted/build 2>&1 | tail -n 1 >&2
# Copies, so that a later build of either tree cannot change a binary under measurement.
cp "$slmbench" "$work/slmbench-A"
cp .build-planted/build/release/slmbench "$work/slmbench-C"

status=0
summary=()
for round in $(seq 1 "$rounds"); do
  echo "check-instructions: round $round of $rounds: counting A, B (the same binary) and C (planted) side by side" >&2
  pids=()
  for side in A B C; do
    binary=$work/slmbench-A; [ "$side" = C ] && binary=$work/slmbench-C
    scripts/bench/instructions.sh --out "$work/$side$round" "$binary" >/dev/null 2>"$work/$side$round.log" & pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || { echo "check-instructions: a measurement failed; see $work/*$round.log" >&2; exit 1; }; done
  set +e
  echo
  echo "== round $round: A vs B, the same build =="
  scripts/bench/instructions.sh --base-counts "$work/A$round/counts.tsv" --new-counts "$work/B$round/counts.tsv" --out "$work/AB$round"; same=$?
  echo
  echo "== round $round: A vs C, planted change =="
  scripts/bench/instructions.sh --base-counts "$work/A$round/counts.tsv" --new-counts "$work/C$round/counts.tsv" --out "$work/AC$round"; found=$?
  set -e
  [ "$same" -eq 0 ] || status=1
  [ "$found" -eq 2 ] || status=1
  counts=$(python3 - "$work/AB$round/instructions.md" "$work/AC$round/instructions.md" <<'PY'
import sys
def rows(path):
    return [r for r in (l.split("|")[1:-1] for l in open(path) if l.startswith(("| native", "| llama"))) if len(r) == 8]
same, planted = rows(sys.argv[1]), rows(sys.argv[2])
called = lambda rs: sum(("regression" in r[-1]) or ("improvement" in r[-1]) for r in rs)
native = [r for r in planted if r[0].strip() == "native"]
control = [r for r in planted if r[0].strip() != "native"]
ratio = lambda r: float(r[5].replace(",", "")) / float(r[4].replace(",", ""))
spread = max(abs(ratio(r) - 1) for r in same)
print(f"same build {called(same)} of {len(same)} rows called (largest |ratio - 1| {spread:.1e}); planted "
      f"{sum('regression' in r[-1] for r in native)} of {len(native)} rows called regressions (ratios "
      f"{min(map(ratio, native)):.4f}-{max(map(ratio, native)):.4f}); control {called(control)} of {len(control)} rows called")
PY
) || counts="(row counts unavailable)"
  summary+=("round $round: A vs B exit $same (want 0), A vs C exit $found (want 2); $counts")
done
echo
printf 'check-instructions: %s\n' "${summary[@]}"
echo "check-instructions: folders in $work"
exit $status
