#!/usr/bin/env python3
"""Fixtures for the GGUF writer (src/io/gguf_write.cpp) and `tlt quantize` (src/models/gguf_export.cpp).

Writes into tests/fixtures/gguf_write/:
  plain.gguf    written by gguf 0.19.0's GGUFWriter: metadata of every value type (u8..f64, bool, string, arrays
                of strings / ints / floats / bools / u8, an array of arrays) and F32 / F16 tensors whose values
                are simple formulas; tests/io/gguf_write_test.cpp builds the same content by hand with
                tl::io::GgufWriter and requires identical bytes.
  quant.gguf    GGUFWriter with a custom alignment (64, so general.alignment is written) and tensors of every
                type the writer must handle: F32, F16, BF16, Q8_0, Q4_0, Q4_1 (blocks from gguf.quants.quantize);
                the C++ test reads it with our reader and writes the same metadata and raw blocks back: the
                bytes must be identical.
  tiny_llama/   (--model) a tiny LLaMA HF directory (config.json, model.safetensors in f16, tokenizer.json: a small
                byte-level BPE trained here, tokenizer_config.json, chat_template.jinja) for `tlt quantize`; hidden
                64 / ffn 96 so every 2-D weight takes the 32-blocks.
  llamacpp.json (--model --tlt PATH) for each type f32 f16 bf16 q8_0 q4_0 q4_1: the FNV-1a 64 hash and size of the
  llamacpp_<type>.npy   GGUF `tlt quantize` writes (the C++ test checks that it still writes these bytes), whether
  transformers_<type>.npy  it is byte-identical to the same model written here with gguf.GGUFWriter + gguf.quants
                (gguf_py_model), llama.cpp's (llama-cpp-python 0.3.16, f32 KV cache) logits [10, vocab] for
                fixed ids, transformers' (4.57.1, from_pretrained(gguf_file=...), which dequantises) logits,
                and llama.cpp's token ids for a few texts next to the HF tokenizer's.

Run: python3 scripts/gen_gguf_write_fixtures.py [--model [--tlt build/release/tlt]]
(gguf 0.19.0; --model: torch 2.9.1, transformers 4.57.1, tokenizers 0.22.2, llama-cpp-python 0.3.16)
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import gguf
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "gguf_write")
Q = gguf.GGMLQuantizationType
V = gguf.GGUFValueType


def formula(n, mul=37, mod=101, off=50, div=16.0):
    """Values exactly representable in f16 / f32, easy to recompute in C++: ((i*mul) % mod - off) / div."""
    i = np.arange(n, dtype=np.int64)
    return (((i * mul) % mod - off) / div).astype(np.float32)


def write_plain(path):
    w = gguf.GGUFWriter(path, "test")
    w.add_uint8("t.u8", 200)
    w.add_int8("t.i8", -100)
    w.add_uint16("t.u16", 60000)
    w.add_int16("t.i16", -30000)
    w.add_uint32("t.u32", 4000000000)
    w.add_int32("t.i32", -2000000000)
    w.add_float32("t.f32", 0.1)
    w.add_uint64("t.u64", 2**63 + 5)
    w.add_int64("t.i64", -(2**62))
    w.add_float64("t.f64", 0.1)
    w.add_bool("t.bool", True)
    w.add_string("t.str", "h\u00e9llo \u2581 world")
    w.add_array("t.arr_str", ["a", "bc", ""])
    w.add_array("t.arr_i32", [1, -2, 3])
    w.add_array("t.arr_f32", [0.5, -1.25, 0.1])
    w.add_array("t.arr_bool", [True, False])
    w.add_key_value("t.arr_u8", [1, 2, 255], V.ARRAY, sub_type=V.UINT8)
    w.add_key_value("t.arr_arr", [[1, 2], [3]], V.ARRAY, sub_type=V.ARRAY)
    w.add_tensor("a.f32", formula(15).reshape(3, 5))
    w.add_tensor("b.f16", formula(8, 13, 29, 14, 4.0).reshape(2, 4).astype(np.float16))
    w.add_tensor("c.one_d", formula(7, 5, 11, 5, 2.0))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_quant(path):
    rng = np.random.default_rng(7)
    w = gguf.GGUFWriter(path, "test")
    w.add_custom_alignment(64)
    w.add_string("general.name", "quant fixture")
    w.add_tensor("x.f32", rng.standard_normal((3, 32)).astype(np.float32))
    w.add_tensor("x.f16", rng.standard_normal((2, 32)).astype(np.float16))
    bf = gguf.quants.quantize(rng.standard_normal((2, 64)).astype(np.float32), Q.BF16)
    w.add_tensor("x.bf16", bf, raw_dtype=Q.BF16)
    for name, qt in (("x.q8_0", Q.Q8_0), ("x.q4_0", Q.Q4_0), ("x.q4_1", Q.Q4_1)):
        w.add_tensor(name, gguf.quants.quantize(rng.standard_normal((3, 64)).astype(np.float32), qt), raw_dtype=qt)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    r = gguf.GGUFReader(path)  # semantic check that the file reads back
    assert [t.name for t in r.tensors] == ["x.f32", "x.f16", "x.bf16", "x.q8_0", "x.q4_0", "x.q4_1"]


# ---- the tiny LLaMA for `tlt quantize` ----

TYPES = ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1"]
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
IDS = [1, 17, 42, 99, 150, 7, 260, 33, 5, 2]  # fixed prompt for the logits (any ids < vocab)
TEXTS = ["Hello world, hello there 123.", "The quick brown fox jumps.", "<|im_start|>user\nhi<|im_end|>",
         "caf\u00e9 \u2014 na\u00efve 42"]
CHAT = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def fnv1a64(b):
    h = 0xCBF29CE484222325
    for x in b:
        h = ((h ^ x) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def fnv1a64_file(path):
    with open(path, "rb") as f:
        return fnv1a64(f.read())


def make_tiny_llama(d):
    import torch
    import transformers as tf
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tr = trainers.BpeTrainer(vocab_size=300, special_tokens=SPECIALS, show_progress=False,
                             initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    corpus = ["The quick brown fox jumps over the lazy dog.", "Hello world, hello there 123.",
              "tensor logic programs of einsums", "caf\u00e9 na\u00efve r\u00e9sum\u00e9"] * 20
    tok.train_from_iterator(corpus, tr)
    vocab = tok.get_vocab_size()
    fast = tf.PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                      unk_token=None, pad_token="<|endoftext|>")
    fast.chat_template = CHAT
    torch.manual_seed(0)
    cfg = tf.LlamaConfig(vocab_size=vocab, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=128,
                         rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False, bos_token_id=1,
                         eos_token_id=2, pad_token_id=0, initializer_range=0.08)
    m = tf.LlamaForCausalLM(cfg).eval()
    with torch.no_grad():  # non-trivial norms
        for n, p in m.named_parameters():
            if p.ndim == 1:
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
    m.half().save_pretrained(d, safe_serialization=True)
    fast.save_pretrained(d)
    for junk in ("generation_config.json",):
        if os.path.exists(os.path.join(d, junk)):
            os.remove(os.path.join(d, junk))
    print(f"[gen_gguf_write] tiny_llama: vocab {vocab}, {sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))} bytes")


def permute(w, n_head):
    """llama.cpp convert_hf_to_gguf.py LlamaModel.permute: HF rows (head, 2, hd/2) -> (head, hd/2, 2)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def gguf_py_model(d, t, path):
    """The same GGUF written with gguf.GGUFWriter and gguf.quants (the contract `tlt quantize` follows)."""
    from safetensors.numpy import load_file
    cfg = json.load(open(os.path.join(d, "config.json")))
    tj = json.load(open(os.path.join(d, "tokenizer.json")))
    sd = {k: v.astype(np.float32) for k, v in load_file(os.path.join(d, "model.safetensors")).items()}
    ftype = {"f32": 0, "f16": 1, "q4_0": 2, "q4_1": 3, "q8_0": 7, "bf16": 32}[t]
    w = gguf.GGUFWriter(path, "llama")
    w.add_name(os.path.basename(d))
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(cfg["num_attention_heads"])
    w.add_head_count_kv(cfg["num_key_value_heads"])
    w.add_rope_dimension_count(cfg["head_dim"])
    w.add_rope_freq_base(cfg["rope_theta"])
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_vocab_size(cfg["vocab_size"])
    w.add_file_type(ftype)
    w.add_quantization_version(2)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-2")
    vocab = tj["model"]["vocab"]
    toks = [None] * cfg["vocab_size"]
    types = [1] * cfg["vocab_size"]
    for k, i in vocab.items():
        toks[i] = k
    for a in tj["added_tokens"]:
        toks[a["id"]] = a["content"]
        types[a["id"]] = 3 if a["special"] else 4
    w.add_token_list(toks)
    w.add_token_types(types)
    w.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in tj["model"]["merges"]])
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_pad_token_id(0)
    w.add_add_bos_token(False)
    w.add_chat_template(open(os.path.join(d, "chat_template.jinja")).read())
    qt = {"f32": Q.F32, "f16": Q.F16, "bf16": Q.BF16, "q8_0": Q.Q8_0, "q4_0": Q.Q4_0, "q4_1": Q.Q4_1}[t]

    def add(name, arr, is_output=False):
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        q = qt
        if arr.ndim == 1 or q == Q.F32:
            w.add_tensor(name, arr)
            return
        if is_output and q in (Q.Q4_0, Q.Q4_1):
            q = Q.Q8_0
        if q == Q.F16:
            w.add_tensor(name, arr.astype(np.float16))
        else:
            w.add_tensor(name, gguf.quants.quantize(arr, q), raw_dtype=q)

    h, kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    add("token_embd.weight", sd["model.embed_tokens.weight"])
    for i in range(cfg["num_hidden_layers"]):
        p, b = f"model.layers.{i}.", f"blk.{i}."
        add(b + "attn_norm.weight", sd[p + "input_layernorm.weight"])
        add(b + "attn_q.weight", permute(sd[p + "self_attn.q_proj.weight"], h))
        add(b + "attn_k.weight", permute(sd[p + "self_attn.k_proj.weight"], kv))
        add(b + "attn_v.weight", sd[p + "self_attn.v_proj.weight"])
        add(b + "attn_output.weight", sd[p + "self_attn.o_proj.weight"])
        add(b + "ffn_norm.weight", sd[p + "post_attention_layernorm.weight"])
        add(b + "ffn_gate.weight", sd[p + "mlp.gate_proj.weight"])
        add(b + "ffn_up.weight", sd[p + "mlp.up_proj.weight"])
        add(b + "ffn_down.weight", sd[p + "mlp.down_proj.weight"])
    add("output_norm.weight", sd["model.norm.weight"])
    add("output.weight", sd["lm_head.weight"], is_output=True)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def llama_cpp_logits(path, ids):
    from llama_cpp import Llama
    # f32 KV cache (llama.cpp's default is f16), so the remaining differences are the matmuls' own rounding
    llm = Llama(model_path=path, n_ctx=64, logits_all=True, verbose=False, n_threads=2, n_batch=64,
                type_k=0, type_v=0)
    llm.eval(ids)
    print(f"    llama.cpp {path.rsplit('/', 1)[-1]}: logits |max| {np.abs(np.array(llm.scores[:len(ids)])).max():.3g}")
    logits = np.array(llm.scores[: len(ids)], dtype=np.float32)
    toks = [llm.tokenize(t.encode(), add_bos=False, special=True) for t in TEXTS]
    del llm
    return logits, toks


