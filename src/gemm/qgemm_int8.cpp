// qgemm's int8-activation decode path (include/tl/quant.h, ActivationPrecision::int8): each row of x is rounded
// to q8_0-style blocks (one f32 scale d_x = max|x| / 127 per 32 values, integers in [-127, 127]) and every block
// product with a q8_0 / q4_0 weight block is an exact integer dot product, scaled once: d_w * d_x * (q_w . q_x).
// This is llama.cpp's vec_dot_q8_0_q8_0 / vec_dot_q4_0_q8_0 arithmetic (its activation scale is f16; ours
// stays f32). AVX2: |q_w| (unsigned) times sign-adjusted q_x with maddubs (pairs of products, at most
// 2 * 128 * 127 < 2^15: no saturation), then madd with ones to int32 lanes; with VNNI one dpbusd does both.
// The reference (qgemm_int8_naive) rounds x with the same scalar code and sums the exact block dots in double.
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <vector>

#include "gemm/gemm_internal.h"
#include "gemm/qgemm_internal.h"
#include "gemm/simd_avx2.h"
#include "tl/error.h"
#include "tl/threading.h"

namespace tl {

namespace {

std::atomic<ActivationPrecision> g_precision{ActivationPrecision::f32};

// x rows [m, k] -> int8 blocks qx [m, k], scales dx [m, k / 32] and eight times the block sums sx8 [m, k / 32].
// False when x holds a non-finite value (the caller then keeps the f32 path, which propagates it as IEEE says).
bool quantize_activations(int64_t m, int64_t k, const float* x, int64_t ldx, std::vector<int8_t>& qx,
                          std::vector<float>& dx, std::vector<int32_t>& sx8) {
  const int64_t nb = k / 32;
  qx.resize(size_t(m * k));
  dx.resize(size_t(m * nb));
  sx8.resize(size_t(m * nb));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t b = 0; b < nb; ++b) {
      const float* xp = x + i * ldx + b * 32;
      float amax = 0.0f;
      for (int t = 0; t < 32; ++t) {
        if (!std::isfinite(xp[t])) return false;
        amax = std::max(amax, std::fabs(xp[t]));
      }
      const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
      dx[size_t(i * nb + b)] = d;
      int8_t* q = qx.data() + i * k + b * 32;
      int32_t sum = 0;
      for (int t = 0; t < 32; ++t) {
        q[t] = int8_t(std::nearbyint(xp[t] * id));  // round half to even, |q| <= 127
        sum += q[t];
      }
      sx8[size_t(i * nb + b)] = 8 * sum;
    }
  return true;
}

// The integer values of weight block `wb` (q8_0: 32 int8; q4_0: nibbles - 8) into q[32]; returns d_w.
float weight_block(WeightFormat f, const uint8_t* wb, int8_t* q) {
  uint16_t h;
  std::memcpy(&h, wb, 2);
  const float d = f16_to_f32(h);
  if (f == WeightFormat::q8_0) {
    std::memcpy(q, wb + 2, 32);
  } else {  // q4_0: element t in the low nibble of byte t, element t + 16 in its high nibble
    for (int t = 0; t < 16; ++t) {
      q[t] = int8_t((wb[2 + t] & 0x0F) - 8);
      q[t + 16] = int8_t((wb[2 + t] >> 4) - 8);
    }
  }
  return d;
}

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)

using simd::h2f;
using simd::hsum;
using simd::ld128;
using simd::ld256;

// VNNI (AVX512-VNNI with VL, or AVX-VNNI) sums four u8 x s8 products straight into int32 lanes: one
// instruction for maddubs + madd, and no int16 intermediate to bound.
#if (defined(__AVX512VNNI__) && defined(__AVX512VL__)) || defined(__AVXVNNI__)
#define TL_VNNI 1
#else
#define TL_VNNI 0
#endif

// sum over each group of 4 bytes of u[t] * s[t] (u unsigned, s signed), as 8 int32 lanes; exact (|u| <= 128 here).
inline __m256i dot_u8s8(__m256i u, __m256i s) {
#if TL_VNNI
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
#else
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
#endif
}

