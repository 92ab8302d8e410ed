// Helpers for the kernel tests: seeded random tensors in any dtype and layout, and a NaN-aware comparison
// that reports the worst element.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "tl/kernels.h"

namespace tl::test {

// Uniform values in [lo, hi), rounded to `dtype` (integers truncated).
inline Tensor rand_tensor(const Shape& shape, DType dtype, uint32_t seed, double lo = -2.0, double hi = 2.0) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  Tensor t = Tensor::empty(shape, dtype);
  for_each_index(shape, [&](std::span<const int64_t> i) {
    double v = u(rng);
    t.set(i, dtype == DType::boolean ? double(v > (lo + hi) / 2) : v);
  });
  return t;
}

enum class Layout { contiguous, transposed, strided };
inline const char* layout_name(Layout l) {
  return l == Layout::contiguous ? "contiguous" : l == Layout::transposed ? "transposed" : "strided";
}

// A tensor of logical `shape` whose memory layout is `layout`: transposed = last two dims swapped in storage
// (rank >= 2, else strided), strided = every other element of a wider last dim.
inline Tensor rand_view(const Shape& shape, DType dtype, Layout layout, uint32_t seed, double lo = -2.0,
                        double hi = 2.0) {
  if (layout == Layout::transposed && shape.size() >= 2) {
    Shape s = shape;
    std::swap(s[s.size() - 1], s[s.size() - 2]);
    return rand_tensor(s, dtype, seed, lo, hi).transpose(-1, -2);
  }
  if (layout != Layout::contiguous && !shape.empty()) {
    Shape s = shape;
    s.back() = 2 * s.back() + 1;
    return rand_tensor(s, dtype, seed, lo, hi).slice(int(s.size()) - 1, 1, s.back(), 2);
  }
  return rand_tensor(shape, dtype, seed, lo, hi);
}

// |got - want| <= atol + rtol * |want| elementwise; NaN must meet NaN, inf the same inf.
inline ::testing::AssertionResult all_close(const Tensor& got, const Tensor& want, double rtol, double atol) {
  if (got.shape() != want.shape())
    return ::testing::AssertionFailure() << "shape " << shape_str(got.shape()) << " vs " << shape_str(want.shape());
  if (got.dtype() != want.dtype())
    return ::testing::AssertionFailure() << "dtype " << dtype_name(got.dtype()) << " vs " << dtype_name(want.dtype());
  auto g = got.to_f64_vector(), w = want.to_f64_vector();
  double worst = 0;
  int64_t bad = -1, worst_i = -1;
  for (size_t i = 0; i < g.size(); ++i) {
    bool ok;
    if (std::isnan(w[i]) || std::isnan(g[i])) ok = std::isnan(w[i]) && std::isnan(g[i]);
    else if (std::isinf(w[i]) || std::isinf(g[i])) ok = g[i] == w[i];
    else {
      double d = std::fabs(g[i] - w[i]);
      ok = d <= atol + rtol * std::fabs(w[i]);
      if (d > worst) worst = d, worst_i = int64_t(i);
    }
    if (!ok && bad < 0) bad = int64_t(i);
  }
  if (bad >= 0)
    return ::testing::AssertionFailure() << "element " << bad << ": got " << g[size_t(bad)] << ", want "
                                         << w[size_t(bad)] << " (max_abs_diff " << worst << " at " << worst_i << ")";
  return ::testing::AssertionSuccess() << "max_abs_diff " << worst;
}

// Runs f() and checks that it throws E with a message containing every one of `words`.
template <class E, class F>
::testing::AssertionResult throws_with(F&& f, std::initializer_list<const char*> words) {
  try {
    f();
  } catch (const E& e) {
    std::string msg = e.what();
    for (const char* w : words)
      if (msg.find(w) == std::string::npos)
        return ::testing::AssertionFailure() << "message \"" << msg << "\" lacks \"" << w << "\"";
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw the wrong type: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

}  // namespace tl::test
