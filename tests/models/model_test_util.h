// Fixture helpers for the model parity tests (fixtures: scripts/gen_model_fixtures.py).
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "tl/models.h"
#include "tl/npy.h"

namespace tl::models::test {

inline std::string fixture_dir(const std::string& family) {
  return std::string(TL_FIXTURE_DIR) + "/models/" + family;
}
inline Tensor fixture(const std::string& family, const std::string& name) {
  return read_npy(fixture_dir(family) + "/" + name + ".npy");
}

// Largest |a - b| over all elements; fails the test when the shapes differ.
inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  if (a.shape() != b.shape()) return INFINITY;
  const std::vector<double> x = a.to_f64_vector(), y = b.to_f64_vector();
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::abs(x[i] - y[i]));
  return m;
}

inline std::vector<int64_t> as_ids(const Tensor& t) {
  const std::vector<double> v = t.to_f64_vector();
  return std::vector<int64_t>(v.begin(), v.end());
}

}  // namespace tl::models::test
