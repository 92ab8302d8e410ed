#!/usr/bin/env bash
# valgrind memcheck over the parsers' tests: .npy and JSON (test_core), safetensors / GGUF / config.json with
# their hostile-file suites (test_io), tokenizer.json, chat templates and invalid UTF-8 (test_tokenizer), einsum
# spec errors (test_einsum), the graph text/JSON forms (test_ir), the .tl language and facts files (test_logic),
# and every fuzz target's replay program over its seed corpus and committed regressions. Any invalid read or
# write, use of uninitialised memory, or leak (definite or possible) fails the run.
# Usage: scripts/valgrind_parsers.sh      Env: VALGRIND_BUILD (default build/valgrind)
# (test_tokenizer: the loaders, errors, chat templates and the encode/decode parity cases; the random-id decode
# cases add nothing for memory safety and take minutes under memcheck.)
# Release code with debug info (-O2 -g), built for a generic x86-64 (TL_NATIVE=OFF) so that valgrind knows every
# instruction; one OpenMP thread (memcheck serialises threads anyway, and the pool's stacks would show as
# "possibly lost" at exit).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dpkg -s valgrind >/dev/null 2>&1 || {
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq valgrind >/dev/null
}
b="${VALGRIND_BUILD:-$here/build/valgrind}"
t0=$(date +%s)
cmake -S "$here" -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTL_NATIVE=OFF -DTL_BUILD_BENCH=OFF >/dev/null
replays=()
for f in "$here"/fuzz/fuzz_*.cpp; do n="$(basename "$f" .cpp)"; replays+=("${n#fuzz_}"); done
bins=(test_core test_io test_tokenizer test_einsum test_ir test_logic)
cmake --build "$b" -j"$(nproc)" --target "${bins[@]}" $(printf 'fuzz_%s_replay ' "${replays[@]}") >"$b/build.log" 2>&1 ||
  { grep -E "error|FAILED" "$b/build.log" | head -20; echo "[valgrind] build failed (log $b/build.log)"; exit 1; }
t1=$(date +%s)
rm -rf "$b/seeds" && python3 "$here/scripts/make_fuzz_corpus.py" "$b/seeds" "" >/dev/null
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
vg=(valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,possible --track-origins=yes
    --quiet)
fail=0
run() {  # name, command...
  local name="$1"; shift
  local s; s=$(date +%s)
  if "${vg[@]}" --log-file="$b/vg_$name.log" "$@" >"$b/out_$name.log" 2>&1; then
    echo "[valgrind] $name: clean ($(($(date +%s) - s)) s)"
  else
    echo "[valgrind] $name: FAILED (valgrind log $b/vg_$name.log, output $b/out_$name.log)"
    head -60 "$b/vg_$name.log"; tail -20 "$b/out_$name.log"; fail=1
  fi
}
run core "$b/test_core" --gtest_filter='Json*:Npy*'
run io "$b/test_io"
run tokenizer "$b/test_tokenizer" --gtest_filter='ChatTemplate*:TokenizerBasics*:TokenizerErrors*:Tokenizers/Parity.IdsAndDecodeMatchTokenizers/*'
run einsum "$b/test_einsum" --gtest_filter='EinsumErrors*'
run ir "$b/test_ir" --gtest_filter='Forms*:JsonForm*:TextForm*:LoadGraph*'
run logic "$b/test_logic" --gtest_filter='LogicParse*:LogicTsv*:Declarations*'
for t in "${replays[@]}"; do
  dirs=()
  [ -d "$b/seeds/$t" ] && dirs+=("$b/seeds/$t")
  [ -d "$here/tests/fuzz/$t" ] && dirs+=("$here/tests/fuzz/$t")
  [ ${#dirs[@]} -gt 0 ] && run "replay_$t" "$b/fuzz_${t}_replay" "${dirs[@]}"
done
echo "[valgrind] build $((t1 - t0)) s, memcheck $(($(date +%s) - t1)) s"
exit $fail
