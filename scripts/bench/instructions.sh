#!/usr/bin/env bash
# The deterministic tier of the regression gate: instructions per token, counted by valgrind
# (cachegrind), of the native engine and of llama.cpp, on SmolLM2-135M at one thread.
#
# Wall-clock speed on a shared machine moves in steps of 10–20% (README, "Comparing results"), so
# the timed gate needs many interleaved sweeps and still only sees changes of several percent. An
# instruction count does not depend on the machine's state: the same binary on the same input
# executes the same instructions, so a gate on it can be tight. It sees what a change does to the
# work, not to the time: a change that only moves memory traffic, or code that runs faster with
# the same instructions, is the timed tier's to find.
#
# Per configuration, three runs of the worker (`slmbench worker`, one request on stdin: load,
# no warm-up, one repetition) under `valgrind --tool=cachegrind`:
#   (P1, G1), (P2, G1), (P1, G2)   with P1=16, P2=48 prompt tokens, G1=8, G2=24 generated
#   prefill Ir/token = (Ir(P2, G1) − Ir(P1, G1)) ÷ (P2 − P1)
#   decode Ir/token  = (Ir(P1, G2) − Ir(P1, G1)) ÷ (G2 − G1)
# so the load, the process's start and the rest of the fixed cost cancel. The worker is run
# directly (not through `slmbench run`), so the count is the one process doing the work; the
# supervisor's polling depends on timing and is left out. One thread: a thread pool's spinning
# depends on timing too. SWIFT_DETERMINISTIC_HASHING=1 fixes Swift's per-process hash seed.
#
# llama.cpp runs from an AVX2-only build of the pinned llama.cpp (scripts/tools/build-llamacpp.sh --isa
# avx2; built once into the cache): valgrind does not run AVX-512, which the native build of
# llama.cpp uses on a CPU that has it. Both binaries load the same library, so its rows measure
# the worker around it (measurement loop, greedy choice, protocol) and act as a control.
# The native engine's C kernels pick their ISA at run time; valgrind reports AVX2 but not AVX-512,
# and the kernel level each run used (`kernels` in the backend's build info) is in the table.
#
#   scripts/bench/instructions.sh [--base BINARY | --base-counts FILE] [--out FOLDER]
#                                 [--threshold PERCENT] [--cache-sim] [BINARY | --new-counts FILE]
#
# BINARY (default .build/release/slmbench, built if needed) is measured; with --base (another
# slmbench binary) or --base-counts (the counts.tsv of an earlier measurement) the two are
# compared per row, and a row whose count grew by more than --threshold (default 1%) is a
# regression. --new-counts compares two earlier measurements without measuring anything (so
# measurements can run side by side: the counts do not depend on the load). --cache-sim also simulates the caches (D1 and LL misses per token; about twice
# the time). Writes FOLDER/counts.tsv (base-counts.tsv too), FOLDER/instructions.md, the
# cachegrind files and logs; prints the table.
# Exit: 0 no regression (or nothing to compare), 2 regression, 1 error, 64 usage.
set -euo pipefail
cd "$(dirname "$0")/../.."
base=
base_counts=
new_counts=
out=
threshold=1
cache_sim=no
binary=
while [ $# -gt 0 ]; do
  case "$1" in
    --base) base=${2:?--base needs a binary}; shift 2 ;;
    --base-counts) base_counts=${2:?--base-counts needs a file}; shift 2 ;;
    --new-counts) new_counts=${2:?--new-counts needs a file}; shift 2 ;;
    --out) out=${2:?--out needs a folder}; shift 2 ;;
    --threshold) threshold=${2%\%}; shift 2 ;;
    --cache-sim) cache_sim=yes; shift ;;
    -*) echo "instructions: unknown option '$1' (known: --base, --base-counts, --new-counts, --out, --threshold, --cache-sim)" >&2; exit 64 ;;
    *) [ -z "$binary" ] || { echo "instructions: one BINARY only, got '$binary' and '$1'" >&2; exit 64; }; binary=$1; shift ;;
  esac
done
if [ -n "$base" ] && [ -n "$base_counts" ]; then echo "instructions: give --base or --base-counts, not both" >&2; exit 64; fi
if [ -n "$new_counts" ] && { [ -n "$binary" ] || [ -n "$base" ] || [ -z "$base_counts" ]; }; then
  echo "instructions: --new-counts compares with --base-counts and measures nothing (no BINARY, no --base)" >&2; exit 64
