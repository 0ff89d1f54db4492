#!/usr/bin/env python3
"""Validates worker-protocol lines (a request, or a worker's output) against
docs/worker-protocol.schema.json, one JSON document per line.

usage: check-worker-schema.py FILE...   (exit 0 all valid, 1 some invalid, 2 setup problem)
"""
import json
import pathlib
import sys

try:
    import jsonschema
except ImportError:
    print("check-worker-schema: Python package 'jsonschema' is missing; run scripts/bootstrap.sh", file=sys.stderr)
    sys.exit(2)

root = pathlib.Path(__file__).resolve().parents[2]
validator = jsonschema.Draft202012Validator(json.loads((root / "docs" / "worker-protocol.schema.json").read_text()))
bad = 0
for name in sys.argv[1:]:
    for number, line in enumerate(pathlib.Path(name).read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except ValueError as error:
            print(f"FAIL {name}:{number}: not JSON: {error}")
            bad += 1
            continue
        errors = list(validator.iter_errors(doc))
        for error in errors:
            print(f"FAIL {name}:{number}: {error.message}")
        bad += bool(errors)
print(f"{'ok' if bad == 0 else 'invalid'}: {bad} bad line(s)")
sys.exit(1 if bad else 0)
