// Throughput of the CPU kernels at transformer sizes (BERT-base-like: 12 heads x 512 tokens, d = 768, ffn 3072),
// reported as GB/s of tensor bytes read + written. Peers in the same run: memcpy of the same bytes (the
// bandwidth roof) and a plain scalar libm loop for gelu. Arg = thread count.
//   build/<dir>/bench_kernels --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstring>
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

void BM_Softmax(benchmark::State& st) {
  set_num_threads(int(st.range(0)));
  Tensor x = rand({12 * 512, 512}, -8, 8), y = Tensor::empty(x.shape());  // [heads*q, k]
  for (auto _ : st) kernels::softmax_into(x, -1, std::nullopt, y);
  set_bytes(st, int64_t(2 * x.nbytes()));
}

void BM_SoftmaxCausalMask(benchmark::State& st) {
  set_num_threads(int(st.range(0)));
  Tensor x = rand({12, 512, 512}, -8, 8), y = Tensor::empty(x.shape());  // [heads, q, k]
  Tensor mask = Tensor::zeros({512, 512});                                 // [q, k], broadcast over heads
  float* m = mask.data<float>();
  for (int i = 0; i < 512; ++i)
    for (int j = i + 1; j < 512; ++j) m[i * 512 + j] = -INFINITY;
  for (auto _ : st) kernels::softmax_into(x, -1, mask, y);
  set_bytes(st, int64_t(2 * x.nbytes()));
}

void BM_LayerNorm(benchmark::State& st) {
  set_num_threads(int(st.range(0)));
  Tensor x = rand({512, 768}), y = Tensor::empty(x.shape()), g = rand({768}), b = rand({768});
  for (auto _ : st) kernels::layer_norm_into(x, g, b, 1, 1e-5f, y);
  set_bytes(st, int64_t(2 * x.nbytes()));
}

void BM_RmsNorm(benchmark::State& st) {
  set_num_threads(int(st.range(0)));
  Tensor x = rand({512, 768}), y = Tensor::empty(x.shape()), g = rand({768});
  for (auto _ : st) kernels::rms_norm_into(x, g, 1, 1e-6f, y);
  set_bytes(st, int64_t(2 * x.nbytes()));
}

void BM_Unary(benchmark::State& st, UnaryOp op) {
  set_num_threads(int(st.range(0)));
  Tensor x = rand({512 * 3072}), y = Tensor::empty(x.shape());
  for (auto _ : st) kernels::unary_into(op, x, y);
  set_bytes(st, int64_t(2 * x.nbytes()));
}

// Peer: the textbook scalar loop with libm erf (one thread).
void BM_GeluScalarLibm(benchmark::State& st) {
  set_num_threads(1);
  Tensor x = rand({512 * 3072}), y = Tensor::empty(x.shape());
  const float* xp = x.data<float>();
  float* yp = y.data<float>();
  for (auto _ : st) {
    for (int64_t i = 0; i < x.numel(); ++i) yp[i] = 0.5f * xp[i] * (1.0f + std::erf(xp[i] * 0.70710678f));
    benchmark::DoNotOptimize(yp);
  }
  set_bytes(st, int64_t(2 * x.nbytes()));
}

void BM_AddBroadcast(benchmark::State& st) {
  set_num_threads(int(st.range(0)));
  Tensor a = rand({512, 3072}), b = rand({3072}), y = Tensor::empty(a.shape());  // [tokens, ffn] + [ffn]
  for (auto _ : st) kernels::binary_into(BinaryOp::add, a, b, y);
  set_bytes(st, int64_t(2 * a.nbytes() + b.nbytes()));
}

void BM_SumLastAxis(benchmark::State& st) {
  set_num_threads(int(st.range(0)));
  Tensor x = rand({512, 3072}), y = Tensor::empty({512});
  for (auto _ : st) kernels::reduce_into(ReduceOp::sum, x, {1}, false, y);
  set_bytes(st, int64_t(x.nbytes()));
}

void BM_MeanOverSeq(benchmark::State& st) {
  set_num_threads(int(st.range(0)));
  Tensor x = rand({8, 512, 768}), y = Tensor::empty({8, 768});  // [batch, seq, d] -> [batch, d]
  for (auto _ : st) kernels::reduce_into(ReduceOp::mean, x, {1}, false, y);
  set_bytes(st, int64_t(x.nbytes()));
}

// Peer: memcpy of 512*3072 floats (read + write), the bandwidth roof for the elementwise kernels.
void BM_Memcpy(benchmark::State& st) {
  set_num_threads(1);
  Tensor x = rand({512 * 3072}), y = Tensor::empty(x.shape());
  for (auto _ : st) {
    std::memcpy(y.raw_data(), x.raw_data(), x.nbytes());
    benchmark::DoNotOptimize(y.raw_data());
  }
  set_bytes(st, int64_t(2 * x.nbytes()));
}

#define TL_ARGS ->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond)
BENCHMARK(BM_Softmax) TL_ARGS;
BENCHMARK(BM_SoftmaxCausalMask) TL_ARGS;
BENCHMARK(BM_LayerNorm) TL_ARGS;
BENCHMARK(BM_RmsNorm) TL_ARGS;
BENCHMARK_CAPTURE(BM_Unary, gelu_erf, UnaryOp::gelu_erf) TL_ARGS;
BENCHMARK_CAPTURE(BM_Unary, gelu_tanh, UnaryOp::gelu_tanh) TL_ARGS;
BENCHMARK_CAPTURE(BM_Unary, exp, UnaryOp::exp) TL_ARGS;
BENCHMARK(BM_GeluScalarLibm)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AddBroadcast) TL_ARGS;
BENCHMARK(BM_SumLastAxis) TL_ARGS;
BENCHMARK(BM_MeanOverSeq) TL_ARGS;
BENCHMARK(BM_Memcpy)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
