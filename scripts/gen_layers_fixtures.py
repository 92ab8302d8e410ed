#!/usr/bin/env python3
"""Fixtures for the transformer components (tests/nn/{ffn,norm,position,layer,vit}_test.cpp).

Each case is a folder tests/fixtures/nn_layers/<case>/ of .npy files: inputs ("x", "memory", ...), parameters
under the names our builders give them (PyTorch / Hugging Face layouts) and the reference outputs
("expected*"). References are PyTorch 2.9.1 modules and transformers 4.57.1 functions in float32 (the dtype the
C++ side runs in), seeded. Sizes are small and odd. Run from the repo root: python3 scripts/gen_layers_fixtures.py
"""
import math
import os
import shutil

import numpy as np
import torch
import transformers
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

assert torch.__version__.startswith("2.9.1"), torch.__version__
assert transformers.__version__ == "4.57.1", transformers.__version__

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "nn_layers")
torch.manual_seed(20261126)
torch.set_num_threads(1)


def save_case(case, tensors):
    d = os.path.join(OUT, case)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    for name, t in tensors.items():
        a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
        if a.dtype == np.float64:
            a = a.astype(np.float32)
        np.save(os.path.join(d, name + ".npy"), np.ascontiguousarray(a))


def params_of(module, prefix):
    return {(prefix + "." + k if prefix else k): v for k, v in module.state_dict().items()}


def randn(*shape):
    return torch.randn(*shape, dtype=torch.float32)


# ---- FFN ------------------------------------------------------------------------------------------------------
class PlainFfn(torch.nn.Module):
    def __init__(self, d, ff, act, bias):
        super().__init__()
        self.fc1 = torch.nn.Linear(d, ff, bias=bias)
        self.fc2 = torch.nn.Linear(ff, d, bias=bias)
        self.act = act

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


def gen_ffn():
    d, ff = 13, 22
    acts = {
        "relu": torch.relu,
        "gelu_erf": lambda t: torch.nn.functional.gelu(t, approximate="none"),
        "gelu_tanh": lambda t: torch.nn.functional.gelu(t, approximate="tanh"),
        "silu": torch.nn.functional.silu,
    }
    for name, act in acts.items():
        for bias in (True, False):
            m = PlainFfn(d, ff, act, bias)
            x = randn(2, 5, d)
            with torch.no_grad():
                y = m(x)
            save_case(f"ffn_{name}_{'bias' if bias else 'nobias'}", {"x": x, "expected": y, **params_of(m, "mlp")})
    # LLaMA SwiGLU: transformers' LlamaMLP.
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaMLP
    m = LlamaMLP(LlamaConfig(hidden_size=d, intermediate_size=ff, hidden_act="silu", mlp_bias=False))
    x = randn(3, 4, d)
    with torch.no_grad():
        save_case("ffn_llama_swiglu", {"x": x, "expected": m(x), **params_of(m, "mlp")})
    # T5 v1.1 GeGLU: transformers' T5DenseGatedActDense (gelu_new = tanh GELU), and T5 v1.0 ReLU.
    from transformers import T5Config
    from transformers.models.t5.modeling_t5 import T5DenseActDense, T5DenseGatedActDense
    m = T5DenseGatedActDense(T5Config(d_model=d, d_ff=ff, feed_forward_proj="gated-gelu", dropout_rate=0.0)).eval()
    x = randn(2, 7, d)
    with torch.no_grad():
        save_case("ffn_t5_geglu", {"x": x, "expected": m(x), **params_of(m, "DenseReluDense")})
    m = T5DenseActDense(T5Config(d_model=d, d_ff=ff, feed_forward_proj="relu", dropout_rate=0.0)).eval()
    with torch.no_grad():
        save_case("ffn_t5_relu", {"x": x, "expected": m(x), **params_of(m, "DenseReluDense")})
    # ReGLU with biases (no HF class; the GLU paper's definition): down(relu(gate x) * up x).
    gate, up, down = torch.nn.Linear(d, ff), torch.nn.Linear(d, ff), torch.nn.Linear(ff, d)
    with torch.no_grad():
        y = down(torch.relu(gate(x)) * up(x))
    p = {**params_of(gate, "mlp.gate_proj"), **params_of(up, "mlp.up_proj"), **params_of(down, "mlp.down_proj")}
    save_case("ffn_reglu_bias", {"x": x, "expected": y, **p})


