#!/usr/bin/env bash
# Fuzzes slmbench's readers of untrusted input with libFuzzer, one target each:
#   gguf             the GGUF reader, with what a loader does next (summary, tokenizer, dequantizing rows)
#   sweep-spec       the sweep-spec parser
#   engine-load      the native engine's load of a model file (hyperparameters, shapes, packing; no forward pass)
#   sweep-plan       a sweep spec expanded into its plan, execution order and worker runs
#   journal          a sweep's journal as --resume and `slmbench report` read it
#   llama-bench      llama-bench output (JSON, JSONL, CSV) as `predict --validate` imports it
#   worker-protocol  worker protocol lines, from both ends (the request, and a worker's output)
# Builds the fuzz targets in Fuzz/ with -sanitize=fuzzer into .build-fuzz (not part of the normal
# build), seeds them (Sources/FuzzHarness makes seeds in code and names checked-in files; the
# gguf target also gets synthetic tiny models and the head of the real model), runs each for
# SECONDS (default 600), prints the executions and findings, and exits 1 when there are findings.
# A crashing, hanging or memory-hungry input is copied to
# Tests/WorkloadsTests/Fixtures/fuzz-regressions/TARGET/: fix the bug and keep the input; `swift
# test` replays every seed and every saved finding through the same entry points
# (WorkloadsTests/FuzzReplayTests). Not part of CI; needs the toolchain's libclang_rt.fuzzer_no_main.
#
#   scripts/check/fuzz.sh [SECONDS] [TARGET…]
set -euo pipefail
cd "$(dirname "$0")/../.."
all=(gguf sweep-spec engine-load sweep-plan journal llama-bench worker-protocol)
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for target in "${targets[@]}"; do
  case " ${all[*]} " in *" $target "*) ;; *) echo "fuzz: unknown target '$target' (${all[*]})" >&2; exit 64 ;; esac
done
work=.build-fuzz/runs
mkdir -p "$work"
regressions=Tests/WorkloadsTests/Fixtures/fuzz-regressions

echo "fuzz: building the fuzz targets with -sanitize=fuzzer (first time: several minutes)…" >&2
# libFuzzer without its main: each target's main calls LLVMFuzzerRunDriver.
runtime=$(ls "$(dirname "$(readlink -f "$(command -v swiftc)")")"/../lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a 2>/dev/null | head -n 1)
if [ -z "$runtime" ]; then echo "fuzz: libclang_rt.fuzzer_no_main not found next to swiftc; a Swift toolchain for Linux ships it" >&2; exit 1; fi
# lld: gold crashes (internal error in format_file_lineno) linking these instrumented objects.
swift build --package-path Fuzz --scratch-path .build-fuzz -c release -Xswiftc -sanitize=fuzzer -Xswiftc -use-ld=lld \
  -Xlinker "$runtime" -Xlinker -lstdc++ 2>&1 | tail -n 1 >&2
bin=.build-fuzz/release

# Seeds: what each target makes in code and its checked-in files (SLMBENCH_FUZZ_SEEDS makes a
# fuzz executable write them and exit), and for gguf also synthetic tiny models (made with the
# tests' release build, as scripts/test.sh builds it) and the head of the real model.
seeds=$work/seeds
rm -rf "$seeds"
for target in "${targets[@]}"; do
  SLMBENCH_FUZZ_SEEDS=$seeds/$target "$bin/fuzz-$target"
done
if [[ " ${targets[*]} " == *" gguf "* ]]; then
  swift build -c release -Xswiftc -enable-testing --scratch-path .build-test --product slmbench 2>&1 | tail -n 1 >&2
  slmbench=.build-test/release/slmbench
  for preset in tiny tiny-qwen2; do
    for type in f32 q8_0 q4_0; do
      "$slmbench" models synth --preset "$preset" --type "$type" -o "$seeds/gguf/$preset-$type" >/dev/null
    done
  done
  model=$("$slmbench" models fetch smollm2-135m 2>/dev/null || true)
  if [ -n "$model" ]; then head -c 65536 "$model" > "$seeds/gguf/smollm2-head"; fi
fi

status=0
for target in "${targets[@]}"; do
  corpus=$work/corpus-$target
  artifacts=$work/artifacts-$target/
  rm -rf "$artifacts"  # findings of an earlier run were kept already
  mkdir -p "$corpus" "$artifacts"
  echo "fuzz: $target for ${seconds}s" >&2
  set +e
  # The Swift runtime's backtracer would take a trap's SIGILL first and the process would die
  # without libFuzzer writing the input down; with it off, libFuzzer's handler saves the input.
  SWIFT_BACKTRACE=enable=no "$bin/fuzz-$target" "$corpus" "$seeds/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
    -max_len=131072 -print_final_stats=1 -artifact_prefix="$artifacts" > "$work/$target.log" 2>&1
  code=$?
  set -e
  executions=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$target.log" | grep -o '[0-9]*$' || echo "?")
  found=$(find "$artifacts" -type f | wc -l)
  echo "fuzz: $target: $executions executions in ${seconds}s, $found finding(s), libFuzzer exit $code; log $work/$target.log"
  if [ "$found" -eq 0 ] && [ "$code" -ne 0 ]; then
    status=1
    echo "fuzz:   $target stopped with exit $code and saved no input; see the log" >&2
  fi
  if [ "$found" -gt 0 ]; then
    status=1
    mkdir -p "$regressions/$target"
    for f in "$artifacts"*; do
      cp "$f" "$regressions/$target/$(basename "$f")"
      echo "fuzz:   kept $(basename "$f") in $regressions/$target/" >&2
    done
  fi
done
exit $status
