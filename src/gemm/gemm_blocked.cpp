// The hand-written blocked GEMM (backend "blocked", the default for matrix products on AVX2/FMA machines).
// Goto/BLIS structure: C is cut into per-thread tasks; in each, for every KC slice of k, a KC x NC block of
// op(B) is packed into 16-column panels (L2/L3 resident), an MC x KC block of op(A) into MR-row panels (L2
// resident), and a register-blocked micro-kernel walks them, with its B panels (KC x 16 x 4 B = 16 KB each) in
// L1: on AVX2 6x16 (12 ymm accumulators, 2 B vectors, 6 A broadcasts per k step), on AVX-512 12x32 (24 zmm
// accumulators over two adjacent panels, 2 B vectors, 12 A broadcasts; checked on a lent AVX-512 machine with
// scripts/device/avx512_check.sh, since this VM has no AVX-512). Transposes are absorbed by the
// packing; edges are zero-padded in the packs and written back through a small tile buffer. alpha and beta
// are applied at write-back (beta on the first KC slice only; later slices add to C).
// Measurements and the choice of MC/KC/NC and of the thread split are in docs/gemm.md.
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "gemm/gemm_internal.h"
#include "tl/error.h"

namespace tl::gemm_detail {

namespace {

// B panels are 16 columns wide on every ISA (PackedB and the quantised-weight sources fill 16-column panels);
// the tile follows the register file: 6 rows x 2 ymm on AVX2 (12 of 16 registers), 12 rows x 2 panels x 1 zmm
// on AVX-512 (24 of 32; two adjacent panels per call, so each A broadcast feeds two FMAs).
// NRK: columns per micro-kernel call (adjacent panels read together).
#if defined(__AVX512F__)
constexpr int64_t MR = 12, NR = 16, NRK = 32;
#else
constexpr int64_t MR = 6, NR = 16, NRK = 16;
#endif

int64_t env_or(const char* var, int64_t def, int64_t multiple) {
  const char* v = std::getenv(var);
  if (!v || !*v) return def;
  int64_t x = std::atoll(v);
  if (x < multiple) return def;
  return x / multiple * multiple;
}

// Block sizes; TL_GEMM_MC/KC/NC and TL_GEMM_DIRECT_A (panels + 1; 1 = never) override them for tuning runs,
// read once.
// direct: A is read in place (not packed) when a task is at most this many 16-column panels wide (run_task).
struct Blocking {
  int64_t mc, kc, nc, direct;
};
const Blocking& blocking() {
  static const Blocking b{env_or("TL_GEMM_MC", 120, MR), env_or("TL_GEMM_KC", 256, 1),
                          env_or("TL_GEMM_NC", 3072, NR), env_or("TL_GEMM_DIRECT_A", 8 + 1, 1) - 1};
  return b;
}

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};

// Per-thread pack buffers, grown on demand and kept (pool threads live for the process).
float* thread_buffer(int which, size_t floats) {
  thread_local std::unique_ptr<float, FreeDeleter> buf[2];
  thread_local size_t cap[2] = {0, 0};
  if (cap[which] < floats) {
    const size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
    buf[which].reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
    if (!buf[which]) TL_THROW(InternalError, "[gemm] out of memory for a ", bytes, "-byte pack buffer");
    cap[which] = floats;
  }
  return buf[which].get();
}

#if defined(__AVX2__) && defined(__FMA__)

// In-register transpose of an 8x8 block (rows r[0..7] become columns).
inline void transpose8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int h = 0; h < 2; ++h) {  // rows 0-3 (h = 0) and 4-7 (h = 1)
    __m256 a = t[4 * h], b = t[4 * h + 1], c = t[4 * h + 2], d = t[4 * h + 3];
    u[4 * h + 0] = _mm256_shuffle_ps(a, c, _MM_SHUFFLE(1, 0, 1, 0));
    u[4 * h + 1] = _mm256_shuffle_ps(a, c, _MM_SHUFFLE(3, 2, 3, 2));
    u[4 * h + 2] = _mm256_shuffle_ps(b, d, _MM_SHUFFLE(1, 0, 1, 0));
    u[4 * h + 3] = _mm256_shuffle_ps(b, d, _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm256_permute2f128_ps(u[i], u[4 + i], 0x20);
    r[4 + i] = _mm256_permute2f128_ps(u[i], u[4 + i], 0x31);
  }
}

