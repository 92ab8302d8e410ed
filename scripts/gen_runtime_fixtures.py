#!/usr/bin/env python3
"""Fixtures for tests/runtime: a graph in the text form plus inputs and NumPy-computed outputs.

The graph (a pre-norm attention block with a GELU MLP, causal mask) is written here by hand in the .tlg text
form, so the C++ parser is also tested against text it did not print. Expected outputs come from NumPy in
float64. Run from the repository root:  python3 scripts/gen_runtime_fixtures.py
Requires numpy (2.2.6 was used).
"""
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "runtime")

B, S, D, H, F = 2, 5, 8, 2, 16  # batch, seq, model dim, heads, mlp hidden
HD = D // H

GRAPH = f"""# Pre-norm transformer block, written by scripts/gen_runtime_fixtures.py
graph block {{
  input %x: f32[{B},{S},{D}]
  input %mask: f32[{S},{S}]
  param %ln1_g: f32[{D}]
  param %ln1_b: f32[{D}]
  param %wq: f32[{D},{D}]
  param %wk: f32[{D},{D}]
  param %wv: f32[{D},{D}]
  param %wo: f32[{D},{D}]
  param %ln2_g: f32[{D}]
  param %w1: f32[{D},{F}]
  param %b1: f32[{F}]
  param %w2: f32[{F},{D}]
  %h: f32[{B},{S},{D}] = layer_norm(%x, %ln1_g, %ln1_b) {{norm_dims=1, eps=1e-05}}
  %q2: f32[{B},{S},{D}] = einsum(%h, %wq) {{spec="bsd,de->bse"}}
  %k2: f32[{B},{S},{D}] = einsum(%h, %wk) {{spec="bsd,de->bse"}}
  %v2: f32[{B},{S},{D}] = einsum(%h, %wv) {{spec="bsd,de->bse"}}
  %q: f32[{B},{S},{H},{HD}] = reshape(%q2) {{shape=[{B},{S},{H},{HD}]}}
  %k: f32[{B},{S},{H},{HD}] = reshape(%k2) {{shape=[{B},{S},{H},{HD}]}}
  %v: f32[{B},{S},{H},{HD}] = reshape(%v2) {{shape=[{B},{S},{H},{HD}]}}
  %scale: f32[] = constant() {{values=[{float(np.float32(1 / np.sqrt(HD)))!r}]}}
  %qs: f32[{B},{S},{H},{HD}] = mul(%q, %scale)
  %scores: f32[{B},{H},{S},{S}] = einsum(%qs, %k) {{spec="bqhd,bkhd->bhqk"}}
  %p: f32[{B},{H},{S},{S}] = softmax(%scores, %mask) {{axis=-1}}
  %vt: f32[{B},{H},{S},{HD}] = transpose(%v) {{perm=[0,2,1,3]}}
  %ctx: f32[{B},{H},{S},{HD}] = einsum(%p, %vt) {{spec="bhqk,bhkd->bhqd"}}
  %ctxt: f32[{B},{S},{H},{HD}] = transpose(%ctx) {{perm=[0,2,1,3]}}
  %ctx2: f32[{B},{S},{D}] = reshape(%ctxt) {{shape=[{B},{S},{D}]}}
  %attn: f32[{B},{S},{D}] = einsum(%ctx2, %wo) {{spec="bsd,de->bse"}}
  %r1: f32[{B},{S},{D}] = add(%x, %attn)
  %h2: f32[{B},{S},{D}] = rms_norm(%r1, %ln2_g) {{norm_dims=1, eps=1e-06}}
  %u: f32[{B},{S},{F}] = einsum(%h2, %w1) {{spec="bsd,df->bsf"}}
  %ub: f32[{B},{S},{F}] = add(%u, %b1)
  %a: f32[{B},{S},{F}] = gelu_tanh(%ub)
  %m: f32[{B},{S},{D}] = einsum(%a, %w2) {{spec="bsf,fd->bsd"}}
  %y: f32[{B},{S},{D}] = add(%r1, %m)
  %pooled: f32[{B},{D}] = reduce_mean(%y) {{axes=[1], keepdims=false}}
  output %y
  output %pooled
  output %p as probs
}}
"""


def layer_norm(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def rms_norm(x, g, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * g


def softmax(x, axis=-1):
    m = x.max(axis, keepdims=True)
    e = np.exp(x - m)
    return e / e.sum(axis, keepdims=True)


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


def main():
    rng = np.random.default_rng(1234)
    f32 = np.float32
    t = {
        "x": rng.standard_normal((B, S, D)).astype(f32),
        "mask": np.triu(np.full((S, S), -np.inf, dtype=f32), k=1),
        "ln1_g": (1 + 0.1 * rng.standard_normal(D)).astype(f32),
        "ln1_b": (0.1 * rng.standard_normal(D)).astype(f32),
        "wq": (rng.standard_normal((D, D)) / np.sqrt(D)).astype(f32),
        "wk": (rng.standard_normal((D, D)) / np.sqrt(D)).astype(f32),
        "wv": (rng.standard_normal((D, D)) / np.sqrt(D)).astype(f32),
        "wo": (rng.standard_normal((D, D)) / np.sqrt(D)).astype(f32),
        "ln2_g": (1 + 0.1 * rng.standard_normal(D)).astype(f32),
        "w1": (rng.standard_normal((D, F)) / np.sqrt(D)).astype(f32),
        "b1": (0.1 * rng.standard_normal(F)).astype(f32),
        "w2": (rng.standard_normal((F, D)) / np.sqrt(F)).astype(f32),
    }
    d = {k: v.astype(np.float64) for k, v in t.items()}
    h = layer_norm(d["x"], d["ln1_g"], d["ln1_b"], 1e-5)
    q = (h @ d["wq"]).reshape(B, S, H, HD) * np.float64(f32(1 / np.sqrt(HD)))
    k = (h @ d["wk"]).reshape(B, S, H, HD)
    v = (h @ d["wv"]).reshape(B, S, H, HD)
    scores = np.einsum("bqhd,bkhd->bhqk", q, k)
    p = softmax(scores + d["mask"])
    ctx = np.einsum("bhqk,bkhd->bqhd", p, v).reshape(B, S, D)
    r1 = d["x"] + ctx @ d["wo"]
    h2 = rms_norm(r1, d["ln2_g"], 1e-6)
    y = r1 + gelu_tanh(h2 @ d["w1"] + d["b1"]) @ d["w2"]
    expected = {"y": y, "pooled": y.mean(1), "probs": p}

    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "block.tlg"), "w") as f:
        f.write(GRAPH)
    for name, arr in t.items():
        np.save(os.path.join(OUT, f"block_in_{name}.npy"), arr)
    for name, arr in expected.items():
        np.save(os.path.join(OUT, f"block_out_{name}.npy"), arr.astype(f32))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
