#!/usr/bin/env bash
# The native engine's speed next to the pinned llama-bench on SmolLM2-135M (Q8_0, Q4_0, Q4_1;
# 1 and 2 threads; pp512 and tg128), measured side by side in one run. A benchmark, not a test.
#
# usage: scripts/bench/bench-engine.sh [rounds=8] [types=q8_0,q4_0,q4_1] [threads=1,2] [repetitions per run=3]
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/bootstrap.sh
swift build -c release --product slmbench >/dev/null
cache=${SLMBENCH_CACHE:-$HOME/.cache/slmbench}
.build/release/slmbench models fetch smollm2-135m >/dev/null
exec python3 scripts/bench/vs_llamabench.py --backend native --rounds "${1:-8}" --reps "${4:-3}" --types "${2:-q8_0,q4_0,q4_1}" \
  --threads "${3:-1,2}" --llama-bench "$(scripts/tools/build-llamacpp.sh --tools)/bin/llama-bench"
