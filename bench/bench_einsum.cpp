// tl::einsum on the transformer shapes (f32, tl::num_threads() threads; run with OMP_NUM_THREADS=2).
// The same shapes, names and FLOP counts as scripts/bench_einsum_peers.py (NumPy, PyTorch);
// scripts/bench_einsum.sh runs both back to back and prints one table.
#include <benchmark/benchmark.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "tl/einsum.h"
#include "tl/gemm.h"
#include "tl/threading.h"

namespace {

struct Case {
  const char* name;
  const char* spec;
  std::map<char, int64_t> sizes;
};

const Case kCases[] = {
    {"linear_512x768x768", "bsd,df->bsf", {{'b', 4}, {'s', 128}, {'d', 768}, {'f', 768}}},
    {"linear_512x3072x768", "bsd,df->bsf", {{'b', 4}, {'s', 128}, {'d', 768}, {'f', 3072}}},
    {"decode_1x32000x768", "bsd,df->bsf", {{'b', 1}, {'s', 1}, {'d', 768}, {'f', 32000}}},
    {"attn_scores_12x512x512x64", "bhqd,bhkd->bhqk", {{'b', 1}, {'h', 12}, {'q', 512}, {'k', 512}, {'d', 64}}},
    {"attn_values_12x512x64x512", "bhqk,bhkd->bhqd", {{'b', 1}, {'h', 12}, {'q', 512}, {'k', 512}, {'d', 64}}},
};

// Operands named by the spec's input terms, uniform in [-1, 1].
std::vector<tl::Tensor> make_operands(const Case& c) {
  std::string spec = c.spec;
  std::string ins = spec.substr(0, spec.find("->"));
  std::vector<tl::Tensor> ops;
  std::mt19937 g(7);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  size_t start = 0;
  while (start <= ins.size()) {
    size_t end = ins.find(',', start);
    if (end == std::string::npos) end = ins.size();
    tl::Shape shape;
    for (size_t i = start; i < end; ++i) shape.push_back(c.sizes.at(ins[i]));
    tl::Tensor t = tl::Tensor::empty(shape);
    float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = d(g);
    ops.push_back(t);
    start = end + 1;
  }
  return ops;
}

void run(benchmark::State& st, const Case& c) {
  std::vector<tl::Tensor> ops = make_operands(c);
  double flops = 2;
  for (auto& [label, size] : c.sizes) flops *= double(size);
  tl::Tensor out = tl::einsum(c.spec, ops);  // warm-up: plan cache, primitives, page faults
  for (auto _ : st) {
    out = tl::einsum(c.spec, ops);
    benchmark::DoNotOptimize(out.raw_data());
  }
  st.counters["GFLOPS"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

int main(int argc, char** argv) {
  for (const Case& c : kCases)
    benchmark::RegisterBenchmark((std::string("einsum/") + c.name).c_str(), run, c)->UseRealTime();
  benchmark::AddCustomContext("threads", std::to_string(tl::num_threads()));
  benchmark::AddCustomContext("gemm_backend", tl::gemm_backend());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
