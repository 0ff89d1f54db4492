#!/usr/bin/env python3
"""The quantize-and-measure half of check-imatrix-vs-llamacpp.sh (which makes L.imatrix and S.imatrix).

usage: check-imatrix-vs-llamacpp.py SLMBENCH LLAMA_QUANTIZE WORKDIR F32_GGUF TYPES CONTEXT CHUNKS THREADS CALIBRATION [CORPUS]

Per type (Q3_K, Q4_K, IQ4_NL, …) five files of the same F32 weights: llama-quantize --pure with
WORKDIR/L.imatrix, with WORKDIR/S.imatrix and with none; `slmbench models quantize --to T` with
S.imatrix and with none. Each file's tensor types must equal llama-quantize's (no imatrix). Then one
`slmbench quality --json` run measures every file's KL divergence from the F32 file on the corpus.
Prints a Markdown table; exits 1 on a type mismatch or when slmbench+S > 1.05 × llama+L or
|llama+S ÷ llama+L − 1| > 0.05 for a type.
"""
import json
import subprocess
import sys

from gguf import GGUFReader


def types_of(path):
    return {t.name: t.tensor_type.name for t in GGUFReader(path).tensors}


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(f"failed: {' '.join(cmd)}\n{r.stderr[-2000:]}\n")
        sys.exit(1)
    return r


def main():
    slm, quantize, work, f32, types, context, chunks, threads, calibration, *rest = sys.argv[1:]
    corpus = rest[0] if rest and rest[0] else None
    L, S = f"{work}/L.imatrix", f"{work}/S.imatrix"
    files, failed = [], False
    for t in types.split(","):
        low = t.lower()
        made = {
            f"llama+L {t}": ([quantize, "--pure", "--imatrix", L, f32, f"{work}/llama-L-{low}.gguf", t], f"{work}/llama-L-{low}.gguf"),
            f"llama+S {t}": ([quantize, "--pure", "--imatrix", S, f32, f"{work}/llama-S-{low}.gguf", t], f"{work}/llama-S-{low}.gguf"),
            f"slmbench+S {t}": ([slm, "models", "quantize", f32, "--to", low, "--imatrix", S, "-o", f"{work}/slm-S-{low}.gguf"],
                                f"{work}/slm-S-{low}.gguf"),
            f"llama RTN {t}": ([quantize, "--pure", f32, f"{work}/llama-rtn-{low}.gguf", t], f"{work}/llama-rtn-{low}.gguf"),
            f"slmbench {t}": ([slm, "models", "quantize", f32, "--to", low, "-o", f"{work}/slm-{low}.gguf"], f"{work}/slm-{low}.gguf"),
        }
        for label, (cmd, path) in made.items():
            r = run(cmd)
            if label.startswith("slmbench+S"):
                weighted = [l for l in r.stderr.splitlines() if "importance matrix" in l]
                print(f"{label}: {weighted[-1].strip() if weighted else 'no importance summary printed'}", file=sys.stderr)
            files.append((label, path))
        reference = types_of(made[f"llama RTN {t}"][1])
        mix = {}
        for v in reference.values():
            mix[v] = mix.get(v, 0) + 1
        print(f"{t}: llama-quantize --pure mix: {', '.join(f'{k} ×{n}' for k, n in sorted(mix.items()))}", file=sys.stderr)
        for label, (_, path) in made.items():
            got = types_of(path)
            bad = [n for n in reference if got.get(n) != reference[n]]
            if bad or set(got) != set(reference):
                failed = True
                print(f"{label}: {len(bad)} tensors differ in type from llama-quantize's, e.g. {bad[:3]}", file=sys.stderr)
    cmd = [slm, "quality", "--model", f32, "--type", "f32", "--context", context, "--chunks", chunks, "--threads", threads, "--json"]
    if corpus:
        cmd += ["--corpus", corpus]
    for label, path in files:
        cmd += ["--file", f"{label}={path}"]
    raw = run(cmd).stdout
    # The measurement first, whole, so that nothing later can lose it.
    print(raw, file=sys.stderr)
    report = json.loads(raw)
    kld = {}
    for row in report["rows"]:
        value = next((row[k] for k in ("mean_kld", "meanKld", "meanKLD") if k in row), None)
        if value is None:
            continue  # the F32 baseline
        kld[row["variant"]] = {"meanKLD": value}
    print(f"Calibration text C: {calibration}; evaluation text E: {report.get('corpus', corpus)}; "
          f"{context}-token chunks, {chunks} evaluated; KL divergence from the F32 file, by `slmbench quality` (native engine).")
    print()
    print("| type | llama+L | llama+S | slmbench+S | llama RTN | slmbench (no imatrix) | slmbench+S ÷ llama+L | llama+S ÷ llama+L |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for t in types.split(","):
        k = {name: kld[f"{name} {t}"]["meanKLD"] for name in ["llama+L", "llama+S", "slmbench+S", "llama RTN", "slmbench"]}
        ours, cross = k["slmbench+S"] / k["llama+L"], k["llama+S"] / k["llama+L"]
        ok = ours <= 1.05 and abs(cross - 1) <= 0.05
        failed |= not ok
        print(f"| {t} | {k['llama+L']:.5f} | {k['llama+S']:.5f} | {k['slmbench+S']:.5f} | {k['llama RTN']:.5f} | {k['slmbench']:.5f} | "
              f"{ours:.3f} | {cross:.3f}{'' if ok else ' ✗'} |")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
