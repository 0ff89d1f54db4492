#!/usr/bin/env bash
# x86 kernels side by side in one run (scripts/bench/kernel-levels.c): the F32/F16 prefill tiles
# against the one-row body; lab decode (lab6g32s in the file's layout against the split one, and
# against Q8_0; lab4g32s against its packed Q4_0 form); then the AVX-512 VNNI level against the
# AVX2 level, kernel by kernel: best and mean time ratios, and a check that outputs that should
# be equal bit for bit are. A benchmark, not a test; run it on a quiet machine. Prints the probe's
# fingerprint line first, so a figure can name the machine.
#
# usage: scripts/bench/kernel-levels.sh [REPS=20]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${SLMBENCH_HARNESS_DIR:-.build-harness}
mkdir -p "$out"
k=Sources/CKernels
cc=clang
command -v clang >/dev/null || cc=gcc
"$cc" -O2 -I$k/include $k/scalar.c $k/dispatch.c $k/x86/avx2.c $k/x86/avx512.c $k/arm/neon.c $k/pool.c $k/memory.c \
  scripts/bench/kernel-levels.c -o "$out/kernel-levels" -lm -lpthread
for b in .build/release/slmbench .build-test/release/slmbench; do if [ -x "$b" ]; then "$b" probe 2>/dev/null | head -1 || true; break; fi; done
date -u
"$out/kernel-levels" "${1:-20}"