#endif

// Packs rows [0, rows) of a "k-contiguous" operand (element (r, p) at src[r * ld + p], p < kc) into panels of
// `w` rows: dst[panel][p][w], zero rows past `rows`. This is op(A) without transpose (w = MR) and op(B) with
// transpose (w = NR, the linear-layer weight [out, in]). `dst` has w - 1 floats of slack at the end.
void pack_kmajor(const float* src, int64_t ld, int64_t rows, int64_t kc, int64_t w, float* dst) {
  for (int64_t r0 = 0; r0 < rows; r0 += w, dst += kc * w) {
    const int64_t h = std::min(w, rows - r0);
    const float* s = src + r0 * ld;
    int64_t p = 0;
#if defined(__AVX2__) && defined(__FMA__)
    if (h == w) {
      // 8 k values x 8 rows at a time through an in-register transpose. For w = 6 the two extra rows are
      // zeros and each 8-float store spills 2 floats into the next k step's slot (overwritten next; the last
      // one lands in the slack). For w = 12 the second group's 4 live rows are stored alone: a full store
      // would overwrite the next step's first rows, already written by the first group.
      for (; p + 8 <= kc; p += 8) {
        for (int64_t g = 0; g < w; g += 8) {
          __m256 r[8];
          for (int i = 0; i < 8; ++i) r[i] = g + i < w ? _mm256_loadu_ps(s + (g + i) * ld + p) : _mm256_setzero_ps();
          transpose8(r);
          if (w - g == 4) {
            for (int i = 0; i < 8; ++i) _mm_storeu_ps(dst + (p + i) * w + g, _mm256_castps256_ps128(r[i]));
          } else {
            for (int i = 0; i < 8; ++i) _mm256_storeu_ps(dst + (p + i) * w + g, r[i]);
          }
        }
      }
    }
#endif
    for (; p < kc; ++p) {
      for (int64_t i = 0; i < h; ++i) dst[p * w + i] = s[i * ld + p];
      for (int64_t i = h; i < w; ++i) dst[p * w + i] = 0.0f;
    }
  }
}

// Packs a "row-contiguous" operand (element (r, p) at src[p * ld + r], r < rows) into panels of `w` rows:
// op(A) transposed (w = MR) and op(B) plain (w = NR).
void pack_rmajor(const float* src, int64_t ld, int64_t rows, int64_t kc, int64_t w, float* dst) {
  for (int64_t r0 = 0; r0 < rows; r0 += w, dst += kc * w) {
    const int64_t h = std::min(w, rows - r0);
    const float* s = src + r0;
    if (h == w) {
      for (int64_t p = 0; p < kc; ++p) std::memcpy(dst + p * w, s + p * ld, size_t(w) * sizeof(float));
    } else {
      for (int64_t p = 0; p < kc; ++p) {
        for (int64_t i = 0; i < h; ++i) dst[p * w + i] = s[p * ld + i];
        for (int64_t i = h; i < w; ++i) dst[p * w + i] = 0.0f;
      }
    }
  }
}

// op(A)[i0 : i0 + mc, p0 : p0 + kc] into MR-row panels.
void pack_a(bool ta, const float* a, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* dst) {
  if (!ta) pack_kmajor(a + i0 * lda + p0, lda, mc, kc, MR, dst);
  else pack_rmajor(a + p0 * lda + i0, lda, mc, kc, MR, dst);
}

// op(B)[p0 : p0 + kc, j0 : j0 + nc] into NR-column panels.
void pack_b(bool tb, const float* b, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float* dst) {
  if (tb) pack_kmajor(b + j0 * ldb + p0, ldb, nc, kc, NR, dst);
  else pack_rmajor(b + p0 * ldb + j0, ldb, nc, kc, NR, dst);
}

// C tile (mr x nr, mr <= MR, nr <= NRK) = alpha * A Bp + beta * C, Bp being ceil(nr / 16) 16-column panels
// pstride floats apart. A is a packed MR-row panel (element (r, p) at ap[p * MR + r]) or, when kDirect, read in
// place from op(A) = A (element (r, p) at ap[r * lda + p]; rows past mr repeat row mr - 1, so nothing outside A
// is read): that skips packing A for narrow products, where a packed A block would be reused by only a few B
// panels.
#if defined(__AVX512F__)

