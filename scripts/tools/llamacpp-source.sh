#!/usr/bin/env bash
# Unpacks the pinned llama.cpp source into the cache, once, and prints its folder:
#   $SLMBENCH_CACHE/llama-build/<version>/llama_cpp_python-<version>/vendor/llama.cpp
# It is the tree llama-cpp-python's source distribution vendors (scripts/pins.env). Besides the
# build (scripts/tools/build-llamacpp.sh), the tokenizer tests read its models/ folder: llama.cpp's
# vocabulary files and their test vectors (ggml-vocab-*.gguf with .inp/.out).
#
#   scripts/tools/llamacpp-source.sh [WORK_FOLDER]
#
# WORK_FOLDER (default $SLMBENCH_CACHE/llama-build/<version>) is where the archive is downloaded
# and unpacked; build-llamacpp.sh passes its own for the avx2 build.
set -euo pipefail
. "$(dirname "$0")/../pins.env"
version=$LLAMA_CPP_PYTHON_VERSION
cache=${SLMBENCH_CACHE:-$HOME/.cache/slmbench}
work=${1:-$cache/llama-build/$version}
src=$work/llama_cpp_python-$version/vendor/llama.cpp
if [ ! -f "$src/CMakeLists.txt" ]; then
  mkdir -p "$work"
  echo "llamacpp-source: downloading llama-cpp-python==$version source from PyPI…" >&2
  python3 -m pip download --no-deps --no-binary llama-cpp-python --disable-pip-version-check -q -d "$work" "llama-cpp-python==$version"
  tar -xzf "$work"/llama_cpp_python-$version.tar.gz -C "$work"
fi
echo "$src"
