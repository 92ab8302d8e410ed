#!/usr/bin/env python3
"""Accuracy of reduced-precision weights: per weight format, how far the logits move from f32 and what the
perplexity becomes, for SmolLM2-135M and the random 130M LLaMA, with transformers and llama.cpp as outside
references. scripts/quant_accuracy.sh sets up the models and runs this.

For each model and format (f32, bf16, f16, q8_0, q4_0, q4_1):
  ours:      `tlt perplexity MODEL --ids IDS --weight-format F --compare-f32 N --json`: the linear weights stored
             in F by Model::quantize (4-bit formats keep an untied LM head at q8_0; embeddings, norms and tied
             weights stay f32), max / mean |logit - f32 logit| and top-1 agreement over the first N tokens
             (default 256), and the sliding-window perplexity (ctx 256, stride 128) over the whole text;
  llama.cpp: (llama-cpp-python 0.3.16, when installed and the model has a Hugging Face directory) the same
             numbers from GGUF files written by scripts/gguf_from_hf.py (every 2-D weight in F, token_embd
             included, so a tied LM head is quantised too; 4-bit files keep output.weight at Q8_0), its logit
             differences against its own F32 file. Note llama.cpp also quantises activations to 8 bits inside
             its quantised matrix products; we do not.
and once per model transformers 4.57.1 (f32, eager attention) on the Hugging Face directory: the outside
reference for the f32 perplexity, with the same windows and the same token ids.

The text is tests/fixtures/perplexity/eval_text.txt. SmolLM2's ids come from its GGUF vocabulary as llama.cpp
splits it (`tlt perplexity` does the encoding and saves the ids); the 130M model has random weights and no
tokenizer of its own, so the text is encoded with the 32k SentencePiece tokenizer of tests/fixtures/tokenizer
(vocab 32000, the model's size). Random weights predict nothing: its perplexity is ~vocab-sized (tens of
thousands) and only shows that the formats leave it unchanged, so by default only its first 1024 tokens are
evaluated (--random-max-tokens); its logit differences are still meaningful.

usage: python3 scripts/quant_accuracy.py --tlt build/release/tlt [--smollm2 GGUF] [--smollm2-hf DIR]
         [--llama130m DIR] [--formats f32,bf16,f16,q8_0,q4_0,q4_1] [--ctx 256] [--stride 128] [--compare 256]
         [--max-tokens N] [--random-max-tokens 1024] [--threads 2] [--no-llama-cpp] [--no-transformers] [--out build/quant-accuracy]
Writes OUT/results.json and prints a Markdown table.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TEXT = os.path.join(ROOT, "tests", "fixtures", "perplexity", "eval_text.txt")
SP32K = os.path.join(ROOT, "tests", "fixtures", "tokenizer", "sp-bpe-32k.json.gz")


def log(*a):
    print("[quant_accuracy]", *a, file=sys.stderr, flush=True)


def tlt_ppl(a, model, extra):
    cmd = [a.tlt, "perplexity", model, "--ctx", str(a.ctx), "--stride", str(a.stride), "--json"] + extra
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), OMP_WAIT_POLICY="passive")
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{p.stderr}")
    r = json.loads(p.stdout)
    r["wall_s"] = time.time() - t0
    return r


def windows(n, ctx, stride):
    """The Hugging Face guide's windows: (begin, end, first scored target)."""
    out, prev_end = [], 0
    for begin in range(0, n, stride):
        end = min(begin + ctx, n)
        out.append((begin, end, max(prev_end, begin + 1)))
        prev_end = end
        if end == n:
            break
    return out


def nll_sum(logits, ids, begin, first, end):
    """Sum of -log_softmax(logits[t - 1 - begin])[ids[t]] for t in [first, end), in float64."""
    x = np.asarray(logits, dtype=np.float64)[first - 1 - begin:end - 1 - begin]
    m = x.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(x - m).sum(axis=1))
    return float((lse - x[np.arange(end - first), ids[first:end]]).sum()), end - first


