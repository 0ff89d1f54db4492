#!/usr/bin/env bash
# Bit-exactness and quality of slmbench's quantizer against llama.cpp's llama-quantize on the
# real SmolLM2-135M weights (dequantized to F32 first). Builds the pinned llama.cpp into the
# cache if needed. A check to run by hand; prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/bootstrap.sh
python3 -c 'import gguf' 2>/dev/null || python3 -m pip install -q gguf
llama=$(scripts/tools/build-llamacpp.sh --tools)
slm=${SLMBENCH_BIN:-}   # SLMBENCH_BIN=path uses that slmbench instead of building one
if [ -z "$slm" ]; then
  swift build -c release --product slmbench 2>&1 | tail -n 1 >&2
  slm=.build/release/slmbench
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
model=$("$slm" models fetch smollm2-135m)
"$slm" models quantize "$model" --to F32 -o "$work/f32.gguf" >/dev/null
python3 scripts/check/check-quantize-vs-llamacpp.py "$slm" "$llama/bin/llama-quantize" "$work/f32.gguf" "$work" "$@"
if [ "${REFRESH_FIXTURE:-}" = 1 ]; then
  python3 scripts/fixtures/make-llamacpp-fixtures.py "$work/f32.gguf" "$work" Tests/ModelFormatTests/Fixtures/llamacpp-quants.gguf-fixture
fi
