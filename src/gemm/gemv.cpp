// Hand-written matrix-vector product for the memory-bound m == 1 / n == 1 products (decode steps, logits).
// It streams the matrix once, split over threads; two layouts:
//   rows contiguous (col_stride == 1): dot products, 4 rows at a time sharing each load of x;
//   columns contiguous (row_stride == 1): y[block] += x[p] * M[p, block] over p, the y block kept in L2 and
//     4 rows of M at a time, so every row is read as a long contiguous run (no page-strided walks).
// Products under gemv_parallel_work() multiply-adds run on one thread (64K with spinning OpenMP workers, 1M with
// OMP_WAIT_POLICY=passive, where every fork wakes a sleeping thread; see there).
#include <immintrin.h>

#include <strings.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "gemm/simd_avx2.h"

#include "gemm/gemm_internal.h"

namespace tl::gemm_detail {

namespace {

inline void store_y(float* y, float acc, float alpha, float beta) {
  *y = beta == 0.0f ? alpha * acc : alpha * acc + beta * *y;
}

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)

using simd::hsum;

// Lane mask with the first `r` (0..8) lanes on.
inline __m256i tail_mask(int64_t r) {
  alignas(32) static const int32_t kMask[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kMask + 8 - r));
}

// y[r] for r in [r0, r1): rows contiguous, ld = row stride.
void dot_rows(int64_t r0, int64_t r1, int64_t k, float alpha, const float* m, int64_t ld, const float* x,
              float beta, float* y) {
  const int64_t k16 = k & ~int64_t(15), k8 = k & ~int64_t(7);
  const __m256i tm = tail_mask(k - k8);
  int64_t r = r0;
  for (; r + 4 <= r1; r += 4) {
    const float* p0 = m + r * ld;
    const float* p1 = p0 + ld;
    const float* p2 = p1 + ld;
    const float* p3 = p2 + ld;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    int64_t p = 0;
    for (; p < k16; p += 16) {
      __m256 x0 = _mm256_loadu_ps(x + p), x1 = _mm256_loadu_ps(x + p + 8);
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(p0 + p), x0, a0);
      a1 = _mm256_fmadd_ps(_mm256_loadu_ps(p1 + p), x0, a1);
      a2 = _mm256_fmadd_ps(_mm256_loadu_ps(p2 + p), x0, a2);
      a3 = _mm256_fmadd_ps(_mm256_loadu_ps(p3 + p), x0, a3);
      b0 = _mm256_fmadd_ps(_mm256_loadu_ps(p0 + p + 8), x1, b0);
      b1 = _mm256_fmadd_ps(_mm256_loadu_ps(p1 + p + 8), x1, b1);
      b2 = _mm256_fmadd_ps(_mm256_loadu_ps(p2 + p + 8), x1, b2);
      b3 = _mm256_fmadd_ps(_mm256_loadu_ps(p3 + p + 8), x1, b3);
    }
    for (; p < k8; p += 8) {
      __m256 x0 = _mm256_loadu_ps(x + p);
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(p0 + p), x0, a0);
      a1 = _mm256_fmadd_ps(_mm256_loadu_ps(p1 + p), x0, a1);
      a2 = _mm256_fmadd_ps(_mm256_loadu_ps(p2 + p), x0, a2);
      a3 = _mm256_fmadd_ps(_mm256_loadu_ps(p3 + p), x0, a3);
    }
    if (p < k) {  // masked loads never touch memory past the row's end
      __m256 x0 = _mm256_maskload_ps(x + p, tm);
      a0 = _mm256_fmadd_ps(_mm256_maskload_ps(p0 + p, tm), x0, a0);
      a1 = _mm256_fmadd_ps(_mm256_maskload_ps(p1 + p, tm), x0, a1);
      a2 = _mm256_fmadd_ps(_mm256_maskload_ps(p2 + p, tm), x0, a2);
      a3 = _mm256_fmadd_ps(_mm256_maskload_ps(p3 + p, tm), x0, a3);
    }
    store_y(y + r, hsum(_mm256_add_ps(a0, b0)), alpha, beta);
    store_y(y + r + 1, hsum(_mm256_add_ps(a1, b1)), alpha, beta);
    store_y(y + r + 2, hsum(_mm256_add_ps(a2, b2)), alpha, beta);
    store_y(y + r + 3, hsum(_mm256_add_ps(a3, b3)), alpha, beta);
  }
  for (; r < r1; ++r) {
    const float* p0 = m + r * ld;
    __m256 a0 = _mm256_setzero_ps();
    int64_t p = 0;
    for (; p < k8; p += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(p0 + p), _mm256_loadu_ps(x + p), a0);
    if (p < k) a0 = _mm256_fmadd_ps(_mm256_maskload_ps(p0 + p, tm), _mm256_maskload_ps(x + p, tm), a0);
    store_y(y + r, hsum(a0), alpha, beta);
  }
}

