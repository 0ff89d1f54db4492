#!/usr/bin/env bash
# Builds the pinned llama.cpp (CPU, native ISA) into the cache, once:
#   $SLMBENCH_CACHE/llama.cpp/<version>/{bin/llama-bench,llama-perplexity,llama-quantize, lib/libllama.so, …}
# The source is the llama.cpp tree vendored in the PyPI source distribution of llama-cpp-python
# (prebuilt wheels need glibc 2.38 and do not load on Debian 12). Does nothing when the build
# is present; prints the install folder on stdout.
#
#   scripts/tools/build-llamacpp.sh [--isa avx2]
#
# --isa avx2 builds only the libraries (no tools), for x86-64 with AVX2/FMA/F16C and nothing
# wider, into <version>-avx2 (select it with SLMBENCH_LLAMACPP_LIB=…/lib). Valgrind cannot run
# AVX-512, which the native build uses on a CPU that has it; scripts/bench/instructions.sh counts
# llama.cpp's instructions on this build. About 5 CPU-minutes (8 minutes on a busy 2-core VM), 7 MB in the cache.
set -euo pipefail
. "$(dirname "$0")/../pins.env"
version=$LLAMA_CPP_PYTHON_VERSION   # llama-cpp-python; its vendor/llama.cpp is the pinned llama.cpp
isa=native
case "${1:-}" in
  "") ;;
  --isa) isa=${2:-}; [ "$isa" = avx2 ] || [ "$isa" = native ] \
           || { echo "build-llamacpp: --isa takes native or avx2, got '$isa'" >&2; exit 64; } ;;
  *) echo "build-llamacpp: unknown option '$1' (known: --isa avx2)" >&2; exit 64 ;;
esac
cache=${SLMBENCH_CACHE:-$HOME/.cache/slmbench}
prefix=$cache/llama.cpp/llama-cpp-python-$version
isa_flags=(-DGGML_NATIVE=ON)
targets=(llama llama-bench llama-perplexity llama-quantize llama-tokenize)
if [ "$isa" = avx2 ]; then
  prefix=$prefix-avx2
  # GGML_NATIVE=OFF takes the ISA from these switches alone (ggml/src/ggml-cpu/CMakeLists.txt).
  isa_flags=(-DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
             -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF
             -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF)
  targets=(llama)
fi
stamp=$prefix/.built

if [ -f "$stamp" ] && [ -f "$prefix/lib/libllama.so" ] && { [ "$isa" = avx2 ] || [ -x "$prefix/bin/llama-tokenize" ]; }; then echo "$prefix"; exit 0; fi

command -v cmake >/dev/null || { echo "build-llamacpp: cmake is missing; scripts/bootstrap.sh installs it" >&2; exit 1; }
work=$(mktemp -d "$cache/llama-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "build-llamacpp: downloading llama-cpp-python==$version source from PyPI…" >&2
python3 -m pip download --no-deps --no-binary llama-cpp-python --disable-pip-version-check -q -d "$work" "llama-cpp-python==$version"
tar -xzf "$work"/llama_cpp_python-$version.tar.gz -C "$work"
src=$work/llama_cpp_python-$version/vendor/llama.cpp
echo "build-llamacpp: building llama.cpp (CPU, $isa ISA) — several minutes on 2 cores…" >&2
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON "${isa_flags[@]}" \
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
  -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON -DCMAKE_INSTALL_RPATH='$ORIGIN/../lib' \
  >"$work/cmake.log" 2>&1 \
  || { tail -30 "$work/cmake.log" >&2; exit 1; }
cmake --build "$work/build" -j"$(nproc)" --target "${targets[@]}" \
  >"$work/build.log" 2>&1 \
  || { tail -40 "$work/build.log" >&2; exit 1; }
mkdir -p "$prefix/bin" "$prefix/lib" "$prefix/include"
if [ "$isa" = native ]; then
  cp "$work"/build/bin/llama-bench "$work"/build/bin/llama-perplexity "$work"/build/bin/llama-quantize \
     "$work"/build/bin/llama-tokenize "$prefix/bin/"
fi
find "$work/build" -name '*.so*' -exec cp -P {} "$prefix/lib/" \;
cp "$src"/include/llama.h "$src"/ggml/include/*.h "$prefix/include/"
# Record what was built, for results' backend version stamps.
grep -h "LLAMA_BUILD_NUMBER\|LLAMA_COMMIT\|LLAMA_BUILD_COMMIT" "$work"/build/common/build-info.cpp 2>/dev/null > "$prefix/build-info.txt" || true
echo "llama-cpp-python $version" >> "$prefix/build-info.txt"
[ "$isa" = native ] || echo "isa $isa" >> "$prefix/build-info.txt"
# The tools must run from the cache alone (their libraries are found through $ORIGIN/../lib).
if [ "$isa" = native ]; then
  "$prefix/bin/llama-quantize" --help >/dev/null 2>&1 || [ $? -eq 1 ] \
    || { echo "build-llamacpp: the installed llama-quantize does not start" >&2; exit 1; }
fi
touch "$stamp"
echo "$prefix"
