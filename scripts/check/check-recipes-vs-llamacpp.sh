#!/usr/bin/env bash
# slmbench's per-tensor recipes (q2_k … q6_k, iq4_nl; `models quantize --to RECIPE`) against
# llama.cpp's llama-quantize on the same F32 files: the real SmolLM2-135M (576-wide rows, so most
# K types fall back), a synthetic model whose rows are whole 256-blocks (mini-smollm3, 2048 wide)
# and one with an untied output head (tiny-qwen2). Same type for every tensor, and per tensor
# identical bytes or an RMSE no higher than llama.cpp's. scripts/test.sh runs it.
#
#   scripts/check/check-recipes-vs-llamacpp.sh [--recipes q4_k_m,…]
#
# SLMBENCH_BIN=path uses that slmbench instead of building one (scripts/test.sh passes its own).
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 -c 'import gguf' 2>/dev/null || python3 -m pip install -q gguf
llama=$(scripts/tools/build-llamacpp.sh --tools)
slm=${SLMBENCH_BIN:-}
if [ -z "$slm" ]; then
  swift build -c release --product slmbench 2>&1 | tail -n 1 >&2
  slm=.build/release/slmbench
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
model=$("$slm" models fetch smollm2-135m)
"$slm" models quantize "$model" --to F32 -o "$work/smollm2-135m.gguf" >/dev/null 2>&1
"$slm" models synth --preset mini-smollm3 --type f32 -o "$work/mini-smollm3.gguf" >/dev/null 2>&1
"$slm" models synth --preset tiny-qwen2 --type f32 -o "$work/tiny-qwen2.gguf" >/dev/null 2>&1
check="python3 scripts/check/check-recipes-vs-llamacpp.py $slm $llama/bin/llama-quantize $work"
status=0
# The real weights and the untied head: same types, and no tensor's RMSE above llama.cpp's.
$check smollm2-135m="$work/smollm2-135m.gguf" tiny-qwen2="$work/tiny-qwen2.gguf" "$@" || status=1
# Whole 256-blocks (synthetic weights), the five recipes (IQ4_NL's search on 100M weights is slow
# here; it is checked on the two models above).
$check mini-smollm3="$work/mini-smollm3.gguf" --recipes recipe:q2_k,q3_k_m,q4_k_m,q5_k_m,recipe:q6_k "$@" || status=1
exit $status
