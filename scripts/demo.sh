#!/usr/bin/env bash
# The main job on a fresh machine: install what is missing, build in release mode, fetch the
# real model, run probe (with measured bandwidth), saving the profile to
# profiles/hardware/<host>.json, then see the model speak and run it on the native engine and on
# llama.cpp side by side. Later stages (sweep, report) replace the single runs as they are
# built; it stays one command.
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

threads=$(nproc)
echo >&2
echo "demo: slmbench generate --model smollm2-135m --type q8_0 --greedy" >&2
"$slmbench" generate --model smollm2-135m --type q8_0 --greedy --prompt "The capital of France is" --max-tokens 24
for backend in native llama.cpp; do
  echo >&2
  echo "demo: slmbench run --backend $backend --model smollm2-135m --type q4_0 --threads $threads --prompt 128 --gen 64" >&2
  "$slmbench" run --backend "$backend" --model smollm2-135m --type q4_0 --threads "$threads" --prompt 128 --gen 64
done
