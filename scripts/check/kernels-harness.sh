#!/usr/bin/env bash
# The kernel harness (Tests/kernels/harness.c) on both ISAs from this x86-64 machine:
#   - natively, built with the compiler SwiftPM uses (clang), checking scalar and AVX2 when the
#     CPU has AVX2+FMA+F16C, and AVX-512 too when it has AVX-512 F+BW+VL+VNNI (read from
#     /proc/cpuinfo, not from the code under test);
#   - cross-compiled for AArch64 with Debian's gcc-aarch64-linux-gnu and run under
#     qemu-aarch64-static three times, one CPU per Arm level:
#       -cpu cortex-a72   NEON only         → the harness expects dispatch to pick neon
#       -cpu neoverse-n1  NEON + dotprod    → dotprod
#       -cpu max          + i8mm (and SVE)  → i8mm
#   - and, when clang can link for AArch64 here (it finds the cross GCC's libraries in /usr), the
#     same three runs of a clang build: the compiler SwiftPM uses on an Arm device.
# Every kernel at every level the CPU offers is checked against the scalar reference within the
# bound the harness states for it. Exits non-zero when any run fails.
# GCC builds use -ffp-contract=off: GCC ignores the `#pragma STDC FP_CONTRACT OFF` the reference
# and the attention bodies rely on, and would otherwise fuse their multiply-adds.
#
# usage: scripts/check/kernels-harness.sh   (scripts/bootstrap.sh installs the cross compiler and qemu)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${SLMBENCH_HARNESS_DIR:-.build-harness}
mkdir -p "$out"
srcs=(Sources/CKernels/scalar.c Sources/CKernels/dispatch.c Sources/CKernels/x86/avx2.c Sources/CKernels/x86/avx512.c Sources/CKernels/arm/neon.c
      Sources/CKernels/pool.c Sources/CKernels/memory.c Tests/kernels/harness.c)
cflags=(-O2 -Wall -Wextra -Werror -Wno-unknown-pragmas -ISources/CKernels/include)

for tool in aarch64-linux-gnu-gcc qemu-aarch64-static; do
  if ! command -v "$tool" >/dev/null; then
    echo "kernels-harness: $tool is missing; run scripts/bootstrap.sh (it installs gcc-aarch64-linux-gnu and qemu-user-static)" >&2
    exit 1
  fi
done

status=0
run() { # label, command...
  local label=$1; shift
  local line
  if line=$("$@" 2>&1); then
    echo "kernels-harness: $label: $(echo "$line" | tail -1)"
  else
    echo "$line" | sed "s/^/kernels-harness: $label: /" >&2
    status=1
  fi
}

# Native.
if command -v clang >/dev/null; then native_cc=(clang); else native_cc=(gcc -ffp-contract=off); fi
"${native_cc[@]}" "${cflags[@]}" "${srcs[@]}" -o "$out/harness-native" -lm -lpthread
native_expect=scalar
if [ "$(uname -m)" = x86_64 ] && grep -m1 '^flags' /proc/cpuinfo | grep -qw avx2 \
  && grep -m1 '^flags' /proc/cpuinfo | grep -qw fma && grep -m1 '^flags' /proc/cpuinfo | grep -qw f16c; then
  native_expect=avx2
  flags=$(grep -m1 '^flags' /proc/cpuinfo)
  if echo "$flags" | grep -qw avx512f && echo "$flags" | grep -qw avx512bw && echo "$flags" | grep -qw avx512vl \
    && echo "$flags" | grep -qw avx512_vnni; then
    native_expect=avx512
  fi
fi
run "native $(uname -m) (${native_cc[0]})" "$out/harness-native" --expect "$native_expect"

# AArch64 under qemu: static binaries, so qemu needs no AArch64 libraries at run time.
aarch64-linux-gnu-gcc -static -ffp-contract=off "${cflags[@]}" "${srcs[@]}" -o "$out/harness-aarch64-gcc" -lm -lpthread
builds=(gcc)
if command -v clang >/dev/null && clang --target=aarch64-linux-gnu -fuse-ld=lld -static \
    "${cflags[@]}" "${srcs[@]}" -o "$out/harness-aarch64-clang" -lm -lpthread 2>/dev/null; then
  builds+=(clang)
fi
for build in "${builds[@]}"; do
  for pair in cortex-a72:neon neoverse-n1:dotprod max:i8mm; do
    cpu=${pair%%:*} level=${pair#*:}
    run "aarch64 ($build) qemu -cpu $cpu" qemu-aarch64-static -cpu "$cpu" "$out/harness-aarch64-$build" --expect "$level"
  done
done
exit $status
