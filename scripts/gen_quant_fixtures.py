#!/usr/bin/env python3
"""Writes the references that tests/core/quant_*_test.cpp and tests/gemm/qgemm_test.cpp check tl's weight
formats (include/tl/quant.h) against.

  q8_0 / q4_0 / q4_1: gguf.quants.quantize (gguf 0.19.0, whose quantisers are bit-exact ports of ggml's
      quantize_row_*_ref) -> block_w.npy (f32 input [8, 128]), <fmt>_q.npy (u8 bytes), <fmt>_deq.npy (gguf.quants.dequantize).
  q4_k / q6_k: gguf 0.19.0 has no quantiser for them, so the blocks are random bytes with finite f16 scales;
      <fmt>_q.npy (u8) and <fmt>_deq.npy (gguf.quants.dequantize).
  f16 / bf16: torch 2.9.1's rounding of f32 (`.to(torch.float16 / torch.bfloat16)`): conv_x.npy (f32 input),
      conv_f16.npy (f16), conv_bf16_bits.npy (the bf16 bit patterns as i32; NumPy has no bf16).
  qgemm: qgemm_x.npy [3, 512] and, per format, qgemm_<fmt>_y.npy = x @ dequantize(W)^T in float64 -> f32.

Rows include edge cases: an all-zero block, a constant block, a huge block (x 1e6: q4_0 / q4_1 scales
overflow f16 to inf, exactly as in ggml), tiny blocks (x 1e-30: the f16 scale flushes to 0), exact ties of
the rounding rules. Usage: python3 scripts/gen_quant_fixtures.py (writes tests/fixtures/quant/, ~47 KB; deterministic).
"""
import pathlib
import warnings

import numpy as np
import torch
from gguf import GGMLQuantizationType as T
from gguf import quants

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "quant"


def save(name, arr):
    np.save(OUT / f"{name}.npy", np.ascontiguousarray(arr))


def block_rows(rng, k):
    """Rows of k = 128 weights (4 blocks of 32) covering the edge cases."""
    rows = []
    rows.append(rng.normal(0, 1, k))                      # ordinary
    rows.append(rng.normal(0, 0.02, k))                   # typical LLM weight scale
    r = rng.normal(0, 1, k); r[32:64] = 0.0; rows.append(r)          # one all-zero block
    r = rng.normal(0, 1, k); r[64:96] = 0.75; rows.append(r)         # one constant block
    r = rng.normal(0, 1, k); r[0:32] *= 1e6; rows.append(r)          # huge block
    r = rng.normal(0, 1, k); r[0:32] *= 1e-30; r[32:64] *= 1e-6; rows.append(r)  # tiny blocks (scale -> 0 / subnormal)
    # Exact ties: amax 127 gives d = 1 for q8_0, so x.5 values are rounding ties (away from zero);
    # max -8 gives d = 1 for q4_0 (x + 8.5 exact); q4_1 with min 0, max 15 gives d = 1.
    r = np.zeros(k); r[0] = 127; r[1:32] = np.linspace(-126.5, 126.5, 31).round() + 0.5 * np.sign(np.arange(31) - 15)
    r[32] = -8; r[33:64] = (np.arange(31) % 16 - 8) + 0.5
    r[64] = 0; r[65] = 15; r[66:96] = (np.arange(30) % 15) + 0.5
    r[96:128] = -rng.uniform(0, 1, 32)                     # all negative (q4_0's max is negative)
    rows.append(r)
    r = rng.normal(0, 1, k); r[100] = 50.0; r[101] = -50.0; rows.append(r)  # q4_0 tie of |max|: first one wins
    return np.array(rows, dtype=np.float32)


def random_kquant_blocks(rng, nblocks, size, d_offsets):
    b = rng.integers(0, 256, size=(nblocks, size), dtype=np.uint8)
    for off in d_offsets:  # finite f16 scales of LLM-like magnitude (random bytes could be NaN / inf)
        d = rng.uniform(-0.05, 0.05, nblocks).astype(np.float16)
        if off == 2:
            d = np.abs(d)
        b[:, off:off + 2] = d.view(np.uint8).reshape(nblocks, 2)
    b[0, :] = 0  # an all-zero block
    return b


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20261126)
    warnings.simplefilter("ignore")  # f16 overflow of the huge block's scale is intended

    k = 128
    w = block_rows(rng, k)
    save("block_w", w)
    deq = {}
    for name, t in (("q8_0", T.Q8_0), ("q4_0", T.Q4_0), ("q4_1", T.Q4_1)):
        q = quants.quantize(w, t)
        save(f"{name}_q", q.astype(np.uint8))
        deq[name] = quants.dequantize(q, t).astype(np.float32)
        save(f"{name}_deq", deq[name])

    for name, t, size, offs in (("q4_k", T.Q4_K, 144, (0, 2)), ("q6_k", T.Q6_K, 210, (208,))):
        q = random_kquant_blocks(rng, 6, size, offs).reshape(3, 2 * size)  # 3 rows of k = 512
        save(f"{name}_q", q)
        deq[name] = quants.dequantize(q, t).astype(np.float32)
        save(f"{name}_deq", deq[name])

    # f16 / bf16 rounding as torch does it: random values plus ties, subnormals, overflow, inf.
    x = np.concatenate([
        rng.normal(0, 1, 64), rng.normal(0, 1e-5, 16), rng.normal(0, 1e4, 16),
        [0.0, -0.0, np.inf, -np.inf, 65504.0, 65519.0, 65520.0, 1e6, 6e-8, 3e-8, 2.9802322e-08, 1e-40, -1e-40,
         1.0 + 2.0 ** -11, 1.0 + 3 * 2.0 ** -11, 1.0 + 2.0 ** -8, 1.0 + 3 * 2.0 ** -8, 3.4e38, -3.4e38, 1.17e-38],
    ]).astype(np.float32)
    xt = torch.from_numpy(x)
    save("conv_x", x)
    save("conv_f16", xt.to(torch.float16).numpy())
    save("conv_bf16_bits", xt.to(torch.bfloat16).view(torch.int16).numpy().astype(np.int32) & 0xFFFF)

    # Products through each format's dequantised weight, float64 -> f32 (the reference for qgemm_naive).
    xs = rng.uniform(-1, 1, (3, 512)).astype(np.float32)
    save("qgemm_x", xs)
    for name, d in deq.items():
        kk = d.shape[1]
        dd = np.where(np.isfinite(d), d, 0).astype(np.float64)  # the huge row's inf scale: not a product test
        save(f"qgemm_{name}_y", (xs[:, :kk].astype(np.float64) @ dd.T).astype(np.float32))


if __name__ == "__main__":
    main()
