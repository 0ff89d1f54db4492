#!/usr/bin/env bash
# Nightly tracking, ready for cron or a CI schedule: runs profiles/sweeps/nightly.yaml, writes its
# report (results/<id>/report.html and report.md), compares it with the stored baseline, and
# exits 2 when the comparison finds a regression (a change beyond the threshold that the
# Mann–Whitney test calls significant).
#
#   scripts/nightly.sh [--update-baseline]
#
# The baseline is the sweep folder named in results/baselines/nightly (override with
# $SLMBENCH_BASELINE). The first run, or --update-baseline after a good night, makes tonight's
# sweep the baseline; it never moves on its own, so slow drift cannot hide.
# Exit: 0 no regression, 2 regression, 3 some runs failed (no regression among the rest), 1 error.
set -euo pipefail
cd "$(dirname "$0")/.."
update=0
for arg in "$@"; do
  case "$arg" in
    --update-baseline) update=1 ;;
    *) echo "nightly: unknown option '$arg' (known: --update-baseline)" >&2; exit 64 ;;
  esac
done
scripts/bootstrap.sh
swift build -c release --product slmbench 2>&1 | tail -n 1 >&2
slmbench=.build/release/slmbench
"$slmbench" models fetch smollm2-135m >/dev/null

id=nightly-$(date -u +%Y%m%d-%H%M%S)
folder=results/$id
sweep_status=0
"$slmbench" sweep profiles/sweeps/nightly.yaml --id "$id" --out "$folder" || sweep_status=$?
if [ "$sweep_status" -ne 0 ] && [ "$sweep_status" -ne 3 ]; then exit "$sweep_status"; fi
"$slmbench" report "$folder" --format html
"$slmbench" report "$folder" --format md --out "$folder/report.md"

baseline_file=results/baselines/nightly
base=${SLMBENCH_BASELINE:-$(cat "$baseline_file" 2>/dev/null || true)}
if [ -z "$base" ]; then
  mkdir -p "$(dirname "$baseline_file")"
  echo "$folder" > "$baseline_file"
  echo "nightly: no baseline yet; $folder is the baseline from now on" >&2
  exit "$sweep_status"
fi
gate=0
"$slmbench" compare "$base" "$folder" --fail-on-regression > "$folder/compare.md" || gate=$?
cat "$folder/compare.md"
if [ "$gate" -eq 2 ]; then
  echo "nightly: REGRESSION against $base (details: $folder/compare.md, report: $folder/report.html)" >&2
  exit 2
elif [ "$gate" -ne 0 ]; then
  echo "nightly: the comparison with $base failed (exit $gate)" >&2
  exit 1
fi
if [ "$update" -eq 1 ]; then
  echo "$folder" > "$baseline_file"
  echo "nightly: $folder is the new baseline" >&2
fi
echo "nightly: no regression against $base" >&2
exit "$sweep_status"
