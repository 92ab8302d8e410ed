#!/usr/bin/env bash
# Runs the AVX-512 build's tests and benchmarks on a lent machine that has AVX-512 (this VM has none).
# Expects build/avx512-pack.txz (or .tgz) from scripts/device/prepare_avx512.sh (binaries built under
# /work/main/build/avx512, the AVX2 build's bench_gemm / tlt as bench_gemm_avx2 / tlt_avx2, and m130/ +
# fill_random for a random-weight copy of the 130M LLaMA shape); writes logs under $OUT.
#   bash scripts/device/avx512_check.sh
set -u
root=$(pwd)
out=${OUT:-/tmp/avx512_out}
mkdir -p "$out"
if [ "$root" != /work/main ] && [ ! -e /work/main ]; then mkdir -p /work && ln -s "$root" /work/main; fi
b=/work/main/build/avx512
mkdir -p "$b"
if [ -f build/avx512-pack.txz ]; then  # xz-compressed (the carry limit); python's lzma when xz is absent
  if command -v xz > /dev/null; then tar -C "$b" -xJf build/avx512-pack.txz
  else python3 -c "import lzma,sys,tarfile; tarfile.open(fileobj=lzma.open(sys.argv[1])).extractall(sys.argv[2])" build/avx512-pack.txz "$b"; fi
else
  tar -C "$b" -xzf build/avx512-pack.tgz
fi
{ lscpu | grep -E "Model name|^CPU\(s\)|Thread\(s\)|Core\(s\)|Socket|L2|L3"; grep -o 'avx512[a-z_0-9]*' /proc/cpuinfo | sort -u | tr '\n' ' '; echo; } > "$out/cpu.txt"
cat "$out/cpu.txt"
grep -q avx512f /proc/cpuinfo || { echo "no AVX-512 on this machine"; exit 3; }
# Two CPUs on different physical cores for the 2-thread benchmarks (the issue's setting).
pair=$(lscpu -p=cpu,core | grep -v '^#' | sort -t, -k2,2n -u | head -2 | cut -d, -f1 | paste -sd,)
echo "benchmark CPUs: $pair"
export OMP_WAIT_POLICY=passive
: > "$out/summary.txt"
for t in "$b"/test_*; do
  n=$(basename "$t")
  (OMP_NUM_THREADS=2 timeout 200 "$t" --gtest_brief=1 > "$out/$n.log" 2>&1; echo "$n rc=$?" >> "$out/summary.txt") &
done
wait
OMP_NUM_THREADS=16 timeout 100 "$b/test_gemm" --gtest_brief=1 > "$out/test_gemm_16t.log" 2>&1
echo "test_gemm (16 threads) rc=$?" >> "$out/summary.txt"
cat "$out/summary.txt"
for t in "$out"/test_*.log; do grep -E "FAILED|Failure|Which is|PASSED" "$t" | head -8 | sed "s|^|$(basename "$t"): |"; done
export OMP_WAIT_POLICY=active OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
taskset -c "$pair" "$b/peak_flops" --benchmark_min_time=0.2 > "$out/peak.txt" 2>&1
shapes='512x768x768_bt|512x2048x768_bt|512x768x2048_bt|512x32000x768_bt|4096x384x384_bt|4096x1536x384_bt|4096x384x1536_bt|2048x2048x2048'
OPENBLAS_CORETYPE=SkylakeX taskset -c "$pair" timeout 150 "$b/bench_gemm" --benchmark_min_time=0.2 \
  --benchmark_filter="gemm/($shapes)/(blocked|openblas|onednn)/" > "$out/gemm_2t.txt" 2>&1
[ -x "$b/bench_gemm_avx2" ] && taskset -c "$pair" timeout 60 "$b/bench_gemm_avx2" --benchmark_min_time=0.2 \
  --benchmark_filter="gemm/($shapes)/blocked/" > "$out/gemm_2t_avx2.txt" 2>&1
grep -hE "GFLOPS|GB/s" "$out"/peak.txt "$out"/gemm_2t*.txt | sed 's/  */ /g; s/real_time//'
if [ -x "$b/fill_random" ] && [ -d "$b/m130" ]; then
  m=/tmp/m130 && mkdir -p $m && cp "$b"/m130/*.json $m/
  "$b/fill_random" "$b/m130/header.bin" $m/model.safetensors 536423424
  for t in tlt tlt_avx2; do
    [ -x "$b/$t" ] || continue
    for w in f32 bf16 q8_0; do
      echo "== $t prompt 512 $w: $(taskset -c "$pair" timeout 60 "$b/$t" bench prompt $m --tokens 512 --threads 2 --reps 3 --weight-format $w --json 2>&1 | tail -1)"
      echo "== $t decode $w: $(taskset -c "$pair" timeout 60 "$b/$t" bench decode $m --tokens 32 --threads 2 --reps 2 --weight-format $w --json 2>&1 | tail -1)"
    done
  done | tee "$out/models.txt"
fi
