#!/usr/bin/env python3
"""Checks that Package.swift declares, for every target, exactly the modules its Swift files
import (docs/architecture.md promises it): an undeclared import builds by accident of the
build order, a declared dependency nobody imports costs build time and lies about the design.

usage: check-package-imports.py   (exit 0 agree, 1 some target differs, 2 setup problem)
Run by scripts/test.sh; needs `swift package dump-package` (no build).
"""
import json
import pathlib
import re
import subprocess
import sys

root = pathlib.Path(__file__).resolve().parents[2]
# Modules the toolchain provides, which no target declares.
SYSTEM = {"Foundation", "FoundationEssentials", "Glibc", "Darwin", "Musl", "Synchronization", "Testing", "XCTest", "Dispatch"}
try:
    dump = subprocess.run(["swift", "package", "dump-package"], cwd=root, check=True, capture_output=True, text=True).stdout
except (OSError, subprocess.CalledProcessError) as error:
    print(f"check-package-imports: swift package dump-package failed: {error}", file=sys.stderr)
    sys.exit(2)
IMPORT = re.compile(r"^\s*(?:@testable\s+|@_exported\s+)?import\s+(?:(?:struct|class|enum|func|protocol)\s+)?(\w+)", re.M)
bad = 0
for target in json.loads(dump)["targets"]:
    name = target["name"]
    folder = root / ("Tests" if target["type"] == "test" else "Sources") / name
    if target.get("path"):
        folder = root / target["path"]
    files = sorted(folder.rglob("*.swift"))
    if not files:
        continue  # C targets and system libraries
    declared = set()
    for dep in target["dependencies"]:
        kind, value = next(iter(dep.items()))
        declared.add(value[0])
    imported = set()
    for f in files:
        # Multi-line string literals may hold other languages' imports (Python in a test).
        text = re.sub(r'"""(?:.|\n)*?"""', '""', f.read_text())
        imported |= set(IMPORT.findall(text))
    imported -= SYSTEM | {name}
    undeclared, unused = sorted(imported - declared), sorted(declared - imported)
    if undeclared or unused:
        bad += 1
        print(f"FAIL {name}: " + "; ".join(part for part in [
            f"imports without declaring {', '.join(undeclared)}" if undeclared else "",
            f"declares without importing {', '.join(unused)}" if unused else ""] if part))
print(f"check-package-imports: {'ok' if bad == 0 else f'{bad} target(s) differ'}")
sys.exit(1 if bad else 0)
