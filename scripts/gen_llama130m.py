#!/usr/bin/env python3
"""Randomly initialised LLaMA models of the issue-6 benchmark shape, saved as Hugging Face directories.

  d_model 768, 12 layers, 12 heads (head_dim 64), SwiGLU FFN 2048, vocab 32000, untied LM head, f32
  llama130m       12 KV heads (MHA)        134.1M parameters
  llama130m-gqa4   4 KV heads (GQA, 3 query heads per KV head)

Each directory holds config.json + model.safetensors (transformers 4.57.1 save_pretrained, one f32 shard) and
is what `tlt bench`, transformers, and scripts/gguf_from_hf.py (llama.cpp) all read, so every engine runs the
same weights. The weights are transformers' own initialisation (normal, std 0.02) under torch.manual_seed(seed):
deterministic for a given torch version. The files are ~540 MB each, so they live under build/ and are never
committed; an existing directory with the same config is kept (the script is cheap to re-run).

usage: python3 scripts/gen_llama130m.py [--out build/bench-models] [--seed 0] [--only mha|gqa4]
"""
import argparse
import json
import os
import sys


def config_dict(kv_heads):
    return dict(
        architectures=["LlamaForCausalLM"],
        model_type="llama",
        vocab_size=32000,
        hidden_size=768,
        intermediate_size=2048,
        num_hidden_layers=12,
        num_attention_heads=12,
        num_key_value_heads=kv_heads,
        head_dim=64,
        hidden_act="silu",
        max_position_embeddings=2048,
        rms_norm_eps=1e-5,
        rope_theta=10000.0,
        tie_word_embeddings=False,
        attention_bias=False,
        mlp_bias=False,
        bos_token_id=1,
        eos_token_id=2,
        initializer_range=0.02,
    )


VARIANTS = {"mha": ("llama130m", 12), "gqa4": ("llama130m-gqa4", 4)}


def make(out_dir, name, kv_heads, seed):
    path = os.path.join(out_dir, name)
    want = config_dict(kv_heads)
    cfg_path = os.path.join(path, "config.json")
    if os.path.exists(os.path.join(path, "model.safetensors")) and os.path.exists(cfg_path):
        with open(cfg_path) as f:
            have = json.load(f)
        if all(have.get(k) == v for k, v in want.items() if k != "architectures"):
            print(f"[gen_llama130m] {path}: exists, kept")
            return path
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(**{k: v for k, v in want.items() if k != "architectures"})
    cfg.architectures = want["architectures"]
    model = LlamaForCausalLM(cfg).float().eval()
    n = sum(p.numel() for p in model.parameters())
    model.save_pretrained(path, safe_serialization=True, max_shard_size="4GB")
    print(f"[gen_llama130m] {path}: {n / 1e6:.1f}M parameters, {kv_heads} KV heads, seed {seed}")
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--out", default=os.path.join(here, "build", "bench-models"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", choices=sorted(VARIANTS), default=None)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for key, (name, kv) in VARIANTS.items():
        if a.only and key != a.only:
            continue
        make(a.out, name, kv, a.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
