#!/usr/bin/env bash
# The native engine against llama.cpp on this machine, for the speed targets of the engine-speed
# issue: per row both medians, the ratio native ÷ llama.cpp with its 95% CI over paired rounds
# (each round runs the two sides back to back, order alternating), every round's ratio, and for
# decode the share of the memory-bandwidth bound each side reaches, from a probe taken at the
# start of the same run (its fingerprint and the date head the table).
#
# A benchmark, not a test: it never fails a build, and CI does not run it. Run it on a quiet
# machine; a part takes 10–40 minutes on 2 cores.
#
# usage: scripts/bench/bench-vs-llamacpp.sh [PART=135m] [ROUNDS=6, at least 5; the CI needs 6] [REPETITIONS PER RUN=3]
#   135m      SmolLM2-135M (real weights): Q8_0, Q4_0, Q4_1, F16; pp512 and tg128; 1 and 2 threads
#   batched   SmolLM2-135M Q8_0, Q4_0, Q4_1: tg128 with 4 and 8 sequences, 1 and 2 threads
#             (against slmbench's llama.cpp backend: llama-bench decodes one sequence only)
#   360m      synthetic SmolLM2-360M: Q8_0, Q4_0, Q4_1; pp512 and tg128; 1 and 2 threads
#   0.5b      synthetic Qwen2.5-0.5B, the same rows
#   qwen3-0.6b  synthetic Qwen3-0.6B (per-head Q/K norms): Q8_0, Q4_0; pp512 and tg128; 1 and 2 threads
#   gemma3-1b   synthetic Gemma 3-1B (GeGLU, sliding-window layers, a 262k-token head): the same rows
#   kv        SmolLM2-135M Q8_0 decode at depth: tg64 after 4,096 tokens of context, with an f16,
#             q8_0 and q4_0 KV cache on both sides (llama-bench -fa auto, which is on for the CPU
#             and which a quantized V cache needs); 1 and 2 threads; a second table compares each
#             cache with f16 on each side
set -euo pipefail
cd "$(dirname "$0")/../.."
part=${1:-135m}
rounds=${2:-6}
reps=${3:-3}
case "$part" in
  135m) args=(--model smollm2-135m --types q8_0,q4_0,q4_1,f16) ;;
  batched) args=(--model smollm2-135m --types q8_0,q4_0,q4_1 --batches 4,8) ;;
  360m) args=(--model smollm2-360m --types q8_0,q4_0,q4_1) ;;
  0.5b) args=(--model qwen2.5-0.5b --types q8_0,q4_0,q4_1) ;;
  qwen3-0.6b) args=(--model qwen3-0.6b --types q8_0,q4_0) ;;
  gemma3-1b) args=(--model gemma3-1b --types q8_0,q4_0) ;;
  kv) args=(--model smollm2-135m --types q8_0 --kv f16,q8_0,q4_0 --depth 4096 --tests tg64) ;;
  *) echo "bench-vs-llamacpp: unknown part '$part' (known: 135m, batched, 360m, 0.5b, qwen3-0.6b, gemma3-1b, kv)" >&2; exit 64 ;;
esac
if [ "$rounds" -lt 5 ]; then echo "bench-vs-llamacpp: at least 5 rounds (got $rounds)" >&2; exit 64; fi
scripts/bootstrap.sh
swift build -c release --product slmbench 2>&1 | tail -n 1 >&2
.build/release/slmbench models fetch smollm2-135m >/dev/null
llamacpp=$(scripts/tools/build-llamacpp.sh --tools)
profile=$(mktemp /tmp/slmbench-probe.XXXXXX.json)
trap 'rm -f "$profile"' EXIT
echo "bench-vs-llamacpp: probing memory bandwidth" >&2
.build/release/slmbench probe --bandwidth --threads 1,2 --save "$profile" >/dev/null
python3 scripts/bench/vs_llamabench.py --backend native --rounds "$rounds" --reps "$reps" --threads 1,2 \
  --llama-bench "$llamacpp/bin/llama-bench" --profile "$profile" "${args[@]}"
