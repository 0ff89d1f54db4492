#!/usr/bin/env bash
# Nightly tracking, ready for cron or a CI schedule: tonight's build against the baseline build,
# in two tiers, each exiting 2 on a regression.
#
#   scripts/nightly.sh [--update-baseline] [--sweeps N]
#
# Wall-clock tier. The baseline build's binary is kept (results/baselines/nightly.slmbench, its
# commit in the record results/baselines/nightly), and each night both builds run
# profiles/sweeps/nightly.yaml N times (default 6, at least 6), interleaved in alternating order
# (base new, new base, base new, …), so that the host's slow steps in speed fall on both builds
# alike; then `slmbench compare base-1,…,base-N new-1,…,new-N --fail-on-regression` pools each
# side and tests the repetitions and the per-sweep medians (README, "Comparing results"). One
# sweep against a stored sweep, the old design, cannot tell a step of the host from a regression.
# The first new sweep also evaluates quality (after its timed runs) and is the one the report
# shows. Sweeps of the new build go to the results store, the baseline's to the night's
# folder (baseline.sqlite), so `slmbench history` follows the builds as they were built.
#
# Instruction tier. scripts/bench/instructions.sh counts instructions per token (valgrind) of
# both binaries; a row more than 1% above the baseline is a regression. Deterministic: no noise
# to average away, so it sees small changes in the work the timed tier cannot.
#
# The comparisons run on the baseline binary (compare) and in the scripts, not in the build
# under test, so a change to the gate's own code cannot pass itself.
#
# The first run, or a record without a binary (written by the one-sweep nightly before it), makes
# tonight's build the baseline; after that the baseline moves only with --update-baseline after a
# night without regression, so slow drift cannot hide. $SLMBENCH_BASELINE names another record
# (its binary is RECORD.slmbench).
#
# Writes results/nightly-<time>/: base-i/ and new-i/ (the sweeps), report.html and report.md (of
# new-1), compare.md (wall-clock tier), instructions/instructions.md (instruction tier),
# gate.md (both verdicts and the commits). About 30 minutes on 2 cores with N = 6 (README).
# Exit: 0 no regression, 2 regression (either tier), 3 some runs failed (no regression among the
# rest), 1 error, 64 usage.
set -euo pipefail
cd "$(dirname "$0")/.."
update=0
sweeps=6
while [ $# -gt 0 ]; do
  case "$1" in
    --update-baseline) update=1; shift ;;
    --sweeps) sweeps=${2:-}; shift $(($# > 1 ? 2 : 1)) ;;
    *) echo "nightly: unknown option '$1' (known: --update-baseline, --sweeps N)" >&2; exit 64 ;;
  esac
done
if ! [[ "$sweeps" =~ ^[0-9]+$ ]] || [ "$sweeps" -lt 6 ]; then
  echo "nightly: --sweeps takes a number of sweeps a side, at least 6 (the per-sweep test needs them), got '$sweeps'" >&2; exit 64
fi
scripts/bootstrap.sh
swift build -c release --product slmbench 2>&1 | tail -n 1 >&2
new=.build/release/slmbench
"$new" models fetch smollm2-135m >/dev/null
new_commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
new_describe=$(git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)

record=${SLMBENCH_BASELINE:-results/baselines/nightly}
base_binary=$record.slmbench
mkdir -p "$(dirname "$record")"
field() { [ -f "$record" ] && awk -v k="$1" '$1 == k { sub(/^[^ ]+ /, ""); print; exit }' "$record" || true; }
# Tonight's binary, copied now: --update-baseline keeps exactly the binary that was measured.
candidate=$(mktemp "$record.candidate.XXXXXX")
trap 'rm -f "$candidate"' EXIT
cp "$new" "$candidate" && chmod 755 "$candidate"
new=$candidate

id=nightly-$(date -u +%Y%m%d-%H%M%S)
folder=results/$id
mkdir -p "$folder"
# The quality block is added to the first new sweep's copy of the spec only.
printf '%s\n' "$(cat profiles/sweeps/nightly.yaml)" 'quality: {enabled: true, context: 256, chunks: 8, threads: 2}' \
  > "$folder/nightly-quality.yaml"

set_baseline() {
  cp "$candidate" "$base_binary.tmp" && mv "$base_binary.tmp" "$base_binary"
  printf 'commit %s\ndescribe %s\nbinary %s\nnight %s\nset %s\n' "$new_commit" "$new_describe" "$base_binary" "$folder" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$record.tmp"
  mv "$record.tmp" "$record"
}

sweep_status=0
# sweep SIDE I BINARY SPEC [ENV…]: one sweep into $folder/SIDE-I.
sweep() {
  local side=$1 i=$2 binary=$3 spec=$4 status=0 store=()
  shift 4
  [ "$side" = base ] && store=(--store "$folder/baseline.sqlite")
  echo "nightly: sweep $side-$i of $sweeps" >&2
  env "$@" "$binary" sweep "$spec" --id "$id-$side-$i" --out "$folder/$side-$i" "${store[@]}" >/dev/null \
    2>>"$folder/sweeps.log" || status=$?
  if [ "$status" -eq 3 ]; then sweep_status=3
  elif [ "$status" -ne 0 ]; then
    echo "nightly: sweep $side-$i failed (exit $status); see $folder/sweeps.log" >&2; tail -5 "$folder/sweeps.log" >&2; exit "$status"
  fi
}
report() {
  "$new" report "$folder/new-1" --format html --out "$folder/report.html"
  "$new" report "$folder/new-1" --format md --out "$folder/report.md"
}

if [ "$(field binary)" = "" ]; then
  [ -f "$record" ] && echo "nightly: $record has no baseline binary (an older nightly wrote it); starting over" >&2
  sweep new 1 "$new" "$folder/nightly-quality.yaml"
  report
  instructions=0
  scripts/bench/instructions.sh --out "$folder/instructions" "$new" >/dev/null || instructions=$?
  [ "$instructions" -eq 0 ] || { echo "nightly: counting instructions failed (exit $instructions)" >&2; exit 1; }
  set_baseline
  echo "nightly: no baseline yet; this build ($new_describe) is the baseline from now on: $base_binary" >&2
  exit "$sweep_status"
fi
base_describe=$(field describe)
[ -x "$base_binary" ] || { echo "nightly: $record names $base_binary, which is missing; remove $record to start over" >&2; exit 1; }
"$base_binary" --help >/dev/null 2>&1 || {
  echo "nightly: the baseline binary $base_binary does not start (a new Swift toolchain?); remove $record to start over" >&2; exit 1; }

# Interleaved, alternating order: base new, new base, …
for i in $(seq 1 "$sweeps"); do
  new_spec=profiles/sweeps/nightly.yaml
  [ "$i" -eq 1 ] && new_spec=$folder/nightly-quality.yaml
  if [ $((i % 2)) -eq 1 ]; then
    sweep base "$i" "$base_binary" profiles/sweeps/nightly.yaml SLMBENCH_COMMIT="$base_describe"
    sweep new "$i" "$new" "$new_spec"
  else
    sweep new "$i" "$new" "$new_spec"
    sweep base "$i" "$base_binary" profiles/sweeps/nightly.yaml SLMBENCH_COMMIT="$base_describe"
  fi
done
report

pool() { local i list=; for i in $(seq 1 "$sweeps"); do list+=${list:+,}$folder/$1-$i; done; echo "$list"; }
wall=0
"$base_binary" compare "$(pool base)" "$(pool new)" --fail-on-regression > "$folder/compare.md" || wall=$?
cat "$folder/compare.md"
echo
instructions=0
scripts/bench/instructions.sh --base "$base_binary" --out "$folder/instructions" "$new" || instructions=$?

verdict() { case "$1" in 0) echo "no regression" ;; 2) echo "REGRESSION" ;; *) echo "failed (exit $1)" ;; esac; }
{
  echo "# $id: $new_describe against the baseline $base_describe"
  echo
  echo "| tier | verdict | details |"
  echo "|---|---|---|"
  echo "| wall clock, $sweeps interleaved sweeps a side | $(verdict "$wall") | compare.md |"
  echo "| instructions per token (valgrind) | $(verdict "$instructions") | instructions/instructions.md |"
} > "$folder/gate.md"
echo "nightly: wall-clock tier: $(verdict "$wall") ($folder/compare.md); instruction tier: $(verdict "$instructions") ($folder/instructions/instructions.md)" >&2

if [ "$wall" -eq 2 ] || [ "$instructions" -eq 2 ]; then
  echo "nightly: REGRESSION against $base_describe (report: $folder/report.html)" >&2
  exit 2
elif [ "$wall" -ne 0 ] || [ "$instructions" -ne 0 ]; then
  echo "nightly: a tier of the gate could not run; nothing was decided" >&2
  exit 1
fi
if [ "$update" -eq 1 ]; then
  set_baseline
  echo "nightly: this build ($new_describe) is the new baseline" >&2
fi
echo "nightly: no regression against $base_describe" >&2
exit "$sweep_status"
