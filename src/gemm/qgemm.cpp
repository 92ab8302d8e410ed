// tl::qgemm: y[m, n] = x[m, k] W[n, k]^T with W kept in a weight format (include/tl/quant.h).
//
// Each format has one AVX2 block decoder (Fmt::block below) that turns a block of stored weights into f32
// vectors, 32 values at a time, handing them to a "sink". Two sinks use it:
//   m <= 4 (decode): gemv_rows reads each W row once, decodes in registers and FMAs with the m rows of x
//     (f32 accumulators, several per row to hide FMA latency); rows of W are split over threads. The block
//     formats use gemv_rows_q instead: a second decoder per format (Fmt::iblock) hands over the integer values
//     and the scale, the sums x q run on the integers and the scale (and min term) is applied once per 32
//     weights (callgrind: 8-18% fewer instructions at m = 1 than scaling every weight).
//   m > 4 (prompt): fill_panels decodes W into the blocked GEMM's packed-B panels (KC x 16, via a transpose
//     through an L1 buffer) and the existing 6x16 micro-kernel does the products (gemm_blocked.cpp,
//     blocked_sgemm_source): each W element is decoded once per task, like packing an f32 B.
// The decoders compute exactly the values of tl::dequantize_row (same f32 operations: float(q) * d, then + m or
// - m as separate roundings), so the only difference from qgemm_naive is the f32 summation order.
// f32 weights go straight to tl::sgemm.
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

#include "gemm/gemm_internal.h"
#include "gemm/qgemm_internal.h"
#include "gemm/simd_avx2.h"
#include "tl/error.h"
#include "tl/gemm.h"
#include "tl/threading.h"

namespace tl {

namespace qgemm_detail {

int64_t check_qgemm_args(const char* fn, int64_t m, int64_t n, int64_t k, const float* x, int64_t ldx, const void* w,
                         WeightFormat f, const float* y, int64_t ldy) {
  if (m < 0 || n < 0) TL_THROW(ValueError, "[", fn, "] m = ", m, " and n = ", n, " must be >= 0");
  int64_t rb;
  try {
    rb = weight_row_bytes(f, k);
  } catch (const ValueError& e) {
    TL_THROW(ValueError, "[", fn, "] ", e.what());
  }
  if (m > 0 && ldx < k) TL_THROW(ValueError, "[", fn, "] ldx = ", ldx, " is less than k = ", k);
  if (m > 0 && ldy < n) TL_THROW(ValueError, "[", fn, "] ldy = ", ldy, " is less than n = ", n);
  if (m > 0 && n > 0 && (!x || !w || !y))
    TL_THROW(ValueError, "[", fn, "] null pointer for ", !x ? "x" : !w ? "w" : "y", " with m = ", m, ", n = ", n);
  return rb;
}

}  // namespace qgemm_detail

namespace {

using gemm_detail::PackBSource;

constexpr int64_t kSmallM = 4;   // m <= kSmallM takes the GEMV path
constexpr int64_t KC = 256;
constexpr int64_t kQuantRowsM = 4;  // block formats with m <= this use gemv_rows_q (scale once per run)      // K slice of the GEMM path: a multiple of every block size

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)

using simd::h2f;
using simd::hsum;
using simd::ld128;
using simd::ld256;
// 8 signed / unsigned bytes (the low 8 of v) to floats.
inline __m256 i8f(__m128i v) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v)); }
inline __m256 u8f(__m128i v) { return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v)); }
inline __m128i hi64(__m128i v) { return _mm_srli_si128(v, 8); }

// Block decoders: BS elements per block in BB bytes; block(b, s) calls s(offset, w0, w1, w2, w3) for each
// run of 32 consecutive weights (w0 = elements offset .. offset + 7, ...). `plain` formats have BS = 32 as a
// convenience (any k; the tail past the last full 32 goes through scalar(row, p)).
struct FmtQ8_0 {
  static constexpr int64_t BS = 32, BB = 34;
  static constexpr bool plain = false;
  template <class S>
  static void block(const uint8_t* b, S&& s) {
    const __m256 d = _mm256_set1_ps(h2f(b));
    const __m128i q0 = ld128(b + 2), q1 = ld128(b + 18);
    s(0, _mm256_mul_ps(i8f(q0), d), _mm256_mul_ps(i8f(hi64(q0)), d), _mm256_mul_ps(i8f(q1), d),
      _mm256_mul_ps(i8f(hi64(q1)), d));
  }
  template <class S>
  static void iblock(const uint8_t* b, S&& s) {
    const float d = h2f(b);
    const __m128i q0 = ld128(b + 2), q1 = ld128(b + 18);
    s(0, i8f(q0), i8f(hi64(q0)), i8f(q1), i8f(hi64(q1)), d, d, 0.0f);
  }
};

