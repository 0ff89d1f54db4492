#!/usr/bin/env bash
# Renders a sweep's HTML report in a real browser (headless Chromium) and saves a screenshot next
# to it, so a person can look at what stakeholders will see. Fails when the browser cannot load
# the page or the page lacks its charts.
#
#   scripts/check/check-report.sh [SWEEP-FOLDER [REPORT-FLAGS…]]   (default: the newest folder under results/)
#
# REPORT-FLAGS go to `slmbench report` (e.g. --hourly-usd 0.10 for the cost section); with a price
# flag the cost chart must be there too.
#
# Installs Chromium (Debian package `chromium`) through scripts/bootstrap.sh --with-browser.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/bootstrap.sh --with-browser
swift build -c release --product slmbench 2>&1 | tail -n 1 >&2
folder=${1:-$(ls -1dt results/*/ 2>/dev/null | head -n 1)}
folder=${folder%/}
shift || true
flags=("$@")
if [ -z "$folder" ] || [ ! -f "$folder/journal.jsonl" ]; then
  echo "check-report: no sweep folder given and none under results/; run scripts/demo.sh or slmbench sweep first" >&2
  exit 1
fi
.build/release/slmbench report "$folder" --format html --out "$folder/report.html" "${flags[@]}"
page="file://$(realpath "$folder/report.html")"
browser=(chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run)
dom=$(timeout 120 "${browser[@]}" --dump-dom "$page" 2>/dev/null)
charts=$(grep -o '<svg' <<<"$dom" | wc -l)
if [ "$charts" -lt 5 ]; then
  echo "check-report: the browser's DOM of $folder/report.html has $charts charts, expected at least 5" >&2
  exit 1
fi
expected=("Thread scaling" "Batch scaling" "Bit-width trade-off" "Peak resident memory" "Roofline")
if [[ " ${flags[*]} " == *" --hourly-usd "* || " ${flags[*]} " == *" --price-usd "* ]]; then expected+=("Cost: USD per million tokens"); fi
for chart in "${expected[@]}"; do
  if ! grep -q "aria-label=\"$chart" <<<"$dom"; then
    echo "check-report: the rendered page of $folder/report.html lacks the chart '$chart'" >&2
    exit 1
  fi
done
if grep -qi '<script' <<<"$dom"; then
  echo "check-report: the rendered page contains a script element" >&2
  exit 1
fi
timeout 120 "${browser[@]}" --window-size=1280,6400 --screenshot="$folder/report.png" "$page" >/dev/null 2>&1
echo "check-report: $folder/report.html renders in Chromium with $charts charts; screenshot $folder/report.png"