# ---- norms ----------------------------------------------------------------------------------------------------
def gen_norm():
    d = 19
    x = randn(2, 3, d) * 3 + 1
    cases = {
        "norm_ln_affine": (torch.nn.LayerNorm(d, eps=1e-5), "ln"),
        "norm_ln_eps3": (torch.nn.LayerNorm(d, eps=1e-3), "ln"),
        "norm_ln_nobias": (torch.nn.LayerNorm(d, eps=1e-5, bias=False), "ln"),
        "norm_ln_plain": (torch.nn.LayerNorm(d, eps=1e-5, elementwise_affine=False), "ln"),
        "norm_rms_plain": (torch.nn.RMSNorm(d, eps=1e-6, elementwise_affine=False), "rms"),
    }
    from transformers.models.llama.modeling_llama import LlamaRMSNorm
    from transformers.models.t5.modeling_t5 import T5LayerNorm
    cases["norm_rms_llama"] = (LlamaRMSNorm(d, eps=1e-6), "rms")
    cases["norm_rms_t5"] = (T5LayerNorm(d, eps=1e-6), "rms")
    for case, (m, prefix) in cases.items():
        with torch.no_grad():
            for p in m.parameters():
                p.copy_(randn(*p.shape))
            save_case(case, {"x": x, "expected": m(x), **params_of(m, prefix)})


# ---- positions ------------------------------------------------------------------------------------------------
def gen_sinusoidal():
    from transformers.models.distilbert.modeling_distilbert import create_sinusoidal_embeddings
    for n, dim in ((37, 16), (23, 15)):
        out = torch.empty(n, dim)
        create_sinusoidal_embeddings(n, dim, out)
        save_case(f"pos_sinusoidal_{n}x{dim}", {"expected": out})


def gen_t5_buckets():
    from transformers.models.t5.modeling_t5 import T5Attention
    rel = torch.arange(-300, 301)
    t = {"relative_position": rel}
    for nb, md in ((32, 128), (10, 20), (8, 9), (33, 64)):
        for bi in (True, False):
            if bi and nb % 2:
                continue
            t[f"b{nb}_d{md}_{'bi' if bi else 'causal'}"] = T5Attention._relative_position_bucket(rel, bi, nb, md)
    save_case("pos_t5_buckets", t)
    # compute_bias of a real T5Attention: encoder (bidirectional) and decoder (causal) with a cache offset.
    from transformers import T5Config
    for is_dec, q, k, off in ((False, 7, 7, 0), (True, 5, 9, 4), (True, 1, 41, 40)):
        cfg = T5Config(d_model=12, num_heads=3, d_kv=4, relative_attention_num_buckets=16,
                       relative_attention_max_distance=20, is_decoder=is_dec)
        a = T5Attention(cfg, has_relative_attention_bias=True)
        with torch.no_grad():
            a.relative_attention_bias.weight.copy_(randn(16, 3))
            bias = a.compute_bias(q, k, cache_position=torch.arange(off, off + q))
        save_case(f"pos_t5_bias_{'dec' if is_dec else 'enc'}_q{q}_k{k}",
                  {"expected": bias, **params_of(a.relative_attention_bias, "rel")})


