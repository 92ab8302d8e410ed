// tl::qgemm per weight format against f32 tl::sgemm on the same shapes (W [n, k] used as x W^T).
//   build/<dir>/bench_qgemm --benchmark_min_time=0.3s
// m = 1 (decode GEMV): counters GB/s (stored weight bytes read per second, the weight cold: the product
//   cycles through copies totalling 128 MB; compare with stream/read, a STREAM-like read of 256 MB with the
//   same threads, registered first) and Gweights/s (what decides the time per token). m = 512 (prompt): counter GFLOPS
//   (2 m n k / s).
// "+int8" rows: the same product with int8 activations (tl::set_activation_precision; q8_0 / q4_0, m <= 4).
// The f32 rows are "f32" (qgemm with f32 weights, which is tl::sgemm(trans_b) with the auto backend).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tl/gemm.h"
#include "tl/quant.h"
#include "tl/threading.h"

namespace {

struct Shape {
  int64_t m, n, k;
};
const Shape kShapes[] = {{1, 2048, 768}, {1, 768, 2048}, {1, 32000, 768},
                         {512, 2048, 768}, {512, 768, 2048}};

std::vector<float> random_vec(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  for (float& x : v) x = d(g);
  return v;
}

// The weight in format f: quantised from random normals, or random bytes with finite scales for the k-quants.
std::vector<uint8_t> make_weight(tl::WeightFormat f, int64_t n, int64_t k) {
  const int64_t rb = tl::weight_row_bytes(f, k);
  std::vector<uint8_t> out(size_t(n * rb));
  if (tl::can_quantize(f)) {
    std::vector<float> w = random_vec(size_t(n * k), 3);
    for (int64_t j = 0; j < n; ++j) tl::quantize_row(f, w.data() + j * k, out.data() + j * rb, k);
    return out;
  }
  std::mt19937 g(5);
  for (auto& b : out) b = uint8_t(g());
  const int64_t bb = tl::weight_block_bytes(f);
  for (int64_t b = 0; b < n * rb; b += bb) {
    const uint16_t h = tl::f32_to_f16(0.01f);
    if (f == tl::WeightFormat::q4_k) {
      std::memcpy(&out[size_t(b)], &h, 2);
      std::memcpy(&out[size_t(b + 2)], &h, 2);
    } else {
      std::memcpy(&out[size_t(b + 208)], &h, 2);
    }
  }
  return out;
}

void run(benchmark::State& st, Shape s, tl::WeightFormat f, bool int8) {
  const std::vector<uint8_t> w0 = make_weight(f, s.n, s.k);
  // m = 1: cycle through copies of the weight totalling >= 128 MB (4x the 32 MB L3), so every product reads
  // its weight from DRAM, as a decode step over a whole model does.
  const size_t copies = s.m == 1 ? std::max<size_t>(1, (size_t(128) << 20) / w0.size() + 1) : 1;
  std::vector<uint8_t> w(w0.size() * copies);
  for (size_t c = 0; c < copies; ++c) std::memcpy(w.data() + c * w0.size(), w0.data(), w0.size());
  const std::vector<float> x = random_vec(size_t(s.m * s.k), 7);
  std::vector<float> y(size_t(s.m * s.n));
  size_t c = 0;
  tl::set_activation_precision(int8 ? tl::ActivationPrecision::int8 : tl::ActivationPrecision::f32);
  for (auto _ : st) {
    tl::qgemm(s.m, s.n, s.k, x.data(), s.k, w.data() + c * w0.size(), f, y.data(), s.n);
    c = c + 1 == copies ? 0 : c + 1;
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  tl::set_activation_precision(tl::ActivationPrecision::f32);
  const double it = double(st.iterations());
  if (s.m == 1) {
    st.counters["GB/s"] = benchmark::Counter(double(w0.size()) * it / 1e9, benchmark::Counter::kIsRate);
    st.counters["Gweights/s"] = benchmark::Counter(double(s.n * s.k) * it / 1e9, benchmark::Counter::kIsRate);
  } else {
    st.counters["GFLOPS"] = benchmark::Counter(2.0 * double(s.m) * double(s.n) * double(s.k) * it / 1e9,
                                               benchmark::Counter::kIsRate);
  }
}

// STREAM-like read bandwidth with tl::num_threads() threads (sum of a 256 MB array, above the 32 MB L3).
void stream_read(benchmark::State& st) {
  const int64_t n = int64_t(64) << 20;
  std::vector<float> a(size_t(n), 1.0f);
  const int nt = tl::num_threads();
  double total = 0;
  for (auto _ : st) {
    float sum = 0;
#pragma omp parallel for num_threads(nt) schedule(static) reduction(+ : sum)
    for (int64_t i = 0; i < n; ++i) sum += a[size_t(i)];
    benchmark::DoNotOptimize(sum);
    total += double(n) * 4;
  }
  st.counters["GB/s"] = benchmark::Counter(total / 1e9, benchmark::Counter::kIsRate);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RegisterBenchmark("stream/read", stream_read)->UseRealTime();
  for (const Shape& s : kShapes)
    for (tl::WeightFormat f : tl::all_weight_formats()) {
      const std::string name = std::to_string(s.m) + "x" + std::to_string(s.n) + "x" + std::to_string(s.k) + "/" +
                               tl::weight_format_name(f);
      benchmark::RegisterBenchmark(name.c_str(), run, s, f, false)->UseRealTime();
      if (s.m <= tl::kInt8MaxRows && (f == tl::WeightFormat::q8_0 || f == tl::WeightFormat::q4_0))
        benchmark::RegisterBenchmark((name + "+int8").c_str(), run, s, f, true)->UseRealTime();
    }
  benchmark::AddCustomContext("threads", std::to_string(tl::num_threads()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
