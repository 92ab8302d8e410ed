// Thread control. Work is parallelised with OpenMP (the same runtime oneDNN uses here, so the two never
// oversubscribe the cores). Default: one thread per available core.
#pragma once
#include <cstdint>

namespace tl {

int num_threads();  // 1 inside an active parallel region (nested regions would run serially)
void set_num_threads(int n);  // n >= 1; throws ValueError otherwise

// Splits [0, n) into chunks of at least `grain` and calls f(begin, end) on each, in parallel when worthwhile.
template <class F>
void parallel_for(int64_t n, int64_t grain, F&& f) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  int64_t chunks = (n + grain - 1) / grain;
  int nt = num_threads();
  if (chunks <= 1 || nt <= 1) {
    f(int64_t(0), n);
    return;
  }
  if (chunks > nt) chunks = nt;
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    int64_t b = n * c / chunks, e = n * (c + 1) / chunks;
    if (b < e) f(b, e);
  }
}

}  // namespace tl
