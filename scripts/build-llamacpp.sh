#!/usr/bin/env bash
# Builds the pinned llama.cpp (CPU, native ISA) into the cache, once:
#   $SLMBENCH_CACHE/llama.cpp/<version>/{bin/llama-bench,llama-perplexity,llama-quantize, lib/libllama.so, …}
# The source is the llama.cpp tree vendored in the PyPI source distribution of llama-cpp-python
# (prebuilt wheels need glibc 2.38 and do not load on Debian 12). Does nothing when the build
# is present; prints the install folder on stdout.
set -euo pipefail
. "$(dirname "$0")/pins.env"
version=$LLAMA_CPP_PYTHON_VERSION   # llama-cpp-python; its vendor/llama.cpp is the pinned llama.cpp
cache=${SLMBENCH_CACHE:-$HOME/.cache/slmbench}
prefix=$cache/llama.cpp/llama-cpp-python-$version
stamp=$prefix/.built

if [ -f "$stamp" ] && [ -x "$prefix/bin/llama-tokenize" ]; then echo "$prefix"; exit 0; fi

command -v cmake >/dev/null || { echo "build-llamacpp: cmake is missing; scripts/bootstrap.sh installs it" >&2; exit 1; }
work=$(mktemp -d "$cache/llama-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "build-llamacpp: downloading llama-cpp-python==$version source from PyPI…" >&2
python3 -m pip download --no-deps --no-binary llama-cpp-python --disable-pip-version-check -q -d "$work" "llama-cpp-python==$version"
tar -xzf "$work"/llama_cpp_python-$version.tar.gz -C "$work"
src=$work/llama_cpp_python-$version/vendor/llama.cpp
echo "build-llamacpp: building llama.cpp (CPU, native ISA) — several minutes on 2 cores…" >&2
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DGGML_NATIVE=ON \
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
  -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON -DCMAKE_INSTALL_RPATH='$ORIGIN/../lib' \
  >"$work/cmake.log" 2>&1 \
  || { tail -30 "$work/cmake.log" >&2; exit 1; }
cmake --build "$work/build" -j"$(nproc)" --target llama llama-bench llama-perplexity llama-quantize llama-tokenize \
  >"$work/build.log" 2>&1 \
  || { tail -40 "$work/build.log" >&2; exit 1; }
mkdir -p "$prefix/bin" "$prefix/lib" "$prefix/include"
cp "$work"/build/bin/llama-bench "$work"/build/bin/llama-perplexity "$work"/build/bin/llama-quantize \
   "$work"/build/bin/llama-tokenize "$prefix/bin/"
find "$work/build" -name '*.so*' -exec cp -P {} "$prefix/lib/" \;
cp "$src"/include/llama.h "$src"/ggml/include/*.h "$prefix/include/"
# Record what was built, for results' backend version stamps.
grep -h "LLAMA_BUILD_NUMBER\|LLAMA_COMMIT\|LLAMA_BUILD_COMMIT" "$work"/build/common/build-info.cpp 2>/dev/null > "$prefix/build-info.txt" || true
echo "llama-cpp-python $version" >> "$prefix/build-info.txt"
# The tools must run from the cache alone (their libraries are found through $ORIGIN/../lib).
"$prefix/bin/llama-quantize" --help >/dev/null 2>&1 || [ $? -eq 1 ] \
  || { echo "build-llamacpp: the installed llama-quantize does not start" >&2; exit 1; }
touch "$stamp"
echo "$prefix"
