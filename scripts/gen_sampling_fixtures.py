#!/usr/bin/env python3
"""Fixtures for the logit processors in src/models/sampling.cpp (tests/models/generate_sampling_test.cpp).

transformers 4.57.1's own RepetitionPenaltyLogitsProcessor, TemperatureLogitsWarper, TopKLogitsWarper,
TopPLogitsWarper and MinPLogitsWarper are applied, in the order GenerationMixin._get_logits_processor appends
them (repetition penalty; then, when sampling, temperature, top-k, top-p, min-p), to random logits. Each case
writes into tests/fixtures/sampling/:
  <case>.in.npy     [rows, vocab] f32 raw logits
  <case>.prev.npy   [rows, n] i64 earlier ids (the prompt and generated ids the repetition penalty sees)
  <case>.out.npy    [rows, vocab] f32 processed logits (-inf where a warper filtered the token)
  <case>.probs.npy  [rows, vocab] f32 softmax of the processed logits (what sampling draws from)
and cases.json lists every case with its parameters.
"""
import json
import os

import numpy as np
import torch
from transformers.generation import logits_process as lp

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "sampling")
VOCAB = 37  # small, odd, and smaller than some top_k values below


def processors(p):
    """The list transformers builds for these settings (min_tokens_to_keep as given; 1 for plain sampling)."""
    keep = p.get("min_keep", 1)
    out = []
    if p.get("repetition_penalty", 1.0) != 1.0:
        out.append(lp.RepetitionPenaltyLogitsProcessor(penalty=p["repetition_penalty"]))
    if p.get("greedy", False):
        return out
    if p.get("temperature", 1.0) != 1.0:
        out.append(lp.TemperatureLogitsWarper(p["temperature"]))
    if p.get("top_k", 0) != 0:
        out.append(lp.TopKLogitsWarper(top_k=p["top_k"], min_tokens_to_keep=keep))
    if p.get("top_p", 1.0) < 1.0:
        out.append(lp.TopPLogitsWarper(top_p=p["top_p"], min_tokens_to_keep=keep))
    if p.get("min_p", 0.0) > 0.0:
        out.append(lp.MinPLogitsWarper(min_p=p["min_p"], min_tokens_to_keep=keep))
    return out


CASES = [
    ("repetition", dict(repetition_penalty=1.3, greedy=True)),
    ("repetition_below_one", dict(repetition_penalty=0.7, greedy=True)),
    ("temperature", dict(temperature=0.7)),
    ("temperature_hot", dict(temperature=2.5)),
    ("top_k", dict(top_k=5)),
    ("top_k_ties", dict(top_k=4, ties=True)),
    ("top_k_over_vocab", dict(top_k=100)),
    ("top_k_min_keep", dict(top_k=2, min_keep=6)),
    ("top_p", dict(top_p=0.8)),
    ("top_p_small", dict(top_p=0.05)),
    ("top_p_one", dict(top_p=1.0)),
    ("top_p_min_keep", dict(top_p=0.05, min_keep=3)),
    ("min_p", dict(min_p=0.1)),
    ("min_p_min_keep", dict(min_p=0.9, min_keep=4)),
    ("combined", dict(repetition_penalty=1.2, temperature=0.8, top_k=20, top_p=0.9, min_p=0.05)),
    ("combined_hot", dict(repetition_penalty=1.1, temperature=1.7, top_k=30, top_p=0.95, min_p=0.02)),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261126)
    listing = []
    for name, p in CASES:
        rows = 3
        x = (rng.standard_normal((rows, VOCAB)) * 2.0).astype(np.float32)
        if p.get("ties"):
            # Row 0: the 4th and 5th largest tie (both kept); row 1: many equal values; row 2: all equal.
            s = np.sort(x[0])[::-1]
            x[0][x[0] == s[4]] = s[3]
            x[1][::3] = x[1].max()
            x[2][:] = 0.5
        prev = rng.integers(0, VOCAB, size=(rows, 9)).astype(np.int64)
        prev[:, 1] = prev[:, 0]  # a repeated id: penalised once, not twice
        scores = torch.from_numpy(x.copy())
        ids = torch.from_numpy(prev)
        for proc in processors(p):
            scores = proc(ids, scores)
        out = scores.numpy().astype(np.float32)
        probs = torch.softmax(scores, dim=-1).numpy().astype(np.float32)
        for suffix, arr in (("in", x), ("prev", prev), ("out", out), ("probs", probs)):
            np.save(os.path.join(OUT, f"{name}.{suffix}.npy"), np.ascontiguousarray(arr))
        q = {k: v for k, v in p.items() if k != "ties"}
        listing.append({"name": name, **q})
        kept = np.isfinite(out).sum(axis=1).tolist()
        print(f"  {name}: kept per row {kept}")
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(listing, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
