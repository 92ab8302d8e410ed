// GEMM candidates on the shapes, one benchmark per (shape, backend); GFLOPS as a counter.
//   build/<dir>/bench_gemm --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// Backends: tl::GemmBackend (TL_GEMM names); batched shapes also sweep tl::BatchMode. OpenBLAS's kernel family is
// fixed at load time by OPENBLAS_CORETYPE, so compare coretypes by running this binary once per setting
// (scripts/bench_gemm.sh does); the chosen family is printed in the context as openblas_core.
#include <benchmark/benchmark.h>

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

// m x n x k; "_bt": B stored transposed ([n, k], the linear-layer weight layout).
const Shape kShapes[] = {
    {"512x768x768", 1, 512, 768, 768, false, false, true},
    {"512x768x768_bt", 1, 512, 768, 768, false, true, true},
    {"512x3072x768", 1, 512, 3072, 768, false, false, true},
    {"1x32000x768", 1, 1, 32000, 768, false, false, true},
    {"1x32000x768_bt", 1, 1, 32000, 768, false, true, true},
    {"1x768x768", 1, 1, 768, 768, false, false, false},
    {"1x768x768_bt", 1, 1, 768, 768, false, true, false},
    {"2048x2048x2048", 1, 2048, 2048, 2048, false, false, true},
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

void run(benchmark::State& st, Shape s, tl::GemmBackend be, tl::BatchMode mode) {
  tl::set_gemm_backend(be);
  tl::set_batch_mode(mode);
  const int64_t lda = s.ta ? s.m : s.k, ldb = s.tb ? s.k : s.n, ldc = s.n;
  const int64_t sa = s.m * s.k, sb = s.k * s.n, sc = s.m * s.n;
  std::vector<float> a = random_vec(size_t(s.batch * sa), 1), b = random_vec(size_t(s.batch * sb), 2);
  std::vector<float> c(size_t(s.batch * sc));
  auto once = [&] {
    if (s.batch == 1)
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
  tl::set_gemm_backend(tl::GemmBackend::kAuto);
  tl::set_batch_mode(tl::BatchMode::kAuto);
}

}  // namespace

int main(int argc, char** argv) {
  using tl::BatchMode;
  using tl::GemmBackend;
  const GemmBackend backends[] = {GemmBackend::kAuto, GemmBackend::kOneDnn, GemmBackend::kOneDnnMatmul,
                                  GemmBackend::kOneDnnMatmulNoCache, GemmBackend::kOpenBlas, GemmBackend::kNaive};
  for (const Shape& s : kShapes) {
    for (GemmBackend be : backends) {
      if (be == GemmBackend::kNaive && s.big) continue;
      if (s.batch == 1) {
        std::string name = std::string("gemm/") + s.name + "/" + tl::gemm_backend_name(be);
        benchmark::RegisterBenchmark(name.c_str(), run, s, be, BatchMode::kAuto)->UseRealTime();
        continue;
      }
      if (be == GemmBackend::kAuto) {  // the default choice as shipped
        std::string name = std::string("gemm/") + s.name + "/auto";
        benchmark::RegisterBenchmark(name.c_str(), run, s, be, BatchMode::kAuto)->UseRealTime();
        continue;
      }
      for (BatchMode mode : {BatchMode::kSerial, BatchMode::kParallel, BatchMode::kPrimitive}) {
        if (mode == BatchMode::kPrimitive && be != GemmBackend::kOneDnnMatmul) continue;  // one library call
        std::string name = std::string("gemm/") + s.name + "/" + tl::gemm_backend_name(be) + "_" +
                           tl::batch_mode_name(mode);
        benchmark::RegisterBenchmark(name.c_str(), run, s, be, mode)->UseRealTime();
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
