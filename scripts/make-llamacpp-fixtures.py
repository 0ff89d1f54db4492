#!/usr/bin/env python3
"""Builds Tests/ModelFormatTests/Fixtures/llamacpp-quants.gguf-fixture from llama.cpp's own output.

usage: make-llamacpp-fixtures.py F32_GGUF WORKDIR OUT
WORKDIR holds llama-<TYPE>.gguf files written by `llama-quantize --pure F32_GGUF … TYPE`
(scripts/check/check-quantize-vs-llamacpp.sh leaves them there with --keep).

The fixture holds the first 8 rows of blk.0.ffn_down.weight (real SmolLM2 weights, 1536 wide so
every type fits): `f32` (the input), `llama.<TYPE>` (llama-quantize's bytes) and `ref.<TYPE>`
(those bytes dequantized by gguf-py, independently of slmbench and of ggml).
"""
import sys

import numpy as np
from gguf import GGUFReader, GGUFWriter, GGMLQuantizationType
from gguf.quants import dequantize

TYPES = ["Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q6_K", "Q5_K", "Q4_K", "Q3_K", "Q2_K"]
NAME, ROWS = "blk.0.ffn_down.weight", 8

f32, work, out = sys.argv[1:]
src = {t.name: t for t in GGUFReader(f32).tensors}[NAME]
writer = GGUFWriter(out, "llama")
writer.add_string("slmbench.fixture", "llama-quantize --pure output for 8 rows of " + NAME)
rows = np.asarray(src.data, dtype=np.float32).reshape(-1, 1536)[:ROWS]
writer.add_tensor("f32", rows)
for ty in TYPES:
    t = {x.name: x for x in GGUFReader(f"{work}/llama-{ty}.gguf").tensors}[NAME]
    assert t.tensor_type.name == ty, (ty, t.tensor_type.name)
    raw = np.asarray(t.data).reshape(-1)
    per_row = raw.size // t.shape[1] if len(t.shape) > 1 else raw.size
    data = raw[: per_row * ROWS].reshape(ROWS, per_row)
    writer.add_tensor(f"llama.{ty}", data, raw_shape=data.shape, raw_dtype=GGMLQuantizationType[ty])
    writer.add_tensor(f"ref.{ty}", np.asarray(dequantize(data, GGMLQuantizationType[ty]), dtype=np.float32).reshape(ROWS, 1536))
writer.write_header_to_file()
writer.write_kv_data_to_file()
writer.write_tensors_to_file()
writer.close()
print(out)
