#!/usr/bin/env bash
# BLIS as a GEMM candidate, beside this project's backends in the same run.
#   scripts/bench_blis.sh            (needs: apt-get install libblis-openmp-dev; BUILD=<dir with bench_gemm>)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build/release}
inc=/usr/include/x86_64-linux-gnu/blis-openmp
lib=/usr/lib/x86_64-linux-gnu/blis-openmp
[ -f "$inc/blis.h" ] || { echo "libblis-openmp-dev is not installed" >&2; exit 1; }
exe=$(mktemp /tmp/bench_blis.XXXXXX)
g++ -O2 -std=c++17 -fopenmp -I"$inc" "$ROOT/bench/blis/bench_blis.cpp" -L"$lib" -Wl,-rpath,"$lib" -lblis -o "$exe"
for t in ${THREADS:-1 2}; do
  BLIS_NUM_THREADS=$t OMP_NUM_THREADS=$t "$exe"
  OMP_NUM_THREADS=$t "$BUILD/bench_gemm" --benchmark_filter='gemm/(512x768x768|512x3072x768|2048\^3|1x32000x768|1x768x768)/(auto|openblas)/' \
    --benchmark_min_time=0.3 2>/dev/null | grep -E '^gemm/' | awk -v t="$t" '{print "threads=" t, $1, $NF}'
done
rm -f "$exe"
