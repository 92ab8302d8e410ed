// One interface for single-precision matrix products; the backend behind it is chosen by measurement
// (docs/gemm.md). All matrices are row-major with explicit leading dimensions.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

namespace tl {

// C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C[m,n]
// op(A) = A (A is [m,k], lda >= k) or A^T (A is [k,m], lda >= m); likewise for B.
// beta == 0 means C is write-only (never read, so it may hold garbage or NaN).
void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// ---- Epilogue: an elementwise step fused into the product's write-back ----
// fn(ctx, c, ldc, i0, rows, j0, cols) runs on blocks of the finished C (c is C's origin; the block is rows
// [i0, i0 + rows) x columns [j0, j0 + cols)), every element of C in exactly one call, after its last
// contribution. The blocked kernel calls it on each block while the block is still in cache, so a bias and an
// activation cost no extra pass over C; other backends call it once on all of C afterwards. Calls may run
// concurrently on disjoint blocks, so fn must touch only its block.
struct GemmEpilogue {
  void (*fn)(const void* ctx, float* c, int64_t ldc, int64_t i0, int64_t rows, int64_t j0, int64_t cols) = nullptr;
  const void* ctx = nullptr;
};

// sgemm, then ep on every element of C (see GemmEpilogue).
void sgemm_epilogue(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                    int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc,
                    const GemmEpilogue& ep);

// `batch` independent products; operand i starts at a + i*stride_a etc. A stride of 0 broadcasts an operand.
void sgemm_batched(int64_t batch, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                   const float* a, int64_t lda, int64_t stride_a, const float* b, int64_t ldb, int64_t stride_b,
                   float beta, float* c, int64_t ldc, int64_t stride_c);

// Naive triple loop accumulating in double: the reference every backend is tested against. Kept forever.
void sgemm_naive(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                 int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// ---- Pre-packed right operand (constant weights) ----

// op(B) [k, n] packed once into the blocked kernel's panel layout, for a right operand reused across many
// products (a linear layer's weight W [out, in] used as x W^T: pack with trans_b = true, k = in, n = out).
// It owns a copy, so it is safe by construction: later writes to the source are not seen (pack again after
// changing the weights), and the source may be freed. Copies share the (immutable) packed data.
class PackedB {
 public:
  PackedB() = default;
  int64_t k() const { return k_; }
  int64_t n() const { return n_; }
  bool empty() const { return !data_; }
  int64_t bytes() const { return size_ * int64_t(sizeof(float)); }

 private:
  friend PackedB sgemm_pack_b(bool, int64_t, int64_t, const float*, int64_t);
  friend void sgemm_packed(bool, int64_t, float, const float*, int64_t, const PackedB&, float, float*, int64_t);
  std::shared_ptr<const float> data_;
  int64_t k_ = 0, n_ = 0, kc_ = 0, size_ = 0;
};

// Packs op(B) (B is [k, n] with ldb >= n, or [n, k] with ldb >= k when trans_b). Throws ValueError on bad sizes.
PackedB sgemm_pack_b(bool trans_b, int64_t k, int64_t n, const float* b, int64_t ldb);

// C[m, n] = alpha * op(A)[m, k] * B + beta * C with B pre-packed ([k, n] = b.k() x b.n()); same conventions
// as sgemm. Always runs the blocked kernel, whatever backend is selected.
void sgemm_packed(bool trans_a, int64_t m, float alpha, const float* a, int64_t lda, const PackedB& b, float beta,
                  float* c, int64_t ldc);

// Name of the active backend (e.g. "onednn", "openblas", "naive").
std::string gemm_backend();

// ---- Backend selection (benchmarks and tests compare candidates through these) ----

// kAuto is the measured best per shape (docs/gemm.md): the AVX2 GEMV for m == 1 or n == 1, the blocked
// AVX2/FMA kernel (kBlocked) otherwise, and for batches a parallel loop of one-thread products (when the batch
// splits evenly over the threads or is at least 4x their number).
enum class GemmBackend {
  kAuto,
  kOneDnn,               // dnnl_sgemm (row-major, no packing)
  kOneDnnMatmul,         // oneDNN matmul primitive, primitives cached per shape/strides/alpha/beta
  kOneDnnMatmulNoCache,  // the same primitive created on every call (measures what the cache buys)
  kOpenBlas,             // cblas_sgemm, cblas_sgemv for m == 1 / n == 1
  kGemv,                 // hand-written AVX2 GEMV for m == 1 / n == 1, dnnl_sgemm otherwise
  kBlocked,              // hand-written blocked GEMM (packed panels, 6x16 AVX2/FMA micro-kernel) for all shapes
  kNaive,                // sgemm_naive (slow; for tests)
};

// How sgemm_batched spreads a batch over the threads.
enum class BatchMode {
  kAuto,
  kSerial,    // one product after another, each using all threads
  kParallel,  // products spread over threads, each product single-threaded
  kPrimitive, // one oneDNN batched matmul primitive (cached) for the whole batch
};

// Parses "auto", "onednn", "onednn_matmul", "onednn_matmul_nocache", "openblas", "gemv", "blocked", "naive";
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