struct FmtQ4_0 {
  static constexpr int64_t BS = 32, BB = 18;
  static constexpr bool plain = false;
  template <class S>
  static void block(const uint8_t* b, S&& s) {
    const __m256 d = _mm256_set1_ps(h2f(b));
    const __m128i v = ld128(b + 2), m4 = _mm_set1_epi8(0x0F), e8 = _mm_set1_epi8(8);
    const __m128i lo = _mm_sub_epi8(_mm_and_si128(v, m4), e8);                      // elements 0..15
    const __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(v, 4), m4), e8);  // elements 16..31
    s(0, _mm256_mul_ps(i8f(lo), d), _mm256_mul_ps(i8f(hi64(lo)), d), _mm256_mul_ps(i8f(hi), d),
      _mm256_mul_ps(i8f(hi64(hi)), d));
  }
  template <class S>
  static void iblock(const uint8_t* b, S&& s) {
    const float d = h2f(b);
    const __m128i v = ld128(b + 2), m4 = _mm_set1_epi8(0x0F), e8 = _mm_set1_epi8(8);
    const __m128i lo = _mm_sub_epi8(_mm_and_si128(v, m4), e8);
    const __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(v, 4), m4), e8);
    s(0, i8f(lo), i8f(hi64(lo)), i8f(hi), i8f(hi64(hi)), d, d, 0.0f);
  }
};

struct FmtQ4_1 {
  static constexpr int64_t BS = 32, BB = 20;
  static constexpr bool plain = false;
  template <class S>
  static void block(const uint8_t* b, S&& s) {
    const __m256 d = _mm256_set1_ps(h2f(b)), m = _mm256_set1_ps(h2f(b + 2));
    const __m128i v = ld128(b + 4), m4 = _mm_set1_epi8(0x0F);
    const __m128i lo = _mm_and_si128(v, m4), hi = _mm_and_si128(_mm_srli_epi16(v, 4), m4);
    auto w = [&](__m128i q) { return _mm256_add_ps(_mm256_mul_ps(u8f(q), d), m); };
    s(0, w(lo), w(hi64(lo)), w(hi), w(hi64(hi)));
  }
  template <class S>
  static void iblock(const uint8_t* b, S&& s) {
    const float d = h2f(b), m = h2f(b + 2);
    const __m128i v = ld128(b + 4), m4 = _mm_set1_epi8(0x0F);
    const __m128i lo = _mm_and_si128(v, m4), hi = _mm_and_si128(_mm_srli_epi16(v, 4), m4);
    s(0, u8f(lo), u8f(hi64(lo)), u8f(hi), u8f(hi64(hi)), d, d, m);
  }
};

