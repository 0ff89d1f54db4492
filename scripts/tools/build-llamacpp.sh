#!/usr/bin/env bash
# Builds the pinned llama.cpp (CPU, native ISA) into the cache, once:
#   $SLMBENCH_CACHE/llama.cpp/<version>/{lib/libllama.so, …, bin/llama-bench, llama-perplexity, …}
# The source is the llama.cpp tree vendored in the PyPI source distribution of llama-cpp-python
# (prebuilt wheels need glibc 2.38 and do not load on Debian 12). Does nothing when the build
# is present; prints the install folder on stdout.
#
#   scripts/tools/build-llamacpp.sh [--tools] [--isa avx2]
#
# Without --tools only the libraries are built: slmbench's llama.cpp backend loads libllama and
# needs nothing else (scripts/bootstrap.sh, and so the demo and the tests, build just that).
# --tools adds llama-bench, llama-perplexity, llama-quantize, llama-tokenize and llama-imatrix, for the scripts
# that compare with llama.cpp's own tools; the build folder is kept in the cache
# (llama-build/), so adding the tools later compiles only them.
# --isa avx2 builds only the libraries, for x86-64 with AVX2/FMA/F16C and nothing wider, into
# <version>-avx2 (select it with SLMBENCH_LLAMACPP_LIB=…/lib). Valgrind cannot run AVX-512, which
# the native build uses on a CPU that has it; scripts/bench/instructions.sh counts llama.cpp's
# instructions on this build. The libraries take about 4 CPU-minutes, the tools about 2 more.
set -euo pipefail
. "$(dirname "$0")/../pins.env"
version=$LLAMA_CPP_PYTHON_VERSION   # llama-cpp-python; its vendor/llama.cpp is the pinned llama.cpp
isa=native
tools=0
while [ $# -gt 0 ]; do
  case "$1" in
    --tools) tools=1 ;;
    --isa) isa=${2:-}; shift
           [ "$isa" = avx2 ] || [ "$isa" = native ] \
             || { echo "build-llamacpp: --isa takes native or avx2, got '$isa'" >&2; exit 64; } ;;
    *) echo "build-llamacpp: unknown option '$1' (known: --tools, --isa avx2)" >&2; exit 64 ;;
  esac
  shift
done
if [ "$isa" = avx2 ] && [ "$tools" -eq 1 ]; then echo "build-llamacpp: --tools is for the native build only" >&2; exit 64; fi
cache=${SLMBENCH_CACHE:-$HOME/.cache/slmbench}
prefix=$cache/llama.cpp/llama-cpp-python-$version
isa_flags=(-DGGML_NATIVE=ON)
targets=(llama)
[ "$tools" -eq 1 ] && targets+=(llama-bench llama-perplexity llama-quantize llama-tokenize llama-imatrix)
suffix=
if [ "$isa" = avx2 ]; then
  suffix=-avx2
  prefix=$prefix-avx2
  # GGML_NATIVE=OFF takes the ISA from these switches alone (ggml/src/ggml-cpu/CMakeLists.txt).
  isa_flags=(-DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
             -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF
             -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF)
fi
stamp=$prefix/.built

if [ -f "$stamp" ] && [ -f "$prefix/lib/libllama.so" ] && { [ "$tools" -eq 0 ] || [ -x "$prefix/bin/llama-imatrix" ]; }; then echo "$prefix"; exit 0; fi

command -v cmake >/dev/null || { echo "build-llamacpp: cmake is missing; scripts/bootstrap.sh installs it" >&2; exit 1; }
# The build folder stays in the cache, so that --tools after a library-only build compiles only the tools.
work=$cache/llama-build/$version$suffix
src=$("$(dirname "$0")/llamacpp-source.sh" "$work")
echo "build-llamacpp: building llama.cpp (CPU, $isa ISA: ${targets[*]}) — minutes on 2 cores…" >&2
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON "${isa_flags[@]}" \
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
  -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON -DCMAKE_INSTALL_RPATH='$ORIGIN/../lib' \
  >"$work/cmake.log" 2>&1 \
  || { tail -30 "$work/cmake.log" >&2; exit 1; }
cmake --build "$work/build" -j"$(nproc)" --target "${targets[@]}" \
  >"$work/build.log" 2>&1 \
  || { tail -40 "$work/build.log" >&2; exit 1; }
mkdir -p "$prefix/bin" "$prefix/lib" "$prefix/include"
if [ "$tools" -eq 1 ]; then
  cp "$work"/build/bin/llama-bench "$work"/build/bin/llama-perplexity "$work"/build/bin/llama-quantize \
     "$work"/build/bin/llama-tokenize "$work"/build/bin/llama-imatrix "$prefix/bin/"
fi
find "$work/build" -name '*.so*' -exec cp -P {} "$prefix/lib/" \;
cp "$src"/include/llama.h "$src"/ggml/include/*.h "$prefix/include/"
# Record what was built, for results' backend version stamps.
grep -h "LLAMA_BUILD_NUMBER\|LLAMA_COMMIT\|LLAMA_BUILD_COMMIT" "$work"/build/common/build-info.cpp 2>/dev/null > "$prefix/build-info.txt" || true
echo "llama-cpp-python $version" >> "$prefix/build-info.txt"
[ "$isa" = native ] || echo "isa $isa" >> "$prefix/build-info.txt"
grep -q LLAMA_COMMIT "$prefix/build-info.txt" \
  || { echo "build-llamacpp: the build did not record llama.cpp's commit ($work/build/common/build-info.cpp)" >&2; exit 1; }
# The tools must run from the cache alone (their libraries are found through $ORIGIN/../lib).
if [ "$tools" -eq 1 ]; then
  "$prefix/bin/llama-quantize" --help >/dev/null 2>&1 || [ $? -eq 1 ] \
    || { echo "build-llamacpp: the installed llama-quantize does not start" >&2; exit 1; }
fi
touch "$stamp"
echo "$prefix"