// 32 signed weights of one block.
template <WeightFormat F>
inline __m256i load_w(const uint8_t* wb) {
  if constexpr (F == WeightFormat::q8_0) {
    return ld256(wb + 2);
  } else {
    const __m128i v = ld128(wb + 2), m4 = _mm_set1_epi8(0x0F);
    const __m256i n = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m4), _mm_and_si128(v, m4));
    return _mm256_sub_epi8(n, _mm256_set1_epi8(8));
  }
}

template <WeightFormat F, int M>
void rows_int8(int64_t j0, int64_t j1, int64_t k, const int8_t* qx, const float* dx, const uint8_t* w, int64_t rb,
               float* y, int64_t ldy, bool accumulate) {
  constexpr int64_t BB = F == WeightFormat::q8_0 ? 34 : 18;
  const int64_t nb = k / 32;
  for (int64_t j = j0; j < j1; ++j) {
    const uint8_t* wr = w + j * rb;
    __m256 acc[M];
    for (int i = 0; i < M; ++i) acc[i] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* wb = wr + b * BB;
      const float dw = h2f(wb);
      const __m256i qw = load_w<F>(wb);
      const __m256i aw = _mm256_sign_epi8(qw, qw);  // |q_w| as unsigned bytes
#pragma GCC unroll 4
      for (int i = 0; i < M; ++i) {
        const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qx + i * k + b * 32));
        const __m256 p = _mm256_cvtepi32_ps(dot_u8s8(aw, _mm256_sign_epi8(xv, qw)));  // 8 exact partial dots
        acc[i] = _mm256_fmadd_ps(p, _mm256_set1_ps(dw * dx[i * nb + b]), acc[i]);
      }
    }
    for (int i = 0; i < M; ++i) {
      const float sum = hsum(acc[i]);
      float& out = y[i * ldy + j];
      out = accumulate ? out + sum : sum;
    }
  }
}

// ---- q4_0, eight weight rows at a time ----
// Row-at-a-time, every 32-weight block costs a float conversion, a scale and an FMA per row. Here the eight rows'
// 16 nibble bytes are transposed (an in-lane 4x4 dword transpose of two-row vectors) so that lane r of each
// vector holds 4 bytes of row r: x is broadcast 4 bytes at a time, maddubs sums products of the unsigned nibbles
// u in [0, 15] with q_x, and one madd, conversion and FMA per block serve all eight rows (llama.cpp gets the same
// effect by repacking Q4_0 at load; the transpose keeps our layout). The nibble offset 8 is taken out with the
// block sum of q_x: sum (u - 8) q_x = sum u q_x - 8 sum q_x. Bounds: eight maddubs sums of at most 2 * 15 * 127
// each stay below 2^15 in int16.
// sx8 [m, nb]: 8 * sum of each q_x block.
template <int M>
void rows8_q4_0(int64_t j0, int64_t j1, int64_t k, const int8_t* qx, const float* dx, const int32_t* sx8,
                const uint8_t* w, int64_t rb, float* y, int64_t ldy, bool accumulate) {
  const int64_t nb = k / 32;
  [[maybe_unused]] const __m256i ones = _mm256_set1_epi16(1);
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const int64_t group = 8 * rb, step = (group + nb - 1) / nb;  // bytes of eight rows; prefetched per block
  for (int64_t j = j0; j + 8 <= j1; j += 8) {
    const uint8_t* w0 = w + j * rb;
    // Eight interleaved streams defeat the hardware prefetcher (from DRAM, one core: 113 us for 1x2048x768
    // without, 66-78 with): fetch the group two ahead, `step` bytes per block (a cursor, no division per block).
    // Offsets from w0 (a pointer is formed only for bytes inside the rows [j0, j1)).
    int64_t pf = 2 * group;
    const int64_t pf_end = j + 24 <= j1 ? 3 * group : pf;
    __m256 acc[M];
    for (int i = 0; i < M; ++i) acc[i] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
      for (const int64_t e = std::min(pf + step, pf_end); pf < e; pf += 64)
        _mm_prefetch(reinterpret_cast<const char*>(w0 + pf), _MM_HINT_T0);
      const uint8_t* p = w0 + b * 18;
      uint16_t h[8];
      for (int r = 0; r < 8; ++r) std::memcpy(&h[r], p + r * rb, 2);
      const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h)));  // lane r: row r
      __m256i y4[4];  // y4[r] = row r's 16 bytes | row r + 4's
      for (int r = 0; r < 4; ++r)
        y4[r] = _mm256_inserti128_si256(_mm256_castsi128_si256(ld128(p + r * rb + 2)), ld128(p + (r + 4) * rb + 2), 1);
      const __m256i t0 = _mm256_unpacklo_epi32(y4[0], y4[1]), t1 = _mm256_unpackhi_epi32(y4[0], y4[1]);
      const __m256i t2 = _mm256_unpacklo_epi32(y4[2], y4[3]), t3 = _mm256_unpackhi_epi32(y4[2], y4[3]);
      // tg: byte group g (bytes 4g .. 4g + 3) of rows 0..3 in the low half, rows 4..7 in the high half.
      const __m256i tg[4] = {_mm256_unpacklo_epi64(t0, t2), _mm256_unpackhi_epi64(t0, t2),
                             _mm256_unpacklo_epi64(t1, t3), _mm256_unpackhi_epi64(t1, t3)};
      __m256i lo[4], hi[4];  // elements 4g .. 4g + 3 (low nibbles), 16 + 4g .. (high nibbles)
      for (int g = 0; g < 4; ++g) {
        lo[g] = _mm256_and_si256(tg[g], m4);
        hi[g] = _mm256_and_si256(_mm256_srli_epi16(tg[g], 4), m4);
      }
