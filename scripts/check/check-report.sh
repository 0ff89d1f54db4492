#!/usr/bin/env bash
# Renders a report in a real browser (headless Chromium) the way stakeholders will see it: the
# HTML at a desktop width (1280 px) and a phone's (390 px), and the PDF, whose pages are turned
# into PNGs (pdftoppm) so a person can look at them. Fails when the browser cannot load the page,
# the page lacks its answer or its charts, or holds a script.
#
#   scripts/check/check-report.sh [RESULTS…] [REPORT-FLAGS…]
#
# RESULTS: one sweep folder (default: the newest under results/ with a journal) — its report.html, report.pdf
# and the PNGs go into that folder — or several sweep folders or ids and hardware profiles
# (profiles/hardware/X.json, predicted), for a comparison report written to
# results/comparison/. REPORT-FLAGS (everything from the first argument starting with --) go to
# `slmbench report`, e.g. --hourly-usd 0.10 for the cost figures; with a price flag a single
# sweep's cost chart must be there too.
#
# $SLMBENCH names the slmbench binary to use (default: build .build/release/slmbench).
# Installs Chromium and poppler-utils through scripts/bootstrap.sh --with-browser.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/bootstrap.sh --with-browser
if [ -n "${SLMBENCH:-}" ]; then
  slmbench=$SLMBENCH
else
  swift build -c release --product slmbench 2>&1 | tail -n 1 >&2
  slmbench=.build/release/slmbench
fi
results=()
while [ $# -gt 0 ] && [[ "$1" != --* ]]; do results+=("${1%/}"); shift; done
flags=("$@")
if [ ${#results[@]} -eq 0 ]; then
  newest=$(ls -1t results/*/journal.jsonl 2>/dev/null | head -n 1)
  [ -n "$newest" ] && results=("$(dirname "$newest")")
fi
if [ ${#results[@]} -eq 0 ]; then
  echo "check-report: no sweep folder given and none under results/; run scripts/demo.sh or slmbench sweep first" >&2
  exit 1
fi
if [ ${#results[@]} -eq 1 ]; then
  out=${results[0]}
  if [ ! -f "$out/journal.jsonl" ]; then echo "check-report: $out is not a sweep folder (no journal.jsonl)" >&2; exit 1; fi
  expected=("Thread scaling" "Batch scaling" "Bit-width trade-off" "Peak resident memory" "Roofline at")
  if [[ " ${flags[*]:-} " == *" --hourly-usd "* || " ${flags[*]:-} " == *" --price-usd "* ]]; then expected+=("Cost: USD per million tokens"); fi
  # Quality evaluations that stored each variant's size get the trade-off chart; --sensitivity the heat map.
  if grep -q '"F32.weights_bytes"' "$out/journal.jsonl"; then expected+=("Quantization trade-off"); fi
  if [[ " ${flags[*]:-} " == *" --sensitivity "* ]]; then expected+=("Sensitivity to"); fi
  minimum=5
else
  out=results/comparison
  expected=("Decode speed per configuration")
  minimum=1
fi
mkdir -p "$out"
"$slmbench" report "${results[@]}" --format html --out "$out/report.html" "${flags[@]}"
"$slmbench" report "${results[@]}" --format pdf --out "$out/report.pdf" "${flags[@]}"
page="file://$(realpath "$out/report.html")"
browser=(chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run)
dom=$(timeout 120 "${browser[@]}" --dump-dom "$page" 2>/dev/null)
charts=$(grep -o '<svg' <<<"$dom" | wc -l)
if [ "$charts" -lt "$minimum" ]; then
  echo "check-report: the browser's DOM of $out/report.html has $charts charts, expected at least $minimum" >&2
  exit 1
fi
for chart in "${expected[@]}"; do
  if ! grep -q -e "<title id=\"[^\"]*\">$chart" -e "aria-label=\"$chart" -e "<figcaption>$chart" <<<"$dom"; then
    echo "check-report: the rendered page of $out/report.html lacks the chart '$chart'" >&2
    exit 1
  fi
done
if ! grep -q '<h2>The answer' <<<"$dom"; then
  echo "check-report: the rendered page of $out/report.html does not open with its answer" >&2
  exit 1
fi
# One Pareto front per method: every sized quality evaluation (one per model and method) is a
# series of the trade-off chart with its own front.
if [ ${#results[@]} -eq 1 ] && grep -q '"F32.weights_bytes"' "$out/journal.jsonl"; then
  methods=$(grep '"F32.weights_bytes"' "$out/journal.jsonl" | grep -o '"key":"quality|[^"]*"' | sort -u | wc -l)
  fronts=$(grep -o 'class="front" data-series="[^"]*"' <<<"$dom" | sort -u | wc -l)
  if [ "$fronts" -ne "$methods" ]; then
    echo "check-report: the trade-off chart of $out/report.html draws $fronts Pareto fronts for $methods quality evaluations (one per method)" >&2
    exit 1
  fi
fi
if grep -q '<svg class="heatmap"' <<<"$dom" && ! grep -q 'class="cell"' <<<"$dom"; then
  echo "check-report: the sensitivity heat map of $out/report.html has no cells" >&2
  exit 1
fi
# Every measured unit is a cell: a --by tensor file gives layers × kinds (plus the tensors outside
# blocks), a --by layer file one per layer, a --by kind file one per kind — per type measured.
sensitivity_files=()
for ((i = 0; i < ${#flags[@]}; i++)); do
  if [ "${flags[$i]}" = --sensitivity ] && [ $((i + 1)) -lt ${#flags[@]} ]; then sensitivity_files+=("${flags[$((i + 1))]}"); fi
done
if [ ${#sensitivity_files[@]} -gt 0 ]; then
  units=$(python3 -c 'import json, sys; print(sum(len(json.load(open(f))["entries"]) for f in sys.argv[1:]))' "${sensitivity_files[@]}")
  cells=$(grep -o 'class="cell"' <<<"$dom" | wc -l)
  if [ "$cells" -ne "$units" ]; then
    echo "check-report: the sensitivity heat maps of $out/report.html draw $cells cells for the $units measured units of ${sensitivity_files[*]}" >&2
    exit 1
  fi
fi
console=$(timeout 120 "${browser[@]}" --enable-logging=stderr --v=0 --dump-dom "$page" 2>&1 >/dev/null | grep -E 'CONSOLE|Uncaught' || true)
if [ -n "$console" ]; then
  echo "check-report: the page logged to the console: $console" >&2
  exit 1
fi
if grep -qi '<script' <<<"$dom"; then
  echo "check-report: the rendered page contains a script element" >&2
  exit 1
fi
# Tall windows: the whole page in one image at each width.
timeout 120 "${browser[@]}" --window-size=1280,9000 --screenshot="$out/report-1280.png" "$page" >/dev/null 2>&1
timeout 120 "${browser[@]}" --window-size=390,24000 --screenshot="$out/report-390.png" "$page" >/dev/null 2>&1
rm -f "$out"/report-page-*.png
pdftoppm -png -r 70 "$out/report.pdf" "$out/report-page"
pages=$(ls "$out"/report-page-*.png | wc -l)
echo "check-report: $out/report.html renders in Chromium with $charts charts; screenshots $out/report-1280.png, $out/report-390.png;"
echo "check-report: $out/report.pdf has $pages pages, as $out/report-page-*.png"
