#include "tl/threading.h"

#include <omp.h>

#include <atomic>

#include "tl/error.h"

namespace tl {

namespace {
// 0: not set yet, use OpenMP's default (one per available core). Atomic: kernels on several caller threads read
// it at once (two models run from two threads), and the first reader fills it in (TSan found the plain int).
std::atomic<int> g_threads{0};
}  // namespace

int num_threads() {
  // Inside an active parallel region (a kernel splitting work of its own, e.g. tl::qgemm_group) a nested region
  // would be serialised by OpenMP anyway: say 1, so kernels called there skip forking and run inline.
  if (omp_in_parallel()) return 1;
  int n = g_threads.load(std::memory_order_relaxed);
  if (n == 0) {
    n = omp_get_max_threads();
    int expected = 0;
    if (!g_threads.compare_exchange_strong(expected, n, std::memory_order_relaxed)) n = expected;
  }
  return n;
}

void set_num_threads(int n) {
  if (n < 1) TL_THROW(ValueError, "set_num_threads: expected n >= 1, got ", n);
  g_threads.store(n, std::memory_order_relaxed);
  omp_set_num_threads(n);
}

}  // namespace tl
