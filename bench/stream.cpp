// STREAM-like memory bandwidth: the limit that decode (one token at a time, every weight read once per token)
// is judged against. Kernels over f32 arrays far larger than the L3 (default 128 MiB each, the L3 is 32 MiB):
//   copy  a[i] = b[i]              8 bytes/element     scale a[i] = s*b[i]          8 bytes/element
//   add   a[i] = b[i] + c[i]      12 bytes/element     triad a[i] = b[i] + s*c[i]   12 bytes/element
//   sum   s += b[i]  (read only)   4 bytes/element
// Bytes are counted as STREAM does (what the program names; write-allocate traffic not counted). Each kernel
// runs on 1 and 2 OpenMP threads (the runtime the library uses), static schedule, arrays first-touched by
// the threads that use them; best (and median) of --reps runs. Plain main (no Google Benchmark), so the
// output is one small table, or one JSON object with --json (scripts/bench_models.sh reads it).
//
//   stream [--mb 128] [--reps 10] [--threads 1,2] [--json]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

struct Arrays {
  int64_t n;
  float *a, *b, *c;
};

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

float* alloc(int64_t n) {
  void* p = std::aligned_alloc(64, size_t(n) * sizeof(float));
  if (!p) {
    std::fprintf(stderr, "stream: cannot allocate %lld floats\n", (long long)n);
    std::exit(1);
  }
  return static_cast<float*>(p);
}

// Returns seconds for one pass of kernel k on nt threads; `sink` keeps the read-only sum alive.
double run(const Arrays& x, const std::string& k, int nt, double& sink) {
  const int64_t n = x.n;
  float *a = x.a, *b = x.b, *c = x.c;
  const float s = 3.0f;
  const double t0 = now();
  if (k == "copy") {
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t i = 0; i < n; ++i) a[i] = b[i];
  } else if (k == "scale") {
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t i = 0; i < n; ++i) a[i] = s * b[i];
  } else if (k == "add") {
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t i = 0; i < n; ++i) a[i] = b[i] + c[i];
  } else if (k == "triad") {
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
  } else {  // sum
    float acc = 0;
#pragma omp parallel for simd num_threads(nt) schedule(static) reduction(+ : acc)
    for (int64_t i = 0; i < n; ++i) acc += b[i];
    sink += acc;
  }
  const double t = now() - t0;
  sink += a[n / 2];  // the stores are observable
  return t;
}

double bytes_per_element(const std::string& k) {
  if (k == "copy" || k == "scale") return 8;
  if (k == "add" || k == "triad") return 12;
  return 4;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t mb = 128;
  int reps = 10;
  bool json = false;
  std::vector<int> threads = {1, 2};
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "stream: %s needs a value\n", f.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (f == "--mb") {
      mb = std::atoll(value().c_str());
    } else if (f == "--reps") {
      reps = std::atoi(value().c_str());
    } else if (f == "--threads") {
      threads.clear();
      std::string v = value();
      for (size_t p = 0; p < v.size();) {
        size_t q = v.find(',', p);
        if (q == std::string::npos) q = v.size();
        threads.push_back(std::atoi(v.substr(p, q - p).c_str()));
        p = q + 1;
      }
    } else if (f == "--json") {
      json = true;
    } else if (f == "-h" || f == "--help") {
      std::printf("usage: stream [--mb 128] [--reps 10] [--threads 1,2] [--json]\n");
      return 0;
    } else {
      std::fprintf(stderr, "stream: unknown flag %s (expected --mb, --reps, --threads, --json)\n", f.c_str());
      return 2;
    }
  }
  if (mb < 1 || reps < 1 || threads.empty() ||
      std::any_of(threads.begin(), threads.end(), [](int t) { return t < 1; })) {
    std::fprintf(stderr, "stream: --mb, --reps and every --threads entry must be >= 1\n");
    return 2;
  }
  Arrays x{mb * 1024 * 1024 / int64_t(sizeof(float)), nullptr, nullptr, nullptr};
  x.a = alloc(x.n), x.b = alloc(x.n), x.c = alloc(x.n);
  const int first_touch = *std::max_element(threads.begin(), threads.end());
#pragma omp parallel for num_threads(first_touch) schedule(static)
  for (int64_t i = 0; i < x.n; ++i) x.a[i] = 1.0f, x.b[i] = 2.0f, x.c[i] = 0.5f;

  const std::vector<std::string> kernels = {"copy", "scale", "add", "triad", "sum"};
  double sink = 0;
  if (json) std::printf("{\"mb_per_array\": %lld, \"reps\": %d, \"GB/s\": {", (long long)mb, reps);
  else std::printf("# %lld MiB per array, best / median of %d runs, GB/s (1e9 bytes/s)\n%-6s %8s %10s %10s\n",
                   (long long)mb, reps, "kernel", "threads", "best", "median");
  bool first_entry = true;
  for (const auto& k : kernels) {
    for (int nt : threads) {
      std::vector<double> ts;
      run(x, k, nt, sink);  // warm-up
      for (int r = 0; r < reps; ++r) ts.push_back(run(x, k, nt, sink));
      std::sort(ts.begin(), ts.end());
      const double bytes = bytes_per_element(k) * double(x.n);
      const double best = bytes / ts.front() * 1e-9, median = bytes / ts[ts.size() / 2] * 1e-9;
      if (json) {
        std::printf("%s\"%s/%d\": {\"best\": %.3f, \"median\": %.3f}", first_entry ? "" : ", ", k.c_str(), nt, best,
                    median);
      } else {
        std::printf("%-6s %8d %10.2f %10.2f\n", k.c_str(), nt, best, median);
      }
      first_entry = false;
    }
  }
  if (json) std::printf("}, \"checksum\": %g}\n", sink);
  else std::fprintf(stderr, "(checksum %g)\n", sink);
  std::free(x.a), std::free(x.b), std::free(x.c);
  return 0;
}
