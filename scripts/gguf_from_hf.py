#!/usr/bin/env python3
"""Writes a Hugging Face LLaMA directory (config.json + model.safetensors) as GGUF files for llama.cpp.

Our own writer (gguf 0.19.0's GGUFWriter and quantiser), so the peer runs exactly the weights we run:
  - llama.cpp's tensor names: token_embd, blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm,
    ffn_gate, ffn_up, ffn_down}, output_norm, output;
  - the Q/K row permutation llama.cpp expects: HF stores each head's rotary pairs as two halves (rotate_half),
    llama.cpp's RoPE pairs adjacent rows, so rows (head, half, i) are reordered to (head, i, half), with the
    KV-head count for K;
  - a placeholder SentencePiece vocabulary of vocab_size entries (<unk>, <s>, </s>, the 256 byte tokens, then
    "t<i>"): the model has no real tokenizer, and the benchmark feeds token ids;
  - types: f32 (everything F32), f16 / bf16 / q8_0 / q4_0 / q4_1 (every 2-D weight in that type, token_embd
    included; norms F32) — the layouts llama.cpp's converter writes for --outtype f32/f16/bf16/q8_0; for q4_0/q4_1
    output.weight is Q8_0, as our Model::quantize keeps the LM head of 4-bit models (llama-quantize would pick
    Q6_K), so both engines run the same weights.
Check: scripts/bench_models_peers.py --check compares llama.cpp's logits on these files with transformers'.

usage: python3 scripts/gguf_from_hf.py MODEL_DIR [--types f32,f16,bf16,q8_0,q4_0,q4_1] [--out DIR]   (default out: MODEL_DIR)
"""
import argparse
import json
import os
import sys

import numpy as np


def permute_rows(w, n_head):
    """HF's q/k rows (head, 2, hd/2) -> llama.cpp's (head, hd/2, 2)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def gguf_name(hf):
    if hf == "model.embed_tokens.weight":
        return "token_embd.weight"
    if hf == "model.norm.weight":
        return "output_norm.weight"
    if hf == "lm_head.weight":
        return "output.weight"
    parts = hf.split(".")  # model.layers.<i>.<module>.<proj>.weight
    if len(parts) < 5 or parts[0] != "model" or parts[1] != "layers":
        raise ValueError(f"unexpected LLaMA tensor name {hf!r}")
    i, rest = parts[2], ".".join(parts[3:])
    table = {
        "input_layernorm.weight": "attn_norm.weight",
        "post_attention_layernorm.weight": "ffn_norm.weight",
        "self_attn.q_proj.weight": "attn_q.weight",
        "self_attn.k_proj.weight": "attn_k.weight",
        "self_attn.v_proj.weight": "attn_v.weight",
        "self_attn.o_proj.weight": "attn_output.weight",
        "mlp.gate_proj.weight": "ffn_gate.weight",
        "mlp.up_proj.weight": "ffn_up.weight",
        "mlp.down_proj.weight": "ffn_down.weight",
    }
    if rest not in table:
        raise ValueError(f"unexpected LLaMA tensor name {hf!r}")
    return f"blk.{i}.{table[rest]}"


def write(model_dir, out_path, qtype):
    import gguf
    from safetensors.numpy import load_file

    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    if cfg.get("model_type") != "llama":
        raise ValueError(f"{model_dir}: model_type {cfg.get('model_type')!r}, expected 'llama'")
    n_head = cfg["num_attention_heads"]
    n_kv = cfg.get("num_key_value_heads", n_head)
    d = cfg["hidden_size"]
    head_dim = cfg.get("head_dim", d // n_head)
    vocab = cfg["vocab_size"]
    tensors = load_file(os.path.join(model_dir, "model.safetensors"))

    ftype = {"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16,
             "bf16": gguf.LlamaFileType.MOSTLY_BF16, "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0,
             "q4_0": gguf.LlamaFileType.MOSTLY_Q4_0, "q4_1": gguf.LlamaFileType.MOSTLY_Q4_1}[qtype]
    w = gguf.GGUFWriter(out_path, "llama")
    w.add_name(os.path.basename(os.path.normpath(model_dir)))
    w.add_context_length(cfg.get("max_position_embeddings", 2048))
    w.add_embedding_length(d)
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_rope_dimension_count(head_dim)
    w.add_rope_freq_base(float(cfg.get("rope_theta", 10000.0)))
    w.add_layer_norm_rms_eps(float(cfg.get("rms_norm_eps", 1e-6)))
    w.add_vocab_size(vocab)
    w.add_file_type(ftype)
    if head_dim != d // n_head:
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)

    toks = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    toks += [f"t{i}" for i in range(len(toks), vocab)]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL] + [gguf.TokenType.BYTE] * 256
    types += [gguf.TokenType.NORMAL] * (vocab - len(types))
    w.add_tokenizer_model("llama")
    w.add_token_list(toks[:vocab])
    w.add_token_scores([0.0] * vocab)
    w.add_token_types(types[:vocab])
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)

    for name in sorted(tensors):
        t = tensors[name].astype(np.float32)
        if name.endswith("q_proj.weight"):
            t = permute_rows(t, n_head)
        elif name.endswith("k_proj.weight"):
            t = permute_rows(t, n_kv)
        t = np.ascontiguousarray(t)
        gname = gguf_name(name)
        if t.ndim == 1 or qtype == "f32":
            w.add_tensor(gname, t)
        elif qtype == "f16":
            w.add_tensor(gname, t.astype(np.float16))
        else:
            gt = {"bf16": gguf.GGMLQuantizationType.BF16, "q8_0": gguf.GGMLQuantizationType.Q8_0,
                  "q4_0": gguf.GGMLQuantizationType.Q4_0, "q4_1": gguf.GGMLQuantizationType.Q4_1}[qtype]
            if gname == "output.weight" and qtype in ("q4_0", "q4_1"):
                gt = gguf.GGMLQuantizationType.Q8_0
            w.add_tensor(gname, gguf.quants.quantize(t, gt), raw_dtype=gt)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("--types", default="f32,f16,q8_0")
    ap.add_argument("--out", default=None)
    ap.add_argument("--force", action="store_true", help="rewrite files that exist")
    a = ap.parse_args()
    out = a.out or a.model_dir
    os.makedirs(out, exist_ok=True)
    src = os.path.join(a.model_dir, "model.safetensors")
    for qt in a.types.split(","):
        path = os.path.join(out, f"model-{qt}.gguf")
        if not a.force and os.path.exists(path) and os.path.getmtime(path) >= os.path.getmtime(src):
            print(f"[gguf_from_hf] {path}: up to date")
            continue
        write(a.model_dir, path + ".tmp", qt)
        os.replace(path + ".tmp", path)
        print(f"[gguf_from_hf] {path}: {os.path.getsize(path) / 1e6:.1f} MB ({qt})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
