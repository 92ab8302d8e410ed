#!/usr/bin/env python3
"""Fixtures for issue 4's MoE / LoRA / presets work (tests/nn/{moe,lora,preset}_test.cpp).

  param_counts.json  parameter counts of every preset's Hugging Face class, built from a hand-written config
                     (the published config.json values; nothing is downloaded) on the meta device, so even
                     70B models cost no memory.
  moe_*.npy          MoE block outputs: transformers 4.57.1 MixtralSparseMoeBlock (tiny MixtralConfig) and
                     hand-written torch for Switch (top-1 + capacity), expert-choice and dense routing, plus
                     the Switch load-balancing loss.
  lora_*.npy         y = x W^T + (alpha/r) x A^T B^T.

Usage: python3 scripts/gen_moe_fixtures.py [--out tests/fixtures/moe] [--skip-counts]
"""
import argparse
import json
import os

import numpy as np
import torch
import transformers as tf


def count(model):
    return sum(p.numel() for p in model.parameters())  # parameters() yields tied weights once


def meta_count(cls, cfg):
    with torch.device("meta"):
        return count(cls(cfg))


def bert(d, layers, heads):
    return tf.BertModel, tf.BertConfig(hidden_size=d, num_hidden_layers=layers, num_attention_heads=heads,
                                       intermediate_size=4 * d)


def gpt2(d, layers, heads):
    return tf.GPT2LMHeadModel, tf.GPT2Config(n_embd=d, n_layer=layers, n_head=heads)


def llama(cls, cfgcls, d, layers, heads, kv, ff, **kw):
    return cls, cfgcls(hidden_size=d, num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv,
                       intermediate_size=ff, vocab_size=32000, **kw)


def t5(d, ff, layers, heads, dkv, v11):
    return tf.T5ForConditionalGeneration, tf.T5Config(
        d_model=d, d_ff=ff, num_layers=layers, num_heads=heads, d_kv=dkv, vocab_size=32128,
        feed_forward_proj="gated-gelu" if v11 else "relu", tie_word_embeddings=not v11)


def vit(d, layers, heads, patch):
    return tf.ViTModel, tf.ViTConfig(hidden_size=d, num_hidden_layers=layers, num_attention_heads=heads,
                                     intermediate_size=4 * d, patch_size=patch, image_size=224)


def switch(d, ff, layers, heads, experts):
    return tf.SwitchTransformersForConditionalGeneration, tf.SwitchTransformersConfig(
        d_model=d, d_ff=ff, num_layers=layers, num_decoder_layers=layers, num_heads=heads, d_kv=64,
        num_experts=experts, encoder_sparse_step=2, decoder_sparse_step=2, vocab_size=32128)