// NP (1 or 2) 16-column panels at bp and bp + pstride: a 12 x 16 or 12 x 32 tile (12 or 24 zmm accumulators).
// With two panels each broadcast A value serves two FMAs: 12 broadcasts and 2 B loads per 24 FMAs.
template <bool kDirect, int NP>
void tile512(int64_t kc, const float* __restrict ap, int64_t lda, const float* __restrict bp, int64_t pstride,
             float* c, int64_t ldc, int64_t mr, int64_t nr, float alpha, float beta) {
  constexpr int64_t step = kDirect ? 1 : MR;
  const float* a[MR];  // direct: row i's k = 0 element (packed rows interleave: element (i, p) at ap[p MR + i])
  if constexpr (kDirect)
    for (int64_t i = 0; i < MR; ++i) a[i] = ap + std::min(i, mr - 1) * lda;
  for (int64_t i = 0; i < mr; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
  __m512 acc[NP][MR];
  for (int t = 0; t < NP; ++t)
    for (int64_t i = 0; i < MR; ++i) acc[t][i] = _mm512_setzero_ps();
#pragma GCC unroll 2
  for (int64_t p = 0, q = 0; p < kc; ++p, q += step) {
    __m512 b[NP];
    for (int t = 0; t < NP; ++t) b[t] = _mm512_load_ps(bp + t * pstride + p * NR);
#pragma GCC unroll 12
    for (int64_t i = 0; i < MR; ++i) {
      const __m512 x = _mm512_set1_ps(kDirect ? a[i][q] : ap[q + i]);
      for (int t = 0; t < NP; ++t) acc[t][i] = _mm512_fmadd_ps(x, b[t], acc[t][i]);
    }
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  for (int t = 0; t < NP; ++t) {
    const int64_t w = std::min<int64_t>(NR, nr - t * NR);  // columns of this panel inside C
    const __mmask16 cols = __mmask16((1u << w) - 1);
    for (int64_t i = 0; i < mr; ++i) {
      float* ci = c + i * ldc + t * NR;
      __m512 r = _mm512_mul_ps(va, acc[t][i]);
      if (beta != 0.0f) r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(cols, ci), r);
      _mm512_mask_storeu_ps(ci, cols, r);
    }
  }
}

// nr <= 2 NR columns: the second panel (at bp + pstride) is read only when nr > NR.
template <bool kDirect>
void micro_kernel(int64_t kc, const float* __restrict ap, int64_t lda, const float* __restrict bp, int64_t pstride,
                  float* c, int64_t ldc, int64_t mr, int64_t nr, float alpha, float beta) {
  if (nr > NR) tile512<kDirect, 2>(kc, ap, lda, bp, pstride, c, ldc, mr, nr, alpha, beta);
  else tile512<kDirect, 1>(kc, ap, lda, bp, pstride, c, ldc, mr, nr, alpha, beta);
}

#endif

#if defined(__AVX2__) && defined(__FMA__) && !defined(__AVX512F__)

template <bool kDirect>
void micro_kernel(int64_t kc, const float* __restrict ap, int64_t lda, const float* __restrict bp, int64_t,
                  float* c, int64_t ldc, int64_t mr, int64_t nr, float alpha, float beta) {
  constexpr int64_t step = kDirect ? 1 : MR;
  auto row = [&](int64_t i) { return kDirect ? ap + std::min(i, mr - 1) * lda : ap + i; };
  const float *a0 = row(0), *a1 = row(1), *a2 = row(2), *a3 = row(3), *a4 = row(4), *a5 = row(5);
  // The C tile is needed only at the end; start its (likely L2/L3) fetch now, behind the k loop.
  for (int64_t i = 0; i < mr; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
  }
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
         c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#pragma GCC unroll 4
  for (int64_t p = 0, q = 0; p < kc; ++p, q += step) {
    const __m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8);
    __m256 a = _mm256_broadcast_ss(a0 + q);
    c00 = _mm256_fmadd_ps(a, b0, c00);
    c01 = _mm256_fmadd_ps(a, b1, c01);
    a = _mm256_broadcast_ss(a1 + q);
    c10 = _mm256_fmadd_ps(a, b0, c10);
    c11 = _mm256_fmadd_ps(a, b1, c11);
    a = _mm256_broadcast_ss(a2 + q);
    c20 = _mm256_fmadd_ps(a, b0, c20);
    c21 = _mm256_fmadd_ps(a, b1, c21);
    a = _mm256_broadcast_ss(a3 + q);
    c30 = _mm256_fmadd_ps(a, b0, c30);
    c31 = _mm256_fmadd_ps(a, b1, c31);
    a = _mm256_broadcast_ss(a4 + q);
    c40 = _mm256_fmadd_ps(a, b0, c40);
    c41 = _mm256_fmadd_ps(a, b1, c41);
    a = _mm256_broadcast_ss(a5 + q);
    c50 = _mm256_fmadd_ps(a, b0, c50);
    c51 = _mm256_fmadd_ps(a, b1, c51);
    bp += NR;
  }
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  __m256 acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  if (mr == MR && nr == NR) {
    for (int64_t i = 0; i < MR; ++i) {
      float* ci = c + i * ldc;
      __m256 r0 = _mm256_mul_ps(va, acc[i][0]), r1 = _mm256_mul_ps(va, acc[i][1]);
      if (beta != 0.0f) {
        r0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci), r0);
        r1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci + 8), r1);
      }
      _mm256_storeu_ps(ci, r0);
      _mm256_storeu_ps(ci + 8, r1);
    }
    return;
  }
  alignas(32) float t[MR * NR];
  for (int64_t i = 0; i < MR; ++i) {
    _mm256_store_ps(t + i * NR, _mm256_mul_ps(va, acc[i][0]));
    _mm256_store_ps(t + i * NR + 8, _mm256_mul_ps(va, acc[i][1]));
  }
  for (int64_t i = 0; i < mr; ++i)
    for (int64_t j = 0; j < nr; ++j)
      c[i * ldc + j] = beta == 0.0f ? t[i * NR + j] : t[i * NR + j] + beta * c[i * ldc + j];
}

