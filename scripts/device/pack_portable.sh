#!/usr/bin/env bash
# Packs binaries of a build folder so they run on another x86-64 Linux machine whatever its libraries: each
# binary is stripped and pointed (patchelf) at a copy of this machine's dynamic loader and shared libraries in
# BUILD/lib. Used to run an AVX-512 build (configured with -DTL_NATIVE=OFF -DCMAKE_CXX_FLAGS=-march=x86-64-v4)
# on a lent machine that has AVX-512 when this one has not; the build's absolute paths (fixtures, tlt) stay
# valid when the repository sits at the same path there. Needs patchelf (apt-get install patchelf).
# A directory among the arguments is copied as it is (data for the run).
#   scripts/device/pack_portable.sh BUILD OUT.tar.gz BINARY|DIR...
set -euo pipefail
build=$1 out=$2
shift 2
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
abs_build=$(cd "$build" && pwd)
mkdir -p "$stage/lib"
bins=()
for b in "$@"; do
  if [ -d "$build/$b" ]; then cp -r "$build/$b" "$stage/$b"; continue; fi
  bins+=("$b")
  cp "$build/$b" "$stage/$b"
  strip "$stage/$b"
  ldd "$build/$b" | awk '/=> \//{print $3} /ld-linux/{print $1}' | while read -r l; do
    cp -nL "$l" "$stage/lib/$(basename "$l")"
  done
done
loader=$(ls "$stage"/lib/ld-linux-x86-64.so.* | head -1)
for b in "${bins[@]}"; do
  patchelf --force-rpath --set-interpreter "$abs_build/lib/$(basename "$loader")" --set-rpath '$ORIGIN/lib' "$stage/$b"
done
tar -C "$stage" -czf "$out" .
echo "$out: $(du -h "$out" | cut -f1), $(ls "$stage/lib" | wc -l) libraries"
