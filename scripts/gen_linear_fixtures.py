#!/usr/bin/env python3
"""Fixtures for the typed `linear` op (tests/ir/linear_op_test.cpp): y = x . dequant(W)^T + b in NumPy float64,
and for f32 / q8_0 also act(y) for each activation the op's epilogue runs (torch, float64).

For each weight format the stored weight is written as raw bytes u8 [n, row_bytes] (the storage include/tl/quant.h
defines; f16/bf16 rows are their 2-byte elements), quantised by the gguf package 0.19.0 (q8_0, q4_0, q4_1), NumPy
(f16) and torch (bf16, round to nearest even). q4_k / q6_k are not produced by gguf's quantisers: their blocks are
random bytes with finite scales, dequantised by gguf.quants.dequantize (exactly ggml's arithmetic).

    python3 scripts/gen_linear_fixtures.py      # writes tests/fixtures/linear/
"""
import os

import gguf
import numpy as np
import torch
from gguf import GGMLQuantizationType as T

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "linear")


def f16_bytes(x):
    return np.frombuffer(np.asarray(x, np.float16).tobytes(), np.uint8)


def storage(w, fmt):
    """(stored bytes u8 [n, row_bytes], dequantised float64 [n, k])."""
    n = w.shape[0]
    if fmt == "f32":
        return w.view(np.uint8).reshape(n, -1), w.astype(np.float64)
    if fmt == "f16":
        h = w.astype(np.float16)
        return h.view(np.uint8).reshape(n, -1), h.astype(np.float64)
    if fmt == "bf16":
        b = torch.from_numpy(w).to(torch.bfloat16)
        raw = b.view(torch.int16).numpy().view(np.uint8).reshape(n, -1)
        return raw, b.to(torch.float64).numpy()
    qt = {"q8_0": T.Q8_0, "q4_0": T.Q4_0, "q4_1": T.Q4_1}[fmt]
    q = gguf.quants.quantize(w, qt)
    return q.reshape(n, -1), gguf.quants.dequantize(q, qt).astype(np.float64)


def random_kquant(rng, n, k, fmt):
    """Random q4_k / q6_k blocks with finite, moderate scales; (bytes [n, row_bytes], dequantised [n, k])."""
    qt = {"q4_k": T.Q4_K, "q6_k": T.Q6_K}[fmt]
    block, size = gguf.GGML_QUANT_SIZES[qt]
    nb = n * k // block
    raw = rng.integers(0, 256, size=(nb, size), dtype=np.uint8)
    if fmt == "q4_k":  # d, dmin (f16) first, then 12 bytes of 6-bit scales/mins, 128 bytes of nibbles
        raw[:, 0:2] = f16_bytes(rng.uniform(0.001, 0.01, nb)).reshape(nb, 2)
        raw[:, 2:4] = f16_bytes(rng.uniform(0.001, 0.01, nb)).reshape(nb, 2)
    else:  # ql[128], qh[64], int8 scales[16], d (f16) last
        raw[:, 208:210] = f16_bytes(rng.uniform(0.0005, 0.002, nb)).reshape(nb, 2)
    raw = raw.reshape(n, -1)
    return raw, gguf.quants.dequantize(raw, qt).astype(np.float64).reshape(n, k)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261126)
    # Plain and 32-block formats: x [2, 3, 64], W [24, 64], b [24].
    x = rng.standard_normal((2, 3, 64)).astype(np.float32)
    w = (rng.standard_normal((24, 64)) * 0.2).astype(np.float32)
    b = rng.standard_normal(24).astype(np.float32)
    np.save(os.path.join(OUT, "x.npy"), x)
    np.save(os.path.join(OUT, "w.npy"), w)
    np.save(os.path.join(OUT, "b.npy"), b)
    acts = {"relu": lambda t: torch.relu(t), "gelu_erf": lambda t: torch.nn.functional.gelu(t),
            "gelu_tanh": lambda t: torch.nn.functional.gelu(t, approximate="tanh"),
            "silu": torch.nn.functional.silu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}
    for fmt in ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1"]:
        raw, deq = storage(w, fmt)
        y = x.astype(np.float64) @ deq.T + b.astype(np.float64)
        np.save(os.path.join(OUT, f"w_{fmt}.npy"), np.ascontiguousarray(raw))
        np.save(os.path.join(OUT, f"y_{fmt}.npy"), y.astype(np.float32))
        if fmt in ("f32", "q8_0"):  # linear {act}: the activation of y, in float64 (torch.nn.functional)
            for name, fn in acts.items():
                ya = fn(torch.from_numpy(y)).numpy()
                np.save(os.path.join(OUT, f"y_{fmt}_{name}.npy"), ya.astype(np.float32))
    # k-quants (256-element blocks): x [5, 256], W [6, 256], no bias.
    xk = rng.standard_normal((5, 256)).astype(np.float32)
    np.save(os.path.join(OUT, "xk.npy"), xk)
    for fmt in ["q4_k", "q6_k"]:
        raw, deq = random_kquant(rng, 6, 256, fmt)
        np.save(os.path.join(OUT, f"w_{fmt}.npy"), raw)
        np.save(os.path.join(OUT, f"y_{fmt}.npy"), (xk.astype(np.float64) @ deq.T).astype(np.float32))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