struct FmtQ4_K {
  static constexpr int64_t BS = 256, BB = 144;
  static constexpr bool plain = false;
  // Sub-block is (0..7) of 32 weights: value = d * sc[is] * q - dmin * mn[is] (6-bit scales packed in 12 bytes).
  static void scales(const uint8_t* b, float dd[8], float mm[8]) {
    const float d = h2f(b), dmin = h2f(b + 2);
    const uint8_t* sc = b + 4;
    for (int is = 0; is < 8; ++is) {
      uint8_t scv, mv;
      if (is < 4) {
        scv = sc[is] & 63;
        mv = sc[is + 4] & 63;
      } else {
        scv = uint8_t((sc[is + 4] & 0xF) | ((sc[is - 4] >> 6) << 4));
        mv = uint8_t((sc[is + 4] >> 4) | ((sc[is] >> 6) << 4));
      }
      dd[is] = d * float(scv);
      mm[is] = dmin * float(mv);
    }
  }
  template <class S>
  static void block(const uint8_t* b, S&& s) {
    float dd[8], mm[8];
    scales(b, dd, mm);
    const uint8_t* qs = b + 16;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    for (int j = 0; j < 4; ++j) {  // 64 weights: 32 low nibbles (scale 2j), 32 high nibbles (scale 2j + 1)
      const __m256i v = ld256(qs + 32 * j);
      const __m256i lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
      for (int t = 0; t < 2; ++t) {
        const __m256i q = t == 0 ? lo : hi;
        const __m256 dv = _mm256_set1_ps(dd[2 * j + t]), mv = _mm256_set1_ps(mm[2 * j + t]);
        const __m128i q0 = _mm256_castsi256_si128(q), q1 = _mm256_extracti128_si256(q, 1);
        auto w = [&](__m128i x) { return _mm256_sub_ps(_mm256_mul_ps(dv, u8f(x)), mv); };
        s(64 * j + 32 * t, w(q0), w(hi64(q0)), w(q1), w(hi64(q1)));
      }
    }
  }
  template <class S>
  static void iblock(const uint8_t* b, S&& s) {
    float dd[8], mm[8];
    scales(b, dd, mm);
    const uint8_t* qs = b + 16;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    for (int j = 0; j < 4; ++j) {
      const __m256i v = ld256(qs + 32 * j);
      const __m256i lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
      for (int t = 0; t < 2; ++t) {
        const __m256i q = t == 0 ? lo : hi;
        const __m128i q0 = _mm256_castsi256_si128(q), q1 = _mm256_extracti128_si256(q, 1);
        s(64 * j + 32 * t, u8f(q0), u8f(hi64(q0)), u8f(q1), u8f(hi64(q1)), dd[2 * j + t], dd[2 * j + t],
          -mm[2 * j + t]);
      }
    }
  }
};

struct FmtQ6_K {
  static constexpr int64_t BS = 256, BB = 210;
  static constexpr bool plain = false;
  // Half h of a q6_k block as 4 groups of 32 unsigned 6-bit values: group t holds weights 32t .. 32t + 31 of the
  // half, low 4 bits from ql (A / B), high 2 bits from qh (H) bits 2t, 2t + 1.
  static void unpack_half(const uint8_t* b, int h, __m256i g[4]) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
    const __m256i A = ld256(b + 64 * h), B = ld256(b + 64 * h + 32), H = ld256(b + 128 + 32 * h);
    g[0] = _mm256_or_si256(_mm256_and_si256(A, m4), _mm256_and_si256(_mm256_slli_epi16(H, 4), m30));
    g[1] = _mm256_or_si256(_mm256_and_si256(B, m4), _mm256_and_si256(_mm256_slli_epi16(H, 2), m30));
    g[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(A, 4), m4), _mm256_and_si256(H, m30));
    g[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(B, 4), m4), _mm256_and_si256(_mm256_srli_epi16(H, 2), m30));
  }
  template <class S>
  static void block(const uint8_t* b, S&& s) {
    const float d = h2f(b + 208);
    const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
    const __m256i e32 = _mm256_set1_epi8(32);
    for (int h = 0; h < 2; ++h) {  // 128 weights from ql[64h .. 64h + 63], qh[32h .. 32h + 31], scales 8h ..
      __m256i g[4];
      unpack_half(b, h, g);
      for (int t = 0; t < 4; ++t) {
        const __m256i q = _mm256_sub_epi8(g[t], e32);
        const __m256 d0 = _mm256_set1_ps(d * float(sc[8 * h + 2 * t])), d1 = _mm256_set1_ps(d * float(sc[8 * h + 2 * t + 1]));
        const __m128i q0 = _mm256_castsi256_si128(q), q1 = _mm256_extracti128_si256(q, 1);
        s(128 * h + 32 * t, _mm256_mul_ps(d0, i8f(q0)), _mm256_mul_ps(d0, i8f(hi64(q0))), _mm256_mul_ps(d1, i8f(q1)),
          _mm256_mul_ps(d1, i8f(hi64(q1))));
      }
    }
  }
  template <class S>
  static void iblock(const uint8_t* b, S&& s) {
    const float d = h2f(b + 208);
    const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
    const __m256i e32 = _mm256_set1_epi8(32);
    for (int h = 0; h < 2; ++h) {
      __m256i g[4];
      unpack_half(b, h, g);
      for (int t = 0; t < 4; ++t) {
        const __m256i q = _mm256_sub_epi8(g[t], e32);
        const __m128i q0 = _mm256_castsi256_si128(q), q1 = _mm256_extracti128_si256(q, 1);
        s(128 * h + 32 * t, i8f(q0), i8f(hi64(q0)), i8f(q1), i8f(hi64(q1)), d * float(sc[8 * h + 2 * t]),
          d * float(sc[8 * h + 2 * t + 1]), 0.0f);
      }
    }
  }
};