#pragma GCC unroll 4
      for (int i = 0; i < M; ++i) {
        const int8_t* xb = qx + i * k + b * 32;
        auto bx = [&](int off) {
          int32_t v;
          std::memcpy(&v, xb + off, 4);
          return _mm256_set1_epi32(v);
        };
        __m256i s = _mm256_setzero_si256();  // low nibbles meet x[4g ..], high nibbles x[16 + 4g ..]
#if TL_VNNI
        for (int g = 0; g < 4; ++g) {
          s = _mm256_dpbusd_epi32(s, lo[g], bx(4 * g));
          s = _mm256_dpbusd_epi32(s, hi[g], bx(16 + 4 * g));
        }
        const __m256i dot = _mm256_sub_epi32(s, _mm256_set1_epi32(sx8[i * nb + b]));
#else
        for (int g = 0; g < 4; ++g) {
          s = _mm256_add_epi16(s, _mm256_maddubs_epi16(lo[g], bx(4 * g)));
          s = _mm256_add_epi16(s, _mm256_maddubs_epi16(hi[g], bx(16 + 4 * g)));
        }
        const __m256i dot = _mm256_sub_epi32(_mm256_madd_epi16(s, ones), _mm256_set1_epi32(sx8[i * nb + b]));
#endif
        acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(dw, _mm256_set1_ps(dx[i * nb + b])), acc[i]);
      }
    }
    for (int i = 0; i < M; ++i) {
      float* out = y + i * ldy + j;
      _mm256_storeu_ps(out, accumulate ? _mm256_add_ps(_mm256_loadu_ps(out), acc[i]) : acc[i]);
    }
  }
}

