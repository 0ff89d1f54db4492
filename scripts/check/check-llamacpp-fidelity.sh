#!/usr/bin/env bash
# Fidelity of slmbench's llama.cpp backend to llama.cpp itself: the pinned llama-bench and
# `slmbench run --backend llama.cpp` on the same SmolLM2-135M files (Q8_0, Q4_0, Q4_1), pp512
# and tg128, 1 and 2 threads, in paired rounds (back to back, order alternating). Both run with flash attention off
# (what the backend runs, so "kv f32" means f32). Prints every ratio; the backend should agree
# within ±5%. A benchmark, not a test: exits 0 whatever the ratios (1 when a run fails).
#
# usage: scripts/check/check-llamacpp-fidelity.sh [rounds=8] [types=q8_0,q4_0,q4_1] [threads=1,2] [repetitions per run=3]
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/bootstrap.sh
swift build -c release --product slmbench >/dev/null
.build/release/slmbench models fetch smollm2-135m >/dev/null
llamacpp=$(scripts/tools/build-llamacpp.sh --tools)
exec python3 scripts/bench/vs_llamabench.py --backend llama.cpp --flash-attn off --tolerance 0.05 --rounds "${1:-8}" --reps "${4:-3}" \
  --types "${2:-q8_0,q4_0,q4_1}" --threads "${3:-1,2}" --llama-bench "$llamacpp/bin/llama-bench"
