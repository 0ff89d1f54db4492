#!/usr/bin/env bash
# Calibrated quantization against round to nearest on the real SmolLM2-135M: GPTQ and AWQ files
# made with a calibration text (default: the Apache-2.0, MPL-2.0 and Artistic licence texts) are
# evaluated with `slmbench quality` on a distinct text (default: the GPL-3 corpus) against the F32
# conversion of the source weights. Prints a Markdown table of mean KLD per type and method and
# each method's ratio to RTN; exits 1 when a type in BAR_TYPES misses the bar (the best method's
# ratio ≤ BAR, default 0.7).
#
#   METHODS="gptq awq"  calibrated methods to compare with round to nearest (any of imatrix,
#                       gptq, awq, smoothquant)
#   SLMBENCH_BIN=path   use this slmbench instead of building one
#   CALIBRATION=FILE    calibration text          EVAL=FILE  evaluation text
#   TYPES="…"           types to compare          BAR_TYPES="…"  types the bar applies to
#   CONTEXT, CAL_CHUNKS, EVAL_CHUNKS, THREADS     sizes
#   TENSOR_TYPE=PATTERN=TYPE  one --tensor-type rule laid over every type, for both methods
#                       (e.g. token_embd=q8_0: the tied embedding, which GPTQ leaves to round to
#                       nearest, kept out of the comparison)
set -euo pipefail
cd "$(dirname "$0")/../.."
slm=${SLMBENCH_BIN:-}
if [ -z "$slm" ]; then
  swift build -c release --product slmbench 2>&1 | tail -n 1 >&2
  slm=.build/release/slmbench
fi
calibration=${CALIBRATION:-}
eval_text=${EVAL:-/usr/share/common-licenses/GPL-3}
types=${TYPES:-lab3g64a q2_k lab4g128a q4_0}
bar_types=${BAR_TYPES:-lab3g64a q2_k}
bar=${BAR:-0.7}
context=${CONTEXT:-512}
cal_chunks=${CAL_CHUNKS:-14}
eval_chunks=${EVAL_CHUNKS:-8}
threads=${THREADS:-2}
methods=${METHODS:-gptq awq}
work=${WORK:-$(mktemp -d)}
[ -n "${WORK:-}" ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work"
if [ -z "$calibration" ]; then # three licence texts from Debian's base-files, none of them the GPL
  calibration=$work/calibration-apache-mpl-artistic.txt
  cat /usr/share/common-licenses/Apache-2.0 /usr/share/common-licenses/MPL-2.0 /usr/share/common-licenses/Artistic > "$calibration"
fi
[ "$(realpath "$calibration")" != "$(realpath "$eval_text")" ] || { echo "the calibration and evaluation texts must differ" >&2; exit 64; }
model=$("$slm" models fetch smollm2-135m)
args=()
rule=${TENSOR_TYPE:-}
suffix=${rule:+-${rule//[^A-Za-z0-9_]/_}}
for t in $types; do
  rtn="$t"
  rule_args=()
  if [ -n "$rule" ]; then
    printf 'base: %s\n%s\n' "$t" "$rule" > "$work/mix-$t$suffix.txt"
    rtn="mix:$work/mix-$t$suffix.txt"
    rule_args=(--tensor-type "$rule")
  fi
  args+=(--type "$rtn")
  for m in $methods; do
    out="$work/$m-$t$suffix.gguf"
    [ -f "$out" ] || "$slm" models quantize "$model" --to "$t" "${rule_args[@]}" --method "$m" --calibration "$calibration" \
        --context "$context" --chunks "$cal_chunks" --threads "$threads" -o "$out" >/dev/null
    args+=(--type "$out")
  done
done
"$slm" quality --model smollm2-135m --corpus "$eval_text" --context "$context" --chunks "$eval_chunks" \
    --threads "$threads" --json "${args[@]}" > "$work/quality.json"
python3 - "$work/quality.json" "$calibration" "$eval_text" "$bar" "$types" "$bar_types" "$suffix" "$methods" <<'PY'
import json, sys
report, calibration, eval_text, bar = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], float(sys.argv[4])
types, bar_types, suffix, methods = sys.argv[5].split(), sys.argv[6].split(), sys.argv[7].lower(), sys.argv[8].split()
# Variants in the order given: f32, then each type's round-to-nearest row and its methods' files.
rows = report["rows"][1:]
names = [m.upper() if m != "imatrix" else "imatrix" for m in methods]
print(f"Mean KLD vs F32 on {eval_text} ({report['scored_positions']} positions, context {report['context']}); "
      f"{', '.join(names)} calibrated on {calibration}")
print()
print("| type | RTN mean KLD | " + " | ".join(f"{n} mean KLD | {n} / RTN" for n in names) + " | bar |")
print("|---|---|" + "---|---|" * len(names) + "---|")
failed = []
width = 1 + len(methods)
for i, t in enumerate(types):
    group = rows[width * i: width * (i + 1)]
    rtn = group[0]["mean_kld"]
    cells, ratios = [], []
    for m, row in zip(methods, group[1:]):
        assert row["variant"].lower() == f"{m}-{t}{suffix}", (row["variant"], m, t)
        ratios.append(row["mean_kld"] / rtn)
        cells.append(f"{row['mean_kld']:.5f} | {ratios[-1]:.3f}")
    best = min(ratios) if ratios else float("inf")
    verdict = ("met" if best <= bar else "MISSED") if t in bar_types else "(context)"
    if t in bar_types and best > bar: failed.append(t)
    print(f"| {group[0]['variant']} | {rtn:.5f} | " + " | ".join(cells) + f" | {verdict} |")
if report.get("source_weights_caveat"): print(f"\n{report['source_weights_caveat']}")
if failed:
    print(f"\nbar (best method / RTN ≤ {bar}) missed for {', '.join(failed)}", file=sys.stderr); sys.exit(1)
PY