def sliding_ppl(logits_fn, ids, ctx, stride):
    total, count = 0.0, 0
    for begin, end, first in windows(len(ids), ctx, stride):
        s, c = nll_sum(logits_fn(ids[begin:end]), ids, begin, first, end)
        total, count = total + s, count + c
    return math.exp(total / count), count


def logit_diff(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    d = np.abs(a - b)
    return dict(max_abs=float(d.max()), mean_abs=float(d.mean()),
                top1_agreement=float((a.argmax(-1) == b.argmax(-1)).mean()), tokens=int(a.shape[0]))


def transformers_ppl(a, hf_dir, ids):
    import torch
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(a.threads)
    m = AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.float32, attn_implementation="eager").eval()

    def logits(x):
        with torch.no_grad():
            return m(input_ids=torch.from_numpy(np.asarray(x, dtype=np.int64)[None])).logits[0].float().numpy()
    t0 = time.time()
    ppl, n = sliding_ppl(logits, ids, a.ctx, a.stride)
    return dict(perplexity=ppl, scored_tokens=n, wall_s=time.time() - t0)


def llama_cpp_rows(a, hf_dir, ids, formats):
    import llama_cpp

    subprocess.run([sys.executable, os.path.join(HERE, "gguf_from_hf.py"), hf_dir, "--types", ",".join(formats)],
                   check=True, stdout=sys.stderr)
    head = ids[:a.compare]
    rows, ref = {}, None
    for f in formats:
        t0 = time.time()
        llm = llama_cpp.Llama(model_path=os.path.join(hf_dir, f"model-{f}.gguf"), n_ctx=max(a.ctx, a.compare),
                              n_batch=max(a.ctx, a.compare), n_ubatch=max(a.ctx, a.compare), logits_all=True,
                              n_threads=a.threads, n_threads_batch=a.threads, verbose=False)

        def logits(x):
            llm.reset()
            llm.eval(list(map(int, x)))
            return np.array(llm.scores[:len(x)], dtype=np.float32)
        first = logits(head)
        if f == "f32":
            ref = first
        ppl, n = sliding_ppl(logits, ids, a.ctx, a.stride)
        rows[f] = dict(perplexity=ppl, scored_tokens=n, wall_s=time.time() - t0,
                       logits_vs_f32=logit_diff(first, ref) if ref is not None else None)
        del llm
        log(f"  llama.cpp {f}: perplexity {ppl:.4f} ({time.time() - t0:.1f} s)")
    return rows


def run_model(a, name, model, hf_dir, tok_args, max_tokens):
    out = dict(model=model, hf_dir=hf_dir, ours={}, transformers=None, llama_cpp=None)
    ids_path = os.path.join(a.out, f"{name}_ids.npy")
    cap = ["--max-tokens", str(max_tokens)] if max_tokens else []
    for f in a.formats:
        src = ["--ids", ids_path] if os.path.exists(ids_path) and f != a.formats[0] else \
            ["--text", TEXT, "--save-ids", ids_path] + tok_args + cap
        r = tlt_ppl(a, model, src + ["--weight-format", f, "--compare-f32", str(a.compare)])
        out["ours"][f] = r
        d = r["logits_vs_f32"]
        log(f"{name} {f}: perplexity {r['perplexity']:.4f}, max |dlogit| {d['max_abs']:.4g}, "
            f"top-1 {100 * d['top1_agreement']:.2f}% ({r['wall_s']:.1f} s)")
    ids = np.load(ids_path).astype(np.int64)
    out["tokens"] = int(len(ids))
    if hf_dir and not a.no_transformers:
        out["transformers"] = transformers_ppl(a, hf_dir, ids)
        log(f"{name} transformers f32: perplexity {out['transformers']['perplexity']:.4f}")
    if hf_dir and not a.no_llama_cpp:
        try:
            import llama_cpp  # noqa: F401
            out["llama_cpp"] = llama_cpp_rows(a, hf_dir, ids, a.formats)
        except ImportError:
            log("llama-cpp-python is not installed: no llama.cpp column")
    return out