class RopeCfg:
    """The attributes HF's rope init functions read from a model config."""

    def __init__(self, head_dim, theta, max_pos, rope_scaling=None, partial=1.0):
        self.rope_theta = theta
        self.head_dim = head_dim
        self.hidden_size = head_dim * 2
        self.num_attention_heads = 2
        self.max_position_embeddings = max_pos
        self.rope_scaling = rope_scaling
        self.partial_rotary_factor = partial


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def gen_rope():
    # (case, head_dim, theta, max_pos, rope_type, rope_scaling, partial, seq, offset)
    cases = [
        ("default", 16, 10000.0, 64, "default", None, 1.0, 7, 0),
        ("default_offset", 10, 500000.0, 64, "default", None, 1.0, 5, 9),
        ("partial", 12, 10000.0, 64, "default", None, 0.5, 6, 2),
        ("linear", 16, 10000.0, 64, "linear", {"rope_type": "linear", "factor": 2.5}, 1.0, 7, 3),
        ("dynamic", 16, 10000.0, 8, "dynamic", {"rope_type": "dynamic", "factor": 2.0}, 1.0, 9, 4),
        ("yarn", 16, 10000.0, 64, "yarn",
         {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 16}, 1.0, 7, 5),
        ("yarn_mscale", 14, 10000.0, 64, "yarn",
         {"rope_type": "yarn", "factor": 8.0, "original_max_position_embeddings": 32, "mscale": 0.707,
          "mscale_all_dim": 1.0, "beta_fast": 16.0, "beta_slow": 2.0, "truncate": False}, 1.0, 5, 1),
        ("llama3", 16, 500000.0, 64, "llama3",
         {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
          "original_max_position_embeddings": 32}, 1.0, 6, 2),
    ]
    for name, hd, theta, max_pos, rtype, scaling, partial, seq, off in cases:
        cfg = RopeCfg(hd, theta, max_pos, scaling, partial)
        seq_len = off + seq if rtype == "dynamic" else None
        inv_freq, att = ROPE_INIT_FUNCTIONS[rtype](cfg, "cpu", seq_len) if seq_len else ROPE_INIT_FUNCTIONS[rtype](cfg, "cpu")
        rot = inv_freq.shape[0] * 2
        # LlamaRotaryEmbedding.forward in f32: freqs = inv_freq x positions, emb = cat(freqs, freqs).
        pos = torch.arange(off, off + seq, dtype=torch.float32)
        freqs = (inv_freq[None, :, None].float() @ pos[None, None, :]).transpose(1, 2)[0]  # [s, rot/2]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos() * att, emb.sin() * att
        x = randn(2, 3, seq, hd)
        xr, xp = x[..., :rot], x[..., rot:]
        y = torch.cat((xr * cos + rotate_half(xr) * sin, xp), dim=-1)  # NeoX partial rotary / LLaMA
        save_case(f"rope_{name}", {"x": x, "expected": y, "inv_freq": inv_freq,
                                   "attention_scaling": np.array([att], np.float32), "cos": cos[:, : rot // 2]})
    # GPT-J interleaved (rotate_every_two), full and partial rotary.
    from transformers.models.gptj.modeling_gptj import apply_rotary_pos_emb, create_sinusoidal_positions
    for name, hd, rot, seq, off in (("gptj", 8, 8, 6, 0), ("gptj_partial", 12, 6, 5, 3)):
        sincos = create_sinusoidal_positions(64, rot)[off: off + seq]  # [s, rot]
        sin, cos = torch.split(sincos, sincos.shape[-1] // 2, dim=-1)
        x = randn(2, 3, seq, hd)  # [b, h, s, hd]; GPT-J's function wants [b, s, h, hd]
        xs = x.transpose(1, 2)
        xr = apply_rotary_pos_emb(xs[..., :rot], sin[None], cos[None])
        y = torch.cat((xr, xs[..., rot:]), dim=-1).transpose(1, 2)
        save_case(f"rope_{name}", {"x": x, "expected": y})


def gen_alibi():
    from transformers.models.bloom.modeling_bloom import build_alibi_tensor
    mask = torch.tensor([[1, 1, 1, 1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 0, 1, 1, 1]])
    t = {"mask": mask.to(torch.int64)}
    for h in (1, 2, 3, 5, 6, 8, 12, 16, 20, 30, 64, 100):
        t[f"h{h}"] = build_alibi_tensor(mask, h, torch.float32)
    save_case("pos_alibi", t)


# ---- layers and stacks: torch.nn.Transformer* with the packed in_proj split into q/k/v_proj ---------------------
def torch_names(sd, prefix=""):
    out = {}
    for k, v in sd.items():
        for attn in ("self_attn", "multihead_attn"):
            if k.endswith(attn + ".in_proj_weight") or k.endswith(attn + ".in_proj_bias"):
                base, kind = k.rsplit(".in_proj_", 1)
                for name, part in zip(("q_proj", "k_proj", "v_proj"), v.chunk(3, dim=0)):
                    out[f"{base}.{name}.{kind}"] = part
                break
        else:
            out[k.replace(".out_proj.", ".o_proj.")] = v
    return {(prefix + "." + k if prefix else k): v for k, v in out.items()}


def gen_layers():
    d, h, ff = 12, 3, 20
    # Graph inputs are computed with autograd on: torch's inference fast path (nested tensors) stays off.
    for norm_first in (False, True):
        tag = "pre" if norm_first else "post"
        act = "gelu" if norm_first else "relu"
        enc = torch.nn.TransformerEncoderLayer(d, h, ff, dropout=0.0, activation=act, batch_first=True,
                                               norm_first=norm_first).eval()
        x = randn(2, 5, d)
        pad = torch.tensor([[False] * 5, [False, False, False, True, True]])
        y = enc(x)
        y_pad = enc(x, src_key_padding_mask=pad)
        save_case(f"layer_enc_{tag}", {"x": x, "keep": (~pad).float(), "expected": y, "expected_pad": y_pad,
                                       **torch_names(enc.state_dict(), "layer")})
        dec = torch.nn.TransformerDecoderLayer(d, h, ff, dropout=0.0, activation=act, batch_first=True,
                                               norm_first=norm_first).eval()
        tgt, mem = randn(2, 6, d), randn(2, 7, d)
        causal = torch.nn.Transformer.generate_square_subsequent_mask(6)
        mpad = torch.tensor([[False] * 7, [False, False, False, False, True, True, True]])
        y = dec(tgt, mem, tgt_mask=causal, tgt_is_causal=True)
        y_pad = dec(tgt, mem, tgt_mask=causal, tgt_is_causal=True, memory_key_padding_mask=mpad)
        save_case(f"layer_dec_{tag}", {"x": tgt, "memory": mem, "memory_keep": (~mpad).float(), "expected": y,
                                       "expected_pad": y_pad, **torch_names(dec.state_dict(), "layer")})
    # Stacks: a 2-layer post-norm encoder with a final norm, and a pre-norm encoder-decoder (nn.Transformer).
    layer = torch.nn.TransformerEncoderLayer(d, h, ff, dropout=0.0, batch_first=True)
    stack = torch.nn.TransformerEncoder(layer, 2, norm=torch.nn.LayerNorm(d), enable_nested_tensor=False).eval()
    x = randn(3, 4, d)
    save_case("stack_enc", {"x": x, "expected": stack(x), **torch_names(stack.state_dict(), "enc")})
    tr = torch.nn.Transformer(d, h, num_encoder_layers=2, num_decoder_layers=3, dim_feedforward=ff, dropout=0.0,
                              batch_first=True, norm_first=True).eval()
    src, tgt = randn(2, 7, d), randn(2, 5, d)
    causal = torch.nn.Transformer.generate_square_subsequent_mask(5)
    y = tr(src, tgt, tgt_mask=causal, tgt_is_causal=True)
    save_case("stack_encdec", {"src": src, "tgt": tgt, "expected": y, "expected_memory": tr.encoder(src),
                               **torch_names(tr.state_dict(), "tr")})


def gen_llama_block():
    """A LLaMA decoder layer (RMSNorm, RoPE, GQA 3 heads / 1 kv head, SwiGLU, pre-norm), positions 3..8."""
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaDecoderLayer, LlamaRotaryEmbedding
    cfg = LlamaConfig(hidden_size=12, num_attention_heads=3, num_key_value_heads=1, intermediate_size=20,
                      rms_norm_eps=1e-6, rope_theta=10000.0, max_position_embeddings=64, attn_implementation="eager")
    layer = LlamaDecoderLayer(cfg, layer_idx=0).eval()
    with torch.no_grad():
        for name, p in layer.named_parameters():
            p.copy_(randn(*p.shape) * (1.0 if "norm" in name else 0.3))
        x = randn(2, 6, 12)
        pos = torch.arange(3, 9)[None].expand(2, -1)
        cos, sin = LlamaRotaryEmbedding(cfg)(x, pos)
        mask = torch.full((6, 6), float("-inf")).triu(1)[None, None].expand(2, 1, 6, 6)
        y = layer(x, attention_mask=mask, position_ids=pos, position_embeddings=(cos, sin))
        y = y[0] if isinstance(y, tuple) else y
    save_case("layer_llama", {"x": x, "expected": y, **params_of(layer, "layers.0")})


# ---- ViT: transformers' ViTForImageClassification, tiny, built locally (no download) -------------------------------
def vit_names(sd):
    out = {}
    for k, v in sd.items():
        k = k.replace("attention.attention.query", "attention.q_proj").replace("attention.attention.key", "attention.k_proj")
        k = k.replace("attention.attention.value", "attention.v_proj").replace("attention.output.dense", "attention.o_proj")
        out[k] = v
    return out


def gen_vit():
    from transformers import ViTConfig, ViTForImageClassification
    # 14x14 images with 4x4 patches: the conv drops the last 2 rows/columns (3x3 = 9 patches).
    cfg = ViTConfig(image_size=14, patch_size=4, num_channels=3, hidden_size=16, num_hidden_layers=2,
                    num_attention_heads=2, intermediate_size=24, hidden_act="gelu", layer_norm_eps=1e-12,
                    num_labels=5, attn_implementation="eager")
    m = ViTForImageClassification(cfg).eval()
    with torch.no_grad():
        m.vit.embeddings.cls_token.copy_(randn(1, 1, 16))
        m.vit.embeddings.position_embeddings.copy_(randn(1, 10, 16))
        px = randn(2, 3, 14, 14)
        emb = m.vit.embeddings(px)
        out = m(px)
        hidden = m.vit.encoder(emb).last_hidden_state  # before the final layernorm
    sd = {k: v for k, v in vit_names(m.state_dict()).items()}
    save_case("vit_tiny", {"pixel_values": px, "expected_embeddings": emb, "expected_hidden": hidden,
                           "expected_logits": out.logits, **sd})


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    gen_ffn()
    gen_norm()
    gen_sinusoidal()
    gen_t5_buckets()
    gen_rope()
    gen_alibi()
    gen_layers()
    gen_llama_block()
    gen_vit()
    print("wrote", OUT)
