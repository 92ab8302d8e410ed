#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/fuzz_*.cpp) with clang + ASan + UBSan and runs each for SECONDS or
# FUZZ_RUNS executions (default 10,000,000), whichever comes first (the issue's bar).
# Usage: scripts/fuzz.sh [SECONDS=60] [TARGET ...]     (TARGET: json npy einsum graph_text graph_json tl tsv ...)
# Seeds come from the project's own files (scripts/make_fuzz_corpus.py); dictionaries from fuzz/dict/. A crash
# leaves its input in build/fuzz/artifacts/<target>/ and fails the run; commit it under tests/fuzz/<target>/ with
# the fix (the test suite replays that folder). Env: FUZZ_JOBS (parallel targets, default 1).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
secs="${1:-60}"; shift || true
pkgs=(clang libclang-rt-14-dev cmake ninja-build libdnnl-dev libopenblas-dev python3)
missing=(); for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
b="$here/build/fuzz"
CC=clang CXX=clang++ cmake -S "$here" -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTL_FUZZ=ON \
  -DTL_BUILD_TESTS=OFF -DTL_BUILD_BENCH=OFF >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$here"/fuzz/fuzz_*.cpp; do n="$(basename "$f" .cpp)"; targets+=("${n#fuzz_}"); done
fi
# tlt prints the graph seeds; it needs every module, so it is built only for the graph targets.
need_tlt=""; for t in "${targets[@]}"; do case "$t" in graph_*) need_tlt=tlt ;; esac; done
cmake --build "$b" -j2 --target $need_tlt $(printf 'fuzz_%s ' "${targets[@]}") >"$b/build.log" 2>&1 ||
  { grep -E "error|FAILED" "$b/build.log" | head -20; echo "[fuzz] build failed (log $b/build.log)"; exit 1; }
rm -rf "$b/seeds" && python3 "$here/scripts/make_fuzz_corpus.py" "$b/seeds" "${need_tlt:+$b/tlt}"
export OMP_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_one() {
  local t="$1" dict=() seeds=()
  mkdir -p "$b/corpus/$t" "$b/artifacts/$t"
  [ -f "$here/fuzz/dict/$t.dict" ] && dict=(-dict="$here/fuzz/dict/$t.dict")
  [ "$t" = graph_json ] && dict=(-dict="$here/fuzz/dict/json.dict")
  [ -d "$b/seeds/$t" ] && seeds=("$b/seeds/$t")
  [ -d "$here/tests/fuzz/$t" ] && seeds+=("$here/tests/fuzz/$t")
  local TIMEFORMAT='%R %U %S' rc=0
  # `time` reports wall and CPU seconds: on a shared machine a fuzzer's CPU time says how much it really ran.
  { time "$b/fuzz_$t" "$b/corpus/$t" "${seeds[@]}" "${dict[@]}" -max_total_time="$secs" \
      -runs="${FUZZ_RUNS:-10000000}" -timeout=1 -rss_limit_mb=2048 -artifact_prefix="$b/artifacts/$t/" \
      -print_final_stats=1 >"$b/$t.log" 2>&1 || rc=$?; } 2>"$b/$t.time"
  read -r wall user sys <"$b/$t.time" || true
  if [ "$rc" -eq 0 ]; then
    echo "[fuzz] $t: ok, $(grep -m1 'stat::number_of_executed_units' "$b/$t.log" | awk '{print $2}') executions," \
      "wall ${wall%.*} s, cpu $(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%d", u+s}') s," \
      "corpus $(ls "$b/corpus/$t" | wc -l) files"
  else
    echo "[fuzz] $t: FAILED (log $b/$t.log, input in $b/artifacts/$t/)"; tail -30 "$b/$t.log"; return 1
  fi
}
export -f run_one; export b here secs
printf '%s\n' "${targets[@]}" | xargs -P "${FUZZ_JOBS:-1}" -I{} bash -c 'run_one {}'
