#!/usr/bin/env python3
"""Fixture for index slices in .tl (`X[p=1:, d]`): a program and its NumPy-slicing reference, in the format of
the eq_* fixtures of tests/fixtures/logic (program.tl, in_<name>.npy, out_<name>.npy; float64 reference).

    python3 scripts/gen_logic_slice_fixture.py     # rewrites tests/fixtures/logic/eq_slice/
"""
import os
import shutil

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "logic", "eq_slice")

PROGRAM = """dim S = 7
dim D = 5
input X[S, D]
input W[D, 3]
Head[p, d] = X[p=0:3, d]
Tail[p, d] = X[p=2:, d]
Corner[p, d] = X[p=-2:, d=1:4]
Even[p, d] = X[p=::2, d]
Diff[p, d] = X[p=1:, d] - X[p=:-1, d]
Win[p, e] = X[p=1:6:2, d] W[d, e]
Clamp[p, d] = X[p=-100:2, d=3:100]
Gram[p, q] = X[p=:3, d] X[q=4:, d]
"""


def main():
    rng = np.random.default_rng(4242)
    x = rng.standard_normal((7, 5)).astype(np.float32)
    w = rng.standard_normal((5, 3)).astype(np.float32)
    X, W = x.astype(np.float64), w.astype(np.float64)
    out = {
        "Head": X[0:3, :],
        "Tail": X[2:, :],
        "Corner": X[-2:, 1:4],
        "Even": X[::2, :],
        "Diff": X[1:] - X[:-1],
        "Win": X[1:6:2] @ W,
        "Clamp": X[-100:2, 3:100],
        "Gram": X[:3] @ X[4:].T,
    }
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    with open(os.path.join(OUT, "program.tl"), "w") as f:
        f.write(PROGRAM)
    np.save(os.path.join(OUT, "in_X.npy"), x)
    np.save(os.path.join(OUT, "in_W.npy"), w)
    for k, v in out.items():
        np.save(os.path.join(OUT, f"out_{k}.npy"), v.astype(np.float32))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
