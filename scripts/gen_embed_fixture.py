#!/usr/bin/env python3
"""Fixtures for embedding-space reasoning (examples/embedding_reasoning.tl), from a NumPy reference.

A random relation R over N=20 objects (36 true facts) is embedded with random unit embeddings of dimension
E in {2, 4, 8, 16, 32, 64, 128, 256}. For each E the float64 NumPy reference (on the float32 embeddings that
are written) computes Score = Emb Emb^T R Emb Emb^T, and for each temperature T in {0, 0.02, 0.1, 0.3, 1, 3}
the answer Infer = sigmoid((Score - 1/2) / T) (a step at T = 0), then:
  hard precision / recall: of the pairs with Infer > 1/2 (equivalently Score > 1/2) against R;
  soft recall = mean of Infer over the true facts, soft precision = sum of Infer over the true facts / sum
  of Infer over all pairs.
Written: R.npy, emb_E<E>.npy, score_E<E>.npy, metrics.tsv (E, T, hard_p, hard_r, soft_p, soft_r; %.9g),
and min_margin.tsv (E, min |Score - 1/2|, so the test knows the hard decisions are robust to f32 rounding).

    python3 scripts/gen_embed_fixture.py     # rewrites tests/fixtures/embed/
"""
import os
import shutil

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "embed")
N, FACTS = 20, 36
DIMS = [2, 4, 8, 16, 32, 64, 128, 256]
TEMPS = [0.0, 0.02, 0.1, 0.3, 1.0, 3.0]


def infer(score, t):
    if t == 0:
        return (score > 0.5).astype(np.float64)
    return 1 / (1 + np.exp(-(score - 0.5) / t))


def metrics(r, score, t):
    a = infer(score, t)
    pred = score > 0.5
    tp = np.logical_and(pred, r > 0).sum()
    hard_p = tp / max(pred.sum(), 1)
    hard_r = tp / (r > 0).sum()
    soft_r = a[r > 0].mean()
    soft_p = a[r > 0].sum() / a.sum()
    return hard_p, hard_r, soft_p, soft_r


def main():
    rng = np.random.default_rng(20251126)
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    r = np.zeros((N, N), np.float32)
    flat = rng.choice(N * N, FACTS, replace=False)
    r.flat[flat] = 1
    np.save(os.path.join(OUT, "R.npy"), r)
    rows, margins = [], []
    for e in DIMS:
        emb = rng.standard_normal((N, e))
        emb = (emb / np.linalg.norm(emb, axis=1, keepdims=True)).astype(np.float32)
        np.save(os.path.join(OUT, f"emb_E{e}.npy"), emb)
        x = emb.astype(np.float64)
        sim = x @ x.T
        score = sim @ r.astype(np.float64) @ sim.T
        np.save(os.path.join(OUT, f"score_E{e}.npy"), score.astype(np.float32))
        margins.append(f"{e}\t{np.abs(score - 0.5).min():.9g}")
        for t in TEMPS:
            vals = metrics(r, score, t)
            rows.append("\t".join([str(e), f"{t:g}"] + [f"{v:.9g}" for v in vals]))
    with open(os.path.join(OUT, "metrics.tsv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    with open(os.path.join(OUT, "min_margin.tsv"), "w") as f:
        f.write("\n".join(margins) + "\n")
    print("wrote", OUT)
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
