#!/usr/bin/env bash
# Einsum benchmark: this project vs NumPy vs PyTorch on the same shapes, interleaved rounds, one table.
#   scripts/bench_einsum.sh [rounds=5]      (BUILD=<build dir with bench_einsum and peak_flops>, default build/release)
# Each round runs ours then the peers, alternating the order every round; the table shows per-system medians
# over rounds, ours / best peer, and ours as a fraction of the measured AVX2 FMA peak (bench/peak_flops).
# Threads: 2 everywhere (OMP_NUM_THREADS=2; the peers script limits NumPy's OpenBLAS and torch to 2).
# NumPy's bundled OpenBLAS runs with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset (for that process only) so it
# detects the CPU itself; the table notes the kernel family it chose.
set -euo pipefail
ROUNDS=${1:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build/release}
OUT=$(mktemp -d /tmp/bench_einsum.XXXXXX)
export OMP_NUM_THREADS=2

# Peak = 2 cores x the one-thread FMA rate per CPU-second: unlike a 2-thread wall-clock run, it does not drop when
# other jobs share the cores.
"$BUILD/peak_flops" --benchmark_filter='fma/avx2/threads:1' --benchmark_repetitions=3 \
  --benchmark_format=json >"$OUT/peak.json" 2>/dev/null

ours() { "$BUILD/bench_einsum" --benchmark_min_time=0.5 --benchmark_format=json >"$OUT/ours_$1.json" 2>/dev/null; }
peers() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 "$ROOT/scripts/bench_einsum_peers.py" \
            --repeats 20 >"$OUT/peers_$1.jsonl"; }
for ((r = 1; r <= ROUNDS; r++)); do
  echo "round $r/$ROUNDS (load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  if (( r % 2 )); then ours "$r"; peers "$r"; else peers "$r"; ours "$r"; fi
done

python3 - "$OUT" <<'PY'
import glob, json, statistics, sys
out = sys.argv[1]
peak = [2 * b["GFLOPS"] * b["real_time"] / b["cpu_time"] for b in json.load(open(f"{out}/peak.json"))["benchmarks"]
        if b.get("run_type") == "iteration"]
peak = statistics.median(peak)
res = {}  # (shape, system) -> [gflops per round]
for f in glob.glob(f"{out}/ours_*.json"):
    for b in json.load(open(f))["benchmarks"]:
        shape = b["name"].split("/")[1]
        res.setdefault((shape, "ours"), []).append(b["GFLOPS"])
arch = ""
for f in glob.glob(f"{out}/peers_*.jsonl"):
    for line in open(f):
        j = json.loads(line)
        if "error" in j:
            print(f"# {j['peer']}: {j['error']}")
            continue
        res.setdefault((j["shape"], j["peer"]), []).append(j["gflops"])
        arch = j.get("blas_arch", arch) or arch
shapes = []
for (s, _) in res:
    if s not in shapes:
        shapes.append(s)
order = ["linear_512x768x768", "linear_512x3072x768", "decode_1x32000x768", "attn_scores_12x512x512x64",
         "attn_values_12x512x64x512"]
shapes.sort(key=lambda s: order.index(s) if s in order else 99)
med = lambda s, p: statistics.median(res[(s, p)]) if (s, p) in res else float("nan")
print(f"# GFLOPS, median of {len(glob.glob(out + '/ours_*.json'))} interleaved rounds; 2 threads; "
      f"measured FMA peak (2 x one-thread AVX2 rate) = {peak:.0f} GFLOPS; numpy's OpenBLAS kernels: {arch}")
print(f"# load average at the end: {open('/proc/loadavg').read().split()[:3]} (2 cores; above ~2 the numbers are contended)")
print(f"| {'shape':<28}| {'ours':>7} | {'numpy':>7} | {'torch':>7} | ours/best peer | ours/peak |")
print(f"|{'-'*29}|{'-'*9}|{'-'*9}|{'-'*9}|{'-'*16}|{'-'*11}|")
for s in shapes:
    o, n, t = med(s, "ours"), med(s, "numpy"), med(s, "torch")
    best = max(x for x in (n, t) if x == x) if any(x == x for x in (n, t)) else float("nan")
    print(f"| {s:<28}| {o:7.1f} | {n:7.1f} | {t:7.1f} | {o / best:14.2f} | {o / peak:9.2f} |")
print(f"# raw results in {out}")
PY
