#!/usr/bin/env bash
# Checks that the structs Sources/CLlamaCpp/include/CLlamaCpp.h restates from llama.h have the
# real ones' layout: for each of slm_llama_model_params, slm_llama_context_params and
# slm_llama_batch, the size, and every field's offset and size, against llama_model_params,
# llama_context_params and llama_batch in the pinned llama.cpp's installed header (the cache's
# llama.cpp/llama-cpp-python-<pin>/include, written by scripts/tools/build-llamacpp.sh). The two
# headers are compiled into one C file of _Static_assert lines; nothing runs. A field CLlamaCpp.h
# has and llama.h has not (or the other way round) fails too, naming it.
#
#   scripts/check/check-llamacpp-abi.sh [INCLUDE-FOLDER]
# Exit: 0 same layout, 1 a difference (each one printed), 64 usage or a missing header.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/pins.env
cache=${SLMBENCH_CACHE:-$HOME/.cache/slmbench}
include=${1:-$cache/llama.cpp/llama-cpp-python-$LLAMA_CPP_PYTHON_VERSION/include}
if [ ! -f "$include/llama.h" ]; then
  echo "check-llamacpp-abi: no llama.h in $include; run scripts/bootstrap.sh (it builds the pinned llama.cpp into the cache)" >&2
  exit 64
fi
work=$(mktemp -d /tmp/slmbench-abi.XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 - "$PWD/Sources/CLlamaCpp/include/CLlamaCpp.h" "$include/llama.h" "$work/abi.c" <<'PY'
import re, sys
ours_path, theirs_path, out = sys.argv[1:]

def fields(text, opener):
    """Field names of the struct whose body starts after `opener`, in order."""
    start = text.index(opener) + len(opener)
    body = text[start:text.index("}", start)]
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    body = re.sub(r"//[^\n]*", "", body)
    names = []
    for decl in body.split(";"):
        decl = decl.strip()
        if not decl:
            continue
        parts = decl.split(",")
        names.append(re.findall(r"[A-Za-z_]\w*", parts[0])[-1])
        names += [re.findall(r"[A-Za-z_]\w*", p)[-1] for p in parts[1:]]
    return names

ours, theirs = open(ours_path).read(), open(theirs_path).read()
pairs = [("slm_llama_model_params", "struct llama_model_params", "struct llama_model_params {"),
         ("slm_llama_context_params", "struct llama_context_params", "struct llama_context_params {"),
         ("slm_llama_batch", "llama_batch", "typedef struct llama_batch {")]
lines = ["#include <stddef.h>", '#include "llama.h"', f'#include "{ours_path}"']
problems = []
for mine, real, opener in pairs:
    a, b = fields(ours, f"struct {mine} {{"), fields(theirs, opener)
    for name in a:
        if name not in b: problems.append(f"{mine}.{name}: not a field of {real} in {theirs_path}")
    for name in b:
        if name not in a: problems.append(f"{real}.{name}: not restated in {mine} ({ours_path})")
    lines.append(f'_Static_assert(sizeof(struct {mine}) == sizeof({real}), "size of {mine} differs from {real}");')
    for name in a:
        if name in b:
            lines.append(f'_Static_assert(offsetof(struct {mine}, {name}) == offsetof({real}, {name}), "offset of {mine}.{name} differs from {real}");')
            lines.append(f'_Static_assert(sizeof(((struct {mine} *)0)->{name}) == sizeof((({real} *)0)->{name}), "size of {mine}.{name} differs from {real}");')
for p in problems:
    print(f"check-llamacpp-abi: {p}", file=sys.stderr)
open(out, "w").write("\n".join(lines) + "\n")
sys.exit(1 if problems else 0)
PY
if ! gcc -std=c11 -fsyntax-only -I "$include" "$work/abi.c" 2>"$work/errors"; then
  grep -o 'error: static assertion failed: "[^"]*"' "$work/errors" | sed 's/^error: static assertion failed: /check-llamacpp-abi: /' >&2 || true
  grep -q 'static assertion failed' "$work/errors" || cat "$work/errors" >&2
  exit 1
fi
echo "check-llamacpp-abi: CLlamaCpp.h matches $include/llama.h (3 structs, every field's offset and size)"
