#!/usr/bin/env python3
"""Writes small outside-reference fixtures for the CPU kernels to tests/fixtures/kernels/.

Inputs are float32 (or int) arrays from a fixed seed; expected outputs are computed by NumPy in float64 from
those exact float32 inputs (gelu through math.erf), and, where PyTorch is installed, by torch.nn.functional in
float64. tests/kernels/test_fixtures.cpp compares the C++ kernels against them.

Pinned versions used to generate the committed files: numpy==2.2.6, torch==2.9.1.
Run: python3 scripts/gen_kernel_fixtures.py
"""
import math
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "kernels")
rng = np.random.default_rng(20261126)


def save(name, arr):
    np.save(os.path.join(OUT, name + ".npy"), np.array(arr, order="C"))  # keeps 0-d arrays 0-d


def f32(shape, lo, hi):
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


def main():
    os.makedirs(OUT, exist_ok=True)
    erf = np.vectorize(math.erf)

    # ---- unary: y = f(x) in float64 from the float32 x -------------------------------------------------------
    c = math.sqrt(2.0 / math.pi)
    unary = {
        "exp": (-20, 20, np.exp),
        "log": (1e-3, 100, np.log),
        "tanh": (-6, 6, np.tanh),
        "sigmoid": (-20, 20, lambda x: 1.0 / (1.0 + np.exp(-x))),
        "silu": (-20, 20, lambda x: x / (1.0 + np.exp(-x))),
        "gelu_erf": (-6, 6, lambda x: 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))),
        "gelu_tanh": (-6, 6, lambda x: 0.5 * x * (1.0 + np.tanh(c * (x + 0.044715 * x ** 3)))),
        "rsqrt": (1e-3, 100, lambda x: 1.0 / np.sqrt(x)),
    }
    for name, (lo, hi, f) in unary.items():
        x = f32((5, 37), lo, hi)
        save(f"unary_{name}_x", x)
        save(f"unary_{name}_y", f(x.astype(np.float64)).astype(np.float32))

    # ---- binary with broadcasting ---------------------------------------------------------------------------
    a, b = f32((3, 1, 5), -3, 3), f32((4, 1), -3, 3)
    save("binary_add_a", a), save("binary_add_b", b)
    save("binary_add_y", (a.astype(np.float64) + b).astype(np.float32))
    a, b = f32((4, 9), 0.1, 3), f32((9,), -2, 2)
    save("binary_pow_a", a), save("binary_pow_b", b)
    save("binary_pow_y", np.power(a.astype(np.float64), b.astype(np.float64)).astype(np.float32))
    a, b = f32((2, 6), -1, 1), f32((2, 6), -1, 1)
    a[0, 1] = np.nan
    b[1, 2] = np.nan
    save("binary_max_a", a), save("binary_max_b", b)
    save("binary_max_y", np.maximum(a, b))
    ia = np.array([-7, 7, 7, -7, 9, -9, 0, 1], dtype=np.int32)
    ib = np.array([2, -2, 2, -2, 4, 4, 3, 5], dtype=np.int32)
    save("binary_floordiv_a", ia), save("binary_floordiv_b", ib), save("binary_floordiv_y", np.floor_divide(ia, ib))

    # ---- reductions -----------------------------------------------------------------------------------------
    x = f32((3, 17, 5), -2, 2)
    save("reduce_x", x)
    x64 = x.astype(np.float64)
    save("reduce_sum_02_keep_y", x64.sum(axis=(0, 2), keepdims=True).astype(np.float32))
    save("reduce_mean_1_y", x64.mean(axis=1).astype(np.float32))
    save("reduce_max_all_y", np.array(x64.max(), dtype=np.float32))
    m = x64.max(axis=-1, keepdims=True)
    save("reduce_logsumexp_last_y", (m[..., 0] + np.log(np.exp(x64 - m).sum(axis=-1))).astype(np.float32))

    # ---- softmax with an additive causal mask and one fully masked row ------------------------------------
    s = f32((2, 3, 6, 6), -5, 5)
    mask = np.triu(np.full((6, 6), -np.inf, dtype=np.float32), k=1)
    mask[4, :] = -np.inf  # fully masked query row -> zeros (the kernels' documented choice)
    z = s.astype(np.float64) + mask
    zm = z.max(axis=-1, keepdims=True)
    full = np.isneginf(zm)
    e = np.exp(np.where(full, -np.inf, z - np.where(full, 0, zm)))
    den = e.sum(axis=-1, keepdims=True)
    y = np.where(full, 0.0, e / np.where(den == 0, 1, den))
    save("softmax_x", s), save("softmax_mask", mask), save("softmax_y", y.astype(np.float32))

    # ---- norms ------------------------------------------------------------------------------------------------
    x = f32((4, 3, 40), -3, 5)
    g, bb = f32((40,), 0.5, 1.5), f32((40,), -1, 1)
    x64 = x.astype(np.float64)
    mu = x64.mean(-1, keepdims=True)
    var = ((x64 - mu) ** 2).mean(-1, keepdims=True)
    save("norm_x", x), save("norm_gamma", g), save("norm_beta", bb)
    save("layer_norm_y", ((x64 - mu) / np.sqrt(var + 1e-5) * g + bb).astype(np.float32))
    mu2 = x64.mean(axis=(1, 2), keepdims=True)
    var2 = ((x64 - mu2) ** 2).mean(axis=(1, 2), keepdims=True)
    save("layer_norm2_y", ((x64 - mu2) / np.sqrt(var2 + 1e-5)).astype(np.float32))
    save("rms_norm_y", (x64 / np.sqrt((x64 ** 2).mean(-1, keepdims=True) + 1e-6) * g).astype(np.float32))

    # ---- layout -------------------------------------------------------------------------------------------------
    t = f32((5, 4, 3), -1, 1)
    idx = np.array([[3, -1], [0, -4]], dtype=np.int64)
    save("layout_x", t), save("layout_idx", idx)
    save("take_axis1_y", np.take(t, idx, axis=1))
    save("repeat_axis2_y", np.repeat(t, 3, axis=2))
    save("concat_axis0_y", np.concatenate([t, t[:2]], axis=0))

    # ---- PyTorch (float64) where the op is a torch.nn.functional op -------------------------------------------
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        print("torch not installed: PyTorch fixtures not regenerated")
        return
    x = f32((5, 37), -6, 6)
    xt = torch.from_numpy(x.astype(np.float64))
    save("torch_x", x)
    save("torch_gelu_y", F.gelu(xt).numpy().astype(np.float32))
    save("torch_gelu_tanh_y", F.gelu(xt, approximate="tanh").numpy().astype(np.float32))
    save("torch_silu_y", F.silu(xt).numpy().astype(np.float32))
    save("torch_softmax0_y", torch.softmax(xt, dim=0).numpy().astype(np.float32))
    g = f32((37,), 0.5, 1.5)
    bt = f32((37,), -1, 1)
    save("torch_gamma", g), save("torch_beta", bt)
    gt, btt = torch.from_numpy(g.astype(np.float64)), torch.from_numpy(bt.astype(np.float64))
    save("torch_layer_norm_y", F.layer_norm(xt, (37,), gt, btt, eps=1e-5).numpy().astype(np.float32))
    save("torch_rms_norm_y", F.rms_norm(xt, (37,), gt, eps=1e-6).numpy().astype(np.float32))
    save("torch_logsumexp_y", torch.logsumexp(xt, dim=1).numpy().astype(np.float32))


if __name__ == "__main__":
    main()
