#!/usr/bin/env bash
# slmbench's importance-matrix-weighted quantization against llama.cpp's, on the F32 conversion of
# the real SmolLM2-135M. Calibration text C (default /usr/share/common-licenses/Apache-2.0) and a
# different evaluation text E (default: `slmbench quality`'s corpus, the GPL-3 text):
#   - llama-imatrix on C → L.imatrix; `slmbench models imatrix` on C → S.imatrix (same context, chunks);
#   - per type T (Q3_K, Q4_K, IQ4_NL, every matrix that type as llama-quantize --pure does):
#     llama-quantize --imatrix L, llama-quantize --imatrix S, slmbench --imatrix S, and both tools
#     without a matrix (RTN / slmbench's own search) for context; per-tensor types must agree;
#   - the KL divergence of each against the F32 file on E, all by `slmbench quality` (native engine).
# Fails unless, per type, KLD(slmbench+S) ≤ 1.05 × KLD(llama+L) and |KLD(llama+S) ÷ KLD(llama+L) − 1| ≤ 0.05.
#
#   scripts/check/check-imatrix-vs-llamacpp.sh [--types Q3_K,Q4_K,IQ4_NL] [--calibration FILE] [--corpus FILE]
#                                              [--context N] [--imatrix-chunks N] [--chunks N] [--threads N]
#
# SLMBENCH_BIN=path uses that slmbench instead of building one.
set -euo pipefail
cd "$(dirname "$0")/../.."
types=Q3_K,Q4_K,IQ4_NL calibration=/usr/share/common-licenses/Apache-2.0 corpus="" context=512 ichunks=4 chunks=6 threads=2
while [ $# -gt 0 ]; do
  case "$1" in
    --types) types=$2; shift 2 ;;
    --calibration) calibration=$2; shift 2 ;;
    --corpus) corpus=$2; shift 2 ;;
    --context) context=$2; shift 2 ;;
    --imatrix-chunks) ichunks=$2; shift 2 ;;
    --chunks) chunks=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 64 ;;
  esac
done
[ -r "$calibration" ] || { echo "calibration text $calibration is not readable (give --calibration FILE)" >&2; exit 64; }
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
f32="$work/smollm2-135m-f32.gguf"
"$slm" models quantize "$model" --to F32 -o "$f32" >/dev/null 2>&1
default_corpus="the default corpus of slmbench quality"
echo "calibration text C: $calibration; evaluation text E: ${corpus:-$default_corpus}" >&2
"$llama/bin/llama-imatrix" -m "$f32" -f "$calibration" -o "$work/L.imatrix" -c "$context" --chunks "$ichunks" -t "$threads" \
  >"$work/llama-imatrix.log" 2>&1 || { tail -n 20 "$work/llama-imatrix.log" >&2; exit 1; }
"$slm" models imatrix "$work/S.imatrix" --model "$f32" --text "$calibration" --context "$context" --chunks "$ichunks" \
  --threads "$threads" >/dev/null
exec python3 scripts/check/check-imatrix-vs-llamacpp.py "$slm" "$llama/bin/llama-quantize" "$work" "$f32" "$types" \
  "$context" "$chunks" "$threads" "$calibration" "$corpus"
