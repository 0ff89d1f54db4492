#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (the kernel harness on both ISAs first), then the fault drills (scripts/check/faults.sh
# --quick; needs root for the disk drill's tmpfs). CI runs exactly this (.ci/run).
# The PostgreSQL tests run against a real server this script starts (scripts/tools/postgres.sh).
#
# Tests build optimised (-c release, with testability) in their own folder, .build-test:
# quantizers and kernels run on real model files, and unoptimised Swift is 30-50x slower.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --with-plugins --with-browser
flags=(-c release -Xswiftc -enable-testing --scratch-path .build-test --traits Postgres)
# Package.swift declares exactly what each target imports (docs/architecture.md).
python3 scripts/check/check-package-imports.py
# The structs CLlamaCpp.h restates from llama.h have the pinned header's layout.
scripts/check/check-llamacpp-abi.sh
# Every C kernel at every level against the scalar reference: natively (scalar, AVX2, AVX-512 VNNI where present) and for
# AArch64 under qemu at NEON, dotprod and i8mm CPUs; any failure fails the run.
scripts/check/kernels-harness.sh
swift build "${flags[@]}" --build-tests
# llama.cpp's own tools (llama-imatrix, llama-quantize, …) for the tests that check slmbench's files
# against them (cached; about 2 CPU-minutes the first time).
scripts/tools/build-llamacpp.sh --tools >/dev/null
# The real model for tests that need real weights (cached; verified by SHA-256).
.build-test/release/slmbench models fetch smollm2-135m >/dev/null
# slmbench's per-tensor recipes (q2_k … q6_k, iq4_nl) against llama-quantize on the same F32 files:
# the same type for every tensor, and identical bytes or an RMSE no higher than llama.cpp's.
SLMBENCH_BIN=$PWD/.build-test/release/slmbench scripts/check/check-recipes-vs-llamacpp.sh
# A real PostgreSQL for the store and fleet tests: its own folder and loopback port, stopped on exit.
pgdir=$(mktemp -d /tmp/slmbench-pg.XXXXXX)
# The tests' temporary folders go in one folder removed at the end (they used to pile up in /tmp).
testtmp=$(mktemp -d /tmp/slmbench-tests.XXXXXX)
trap 'scripts/tools/postgres.sh stop "$pgdir" >/dev/null 2>&1 || true; rm -rf "$pgdir" "$testtmp"' EXIT
set -a; . "$(scripts/tools/postgres.sh start "$pgdir")"; set +a
TMPDIR=$testtmp swift test "${flags[@]}" --skip-build
# The native engine computes with the float steps of llama.cpp's x86 AVX2 build, so against that
# build the logits agree to the rounding (the tests ask for a mean KL under 1e-6). The llama.cpp
# built above is this CPU's (AVX-512 here: other float orders), so the agreement tests run once
# more against an AVX2-only build of the same source (cached; some CPU-minutes the first time).
if grep -qw avx2 /proc/cpuinfo; then
  avx2_lib=$(scripts/tools/build-llamacpp.sh --isa avx2)/lib
  # The decode path too: one-token K-quant products against libggml-cpu's, bit for bit.
  scripts/check/check-kquant-orders.sh
  SLMBENCH_LLAMACPP_LIB=$avx2_lib TMPDIR=$testtmp swift test "${flags[@]}" --skip-build --filter 'LlamaCppBackendTests/nativeAndLlamaCppAgree'
else
  echo "test.sh: SKIPPED the agreement tests against llama.cpp's AVX2 build: this CPU has no AVX2" >&2
fi
# The fault drills (SIGKILL and resume, disk full, OOM worker, PostgreSQL restart) on the same
# build, in their short form; a failed drill fails the run.
SLMBENCH_BIN=$PWD/.build-test/release/slmbench scripts/check/faults.sh --quick
