#!/usr/bin/env bash
# f32 decode against the memory's read bandwidth, ours and llama.cpp, in interleaved rounds: per round the
# STREAM-like read (bench_gemm stream/read, 2 threads), then `tlt bench decode` and llama.cpp on the model's F32
# GGUF (64 tokens, 2 threads). Bytes per token: the f32 weights, less the embedding table when the model has a
# separate LM head (only one row of it is read). Needs the bench models (scripts/bench_models.sh makes them) and
# llama-cpp-python.
#   scripts/bench_decode_bandwidth.sh [ROUNDS] [MODEL...]     (default: 3 llama130m smollm2)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
shift || true
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(llama130m smollm2)
bin=${BUILD:-build/release}
for i in $(seq "$rounds"); do
  read_gbs=$(OMP_WAIT_POLICY=active OMP_NUM_THREADS=2 "$bin/bench_gemm" --benchmark_filter='stream/read' \
    --benchmark_min_time=0.5 2>&1 | grep -o "GB/s=[0-9.]*" | cut -d= -f2)
  line="$(date -u +%H:%M:%S) read ${read_gbs} GB/s"
  for m in "${models[@]}"; do
    d=build/bench-models/$m
    ours=$(OMP_WAIT_POLICY=active "$bin/tlt" bench decode "$d" --tokens 64 --reps 3 --threads 2 --json 2>/dev/null)
    peer=$(python3 scripts/bench_models_peers.py worker llama-decode "$d/model-f32.gguf" --tokens 64 --reps 2 \
      --threads 2 2>/dev/null | grep '^RESULT ' | cut -c8- || true)
    line="$line | $(python3 - "$d/config.json" "$read_gbs" "$ours" "${peer:-{\}}" "$m" <<'PY'
import json, sys
cfg, bw, ours, peer, name = json.load(open(sys.argv[1])), float(sys.argv[2]), json.loads(sys.argv[3]), json.loads(sys.argv[4]), sys.argv[5]
emb = 4 * cfg["vocab_size"] * cfg["hidden_size"]
per_token = ours["weight_bytes"] - (0 if cfg.get("tie_word_embeddings", False) else emb)
frac = lambda t: t * per_token / (bw * 1e9)
p = peer.get("tok_s")
print(f"{name}: ours {ours['tok_s']:.1f} tok/s ({frac(ours['tok_s']):.2f} of read BW), llama.cpp "
      + (f"{p:.1f} ({frac(p):.2f}), ours/llama.cpp {ours['tok_s'] / p:.2f}" if p else "n/a"))
PY
)"
  done
  echo "$line"
done
