#!/usr/bin/env python3
"""Reference sliding-window perplexities for tests/models/perplexity_test.cpp, computed with transformers.

Reads the tiny random LLaMA and GPT-2 models of tests/fixtures/models/{llama,gpt2} (scripts/gen_model_fixtures.py)
and writes tests/fixtures/perplexity/reference.json:

  {"cases": [{"model": "llama", "ids": [...], "ctx": 32, "stride": 16,
              "windows": [{"begin", "end", "scored", "loss"}],   # loss = model(window, labels=...).loss
              "mean_nll", "perplexity",                          # exact mean over all scored tokens (float64)
              "guide_perplexity"}, ...]}                         # the HF guide's own weighting (see below)

The loop is the one of the Hugging Face guide "Perplexity of fixed-length models": windows of at most ctx
tokens every stride tokens, labels -100 on the tokens an earlier window already scored, so each token is
scored once. Per window, `loss` is transformers' own cross-entropy (ForCausalLMLoss, f32); mean_nll is the
sum of each window's per-token NLLs from log_softmax in float64 divided by the number of scored tokens (n - 1
when stride < ctx; with stride == ctx each window's first token has no context and is not scored). The guide
multiplies each window's loss by (valid labels - 1), which for a window after the first that overlaps the
previous one is one less than the count it averaged; guide_perplexity records that number for comparison.

Ids are deterministic (numpy default_rng(7)); the case list covers stride < ctx, stride == ctx, a stride that
does not divide the length (a short last window) and a single window holding the whole sequence.

Run: python3 scripts/gen_perplexity_fixtures.py   (transformers 4.57.1, torch 2.9.1)
"""
import json
import math
import os

import numpy as np
import torch
import transformers as tf

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "..", "tests", "fixtures", "models")
OUT = os.path.join(HERE, "..", "tests", "fixtures", "perplexity")

# (model dir, sequence length, [(ctx, stride), ...]); llama holds 128 positions, gpt2 64.
CASES = [
    ("llama", 101, [(32, 16), (32, 32), (40, 7), (128, 128), (2, 1)]),
    ("gpt2", 90, [(24, 10), (64, 48)]),
]


def sliding_window(model, ids, ctx, stride):
    n = ids.shape[1]
    windows, total, guide_sum, guide_n = [], 0.0, 0.0, 0
    prev_end = 0
    for begin in range(0, n, stride):
        end = min(begin + ctx, n)
        trg_len = end - prev_end
        x = ids[:, begin:end]
        labels = x.clone()
        labels[:, :-trg_len] = -100
        with torch.no_grad():
            out = model(input_ids=x, labels=labels)
        # Our own count and sum in float64: label t (not masked, not the window's first token, which the
        # label shift drops) is predicted by logits t - 1.
        logp = torch.log_softmax(out.logits[0].double(), dim=-1)  # [seq, vocab]
        first = max(prev_end, begin + 1) - begin
        tgt = x[0, first:]
        nll = -logp[first - 1 : end - begin - 1].gather(1, tgt[:, None]).squeeze(1)
        scored = int(tgt.numel())
        assert scored == int((labels[0, 1:] != -100).sum())
        assert abs(float(nll.mean()) - float(out.loss)) < 1e-5 * max(1.0, float(out.loss))
        windows.append(dict(begin=begin, end=end, scored=scored, loss=float(out.loss)))
        total += float(nll.sum())
        # The guide: nll_sum += loss * (valid - batch); n_tokens += valid - batch.
        valid = int((labels != -100).sum())
        guide_sum += float(out.loss) * (valid - 1)
        guide_n += valid - 1
        prev_end = end
        if end == n:
            break
    scored = sum(w["scored"] for w in windows)
    # Every token but the first is scored once, except each window's first token when no earlier window
    # reached it (stride == ctx): the label shift has nothing to predict it from.
    assert scored == n - 1 - sum(1 for w in windows[1:] if w["begin"] == windows[windows.index(w) - 1]["end"])
    mean = total / scored
    return dict(windows=windows, mean_nll=mean, perplexity=math.exp(mean),
                guide_perplexity=math.exp(guide_sum / guide_n))


def main():
    rng = np.random.default_rng(7)
    cases = []
    for name, n, settings in CASES:
        model = tf.AutoModelForCausalLM.from_pretrained(os.path.join(MODELS, name), dtype=torch.float32,
                                                        attn_implementation="eager")
        model.eval()
        ids = torch.tensor(rng.integers(0, model.config.vocab_size, size=(1, n)), dtype=torch.int64)
        for ctx, stride in settings:
            r = sliding_window(model, ids, ctx, stride)
            cases.append(dict(model=name, ids=ids[0].tolist(), ctx=ctx, stride=stride, **r))
            print(f"  {name} n={n} ctx={ctx} stride={stride}: {len(r['windows'])} windows, "
                  f"ppl {r['perplexity']:.6f} (guide's weighting {r['guide_perplexity']:.6f})")
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(dict(cases=cases), f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