def preset_configs():
    c = {
        "bert-base": bert(768, 12, 12), "bert-large": bert(1024, 24, 16),
        "gpt2": gpt2(768, 12, 12), "gpt2-medium": gpt2(1024, 24, 16), "gpt2-large": gpt2(1280, 36, 20),
        "gpt2-xl": gpt2(1600, 48, 25),
        "llama-2-7b": llama(tf.LlamaForCausalLM, tf.LlamaConfig, 4096, 32, 32, 32, 11008),
        "llama-2-13b": llama(tf.LlamaForCausalLM, tf.LlamaConfig, 5120, 40, 40, 40, 13824),
        "llama-2-70b": llama(tf.LlamaForCausalLM, tf.LlamaConfig, 8192, 80, 64, 8, 28672),
        "mistral-7b": llama(tf.MistralForCausalLM, tf.MistralConfig, 4096, 32, 32, 8, 14336, sliding_window=4096),
        "mixtral-8x7b": llama(tf.MixtralForCausalLM, tf.MixtralConfig, 4096, 32, 32, 8, 14336,
                              num_local_experts=8, num_experts_per_tok=2),
        "falcon-40b": (tf.FalconForCausalLM, tf.FalconConfig(
            vocab_size=65024, hidden_size=8192, num_hidden_layers=60, num_attention_heads=128, num_kv_heads=8,
            new_decoder_architecture=True, parallel_attn=True, bias=False)),
        "t5-small": t5(512, 2048, 6, 8, 64, False), "t5-base": t5(768, 3072, 12, 12, 64, False),
        "t5-large": t5(1024, 4096, 24, 16, 64, False), "t5-3b": t5(1024, 16384, 24, 32, 128, False),
        "t5-11b": t5(1024, 65536, 24, 128, 128, False),
        "t5-v1_1-small": t5(512, 1024, 8, 6, 64, True), "t5-v1_1-base": t5(768, 2048, 12, 12, 64, True),
        "t5-v1_1-large": t5(1024, 2816, 24, 16, 64, True), "t5-v1_1-xl": t5(2048, 5120, 24, 32, 64, True),
        "t5-v1_1-xxl": t5(4096, 10240, 24, 64, 64, True),
        "vit-tiny": vit(192, 12, 3, 16), "vit-small": vit(384, 12, 6, 16), "vit-base": vit(768, 12, 12, 16),
        "vit-large": vit(1024, 24, 16, 16), "vit-huge": vit(1280, 32, 16, 14),
        "switch-base-8": switch(768, 3072, 12, 12, 8), "switch-base-128": switch(768, 3072, 12, 12, 128),
    }
    return c


