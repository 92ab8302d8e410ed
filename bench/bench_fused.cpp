// Fused elementwise kernels vs the unfused pair they replace, at BERT-base-like sizes: bias + gelu on the FFN
// hidden activations [512, 3072], and scale + causal mask + softmax on attention scores [12*512, 512]. Reported
// as GB/s of the fused op's bytes (x read + y written; the bias/mask are small or cached), so the unfused pair
// shows the same byte count for a longer time. Arg = thread count.
//   build/<dir>/bench_fused --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>

#include "tl/kernels.h"
#include "tl/threading.h"

namespace {

using namespace tl;

Tensor rand(const Shape& s, float lo = -3, float hi = 3) {
  Tensor t = Tensor::empty(s);
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> u(lo, hi);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = u(rng);
  return t;
}

void set_bytes(benchmark::State& st, int64_t bytes) {
  st.SetBytesProcessed(int64_t(st.iterations()) * bytes);
  st.counters["threads"] = double(num_threads());
}

Tensor causal_mask(int64_t n) {
  Tensor m = Tensor::zeros({n, n});
  float* p = m.data<float>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) p[i * n + j] = -INFINITY;
  return m;
}

void BM_BiasGeluFused(benchmark::State& st) {
  set_num_threads(int(st.range(0)));
  Tensor x = rand({512, 3072}), b = rand({3072}), y = Tensor::empty(x.shape());  // [tokens, ffn]
  for (auto _ : st) kernels::bias_act_into(x, b, UnaryOp::gelu_erf, y);
  set_bytes(st, int64_t(2 * x.nbytes()));
}

void BM_BiasGeluUnfused(benchmark::State& st) {
  set_num_threads(int(st.range(0)));
  Tensor x = rand({512, 3072}), b = rand({3072}), t = Tensor::empty(x.shape()), y = Tensor::empty(x.shape());
  for (auto _ : st) {
    kernels::binary_into(BinaryOp::add, x, b, t);
    kernels::unary_into(UnaryOp::gelu_erf, t, y);
  }
  set_bytes(st, int64_t(2 * x.nbytes()));
}

void BM_ScaleMaskSoftmaxFused(benchmark::State& st) {
  set_num_threads(int(st.range(0)));
  Tensor x = rand({12, 512, 512}, -8, 8), m = causal_mask(512), y = Tensor::empty(x.shape());  // [heads, q, k]
  for (auto _ : st) kernels::scaled_masked_softmax_into(x, 0.125f, m, y);
  set_bytes(st, int64_t(2 * x.nbytes()));
}

void BM_ScaleMaskSoftmaxUnfused(benchmark::State& st) {
  set_num_threads(int(st.range(0)));
  Tensor x = rand({12, 512, 512}, -8, 8), m = causal_mask(512), t = Tensor::empty(x.shape()),
         y = Tensor::empty(x.shape());
  Tensor k = Tensor::full({}, 0.125);
  for (auto _ : st) {
    kernels::binary_into(BinaryOp::mul, x, k, t);
    kernels::softmax_into(t, -1, m, y);
  }
  set_bytes(st, int64_t(2 * x.nbytes()));
}

BENCHMARK(BM_BiasGeluFused)->Arg(1)->Arg(2)->UseRealTime();
BENCHMARK(BM_BiasGeluUnfused)->Arg(1)->Arg(2)->UseRealTime();
BENCHMARK(BM_ScaleMaskSoftmaxFused)->Arg(1)->Arg(2)->UseRealTime();
BENCHMARK(BM_ScaleMaskSoftmaxUnfused)->Arg(1)->Arg(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
