#!/usr/bin/env bash
# Attention benchmark: our flash kernel and plain graph (bench/bench_attention.cpp) beside PyTorch's
# scaled_dot_product_attention on the same shapes, one run each, one table with ratios.
#   scripts/bench_attention.sh            (BUILD=<build dir with bench_attention>, default build/release)
# Threads: 2 everywhere (OMP_NUM_THREADS=2; torch.set_num_threads(2), torch.inference_mode()). Causal
# everywhere. torch has no sliding-window SDPA on the CPU, so its window rows pass a dense boolean mask
# (O(n^2) work, which is what a user of torch gets); its "dense" rows use is_causal=True.
# Peak memory: ours is the executor's planned arena for intermediates (exact); torch's is the growth of the
# process's peak RSS across the call (ru_maxrss, coarse: first touch only).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build/release}
OUT=$(mktemp -d /tmp/bench_attention.XXXXXX)
export OMP_NUM_THREADS=2 OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$BUILD/bench_attention" --benchmark_min_time=${MIN_TIME:-0.2} --benchmark_format=json >"$OUT/ours.json"

python3 - "$OUT" >"$OUT/torch.jsonl" <<'PY'
import json, resource, sys, time
import torch
import torch.nn.functional as F
torch.set_num_threads(2)
def bench(name, h, s, window):
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, h, s, 64, generator=g) for _ in range(3))
    mask = None
    if window:
        i = torch.arange(s)
        d = i[:, None] - i[None, :]
        mask = (d >= 0) & (d < window)
    with torch.inference_mode():
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        f = (lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask)) if window else \
            (lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True))
        f()
        ts = []
        t_end = time.perf_counter() + 0.5
        while len(ts) < 3 or (time.perf_counter() < t_end and len(ts) < 20):
            t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ts.sort()
    print(json.dumps({"name": f"{name}/{s}", "ms": 1e3 * ts[len(ts) // 2], "rss_MiB": (rss1 - rss0) / 1024}))
    sys.stdout.flush()
for s in (512, 1024, 2048, 4096, 8192):
    bench("flash", 8, s, 0)
for s in (2048, 4096, 8192, 16384):
    bench("window", 4, s, 512)
    bench("dense", 4, s, 0)
PY

python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
ours = {b["name"].replace("/real_time", ""): b for b in json.load(open(f"{out}/ours.json"))["benchmarks"]}
torch = {j["name"]: j for j in map(json.loads, open(f"{out}/torch.jsonl"))}
print("# causal, f32, 2 threads, one run; ms = median wall time; arena = planned intermediate memory (ours);")
print(f"# torch peak = peak-RSS growth. load average at the end: {open('/proc/loadavg').read().split()[:3]} (2 cores)")
print("| shape | flash ms | plain ms | torch ms | plain/flash | torch/flash | flash arena MiB | plain arena MiB | torch RSS MiB |")
print("|---|---|---|---|---|---|---|---|---|")
ms = lambda b: b["real_time"] if b["time_unit"] == "ms" else float("nan")
for s in (512, 1024, 2048, 4096, 8192):
    f, p, t = ours.get(f"flash/{s}"), ours.get(f"plain/{s}"), torch.get(f"flash/{s}")
    fm, pm = ms(f), (ms(p) if p else float("nan"))
    print(f"| b1 h8 s{s} d64 | {fm:.1f} | {pm:.1f} | {t['ms']:.1f} | {pm / fm:.2f} | {t['ms'] / fm:.2f} | "
          f"{f['arena_MiB']:.1f} | {p['arena_MiB'] if p else float('nan'):.0f} | {t['rss_MiB']:.0f} |")
print()
print("| seq (h4 d64) | window 512 ms | dense ms | dense/window | tiles window | tiles dense | torch window (dense mask) ms | torch causal ms | torch window / ours window |")
print("|---|---|---|---|---|---|---|---|---|")
for s in (2048, 4096, 8192, 16384):
    w, d = ours[f"window/{s}"], ours[f"dense/{s}"]
    tw, td = torch[f"window/{s}"], torch[f"dense/{s}"]
    print(f"| {s} | {ms(w):.1f} | {ms(d):.1f} | {ms(d) / ms(w):.2f} | {w['tiles']:.0f} | {d['tiles']:.0f} | "
          f"{tw['ms']:.1f} | {td['ms']:.1f} | {tw['ms'] / ms(w):.2f} |")
print(f"# raw results in {out}")
PY
