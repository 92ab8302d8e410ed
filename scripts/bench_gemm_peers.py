#!/usr/bin/env python3
"""Times bench/bench_gemm.cpp's single products in NumPy and PyTorch (the peers in scripts/bench_gemm.sh).

Same shape names as bench_gemm ("MxNxK", "_bt": B stored as W [n, k] and used transposed, like a linear layer).
f32, --threads threads: NumPy `a @ w.T` with its bundled OpenBLAS limited through threadpoolctl; torch
`F.linear(x, w)` for "_bt" shapes (what nn.Linear runs) and `x @ w` otherwise, under torch.set_num_threads and
inference_mode. One JSON object per (peer, shape): median and best seconds over --repeats runs after --warmup,
GFLOPS = 2 m n k / time, "cpu_seconds" (median process CPU time: with --threads 1 the flops per
CPU-second, which other jobs on the cores do not distort much), and for m = 1 the GB/s of the weight streamed. Requires numpy==2.2.6,
threadpoolctl==3.5.0, torch==2.9.1 (requirements.txt).
"""
import argparse
import json
import statistics
import time

import numpy as np
import threadpoolctl

SHAPES = [  # name, m, n, k, b transposed
    ("512x768x768", 512, 768, 768, False),
    ("512x768x768_bt", 512, 768, 768, True),
    ("512x2048x768_bt", 512, 2048, 768, True),
    ("512x768x2048_bt", 512, 768, 2048, True),
    ("512x32000x768_bt", 512, 32000, 768, True),
    ("512x3072x768", 512, 3072, 768, False),
    ("1024x1024x1024", 1024, 1024, 1024, False),
    ("2048x2048x2048", 2048, 2048, 2048, False),
    ("1x32000x768", 1, 32000, 768, False),
    ("1x32000x768_bt", 1, 32000, 768, True),
    ("1x768x768", 1, 768, 768, False),
    ("1x768x768_bt", 1, 768, 768, True),
    ("1x2048x768_bt", 1, 2048, 768, True),
    ("1x768x2048_bt", 1, 768, 2048, True),
]


def time_it(fn, warmup, repeats):
    for _ in range(warmup):
        fn()
    ts, cs = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
        cs.append(time.process_time() - c0)
    return statistics.median(ts), min(ts), statistics.median(cs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--filter", default="", help="substring of the shape names to run")
    args = ap.parse_args()
    import torch  # noqa: PLC0415

    torch.set_num_threads(args.threads)
    blas = [i for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
    arch = blas[0].get("architecture", "") if blas else ""
    rng = np.random.default_rng(0)
    for name, m, n, k, bt in SHAPES:
        if args.filter not in name:
            continue
        a = rng.uniform(-1, 1, size=(m, k)).astype(np.float32)
        b = rng.uniform(-1, 1, size=(n, k) if bt else (k, n)).astype(np.float32)
        with threadpoolctl.threadpool_limits(limits=args.threads, user_api="blas"):
            med, best, cpu = time_it((lambda: a @ b.T) if bt else (lambda: a @ b), args.warmup, args.repeats)
        res = [("numpy", med, best, {"blas_arch": arch, "cpu_seconds": cpu})]
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        with torch.inference_mode():
            fn = (lambda: torch.nn.functional.linear(ta, tb)) if bt else (lambda: ta @ tb)
            med, best, cpu = time_it(fn, args.warmup, args.repeats)
        res.append(("torch", med, best, {"torch": torch.__version__, "cpu_seconds": cpu}))
        for peer, med, best, extra in res:
            out = {"peer": peer, "shape": name, "seconds": med, "gflops": 2.0 * m * n * k / med * 1e-9,
                   "gflops_best": 2.0 * m * n * k / best * 1e-9, **extra}
            if m == 1:
                out["gbps"] = 4.0 * n * k / med * 1e-9
                out["gbps_best"] = 4.0 * n * k / best * 1e-9
            print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
