#!/usr/bin/env python3
"""Reference for `tlt demo`: the same rule-steered attention head computed with NumPy in float64.

Writes tests/fixtures/demo/{attention,y}.npy for the default sizes (5 tokens, width 8)."""
import os

import numpy as np

n, d = 5, 8
here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "..", "tests", "fixtures", "demo")


def pattern(shape, phase):
    i = np.arange(int(np.prod(shape)), dtype=np.float64)
    return (np.sin(0.7 * i + phase) * 0.5).astype(np.float32).astype(np.float64).reshape(shape)


x = pattern((n, d), 0.0)
wq, wk, wv = pattern((d, d), 0.1), pattern((d, d), 1.3), pattern((d, d), 2.9)
q, k, v = x @ wq, x @ wk, x @ wv
scores = q @ k.T * np.float32(1.0 / np.sqrt(d))
attend = np.arange(n)[None, :] <= np.arange(n)[:, None]  # Attend(i,j) :- j <= i
scores = np.where(attend, scores, -np.inf)
e = np.exp(scores - scores.max(axis=1, keepdims=True))
att = e / e.sum(axis=1, keepdims=True)
y = att @ v
os.makedirs(out, exist_ok=True)
np.save(os.path.join(out, "attention.npy"), att.astype(np.float32))
np.save(os.path.join(out, "y.npy"), y.astype(np.float32))
print("wrote", out)
