#!/usr/bin/env python3
"""Compares slmbench's quantizer with llama.cpp's on the real SmolLM2-135M weights.

usage: check-quantize-vs-llamacpp.py SLMBENCH LLAMA_QUANTIZE F32_GGUF WORKDIR [TYPES...]

For each type, both tools quantize the same F32 file (llama-quantize with --pure, so every
matrix gets the type). Legacy types: counts tensors whose bytes are identical. K types: RMSE of
each tool's result against the F32 weights over the tensors both gave that type, dequantized
by gguf-py (an implementation independent of both); IQ4_NL likewise, with no excess allowed.
Also checks slmbench's dequantizer against
gguf-py's on llama.cpp's files. Prints a Markdown table; exits 1 if a legacy type differs,
a K type's RMSE exceeds llama.cpp's by more than 2%, or the dequantizers disagree.
"""
import subprocess
import sys

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize

LEGACY = ["Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"]


def tensors(path):
    return {t.name: t for t in GGUFReader(path).tensors}


def values(t):
    return np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float64).reshape(-1)


def main():
    slm, quantize, f32, work, *types = sys.argv[1:]
    types = types or LEGACY + ["Q6_K", "Q5_K", "Q4_K", "Q3_K", "Q2_K", "IQ4_NL"]
    reference = tensors(f32)
    failed = False
    print("| type | tensors compared | identical bytes | RMSE llama.cpp | RMSE slmbench | ratio | dequantizer max diff |")
    print("|---|---|---|---|---|---|---|")
    for ty in types:
        ours, theirs = f"{work}/slm-{ty}.gguf", f"{work}/llama-{ty}.gguf"
        subprocess.run([quantize, "--pure", f32, theirs, ty], check=True, capture_output=True)
        subprocess.run([slm, "models", "quantize", f32, "--to", ty, "-o", ours], check=True, capture_output=True)
        a, b = tensors(ours), tensors(theirs)
        names = [n for n in reference if len(reference[n].shape) > 1 and a[n].tensor_type == b[n].tensor_type
                 and a[n].tensor_type.name == ty]
        same = sum(bytes(a[n].data) == bytes(b[n].data) for n in names)
        err_a = err_b = count = 0.0
        for n in names:
            x = values(reference[n])
            err_a += float(np.sum((values(a[n]) - x) ** 2))
            err_b += float(np.sum((values(b[n]) - x) ** 2))
            count += x.size
        rmse_a, rmse_b = (err_a / count) ** 0.5, (err_b / count) ** 0.5
        # slmbench's own dequantizer on llama.cpp's file vs gguf-py's.
        back = f"{work}/llama-{ty}-dequant.gguf"
        subprocess.run([slm, "models", "quantize", theirs, "--to", "F32", "-o", back], check=True, capture_output=True)
        c = tensors(back)
        diff = max(float(np.max(np.abs(values(c[n]) - values(b[n])))) for n in names)
        ratio = rmse_a / rmse_b if rmse_b else float("nan")
        print(f"| {ty} | {len(names)} | {same}/{len(names)} | {rmse_b:.6g} | {rmse_a:.6g} | {ratio:.4f} | {diff:.3g} |")
        if ty in LEGACY and same != len(names):
            failed = True
        if ty not in LEGACY and ratio > 1.02:
            failed = True
        if ty == "IQ4_NL" and ratio > 1.0:  # slmbench's search includes ggml's choice per block
            failed = True
        if diff > 0:
            failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
