// GEMM candidates on the shapes, one benchmark per (shape, backend); GFLOPS as a counter.
//   build/<dir>/bench_gemm --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// Backends: tl::GemmBackend (TL_GEMM names), plus "packed" (B pre-packed once by tl::sgemm_pack_b, timed
// products by tl::sgemm_packed); batched shapes also sweep tl::BatchMode. m = 1 rows also report GB/s of the
// weight streamed, next to stream/read (a STREAM-like read of 256 MB with the same threads). OpenBLAS's kernel
// family is fixed at load time by OPENBLAS_CORETYPE, so compare coretypes by running this binary once per
// setting (scripts/bench_gemm.sh does); the chosen family is printed in the context as openblas_core.
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <random>
#include <string>
#include <vector>

#include "tl/gemm.h"
#include "tl/threading.h"

namespace {

struct Shape {
  const char* name;
  int64_t batch, m, n, k;
  bool ta, tb;
  bool big;  // skip the slowest candidates (naive) here
};

// m x n x k; "_bt": B stored transposed ([n, k], the linear-layer weight layout W [out, in] used as x W^T).
// Model shapes (512 tokens, d = 768, FFN 2048, vocabulary 32000) and decode GEMVs (m = 1) per weight.
const Shape kShapes[] = {
    {"512x768x768", 1, 512, 768, 768, false, false, true},
    {"512x768x768_bt", 1, 512, 768, 768, false, true, true},
    {"512x2048x768_bt", 1, 512, 2048, 768, false, true, true},   // FFN up
    {"512x768x2048_bt", 1, 512, 768, 2048, false, true, true},   // FFN down
    {"512x32000x768_bt", 1, 512, 32000, 768, false, true, true}, // logits
    {"512x3072x768", 1, 512, 3072, 768, false, false, true},
    // MiniLM (bench embed: 32 x 128 tokens, d = 384, FFN 1536): q/k/v/o, FFN up, FFN down.
    {"4096x384x384_bt", 1, 4096, 384, 384, false, true, true},
    {"4096x1536x384_bt", 1, 4096, 1536, 384, false, true, true},
    {"4096x384x1536_bt", 1, 4096, 384, 1536, false, true, true},
    {"1024x1024x1024", 1, 1024, 1024, 1024, false, false, true},
    {"2048x2048x2048", 1, 2048, 2048, 2048, false, false, true},
    {"1x32000x768", 1, 1, 32000, 768, false, false, true},
    {"1x32000x768_bt", 1, 1, 32000, 768, false, true, true},
    {"1x768x768", 1, 1, 768, 768, false, false, false},
    {"1x768x768_bt", 1, 1, 768, 768, false, true, false},
    {"1x2048x768_bt", 1, 1, 2048, 768, false, true, false},
    {"1x768x2048_bt", 1, 1, 768, 2048, false, true, false},
    {"attn_qk_12x512x512x64", 12, 512, 512, 64, false, true, true},   // q k^T per head
    {"attn_pv_12x512x64x512", 12, 512, 64, 512, false, false, true},  // p v per head
};

std::vector<float> random_vec(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  for (float& x : v) x = d(g);
  return v;
}

// `packed`: B pre-packed once outside the timed loop (tl::sgemm_pack_b), products by tl::sgemm_packed.
void run(benchmark::State& st, Shape s, tl::GemmBackend be, tl::BatchMode mode, bool packed) {
  tl::set_gemm_backend(be);
  tl::set_batch_mode(mode);
  const int64_t lda = s.ta ? s.m : s.k, ldb = s.tb ? s.k : s.n, ldc = s.n;
  const int64_t sa = s.m * s.k, sb = s.k * s.n, sc = s.m * s.n;
  std::vector<float> a = random_vec(size_t(s.batch * sa), 1), b = random_vec(size_t(s.batch * sb), 2);
  std::vector<float> c(size_t(s.batch * sc));
  tl::PackedB pb;
  if (packed) pb = tl::sgemm_pack_b(s.tb, s.k, s.n, b.data(), ldb);
  auto once = [&] {
    if (packed)
      tl::sgemm_packed(s.ta, s.m, 1.0f, a.data(), lda, pb, 0.0f, c.data(), ldc);
    else if (s.batch == 1)
      tl::sgemm(s.ta, s.tb, s.m, s.n, s.k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), ldc);
    else
      tl::sgemm_batched(s.batch, s.ta, s.tb, s.m, s.n, s.k, 1.0f, a.data(), lda, sa, b.data(), ldb, sb, 0.0f,
                        c.data(), ldc, sc);
  };
  once();  // warm-up: primitive creation, page faults, thread pools
  for (auto _ : st) {
    once();
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  st.counters["GFLOPS"] = benchmark::Counter(2.0 * double(s.batch * s.m * s.n * s.k) * 1e-9,
                                             benchmark::Counter::kIsIterationInvariantRate);
  if (s.m == 1)  // decode products stream the weight once: bytes of B per second
    st.counters["GB/s"] =
        benchmark::Counter(4.0 * double(s.n * s.k) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  tl::set_gemm_backend(tl::GemmBackend::kAuto);
  tl::set_batch_mode(tl::BatchMode::kAuto);
}

// STREAM-like read bandwidth with tl::num_threads() threads: sum of a 256 MB array (far above the 32 MB L3),
// the ceiling for the decode GEMVs, which read each weight once.
void stream_read(benchmark::State& st) {
  const int64_t n = int64_t(64) << 20;  // floats
  std::vector<float> v(size_t(n), 1.0f);
  const int nt = tl::num_threads();
  double total = 0;
  for (auto _ : st) {
    double sum = 0;
#pragma omp parallel for num_threads(nt) schedule(static) reduction(+ : sum)
    for (int64_t blk = 0; blk < n / 4096; ++blk) {
      const float* p = v.data() + blk * 4096;
      __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      for (int64_t i = 0; i < 4096; i += 32) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p + i));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_loadu_ps(p + i + 16));
        a3 = _mm256_add_ps(a3, _mm256_loadu_ps(p + i + 24));
      }
      alignas(32) float t[8];
      _mm256_store_ps(t, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
      for (float x : t) sum += x;
    }
    total += sum;
  }
  benchmark::DoNotOptimize(total);
  st.counters["GB/s"] = benchmark::Counter(4.0 * double(n) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

int main(int argc, char** argv) {
  using tl::BatchMode;
  using tl::GemmBackend;
  benchmark::RegisterBenchmark("stream/read", stream_read)->UseRealTime();
  const GemmBackend backends[] = {GemmBackend::kAuto, GemmBackend::kOneDnn, GemmBackend::kOneDnnMatmul,
                                  GemmBackend::kOneDnnMatmulNoCache, GemmBackend::kOpenBlas, GemmBackend::kBlocked,
                                  GemmBackend::kNaive};
  for (const Shape& s : kShapes) {
    for (GemmBackend be : backends) {
      if (be == GemmBackend::kNaive && s.big) continue;
      if (s.batch == 1) {
        std::string name = std::string("gemm/") + s.name + "/" + tl::gemm_backend_name(be);
        benchmark::RegisterBenchmark(name.c_str(), run, s, be, BatchMode::kAuto, false)->UseRealTime();
        if (be == GemmBackend::kBlocked) {
          name = std::string("gemm/") + s.name + "/packed";
          benchmark::RegisterBenchmark(name.c_str(), run, s, be, BatchMode::kAuto, true)->UseRealTime();
        }
        continue;
      }
      if (be == GemmBackend::kAuto) {  // the default choice as shipped
        std::string name = std::string("gemm/") + s.name + "/auto";
        benchmark::RegisterBenchmark(name.c_str(), run, s, be, BatchMode::kAuto, false)->UseRealTime();
        continue;
      }
      for (BatchMode mode : {BatchMode::kSerial, BatchMode::kParallel, BatchMode::kPrimitive}) {
        if (mode == BatchMode::kPrimitive && be != GemmBackend::kOneDnnMatmul) continue;  // one library call
        std::string name = std::string("gemm/") + s.name + "/" + tl::gemm_backend_name(be) + "_" +
                           tl::batch_mode_name(mode);
        benchmark::RegisterBenchmark(name.c_str(), run, s, be, mode, false)->UseRealTime();
      }
    }
  }
  benchmark::AddCustomContext("threads", std::to_string(tl::num_threads()));
  benchmark::AddCustomContext("openblas_core", tl::openblas_corename());
  benchmark::AddCustomContext("auto_backend", tl::gemm_backend());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
