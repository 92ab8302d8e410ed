#!/usr/bin/env bash
# GEMM candidates side by side: bench/bench_gemm once per backend configuration in its own process (so one
# library's idle spinning threads never steal the cores from the next), and NumPy / PyTorch on the same shapes
# (scripts/bench_gemm_peers.py), interleaved over rounds; one table of GFLOPS per shape (median and best over
# all repetitions of all rounds), with ours (auto) over the best peer and over the FMA peak.
#   scripts/bench_gemm.sh [rounds=3]      (BUILD=<build dir with bench_gemm>, default build/release)
#   scripts/bench_gemm.sh --report DIR    (print the table again from an earlier run's DIR)
#   THREADS=1 scripts/bench_gemm.sh       (one thread; the table then also gives GFLOPS per CPU-second, which
#                                          stays meaningful while other jobs load the machine)
#   FILTER=512x  scripts/bench_gemm.sh    (only shapes whose name matches the regex)
#   PEAK=300     FMA peak in GFLOPS for the last column (bench/peak_flops: 2 threads x ~150 on this VM)
#   FULL=1       also oneDNN's matmul primitive and OpenBLAS with OPENBLAS_CORETYPE=Haswell/Zen/SkylakeX
#                (SkylakeX's AVX-512 kernels fail where the VM hides AVX-512)
# Configurations: auto (the default: blocked kernel + GEMV), blocked (the kernel for every shape), packed (B
# pre-packed once, sgemm_packed), onednn (dnnl_sgemm), openblas (Debian's, CPU detected), numpy, torch.
set -uo pipefail
ROUNDS=${1:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build/release}
if [[ $ROUNDS == --report ]]; then OUT=$2; ROUNDS=0; else OUT=$(mktemp -d /tmp/bench_gemm.XXXXXX); fi
THREADS=${THREADS:-2}
FILTER=${FILTER:-.}
export OMP_NUM_THREADS=$THREADS
CONFIGS=(auto blocked packed onednn openblas:detect)
[[ ${FULL:-0} == 1 ]] && CONFIGS+=(onednn_matmul onednn_matmul_nocache openblas:Haswell openblas:Zen openblas:SkylakeX)

run_config() {  # $1 = backend[:coretype], $2 = round
  local be=${1%%:*} ct=${1#*:} env=(env -u OPENBLAS_CORETYPE)
  [[ $1 == *:* && $ct != detect ]] && env+=(OPENBLAS_CORETYPE=$ct)
  local filt="gemm/(${FILTER})[^/]*/${be}(_serial|_parallel|_primitive)?/"
  [[ $be == auto ]] && filt="(stream/read|$filt)"
  "${env[@]}" "$BUILD/bench_gemm" --benchmark_filter="$filt" \
    --benchmark_min_time=0.1 --benchmark_repetitions=5 --benchmark_format=json >"$OUT/${1/:/-}.r$2.json" 2>"$OUT/${1/:/-}.r$2.err" ||
    echo "config $1 failed (exit $?): $(tail -c 200 "$OUT/${1/:/-}.r$2.err")" >&2
}
run_peers() {  # NumPy's OpenBLAS detects the CPU itself (variables unset for its process only)
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 "$ROOT/scripts/bench_gemm_peers.py" --threads "$THREADS" \
    --repeats 5 >"$OUT/peers.r$1.jsonl" 2>"$OUT/peers.r$1.err" || echo "peers failed: $(tail -c 200 "$OUT/peers.r$1.err")" >&2
}
for ((r = 1; r <= ROUNDS; r++)); do
  echo "round $r/$ROUNDS (load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  if (( r % 2 )); then order=("${CONFIGS[@]}" peers); else order=(peers); for ((i=${#CONFIGS[@]}-1; i>=0; i--)); do order+=("${CONFIGS[i]}"); done; fi
  for c in "${order[@]}"; do if [[ $c == peers ]]; then run_peers "$r"; else run_config "$c" "$r"; fi; done
done
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

python3 - "$OUT" "${PEAK:-300}" "$FILTER" "${CONFIGS[@]}" <<'PY'
import glob, json, re, statistics, sys
out, peak, filt, configs = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4:]
res, cores, threads, stream = {}, {}, "?", []
for c in configs:
    for f in glob.glob(f"{out}/{c.replace(':', '-')}.r*.json"):
        try:
            j = json.load(open(f))
        except (json.JSONDecodeError, OSError):
            continue
        cores[c] = j["context"].get("openblas_core", "")
        threads = j["context"].get("threads", threads)
        for b in j["benchmarks"]:
            if b.get("run_type") != "iteration":
                continue
            if b["name"].startswith("stream/read"):
                stream.append(b["GB/s"])
                continue
            if "GFLOPS" not in b:
                continue
            _, shape, var, _ = b["name"].split("/")
            mode = var[len(c.split(":")[0]):].lstrip("_") or "-"
            g = b["GFLOPS"]
            if threads == "1":  # main-thread CPU time is the whole work: rate per CPU-second, immune to load
                g *= b["real_time"] / b["cpu_time"]
            res.setdefault((shape, c, mode), []).append(g)
for f in glob.glob(f"{out}/peers.r*.jsonl"):
    for line in open(f):
        try:
            p = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "gflops" in p and re.search(filt, p["shape"]):
            if threads == "1" and p.get("cpu_seconds"):  # per CPU-second, as for ours
                res.setdefault((p["shape"], p["peer"], "-"), []).append(p["gflops"] * p["seconds"] / p["cpu_seconds"])
                continue
            res.setdefault((p["shape"], p["peer"], "-"), []).append(p["gflops"])
            res[(p["shape"], p["peer"], "-")].append(p["gflops_best"])
peers = [p for p in ("numpy", "torch") if any(k[1] == p for k in res)]
cols = [c for c in configs if any(k[1] == c for k in res)] + peers
label = lambda c: c + (f" [{cores[c]}]" if c.startswith("openblas") and cores.get(c) else "")
med = lambda k: statistics.median(res[k]) if k in res else None
print(f"# GFLOPS, {threads} thread(s): median (best) over all repetitions of all rounds. m = 1 rows: GB/s of the")
print("# weight = 2 x GFLOPS. 'auto/peer' = ours (auto) over the best of openblas, numpy, torch (medians).")
if threads == "1":
    print("# 1 thread: GFLOPS per CPU-second (flops / main-thread CPU time), i.e. per-core efficiency.")
if stream:
    print(f"# stream/read ({threads} threads, 256 MB): median {statistics.median(stream):.1f} GB/s, best {max(stream):.1f}")
print("| shape | mode | " + " | ".join(label(c) for c in cols) + " | auto/peer | auto/peak |")
print("|---|---|" + "---|" * (len(cols) + 2))
rows = sorted({(s, m) for (s, _, m) in res})
for s, m in rows:
    vals = [f"{statistics.median(res[(s, c, m)]):.1f} ({max(res[(s, c, m)]):.1f})" if (s, c, m) in res else ""
            for c in cols]
    ours = med((s, "auto", m))
    best_peer = max([v for v in (med((s, c, "-")) for c in cols if c.startswith("openblas") or c in peers) if v] or [0])
    ratio = f"{ours / best_peer:.2f}" if ours and best_peer else ""
    frac = f"{ours / peak:.2f}" if ours else ""
    if any(vals):
        print(f"| {s} | {m} | " + " | ".join(vals) + f" | {ratio} | {frac} |")
missing = [c for c in configs if c not in cols]
if missing:
    print("# no results (crashed or unsupported): " + ", ".join(missing))
print(f"# raw results in {out}")
PY