struct FmtF16 {
  static constexpr int64_t BS = 32, BB = 64;
  static constexpr bool plain = true;
  template <class S>
  static void block(const uint8_t* b, S&& s) {
    s(0, _mm256_cvtph_ps(ld128(b)), _mm256_cvtph_ps(ld128(b + 16)), _mm256_cvtph_ps(ld128(b + 32)),
      _mm256_cvtph_ps(ld128(b + 48)));
  }
  static float scalar(const uint8_t* row, int64_t p) { return h2f(row + 2 * p); }
};

struct FmtBF16 {
  static constexpr int64_t BS = 32, BB = 64;
  static constexpr bool plain = true;
  template <class S>
  static void block(const uint8_t* b, S&& s) {
    auto w = [](const uint8_t* p) {
      return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(ld128(p)), 16));
    };
    s(0, w(b), w(b + 16), w(b + 32), w(b + 48));
  }
  static float scalar(const uint8_t* row, int64_t p) {
    uint16_t h;
    std::memcpy(&h, row + 2 * p, 2);
    return bf16_to_f32(h);
  }
};

// ---- m <= 4: one pass over W rows [j0, j1), M rows of x ----

template <class F, int M>
void gemv_rows(int64_t j0, int64_t j1, int64_t k, const float* x, int64_t ldx, const uint8_t* w, int64_t rb, float* y,
               int64_t ldy, bool accumulate) {
  constexpr int NA = M <= 2 ? 4 : 2;  // accumulators per x row (registers: M * NA + 4 <= 16)
  const int64_t nb = k / F::BS;
  for (int64_t j = j0; j < j1; ++j) {
    const uint8_t* wr = w + j * rb;
    __m256 acc[M][NA];
    for (int i = 0; i < M; ++i)
      for (int a = 0; a < NA; ++a) acc[i][a] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
      const float* xb = x + b * F::BS;
      F::block(wr + b * F::BB, [&](int64_t off, __m256 w0, __m256 w1, __m256 w2, __m256 w3) {
#pragma GCC unroll 4
        for (int i = 0; i < M; ++i) {
          const float* xp = xb + i * ldx + off;
          acc[i][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xp), acc[i][0]);
          acc[i][1] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(xp + 8), acc[i][1]);
          acc[i][2 % NA] = _mm256_fmadd_ps(w2, _mm256_loadu_ps(xp + 16), acc[i][2 % NA]);
          acc[i][3 % NA] = _mm256_fmadd_ps(w3, _mm256_loadu_ps(xp + 24), acc[i][3 % NA]);
        }
      });
    }
    for (int i = 0; i < M; ++i) {
      __m256 t = acc[i][0];
      for (int a = 1; a < NA; ++a) t = _mm256_add_ps(t, acc[i][a]);
      float sum = hsum(t);
      if constexpr (F::plain)
        for (int64_t p = nb * F::BS; p < k; ++p) sum += F::scalar(wr, p) * x[i * ldx + p];
      float& out = y[i * ldy + j];
      out = accumulate ? out + sum : sum;
    }
  }
}

// Quantised formats: per run of 32 weights the sink gets the integer values q (as exact floats), the scale(s)
// and the additive min term mn (value = d * q + mn). Per W row and x row it forms t = sum x q with FMAs and
// applies the scale once per run (acc += d * t), and the min term as mn * sum(x over the run), with the x run
// sums (xs, [M, k / 32]) computed once per call and shared by all W rows. This saves the per-weight multiply
// by d of gemv_rows. q6_k has one scale per 16 weights: two partial sums t0, t1.
template <class F>
constexpr bool kSplit16 = std::is_same_v<F, FmtQ6_K>;
template <class F>
constexpr bool kHasMin = std::is_same_v<F, FmtQ4_1> || std::is_same_v<F, FmtQ4_K>;

