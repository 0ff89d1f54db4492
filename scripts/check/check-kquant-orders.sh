#!/usr/bin/env bash
# The native engine's one-token (decode) K-quant products against llama.cpp's own: a C program
# (Tests/kernels/ggml-orders.c) links the kernels with libggml-cpu from an AVX2-only build of the
# pinned llama.cpp (scripts/tools/build-llamacpp.sh --isa avx2, cached) and requires equal
# results, bit for bit, on random super-blocks. x86-64 with AVX2 only; elsewhere it says SKIPPED.
# scripts/test.sh runs it.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(uname -m)" != x86_64 ] || ! grep -qw avx2 /proc/cpuinfo; then
  echo "check-kquant-orders: SKIPPED: needs an x86-64 CPU with AVX2 (llama.cpp's AVX2 build is the reference)"
  exit 0
fi
prefix=$(scripts/tools/build-llamacpp.sh --isa avx2)
out=$(mktemp -d /tmp/slmbench-orders.XXXXXX)
trap 'rm -rf "$out"' EXIT
if command -v clang >/dev/null; then cc=(clang); else cc=(gcc -ffp-contract=off); fi
"${cc[@]}" -O2 -std=c11 -ISources/CKernels/include -ISources/CKernels Sources/CKernels/*.c Sources/CKernels/*/*.c \
  Tests/kernels/ggml-orders.c -o "$out/ggml-orders" -L"$prefix/lib" -lggml-cpu -lggml-base -Wl,-rpath,"$prefix/lib" -lm -lpthread
"$out/ggml-orders"
