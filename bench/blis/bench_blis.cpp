// BLIS sgemm on the GEMM benchmark's shapes, timed like bench/bench_gemm.cpp (median of repeats, GFLOPS).
// Built and run by scripts/bench_blis.sh only: BLIS is an optional candidate (libblis-openmp-dev), kept out of
// the main build because its BLAS symbols would clash with OpenBLAS's.
#include <blis.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main() {
  struct Shape { const char* name; dim_t m, n, k; };
  const Shape shapes[] = {{"512x768x768", 512, 768, 768}, {"512x3072x768", 512, 3072, 768},
                          {"2048^3", 2048, 2048, 2048}, {"1x32000x768", 1, 32000, 768}, {"1x768x768", 1, 768, 768}};
  std::printf("# BLIS %s, arch %s, threads %d\n", bli_info_get_version_str(), bli_arch_string(bli_arch_query_id()),
              int(bli_thread_get_num_threads()));
  for (const auto& s : shapes) {
    std::vector<float> a(size_t(s.m * s.k), 0.5f), b(size_t(s.k * s.n), 0.25f), c(size_t(s.m * s.n));
    float alpha = 1.0f, beta = 0.0f;
    auto once = [&] {
      bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, s.m, s.n, s.k, &alpha, a.data(), s.k, 1, b.data(), s.n, 1, &beta,
                c.data(), s.n, 1);
    };
    once();
    std::vector<double> t;
    double total = 0;
    while (t.size() < 7 || (total < 1.0 && t.size() < 200)) {
      auto t0 = std::chrono::steady_clock::now();
      once();
      double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      t.push_back(dt);
      total += dt;
    }
    std::sort(t.begin(), t.end());
    double med = t[t.size() / 2];
    std::printf("blis %-14s %8.1f GFLOPS\n", s.name, 2.0 * double(s.m) * double(s.n) * double(s.k) / med / 1e9);
  }
  return 0;
}
