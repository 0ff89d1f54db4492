#!/usr/bin/env bash
# Checks the regression gate end to end on this machine: a small sweep (SmolLM2-135M at Q8_0 and
# Q4_0, pp64 and tg64, 1 thread, 1 warm-up and 2 repetitions) run with three builds — A and B this
# build, C a build that carries a planted 10% slowdown in the native engine — then
# `slmbench compare A B` must find no regression and `slmbench compare A C` must find the slowdown
# (exit 2 with --fail-on-regression).
#
# A shared machine's speed is set per process and per few seconds: on the VM this project is
# developed on, one configuration's repetitions spanned 98–274 t/s within a quarter of an hour, in
# discrete levels a process keeps for seconds. So the unit of noise is the sweep, not the
# repetition, and what buys a gate its power is the number of sweeps, run interleaved so that the
# machine's states fall on every build alike. Each round runs each build's sweep SWEEPS times
# (default 24: four cycles of the six orders of A, B and C; about 12 s a sweep, 15 minutes a
# round), and compare pools each side's sweeps (`compare A1,…,A24 B1,…,B24`), testing the
# per-sweep medians as well as the repetitions. Measurements: README, "Comparing results".
#
# The planted slowdown is in the build, as a real regression would be; a CPU cgroup instead would
# slow the whole host, which is not what a build gate should be asked to find.
#
# The planted build is this tree copied to .build-planted/src with NativeBackend's prefill and
# decode made to spin for a ninth of each call's time (11% longer calls, ~10% fewer tokens/s),
# built into .build-planted (incremental after the first time). Nothing of it is committed.
# A benchmark-style check: CI does not run it; run it on a quiet machine.
#
#   scripts/check/check-compare.sh [WORK-FOLDER] [ROUNDS] [SWEEPS]
#   (defaults: a new folder under /tmp, 1 round, 24 sweeps a build per round; SWEEPS a multiple of 6)
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${1:-$(mktemp -d /tmp/slmbench-compare.XXXXXX)}
rounds=${2:-1}
sweeps=${3:-24}
if ! [[ "$sweeps" =~ ^[0-9]+$ ]] || [ "$sweeps" -lt 6 ] || [ $((sweeps % 6)) -ne 0 ]; then
  echo "check-compare: SWEEPS must be a multiple of 6 (each cycle runs the six orders of A, B and C), got '$sweeps'" >&2; exit 64
fi
mkdir -p "$work"
swift build -c release --product slmbench 2>&1 | tail -n 1 >&2
slmbench=$PWD/.build/release/slmbench
"$slmbench" models fetch smollm2-135m >/dev/null

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
text, n = call.subn(r"\1        let planted = MonotonicClock.now() + (MonotonicClock.now() - start) / 9 // planted slowdown (scripts/check/check-compare.sh)\n        while MonotonicClock.now() < planted {}\n\2", text)
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
  min_repetitions: 2
  max_repetitions: 2
reference:
  every: 0
YAML

store=$work/results.sqlite
status=0
summary=()
orders=(ABC BCA CAB ACB CBA BAC)
for round in $(seq 1 "$rounds"); do
  for part in $(seq 1 "$sweeps"); do
    order=${orders[$(((part - 1) % 6))]}
    for side in "${order:0:1}" "${order:1:1}" "${order:2:1}"; do
      binary=$slmbench; [ "$side" = C ] && binary=$planted
      echo "check-compare: round $round, part $part of $sweeps, sweep $side$([ "$side" = C ] && echo ' (planted 10% slowdown)')" >&2
      "$binary" sweep "$spec" --id "$side$round-$part" --out "$work/$side$round-$part" --store "$store" >/dev/null 2>>"$work/sweeps.log"
    done
  done
  pool() { local i list=; for i in $(seq 1 "$sweeps"); do list+=${list:+,}$work/$1$round-$i; done; echo "$list"; }
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
