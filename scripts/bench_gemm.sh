#!/usr/bin/env bash
# GEMM candidates side by side: bench/bench_gemm once per backend configuration in its own process (so one
# library's idle spinning threads never steal the cores from the next), interleaved over rounds; one table of
# GFLOPS per shape and configuration (median and best over 5 repetitions x rounds).
#   scripts/bench_gemm.sh [rounds=3]      (BUILD=<build dir with bench_gemm>, default build/release)
#   scripts/bench_gemm.sh --report DIR    (print the table again from an earlier run's DIR)
#   THREADS=1 scripts/bench_gemm.sh       (one thread; the table then also gives GFLOPS per CPU-second, which
#                                          stays meaningful while other jobs load the machine)
# OpenBLAS is run with OPENBLAS_CORETYPE=Haswell (as this machine's environment may set it), =Zen, unset
# (it detects the CPU) and =SkylakeX (AVX-512 kernels: fails where the VM hides AVX-512).
set -uo pipefail
ROUNDS=${1:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build/release}
if [[ $ROUNDS == --report ]]; then OUT=$2; ROUNDS=0; else OUT=$(mktemp -d /tmp/bench_gemm.XXXXXX); fi
THREADS=${THREADS:-2}
export OMP_NUM_THREADS=$THREADS
CONFIGS=(auto onednn onednn_matmul onednn_matmul_nocache openblas:Haswell openblas:Zen openblas:detect openblas:SkylakeX)

run_config() {  # $1 = backend[:coretype], $2 = round
  local be=${1%%:*} ct=${1#*:} env=(env -u OPENBLAS_CORETYPE)
  [[ $1 == *:* && $ct != detect ]] && env+=(OPENBLAS_CORETYPE=$ct)
  "${env[@]}" "$BUILD/bench_gemm" --benchmark_filter="/${be}(_serial|_parallel|_primitive)?/" \
    --benchmark_min_time=0.1 --benchmark_repetitions=5 --benchmark_format=json >"$OUT/${1/:/-}.r$2.json" 2>"$OUT/${1/:/-}.r$2.err" ||
    echo "config $1 failed (exit $?): $(tail -c 200 "$OUT/${1/:/-}.r$2.err")" >&2
}
for ((r = 1; r <= ROUNDS; r++)); do
  echo "round $r/$ROUNDS (load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  if (( r % 2 )); then order=("${CONFIGS[@]}"); else order=(); for ((i=${#CONFIGS[@]}-1; i>=0; i--)); do order+=("${CONFIGS[i]}"); done; fi
  for c in "${order[@]}"; do run_config "$c" "$r"; done
done

python3 - "$OUT" "${CONFIGS[@]}" <<'PY'
import glob, json, os, statistics, sys
out, configs = sys.argv[1], sys.argv[2:]
res, cores, threads = {}, {}, "?"
for c in configs:
    for f in glob.glob(f"{out}/{c.replace(':', '-')}.r*.json"):
        try:
            j = json.load(open(f))
        except (json.JSONDecodeError, OSError):
            continue
        cores[c] = j["context"].get("openblas_core", "")
        threads = j["context"].get("threads", threads)
        for b in j["benchmarks"]:
            if "GFLOPS" not in b or b.get("run_type") != "iteration":
                continue
            _, shape, var, _ = b["name"].split("/")
            mode = var[len(c.split(":")[0]):].lstrip("_") or "-"
            g = b["GFLOPS"]
            if threads == "1":  # main-thread CPU time is the whole work: rate per CPU-second, immune to load
                g *= b["real_time"] / b["cpu_time"]
            res.setdefault((shape, c, mode), []).append(g)
rows = sorted({(s, m) for (s, _, m) in res}, key=lambda x: x)
cols = [c for c in configs if any(k[1] == c for k in res)]
label = lambda c: c + (f" [{cores[c]}]" if c.startswith("openblas") and cores.get(c) else "")
print(f"# GFLOPS over all repetitions of all rounds, {threads} thread(s): median (best). Best-of matters when other jobs")
print("# share the cores: a 2-thread OpenMP product stalls whenever one of its threads is descheduled.")
if threads == "1":
    print("# 1 thread: GFLOPS per CPU-second (flops / main-thread CPU time), i.e. per-core efficiency.")
print("| shape | mode | " + " | ".join(label(c) for c in cols) + " |")
print("|---|---|" + "---|" * len(cols))
for s, m in rows:
    vals = [f"{statistics.median(res[(s, c, m)]):.1f} ({max(res[(s, c, m)]):.1f})" if (s, c, m) in res else ""
            for c in cols]
    if any(vals):
        print(f"| {s} | {m} | " + " | ".join(vals) + " |")
missing = [c for c in configs if c not in cols]
if missing:
    print("# no results (crashed or unsupported): " + ", ".join(missing))
print(f"# raw results in {out}")
PY