#endif

#if defined(__AVX2__) && defined(__FMA__)

// m == 1 (decode with a pre-packed weight): c[0, 0:nr] = alpha * x Bp + beta * c with x[p] at x[p * incx].
// The 6-row kernel would spend 10 of its 12 FMAs on padding rows; here 4 independent accumulators stream the
// B panel at two 64-byte rows per step.
void row_kernel(int64_t kc, const float* x, int64_t incx, const float* __restrict bp, float* c, int64_t nr,
                float alpha, float beta) {
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, t0 = s0, t1 = s0;
  int64_t p = 0;
  for (; p + 2 <= kc; p += 2, bp += 2 * NR) {
    const __m256 x0 = _mm256_broadcast_ss(x + p * incx), x1 = _mm256_broadcast_ss(x + (p + 1) * incx);
    s0 = _mm256_fmadd_ps(x0, _mm256_load_ps(bp), s0);
    s1 = _mm256_fmadd_ps(x0, _mm256_load_ps(bp + 8), s1);
    t0 = _mm256_fmadd_ps(x1, _mm256_load_ps(bp + NR), t0);
    t1 = _mm256_fmadd_ps(x1, _mm256_load_ps(bp + NR + 8), t1);
  }
  if (p < kc) {
    const __m256 x0 = _mm256_broadcast_ss(x + p * incx);
    s0 = _mm256_fmadd_ps(x0, _mm256_load_ps(bp), s0);
    s1 = _mm256_fmadd_ps(x0, _mm256_load_ps(bp + 8), s1);
  }
  alignas(32) float t[NR];
  _mm256_store_ps(t, _mm256_mul_ps(_mm256_set1_ps(alpha), _mm256_add_ps(s0, t0)));
  _mm256_store_ps(t + 8, _mm256_mul_ps(_mm256_set1_ps(alpha), _mm256_add_ps(s1, t1)));
  for (int64_t j = 0; j < nr; ++j) c[j] = beta == 0.0f ? t[j] : t[j] + beta * c[j];
}

#endif

#if !(defined(__AVX2__) && defined(__FMA__))  // portable fallback (not used on x86-64 builds with -march=native)

void row_kernel(int64_t kc, const float* x, int64_t incx, const float* bp, float* c, int64_t nr, float alpha,
                float beta) {
  float t[NR] = {};
  for (int64_t p = 0; p < kc; ++p)
    for (int64_t j = 0; j < NR; ++j) t[j] += x[p * incx] * bp[p * NR + j];
  for (int64_t j = 0; j < nr; ++j) c[j] = alpha * t[j] + (beta == 0.0f ? 0.0f : beta * c[j]);
}

