// One interface for single-precision matrix products; the backend behind it is chosen by measurement
// (docs/gemm.md). All matrices are row-major with explicit leading dimensions.
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

// ---- Backend selection (benchmarks and tests compare candidates through these) ----

// kAuto is the measured best per shape (docs/gemm.md): the AVX2 GEMV for m == 1 or n == 1, oneDNN's
// dnnl_sgemm otherwise, and for batches a parallel loop of one-thread products (when the batch splits evenly
// over the threads or is at least 4x their number).
enum class GemmBackend {
  kAuto,
  kOneDnn,               // dnnl_sgemm (row-major, no packing)
  kOneDnnMatmul,         // oneDNN matmul primitive, primitives cached per shape/strides/alpha/beta
  kOneDnnMatmulNoCache,  // the same primitive created on every call (measures what the cache buys)
  kOpenBlas,             // cblas_sgemm, cblas_sgemv for m == 1 / n == 1
  kGemv,                 // hand-written AVX2 GEMV for m == 1 / n == 1, dnnl_sgemm otherwise
  kNaive,                // sgemm_naive (slow; for tests)
};

// How sgemm_batched spreads a batch over the threads.
enum class BatchMode {
  kAuto,
  kSerial,    // one product after another, each using all threads
  kParallel,  // products spread over threads, each product single-threaded
  kPrimitive, // one oneDNN batched matmul primitive (cached) for the whole batch
};

// Parses "auto", "onednn", "onednn_matmul", "onednn_matmul_nocache", "openblas", "gemv", "naive";
// throws ValueError naming the valid choices otherwise.
GemmBackend parse_gemm_backend(const std::string& name);
std::string gemm_backend_name(GemmBackend b);
// Parses "auto", "serial", "parallel", "primitive"; throws ValueError otherwise.
BatchMode parse_batch_mode(const std::string& name);
std::string batch_mode_name(BatchMode m);

// Process-wide selection. Defaults come from the environment variables TL_GEMM and TL_GEMM_BATCH (read once,
// on first use; a bad value throws ValueError from the first GEMM call), else kAuto.
void set_gemm_backend(GemmBackend b);
GemmBackend get_gemm_backend();
void set_batch_mode(BatchMode m);
BatchMode get_batch_mode();

// Name of OpenBLAS's kernel family as chosen at load time (honours OPENBLAS_CORETYPE), e.g. "Haswell".
std::string openblas_corename();

}  // namespace tl
