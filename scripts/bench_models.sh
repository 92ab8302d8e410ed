#!/usr/bin/env bash
# Issue 6's model-level benchmark: ours (`tlt bench`) and the peers (PyTorch + transformers, llama.cpp through
# llama-cpp-python, ONNX Runtime, sentence-transformers) in one invocation, one table (workload | ours | peer |
# ratio | fraction of the limit), a memory table and the thread scaling. Method: docs/performance.md.
#
#   scripts/bench_models.sh            build (Release, build/bench), make the models, install missing peers,
#                                      run everything (~10 min on a quiet machine)
#   scripts/bench_models.sh --resume   keep results already in build/bench-results/models.json (failed ones
#                                      are retried): a run that was cut off goes on where it stopped
#   scripts/bench_models.sh --quick    1 rep, 16 decode tokens, MHA model only (a smoke run)
#   any other flag goes to scripts/bench_models_peers.py (--only ours,torch,llama,ort,st,limits, --reps N, ...)
# Environment: BUILD (default build/bench), THREADS (2), NO_INSTALL=1 (never pip install), CMAKE_ARGS for
# llama-cpp-python (default: native CPU flags, no BLAS, no curl). The table also goes to
# build/bench-results/models.md.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build/bench}
THREADS=${THREADS:-2}
# OMP_WAIT_POLICY stays each engine's default unless the caller sets it: forcing "passive" on every engine
# (sessions 3-5) made OpenMP thread pools sleep at every barrier and slowed llama.cpp's decode several-fold.
# Ours runs with OMP_WAIT_POLICY=active (bench_models_peers.py), as the peers' pools spin by default.
export OMP_NUM_THREADS=$THREADS
ARGS=()
for a in "$@"; do
  case "$a" in
    --quick) ARGS+=(--reps 1 --decode-tokens 16 --variants llama130m) ;;
    *) ARGS+=("$a") ;;
  esac
done
mkdir -p "$ROOT/build/bench-results"
echo "[bench] $(date -u '+%F %T') UTC, load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs" >&2

# Ours: Release build of tlt and the limit programs.
if [[ ! -x $BUILD/tlt || ! -x $BUILD/stream || ! -x $BUILD/peak_flops || ${REBUILD:-1} == 1 ]]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTL_BUILD_BENCH=ON >/dev/null &&
    cmake --build "$BUILD" --target tlt stream peak_flops -j"$(nproc)" >"$ROOT/build/bench-results/build.log" 2>&1 ||
    { echo "[bench] build failed: see build/bench-results/build.log" >&2; exit 1; }
fi

# Peers: install what is missing, one package at a time, so one failure skips only that peer.
install() {  # $1 = python module, $2 = requirement line from requirements-bench.txt / requirements.txt
  python3 -c "import $1" 2>/dev/null && return 0
  [[ ${NO_INSTALL:-0} == 1 ]] && { echo "[bench] $1 missing (NO_INSTALL=1): its rows are skipped" >&2; return 0; }
  local req t0=$SECONDS
  req=$(grep -h -i "^$2==" "$ROOT/requirements-bench.txt" "$ROOT/requirements.txt" | head -1 | cut -d' ' -f1)
  echo "[bench] installing ${req:-$2} ..." >&2
  if CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=ON -DGGML_BLAS=OFF -DLLAMA_CURL=OFF}" \
      python3 -m pip install -q "${req:-$2}" >"$ROOT/build/bench-results/install-$2.log" 2>&1; then
    echo "[bench] installed ${req:-$2} in $((SECONDS - t0)) s" >&2
  else
    echo "[bench] could not install ${req:-$2} (build/bench-results/install-$2.log): its rows are skipped" >&2
  fi
}
install torch torch
install transformers transformers
install sentence_transformers sentence-transformers
install gguf gguf
install onnx onnx
install onnxruntime onnxruntime
install llama_cpp llama-cpp-python

# The 130M models (deterministic, not committed) and the run itself.
python3 "$ROOT/scripts/gen_llama130m.py" --out "$ROOT/build/bench-models" >&2 || exit 1
python3 "$ROOT/scripts/bench_models_peers.py" --build "$BUILD" --threads "$THREADS" \
  --markdown "$ROOT/build/bench-results/models.md" "${ARGS[@]}"