template <bool kDirect>
void micro_kernel(int64_t kc, const float* ap, int64_t lda, const float* bp, int64_t, float* c, int64_t ldc,
                  int64_t mr, int64_t nr, float alpha, float beta) {
  float t[MR * NR] = {};
  for (int64_t p = 0; p < kc; ++p)
    for (int64_t i = 0; i < mr; ++i)
      for (int64_t j = 0; j < NR; ++j)
        t[i * NR + j] += (kDirect ? ap[i * lda + p] : ap[p * MR + i]) * bp[p * NR + j];
  for (int64_t i = 0; i < mr; ++i)
    for (int64_t j = 0; j < nr; ++j)
      c[i * ldc + j] = alpha * t[i * NR + j] + (beta == 0.0f ? 0.0f : beta * c[i * ldc + j]);
}

#endif

// The product restricted to C[m0 : m1, n0 : n1] on the calling thread. `packed` (may be null) is a whole-B
// pre-pack (see PackedB): its KC slices replace packing B here. `source` (may be null) fills the B blocks
// instead of packing them from b (quantised weights).
void run_task(bool ta, bool tb, int64_t m0, int64_t m1, int64_t n0, int64_t n1, int64_t k, float alpha,
              const float* a, int64_t lda, const float* b, int64_t ldb, const PackedBView* packed,
              const PackBSource* source, float beta, float* c, int64_t ldc, const GemmEpilogue* ep) {
  const Blocking& bl = blocking();
  const int64_t kcb = packed ? packed->kc : source ? source->kc : bl.kc;
  const int64_t mcb = bl.mc, ncb = packed ? (n1 - n0 + NR - 1) / NR * NR : bl.nc;
  // A read in place when each packed A block would serve only a few 16-column B panels.
  // C with a single row (m == 1 for the whole product, never just for one task, so that results do not depend
  // on the split) takes the one-row kernel.
  const bool one_row = m1 - m0 == 1 && m0 == 0;
  const bool direct_a = (!ta && n1 - n0 <= bl.direct * NR) || one_row;
  float* apack = direct_a ? nullptr : thread_buffer(0, size_t(mcb * kcb + MR * NR));
  float* bpack = packed ? nullptr : thread_buffer(1, size_t(std::min(ncb, (n1 - n0 + NR - 1) / NR * NR) * kcb + NR));
  for (int64_t jc = n0; jc < n1; jc += ncb) {
    const int64_t nc = std::min(ncb, n1 - jc);
    for (int64_t pc = 0; pc < k; pc += kcb) {
      const int64_t kc = std::min(kcb, k - pc);
      const float* bp;
      if (packed) {
        bp = packed->data + packed->slice_offset(pc) + (jc / NR) * kc * NR;  // jc is a multiple of NR here
      } else {
        if (source) source->fill(source->ctx, pc, kc, jc, nc, bpack);
        else pack_b(tb, b, ldb, pc, kc, jc, nc, bpack);
        bp = bpack;
      }
      const float beta_here = pc == 0 ? beta : 1.0f;
      const bool last_slice = pc + kc >= k;  // C's block is final after this slice: the epilogue's turn
      if (one_row) {  // op(A)'s row read in place
        const float* x = ta ? a + pc * lda : a + pc;
        for (int64_t jr = 0; jr < nc; jr += NR)
          row_kernel(kc, x, ta ? lda : 1, bp + jr * kc, c + jc + jr, std::min(NR, nc - jr), alpha, beta_here);
        if (ep && last_slice) ep->fn(ep->ctx, c, ldc, 0, 1, jc, nc);
        continue;
      }
      for (int64_t ic = m0; ic < m1; ic += mcb) {
        const int64_t mc = std::min(mcb, m1 - ic);
        if (!direct_a) pack_a(ta, a, lda, ic, mc, pc, kc, apack);
        for (int64_t jr = 0; jr < nc; jr += NRK) {
          const int64_t nr = std::min(NRK, nc - jr);
          float* cj = c + ic * ldc + jc + jr;
          const float* bj = bp + jr * kc;
          if (direct_a) {
            const float* ai = a + ic * lda + pc;
            for (int64_t ir = 0; ir < mc; ir += MR)
              micro_kernel<true>(kc, ai + ir * lda, lda, bj, kc * NR, cj + ir * ldc, ldc, std::min(MR, mc - ir), nr,
                                 alpha, beta_here);
          } else {
            for (int64_t ir = 0; ir < mc; ir += MR)
              micro_kernel<false>(kc, apack + ir * kc, 0, bj, kc * NR, cj + ir * ldc, ldc, std::min(MR, mc - ir), nr,
                                  alpha, beta_here);
          }
        }
        if (ep && last_slice) ep->fn(ep->ctx, c, ldc, ic, mc, jc, nc);  // MC x NC, still in L2
      }
    }
  }
}