template <WeightFormat F>
void run_int8(int64_t m, int64_t n, int64_t k, const int8_t* qx, const float* dx, const int32_t* sx8,
              const uint8_t* w, int64_t rb, float* y, int64_t ldy, bool accumulate) {
  // Rows [j0, j1): q4_0 in groups of eight, the rest one at a time.
  auto run = [&](int64_t j0, int64_t j1) {
    if constexpr (F == WeightFormat::q4_0) {
      const int64_t j8 = j0 + (j1 - j0) / 8 * 8;
      switch (m) {
        case 1: rows8_q4_0<1>(j0, j8, k, qx, dx, sx8, w, rb, y, ldy, accumulate); break;
        case 2: rows8_q4_0<2>(j0, j8, k, qx, dx, sx8, w, rb, y, ldy, accumulate); break;
        case 3: rows8_q4_0<3>(j0, j8, k, qx, dx, sx8, w, rb, y, ldy, accumulate); break;
        default: rows8_q4_0<4>(j0, j8, k, qx, dx, sx8, w, rb, y, ldy, accumulate); break;
      }
      j0 = j8;
    }
    switch (m) {
      case 1: rows_int8<F, 1>(j0, j1, k, qx, dx, w, rb, y, ldy, accumulate); break;
      case 2: rows_int8<F, 2>(j0, j1, k, qx, dx, w, rb, y, ldy, accumulate); break;
      case 3: rows_int8<F, 3>(j0, j1, k, qx, dx, w, rb, y, ldy, accumulate); break;
      default: rows_int8<F, 4>(j0, j1, k, qx, dx, w, rb, y, ldy, accumulate); break;
    }
  };
  // Small products on one thread (a fork/join costs more), as the f32 GEMV; threads split whole 8-row groups.
  if (double(m) * double(n) * double(k) < gemm_detail::gemv_parallel_work()) run(0, n);
  else parallel_for((n + 7) / 8, 2, [&](int64_t g0, int64_t g1) { run(g0 * 8, std::min(n, g1 * 8)); });
}

#endif

}  // namespace

void set_activation_precision(ActivationPrecision p) { g_precision.store(p, std::memory_order_relaxed); }
ActivationPrecision activation_precision() { return g_precision.load(std::memory_order_relaxed); }

bool qgemm_int8(int64_t m, int64_t n, int64_t k, const float* x, int64_t ldx, const void* w, WeightFormat f,
                float* y, int64_t ldy, bool accumulate) {
  const int64_t rb = qgemm_detail::check_qgemm_args("qgemm_int8", m, n, k, x, ldx, w, f, y, ldy);
  if ((f != WeightFormat::q8_0 && f != WeightFormat::q4_0) || m > kInt8MaxRows) return false;
  if (m == 0 || n == 0) return true;
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
  std::vector<int8_t> qx;
  std::vector<float> dx;
  std::vector<int32_t> sx8;
  if (!quantize_activations(m, k, x, ldx, qx, dx, sx8)) return false;
  const auto* wb = static_cast<const uint8_t*>(w);
  if (f == WeightFormat::q8_0)
    run_int8<WeightFormat::q8_0>(m, n, k, qx.data(), dx.data(), sx8.data(), wb, rb, y, ldy, accumulate);
  else run_int8<WeightFormat::q4_0>(m, n, k, qx.data(), dx.data(), sx8.data(), wb, rb, y, ldy, accumulate);
  return true;
#else
  (void)rb;
  return false;  // no AVX2: the f32 path
#endif
}

bool qgemm_int8_naive(int64_t m, int64_t n, int64_t k, const float* x, int64_t ldx, const void* w, WeightFormat f,
                      float* y, int64_t ldy, bool accumulate) {
  const int64_t rb = qgemm_detail::check_qgemm_args("qgemm_int8_naive", m, n, k, x, ldx, w, f, y, ldy);
  if ((f != WeightFormat::q8_0 && f != WeightFormat::q4_0) || m > kInt8MaxRows) return false;
  std::vector<int8_t> qx;
  std::vector<float> dx;
  std::vector<int32_t> sx8;
  if (!quantize_activations(m, k, x, ldx, qx, dx, sx8)) return false;
  const auto* wb = static_cast<const uint8_t*>(w);
  const int64_t nb = k / 32, bb = f == WeightFormat::q8_0 ? 34 : 18;
  int8_t qw[32];
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (int64_t b = 0; b < nb; ++b) {
        const float dw = weight_block(f, wb + j * rb + b * bb, qw);
        int64_t dot = 0;
        for (int t = 0; t < 32; ++t) dot += int64_t(qw[t]) * qx[size_t(i * k + b * 32 + t)];
        sum += double(dw) * double(dx[size_t(i * nb + b)]) * double(dot);
      }
      float& out = y[i * ldy + j];
      out = accumulate ? float(double(out) + sum) : float(sum);
    }
  return true;
}

}  // namespace tl
