// Vector transcendental functions on simd::V, accurate to a few ulp in f32 (measured against double-precision
// libm in tests/kernels/test_vec_math.cpp). NaN and +/-inf follow the libm results.
#pragma once
#include <limits>

#include "runtime/cpu/kernels/simd.h"

namespace tl::simd {

// exp: Cody-Waite reduction x = n ln2 + r (|r| <= ln2/2), degree-7 Taylor for e^r (truncation < 6e-9),
// and 2^n applied as two factors so results down to the denormal range round once.
inline V exp(V x) {
  x = max_raw(set1(-104.0f), min_raw(set1(89.0f), x));  // keeps NaN (min/max return the 2nd operand)
  V n = round_nearest(mul(x, set1(1.44269504088896341f)));
  V r = fma(n, set1(-0.693359375f), x);
  r = fma(n, set1(2.12194440e-4f), r);
  V p = set1(1.0f / 5040.0f);
  p = fma(p, r, set1(1.0f / 720.0f));
  p = fma(p, r, set1(1.0f / 120.0f));
  p = fma(p, r, set1(1.0f / 24.0f));
  p = fma(p, r, set1(1.0f / 6.0f));
  p = fma(p, r, set1(0.5f));
  p = fma(p, r, set1(1.0f));
  p = fma(p, r, set1(1.0f));
  // Below -150 ln2 the result rounds to 0: give exact zeros rather than underflowing multiplies, which take a
  // slow microcode path (3-4x slower softmax over -inf-masked rows).
  p = select(lt(x, set1(-103.972077f)), set1(0.0f), p);
  V n1 = round_nearest(mul(n, set1(0.5f)));  // n in [-150, 128]: both halves fit a normal 2^k
  V n2 = sub(n, n1);
  return mul(mul(p, exp2i(n1)), exp2i(n2));
}

// exp(hi + lo) for |lo| << 1 (used where the argument carries extra precision).
inline V exp_hilo(V hi, V lo) { return mul(exp(hi), add(set1(1.0f), lo)); }

// log: x = m 2^e with m in [sqrt(1/2), sqrt(2)); log m = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172.
inline V log(V x) {
  V m, e;
  frexp1(x, m, e);
  M big = gt(m, set1(1.41421356f));
  m = select(big, mul(m, set1(0.5f)), m);
  e = select(big, add(e, set1(1.0f)), e);
  V f = sub(m, set1(1.0f));  // exact (Sterbenz)
  V s = div(f, add(f, set1(2.0f)));
  V z = mul(s, s);
  V q = set1(2.0f / 11.0f);
  q = fma(q, z, set1(2.0f / 9.0f));
  q = fma(q, z, set1(2.0f / 7.0f));
  q = fma(q, z, set1(2.0f / 5.0f));
  q = fma(q, z, set1(2.0f / 3.0f));
  q = mul(q, z);
  V lm = fma(s, q, add(s, s));
  V r = fma(e, set1(0.693359375f), fma(e, set1(-2.12194440e-4f), lm));
  const float inf = std::numeric_limits<float>::infinity();
  r = select(lt(x, set1(0.0f)), set1(std::numeric_limits<float>::quiet_NaN()), r);
  r = select(eq(x, set1(0.0f)), set1(-inf), r);
  r = select(eq(x, set1(inf)), set1(inf), r);
  return select(unord(x, x), x, r);
}

// tanh: odd polynomial below |x| = 0.625 (Cephes tanhf), 1 - 2/(e^{2|x|} + 1) above (no cancellation there).
inline V tanh(V x) {
  V z = mul(x, x);
  V p = fma(set1(-5.70498872745e-3f), z, set1(2.06390887954e-2f));
  p = fma(p, z, set1(-5.37397155531e-2f));
  p = fma(p, z, set1(1.33314422036e-1f));
  p = fma(p, z, set1(-3.33332819422e-1f));
  V small = fma(mul(p, z), x, x);
  V a = abs(x);
  V e = exp(add(a, a));
  V big = sub(set1(1.0f), div(set1(2.0f), add(e, set1(1.0f))));
  big = select(lt(x, set1(0.0f)), neg(big), big);
  return select(lt(a, set1(0.625f)), small, big);
}

inline V sigmoid(V x) { return div(set1(1.0f), add(set1(1.0f), exp(neg(x)))); }
inline V silu(V x) { return div(x, add(set1(1.0f), exp(neg(x)))); }

// gelu_tanh = 0.5 x (1 + tanh(u)) = x / (1 + e^{-2u}): the second form has no cancellation for x << 0.
inline V gelu_tanh(V x) {
  V z = mul(x, x);
  V u = mul(mul(set1(0.7978845608028654f), x), fma(set1(0.044715f), z, set1(1.0f)));
  return div(x, add(set1(1.0f), exp(mul(set1(-2.0f), u))));
}

// gelu_erf = 0.5 x erfc(-x/sqrt2). erfc(a), a = |x|/sqrt2 >= 0, by the Numerical Recipes Chebyshev fit
// erfc(a) = t exp(-a^2 + P(t)), t = 1/(1 + a/2), fractional error < 1.2e-7. a^2 = x^2/2 and the exponent sum
// are carried as hi + lo so the large exponent does not amplify rounding; x >= 0 uses 2 - erfc(a).
inline V gelu_erf(V x) {
  V ax = abs(x);
  V a = mul(ax, set1(0.70710678118654752f));
  V t = div(set1(1.0f), fma(set1(0.5f), a, set1(1.0f)));
  V p = set1(0.17087277f);
  p = fma(p, t, set1(-0.82215223f));
  p = fma(p, t, set1(1.48851587f));
  p = fma(p, t, set1(-1.13520398f));
  p = fma(p, t, set1(0.27886807f));
  p = fma(p, t, set1(-0.18628806f));
  p = fma(p, t, set1(0.09678418f));
  p = fma(p, t, set1(0.37409196f));
  p = fma(p, t, set1(1.00002368f));
  p = fma(p, t, set1(-1.26551223f));
  V hi = mul(ax, ax);
  V lo = fma(ax, ax, neg(hi));  // x^2 = hi + lo exactly
  V h = mul(set1(-0.5f), hi);
  V s = add(h, p);  // TwoSum(h, p)
  V bb = sub(s, h);
  V err = add(sub(h, sub(s, bb)), sub(p, bb));
  V e = mul(t, exp_hilo(s, fma(set1(-0.5f), lo, err)));
  e = select(gt(ax, set1(20.0f)), set1(0.0f), e);  // erfc(14.1) underflows; also keeps inf - inf out
  V half_x = mul(set1(0.5f), x);
  return select(lt(x, set1(0.0f)), mul(half_x, e), mul(half_x, sub(set1(2.0f), e)));
}

}  // namespace tl::simd
