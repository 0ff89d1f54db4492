#!/usr/bin/env bash
# Checks the regression gate end to end on this machine: a small sweep run with three builds —
# A and B this build, C a build that carries a planted 10% slowdown in the native engine — then
# `slmbench compare A B` must find no regression and `slmbench compare A C` must find the slowdown
# (exit 2 with --fail-on-regression).
#
# A shared machine's speed drifts by more than 5% within minutes (seen here: the same build 15%
# slower on one configuration in the next sweep), and the slowdowns come in bursts as long as a
# sweep. So the builds are interleaved as a careful benchmarker would: each round runs each
# build's sweep six times (3 repetitions each), in the six orders of A, B and C, and compare pools
# each side's six sweeps (`compare A1,…,A6 B1,…,B6`). With six sweeps a side compare also tests the
# per-sweep medians, so one slow burst cannot make a verdict on its own. Measured 2026-11-28
# (6 rounds): same build never a regression (one round a false "improvement"); the planted
# slowdown found in 4 of 6 — a 1-thread run on this host switches between two speed states about
# 1.35× apart (README, "Comparing results").
#
# The planted slowdown is in the build, as a real regression would be; a CPU cgroup instead would
# slow the whole host, which is not what a build gate should be asked to find.
#
# The planted build is this tree copied to .build-planted/src with NativeBackend's prefill and
# decode made to spin for a ninth of each call's time (11% longer calls, ~10% fewer tokens/s),
# built into .build-planted (incremental after the first time). Nothing of it is committed.
# A benchmark-style check: CI does not run it; run it on a quiet machine.
#
#   scripts/check-compare.sh [WORK-FOLDER] [ROUNDS]   (default: a new folder under /tmp, 1 round)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d /tmp/slmbench-compare.XXXXXX)}
rounds=${2:-1}
mkdir -p "$work"
swift build -c release --product slmbench 2>&1 | tail -n 1 >&2
slmbench=$PWD/.build/release/slmbench

# The planted build: the same sources, one file changed.
planted_src=.build-planted/src
planted_file=$planted_src/Sources/Backends/NativeBackend.swift
mkdir -p "$planted_src"
[ -f "$planted_file" ] && cp -a "$planted_file" "$work/NativeBackend.previous.swift"
cp -a Package.swift Sources Tests "$planted_src/"
python3 - "$planted_file" <<'PY'
import re, sys
path = sys.argv[1]
text = open(path).read()
call = re.compile(r"(        catch \{ throw BackendError\(Self\.code\(error\), error\.description\) \}\n)(        return CallTiming\(startNanoseconds: start, endNanoseconds: MonotonicClock\.now\(\)\))")
text, n = call.subn(r"\1        let planted = MonotonicClock.now() + (MonotonicClock.now() - start) / 9 // planted slowdown (scripts/check-compare.sh)\n        while MonotonicClock.now() < planted {}\n\2", text)
if n != 2:
    sys.exit(f"check-compare: expected to plant the slowdown in prefill and decode of {path}, matched {n} places; update the script")
open(path, "w").write(text)
PY
# Unchanged since the last check: keep the old timestamp, so nothing rebuilds.
if [ -f "$work/NativeBackend.previous.swift" ] && cmp -s "$planted_file" "$work/NativeBackend.previous.swift"; then
  cp -a "$work/NativeBackend.previous.swift" "$planted_file"
fi
echo "check-compare: building the planted build (.build-planted)" >&2
swift build -c release --product slmbench --package-path "$planted_src" --scratch-path .build-planted/build 2>&1 | tail -n 1 >&2
planted=$PWD/.build-planted/build/release/slmbench

spec=$work/spec.yaml
cat > "$spec" <<'YAML'
name: gate
axes:
  model: smollm2-135m
  type: [q8_0, q4_0]
  backend: native
  threads: 1
  prompt: 64
  gen: 64
measurement:
  warmup: 1
  min_repetitions: 3
  max_repetitions: 3
reference:
  every: 0
YAML

store=$work/results.sqlite
status=0
summary=()
for round in $(seq 1 "$rounds"); do
  part=0
  for order in "A B C" "B C A" "C A B" "A C B" "C B A" "B A C"; do
    part=$((part + 1))
    for side in $order; do
      binary=$slmbench; [ "$side" = C ] && binary=$planted
      echo "check-compare: round $round, part $part, sweep $side$([ "$side" = C ] && echo ' (planted 10% slowdown)')" >&2
      "$binary" sweep "$spec" --id "$side$round-$part" --out "$work/$side$round-$part" --store "$store" >/dev/null 2>>"$work/sweeps.log"
    done
  done
  pool() { local i list=; for i in $(seq 1 "$part"); do list+=${list:+,}$work/$1$round-$i; done; echo "$list"; }
  set +e
  echo
  echo "== round $round: A vs B, the same build =="
  "$slmbench" compare "$(pool A)" "$(pool B)" --fail-on-regression | tee "$work/AB$round.md"; same=${PIPESTATUS[0]}
  echo
  echo "== round $round: A vs C, planted 10% slowdown =="
  "$slmbench" compare "$(pool A)" "$(pool C)" --fail-on-regression | tee "$work/AC$round.md"; found=${PIPESTATUS[0]}
  set -e
  [ "$same" -eq 0 ] || status=1
  [ "$found" -eq 2 ] || status=1
  summary+=("round $round: A vs B exit $same (want 0), A vs C exit $found (want 2)")
done
echo
printf 'check-compare: %s\n' "${summary[@]}"
echo "check-compare: folders in $work"
exit $status