// y block of 128 KB (kept in L2) while all k rows stream past in runs of up to 128 KB: long runs keep the
// hardware prefetchers trained (1024-column blocks measured ~25% slower per core at 1x32000x768).
constexpr int64_t kColBlock = 32768;

// y[c] for c in [c0, c1): columns contiguous, ld = stride between consecutive p.
void axpy_cols(int64_t c0, int64_t c1, int64_t k, float alpha, const float* m, int64_t ld, const float* x,
               float beta, float* y) {
  alignas(64) static thread_local float acc[kColBlock];  // 128 KB: too big for the stack of pool threads
  for (int64_t cb = c0; cb < c1; cb += kColBlock) {
    const int64_t w = std::min(kColBlock, c1 - cb), w8 = w & ~int64_t(7);
    const __m256i tm = tail_mask(w - w8);
    std::fill(acc, acc + std::min(kColBlock, w8 + 8), 0.0f);  // the masked tail vector reads up to w8 + 8
    int64_t p = 0;
    for (; p + 4 <= k; p += 4) {
      const float* q0 = m + p * ld + cb;
      const float* q1 = q0 + ld;
      const float* q2 = q1 + ld;
      const float* q3 = q2 + ld;
      __m256 x0 = _mm256_set1_ps(x[p]), x1 = _mm256_set1_ps(x[p + 1]), x2 = _mm256_set1_ps(x[p + 2]),
             x3 = _mm256_set1_ps(x[p + 3]);
      int64_t c = 0;
      for (; c < w8; c += 8) {
        __m256 s = _mm256_load_ps(acc + c);
        s = _mm256_fmadd_ps(_mm256_loadu_ps(q0 + c), x0, s);
        s = _mm256_fmadd_ps(_mm256_loadu_ps(q1 + c), x1, s);
        s = _mm256_fmadd_ps(_mm256_loadu_ps(q2 + c), x2, s);
        s = _mm256_fmadd_ps(_mm256_loadu_ps(q3 + c), x3, s);
        _mm256_store_ps(acc + c, s);
      }
      if (c < w) {
        __m256 s = _mm256_load_ps(acc + c);  // acc is a full 1024-float block: in bounds
        s = _mm256_fmadd_ps(_mm256_maskload_ps(q0 + c, tm), x0, s);
        s = _mm256_fmadd_ps(_mm256_maskload_ps(q1 + c, tm), x1, s);
        s = _mm256_fmadd_ps(_mm256_maskload_ps(q2 + c, tm), x2, s);
        s = _mm256_fmadd_ps(_mm256_maskload_ps(q3 + c, tm), x3, s);
        _mm256_store_ps(acc + c, s);
      }
    }
    for (; p < k; ++p) {
      const float* q0 = m + p * ld + cb;
      __m256 x0 = _mm256_set1_ps(x[p]);
      int64_t c = 0;
      for (; c < w8; c += 8) _mm256_store_ps(acc + c, _mm256_fmadd_ps(_mm256_loadu_ps(q0 + c), x0, _mm256_load_ps(acc + c)));
      if (c < w)
        _mm256_store_ps(acc + c, _mm256_fmadd_ps(_mm256_maskload_ps(q0 + c, tm), x0, _mm256_load_ps(acc + c)));
    }
    for (int64_t c = 0; c < w; ++c) store_y(y + cb + c, acc[c], alpha, beta);
  }
}

#else  // scalar fallback for builds without AVX2/FMA

void dot_rows(int64_t r0, int64_t r1, int64_t k, float alpha, const float* m, int64_t ld, const float* x,
              float beta, float* y) {
  for (int64_t r = r0; r < r1; ++r) {
    float acc = 0;
    for (int64_t p = 0; p < k; ++p) acc += m[r * ld + p] * x[p];
    store_y(y + r, acc, alpha, beta);
  }
}

void axpy_cols(int64_t c0, int64_t c1, int64_t k, float alpha, const float* m, int64_t ld, const float* x,
               float beta, float* y) {
  for (int64_t c = c0; c < c1; ++c) {
    float acc = 0;
    for (int64_t p = 0; p < k; ++p) acc += m[p * ld + c] * x[p];
    store_y(y + c, acc, alpha, beta);
  }
}

