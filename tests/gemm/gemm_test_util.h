// Shared helpers for the GEMM tests: padded random matrices and the k-scaled tolerance.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "tl/gemm.h"

namespace tl::test {

// A row-major rows x cols matrix with leading dimension cols + pad; padding holds a sentinel.
struct Mat {
  int64_t rows = 0, cols = 0, ld = 1;
  std::vector<float> v;
  Mat(int64_t r, int64_t c, int64_t pad, uint32_t seed, float sentinel = 1234.5f)
      : rows(r), cols(c), ld(std::max<int64_t>(1, c + pad)), v(size_t(std::max<int64_t>(1, r * ld)), sentinel) {
    std::mt19937 g(seed);
    std::uniform_real_distribution<float> d(-1.0f, 1.0f);
    for (int64_t i = 0; i < r; ++i)
      for (int64_t j = 0; j < c; ++j) v[size_t(i * ld + j)] = d(g);
  }
  float* p() { return v.data(); }
  float at(int64_t i, int64_t j) const { return v[size_t(i * ld + j)]; }
};

// Tolerance for one element of alpha*op(A)op(B) + beta*C computed in float32 by any summation order:
// the standard forward error bound (k + 2) * eps * (|alpha| sum_p |a_ip b_pj| + |beta c_ij|), with a 2x margin.
// `scale` is that bracket, computed by sgemm_naive on absolute values.
inline float tolerance(int64_t k, float scale) {
  return 2.0f * float(k + 2) * std::numeric_limits<float>::epsilon() * scale + 1e-30f;
}

// RAII: selects a backend / batch mode for one test and restores auto afterwards.
struct UseBackend {
  explicit UseBackend(GemmBackend b, BatchMode m = BatchMode::kAuto) {
    set_gemm_backend(b);
    set_batch_mode(m);
  }
  ~UseBackend() {
    set_gemm_backend(GemmBackend::kAuto);
    set_batch_mode(BatchMode::kAuto);
  }
};

inline const std::vector<GemmBackend>& all_backends() {
  static const std::vector<GemmBackend> v = {GemmBackend::kAuto,         GemmBackend::kOneDnn,
                                             GemmBackend::kOneDnnMatmul, GemmBackend::kOneDnnMatmulNoCache,
                                             GemmBackend::kOpenBlas,     GemmBackend::kGemv,
                                             GemmBackend::kBlocked,      GemmBackend::kNaive};
  return v;
}

}  // namespace tl::test
