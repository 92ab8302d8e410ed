// Machine limits that the GEMM numbers are judged against:
//   fma/<isa>/threads:N  fp32 FMA throughput: independent FMA chains (12 accumulators > 2 pipes x 4-5 cycles
//                        latency), no memory traffic, on N OpenMP threads. GFLOPS counter (1 FMA = 2 flops).
//   stream/read, stream/triad  STREAM-like bandwidth over 128 MB arrays (8x the L3), 2 threads. GB/s counter
//                        (bytes named in the program; triad a = b + s*c moves 12 bytes per element, no
//                        write-allocate counted, as STREAM does).
// The theoretical peak printed in the context is cores x "cpu MHz" (/proc/cpuinfo; the VM reports the nominal
// clock, not boost) x 2 FMA pipes x lanes (8 for AVX2, 16 for AVX-512) x 2 flops.
#include <benchmark/benchmark.h>
#include <immintrin.h>
#include <omp.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr int64_t kFmaIters = 1 << 22;

#define FMA12(OP, T)                                                                     \
  T a0 = x, a1 = x, a2 = x, a3 = x, a4 = x, a5 = x, a6 = x, a7 = x, a8 = x, a9 = x, a10 = x, a11 = x; \
  for (int64_t i = 0; i < kFmaIters; ++i) {                                              \
    a0 = OP(a0, m, y); a1 = OP(a1, m, y); a2 = OP(a2, m, y); a3 = OP(a3, m, y);           \
    a4 = OP(a4, m, y); a5 = OP(a5, m, y); a6 = OP(a6, m, y); a7 = OP(a7, m, y);           \
    a8 = OP(a8, m, y); a9 = OP(a9, m, y); a10 = OP(a10, m, y); a11 = OP(a11, m, y);       \
  }

// Returns a value depending on every accumulator so nothing is optimised away.
__attribute__((noinline)) float fma_avx2(float seed) {
  __m256 x = _mm256_set1_ps(seed), m = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
  FMA12(_mm256_fmadd_ps, __m256)
  __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                           _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
  s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
  return _mm256_cvtss_f32(s);
}
constexpr double kFlopsAvx2 = double(kFmaIters) * 12 * 8 * 2;

__attribute__((target("avx512f"), noinline)) float fma_avx512(float seed) {
  __m512 x = _mm512_set1_ps(seed), m = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
  FMA12(_mm512_fmadd_ps, __m512)
  __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                           _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
  s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
  alignas(64) float out[16];
  _mm512_store_ps(out, s);  // (_mm512_reduce_add_ps trips gcc 12's -Wuninitialized)
  return out[0] + out[15];
}
constexpr double kFlopsAvx512 = double(kFmaIters) * 12 * 16 * 2;

void BM_fma(benchmark::State& st, bool avx512) {
  if (avx512 && !__builtin_cpu_supports("avx512f")) {
    st.SkipWithError("CPU has no AVX-512F");
    return;
  }
  const int nt = int(st.range(0));
  float sink = 0;
  for (auto _ : st) {
#pragma omp parallel num_threads(nt) reduction(+ : sink)
    sink += avx512 ? fma_avx512(float(omp_get_thread_num())) : fma_avx2(float(omp_get_thread_num()));
  }
  benchmark::DoNotOptimize(sink);
  st.counters["GFLOPS"] = benchmark::Counter((avx512 ? kFlopsAvx512 : kFlopsAvx2) * nt * 1e-9,
                                             benchmark::Counter::kIsIterationInvariantRate);
}

constexpr int64_t kElems = int64_t(32) << 20;  // 128 MB of floats per array

struct Arrays {
  std::unique_ptr<float[]> a{new float[kElems]}, b{new float[kElems]}, c{new float[kElems]};
  Arrays() {
#pragma omp parallel for num_threads(2) schedule(static)  // first touch by the threads that use them
    for (int64_t i = 0; i < kElems; ++i) a[i] = 1.0f, b[i] = 2.0f, c[i] = 0.5f;
  }
};

Arrays& arrays() {
  static Arrays arr;
  return arr;
}

void BM_read(benchmark::State& st) {
  const float* p = arrays().b.get();
  double total = 0;
  for (auto _ : st) {
    float sum = 0;
#pragma omp parallel for num_threads(2) schedule(static) reduction(+ : sum)
    for (int64_t blk = 0; blk < kElems / 32; ++blk) {
      const float* q = p + blk * 32;
      __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_loadu_ps(q), _mm256_loadu_ps(q + 8)),
                               _mm256_add_ps(_mm256_loadu_ps(q + 16), _mm256_loadu_ps(q + 24)));
      sum += _mm256_cvtss_f32(s);
    }
    total += sum;
  }
  benchmark::DoNotOptimize(total);
  st.counters["GB/s"] = benchmark::Counter(double(kElems) * 4 * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_triad(benchmark::State& st) {
  Arrays& arr = arrays();
  float* a = arr.a.get();
  const float* b = arr.b.get();
  const float* c = arr.c.get();
  for (auto _ : st) {
#pragma omp parallel for num_threads(2) schedule(static)
    for (int64_t i = 0; i < kElems; ++i) a[i] = b[i] + 3.0f * c[i];
    benchmark::ClobberMemory();
  }
  st.counters["GB/s"] = benchmark::Counter(double(kElems) * 12 * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

double cpu_mhz() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("cpu MHz", 0) == 0) return std::stod(line.substr(line.find(':') + 1));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  for (int nt : {1, 2}) {
    benchmark::RegisterBenchmark("fma/avx2", BM_fma, false)->Arg(nt)->ArgName("threads")->UseRealTime();
    benchmark::RegisterBenchmark("fma/avx512", BM_fma, true)->Arg(nt)->ArgName("threads")->UseRealTime();
  }
  benchmark::RegisterBenchmark("stream/read", BM_read)->UseRealTime();
  benchmark::RegisterBenchmark("stream/triad", BM_triad)->UseRealTime();
  const double mhz = cpu_mhz();
  const int cores = omp_get_num_procs();
  const int lanes = __builtin_cpu_supports("avx512f") ? 16 : 8;
  const double peak = cores * mhz * 1e-3 * 2 * lanes * 2;
  benchmark::AddCustomContext("cpu_mhz", std::to_string(mhz));
  benchmark::AddCustomContext("theoretical_peak_gflops",
                              std::to_string(peak) + " (" + std::to_string(cores) + " cores x " + std::to_string(mhz) +
                                  " MHz x 2 FMA pipes x " + std::to_string(lanes) + " lanes x 2)");
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
