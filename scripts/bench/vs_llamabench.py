#!/usr/bin/env python3
"""Side-by-side speed of an slmbench backend and the pinned llama-bench on the same files.

Paired design: for every type, thread count and test (pp512, tg128), each round runs
llama-bench and `slmbench run` of the same shape back to back, the order alternating between
rounds (A B, then B A), so slow drift on a shared host hits both sides alike. Each round gives
one ratio (slmbench ÷ llama-bench); the table prints the median ratio over rounds with a
distribution-free 95% confidence interval (order statistics of the binomial), both sides'
medians, and every round's ratio. A benchmark: it exits 0 whatever the ratios (1 when a run
fails)."""
import argparse
import json
import math
import statistics
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--backend", required=True)
ap.add_argument("--types", default="q8_0,q4_0,q4_1")
ap.add_argument("--threads", default="1,2")
ap.add_argument("--rounds", type=int, default=8, help="paired rounds (one ratio each)")
ap.add_argument("--reps", type=int, default=3, help="repetitions inside each run (llama-bench -r, slmbench --repetitions)")
ap.add_argument("--slmbench", default=".build/release/slmbench")
ap.add_argument("--llama-bench", required=True)
ap.add_argument("--kv", default="f16", help="KV-cache type on both sides (llama-bench -ctk/-ctv; slmbench --kv); f16 is llama-bench's default")
ap.add_argument("--flash-attn", default="auto", help="llama-bench -fa: auto (its default) or off (what slmbench's llama.cpp backend runs)")
ap.add_argument("--tolerance", type=float, default=0, help="the band the ratio should fall in (e.g. 0.05), for a verdict column; 0 for none")
args = ap.parse_args()
if args.rounds < 1 or args.reps < 1:
    sys.exit("--rounds and --reps must be at least 1")

TESTS = {"pp512": (512, 0), "tg128": (0, 128)}


def sh(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr[-3000:])
        sys.exit(f"failed: {' '.join(cmd)}")
    return r.stdout


def model_file(t):
    return sh([args.slmbench, "models", "quantize", "smollm2-135m", "--to", t]).strip().splitlines()[-1]


def llama_bench(path, threads, prompt, gen):
    out = json.loads(sh([args.llama_bench, "-m", path, "-t", str(threads), "-p", str(prompt), "-n", str(gen),
                         "-r", str(args.reps), "-fa", args.flash_attn, "-ctk", args.kv, "-ctv", args.kv, "-o", "json"]))
    return next(x["avg_ts"] for x in out if x["n_prompt"] == prompt and x["n_gen"] == gen)


def slm(t, threads, prompt, gen):
    rec = json.loads(sh([args.slmbench, "run", "--backend", args.backend, "--model", "smollm2-135m", "--type", t,
                         "--threads", str(threads), "--prompt", str(prompt), "--gen", str(gen),
                         "--repetitions", str(args.reps), "--warmup", "1", "--kv", args.kv, "--json"]))
    m = rec["metrics"]
    return (m["pp_tps"] if gen == 0 else m["tg_tps"])["mean"]


def median_ci(xs, level=0.95):
    """Distribution-free CI of the median: [x(k), x(n+1-k)] with the largest k whose binomial
    tail stays within (1 - level) / 2. None when n is too small for any such k."""
    xs = sorted(xs)
    n = len(xs)
    tail, k = 0.0, 0
    while True:
        tail += math.comb(n, k) / 2 ** n
        if tail > (1 - level) / 2:
            break
        k += 1
    return (xs[k - 1], xs[n - k]) if k >= 1 else None


types = args.types.split(",")
threads = [int(x) for x in args.threads.split(",")]
files = {t: model_file(t) for t in types}
samples = {}
for r in range(args.rounds):
    print(f"round {r + 1}/{args.rounds}", file=sys.stderr, flush=True)
    for t in types:
        for n in threads:
            for test, (prompt, gen) in TESTS.items():
                runs = [("ref", lambda: llama_bench(files[t], n, prompt, gen)), ("ours", lambda: slm(t, n, prompt, gen))]
                for side, run in (runs if r % 2 == 0 else runs[::-1]):
                    samples.setdefault((t, n, test, side), []).append(run())

print(f"\n{args.backend} vs llama-bench (pinned llama.cpp, -fa {args.flash_attn}, KV cache {args.kv} on both sides): "
      f"{args.rounds} paired rounds, order alternating, {args.reps} repetitions per run")
band = f" within ±{args.tolerance:.0%} |" if args.tolerance > 0 else ""
print(f"| type | threads | test | llama-bench t/s | slmbench t/s | ratio (median) | 95% CI |{band} per-round ratios |")
print("|---|---|---|---|---|---|---|" + ("---|" if band else "") + "---|")
inside = 0
rows = 0
for t in types:
    for n in threads:
        for test in TESTS:
            ref = samples[(t, n, test, "ref")]
            ours = samples[(t, n, test, "ours")]
            ratios = [o / f for o, f in zip(ours, ref)]
            med = statistics.median(ratios)
            ci = median_ci(ratios)
            ci_text = f"{ci[0]:.3f}–{ci[1]:.3f}" if ci else "n/a (too few rounds)"
            ok = abs(med - 1) <= args.tolerance
            inside += ok
            rows += 1
            print(f"| {t.upper()} | {n} | {test} | {statistics.median(ref):.1f} | {statistics.median(ours):.1f} | "
                  f"{med:.3f} | {ci_text} |" + (f" {'yes' if ok else 'NO'} |" if band else "") + f" {', '.join(f'{x:.3f}' for x in ratios)} |")
if band:
    print(f"\n{inside} of {rows} rows have a median ratio within ±{args.tolerance:.0%}.")
