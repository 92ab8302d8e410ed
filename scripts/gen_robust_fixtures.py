#!/usr/bin/env python3
"""Writes NaN/Inf robustness fixtures to tests/fixtures/robust/ (read by tests/kernels/nan_inf_test.cpp).

Each case is small float32 inputs holding NaN, +inf and -inf at chosen places, and the expected output
computed from those exact float32 inputs in float64:
  - matmul / einsum: NumPy (IEEE: NaN * x = NaN, inf * 0 = NaN, inf + -inf = NaN);
  - softmax, layer_norm, rms_norm, attention: NumPy formulas, except that a fully masked softmax row (every
    entry -inf) is all zeros, the project's documented choice (PyTorch gives NaN there);
  - gelu (erf and tanh), silu, sigmoid, tanh, relu, exp: torch.nn.functional in float64 (the transformers
    reference; gelu(-inf) and silu(-inf) are NaN there because they compute -inf * 0).
Pinned versions used to generate the committed files: numpy==2.2.6, torch==2.9.1.
Run: python3 scripts/gen_robust_fixtures.py
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "robust")
rng = np.random.default_rng(20261126)
NAN, INF = np.float32("nan"), np.float32("inf")


def save(name, arr):
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(arr))


def f32(shape, lo=-2.0, hi=2.0):
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


def softmax64(x, axis=-1):
    """exp(x - max) / sum along axis in float64; NaN anywhere in a row -> NaN row; all -inf row -> zeros."""
    x = x.astype(np.float64)
    with np.errstate(invalid="ignore"):
        m = np.max(x, axis=axis, keepdims=True)  # NaN propagates through np.max
        e = np.exp(x - m)
        y = e / np.sum(e, axis=axis, keepdims=True)
    dead = np.all(x == -np.inf, axis=axis, keepdims=True)
    return np.where(dead, 0.0, y)


def main():
    os.makedirs(OUT, exist_ok=True)
    np.seterr(invalid="ignore", over="ignore", divide="ignore")

    # ---- matmul [4,5] x [5,6]: NaN in row 0, +inf in row 1 meeting a zero in B (-> NaN) and positives,
    # -inf and +inf in row 2 (-> inf + -inf = NaN where both meet nonzero B), row 3 finite but B has an inf
    # column (col 5) -> +-inf in that column.
    a = f32((4, 5))
    a[0, 1] = NAN
    a[1, 2] = INF
    a[2, 0], a[2, 3] = -INF, INF
    b = f32((5, 6), 0.5, 2.0)  # positive, so signs of infinities are predictable
    b[2, 3] = 0.0              # inf * 0 -> NaN in out[1, 3]
    b[4, 5] = INF              # finite row x inf -> +-inf in column 5
    save("mm_a", a)
    save("mm_b", b)
    save("mm_out", (a.astype(np.float64) @ b.astype(np.float64)).astype(np.float32))
    # The same through a batched einsum and a reduction-style einsum.
    ab = np.stack([a, a[::-1].copy()])  # [2, 4, 5]
    save("bmm_a", ab)
    save("bmm_out", np.einsum("bij,jk->bik", ab.astype(np.float64), b.astype(np.float64)).astype(np.float32))
    save("dot_out", np.einsum("ij,ij->i", a.astype(np.float64), a[::-1].astype(np.float64)).astype(np.float32))

    # ---- softmax rows of 19 (not a multiple of the SIMD width, so the tail path runs too).
    s = f32((7, 19), -4, 4)
    s[1, 3] = NAN               # NaN -> whole row NaN
    s[2, 17] = INF              # one +inf -> exp(inf - inf) = NaN -> row NaN (as torch)
    s[3, [0, 5, 18]] = -INF     # partially masked: those entries 0, the rest a proper softmax
    s[4, :] = -INF              # fully masked -> zeros (documented)
    s[5, 2], s[5, 9] = INF, INF
    s[6, 0] = NAN
    s[6, 1:] = -INF             # NaN beats the mask: NaN row
    save("softmax_x", s)
    save("softmax_out", softmax64(s).astype(np.float32))

    # ---- layer_norm / rms_norm over the last dim (19), gamma/beta finite.
    x = f32((5, 19), -3, 3)
    x[1, 4] = NAN
    x[2, 7] = INF
    x[3, 11] = -INF
    x[4, 2], x[4, 3] = INF, -INF
    g = f32((19,), 0.5, 1.5)
    be = f32((19,), -0.5, 0.5)
    eps = 1e-5
    x64 = x.astype(np.float64)
    mean = x64.mean(-1, keepdims=True)
    var = ((x64 - mean) ** 2).mean(-1, keepdims=True)
    save("norm_x", x)
    save("norm_gamma", g)
    save("norm_beta", be)
    save("layer_norm_out", ((x64 - mean) / np.sqrt(var + eps) * g + be).astype(np.float32))
    ms = (x64 * x64).mean(-1, keepdims=True)
    save("rms_norm_out", (x64 / np.sqrt(ms + eps) * g).astype(np.float32))

    # ---- unary nonlinearities on special values and saturating finite ones.
    u = np.array([NAN, INF, -INF, 0.0, -0.0, 1.0, -1.0, 20.0, -20.0, 88.0, -88.0, 100.0, -100.0, 1e30, -1e30,
                  3e-39], dtype=np.float32)
    t = torch.from_numpy(u.astype(np.float64))
    save("unary_x", u)
    save("unary_gelu_erf", F.gelu(t).numpy().astype(np.float32))
    save("unary_gelu_tanh", F.gelu(t, approximate="tanh").numpy().astype(np.float32))
    save("unary_silu", F.silu(t).numpy().astype(np.float32))
    save("unary_sigmoid", torch.sigmoid(t).numpy().astype(np.float32))
    save("unary_tanh", torch.tanh(t).numpy().astype(np.float32))
    save("unary_relu", torch.relu(t).numpy().astype(np.float32))
    save("unary_exp", torch.exp(t).numpy().astype(np.float32))

    # ---- attention q [1,2,5,8], k/v [1,2,7,8] with an additive bias [1,2,5,7].
    # head 0: NaN in query row 1 -> that output row NaN; bias row 3 all -inf -> zeros (fully masked row).
    # head 1: +inf in key 0 dimension 0, with query rows of both signs in dimension 0 -> scores +inf (row NaN,
    # exp(inf - inf)) or -inf (key 0 drops out by its own score); bias row 4 all -inf with a -inf score -> zeros.
    q = f32((1, 2, 5, 8))
    k = f32((1, 2, 7, 8))
    v = f32((1, 2, 7, 8))
    bias = np.zeros((1, 2, 5, 7), np.float32)
    q[0, 0, 1, 2] = NAN
    bias[0, 0, 3, :] = -INF
    k[0, 1, 0, 0] = INF
    q[0, 1, :, 0] = np.array([1.0, -1.0, 0.5, -0.5, -1.0], np.float32)
    bias[0, 1, 4, :] = -INF
    bias[0, 1, 2, 5] = -INF  # one ordinary masked key
    scale = np.float32(1.0 / np.sqrt(8.0))
    sc = np.einsum("bhid,bhjd->bhij", q.astype(np.float64), k.astype(np.float64)) * np.float64(scale) + bias
    p = softmax64(sc)
    out = np.einsum("bhij,bhjd->bhid", p, v.astype(np.float64))
    for name, arr in (("attn_q", q), ("attn_k", k), ("attn_v", v), ("attn_bias", bias)):
        save(name, arr)
    save("attn_out", out.astype(np.float32))


if __name__ == "__main__":
    main()
