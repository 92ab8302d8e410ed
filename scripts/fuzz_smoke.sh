#!/usr/bin/env bash
# Deterministic fuzz smoke for CI: builds every libFuzzer target (fuzz/fuzz_*.cpp, clang + ASan + UBSan) and runs
# each for a fixed number of mutations with a fixed seed over its seed corpus (scripts/make_fuzz_corpus.py) and
# its committed regressions (tests/fuzz/<target>/). Any crash, sanitizer report, leak, timeout (> 1 s per input)
# or memory blow-up (> 2 GB) fails the run. Same inputs every time, so a failure reproduces exactly.
# Usage: scripts/fuzz_smoke.sh [RUNS=10000] [TARGET ...]     Env: FUZZ_SMOKE_BUILD (default build/fuzz-smoke)
# The long runs (minutes per target, new inputs kept) are scripts/fuzz.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
runs="${1:-10000}"; shift || true
pkgs=(clang-14 libclang-rt-14-dev libomp-14-dev)
missing=(); for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
b="${FUZZ_SMOKE_BUILD:-$here/build/fuzz-smoke}"
t0=$(date +%s)
# -O1 with line tables only: about half the compile time of RelWithDebInfo, and stack traces still name lines.
CC=clang-14 CXX=clang++-14 cmake -S "$here" -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" -DTL_FUZZ=ON \
  -DTL_BUILD_TESTS=OFF -DTL_BUILD_BENCH=OFF >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$here"/fuzz/fuzz_*.cpp; do n="$(basename "$f" .cpp)"; targets+=("${n#fuzz_}"); done
fi
cmake --build "$b" -j"$(nproc)" --target $(printf 'fuzz_%s ' "${targets[@]}") >"$b/build.log" 2>&1 ||
  { grep -E "error|FAILED" "$b/build.log" | head -20; echo "[fuzz-smoke] build failed (log $b/build.log)"; exit 1; }
t1=$(date +%s)
# Seeds without tlt (the graph targets start from their dictionary and committed inputs: building tlt would
# double the build time).
rm -rf "$b/seeds" && python3 "$here/scripts/make_fuzz_corpus.py" "$b/seeds" "" >/dev/null
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fail=0
for t in "${targets[@]}"; do
  dict=() seeds=()
  [ -f "$here/fuzz/dict/$t.dict" ] && dict=(-dict="$here/fuzz/dict/$t.dict")
  case "$t" in graph_json | hf_config | safetensors | tokenizer_json) dict=(-dict="$here/fuzz/dict/json.dict") ;; esac
  [ -d "$b/seeds/$t" ] && seeds+=("$b/seeds/$t")
  [ -d "$here/tests/fuzz/$t" ] && seeds+=("$here/tests/fuzz/$t")
  # A fresh scratch folder first: libFuzzer writes new inputs there, never into the committed corpus.
  rm -rf "$b/scratch/$t" && mkdir -p "$b/scratch/$t" "$b/artifacts/$t"
  s=$(date +%s)
  if "$b/fuzz_$t" "$b/scratch/$t" "${seeds[@]}" "${dict[@]}" -seed=1 -runs="$runs" -timeout=1 -rss_limit_mb=2048 \
       -artifact_prefix="$b/artifacts/$t/" -print_final_stats=1 >"$b/$t.log" 2>&1; then
    echo "[fuzz-smoke] $t: ok, $(grep -m1 'stat::number_of_executed_units' "$b/$t.log" | awk '{print $2}') executions in $(($(date +%s) - s)) s"
  else
    echo "[fuzz-smoke] $t: FAILED (log $b/$t.log, input in $b/artifacts/$t/)"; tail -40 "$b/$t.log"; fail=1
  fi
done
echo "[fuzz-smoke] build $((t1 - t0)) s, runs $(($(date +%s) - t1)) s"
exit $fail