fi
if ! [[ "$threshold" =~ ^[0-9]+(\.[0-9]+)?$ ]]; then echo "instructions: --threshold takes a percentage like 1 or 0.5%, got '$threshold'" >&2; exit 64; fi
for f in "$base_counts" "$new_counts"; do
  [ -z "$f" ] || [ -f "$f" ] || { echo "instructions: counts file $f does not exist" >&2; exit 1; }
done
out=${out:-$(mktemp -d /tmp/slmbench-instructions.XXXXXX)}
mkdir -p "$out"
lengths=("16 8" "48 8" "16 24")

# prepare: the binary to measure, and the inputs both binaries share: the same model files, the
# same llama.cpp library.
prepare() {
  command -v valgrind >/dev/null || { echo "instructions: valgrind is missing; scripts/bootstrap.sh installs it" >&2; exit 1; }
  if [ -z "$binary" ]; then
    swift build -c release --product slmbench 2>&1 | tail -n 1 >&2
    binary=.build/release/slmbench
  fi
  local b
  for b in "$binary" ${base:+"$base"}; do
    [ -x "$b" ] || { echo "instructions: $b is not an executable slmbench binary" >&2; exit 1; }
  done
  "$binary" models fetch smollm2-135m >/dev/null
  local q8 q4 llama_prefix
  q8=$("$binary" models quantize smollm2-135m --to q8_0 2>/dev/null)
  q4=$("$binary" models quantize smollm2-135m --to q4_0 2>/dev/null)
  llama_prefix=$(scripts/tools/build-llamacpp.sh --isa avx2)
  export SLMBENCH_LLAMACPP_LIB=$llama_prefix/lib SWIFT_DETERMINISTIC_HASHING=1 GGML_NO_BACKTRACE=1 LC_ALL=C
  configs=("native q8_0 $q8" "native q4_0 $q4" "llama.cpp q4_0 $q4")
}

