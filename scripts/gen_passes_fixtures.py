#!/usr/bin/env python3
"""Generates the pass fixtures under tests/fixtures/passes/ (numpy==2.2.6, opt_einsum==3.4.0, torch optional;
seeded).

chains.txt   matrix chains for the einsum merge + split passes:  name <TAB> shapes (e.g. 10x30;30x5;5x60) <TAB>
             opt_einsum optimal flops <TAB> left-to-right flops. The FLOP convention is opt_einsum's
             helpers.flop_count, the same as tl::einsum_plan's.
attn_*.npy   one causal attention block (the graph in tests/passes/test_reference.cpp): inputs x [2,5,8],
             wq/wk/wv [8,2,4] ([d, heads, head_dim]), wo [2,4,8]; attn_y.npy the output attention(x) @ wo + x,
             computed in float64 by PyTorch (scaled_dot_product_attention, is_causal=True) when it is
             installed, else by NumPy, stored as f4.

Usage: python3 scripts/gen_passes_fixtures.py   (rewrites the folder)
"""
import os
import shutil

import numpy as np
import opt_einsum as oe

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "passes")
rng = np.random.default_rng(20261126)

CHAINS = {
    "clrs3": [(10, 30), (30, 5), (5, 60)],
    "four": [(40, 20), (20, 30), (30, 10), (10, 30)],
    "thin_end": [(6, 7), (7, 8), (8, 9), (9, 1)],
    "clrs5": [(30, 35), (35, 15), (15, 5), (5, 10), (10, 20)],
    "matvec": [(16, 16), (16, 16), (16, 16), (16, 1)],
}


def chain_spec(n):
    letters = "abcdefghij"
    return ",".join(letters[i] + letters[i + 1] for i in range(n)) + "->" + letters[0] + letters[n]


def left_to_right_flops(shapes):
    total, rows = 0, shapes[0][0]
    k = shapes[0][1]
    for _, n in shapes[1:]:
        total += 2 * rows * k * n  # opt_einsum's cost of a pairwise contraction with a summed label
        k = n
    return total


def attention_reference(x, wq, wk, wv, wo):
    try:
        import torch
        t = lambda a: torch.from_numpy(a.astype(np.float64))
        X = t(x)
        q = torch.einsum("bsd,dhe->bhse", X, t(wq))
        k = torch.einsum("bsd,dhe->bhse", X, t(wk))
        v = torch.einsum("bsd,dhe->bhse", X, t(wv))
        o = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)  # [b, h, s, e]
        y = torch.einsum("bhse,hed->bsd", o, t(wo)) + X
        return y.numpy(), "torch " + torch.__version__
    except ImportError:
        X = x.astype(np.float64)
        q = np.einsum("bsd,dhe->bhse", X, wq)
        k = np.einsum("bsd,dhe->bhse", X, wk)
        v = np.einsum("bsd,dhe->bhse", X, wv)
        s = np.einsum("bhqe,bhke->bhqk", q, k) / np.sqrt(q.shape[-1])
        n = s.shape[-1]
        s = s + np.triu(np.full((n, n), -np.inf), 1)
        p = np.exp(s - s.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        o = np.einsum("bhqk,bhke->bhqe", p, v)
        return np.einsum("bhse,hed->bsd", o, wo) + X, "numpy " + np.__version__


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    with open(os.path.join(OUT, "chains.txt"), "w") as f:
        for name, shapes in CHAINS.items():
            spec = chain_spec(len(shapes))
            _, info = oe.contract_path(spec, *shapes, shapes=True, optimize="optimal")
            f.write("%s\t%s\t%d\t%d\n" % (name, ";".join("%dx%d" % s for s in shapes), int(info.opt_cost),
                                          left_to_right_flops(shapes)))
    B, S, D, H, E = 2, 5, 8, 2, 4
    arrs = {
        "x": rng.uniform(-1, 1, (B, S, D)),
        "wq": rng.uniform(-0.5, 0.5, (D, H, E)),
        "wk": rng.uniform(-0.5, 0.5, (D, H, E)),
        "wv": rng.uniform(-0.5, 0.5, (D, H, E)),
        "wo": rng.uniform(-0.5, 0.5, (H, E, D)),
    }
    arrs = {k: v.astype(np.float32) for k, v in arrs.items()}
    for k, v in arrs.items():
        np.save(os.path.join(OUT, "attn_%s.npy" % k), v)
    y, by = attention_reference(**arrs)
    np.save(os.path.join(OUT, "attn_y.npy"), y.astype(np.float32))
    print("wrote", OUT, "(attention reference by %s)" % by)


if __name__ == "__main__":
    main()
