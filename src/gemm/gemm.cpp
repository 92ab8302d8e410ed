// Temporary dispatch: the naive reference. Replaced by the measured backend choice.
#include "tl/gemm.h"

namespace tl {

void sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  sgemm_naive(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void sgemm_batched(int64_t batch, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                   int64_t lda, int64_t sa, const float* b, int64_t ldb, int64_t sb, float beta, float* c,
                   int64_t ldc, int64_t sc) {
  for (int64_t i = 0; i < batch; ++i) sgemm(ta, tb, m, n, k, alpha, a + i * sa, lda, b + i * sb, ldb, beta, c + i * sc, ldc);
}

std::string gemm_backend() { return "naive"; }

}  // namespace tl
