#!/usr/bin/env bash
# Installs the engine behind the example external backend (llama_cpp_python_worker.py):
# llama-cpp-python's Python bindings, from the same PyPI source distribution that
# scripts/tools/build-llamacpp.sh builds llama.cpp from, bound to that build's libllama (no second
# compile), plus their Python dependencies from PyPI, all into
# $SLMBENCH_CACHE/plugins/llama-cpp-python-<version>. Idempotent; prints the folder.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/pins.env
version=$LLAMA_CPP_PYTHON_VERSION   # the same pin as scripts/tools/build-llamacpp.sh: bindings and library must agree
cache=${SLMBENCH_CACHE:-$HOME/.cache/slmbench}
dest=$cache/plugins/llama-cpp-python-$version
stamp=$dest/.installed
if [ -f "$stamp" ]; then echo "$dest"; exit 0; fi
lib=$(scripts/tools/build-llamacpp.sh)/lib
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "install-plugins: llama-cpp-python $version bindings and their dependencies…" >&2
python3 -m pip download --no-deps --no-binary llama-cpp-python --disable-pip-version-check -q -d "$work" "llama-cpp-python==$version"
tar -xzf "$work/llama_cpp_python-$version.tar.gz" -C "$work" "llama_cpp_python-$version/llama_cpp"
rm -rf "$dest"
mkdir -p "$dest/site"
cp -r "$work/llama_cpp_python-$version/llama_cpp" "$dest/site/"
# The bindings look for their libraries in llama_cpp/lib: give them the pinned build.
ln -sfn "$lib" "$dest/site/llama_cpp/lib"
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --target "$dest/site" \
  numpy jinja2 diskcache typing-extensions >/dev/null
PYTHONPATH="$dest/site" python3 -c 'import llama_cpp, sys; sys.stderr.write("install-plugins: llama_cpp %s imports\n" % llama_cpp.__version__)'
touch "$stamp"
echo "$dest"