template <class F, int M>
void gemv_rows_q(int64_t j0, int64_t j1, int64_t k, const float* x, int64_t ldx, const float* xs, const uint8_t* w,
                 int64_t rb, float* y, int64_t ldy, bool accumulate) {
  constexpr int NA = 2;  // accumulators per x row: blocks alternate between them
  const int64_t nb = k / F::BS, nr = k / 32;
  for (int64_t j = j0; j < j1; ++j) {
    const uint8_t* wr = w + j * rb;
    __m256 acc[M][NA];
    float msum[M];
    for (int i = 0; i < M; ++i) {
      msum[i] = 0.0f;
      for (int a = 0; a < NA; ++a) acc[i][a] = _mm256_setzero_ps();
    }
    auto one = [&](int64_t b, auto a_tag) {
      constexpr int a = decltype(a_tag)::value;
      const float* xb = x + b * F::BS;
      F::iblock(wr + b * F::BB, [&](int64_t off, __m256 q0, __m256 q1, __m256 q2, __m256 q3, float d01, float d23,
                                    float mn) {
        const int64_t r = (b * F::BS + off) / 32;
#pragma GCC unroll 4
        for (int i = 0; i < M; ++i) {
          const float* xp = xb + i * ldx + off;
          constexpr int a2 = (a + (kSplit16<F> ? 1 : 0)) % NA;
          if constexpr (kSplit16<F>) {
            __m256 t0 = _mm256_mul_ps(q0, _mm256_loadu_ps(xp));
            __m256 t1 = _mm256_mul_ps(q2, _mm256_loadu_ps(xp + 16));
            t0 = _mm256_fmadd_ps(q1, _mm256_loadu_ps(xp + 8), t0);
            t1 = _mm256_fmadd_ps(q3, _mm256_loadu_ps(xp + 24), t1);
            acc[i][a] = _mm256_fmadd_ps(t0, _mm256_set1_ps(d01), acc[i][a]);
            acc[i][a2] = _mm256_fmadd_ps(t1, _mm256_set1_ps(d23), acc[i][a2]);
          } else {
            __m256 t = _mm256_mul_ps(q0, _mm256_loadu_ps(xp));
            t = _mm256_fmadd_ps(q1, _mm256_loadu_ps(xp + 8), t);
            t = _mm256_fmadd_ps(q2, _mm256_loadu_ps(xp + 16), t);
            t = _mm256_fmadd_ps(q3, _mm256_loadu_ps(xp + 24), t);
            acc[i][a] = _mm256_fmadd_ps(t, _mm256_set1_ps(d01), acc[i][a]);
            (void)d23;
          }
          if constexpr (kHasMin<F>) msum[i] += mn * xs[i * nr + r];
          else (void)mn, (void)r;
        }
      });
    };
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
      one(b, std::integral_constant<int, 0>{});
      one(b + 1, std::integral_constant<int, 1>{});
    }
    if (b < nb) one(b, std::integral_constant<int, 0>{});
    for (int i = 0; i < M; ++i) {
      const float sum = hsum(_mm256_add_ps(acc[i][0], acc[i][1])) + msum[i];
      float& out = y[i * ldy + j];
      out = accumulate ? out + sum : sum;
    }
  }
}