// Splits C into tasks over threads: along n (multiples of NR) when n is wide enough, else along m. Each task
// packs its own share of the split operand and all of the other one; the split picks the smaller total.
void run(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
         const float* b, int64_t ldb, const PackedBView* packed, const PackBSource* source, float beta, float* c,
         int64_t ldc, int threads, const GemmEpilogue* ep) {
  // Below ~4M multiply-adds a fork/join costs more than a second core gains (and stalls badly under load).
  const double work = double(m) * double(n) * double(k);
  int nt = threads;
  if (work < 4.0e6) nt = 1;
  const int64_t n_panels = (n + NR - 1) / NR, m_panels = (m + MR - 1) / MR;
  nt = int(std::min<int64_t>(nt, std::max(n_panels, m_panels)));
  if (nt <= 1) {
    run_task(ta, tb, 0, m, 0, n, k, alpha, a, lda, b, ldb, packed, source, beta, c, ldc, ep);
    return;
  }
  // Per-thread packing work (elements) for each split; a pre-packed B costs nothing to "pack".
  const double b_cost = packed ? 0.0 : double(k) * double(n);
  const double split_n = double(m) * double(k) + b_cost / nt, split_m = double(m) * double(k) / nt + b_cost;
  const bool along_n = packed ? n_panels >= nt : (n_panels >= nt && (split_n <= split_m || m_panels < nt));
#pragma omp parallel for num_threads(nt) schedule(static, 1)
  for (int t = 0; t < nt; ++t) {
    if (along_n) {
      const int64_t j0 = n_panels * t / nt * NR, j1 = std::min(n, n_panels * (t + 1) / nt * NR);
      if (j0 < j1) run_task(ta, tb, 0, m, j0, j1, k, alpha, a, lda, b, ldb, packed, source, beta, c, ldc, ep);
    } else {
      const int64_t i0 = m_panels * t / nt * MR, i1 = std::min(m, m_panels * (t + 1) / nt * MR);
      if (i0 < i1) run_task(ta, tb, i0, i1, 0, n, k, alpha, a, lda, b, ldb, packed, source, beta, c, ldc, ep);
    }
  }
}

}  // namespace

void blocked_sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                   const float* b, int64_t ldb, float beta, float* c, int64_t ldc, int threads,
                   const GemmEpilogue* ep) {
  run(ta, tb, m, n, k, alpha, a, lda, b, ldb, nullptr, nullptr, beta, c, ldc, threads, ep);
}

void blocked_sgemm_packed(bool ta, int64_t m, float alpha, const float* a, int64_t lda, const PackedBView& b,
                          float beta, float* c, int64_t ldc, int threads) {
  run(ta, false, m, b.n, b.k, alpha, a, lda, nullptr, 0, &b, nullptr, beta, c, ldc, threads, nullptr);
}

void blocked_sgemm_source(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                          const PackBSource& b, float beta, float* c, int64_t ldc, int threads,
                          const GemmEpilogue* ep) {
  run(false, true, m, n, k, alpha, a, lda, nullptr, 0, nullptr, &b, beta, c, ldc, threads, ep);
}

int64_t packed_b_kc() { return blocking().kc; }

int64_t packed_b_size(int64_t k, int64_t n) { return k * ((n + NR - 1) / NR * NR) + NR; }

void pack_b_whole(bool tb, int64_t k, int64_t n, const float* b, int64_t ldb, int64_t kc, float* dst) {
  const int64_t np = (n + NR - 1) / NR * NR;
  for (int64_t pc = 0; pc < k; pc += kc) pack_b(tb, b, ldb, pc, std::min(kc, k - pc), 0, n, dst + pc * np);
}

}  // namespace tl::gemm_detail
