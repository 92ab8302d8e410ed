// Attention benchmark (scripts/bench_attention.sh runs it beside PyTorch's scaled_dot_product_attention):
//   flash/<seq>   the fused `attention` op (flash kernel), causal, b=1, h=8, d=64
//   plain/<seq>   the plain graph (einsum, scaled masked softmax, einsum) on the same shapes (seq <= 4096: the
//                 [h, s, s] scores need 4 bytes * h * s^2, 512 MiB at 4096)
//   window/<seq>  flash with a causal sliding window of 512, b=1, h=4, d=64 (cost should grow linearly)
//   dense/<seq>   flash causal without a window on the same shapes
// Counters: arena_MiB = the executor's planned intermediate memory (the peak beyond inputs and outputs),
// tiles = (query tile, key tile) pairs computed.
#include <benchmark/benchmark.h>

#include <random>

#include "tl/kernels.h"
#include "tl/nn/attention.h"
#include "tl/runtime.h"

namespace {

tl::Tensor randn(tl::Shape s, uint32_t seed) {
  tl::Tensor t = tl::Tensor::empty(s);
  std::mt19937 rng(seed);
  std::normal_distribution<float> d;
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = d(rng);
  return t;
}

void run(benchmark::State& st, tl::nn::AttentionImpl impl, int64_t h, int64_t window) {
  const int64_t s = st.range(0), d = 64;
  tl::Graph g;
  tl::Value q = g.input("q", {1, h, s, d}), k = g.input("k", {1, h, s, d}), v = g.input("v", {1, h, s, d});
  tl::nn::SdpaOptions o;
  o.causal = true;
  o.window = window;
  o.impl = impl;
  g.output(tl::nn::sdpa(g, q, k, v, o).out, "y");
  tl::Executor ex(g);
  std::map<std::string, tl::Tensor> in{{"q", randn({1, h, s, d}, 1)}, {"k", randn({1, h, s, d}, 2)},
                                       {"v", randn({1, h, s, d}, 3)}};
  for (auto _ : st) benchmark::DoNotOptimize(ex.run(in));
  tl::AttentionSpec spec;
  spec.causal = true;
  spec.window = window;
  st.counters["arena_MiB"] = double(ex.memory_plan().arena_bytes) / (1 << 20);
  st.counters["tiles"] = double(tl::kernels::attention_tile_counts(s, s, spec).first * h);
}

void flash(benchmark::State& st) { run(st, tl::nn::AttentionImpl::fused, 8, 0); }
void plain(benchmark::State& st) { run(st, tl::nn::AttentionImpl::plain, 8, 0); }
void window(benchmark::State& st) { run(st, tl::nn::AttentionImpl::fused, 4, 512); }
void dense(benchmark::State& st) { run(st, tl::nn::AttentionImpl::fused, 4, 0); }

}  // namespace

BENCHMARK(flash)->Arg(512)->Arg(1024)->Arg(2048)->Arg(4096)->Arg(8192)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(plain)->Arg(512)->Arg(1024)->Arg(2048)->Arg(4096)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(window)->Arg(2048)->Arg(4096)->Arg(8192)->Arg(16384)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(dense)->Arg(2048)->Arg(4096)->Arg(8192)->Arg(16384)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
