#!/usr/bin/env python3
"""Times the einsum benchmark shapes in NumPy and PyTorch (the peers of bench/bench_einsum.cpp).

Same shapes, names and FLOP counts as bench/bench_einsum.cpp. f32, 2 threads: numpy.einsum(optimize=True) with
its bundled OpenBLAS limited to 2 threads through threadpoolctl, torch.einsum under torch.set_num_threads(2) and
torch.inference_mode(). Prints one JSON object per (peer, shape): median seconds over --repeats runs after
--warmup runs, GFLOPS = 2 * prod(label sizes) / median.

NumPy's OpenBLAS picks its kernel family at load time and honours OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE; this
script reports the family it got ("architecture" from threadpoolctl). scripts/bench_einsum.sh runs it with those
variables unset so OpenBLAS detects the CPU itself. Requires numpy==2.2.6, threadpoolctl==3.5.0, torch==2.9.1.
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import threadpoolctl

# name, spec, {label: size}
SHAPES = [
    ("linear_512x768x768", "bsd,df->bsf", dict(b=4, s=128, d=768, f=768)),
    ("linear_512x3072x768", "bsd,df->bsf", dict(b=4, s=128, d=768, f=3072)),
    ("decode_1x32000x768", "bsd,df->bsf", dict(b=1, s=1, d=768, f=32000)),
    ("attn_scores_12x512x512x64", "bhqd,bhkd->bhqk", dict(b=1, h=12, q=512, k=512, d=64)),
    ("attn_values_12x512x64x512", "bhqk,bhkd->bhqd", dict(b=1, h=12, q=512, k=512, d=64)),
]


def operands(spec, sizes, rng):
    ins = spec.split("->")[0].split(",")
    return [rng.uniform(-1, 1, size=[sizes[c] for c in term]).astype(np.float32) for term in ins]


def flops(sizes):
    n = 2
    for v in sizes.values():
        n *= v
    return n


def time_it(fn, warmup, repeats):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--peers", default="numpy,torch")
    ap.add_argument("--filter", default="", help="substring of the shape names to run")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    peers = args.peers.split(",")

    blas = [i for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
    np_info = {
        "blas": blas[0].get("internal_api") if blas else "none",
        "blas_version": blas[0].get("version") if blas else "",
        "blas_arch": blas[0].get("architecture") if blas else "",
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
    }
    torch = None
    if "torch" in peers:
        try:
            import torch  # noqa: PLC0415

            torch.set_num_threads(args.threads)
        except ImportError as e:
            print(json.dumps({"peer": "torch", "error": f"not importable: {e}"}), flush=True)
            peers.remove("torch")

    for name, spec, sizes in SHAPES:
        if args.filter not in name:
            continue
        ops = operands(spec, sizes, rng)
        for peer in peers:
            if peer == "numpy":
                with threadpoolctl.threadpool_limits(limits=args.threads, user_api="blas"):
                    t = time_it(lambda: np.einsum(spec, *ops, optimize=True), args.warmup, args.repeats)
                extra = np_info
            elif peer == "torch":
                tops = [torch.from_numpy(o) for o in ops]
                with torch.inference_mode():
                    t = time_it(lambda: torch.einsum(spec, *tops), args.warmup, args.repeats)
                extra = {"torch": torch.__version__, "threads": torch.get_num_threads()}
            else:
                sys.exit(f"unknown peer {peer}")
            print(json.dumps({"peer": peer, "shape": name, "spec": spec, "seconds": t,
                              "gflops": flops(sizes) / t * 1e-9, **extra}), flush=True)


if __name__ == "__main__":
    main()
