#!/usr/bin/env python3
"""Side-by-side speed of an slmbench backend and the pinned llama-bench on the same files.

Paired design: for every type, thread count and test (pp512, tg128), each round runs
llama-bench and `slmbench run` of the same shape back to back, the order alternating between
rounds (A B, then B A), so slow drift on a shared host hits both sides alike. Each round gives
one ratio (slmbench ÷ llama-bench); the table prints the median ratio over rounds with a
distribution-free 95% confidence interval (order statistics of the binomial), both sides'
medians, and every round's ratio. A benchmark: it exits 0 whatever the ratios (1 when a run
fails).

Batched decode (--batches 4,8): llama-bench decodes one sequence only, so a batch-B row runs
tg128 for B sequences through slmbench's llama.cpp backend (the real libllama, B sequences in
one llama_decode per step; its fidelity to llama-bench is scripts/check/check-llamacpp-fidelity.sh)
and compares aggregate t/s.

With --profile (a hardware profile with measured bandwidth, `slmbench probe --bandwidth
--save`), decode rows also give the share of the memory-bandwidth bound each side reaches:
bound t/s = B × read GB/s at that thread count ÷ bytes read per step, with the bytes per
step taken as the weights the native engine reports (tied embeddings are read once, as
the output head; the KV cache, under 2% here, is left out)."""
import argparse
import json
import math
import statistics
import subprocess
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--backend", required=True)
ap.add_argument("--model", default="smollm2-135m",
                help="smollm2-135m (the real model, converted per type) or a preset of `slmbench models synth` (synthetic weights)")
ap.add_argument("--types", default="q8_0,q4_0,q4_1")
ap.add_argument("--batches", default="1", help="sequences decoded together; rows with more than 1 are tg128 against slmbench's llama.cpp backend")
ap.add_argument("--tests", default="pp512,tg128", help="pp512 and/or tg128 (batch-1 rows)")
ap.add_argument("--profile", help="hardware profile with measured bandwidth, for the %% of bound columns")
ap.add_argument("--threads", default="1,2")
ap.add_argument("--rounds", type=int, default=8, help="paired rounds (one ratio each)")
ap.add_argument("--reps", type=int, default=3, help="repetitions inside each run (llama-bench -r, slmbench --repetitions)")
ap.add_argument("--slmbench", default=".build/release/slmbench")
ap.add_argument("--llama-bench", required=True)
ap.add_argument("--kv", default="f16", help="KV-cache types on both sides, comma-separated (llama-bench -ctk/-ctv; slmbench --kv); "
                                          "f16 is llama-bench's default; with several, a second table compares each with the first, side by side")
ap.add_argument("--warmup", type=int, default=1, help="unmeasured runs first on each side (0: llama-bench --no-warmup, slmbench --warmup 0)")
ap.add_argument("--depth", type=int, default=0, help="tokens already in the context before each test, filled untimed (llama-bench -d; slmbench --depth)")
ap.add_argument("--flash-attn", default="auto", help="llama-bench -fa: auto (its default) or off (what slmbench's llama.cpp backend runs)")
ap.add_argument("--tolerance", type=float, default=0, help="the band the ratio should fall in (e.g. 0.05), for a verdict column; 0 for none")
ap.add_argument("--llama-quantize", help="make each --types file with this llama-quantize from the model's F32 conversion "
                "(types are then llama-quantize's names: Q4_K_M, Q5_K_M, Q6_K, IQ4_NL, F16, …), so both sides read the same file")
ap.add_argument("--files-dir", default=None, help="where --llama-quantize files are kept (default: the slmbench cache)")
ap.add_argument("--pairs", default="", help="native against native, tg128 only: LAB:LEGACY,… (ratio LAB ÷ LEGACY), "
                "e.g. lab4g32s:q4_0; runs instead of the llama-bench rows")
args = ap.parse_args()
if args.rounds < 1 or args.reps < 1:
    sys.exit("--rounds and --reps must be at least 1")

TESTS = {"pp512": (512, 0), "tg128": (0, 128), "tg64": (0, 64), "tg32": (0, 32)}
for test in args.tests.split(","):
    if test not in TESTS:
        sys.exit(f"--tests: unknown test '{test}' (known: {', '.join(TESTS)})")
batches = [int(x) for x in args.batches.split(",")]
if any(b < 1 for b in batches):
    sys.exit("--batches: every batch must be at least 1")
