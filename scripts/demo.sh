#!/usr/bin/env bash
# The main job on a fresh machine: install what is missing, build in release mode, fetch the
# real model, run probe (with measured bandwidth), saving the profile to
# profiles/hardware/<host>.json, see the model speak, then run the quick sweep
# (profiles/sweeps/quick.yaml: the real model at six bit-widths and two synthetic larger models,
# native and llama.cpp, 1 and 2 threads, batch 1 and 4, quality on), print its results table,
# write its Markdown and HTML reports, cost it against cloud APIs and recommend a configuration
# for this machine (measured) and for a Raspberry Pi 5 (predicted by the cross-device model, with
# its leave-one-device-out error). Results go to results/quick-<time>/ (journal, report.md, report.html) and
# results/slmbench.sqlite; the last lines printed are the reports' paths.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
echo "demo: building slmbench (release)…" >&2
swift build -c release --product slmbench 2>&1 | tail -n 1 >&2
slmbench=.build/release/slmbench
host=$(hostname -s 2>/dev/null || cat /proc/sys/kernel/hostname)
profile=profiles/hardware/${host}.json

echo "demo: slmbench models fetch smollm2-135m" >&2
model=$("$slmbench" models fetch smollm2-135m)
"$slmbench" models inspect "$model"
echo >&2
echo "demo: slmbench probe --bandwidth --save $profile" >&2
"$slmbench" probe --bandwidth --save "$profile"
echo >&2
echo "demo: profile written to $profile" >&2

echo >&2
echo "demo: slmbench generate --model smollm2-135m --type q8_0 --greedy" >&2
"$slmbench" generate --model smollm2-135m --type q8_0 --greedy --prompt "The capital of France is" --max-tokens 24
echo >&2
id=quick-$(date -u +%Y%m%d-%H%M%S)
echo "demo: slmbench sweep profiles/sweeps/quick.yaml --id $id (under 10 minutes on 2 cores)" >&2
status=0
"$slmbench" sweep profiles/sweeps/quick.yaml --id "$id" --out "results/$id" || status=$?
if [ "$status" -eq 3 ]; then
  echo "demo: some runs failed; their reasons are in the table above" >&2
elif [ "$status" -ne 0 ]; then
  exit "$status"
fi
echo >&2
echo "demo: slmbench report results/$id --format md and --format html" >&2
# This machine is a rented cloud VM: its cost is its hourly price. 0.10 USD/h is the 2-vCPU share
# of an m7i.2xlarge at ~0.40 USD/h for 8 vCPU (shared/data/edge-devices.md, flagged [?]).
hourly=${SLMBENCH_HOURLY_USD:-0.10}
"$slmbench" report "results/$id" --format md --out "results/$id/report.md"
"$slmbench" report "results/$id" --format html --hourly-usd "$hourly"
echo >&2
echo "demo: slmbench cost results/$id --hourly-usd $hourly (this machine, measured)" >&2
"$slmbench" cost "results/$id" --device "$profile" --machine "$profile" --hourly-usd "$hourly" --batch 1
echo >&2
echo "demo: slmbench cost results/$id --device profiles/hardware/raspberry-pi-5.json (predicted by the cross-device model)" >&2
"$slmbench" cost "results/$id" --device profiles/hardware/raspberry-pi-5.json --machine "$profile" --batch 1
echo >&2
echo "demo: slmbench recommend --target $profile --min-decode-tps 20 --max-kld 0.1" >&2
"$slmbench" recommend --target "$profile" --results "results/$id" --machine "$profile" --min-decode-tps 20 --max-kld 0.1
echo >&2
echo "demo: not running profiles/sweeps/calibrate.yaml (about 14 more minutes on 2 cores): the Pi 5 figures" >&2
echo "      below are predicted from the published corpus and the quick sweep; run it to add this machine to the fit" >&2
echo "demo: slmbench recommend --target profiles/hardware/raspberry-pi-5.json --min-decode-tps 20 --max-kld 0.1" >&2
"$slmbench" recommend --target profiles/hardware/raspberry-pi-5.json --results "results/$id" --machine "$profile" --min-decode-tps 20 --max-kld 0.1
echo >&2
echo "demo: stored sweeps (slmbench results sweeps)" >&2
"$slmbench" results sweeps
echo >&2
echo "demo: reports written:" >&2
echo "  results/$id/report.md"
echo "  results/$id/report.html"
exit "$status"
