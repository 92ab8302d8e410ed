#!/usr/bin/env bash
# Transitive closure benchmark: tlt (sparse and forced-dense relations) against Python semi-naive sets and
# pyDatalog, in the same run, on seeded random graphs. Usage: scripts/bench_datalog.sh [BUILD_DIR]
# Needs: pip install -r requirements-bench.txt (pyDatalog). Keep runs short on a shared machine.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${1:-$ROOT/build/release}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" OMP_WAIT_POLICY=passive
# 1,000 nodes, out-degree 1.5: every engine, including dense bool einsums and pyDatalog (~1 min).
python3 "$ROOT/scripts/bench_datalog_peers.py" --tlt "$BUILD/tlt" --nodes 1000 --degree 1.5
# 5,000 nodes, out-degree 1.2 (~2.5M facts): dense (5000^3 per round) and pyDatalog (> 10 min) are skipped.
python3 "$ROOT/scripts/bench_datalog_peers.py" --tlt "$BUILD/tlt" --nodes 5000 --degree 1.2 --skip-dense \
  --skip-pydatalog
