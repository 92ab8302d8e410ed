// One interface for single-precision matrix products; the backend behind it is chosen by measurement
// (see README "GEMM backend"). All matrices are row-major with explicit leading dimensions.
#pragma once
#include <cstdint>
#include <string>

namespace tl {

// C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C[m,n]
// op(A) = A (A is [m,k], lda >= k) or A^T (A is [k,m], lda >= m); likewise for B.
// beta == 0 means C is write-only (never read, so it may hold garbage or NaN).
void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// `batch` independent products; operand i starts at a + i*stride_a etc. A stride of 0 broadcasts an operand.
void sgemm_batched(int64_t batch, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                   const float* a, int64_t lda, int64_t stride_a, const float* b, int64_t ldb, int64_t stride_b,
                   float beta, float* c, int64_t ldc, int64_t stride_c);

// Naive triple loop accumulating in double: the reference every backend is tested against. Kept forever.
void sgemm_naive(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                 int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// Name of the active backend (e.g. "onednn", "openblas", "naive").
std::string gemm_backend();

}  // namespace tl