def gen_counts(out):
    counts = {}
    for name, (cls, cfg) in preset_configs().items():
        counts[name] = meta_count(cls, cfg)
        print(f"{name:16s} {counts[name]:>16,d}")
    with open(os.path.join(out, "param_counts.json"), "w") as f:
        json.dump(counts, f, indent=1)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "moe"))
    ap.add_argument("--skip-counts", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(0)
    if not a.skip_counts:
        gen_counts(a.out)
    gen_moe(a.out)
    gen_lora(a.out)


def save(out, name, t):
    np.save(os.path.join(out, name + ".npy"), t.detach().to(torch.float32).numpy().astype(np.float32))


def act(name, x):
    return {"silu": torch.nn.functional.silu, "relu": torch.relu,
            "gelu_erf": lambda v: torch.nn.functional.gelu(v)}[name](x)


def expert_ffn(x, w1, w3, w2, a):
    h = act(a, x @ w1.T)
    if w3 is not None:
        h = h * (x @ w3.T)
    return h @ w2.T


def save_weights(out, case, gate, w1, w3, w2):
    save(out, case + "_gate", gate)
    save(out, case + "_w1", w1)  # [E, f, d]
    if w3 is not None:
        save(out, case + "_w3", w3)
    save(out, case + "_w2", w2)  # [E, d, f]


def gen_moe(out):
    from transformers.models.mixtral.modeling_mixtral import MixtralSparseMoeBlock
    torch.manual_seed(1)
    # 1. Mixtral top-2 from transformers itself.
    cfg = tf.MixtralConfig(hidden_size=16, intermediate_size=24, num_local_experts=4, num_experts_per_tok=2)
    blk = MixtralSparseMoeBlock(cfg).eval()
    for prm in blk.parameters():
        torch.nn.init.normal_(prm, std=0.3)
    x = torch.randn(2, 5, 16)
    with torch.no_grad():
        y, logits = blk(x)
    sd = blk.state_dict()
    E = 4
    w1 = torch.stack([sd[f"experts.{e}.w1.weight"] for e in range(E)])
    w3 = torch.stack([sd[f"experts.{e}.w3.weight"] for e in range(E)])
    w2 = torch.stack([sd[f"experts.{e}.w2.weight"] for e in range(E)])
    save(out, "mixtral_x", x)
    save_weights(out, "mixtral", sd["gate.weight"], w1, w3, w2)
    save(out, "mixtral_y", y.view(2, 5, 16))
    save(out, "mixtral_logits", logits.view(2, 5, 4))

    # 2. Switch top-1, capacity ceil(1.0 * 12 / 4) = 3, ReLU experts (w1 = wi, w2 = wo); the router is skewed
    #    towards expert 0 so tokens overflow and are dropped (output 0).
    T, d, f, E = 12, 8, 16, 4
    x = torch.randn(1, T, d)
    gate = torch.randn(E, d) * 0.5
    gate[0] += 0.6 * x[0].mean(0) / x[0].mean(0).norm()  # expert 0 popular
    w1, w2 = torch.randn(E, f, d) * 0.3, torch.randn(E, d, f) * 0.3
    probs = torch.softmax(x.view(T, d) @ gate.T, dim=-1)
    top = probs.argmax(-1)
    cap = 3
    y = torch.zeros(T, d)
    load = [0] * E
    for t in range(T):
        e = int(top[t])
        if load[e] < cap:
            y[t] = probs[t, e] * expert_ffn(x[0, t], w1[e], None, w2[e], "relu")
        load[e] += 1
    assert max(load) > cap, "the fixture must drop tokens"
    save(out, "switch_x", x)
    save_weights(out, "switch", gate, w1, None, w2)
    save(out, "switch_y", y.view(1, T, d))
    # Switch load-balancing loss: E * sum_i f_i P_i.
    fi = torch.nn.functional.one_hot(top, E).float().mean(0)
    Pi = probs.mean(0)
    save(out, "switch_aux", (E * (fi * Pi).sum()).reshape(()))
    with open(os.path.join(out, "switch_dropped.txt"), "w") as fh:
        fh.write(str(sum(max(0, l - cap) for l in load)) + "\n")

    # 3. Expert choice, capacity ceil(2.0 * 10 / 4) = 5 tokens per expert, gated SiLU experts.
    T, d, f, E = 10, 8, 12, 4
    x = torch.randn(T, d)
    gate, w1, w3, w2 = torch.randn(E, d) * 0.5, torch.randn(E, f, d) * 0.3, torch.randn(E, f, d) * 0.3, \
        torch.randn(E, d, f) * 0.3
    probs = torch.softmax(x @ gate.T, dim=-1)
    C = 5
    y = torch.zeros(T, d)
    for e in range(E):
        sel = torch.topk(probs[:, e], C).indices
        for t in sel.tolist():
            y[t] += probs[t, e] * expert_ffn(x[t], w1[e], w3[e], w2[e], "silu")
    save(out, "expert_choice_x", x)
    save_weights(out, "expert_choice", gate, w1, w3, w2)
    save(out, "expert_choice_y", y)

    # 4. Dense (soft) routing, GELU experts.
    T, d, f, E = 6, 8, 10, 3
    x = torch.randn(2, 3, d)
    gate, w1, w2 = torch.randn(E, d) * 0.5, torch.randn(E, f, d) * 0.3, torch.randn(E, d, f) * 0.3
    probs = torch.softmax(x @ gate.T, dim=-1)
    y = sum(probs[..., e:e + 1] * expert_ffn(x, w1[e], None, w2[e], "gelu_erf") for e in range(E))
    save(out, "dense_x", x)
    save_weights(out, "dense", gate, w1, None, w2)
    save(out, "dense_y", y)


def gen_lora(out):
    torch.manual_seed(2)
    d_in, d_out, r, alpha = 10, 6, 2, 4.0
    x = torch.randn(3, 4, d_in)
    W, b = torch.randn(d_out, d_in), torch.randn(d_out)
    A, B = torch.randn(r, d_in), torch.randn(d_out, r)
    y = x @ W.T + b + (alpha / r) * (x @ A.T) @ B.T
    for n, t in {"x": x, "W": W, "b": b, "A": A, "B": B, "y": y}.items():
        save(out, "lora_" + n, t)


if __name__ == "__main__":
    main()