template <class F>
void gemv(int64_t m, int64_t n, int64_t k, const float* x, int64_t ldx, const uint8_t* w, int64_t rb, float* y,
          int64_t ldy, bool accumulate) {
  if constexpr (!F::plain) {
    // m = 4 callgrind: q8_0 / q4_0 -7% / -5% instructions, but q4_1 / q4_k / q6_k +9% / +20% / +22% (the
    // per-row scale FMAs, min terms and register pressure outweigh the saved multiplies): those stay on
    // gemv_rows for m > 1 (m = 2, 3 not measured).
    const int64_t max_m = std::is_same_v<F, FmtQ8_0> || std::is_same_v<F, FmtQ4_0> ? kQuantRowsM : 1;
    if (m <= max_m) {
      std::vector<float> xs;  // [m, k / 32]: sums of x over each run of 32 (for the min terms)
      if constexpr (kHasMin<F>) {
        const int64_t nr = k / 32;
        xs.resize(size_t(m * nr));
        for (int64_t i = 0; i < m; ++i)
          for (int64_t r = 0; r < nr; ++r) {
            const float* xp = x + i * ldx + 32 * r;
            __m256 t = _mm256_add_ps(_mm256_add_ps(_mm256_loadu_ps(xp), _mm256_loadu_ps(xp + 8)),
                                     _mm256_add_ps(_mm256_loadu_ps(xp + 16), _mm256_loadu_ps(xp + 24)));
            xs[size_t(i * nr + r)] = hsum(t);
          }
      }
      const float* xsp = xs.data();
      auto runq = [&](int64_t j0, int64_t j1) {
        switch (m) {
          case 1: gemv_rows_q<F, 1>(j0, j1, k, x, ldx, xsp, w, rb, y, ldy, accumulate); break;
          case 2: gemv_rows_q<F, 2>(j0, j1, k, x, ldx, xsp, w, rb, y, ldy, accumulate); break;
          case 3: gemv_rows_q<F, 3>(j0, j1, k, x, ldx, xsp, w, rb, y, ldy, accumulate); break;
          default: gemv_rows_q<F, 4>(j0, j1, k, x, ldx, xsp, w, rb, y, ldy, accumulate); break;
        }
      };
      if (double(m) * double(n) * double(k) < gemm_detail::gemv_parallel_work()) runq(0, n);
      else parallel_for(n, 16, runq);
      return;
    }
  }
  auto run = [&](int64_t j0, int64_t j1) {
    switch (m) {
      case 1: gemv_rows<F, 1>(j0, j1, k, x, ldx, w, rb, y, ldy, accumulate); break;
      case 2: gemv_rows<F, 2>(j0, j1, k, x, ldx, w, rb, y, ldy, accumulate); break;
      case 3: gemv_rows<F, 3>(j0, j1, k, x, ldx, w, rb, y, ldy, accumulate); break;
      default: gemv_rows<F, 4>(j0, j1, k, x, ldx, w, rb, y, ldy, accumulate); break;
    }
  };
  if (double(m) * double(n) * double(k) < gemm_detail::gemv_parallel_work()) run(0, n);
  else parallel_for(n, 16, run);
}

// ---- m > 4: decode W into packed-B panels for the blocked GEMM ----

struct FillCtx {
  const uint8_t* w;
  int64_t rb;
};

// Elements [p0, p0 + kc) of one stored row into out (p0 a multiple of BS; kc too unless it ends the row).
template <class F>
void decode_range(const uint8_t* row, int64_t p0, int64_t kc, float* out) {
  const int64_t nb = kc / F::BS;
  const uint8_t* b = row + p0 / F::BS * F::BB;
  for (int64_t i = 0; i < nb; ++i, b += F::BB, out += F::BS)
    F::block(b, [out](int64_t off, __m256 w0, __m256 w1, __m256 w2, __m256 w3) {
      _mm256_store_ps(out + off, w0);
      _mm256_store_ps(out + off + 8, w1);
      _mm256_store_ps(out + off + 16, w2);
      _mm256_store_ps(out + off + 24, w3);
    });
  if constexpr (F::plain)
    for (int64_t p = nb * F::BS; p < kc; ++p) *out++ = F::scalar(row, p0 + p);
}

inline void transpose8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0)), u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0)), u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};

// 16 rows x KC decode buffer per thread (16 KB, L1/L2 resident).
float* decode_buffer() {
  thread_local std::unique_ptr<float, FreeDeleter> buf(static_cast<float*>(std::aligned_alloc(64, 16 * KC * 4)));
  if (!buf) TL_THROW(InternalError, "[qgemm] out of memory for the decode buffer");
  return buf.get();
}

template <class F>
void fill_panels(const void* ctx, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float* dst) {
  const FillCtx& c = *static_cast<const FillCtx*>(ctx);
  float* t = decode_buffer();  // t[i * KC + p]: row i of the panel, element p0 + p
  for (int64_t r0 = 0; r0 < nc; r0 += 16, dst += kc * 16) {
    const int64_t h = std::min<int64_t>(16, nc - r0);
    for (int64_t i = 0; i < h; ++i) decode_range<F>(c.w + (j0 + r0 + i) * c.rb, p0, kc, t + i * KC);
    for (int64_t i = h; i < 16; ++i) std::memset(t + i * KC, 0, size_t(kc) * 4);
    int64_t p = 0;
    for (; p + 8 <= kc; p += 8)
      for (int g = 0; g < 2; ++g) {  // rows 8g .. 8g + 7
        __m256 r[8];
        for (int i = 0; i < 8; ++i) r[i] = _mm256_load_ps(t + (8 * g + i) * KC + p);
        transpose8(r);
        for (int i = 0; i < 8; ++i) _mm256_store_ps(dst + (p + i) * 16 + 8 * g, r[i]);
      }
    for (; p < kc; ++p)
      for (int64_t i = 0; i < 16; ++i) dst[p * 16 + i] = t[i * KC + p];
  }
}

