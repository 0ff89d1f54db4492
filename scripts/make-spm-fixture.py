#!/usr/bin/env python3
"""Writes a vocabulary-only SentencePiece-style ("llama") GGUF for tokenizer tests.

usage: make-spm-fixture.py OUT

Tokens: <unk> <s> </s>, the 256 byte tokens <0x00>…<0xFF>, single characters of a small
alphabet, and word pieces ("▁the", "▁th", "ing", …) with scores that favour longer pieces, so
merges compete. Characters outside the alphabet (most of Unicode) fall back to byte tokens.
"""
import sys

from gguf import GGUFWriter

words = """the of and to in is was for on that with as by at from it an be this are or his which but
not have had they one were their all we can her has there been if more when will would who so no
capital france paris known tower built once upon time land far away lived curious little fox named
fern function return value print hello world token tokenizer sentence piece model small language""".split()
alphabet = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?'\"()[]{}-_+=*/\\<>@#$%&") + ["é", "ü", "ß", "日", "本"]

tokens, scores, types = ["<unk>", "<s>", "</s>"], [0.0, 0.0, 0.0], [2, 3, 3]
for b in range(256):
    tokens.append(f"<0x{b:02X}>"); scores.append(0.0); types.append(6)
tokens.append("\u2581"); scores.append(-1.0); types.append(1)
for ch in alphabet:
    tokens.append(ch); scores.append(-2.0); types.append(1)
pieces = set()
for w in words:
    for piece in ["\u2581" + w, w]:
        for end in range(2, len(piece) + 1):
            pieces.add(piece[:end])
        for start in range(1, len(piece) - 1):
            pieces.add(piece[start:])
pieces.update(["ing", "ed", "er", "es", "\u2581\u2581", "\u2581\u2581\u2581\u2581"])
for piece in sorted(pieces - set(tokens), key=lambda p: (-len(p), p)):
    tokens.append(piece)
    # Longer pieces score higher; ties broken deterministically by the sort order above.
    scores.append(-3.0 - 10.0 / len(piece) - 0.001 * len(tokens) / 1000)
    types.append(1)

w = GGUFWriter(sys.argv[1], "llama")
w.add_string("general.name", "slmbench SPM tokenizer fixture")
w.add_uint32("llama.block_count", 1)
w.add_uint32("llama.context_length", 128)
w.add_uint32("llama.embedding_length", 64)
w.add_uint32("llama.feed_forward_length", 128)
w.add_uint32("llama.attention.head_count", 4)
w.add_uint32("llama.rope.dimension_count", 16)
w.add_float32("llama.attention.layer_norm_rms_epsilon", 1e-5)
w.add_string("tokenizer.ggml.model", "llama")
w.add_array("tokenizer.ggml.tokens", tokens)
w.add_array("tokenizer.ggml.scores", scores)
w.add_array("tokenizer.ggml.token_type", types)
w.add_uint32("tokenizer.ggml.unknown_token_id", 0)
w.add_uint32("tokenizer.ggml.bos_token_id", 1)
w.add_uint32("tokenizer.ggml.eos_token_id", 2)
w.add_bool("tokenizer.ggml.add_bos_token", True)
w.add_bool("tokenizer.ggml.add_space_prefix", True)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
print(len(tokens), "tokens")
