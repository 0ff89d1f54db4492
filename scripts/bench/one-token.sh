#!/usr/bin/env bash
# The one-token (decode) bodies of q8_tiles.h against the row_dot body they replace, on the same
# data in alternating runs: scripts/bench/one-token.c built twice (the second with
# CK_NO_ONE_TOKEN, which routes those types back to row_dot), each run timing one matrix of
# 896-wide rows (Qwen2.5-0.5B's width) streamed from memory, 116,736 rows (larger than any cache
# here), best of 20 calls. Prints per type and level both medians over the rounds, the ratio
# (new ÷ old rate) and whether the checksums agree (the bodies must give the same bits). A
# benchmark, not a test; run it on a quiet machine. Prints the probe's fingerprint line first.
#
# usage: scripts/bench/one-token.sh [ROUNDS=5]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${SLMBENCH_HARNESS_DIR:-.build-harness}
mkdir -p "$out"
k=Sources/CKernels
cc=clang
command -v clang >/dev/null || cc=gcc
src=("$k"/scalar.c "$k"/dispatch.c "$k"/x86/avx2.c "$k"/x86/avx512.c "$k"/arm/neon.c "$k"/pool.c "$k"/memory.c "$k"/geglu.c scripts/bench/one-token.c)
"$cc" -O2 -I$k/include -I$k "${src[@]}" -o "$out/one-token-new" -lm -lpthread
"$cc" -O2 -DCK_NO_ONE_TOKEN -I$k/include -I$k "${src[@]}" -o "$out/one-token-old" -lm -lpthread
for b in .build/release/slmbench .build-test/release/slmbench; do if [ -x "$b" ]; then "$b" probe 2>/dev/null | head -1 || true; break; fi; done
date -u
rounds=${1:-5}
printf '%-6s %-7s %14s %14s %8s %s\n' type level "row_dot GB/s" "one-token GB/s" ratio checksums
for t in "q5_0 6" "q5_1 7" "q4_1 3"; do
  for l in "avx2 1" "avx512 5"; do
    old=(); new=(); sums=()
    for r in $(seq "$rounds"); do
      for v in old new; do
        [ $((r % 2)) = 0 ] && v=$([ $v = old ] && echo new || echo old)
        line=$("$out/one-token-$v" "${t#* }" 116736 896 20 "${l#* }") || { echo "$line"; continue 3; }
        rate=$(echo "$line" | awk '{print $3}'); sums+=("$(echo "$line" | awk '{print $6}')")
        if [ $v = old ]; then old+=("$rate"); else new+=("$rate"); fi
      done
    done
    med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
    mo=$(med "${old[@]}"); mn=$(med "${new[@]}")
    same=$([ "$(printf '%s\n' "${sums[@]}" | sort -u | wc -l)" = 1 ] && echo equal || echo DIFFER)
    printf '%-6s %-7s %14s %14s %8.3f %s\n' "${t% *}" "${l% *}" "$mo" "$mn" "$(echo "$mn / $mo" | bc -l)" "$same"
  done
done
