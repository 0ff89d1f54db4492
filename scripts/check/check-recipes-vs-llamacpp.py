#!/usr/bin/env python3
"""Compares slmbench's recipes (per-tensor type choice and quantizers) with llama-quantize's.

usage: check-recipes-vs-llamacpp.py SLMBENCH LLAMA_QUANTIZE WORKDIR NAME=F32_GGUF... [--recipes R,R…] [--rmse-slack F]

For each F32 model and each recipe, both tools quantize the same F32 file: llama-quantize with
the recipe's file type (Q2_K, Q3_K_M, Q4_K_M, Q5_K_M, Q6_K, IQ4_NL; no --pure) and slmbench with
`models quantize --to RECIPE`. Then, tensor by tensor:
  - the type must be the same;
  - the bytes must be identical, or slmbench's RMSE against the F32 weights must be at most
    llama.cpp's (both dequantized by gguf-py, an implementation independent of both tools).
One more case per model lays --tensor-type rules over Q4_K_M in both tools (the rules' meaning,
and the recipe's layer counters skipping the tensors a rule decides).
Prints a Markdown table; exits 1 on any difference in type or any tensor worse than llama.cpp's
(by more than the fraction --rmse-slack, default 0, which the table states when it is not 0).
"""
import subprocess
import sys

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize

# slmbench's name → llama-quantize's file type name.
RECIPES = {"recipe:q2_k": "Q2_K", "q3_k_m": "Q3_K_M", "q4_k_m": "Q4_K_M", "q5_k_m": "Q5_K_M", "recipe:q6_k": "Q6_K",
           "recipe:iq4_nl": "IQ4_NL"}
RULES = ["attn_v=q8_0", r"blk\.1[0-9]\.ffn_up=q5_k", "ffn_down=q4_k"]


def tensors(path):
    return {t.name: t for t in GGUFReader(path).tensors}


def values(t):
    return np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float64).reshape(-1)


def compare(slm, quantize, work, label, f32, recipe, rules, slack):
    ours, theirs = f"{work}/slm-{label}.gguf", f"{work}/llama-{label}.gguf"
    extra = [a for r in rules for a in ("--tensor-type", r)]
    subprocess.run([quantize, *extra, f32, theirs, RECIPES[recipe]], check=True, capture_output=True)
    subprocess.run([slm, "models", "quantize", f32, "--to", recipe, *extra, "-o", ours], check=True, capture_output=True)
    ref, a, b = tensors(f32), tensors(ours), tensors(theirs)
    if set(a) != set(b):
        return {"error": f"tensor sets differ: {sorted(set(a) ^ set(b))}"}
    mismatched = [n for n in b if a[n].tensor_type != b[n].tensor_type]
    identical = worse = 0
    worst = 0.0
    mix = {}
    for n in b:
        mix[b[n].tensor_type.name] = mix.get(b[n].tensor_type.name, 0) + 1
        if n in mismatched:
            continue
        if bytes(a[n].data) == bytes(b[n].data):
            identical += 1
            continue
        x = values(ref[n])
        ea = float(np.sqrt(np.mean((values(a[n]) - x) ** 2)))
        eb = float(np.sqrt(np.mean((values(b[n]) - x) ** 2)))
        ratio = ea / eb if eb > 0 else (0.0 if ea == 0 else float("inf"))
        worst = max(worst, ratio)
        if ea > eb * (1 + slack):
            worse += 1
            print(f"  {label} {n} ({b[n].tensor_type.name}): RMSE slmbench {ea:.6g} > llama.cpp {eb:.6g}", file=sys.stderr)
    for n in mismatched:
        print(f"  {label} {n}: slmbench {a[n].tensor_type.name}, llama.cpp {b[n].tensor_type.name}", file=sys.stderr)
    return {"tensors": len(b), "mismatched": len(mismatched), "identical": identical, "worse": worse, "worst": worst,
            "mix": ", ".join(f"{k} ×{v}" for k, v in sorted(mix.items()))}


def main():
    args = sys.argv[1:]
    recipes = list(RECIPES)
    slack = 0.0
    if "--rmse-slack" in args:
        i = args.index("--rmse-slack")
        slack = float(args[i + 1])
        del args[i:i + 2]
    if "--recipes" in args:
        i = args.index("--recipes")
        recipes = args[i + 1].split(",")
        del args[i:i + 2]
    slm, quantize, work, *models = args
    failed = False
    above = "RMSE above llama.cpp's" + (f" by more than {slack:.1%}" if slack else "")
    print(f"| model | recipe | tensors | same type | identical bytes | {above} | worst RMSE ratio | llama.cpp's mix |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for spec in models:
        name, f32 = spec.split("=", 1)
        cases = [(r, []) for r in recipes] + [("q4_k_m", RULES)]
        for recipe, rules in cases:
            shown = recipe + "".join(f" --tensor-type {r}" for r in rules)
            label = f"{name}-{recipe.replace(':', '-')}{'-rules' if rules else ''}"
            r = compare(slm, quantize, work, label, f32, recipe, rules, slack)
            if "error" in r:
                print(f"| {name} | {shown} | {r['error']} |||||")
                failed = True
                continue
            compared = r["tensors"] - r["mismatched"]
            print(f"| {name} | {shown} | {r['tensors']} | {compared}/{r['tensors']} | {r['identical']}/{compared} | "
                  f"{r['worse']} | {r['worst']:.4f} | {r['mix']} |")
            failed |= r["mismatched"] > 0 or r["worse"] > 0
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
