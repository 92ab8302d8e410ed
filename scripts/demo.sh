#!/usr/bin/env bash
# Sets up, builds and runs the main job on its default input.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh release >/dev/null
./build/release/tlt demo "$@"
