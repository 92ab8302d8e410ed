#!/usr/bin/env bash
# Prompt-processing ratios over interleaved rounds (session 7): the PyTorch peer's speed moved by up to 30%
# between runs minutes apart on this VM, so a single best-of-N per engine says little. Each round runs ours,
# PyTorch and llama.cpp back-to-back on the same model and prints the ratios of that round.
#
#   scripts/bench_prompt_rounds.sh [MODEL=llama130m] [ROUNDS=3]
# MODEL is a directory under build/bench-models (made by scripts/bench_models.sh: llama130m, llama130m-gqa4,
# smollm2). Needs a built tlt (BUILD, default build/release) and the peers bench_models.sh installs.
# Env: TOKENS (512), THREADS (2), REPS (4; llama.cpp uses half).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
M=${1:-llama130m}
R=${2:-3}
D=$ROOT/build/bench-models/$M
T=${BUILD:-$ROOT/build/release}/tlt
N=${TOKENS:-512}
TH=${THREADS:-2}
REPS=${REPS:-4}
[ -d "$D" ] || { echo "no model at $D (run scripts/bench_models.sh first)" >&2; exit 1; }
[ -x "$T" ] || { echo "no tlt at $T (build first, or set BUILD)" >&2; exit 1; }
P=(python3 "$ROOT/scripts/bench_models_peers.py" worker)
tok_s() { python3 -c "import sys,json
for l in sys.stdin:
    if l.startswith('RESULT '): print(round(json.loads(l[7:])['tok_s'], 1)); break
else: print('nan')"; }
ratio() { python3 -c "import math; a, b = float('$1'), float('$2'); print('-' if math.isnan(a) or math.isnan(b) else f'{a / b:.3f}')"; }
echo "model $M, prompt $N tokens, $TH threads; ours with OMP_WAIT_POLICY=active (the peers' pools spin by default)"
for i in $(seq "$R"); do
  o=$(OMP_WAIT_POLICY=active "$T" bench prompt "$D" --tokens "$N" --reps "$REPS" --threads "$TH" --json 2>/dev/null |
      python3 -c "import sys,json; print(round(json.load(sys.stdin)['tok_s'], 1))" || echo nan)
  t=$("${P[@]}" torch-prompt "$D" --tokens "$N" --reps "$REPS" --threads "$TH" 2>/dev/null | tok_s || echo nan)
  l=nan
  [ -f "$D/model-f32.gguf" ] &&
    l=$("${P[@]}" llama-prompt "$D/model-f32.gguf" --tokens "$N" --reps $(( (REPS + 1) / 2 )) --threads "$TH" 2>/dev/null | tok_s || echo nan)
  echo "$(date -u +%H:%M:%S) round $i: ours $o  pytorch $t  llama.cpp $l  | ours/pytorch $(ratio "$o" "$t")  ours/llama.cpp $(ratio "$o" "$l")"
done
