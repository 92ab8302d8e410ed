// A minimal float SIMD wrapper so each vector algorithm (exp, log, tanh, erfc, ...) is written once and compiled
// for AVX-512 (16 lanes), AVX2+FMA (8 lanes) or plain scalar code, whichever the build targets. Only what the
// kernels need: arithmetic, FMA, compares to a mask, select, partial loads/stores for row tails, and the two
// exponent manipulations (2^n and frexp) that exp and log are built on.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__AVX512F__) && defined(__AVX512DQ__)
#define TL_SIMD_AVX512 1
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own `__Y = __Y` placeholders (GCC PR 105593),
// which -Werror turns into a build failure under -march=native on AVX-512 machines.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#elif defined(__AVX2__) && defined(__FMA__)
#define TL_SIMD_AVX2 1
#include <immintrin.h>
#endif

namespace tl::simd {

#if defined(TL_SIMD_AVX512)
constexpr int kLanes = 16;
using V = __m512;
using M = __mmask16;
inline V load(const float* p) { return _mm512_loadu_ps(p); }
inline V loadn(const float* p, int n) { return _mm512_maskz_loadu_ps(M((1u << n) - 1), p); }
inline void store(float* p, V v) { _mm512_storeu_ps(p, v); }
inline void storen(float* p, V v, int n) { _mm512_mask_storeu_ps(p, M((1u << n) - 1), v); }
inline V set1(float x) { return _mm512_set1_ps(x); }
inline V add(V a, V b) { return _mm512_add_ps(a, b); }
inline V sub(V a, V b) { return _mm512_sub_ps(a, b); }
inline V mul(V a, V b) { return _mm512_mul_ps(a, b); }
inline V div(V a, V b) { return _mm512_div_ps(a, b); }
inline V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
inline V min_raw(V a, V b) { return _mm512_min_ps(a, b); }  // returns b when either is NaN
inline V max_raw(V a, V b) { return _mm512_max_ps(a, b); }
inline V sqrt(V a) { return _mm512_sqrt_ps(a); }
inline V abs(V a) { return _mm512_abs_ps(a); }
inline V neg(V a) { return _mm512_xor_ps(a, _mm512_set1_ps(-0.0f)); }
inline V round_nearest(V a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline M lt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
inline M le(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ); }
inline M gt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
inline M ge(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
inline M eq(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
inline M ne(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_NEQ_UQ); }  // true when either is NaN
inline M unord(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q); }
inline M mask_or(M a, M b) { return M(a | b); }
inline M mask_and(M a, M b) { return M(a & b); }
inline V select(M m, V yes, V no) { return _mm512_mask_blend_ps(m, no, yes); }
inline unsigned mask_bits(M m) { return unsigned(m); }
inline float hsum(V a) { return _mm512_reduce_add_ps(a); }
inline float hmax_raw(V a) { return _mm512_reduce_max_ps(a); }
inline float hmin_raw(V a) { return _mm512_reduce_min_ps(a); }
// 2^n for integral n in [-126, 127].
inline V exp2i(V n) {
  __m512i i = _mm512_cvtps_epi32(n);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(i, _mm512_set1_epi32(127)), 23));
}
// x = m * 2^e with m in [1, 2), for positive finite x (denormals included).
inline void frexp1(V x, V& m, V& e) {
  m = _mm512_getmant_ps(x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_zero);
  e = _mm512_getexp_ps(x);
}
#elif defined(TL_SIMD_AVX2)
constexpr int kLanes = 8;
using V = __m256;
using M = __m256;
inline __m256i tail_mask(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline V load(const float* p) { return _mm256_loadu_ps(p); }
inline V loadn(const float* p, int n) { return _mm256_maskload_ps(p, tail_mask(n)); }
inline void store(float* p, V v) { _mm256_storeu_ps(p, v); }
inline void storen(float* p, V v, int n) { _mm256_maskstore_ps(p, tail_mask(n), v); }
inline V set1(float x) { return _mm256_set1_ps(x); }
inline V add(V a, V b) { return _mm256_add_ps(a, b); }
inline V sub(V a, V b) { return _mm256_sub_ps(a, b); }
inline V mul(V a, V b) { return _mm256_mul_ps(a, b); }
inline V div(V a, V b) { return _mm256_div_ps(a, b); }
inline V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
inline V min_raw(V a, V b) { return _mm256_min_ps(a, b); }
inline V max_raw(V a, V b) { return _mm256_max_ps(a, b); }
inline V sqrt(V a) { return _mm256_sqrt_ps(a); }
inline V abs(V a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
inline V neg(V a) { return _mm256_xor_ps(a, _mm256_set1_ps(-0.0f)); }
inline V round_nearest(V a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline M lt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
inline M le(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
inline M gt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
inline M ge(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
inline M eq(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
inline M ne(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_NEQ_UQ); }
inline M unord(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_UNORD_Q); }
inline M mask_or(M a, M b) { return _mm256_or_ps(a, b); }
inline M mask_and(M a, M b) { return _mm256_and_ps(a, b); }
inline V select(M m, V yes, V no) { return _mm256_blendv_ps(no, yes, m); }
inline unsigned mask_bits(M m) { return unsigned(_mm256_movemask_ps(m)); }
inline float hsum(V a) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline float hmax_raw(V a) {
  alignas(32) float t[8];
  _mm256_store_ps(t, a);
  float r = t[0];
  for (int i = 1; i < 8; ++i) r = t[i] > r ? t[i] : r;
  return r;
}
inline float hmin_raw(V a) {
  alignas(32) float t[8];
  _mm256_store_ps(t, a);
  float r = t[0];
  for (int i = 1; i < 8; ++i) r = t[i] < r ? t[i] : r;
  return r;
}
inline V exp2i(V n) {
  __m256i i = _mm256_cvtps_epi32(n);
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(i, _mm256_set1_epi32(127)), 23));
}
inline void frexp1(V x, V& m, V& e) {
  // Denormals: scale by 2^23 first so the exponent field is meaningful.
  M small = _mm256_cmp_ps(x, _mm256_set1_ps(1.17549435e-38f), _CMP_LT_OQ);
  V xs = select(small, _mm256_mul_ps(x, _mm256_set1_ps(8388608.0f)), x);
  __m256i bits = _mm256_castps_si256(xs);
  __m256i ei = _mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(127));
  e = _mm256_sub_ps(_mm256_cvtepi32_ps(ei), select(small, _mm256_set1_ps(23.0f), _mm256_setzero_ps()));
  m = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)),
                                          _mm256_set1_epi32(0x3f800000)));
}
#else
constexpr int kLanes = 1;
using V = float;
using M = bool;
inline V load(const float* p) { return *p; }
inline V loadn(const float* p, int n) { return n > 0 ? *p : 0.0f; }
inline void store(float* p, V v) { *p = v; }
inline void storen(float* p, V v, int n) { if (n > 0) *p = v; }
inline V set1(float x) { return x; }
inline V add(V a, V b) { return a + b; }
inline V sub(V a, V b) { return a - b; }
inline V mul(V a, V b) { return a * b; }
inline V div(V a, V b) { return a / b; }
inline V fma(V a, V b, V c) { return std::fma(a, b, c); }
inline V min_raw(V a, V b) { return a < b ? a : b; }
inline V max_raw(V a, V b) { return a > b ? a : b; }
inline V sqrt(V a) { return std::sqrt(a); }
inline V abs(V a) { return std::fabs(a); }
inline V neg(V a) { return -a; }
inline V round_nearest(V a) { return std::nearbyint(a); }
inline M lt(V a, V b) { return a < b; }
inline M le(V a, V b) { return a <= b; }
inline M gt(V a, V b) { return a > b; }
inline M ge(V a, V b) { return a >= b; }
inline M eq(V a, V b) { return a == b; }
inline M ne(V a, V b) { return !(a == b); }
inline M unord(V a, V b) { return a != a || b != b; }
inline M mask_or(M a, M b) { return a || b; }
inline M mask_and(M a, M b) { return a && b; }
inline V select(M m, V yes, V no) { return m ? yes : no; }
inline unsigned mask_bits(M m) { return m ? 1u : 0u; }
inline float hsum(V a) { return a; }
inline float hmax_raw(V a) { return a; }
inline float hmin_raw(V a) { return a; }
inline V exp2i(V n) { return std::ldexp(1.0f, int(n)); }
inline void frexp1(V x, V& m, V& e) {
  int ei = 0;
  m = std::frexp(x, &ei) * 2.0f;
  e = float(ei - 1);
}
#endif

}  // namespace tl::simd
