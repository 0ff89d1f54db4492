#!/usr/bin/env bash
# Instructions the AArch64 kernels execute per 32-weight block and token, per level: the only
# figure about the Arm kernels' speed this x86 machine can give. Not a timing: qemu's times mean
# nothing about a real core, and a count ignores latencies, dual issue and memory. It does show
# what each level saves (sdot for four widening multiply-adds, smmla for a 2×2 tile).
#
# How: the harness (Tests/kernels/harness.c --count) runs one kernel once on 16 rows × 2048
# columns (1024 blocks) against 1 or 2 tokens, under qemu-aarch64-static -singlestep (one guest
# instruction per translation block) with -d exec,nochain logging every block executed and
# -dfilter keeping only the addresses of arm/neon.c's matrix code (its symbols in the static
# binary, the activation quantizer excepted); lines logged = instructions executed there.
# Debian's qemu ships no plugins (no libinsn.so in qemu-user, qemu-user-static or
# qemu-system-data, and the static build cannot load one), hence -d.
#
# usage: scripts/check/kernel-instructions.sh [gcc|clang]   (default gcc, the cross compiler bootstrap installs)
set -euo pipefail
cd "$(dirname "$0")/../.."
compiler=${1:-gcc}
out=${SLMBENCH_HARNESS_DIR:-.build-harness}
mkdir -p "$out"
srcs=(Sources/CKernels/scalar.c Sources/CKernels/dispatch.c Sources/CKernels/x86/avx2.c Sources/CKernels/x86/avx512.c Sources/CKernels/arm/neon.c
      Sources/CKernels/pool.c Sources/CKernels/memory.c Tests/kernels/harness.c)
cflags=(-O2 -Wno-unknown-pragmas -ISources/CKernels/include)
case "$compiler" in
  gcc) cc=(aarch64-linux-gnu-gcc -ffp-contract=off) ;;
  clang) cc=(clang --target=aarch64-linux-gnu -fuse-ld=lld) ;;
  *) echo "kernel-instructions: unknown compiler '$compiler' (known: gcc, clang)" >&2; exit 64 ;;
esac
bin=$out/harness-aarch64-count-$compiler
"${cc[@]}" -static "${cflags[@]}" "${srcs[@]}" -o "$bin" -lm -lpthread
"${cc[@]}" "${cflags[@]}" -c Sources/CKernels/arm/neon.c -o "$out/neon-count.o"

# The address ranges of neon.c's functions in the binary (all but the activation quantizer,
# which runs before the kernel): "start+size" pairs for -dfilter.
filter=$(python3 - "$bin" "$out/neon-count.o" <<'EOF'
import subprocess, sys
def syms(path):
    out = subprocess.run(["aarch64-linux-gnu-nm", "-S", "--defined-only", path], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tT":
            yield parts[3], int(parts[0], 16), int(parts[1], 16)
names = {name for name, _, _ in syms(sys.argv[2]) if name not in ("ck_neon_quantize_act", "f16_bits")}
ranges = sorted((start, size) for name, start, size in syms(sys.argv[1]) if name in names)
print(",".join(f"0x{start:x}+0x{size:x}" for start, size in ranges))
EOF
)

count() { # kernel level tokens → instructions executed in the kernel code
  qemu-aarch64-static -cpu max -singlestep -d exec,nochain -dfilter "$filter" "$bin" --count "$1" "$2" "$3" 2>&1 >/dev/null \
    | grep -c '^Trace'
}

blocks=1024
echo "AArch64 kernel instructions per 32-weight block and token (qemu-aarch64 -singlestep -d exec count, $compiler build; not a timing)"
printf '%-8s %-7s %10s %10s %10s\n' kernel tokens neon dotprod i8mm
for kernel in q8_0 q4_0 q4_0x8 q4_1 q5_0 q5_1 f16 f32 lab3g64a lab4g32a lab4g128s lab6g32s; do
  for tokens in 1 2; do
    row=$(printf '%-8s %-7s' "$kernel" "$tokens")
    for level in neon dotprod i8mm; do
      n=$(count "$kernel" "$level" "$tokens")
      row+=$(printf ' %10.1f' "$(python3 -c "print($n / ($blocks * $tokens))")")
    done
    echo "$row"
  done
done
