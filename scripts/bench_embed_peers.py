#!/usr/bin/env python3
"""Peer side of scripts/bench_embed.sh: sentence-transformers encode() timings and the shared inputs.

    bench_embed_peers.py make MODEL N TOKENS OUT.txt   # N texts that tokenize to exactly TOKENS ids each
    bench_embed_peers.py time MODEL TEXTS.txt REPEATS OURS.npy
        # best / median encode() wall time with torch on 2 threads (one JSON line), and the worst cosine
        # distance between its embeddings and OURS.npy (tlt embed's output for the same texts)
"""
import json
import sys
import time

import numpy as np
import torch
from sentence_transformers import SentenceTransformer

WORDS = ("the model reads each sentence and maps it to one vector so that similar meanings end up close "
         "together while unrelated texts point elsewhere in the space of embeddings").split()


def make(model, n, tokens, out):
    st = SentenceTransformer(model, device="cpu")
    tok = st.tokenizer
    lines = []
    for i in range(n):
        words, k = [], i
        while len(tok(" ".join(words))["input_ids"]) < tokens:
            words.append(WORDS[k % len(WORDS)])
            k += 7
        while len(tok(" ".join(words))["input_ids"]) > tokens:
            words.pop()
        # Pad a short one with single-token words until it is exact.
        while len(tok(" ".join(words))["input_ids"]) < tokens:
            words.append("a")
        lines.append(" ".join(words))
    assert all(len(tok(s)["input_ids"]) == tokens for s in lines)
    open(out, "w").write("\n".join(lines) + "\n")


def time_peer(model, texts_path, repeats, ours):
    torch.set_num_threads(2)
    texts = [l for l in open(texts_path).read().split("\n") if l]
    st = SentenceTransformer(model, device="cpu")
    st.encode(texts[:2], batch_size=32)  # warm-up
    ms = []
    with torch.inference_mode():
        for _ in range(repeats):
            t0 = time.perf_counter()
            emb = st.encode(texts, batch_size=32, convert_to_numpy=True)
            ms.append((time.perf_counter() - t0) * 1e3)
    ms.sort()
    a = np.load(ours).astype(np.float64)
    b = emb.astype(np.float64)
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    print(json.dumps({"best_ms": ms[0], "median_ms": ms[len(ms) // 2], "runs": repeats,
                      "worst_cosine_distance": float((1 - cos).max()), "torch_threads": torch.get_num_threads()}))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    else:
        time_peer(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