template <class F>
void run_format(int64_t m, int64_t n, int64_t k, const float* x, int64_t ldx, const uint8_t* w, int64_t rb, float* y,
                int64_t ldy, bool accumulate, const GemmEpilogue* ep) {
  if (m <= kSmallM) {
    gemv<F>(m, n, k, x, ldx, w, rb, y, ldy, accumulate);
    if (ep) ep->fn(ep->ctx, y, ldy, 0, m, 0, n);
    return;
  }
  const FillCtx ctx{w, rb};
  const PackBSource src{&fill_panels<F>, &ctx, KC};
  gemm_detail::blocked_sgemm_source(m, n, k, 1.0f, x, ldx, src, accumulate ? 1.0f : 0.0f, y, ldy, num_threads(),
                                    ep);
}

#endif

}  // namespace

void qgemm(int64_t m, int64_t n, int64_t k, const float* x, int64_t ldx, const void* w, WeightFormat f, float* y,
           int64_t ldy, bool accumulate, const GemmEpilogue* ep) {
  const int64_t rb = qgemm_detail::check_qgemm_args("qgemm", m, n, k, x, ldx, w, f, y, ldy);
  if (ep && !ep->fn) TL_THROW(ValueError, "[qgemm] the epilogue has no function");
  if (m == 0 || n == 0) return;
  if (f == WeightFormat::f32) {  // W [n, k] row-major is op(B) = W^T
    const float* wf = static_cast<const float*>(w);
    if (ep) sgemm_epilogue(false, true, m, n, k, 1.0f, x, ldx, wf, k, accumulate ? 1.0f : 0.0f, y, ldy, *ep);
    else sgemm(false, true, m, n, k, 1.0f, x, ldx, wf, k, accumulate ? 1.0f : 0.0f, y, ldy);
    return;
  }
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
  if (m <= kInt8MaxRows && activation_precision() == ActivationPrecision::int8 &&
      qgemm_int8(m, n, k, x, ldx, w, f, y, ldy, accumulate)) {
    if (ep) ep->fn(ep->ctx, y, ldy, 0, m, 0, n);
    return;  // opted in: x rounded to int8 blocks (qgemm_int8.cpp)
  }
  const auto* wb = static_cast<const uint8_t*>(w);
  switch (f) {
    case WeightFormat::f16: run_format<FmtF16>(m, n, k, x, ldx, wb, rb, y, ldy, accumulate, ep); return;
    case WeightFormat::bf16: run_format<FmtBF16>(m, n, k, x, ldx, wb, rb, y, ldy, accumulate, ep); return;
    case WeightFormat::q8_0: run_format<FmtQ8_0>(m, n, k, x, ldx, wb, rb, y, ldy, accumulate, ep); return;
    case WeightFormat::q4_0: run_format<FmtQ4_0>(m, n, k, x, ldx, wb, rb, y, ldy, accumulate, ep); return;
    case WeightFormat::q4_1: run_format<FmtQ4_1>(m, n, k, x, ldx, wb, rb, y, ldy, accumulate, ep); return;
    case WeightFormat::q4_k: run_format<FmtQ4_K>(m, n, k, x, ldx, wb, rb, y, ldy, accumulate, ep); return;
    case WeightFormat::q6_k: run_format<FmtQ6_K>(m, n, k, x, ldx, wb, rb, y, ldy, accumulate, ep); return;
    case WeightFormat::f32: break;
  }
#endif
  (void)rb;
  qgemm_naive(m, n, k, x, ldx, w, f, y, ldy, accumulate);  // portable fallback (no AVX2/FMA/F16C)
  if (ep) ep->fn(ep->ctx, y, ldy, 0, m, 0, n);
}

}  // namespace tl
