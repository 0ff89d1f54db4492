#!/usr/bin/env python3
"""Validates HardwareProfile JSON files against docs/hardware-profile.schema.json.

usage: check-profile-schema.py FILE...   (exit 0 all valid, 1 some invalid, 2 setup problem)
"""
import json
import pathlib
import sys

try:
    import jsonschema
except ImportError:
    sys.exit("check-profile-schema: Python package 'jsonschema' is missing; run scripts/bootstrap.sh")

root = pathlib.Path(__file__).resolve().parents[2]
schema = json.loads((root / "docs" / "hardware-profile.schema.json").read_text())
validator = jsonschema.Draft202012Validator(schema)
bad = 0
for name in sys.argv[1:]:
    try:
        doc = json.loads(pathlib.Path(name).read_text())
    except (OSError, ValueError) as error:
        print(f"FAIL {name}: {error}")
        bad += 1
        continue
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    for error in errors:
        path = "/".join(str(p) for p in error.absolute_path) or "(root)"
        print(f"FAIL {name}: {path}: {error.message}")
    bad += bool(errors)
    if not errors:
        print(f"ok   {name}")
sys.exit(1 if bad else 0)
