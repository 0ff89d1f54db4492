#!/usr/bin/env bash
# Compares slmbench's measured memory bandwidth with a C STREAM-style reference
# (scripts/bench/stream-ref.c), interleaved in one run: reference, slmbench, reference, … and
# prints per thread count the median of each side's best-of-trials and their ratio.
# The reference is built twice: plain `gcc -O3 -march=native -fopenmp`, and with
# `-funroll-loops -fvariable-expansion-in-unroller`, which gives its read reduction several
# accumulators (with one, the plain build's read is latency-limited at 2 threads on some
# CPUs). A benchmark, not a test: exits 0 whatever the ratio (1 on a build or run failure).
#
# usage: scripts/bench/bench-bandwidth.sh [rounds=5] [MiB=256] [threads="1 2"]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-5}
mib=${2:-256}
threads=${3:-"1 $(nproc)"}
threads=$(echo "$threads" | tr ' ' '\n' | sort -nu | tr '\n' ' ')

scripts/bootstrap.sh
swift build -c release --product slmbench >/dev/null
slmbench=.build/release/slmbench
refdir=$(mktemp -d)
gcc -O3 -march=native -fopenmp scripts/bench/stream-ref.c -o "$refdir/ref"
gcc -O3 -march=native -fopenmp -funroll-loops -fvariable-expansion-in-unroller scripts/bench/stream-ref.c -o "$refdir/refu"
results=$(mktemp)
csv_threads=$(echo $threads | tr ' ' ',')
passes=$(( 1024 / mib > 0 ? 1024 / mib : 1 ))   # the probe's passes per trial (1 GiB of traffic)

for round in $(seq "$rounds"); do
  echo "round $round/$rounds" >&2
  for t in $threads; do
    for side in ref refu; do
      OMP_NUM_THREADS=$t OMP_PROC_BIND=spread OMP_PLACES=cores "$refdir/$side" "$mib" 7 "$passes" | sed "s/^/$side /" >>"$results"
    done
  done
  "$slmbench" probe --bandwidth --json --threads "$csv_threads" --array-mib "$mib" --trials 7 2>/dev/null \
    | python3 -c '
import json, sys
p = json.load(sys.stdin)
for pt in p["bandwidth"]["points"]:
    print("slm threads=%d read_best=%.2f triad_best=%.2f" % (pt["threads"], pt["readGBps"]["best"], pt["triadGBps"]["best"]))
' >>"$results"
done

python3 - "$results" "$rounds" "$mib" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    side, rest = line.split(" ", 1)
    kv = dict(re.findall(r"(\w+)=([\d.e+-]+)", rest))
    t = int(kv["threads"])
    for k in ("read_best", "triad_best"):
        rows.setdefault((t, k, side), []).append(float(kv[k]))
print(f"Bandwidth, slmbench probe vs C STREAM-style reference: {sys.argv[2]} interleaved rounds, {sys.argv[3]} MiB arrays, same passes per trial,")
print("each figure the median over rounds of the best of 7 trials (GB/s = 1e9 B/s)")
print()
print("| threads | kernel | reference GB/s (plain / unrolled) | slmbench GB/s | ratio to plain | ratio to unrolled | per-round ratios to unrolled |")
print("|---|---|---|---|---|---|---|")
for t in sorted({k[0] for k in rows}):
    for k in ("read_best", "triad_best"):
        r, u, s = rows[(t, k, "ref")], rows[(t, k, "refu")], rows[(t, k, "slm")]
        m = statistics.median
        ratios = [b / a for a, b in zip(u, s)]
        print(f"| {t} | {k.split('_')[0]} | {m(r):.2f} / {m(u):.2f} | {m(s):.2f} | {m(s) / m(r):.3f} | "
              f"{m(s) / m(u):.3f} | {' '.join(f'{x:.2f}' for x in ratios)} |")
PY
