// The fused MoE kernel (each expert only on its routed tokens) against the dense formulation of the same block
// (every expert on every token, weighted by the router: what a static-shape graph of einsums computes before
// masking). Scaled-down Mixtral shapes: 256 tokens, d 512, f 1024, 8 SwiGLU experts, top-2.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "tl/kernels.h"

namespace {

constexpr int64_t kT = 256, kD = 512, kF = 1024, kE = 8;

tl::Tensor randn(tl::Shape s, uint32_t seed, float scale) {
  tl::Tensor t = tl::Tensor::empty(s);
  std::mt19937 rng(seed);
  std::normal_distribution<float> d;
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = scale * d(rng);
  return t;
}

void run(benchmark::State& st, tl::MoeRouting routing, int64_t experts_per_token) {
  tl::Tensor x = randn({kT, kD}, 1, 1.0f), router = randn({kE, kD}, 2, 0.05f);
  std::vector<tl::Tensor> ex;
  for (int64_t e = 0; e < kE; ++e) {
    ex.push_back(randn({kF, kD}, uint32_t(10 + e), 0.02f));
    ex.push_back(randn({kF, kD}, uint32_t(30 + e), 0.02f));
    ex.push_back(randn({kD, kF}, uint32_t(50 + e), 0.02f));
  }
  tl::MoeParams p;
  p.routing = routing;
  p.top_k = 2;
  tl::Tensor out = tl::Tensor::empty({kT, kD});
  for (auto _ : st) {
    tl::kernels::moe_into(x, router, ex, p, out);
    benchmark::DoNotOptimize(out.data<float>());
  }
  const double flops = double(kT) * (2.0 * kD * kE + experts_per_token * 3.0 * 2.0 * kD * kF);
  // Rate over wall time (UseRealTime): the GEMMs are multi-threaded.
  st.counters["GFLOP/s"] = benchmark::Counter(flops * double(st.iterations()) * 1e-9, benchmark::Counter::kIsRate);
}

void BM_moe_top2_routed(benchmark::State& st) { run(st, tl::MoeRouting::top_k, 2); }
void BM_moe_dense_all_experts(benchmark::State& st) { run(st, tl::MoeRouting::dense, kE); }
BENCHMARK(BM_moe_top2_routed)->Unit(benchmark::kMillisecond)->MinTime(0.5)->UseRealTime();
BENCHMARK(BM_moe_dense_all_experts)->Unit(benchmark::kMillisecond)->MinTime(0.5)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
