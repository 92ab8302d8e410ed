#!/usr/bin/env python3
"""Fixtures for tests/logic/test_tlexpr_fixtures.cpp: TLExpr presets computed independently with NumPy.

Inputs P[x=3, y=4], Q[y=4, z=2], R[x=3] with random truth values in [0, 1]; for each preset the expected
  e1[x, z] = exists y. P(x, y) AND Q(y, z)
  e2[y]    = forall x. R(x) IMPLIES P(x, y)
  e3[]     = exists x. forall y. (P(x, y) OR NOT R(x))
Written to tests/fixtures/tlexpr/{P,Q,R}.npy and <preset>_e<k>.npy (float32). Run from the repository root:
  python3 scripts/gen_tlexpr_fixtures.py
"""
import os

import numpy as np

T = 0.25  # soft preset temperature (the test uses the same)
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "tlexpr")


def soft_avg(stack, axis, sign):
    """softmax(sign * a / T)-weighted average along axis."""
    w = np.exp(sign * stack / T - np.max(sign * stack / T, axis=axis, keepdims=True))
    return np.clip(np.sum(w * stack, axis=axis) / np.sum(w, axis=axis), 0.0, 1.0)


def preset_ops(name):
    if name in ("boolean", "godel"):
        land, lor = np.minimum, np.maximum
        ex = lambda a, ax: a.max(axis=ax)
        fa = lambda a, ax: a.min(axis=ax)
        imp = (lambda a, b: np.maximum(1 - a, b)) if name == "boolean" else (lambda a, b: np.where(a <= b, 1.0, b))
    elif name == "product":
        land = lambda a, b: a * b
        lor = lambda a, b: a + b - a * b
        ex = lambda a, ax: 1 - np.prod(1 - a, axis=ax)
        fa = lambda a, ax: np.prod(a, axis=ax)
        imp = lambda a, b: 1 - a + a * b  # Reichenbach
    elif name == "lukasiewicz":
        land = lambda a, b: np.maximum(0, a + b - 1)
        lor = lambda a, b: np.minimum(1, a + b)
        ex = lambda a, ax: np.minimum(1, a.sum(axis=ax))
        fa = lambda a, ax: np.maximum(0, a.sum(axis=ax) - (a.shape[ax] - 1))
        imp = lambda a, b: np.minimum(1, 1 - a + b)
    elif name == "soft":
        land = lambda a, b: soft_avg(np.stack(np.broadcast_arrays(a, b)), 0, -1)
        lor = lambda a, b: soft_avg(np.stack(np.broadcast_arrays(a, b)), 0, 1)
        ex = lambda a, ax: soft_avg(a, ax, 1)
        fa = lambda a, ax: soft_avg(a, ax, -1)
        imp = lambda a, b: lor(1 - a, b)
    return land, lor, ex, fa, imp


def main():
    rng = np.random.default_rng(7)
    P = rng.random((3, 4))
    Q = rng.random((4, 2))
    R = rng.random(3)
    os.makedirs(OUT, exist_ok=True)
    for n, a in (("P", P), ("Q", Q), ("R", R)):
        np.save(os.path.join(OUT, n + ".npy"), a.astype(np.float32))
    P, Q, R = (a.astype(np.float32).astype(np.float64) for a in (P, Q, R))
    for name in ("boolean", "godel", "product", "lukasiewicz", "soft"):
        land, lor, ex, fa, imp = preset_ops(name)
        p, q, r = ((a > 0.5).astype(np.float64) for a in (P, Q, R)) if name == "boolean" else (P, Q, R)
        e1 = ex(land(p[:, :, None], q[None, :, :]), 1)  # [x, z]
        e2 = fa(imp(r[:, None], p), 0)  # [y]
        e3 = ex(fa(lor(p, 1 - r[:, None]), 1), 0)  # []
        for k, e in enumerate((e1, e2, e3), 1):
            np.save(os.path.join(OUT, f"{name}_e{k}.npy"), np.asarray(e, dtype=np.float32))


if __name__ == "__main__":
    main()
