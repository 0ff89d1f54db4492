#!/usr/bin/env python3
"""Side-by-side speed of an slmbench backend and the pinned llama-bench on the same files.

For each type and thread count, rounds interleave llama-bench (pp512 and tg128) with
`slmbench run` of the same shapes (--prompt 512 --gen 0, and --prompt 0 --gen 128), so both
see the same machine state. Prints each side's median t/s over rounds and their ratio.
A benchmark: it exits 0 whatever the ratios (1 when a run fails)."""
import argparse
import json
import os
import statistics
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--backend", required=True)
ap.add_argument("--types", default="q8_0,q4_0,q4_1")
ap.add_argument("--threads", default="1,2")
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--reps", type=int, default=3, help="repetitions inside each run (llama-bench -r, slmbench --repetitions)")
ap.add_argument("--slmbench", default=".build/release/slmbench")
ap.add_argument("--llama-bench", required=True)
ap.add_argument("--kv", default="f16", help="KV-cache type on both sides (llama-bench -ctk/-ctv; slmbench --kv); f16 is llama-bench's default")
ap.add_argument("--flash-attn", default="auto", help="llama-bench -fa: auto (its default) or off (what slmbench's llama.cpp backend runs)")
args = ap.parse_args()


def sh(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr[-3000:])
        sys.exit(f"failed: {' '.join(cmd)}")
    return r.stdout


def model_file(t):
    return sh([args.slmbench, "models", "quantize", "smollm2-135m", "--to", t]).strip().splitlines()[-1]


def llama_bench(path, threads):
    out = json.loads(sh([args.llama_bench, "-m", path, "-t", str(threads), "-p", "512", "-n", "128",
                         "-r", str(args.reps), "-fa", args.flash_attn, "-ctk", args.kv, "-ctv", args.kv, "-o", "json"]))
    pp = next(x["avg_ts"] for x in out if x["n_prompt"] == 512 and x["n_gen"] == 0)
    tg = next(x["avg_ts"] for x in out if x["n_gen"] == 128 and x["n_prompt"] == 0)
    return pp, tg


def slm(t, threads, prompt, gen):
    rec = json.loads(sh([args.slmbench, "run", "--backend", args.backend, "--model", "smollm2-135m", "--type", t,
                         "--threads", str(threads), "--prompt", str(prompt), "--gen", str(gen),
                         "--repetitions", str(args.reps), "--warmup", "1", "--kv", args.kv, "--json"]))
    m = rec["metrics"]
    return (m["pp_tps"] if gen == 0 else m["tg_tps"])["mean"]


types = args.types.split(",")
threads = [int(x) for x in args.threads.split(",")]
files = {t: model_file(t) for t in types}
samples = {}
for r in range(args.rounds):
    print(f"round {r + 1}/{args.rounds}", file=sys.stderr, flush=True)
    for t in types:
        for n in threads:
            ref_pp, ref_tg = llama_bench(files[t], n)
            ours_pp = slm(t, n, 512, 0)
            ours_tg = slm(t, n, 0, 128)
            for key, v in [("ref_pp", ref_pp), ("ref_tg", ref_tg), ("pp", ours_pp), ("tg", ours_tg)]:
                samples.setdefault((t, n, key), []).append(v)

print(f"\n{args.backend} vs llama-bench (pinned llama.cpp, -fa {args.flash_attn}, KV cache {args.kv} on both sides), median of {args.rounds} interleaved rounds, {args.reps} repetitions each")
print("| type | threads | test | llama-bench t/s | slmbench t/s | ratio | per-round ratios |")
print("|---|---|---|---|---|---|---|")
for t in types:
    for n in threads:
        for test, key in [("pp512", "pp"), ("tg128", "tg")]:
            ref = samples[(t, n, "ref_" + key)]
            ours = samples[(t, n, key)]
            rounds = ", ".join(f"{o / f:.3f}" for o, f in zip(ours, ref))
            print(f"| {t.upper()} | {n} | {test} | {statistics.median(ref):.1f} | {statistics.median(ours):.1f} | "
                  f"{statistics.median(ours) / statistics.median(ref):.3f} | {rounds} |")
