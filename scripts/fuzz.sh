#!/usr/bin/env bash
# Fuzzes slmbench's readers of untrusted input with libFuzzer: the GGUF reader (with what a loader
# does next: summary, tokenizer, dequantizing rows) and the sweep-spec parser. Builds the fuzz
# targets in Fuzz/ with -sanitize=fuzzer into .build-fuzz (not part of the normal build), seeds
# them with real and generated files, runs each for SECONDS (default 600), and prints the
# executions and findings, and exits 1 when there are findings. A crashing, hanging or
# memory-hungry input is copied to Tests/WorkloadsTests/Fixtures/fuzz-regressions/TARGET/: fix the
# bug, and keep the input as a regression test that replays it (Sources/FuzzHarness is the same
# entry point the fuzzer used). Not part of CI; needs the toolchain's libclang_rt.fuzzer_no_main.
#
#   scripts/fuzz.sh [SECONDS] [gguf] [sweep-spec]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(gguf sweep-spec)
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

# Seeds: small real and generated files.
swift build -c release --product slmbench 2>&1 | tail -n 1 >&2
seeds=$work/seeds
mkdir -p "$seeds/gguf" "$seeds/sweep-spec"
cp Tests/ModelFormatTests/Fixtures/spm-vocab.gguf-fixture "$seeds/gguf/spm-vocab"
for preset in tiny tiny-qwen2; do
  for type in f32 q8_0 q4_0; do
    .build/release/slmbench models synth --preset "$preset" --type "$type" -o "$seeds/gguf/$preset-$type" >/dev/null
  done
done
model=$(.build/release/slmbench models fetch smollm2-135m 2>/dev/null || true)
if [ -n "$model" ]; then head -c 65536 "$model" > "$seeds/gguf/smollm2-head"; fi
cp profiles/sweeps/*.yaml "$seeds/sweep-spec/"
printf 'name: x\naxes:\n  model: tiny\n  type: [q8_0, q4_0]\n  threads: 1..2\n  batch: {from: 1, to: 8, times: 2}\nexclude:\n  - {type: q4_0, threads: 2}\nmeasurement:\n  warmup: 1\n  target_ci: 2%%\n  timeout: 90s\n' \
  > "$seeds/sweep-spec/ranges.yaml"

status=0
for target in "${targets[@]}"; do
  case "$target" in gguf|sweep-spec) ;; *) echo "fuzz: unknown target '$target' (gguf, sweep-spec)" >&2; exit 64 ;; esac
  corpus=$work/corpus-$target
  artifacts=$work/artifacts-$target/
  mkdir -p "$corpus" "$artifacts"
  echo "fuzz: $target for ${seconds}s" >&2
  set +e
  "$bin/fuzz-$target" "$corpus" "$seeds/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
    -max_len=131072 -print_final_stats=1 -artifact_prefix="$artifacts" > "$work/$target.log" 2>&1
  code=$?
  set -e
  executions=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$target.log" | grep -o '[0-9]*$' || echo "?")
  found=$(find "$artifacts" -type f | wc -l)
  echo "fuzz: $target: $executions executions in ${seconds}s, $found finding(s), libFuzzer exit $code; log $work/$target.log"
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
