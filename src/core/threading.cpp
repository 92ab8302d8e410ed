#include "tl/threading.h"

#include <omp.h>

#include "tl/error.h"

namespace tl {

namespace {
int g_threads = 0;  // 0: not set yet, use OpenMP's default (one per available core)
}

int num_threads() {
  if (g_threads == 0) g_threads = omp_get_max_threads();
  return g_threads;
}

void set_num_threads(int n) {
  if (n < 1) TL_THROW(ValueError, "set_num_threads: expected n >= 1, got ", n);
  g_threads = n;
  omp_set_num_threads(n);
}

}  // namespace tl
