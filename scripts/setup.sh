#!/usr/bin/env bash
# Installs what the build and tests need (Debian packages), skipping anything already present.
# Usage: scripts/setup.sh [--python]   (--python also installs the pinned Python tooling for fixture
# generation and peer benchmarks: requirements.txt, and requirements-bench.txt with --bench)
set -euo pipefail
pkgs=(cmake ninja-build g++ googletest libgtest-dev libbenchmark-dev libdnnl-dev libopenblas-dev libonig-dev libicu-dev zlib1g-dev python3
      clang-14 libclang-rt-14-dev libomp-14-dev valgrind)  # fuzz smoke, tsan preset, valgrind_parsers.sh
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[setup] installing Debian packages: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
here="$(cd "$(dirname "$0")/.." && pwd)"
for a in "$@"; do
  case "$a" in
    --python) python3 -m pip install -q -r "$here/requirements.txt" ;;
    --bench) CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=ON -DGGML_BLAS=OFF -DLLAMA_CURL=OFF}" \
               python3 -m pip install -q -r "$here/requirements.txt" -r "$here/requirements-bench.txt" ;;
    *) echo "[setup] unknown option $a" >&2; exit 2 ;;
  esac
done