def fmt(x, spec):
    return "—" if x is None else format(x, spec)


def table(results, a):
    lines = []
    for name, r in results.items():
        lines.append(f"\n**{name}** ({r['tokens']} tokens of eval_text.txt; logits over the first "
                     f"{min(a.compare, r['tokens'])}; perplexity ctx {a.ctx}, stride {a.stride})\n")
        if r["transformers"]:
            lines.append(f"transformers 4.57.1 f32 perplexity: {r['transformers']['perplexity']:.4f} "
                         f"(ours f32: {r['ours']['f32']['perplexity']:.4f})\n")
        lines.append("| weights | MB | max \\|Δlogit\\| | mean \\|Δlogit\\| | top-1 agree | perplexity | "
                     "llama.cpp max \\|Δlogit\\| | llama.cpp top-1 | llama.cpp perplexity |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for f in a.formats:
            o = r["ours"][f]
            d = o["logits_vs_f32"]
            lc = (r["llama_cpp"] or {}).get(f)
            ld = lc["logits_vs_f32"] if lc else None
            lines.append(
                f"| {f} | {o['weight_bytes'] / 1e6:.0f} | {fmt(d['max_abs'], '.3g')} | {fmt(d['mean_abs'], '.3g')} | "
                f"{100 * d['top1_agreement']:.1f}% | {fmt(o['perplexity'], '.4f')} | "
                f"{fmt(ld and ld['max_abs'], '.3g')} | "
                f"{'—' if not ld else format(100 * ld['top1_agreement'], '.1f') + '%'} | "
                f"{fmt(lc and lc['perplexity'], '.4f')} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tlt", default=os.path.join(ROOT, "build", "release", "tlt"))
    ap.add_argument("--smollm2", default=os.environ.get("TL_SMOLLM2_GGUF"))
    ap.add_argument("--smollm2-hf", default=os.path.join(ROOT, "build", "bench-models", "smollm2"))
    ap.add_argument("--llama130m", default=os.path.join(ROOT, "build", "bench-models", "llama130m"))
    ap.add_argument("--formats", default="f32,bf16,f16,q8_0,q4_0,q4_1")
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--stride", type=int, default=128)
    ap.add_argument("--compare", type=int, default=256)
    ap.add_argument("--max-tokens", type=int, default=0, help="evaluate only the first N tokens (0: all)")
    ap.add_argument("--random-max-tokens", type=int, default=1024,
                    help="the random 130M model: only the first N tokens (0: all); its perplexity carries no "
                         "information beyond agreeing across formats, and this halves the run time")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-llama-cpp", action="store_true")
    ap.add_argument("--no-transformers", action="store_true")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "quant-accuracy"))
    a = ap.parse_args()
    a.formats = a.formats.split(",")
    if a.formats[0] != "f32":
        a.formats = ["f32"] + [f for f in a.formats if f != "f32"]  # f32 first: it saves the ids
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()
    results = {}
    if a.smollm2 and os.path.exists(a.smollm2):
        hf = a.smollm2_hf if os.path.exists(os.path.join(a.smollm2_hf, "model.safetensors")) else None
        results["SmolLM2-135M-Instruct (Q4_1 GGUF dequantised = f32)"] = run_model(a, "smollm2", a.smollm2, hf, [], a.max_tokens)
    else:
        log("no SmolLM2 GGUF (--smollm2 / TL_SMOLLM2_GGUF): skipped")
    if os.path.exists(os.path.join(a.llama130m, "model.safetensors")):
        cap = min(x for x in (a.max_tokens, a.random_max_tokens) if x) if a.max_tokens or a.random_max_tokens else 0
        results["LLaMA 130M, random weights"] = run_model(a, "llama130m", a.llama130m, a.llama130m,
                                                          ["--tokenizer", SP32K], cap)
    else:
        log(f"no {a.llama130m} (scripts/gen_llama130m.py): skipped")
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(table(results, a))
    log(f"done in {time.time() - t0:.0f} s; results in {os.path.join(a.out, 'results.json')}")


if __name__ == "__main__":
    main()