bandwidth = {}
fingerprint = None
if args.profile:
    try:
        profile = json.load(open(args.profile))
        fingerprint = profile.get("fingerprint")
        for point in profile["bandwidth"]["points"]:
            bandwidth[point["threads"]] = point["readGBps"]["best"] * 1e9
    except (OSError, ValueError, KeyError, TypeError) as e:
        sys.exit(f"--profile {args.profile}: no measured read bandwidth ({e}); make one with `slmbench probe --bandwidth --save FILE`")


def sh(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr[-3000:])
        sys.exit(f"failed: {' '.join(cmd)}")
    return r.stdout


def cache_dir():
    import os
    root = os.environ.get("SLMBENCH_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "slmbench")
    return os.path.join(root, "bench-files")


def f32_file():
    if args.model == "smollm2-135m":
        return sh([args.slmbench, "models", "quantize", "smollm2-135m", "--to", "f32"]).strip().splitlines()[-1]
    return sh([args.slmbench, "models", "synth", "--preset", args.model, "--type", "f32"]).strip().splitlines()[-1]


def llama_quantized(t):
    """The model in llama-quantize's type t (its per-tensor recipe), made once from the F32 file."""
    import os
    path = os.path.join(args.files_dir or cache_dir(), f"{args.model}-{t}.gguf")
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        sh([args.llama_quantize, f32_file(), path + ".part", t])
        os.replace(path + ".part", path)
    return path


def model_file(t):
    if args.llama_quantize and not t.lower().startswith("lab"):
        return llama_quantized(t)
    if args.model == "smollm2-135m":
        return sh([args.slmbench, "models", "quantize", "smollm2-135m", "--to", t]).strip().splitlines()[-1]
    return sh([args.slmbench, "models", "synth", "--preset", args.model, "--type", t]).strip().splitlines()[-1]


def llama_bench(path, threads, prompt, gen, kv):
    depth = ["-d", str(args.depth)] if args.depth > 0 else []
    depth += ["--no-warmup"] if args.warmup == 0 else []
    out = json.loads(sh([args.llama_bench, "-m", path, "-t", str(threads), "-p", str(prompt), "-n", str(gen),
                         "-r", str(args.reps), "-fa", args.flash_attn, "-ctk", kv, "-ctv", kv, *depth, "-o", "json"]))
    return next(x["avg_ts"] for x in out if x["n_prompt"] == prompt and x["n_gen"] == gen)


weights = {}


def slm(t, threads, prompt, gen, kv, batch=1, backend=None):
    backend = backend or args.backend
    model = ["--model", "smollm2-135m", "--type", t] if args.model == "smollm2-135m" and not args.llama_quantize else ["--model", files[t]]
    rec = json.loads(sh([args.slmbench, "run", "--backend", backend, *model,
                         "--threads", str(threads), "--prompt", str(prompt), "--gen", str(gen), "--batch", str(batch),
                         "--repetitions", str(args.reps), "--warmup", str(args.warmup), "--kv", kv, "--depth", str(args.depth), "--json"]))
    m = rec["metrics"]
    if backend == "native" and m.get("weights_bytes"):
        weights[t] = m["weights_bytes"]
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
kvs = args.kv.split(",")
threads = [int(x) for x in args.threads.split(",")]
pairs = [tuple(p.split(":")) for p in args.pairs.split(",") if p]
if any(len(p) != 2 for p in pairs):
    sys.exit("--pairs: each pair is LAB:LEGACY (e.g. lab4g32s:q4_0)")
if pairs:
    types = sorted({t for p in pairs for t in p})
files = {t: model_file(t) for t in types}
# Rows: (type, threads, test, batch); batch-1 rows against llama-bench, batched ones against the
# llama.cpp backend.
rows = [(t, n, test, 1, kv) for t in types for n in threads for test in args.tests.split(",") for kv in kvs if 1 in batches]
rows += [(t, n, "tg128", b, kv) for t in types for n in threads for b in batches if b > 1 for kv in kvs]
if pairs:  # native LAB against native LEGACY: a row per pair, keyed by the lab type, its partner looked up
    partner = dict(pairs)
    rows = [(lab, n, "tg128", 1, kvs[0]) for lab, _ in pairs for n in threads]
samples = {}
for r in range(args.rounds):
    print(f"round {r + 1}/{args.rounds}", file=sys.stderr, flush=True)
    for row in rows:
        t, n, test, b, kv = row
        prompt, gen = TESTS[test]
        if pairs:
            ref = lambda: slm(partner[t], n, prompt, gen, kv)
        elif b == 1:
            ref = lambda: llama_bench(files[t], n, prompt, gen, kv)
        else:
            ref = lambda: slm(t, n, prompt, gen, kv, batch=b, backend="llama.cpp")
        runs = [("ref", ref), ("ours", lambda: slm(t, n, prompt, gen, kv, batch=b))]
        for side, run in (runs if r % 2 == 0 else runs[::-1]):
            samples.setdefault((row, side), []).append(run())

model_text = "SmolLM2-135M (real weights)" if args.model == "smollm2-135m" else f"{args.model} (synthetic weights)"
if args.llama_quantize:
    model_text += ", files made by llama-quantize from its F32 conversion and read by both sides"
if pairs:
    print(f"\n{args.backend} against itself on {model_text}: each lab type's decode ÷ the legacy type named beside it "
          f"(the 'llama.cpp t/s' column holds that legacy type's native t/s); {args.rounds} paired rounds, order alternating, "
          f"{args.reps} repetitions per run")
else:
    print(f"\n{args.backend} vs llama.cpp on {model_text}: batch-1 rows against the pinned llama-bench (-fa {args.flash_attn}), "
          f"batched rows against slmbench's llama.cpp backend; KV cache {args.kv} on both sides"
          f"{f', {args.depth} tokens of context filled before each test' if args.depth else ''}; "
          f"{args.rounds} paired rounds, order alternating, {args.reps} repetitions per run")
if args.profile:
    print(f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC; profile {args.profile}, fingerprint {fingerprint}; "
          f"read bandwidth " + ", ".join(f"{n}T {bw / 1e9:.1f} GB/s" for n, bw in sorted(bandwidth.items())))
band = f" within ±{args.tolerance:.0%} |" if args.tolerance > 0 else ""
bound = " % of bound (llama.cpp / slmbench) |" if args.profile else ""
print(f"| type | kv | threads | batch | test | llama.cpp t/s | slmbench t/s | ratio (median) | 95% CI |{band}{bound} per-round ratios |")
print("|---|---|---|---|---|---|---|---|---|" + ("---|" if band else "") + ("---|" if bound else "") + "---|")
inside = 0
for row in rows:
    t, n, test, b, kv = row
    ref = samples[(row, "ref")]
    ours = samples[(row, "ours")]
    ratios = [o / f for o, f in zip(ours, ref)]
    med = statistics.median(ratios)
    ci = median_ci(ratios)
    ci_text = f"{ci[0]:.3f}–{ci[1]:.3f}" if ci else "n/a (too few rounds)"
    ok = abs(med - 1) <= args.tolerance
    inside += ok
    share = ""
    if args.profile:
        bw = bandwidth.get(n) or bandwidth[max(bandwidth)]
        if test.startswith("tg") and t in weights and not args.depth and not pairs:
            limit = b * bw / weights[t]
            share = f" {statistics.median(ref) / limit:.0%} / {statistics.median(ours) / limit:.0%} of {limit:.0f} t/s |"
        else:
            share = " — |"
    label = f"{t.upper()} vs {partner[t].upper()}" if pairs else t.upper()
    print(f"| {label} | {kv} | {n} | {b} | {test} | {statistics.median(ref):.1f} | {statistics.median(ours):.1f} | "
          f"{med:.3f} | {ci_text} |" + (f" {'yes' if ok else 'NO'} |" if band else "") + share + f" {', '.join(f'{x:.3f}' for x in ratios)} |")
if band:
    print(f"\n{inside} of {len(rows)} rows have a median ratio within ±{args.tolerance:.0%}.")

if len(kvs) > 1:
    # Each cache type against the first, per side, from the same rounds (run back to back).
    print(f"\nKV cache types against {kvs[0]} on each side: median over rounds of (t/s with the type) ÷ (t/s with {kvs[0]}), 95% CI")
    print("| type | threads | batch | test | kv | llama.cpp | llama.cpp 95% CI | slmbench | slmbench 95% CI |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        t, n, test, b, kv = row
        if kv == kvs[0]:
            continue
        base = (t, n, test, b, kvs[0])
        cells = []
        for side in ("ref", "ours"):
            r = [x / y for x, y in zip(samples[(row, side)], samples[(base, side)])]
            ci = median_ci(r)
            cells += [f"{statistics.median(r):.3f}", f"{ci[0]:.3f}–{ci[1]:.3f}" if ci else "n/a"]
        print(f"| {t.upper()} | {n} | {b} | {test} | {kv} | " + " | ".join(cells) + " |")