# measure LABEL BINARY: every configuration and length under cachegrind, into $out/LABEL-counts.tsv.
# Valgrind 3.19 cannot read the DWARF 5 debug information Swift's toolchain writes ("unhandled
# dwarf2 abbrev form code 0x25", then it gives up), so it runs a copy without the debug sections:
# the same code, byte for byte, with its symbols.
measure() {
  local label=$1 bin=$out/$1.slmbench file=$out/$1-counts.tsv
  objcopy --strip-debug "$2" "$bin" || { echo "instructions: objcopy --strip-debug $2 failed" >&2; return 1; }
  printf 'backend\ttype\tprompt\tgen\tkernels\tseconds\tevents\tcounts\n' > "$file"
  local config backend type model length p g stem request start seconds kernels
  for config in "${configs[@]}"; do
    read -r backend type model <<<"$config"
    for length in "${lengths[@]}"; do
      read -r p g <<<"$length"
      stem=$out/$label-$backend-$type-p$p-g$g
      request=$(python3 -c 'import json, sys
b, m, t, p, g = sys.argv[1:]
print(json.dumps({"protocol": 1, "id": "instructions", "run": {"backend": b, "model": m, "model_name": "smollm2-135m", "type": t,
  "threads": 1, "batch": 1, "prompt_tokens": int(p), "gen_tokens": int(g), "kv_type": "f16", "warmup": 0, "repetitions": 1,
  "seed": 42, "cpus": [], "numa": "default"}}))' "$backend" "$model" "$type" "$p" "$g")
      echo "instructions: $label: $backend $type, prompt $p, gen $g" >&2
      start=$(date +%s.%N)
      if ! valgrind --tool=cachegrind --cache-sim="$cache_sim" --branch-sim=no --cachegrind-out-file="$stem.cachegrind" \
             --log-file="$stem.valgrind.log" "$bin" worker <<<"$request" >"$stem.out" 2>"$stem.err"; then
        echo "instructions: $bin worker failed under valgrind ($backend $type p$p g$g); see $stem.valgrind.log and $stem.err" >&2
        tail -5 "$stem.valgrind.log" "$stem.err" >&2 || true
        return 1
      fi
      seconds=$(python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.1f}")' "$start" "$(date +%s.%N)")
      kernels=$(python3 - "$stem.out" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
final = lines[-1] if lines else {}
if final.get("type") != "result":
    sys.exit(f"instructions: the worker did not answer with a result: {final.get('message', final)}")
build = final["backend"].get("build", {})
if "kernels" in build:
    print(build["kernels"])
else:  # llama.cpp: the ISA features its CPU backend was built with
    info = build.get("system_info", "")
    print("+".join(f.split(" = ")[0].strip() for f in info.split("|") if f.strip().endswith("= 1") and "AVX" in f) or "?")
PY
) || return 1
      python3 - "$stem.cachegrind" "$backend" "$type" "$p" "$g" "$kernels" "$seconds" >>"$file" <<'PY' || return 1
import sys
path, *row = sys.argv[1:]
events = summary = None
for line in open(path):
    if line.startswith("events:"): events = line.split()[1:]
    if line.startswith("summary:"): summary = line.split()[1:]
if not events or not summary:
    sys.exit(f"instructions: {path} has no events or summary line")
print("\t".join(row + [",".join(events), ",".join(summary)]))
PY
    done
  done
  rm -f "$bin"
}

if [ -n "$base_counts" ]; then
  [ "$base_counts" -ef "$out/base-counts.tsv" ] || cp "$base_counts" "$out/base-counts.tsv"
  base_counts=$out/base-counts.tsv
fi
if [ -n "$new_counts" ]; then
  [ "$new_counts" -ef "$out/counts.tsv" ] || cp "$new_counts" "$out/counts.tsv"
else
  prepare
  if [ -n "$base" ]; then
    measure base "$base" || exit 1
    base_counts=$out/base-counts.tsv
  fi
  measure new "$binary" || exit 1
  mv "$out/new-counts.tsv" "$out/counts.tsv"
fi

python3 - "$out/counts.tsv" "${base_counts:-}" "$threshold" "$out/instructions.md" <<'PY'
import csv, sys
new_path, base_path, threshold, report = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
P1, P2, G1, G2 = 16, 48, 8, 24

def per_token(path):
    runs = {}
    for r in csv.DictReader(open(path), delimiter="\t"):
        counts = dict(zip(r["events"].split(","), map(int, r["counts"].split(","))))
        if "D1mr" in counts:
            counts["D1miss"] = counts["D1mr"] + counts["D1mw"]
            counts["LLmiss"] = counts["DLmr"] + counts["DLmw"]
        runs[(r["backend"], r["type"], int(r["prompt"]), int(r["gen"]))] = (counts, r["kernels"])
    rows = {}
    for (b, t, p, g), (c, k) in runs.items():
        if (p, g) != (P1, G1): continue
        pre, dec = runs[(b, t, P2, G1)][0], runs[(b, t, P1, G2)][0]
        for phase, other, n in (("prefill", pre, P2 - P1), ("decode", dec, G2 - G1)):
            rows[(b, t, phase)] = ({e: (other[e] - c[e]) / n for e in ("Ir", "D1miss", "LLmiss") if e in c}, k)
    return rows

new = per_token(new_path)
base = per_token(base_path) if base_path else None
lines, regressions = [], []
if base is None:
    lines.append("| backend | type | phase | kernels | Ir/token | D1 misses/token | LL misses/token |")
    lines.append("|---|---|---|---|---:|---:|---:|")
    for key, (c, k) in sorted(new.items()):
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {k} | {c['Ir']:,.0f} | "
                     + " | ".join(f"{c[e]:,.0f}" if e in c else "–" for e in ("D1miss", "LLmiss")) + " |")
else:
    lines.append(f"| backend | type | phase | kernels | base Ir/token | new Ir/token | ratio | verdict (threshold {threshold:g}%) |")
    lines.append("|---|---|---|---|---:|---:|---:|---|")
    for key, (c, k) in sorted(new.items()):
        if key not in base:
            lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {k} | – | {c['Ir']:,.0f} | – | new row |"); continue
        b = base[key][0]["Ir"]
        ratio = c["Ir"] / b
        verdict = "no change"
        if ratio > 1 + threshold / 100: verdict = "**regression**"; regressions.append(key)
        elif ratio < 1 - threshold / 100: verdict = "improvement"
        kb = base[key][1]
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {k if kb == k else kb + ' → ' + k} | {b:,.0f} | {c['Ir']:,.0f} | {ratio:.4f} | {verdict} |")
    if any("D1miss" in c for c, _ in new.values()) and all("D1miss" in c for c, _ in base.values()):
        lines.append("")
        lines.append("| backend | type | phase | base D1 misses/token | new | base LL misses/token | new |")
        lines.append("|---|---|---|---:|---:|---:|---:|")
        for key, (c, _) in sorted(new.items()):
            if key in base:
                b = base[key][0]
                lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {b['D1miss']:,.0f} | {c['D1miss']:,.0f} | {b['LLmiss']:,.0f} | {c['LLmiss']:,.0f} |")
text = "\n".join(lines) + "\n"
if base is not None:
    text += ("\n" + (f"{len(regressions)} regression(s): " + ", ".join(" ".join(k) for k in regressions) if regressions
                     else "no regression") + "\n")
open(report, "w").write(text)
print(text, end="")
sys.exit(2 if regressions else 0)
PY
