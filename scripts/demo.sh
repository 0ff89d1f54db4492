#!/usr/bin/env bash
# The main job on a fresh machine: install what is missing, build in release mode, fetch the
# real model, and run probe (with measured bandwidth), saving the profile to
# profiles/hardware/<host>.json. Later stages (sweep, report) are added here as they are
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
