// OpenBLAS backend (Debian's pthread build, 0.3.21). Its kernel family is picked at load time from the CPU or
// from OPENBLAS_CORETYPE; openblas_corename() reports which.
#include <cblas.h>

#include <atomic>

#include "gemm/gemm_internal.h"
#include "tl/gemm.h"

namespace tl {

std::string openblas_corename() {
  const char* n = openblas_get_corename();
  return n ? n : "unknown";
}

namespace gemm_detail {

// OpenBLAS keeps its own pthread pool; resize it only when the requested count changes.
void openblas_set_threads(int threads) {
  static std::atomic<int> current{0};
  if (current.exchange(threads) != threads) openblas_set_num_threads(threads);
}

void openblas_sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                    const float* b, int64_t ldb, float beta, float* c, int64_t ldc, int threads) {
  openblas_set_threads(threads);
  auto T = [](bool t) { return t ? CblasTrans : CblasNoTrans; };
  // Its sgemm is poor for vector products (a third of the bandwidth limit); sgemv is the library's best.
  if (m == 1) {
    // c[0, j] = sum_p op(A)[0, p] op(B)[p, j]: y = op(B)^T x, x = row 0 of op(A).
    int incx = int(ta ? lda : 1);
    if (tb)  // B is [n, k]
      cblas_sgemv(CblasRowMajor, CblasNoTrans, int(n), int(k), alpha, b, int(ldb), a, incx, beta, c, 1);
    else  // B is [k, n]
      cblas_sgemv(CblasRowMajor, CblasTrans, int(k), int(n), alpha, b, int(ldb), a, incx, beta, c, 1);
    return;
  }
  if (n == 1) {
    // c[i, 0] = sum_p op(A)[i, p] op(B)[p, 0]: y = op(A) x, x = column 0 of op(B).
    int incx = int(tb ? 1 : ldb);
    if (ta)  // A is [k, m]
      cblas_sgemv(CblasRowMajor, CblasTrans, int(k), int(m), alpha, a, int(lda), b, incx, beta, c, int(ldc));
    else  // A is [m, k]
      cblas_sgemv(CblasRowMajor, CblasNoTrans, int(m), int(k), alpha, a, int(lda), b, incx, beta, c, int(ldc));
    return;
  }
  cblas_sgemm(CblasRowMajor, T(ta), T(tb), int(m), int(n), int(k), alpha, a, int(lda), b, int(ldb), beta, c,
              int(ldc));
}

}  // namespace gemm_detail
}  // namespace tl
