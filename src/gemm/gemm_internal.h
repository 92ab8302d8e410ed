// Backends behind tl::sgemm. Each takes already-validated arguments with m, n, k >= 1 and alpha != 0, and a
// thread count: 1 means "run on the calling thread only" (used inside the parallel batch loop).
#pragma once
#include <cstdint>

#include "tl/gemm.h"

namespace tl::gemm_detail {

// oneDNN dnnl_sgemm (row-major, no packing).
void onednn_sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                  const float* b, int64_t ldb, float beta, float* c, int64_t ldc, int threads);

// oneDNN matmul primitive over a batch (batch == 1 for a plain product). A zero stride broadcasts. The
// primitive is cached per (shapes, strides, alpha, beta) unless `cache` is false. Returns false (having done
// nothing) when oneDNN only offers its slow reference implementation for this layout.
bool onednn_matmul(int64_t batch, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                   int64_t lda, int64_t sa, const float* b, int64_t ldb, int64_t sb, float beta, float* c,
                   int64_t ldc, int64_t sc, bool cache, int threads);

// Number of primitives in the matmul cache (for tests).
int64_t onednn_matmul_cache_size();

// Sizes OpenBLAS's own thread pool (call before, not inside, a parallel region).
void openblas_set_threads(int threads);

// OpenBLAS cblas_sgemm; cblas_sgemv when m == 1 or n == 1. Dimensions must fit in int (checked by caller).
void openblas_sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                    const float* b, int64_t ldb, float beta, float* c, int64_t ldc, int threads);

// y[r] = alpha * sum_p M[r, p] * x[p] + beta * y[r] for r < rows, p < k, with M[r, p] at
// m[r * row_stride + p * col_stride] where one of the strides is 1; x[p] at x[p * incx]; y[r] at y[r * incy].
// beta == 0 never reads y. Hand-written AVX2/FMA kernel (scalar fallback without AVX2).
void gemv(int64_t rows, int64_t k, float alpha, const float* m, int64_t row_stride, int64_t col_stride,
          const float* x, int64_t incx, float beta, float* y, int64_t incy, int threads);

// Matrix-vector products (decode: f32 gemv, qgemm with m <= 4, int8 activations) below this many
// multiply-adds run on the calling thread: a fork/join then costs more than the second thread saves.
double gemv_parallel_work();

// The hand-written blocked GEMM (gemm_blocked.cpp): packed panels, 6x16 AVX2/FMA micro-kernel.
// `ep` (may be null) runs on each finished MC x NC block of C while it is in cache (tl::GemmEpilogue).
void blocked_sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                   const float* b, int64_t ldb, float beta, float* c, int64_t ldc, int threads,
                   const GemmEpilogue* ep = nullptr);

// A whole op(B) [k, n] in the blocked kernel's layout: KC-row slices one after another, each slice made of
// 16-column panels (the last one zero-padded), panel p of a slice with kc rows at slice + p * kc * 16.
struct PackedBView {
  const float* data;  // 64-byte aligned
  int64_t k, n, kc;
  int64_t slice_offset(int64_t pc) const { return pc * ((n + 15) / 16 * 16); }
};
void blocked_sgemm_packed(bool ta, int64_t m, float alpha, const float* a, int64_t lda, const PackedBView& b,
                          float beta, float* c, int64_t ldc, int threads);
// op(B) produced on the fly (quantised weights, src/gemm/qgemm.cpp): fill(ctx, p0, kc, j0, nc, dst) writes
// op(B)[p0 : p0 + kc, j0 : j0 + nc] as ceil(nc / 16) 16-column panels of kc rows (panel q at dst + q * kc * 16,
// columns past nc zero), exactly as the kernel's own packing would. KC slices are `kc` rows (p0 a multiple).
struct PackBSource {
  void (*fill)(const void* ctx, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float* dst);
  const void* ctx;
  int64_t kc;
};
void blocked_sgemm_source(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                          const PackBSource& b, float beta, float* c, int64_t ldc, int threads,
                          const GemmEpilogue* ep = nullptr);
int64_t packed_b_kc();                          // KC used for new packs
int64_t packed_b_size(int64_t k, int64_t n);    // floats a pack needs (with slack)
void pack_b_whole(bool tb, int64_t k, int64_t n, const float* b, int64_t ldb, int64_t kc, float* dst);

}  // namespace tl::gemm_detail
