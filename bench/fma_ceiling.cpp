// What an AVX2 GEMM micro-kernel can reach on this CPU, one core, every operand in L1: the ceiling under the
// blocked GEMM (src/gemm/gemm_blocked.cpp), below bench/peak_flops's pure-FMA peak. Each kernel runs 12
// independent accumulators (the most 16 ymm registers allow beside the operands) for kc = 256 steps over the
// same small packed A and B panels, so the only difference between rows is how the operands reach the FMAs:
//   fma_only      12 FMAs per step, operands in registers (the peak; equals peak_flops per core)
//   b_loads       + 2 vector loads of B per step (A values held in registers)
//   a_broadcasts  + 6 broadcast loads of A per step (B held in registers)
//   gemm_6x16     the real micro-kernel: 2 B vectors + 6 A broadcasts per 12 FMAs (ours, BLIS's and OpenBLAS's
//                 Haswell shape)
//   gemm_4x24     3 B vectors + 4 A broadcasts per 12 FMAs (the other shape 16 registers allow)
// GFLOPS counters are per CPU-second (not wall time), so a busy machine changes them little.
//   build/release/fma_ceiling [--benchmark_min_time=0.5]
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <cstdlib>
#include <vector>

namespace {

constexpr long kKc = 256;

#if defined(__AVX2__) && defined(__FMA__)

#define FMA(x, b, c) c = _mm256_fmadd_ps(x, b, c)

// kind: 0 fma_only, 1 b_loads, 2 a_broadcasts, 3 gemm_6x16. a: [kKc][6] packed, b: [kKc][16] packed.
template <int kind>
__attribute__((noinline)) void k6x16(const float* __restrict a, const float* __restrict bp, float* c) {
  __m256 z = _mm256_setzero_ps(), c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z,
         c41 = z, c50 = z, c51 = z;
  const __m256 rb0 = _mm256_load_ps(bp), rb1 = _mm256_load_ps(bp + 8);
  const __m256 ra0 = _mm256_broadcast_ss(a), ra1 = _mm256_broadcast_ss(a + 1), ra2 = _mm256_broadcast_ss(a + 2);
#pragma GCC unroll 4
  for (long p = 0; p < kKc; ++p) {
    const __m256 b0 = kind == 1 || kind == 3 ? _mm256_load_ps(bp + p * 16) : rb0;
    const __m256 b1 = kind == 1 || kind == 3 ? _mm256_load_ps(bp + p * 16 + 8) : rb1;
    const float* q = a + p * 6;
    const bool bc = kind == 2 || kind == 3;
    __m256 x = bc ? _mm256_broadcast_ss(q) : ra0;
    FMA(x, b0, c00), FMA(x, b1, c01);
    x = bc ? _mm256_broadcast_ss(q + 1) : ra1;
    FMA(x, b0, c10), FMA(x, b1, c11);
    x = bc ? _mm256_broadcast_ss(q + 2) : ra2;
    FMA(x, b0, c20), FMA(x, b1, c21);
    x = bc ? _mm256_broadcast_ss(q + 3) : ra0;
    FMA(x, b0, c30), FMA(x, b1, c31);
    x = bc ? _mm256_broadcast_ss(q + 4) : ra1;
    FMA(x, b0, c40), FMA(x, b1, c41);
    x = bc ? _mm256_broadcast_ss(q + 5) : ra2;
    FMA(x, b0, c50), FMA(x, b1, c51);
  }
  const __m256 r[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
  for (int i = 0; i < 12; ++i) _mm256_storeu_ps(c + i * 8, r[i]);
}

// a: [kKc][4] packed, b: [kKc][24] packed.
__attribute__((noinline)) void k4x24(const float* __restrict a, const float* __restrict bp, float* c) {
  __m256 z = _mm256_setzero_ps(), c00 = z, c01 = z, c02 = z, c10 = z, c11 = z, c12 = z, c20 = z, c21 = z, c22 = z,
         c30 = z, c31 = z, c32 = z;
#pragma GCC unroll 4
  for (long p = 0; p < kKc; ++p) {
    const __m256 b0 = _mm256_load_ps(bp + p * 24), b1 = _mm256_load_ps(bp + p * 24 + 8),
                 b2 = _mm256_load_ps(bp + p * 24 + 16);
    const float* q = a + p * 4;
    __m256 x = _mm256_broadcast_ss(q);
    FMA(x, b0, c00), FMA(x, b1, c01), FMA(x, b2, c02);
    x = _mm256_broadcast_ss(q + 1);
    FMA(x, b0, c10), FMA(x, b1, c11), FMA(x, b2, c12);
    x = _mm256_broadcast_ss(q + 2);
    FMA(x, b0, c20), FMA(x, b1, c21), FMA(x, b2, c22);
    x = _mm256_broadcast_ss(q + 3);
    FMA(x, b0, c30), FMA(x, b1, c31), FMA(x, b2, c32);
  }
  const __m256 r[12] = {c00, c01, c02, c10, c11, c12, c20, c21, c22, c30, c31, c32};
  for (int i = 0; i < 12; ++i) _mm256_storeu_ps(c + i * 8, r[i]);
}

#endif

float* panel(long n) {  // 64-byte aligned, small values (no overflow, no denormals over kKc steps)
  auto* p = static_cast<float*>(std::aligned_alloc(64, size_t(n) * sizeof(float)));
  for (long i = 0; i < n; ++i) p[i] = 1e-3f * float(1 + i % 7);
  return p;
}

template <class K>
void run(benchmark::State& st, K kernel) {
#if defined(__AVX2__) && defined(__FMA__)
  float* a = panel(kKc * 8);
  float* b = panel(kKc * 24);
  alignas(32) float c[12 * 8];
  for (auto _ : st) {
    kernel(a, b, c);
    benchmark::DoNotOptimize(c);
  }
  std::free(a);
  std::free(b);
  st.counters["GFLOPS"] = benchmark::Counter(2.0 * 12 * 8 * kKc * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
#else
  st.SkipWithError("needs AVX2 and FMA");
#endif
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
#if defined(__AVX2__) && defined(__FMA__)
  benchmark::RegisterBenchmark("fma_only", run<decltype(&k6x16<0>)>, &k6x16<0>);
  benchmark::RegisterBenchmark("b_loads", run<decltype(&k6x16<1>)>, &k6x16<1>);
  benchmark::RegisterBenchmark("a_broadcasts", run<decltype(&k6x16<2>)>, &k6x16<2>);
  benchmark::RegisterBenchmark("gemm_6x16", run<decltype(&k6x16<3>)>, &k6x16<3>);
  benchmark::RegisterBenchmark("gemm_4x24", run<decltype(&k4x24)>, &k4x24);
#endif
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
