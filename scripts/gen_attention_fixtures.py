#!/usr/bin/env python3
"""Fixtures for attention (tests/kernels/attention_test.cpp, tests/nn/attention_test.cpp).

SDPA cases: torch.nn.functional.scaled_dot_product_attention in float64 on float32 inputs, with every mask
(causal with queries at positions sk - sq + i, sliding window, strided / local / global+local / block-sparse
patterns, padding, additive bias) built densely in torch as an additive 0/-inf float mask. Outputs are
stored as float32. GQA/MQA: k/v heads repeated with repeat_interleave (Hugging Face's repeat_kv).

Module cases: a hand-written torch MHA/GQA module whose parameters carry the names the C++ builder uses
(q_proj, k_proj, v_proj, o_proj, .weight [out, in], .bias [out]).

Small (well under 100 KB). Run from the repo root: python3 scripts/gen_attention_fixtures.py"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "attention")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(20261126)
manifest = {"sdpa": [], "module": []}


def save(name, a):
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(a))


def rand(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def visible(p, j, causal, window, pat):
    d = p - j
    if causal and d < 0:
        return False
    if window > 0 and (d >= window or (not causal and -d >= window)):
        return False
    kind = pat.get("pattern", "none")
    s = pat.get("span", 0)
    if kind == "none":
        return True
    if kind == "strided":
        return abs(d) < s or d % s == 0
    if kind == "local":
        return p // s == j // s
    if kind == "global_local":
        g = pat["n_global"]
        return j < g or p < g or abs(d) < s
    if kind == "block_sparse":
        bq, bk, lay = pat["block_q"], pat["block_k"], pat["layout"]
        cols = -(-pat["sk"] // bk)
        return lay[(p // bq) * cols + j // bk] != 0
    raise ValueError(kind)


def dense_mask(sq, sk, causal, window, pat):
    m = torch.zeros(sq, sk, dtype=torch.float64)
    for i in range(sq):
        for j in range(sk):
            if not visible(sk - sq + i, j, causal, window, pat):
                m[i, j] = -math.inf
    return m


def sdpa_case(name, b, h, hkv, sq, sk, d, dv, causal=False, window=0, pat=None, bias_shape=None,
              pad=None, scale=None):
    pat = dict(pat or {})
    pat["sk"] = sk
    q, k, v = rand(b, h, sq, d), rand(b, hkv, sk, d), rand(b, hkv, sk, dv)
    qt, kt, vt = (torch.from_numpy(x).double() for x in (q, k, v))
    g = h // hkv
    kt, vt = kt.repeat_interleave(g, dim=1), vt.repeat_interleave(g, dim=1)
    mask = dense_mask(sq, sk, causal, window, pat)[None, None]  # [1, 1, sq, sk]
    bias = None
    if bias_shape is not None:
        bias = rand(*bias_shape)
        # Hide some keys outright through the bias too.
        bias[..., :, sk // 3] = -np.inf
        mask = mask + torch.from_numpy(bias).double()
    if pad is not None:  # keys at or past pad[b] are padding in batch row b
        pb = np.zeros((b, 1, 1, sk), np.float32)
        for bi, n in enumerate(pad):
            pb[bi, ..., n:] = -np.inf
        bias = pb if bias is None else None
        mask = mask + torch.from_numpy(pb).double()
    mask = mask.expand(b, h, sq, sk)
    hidden = torch.isinf(mask).all(-1, keepdim=True)  # rows with every key hidden: zeros by our convention
    safe = mask.masked_fill(hidden, 0.0)
    y = F.scaled_dot_product_attention(qt, kt, vt, attn_mask=safe, scale=scale)
    y = y.masked_fill(hidden, 0.0)
    save(name + "_q", q)
    save(name + "_k", k)
    save(name + "_v", v)
    if bias is not None:
        save(name + "_bias", bias)
    save(name + "_out", y.float().numpy())
    entry = {"name": name, "causal": causal, "window": window, "bias": bias is not None,
             "scale": scale if scale is not None else 1.0 / math.sqrt(d)}
    for key in ("pattern", "span", "n_global", "block_q", "block_k", "layout"):
        if key in pat:
            entry[key] = pat[key]
    manifest["sdpa"].append(entry)


sdpa_case("basic", 2, 5, 5, 7, 7, 4, 4)
sdpa_case("causal_gqa", 1, 6, 2, 13, 13, 8, 8, causal=True)
sdpa_case("mqa_dv", 2, 4, 1, 7, 7, 5, 3, causal=True)
sdpa_case("bias_offset", 2, 3, 3, 7, 13, 5, 5, bias_shape=(2, 1, 7, 13), causal=True)
sdpa_case("bias_full", 1, 2, 1, 5, 9, 4, 4, bias_shape=(1, 2, 5, 9), scale=0.3)
sdpa_case("padding", 2, 5, 5, 7, 7, 4, 4, pad=[7, 4])
sdpa_case("window_causal", 1, 2, 2, 13, 13, 6, 6, causal=True, window=4)
sdpa_case("window_both", 1, 2, 1, 13, 13, 6, 6, window=3)
sdpa_case("decode", 2, 4, 2, 1, 13, 8, 8, causal=True)
sdpa_case("strided", 1, 2, 2, 13, 13, 4, 4, causal=True, pat={"pattern": "strided", "span": 3})
sdpa_case("local", 1, 2, 2, 13, 13, 4, 4, pat={"pattern": "local", "span": 4})
sdpa_case("global_local", 1, 2, 2, 13, 13, 4, 4, pat={"pattern": "global_local", "span": 2, "n_global": 2})
layout = [int(x) for x in (rng.uniform(size=16) < 0.5)]
layout[0] = 1
sdpa_case("block_sparse", 1, 2, 2, 13, 13, 4, 4, causal=True,
          pat={"pattern": "block_sparse", "block_q": 4, "block_k": 4, "layout": layout})
# A row with every key hidden (window 1 + a bias that hides the diagonal for query 0).
sdpa_case("hidden_row", 1, 1, 1, 5, 5, 4, 4, bias_shape=(1, 1, 5, 5), causal=True, window=1)


# ---- Module: hand-written MHA/GQA with Hugging Face names ----
class Attn(torch.nn.Module):
    def __init__(self, d, h, hkv, hd, kv_in, qb, kb, vb, ob):
        super().__init__()
        self.h, self.hkv, self.hd = h, hkv, hd
        self.q_proj = torch.nn.Linear(d, h * hd, bias=qb)
        self.k_proj = torch.nn.Linear(kv_in, hkv * hd, bias=kb)
        self.v_proj = torch.nn.Linear(kv_in, hkv * hd, bias=vb)
        self.o_proj = torch.nn.Linear(h * hd, d, bias=ob)

    def forward(self, x, src, mask):
        b, sq, _ = x.shape
        sk = src.shape[1]
        q = self.q_proj(x).view(b, sq, self.h, self.hd).transpose(1, 2)
        k = self.k_proj(src).view(b, sk, self.hkv, self.hd).transpose(1, 2)
        v = self.v_proj(src).view(b, sk, self.hkv, self.hd).transpose(1, 2)
        g = self.h // self.hkv
        k, v = k.repeat_interleave(g, 1), v.repeat_interleave(g, 1)
        s = q @ k.transpose(-1, -2) / math.sqrt(self.hd) + mask
        w = torch.softmax(s, -1)
        y = (w @ v).transpose(1, 2).reshape(b, sq, self.h * self.hd)
        return self.o_proj(y), w


def module_case(name, b, sq, d, h, hkv, hd=0, kv_in=0, sk=0, bias=(True, True, True, True), causal=False,
                pad=None):
    hd = hd or d // h
    kv_in = kv_in or d
    cross = sk > 0
    sk = sk or sq
    torch.manual_seed(len(manifest["module"]) + 7)
    m = Attn(d, h, hkv, hd, kv_in, *bias).double()
    x = rand(b, sq, d)
    src = rand(b, sk, kv_in) if cross else x
    mask = dense_mask(sq, sk, causal, 0, {"sk": sk})[None, None].expand(b, 1, sq, sk).clone()
    if pad is not None:
        keep = np.ones((b, sk), np.float32)
        for bi, n in enumerate(pad):
            keep[bi, n:] = 0
            mask[bi, ..., n:] = -math.inf
        save(name + "_keep", keep)
    with torch.no_grad():
        for p in m.parameters():  # round to float32 so C++ sees the same weights
            p.copy_(p.float().double())
        y, w = m(torch.from_numpy(x).double(), torch.from_numpy(src).double(), mask)
    save(name + "_x", x)
    if cross:
        save(name + "_src", src)
    for pn, p in m.named_parameters():
        save(name + "__" + pn, p.detach().float().numpy())
    save(name + "_out", y.float().numpy())
    save(name + "_weights", w.float().numpy())
    manifest["module"].append({"name": name, "d_model": d, "n_heads": h, "n_kv_heads": hkv, "head_dim": hd,
                               "kv_in": kv_in, "bias": list(bias), "causal": causal, "cross": cross,
                               "pad": pad is not None,
                               "params": [pn for pn, _ in m.named_parameters()]})


module_case("mha_pad", 2, 7, 20, 5, 5, pad=[7, 5])
module_case("mqa_causal", 2, 7, 20, 5, 1, bias=(True, True, True, False), causal=True)
module_case("gqa_nobias", 1, 13, 24, 6, 2, bias=(False, False, False, False), causal=True)
module_case("cross_hd", 2, 7, 20, 4, 2, hd=6, kv_in=12, sk=9)

with open(os.path.join(OUT, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1)
print("wrote", len(os.listdir(OUT)), "files to", OUT)