def transformers_logits(path, ids):
    import torch
    import transformers as tf
    d, f = os.path.split(path)
    m = tf.AutoModelForCausalLM.from_pretrained(d, gguf_file=f, torch_dtype=torch.float32).eval()
    with torch.no_grad():
        return m(input_ids=torch.tensor([ids])).logits[0].numpy().astype(np.float32)


def run_model(out, tlt):
    import torch
    import transformers as tf
    d = os.path.join(out, "tiny_llama")
    if not os.path.exists(os.path.join(d, "config.json")):
        make_tiny_llama(d)
    if not tlt:
        print("[gen_gguf_write] no --tlt: llamacpp.json not written")
        return
    ref = tf.AutoModelForCausalLM.from_pretrained(d, torch_dtype=torch.float32).eval()
    hf_tok = tf.AutoTokenizer.from_pretrained(d)
    rec = {"ids": IDS, "texts": TEXTS, "hf_ids": [hf_tok(t, add_special_tokens=False)["input_ids"] for t in TEXTS],
           "types": {}}
    with torch.no_grad():
        hf = ref(input_ids=torch.tensor([IDS])).logits[0].numpy()
    with tempfile.TemporaryDirectory() as tmp:
        for t in TYPES:
            g = os.path.join(tmp, f"tiny-{t}.gguf")
            subprocess.run([tlt, "quantize", d, "--type", t, "-o", g], check=True)
            e = {"fnv1a64": fnv1a64_file(g), "size": os.path.getsize(g)}
            py = os.path.join(tmp, f"tiny-{t}.py.gguf")
            gguf_py_model(d, t, py)
            e["gguf_py_identical"] = open(py, "rb").read() == open(g, "rb").read()
            lc, toks = llama_cpp_logits(g, IDS)
            np.save(os.path.join(out, f"llamacpp_{t}.npy"), lc)
            e["llama_cpp_token_ids"] = toks
            e["llama_cpp_vs_hf_f32_max_abs"] = float(np.abs(lc - hf).max())
            try:
                tr = transformers_logits(g, IDS)
                np.save(os.path.join(out, f"transformers_{t}.npy"), tr)
                e["transformers"] = True
                e["llama_cpp_vs_transformers_max_abs"] = float(np.abs(lc - tr).max())
            except Exception as ex:  # record why transformers cannot load this type
                e["transformers"] = False
                e["transformers_error"] = f"{type(ex).__name__}: {ex}"[:300]
            rec["types"][t] = e
            print(f"  {t}: {e['size']} bytes, llama.cpp vs HF f32 {e['llama_cpp_vs_hf_f32_max_abs']:.3g}, "
                  f"vs transformers(GGUF) {e.get('llama_cpp_vs_transformers_max_abs', float('nan')):.3g}, "
                  f"tokens equal HF: {toks == rec['hf_ids']}, identical to gguf-py: {e['gguf_py_identical']}")
    with open(os.path.join(out, "llamacpp.json"), "w") as f:
        json.dump(rec, f, indent=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="store_true", help="also write tiny_llama/ and, with --tlt, llamacpp.json")
    ap.add_argument("--tlt", default=None, help="path of the tlt binary (for llamacpp.json)")
    a = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    write_plain(os.path.join(OUT, "plain.gguf"))
    write_quant(os.path.join(OUT, "quant.gguf"))
    print("[gen_gguf_write] plain.gguf, quant.gguf")
    if a.model:
        run_model(OUT, os.path.abspath(a.tlt) if a.tlt else None)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    sys.exit(main())
