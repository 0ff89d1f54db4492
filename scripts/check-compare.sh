#!/usr/bin/env bash
# Checks the regression gate end to end on this machine: the same small sweep three times —
# A and B with the same build, C with a planted 10% slowdown (the sweep runs in a cgroup whose
# CPU quota is 90% of the one CPU each run uses) — then `slmbench compare A B` must find no
# regression and `slmbench compare A C` must find the slowdown (exit 2 with --fail-on-regression).
# Needs root for the cgroup (v1 cpu controller or v2 cpu.max). A benchmark-style check: CI does
# not run it; run it on a quiet machine.
#
#   scripts/check-compare.sh [WORK-FOLDER]     (default: a new folder under /tmp)
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product slmbench 2>&1 | tail -n 1 >&2
slmbench=$PWD/.build/release/slmbench
work=${1:-$(mktemp -d /tmp/slmbench-compare.XXXXXX)}
mkdir -p "$work"
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
  min_repetitions: 8
  max_repetitions: 8
reference:
  every: 0
YAML

# A cgroup limiting CPU time to 90% of one CPU (v1 or v2), for the planted slowdown.
group=slmbench-gate-$$
if [ -d /sys/fs/cgroup/cpu ] && mkdir "/sys/fs/cgroup/cpu/$group" 2>/dev/null; then
  cg=/sys/fs/cgroup/cpu/$group
  echo 100000 > "$cg/cpu.cfs_period_us"; echo 90000 > "$cg/cpu.cfs_quota_us"
elif [ -f /sys/fs/cgroup/cgroup.controllers ] && mkdir "/sys/fs/cgroup/$group" 2>/dev/null; then
  cg=/sys/fs/cgroup/$group
  echo "90000 100000" > "$cg/cpu.max"
else
  echo "check-compare: cannot create a CPU cgroup (needs root and a cgroup cpu controller)" >&2
  exit 1
fi
trap 'rmdir "$cg" 2>/dev/null || true' EXIT

store=$work/results.sqlite
run() { # name [throttled]
  if [ "${2:-}" = throttled ]; then
    sh -c "echo \$\$ > $cg/cgroup.procs && exec \"$slmbench\" sweep \"$spec\" --id \"$1\" --out \"$work/$1\" --store \"$store\""
  else
    "$slmbench" sweep "$spec" --id "$1" --out "$work/$1" --store "$store"
  fi
}
echo "check-compare: sweep A (same build)" >&2; run A
echo "check-compare: sweep B (same build)" >&2; run B
echo "check-compare: sweep C (planted slowdown: 90% of a CPU)" >&2; run C throttled

status=0
echo
echo "== A vs B: same build, no slowdown planted =="
set +e
"$slmbench" compare "$work/A" "$work/B" --fail-on-regression; same=$?
echo
echo "== A vs C: 10% slowdown planted =="
# Inside the cgroup the probe sees a CPU quota, which can change the hardware fingerprint; the
# gate rightly refuses such sides, so --force (the difference is the one planted on purpose).
"$slmbench" compare "$work/A" "$work/C" --fail-on-regression --force; planted=$?
set -e
echo
echo "check-compare: A vs B exit $same (want 0), A vs C exit $planted (want 2); folders in $work"
[ "$same" -eq 0 ] || status=1
[ "$planted" -eq 2 ] || status=1
exit $status