#endif

}  // namespace

double gemv_parallel_work() {
  // With spinning workers (libgomp's default, OMP_WAIT_POLICY=active) a fork/join costs about a microsecond and a
  // split pays from ~64K multiply-adds: SmolLM2 decode, 2 threads (its layer products are 110K-885K). Session 6
  // moved 1M -> 256K (q8_0 with int8 activations 54 -> 62-66 tok/s, f32 21 -> 30); session 8 found SmolLM2's
  // 110K k/v products still on one thread (7% of the main thread's decode samples, the worker idle meanwhile)
  // and moved to 64K: f32 +3% and q8_0 + int8 +8% (medians of interleaved rounds; the 130M model has no
  // products in that range). With OMP_WAIT_POLICY=passive (tlt's default) every fork wakes a sleeping thread:
  // 1M stays best there (SmolLM2 q8_0 44 tok/s at 1M, 34 at 256K).
  static const double w = [] {
    const char* p = std::getenv("OMP_WAIT_POLICY");
    return p && strcasecmp(p, "passive") == 0 ? double(1 << 20) : double(1 << 16);
  }();
  return w;
}

void gemv(int64_t rows, int64_t k, float alpha, const float* m, int64_t row_stride, int64_t col_stride,
          const float* x, int64_t incx, float beta, float* y, int64_t incy, int threads) {
  // Strided vectors are gathered once (k and rows are small next to the matrix, so this costs little).
  std::vector<float> xbuf, ybuf;
  if (incx != 1) {
    xbuf.resize(size_t(k));
    for (int64_t p = 0; p < k; ++p) xbuf[size_t(p)] = x[p * incx];
    x = xbuf.data();
  }
  float* yd = y;
  if (incy != 1) {
    ybuf.resize(size_t(rows));
    if (beta != 0.0f)
      for (int64_t r = 0; r < rows; ++r) ybuf[size_t(r)] = y[r * incy];
    yd = ybuf.data();
  }
  const bool dot = col_stride == 1 && (row_stride != 1 || k >= rows);
  // Work is cut into 8-row/8-column units (threads never share a 32-byte piece of y), then into chunks taken
  // dynamically: 4 per thread, so a thread the scheduler parks while others share the cores delays only its
  // current chunk. One thread below gemv_parallel_work() multiply-adds.
  const int64_t units = (rows + 7) / 8;
  const int64_t work = rows * k;
  int64_t chunks = threads <= 1 || double(work) < gemv_parallel_work() ? 1 : std::min<int64_t>(units, int64_t(threads) * 4);
  if (!dot && chunks > 1) {
    // Columns contiguous: split the k rows of M between the threads instead, so each thread streams one
    // contiguous slab of the matrix (column chunks read short runs 128 KB apart and stayed ~30% below
    // NumPy's sgemv at 1x32000x768); per-thread partial y vectors are summed at the end.
    const int nt = threads;
    std::vector<float> part(size_t(nt) * size_t(rows));
#pragma omp parallel for num_threads(nt) schedule(static, 1)
    for (int t = 0; t < nt; ++t) {
      const int64_t k0 = k * t / nt, k1 = k * (t + 1) / nt;
      float* pt = part.data() + size_t(t) * size_t(rows);
      if (k1 > k0) axpy_cols(0, rows, k1 - k0, 1.0f, m + k0 * col_stride, col_stride, x + k0, 0.0f, pt);
      else std::fill(pt, pt + rows, 0.0f);
    }
    for (int64_t r = 0; r < rows; ++r) {
      float acc = 0;
      for (int t = 0; t < nt; ++t) acc += part[size_t(t) * size_t(rows) + size_t(r)];
      store_y(yd + r, acc, alpha, beta);
    }
    if (incy != 1)
      for (int64_t r = 0; r < rows; ++r) y[r * incy] = ybuf[size_t(r)];
    return;
  }
  auto body = [&](int64_t c) {
    const int64_t b = std::min(rows, units * c / chunks * 8), e = std::min(rows, units * (c + 1) / chunks * 8);
    if (b >= e) return;
    if (dot) dot_rows(b, e, k, alpha, m, row_stride, x, beta, yd);
    else axpy_cols(b, e, k, alpha, m, col_stride, x, beta, yd);
  };
  if (chunks == 1) {
    body(0);
  } else {
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (int64_t c = 0; c < chunks; ++c) body(c);
  }
  if (incy != 1)
    for (int64_t r = 0; r < rows; ++r) y[r * incy] = ybuf[size_t(r)];
}

}  // namespace tl::gemm_detail
