#!/usr/bin/env bash
# Builds what scripts/device/avx512_check.sh runs on a lent AVX-512 machine: an x86-64-v4 + VNNI build of the
# tests, tlt and the GEMM benchmarks (build/avx512; tests are discovered at ctest time, since this VM cannot run
# them), the AVX2 build's tlt and bench_gemm for comparison, and a random-weight generator plus the safetensors
# header of the 130M LLaMA shape (from build/bench-models/llama130m, written by scripts/gen_llama130m.py), all
# packed with their libraries into build/avx512-pack.txz (xz: the working tree plus carried files must stay
# under 64 MiB). Then: run `bash scripts/device/avx512_check.sh` on the device, carrying build/avx512-pack.txz.
set -euo pipefail
cd "$(dirname "$0")/../.."
b=build/avx512
cmake -S . -B $b -G Ninja -DCMAKE_BUILD_TYPE=Release -DTL_NATIVE=OFF -DCMAKE_CXX_FLAGS="-march=x86-64-v4 -mavx512vnni" \
  -DCMAKE_GTEST_DISCOVER_TESTS_DISCOVERY_MODE=PRE_TEST > /dev/null
tests=(test_cli test_core test_einsum test_gemm test_io test_ir test_kernels test_logic test_models test_nn test_passes
       test_runtime test_tokenizer)
ninja -C $b -j2 "${tests[@]}" tlt bench_gemm peak_flops
ninja -C build/release tlt bench_gemm
cp build/release/tlt $b/tlt_avx2
cp build/release/bench_gemm $b/bench_gemm_avx2
g++ -O2 -o $b/fill_random scripts/device/fill_random.cpp
extra=()
m=build/bench-models/llama130m
if [ -f $m/model.safetensors ]; then
  mkdir -p $b/m130
  n=$(python3 -c "import struct,sys; print(8 + struct.unpack('<Q', open(sys.argv[1], 'rb').read(8))[0])" $m/model.safetensors)
  head -c "$n" $m/model.safetensors > $b/m130/header.bin
  cp $m/config.json $m/generation_config.json $b/m130/
  extra=(fill_random m130)
fi
scripts/device/pack_portable.sh $b /tmp/avx512-pack.tgz "${tests[@]}" tlt tlt_avx2 bench_gemm bench_gemm_avx2 peak_flops "${extra[@]}"
d=$(mktemp -d) && tar -C "$d" -xzf /tmp/avx512-pack.tgz && tar -C "$d" -cf - . | xz -T2 -6 > build/avx512-pack.txz
rm -rf "$d" /tmp/avx512-pack.tgz
ls -la build/avx512-pack.txz
