// Helpers shared by the einsum tests: fixture manifest reading, tolerance, comparisons.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tl/einsum.h"
#include "tl/npy.h"

namespace einsum_test {

inline std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> r;
  std::string cur;
  std::istringstream is(s);
  while (std::getline(is, cur, sep)) r.push_back(cur);
  return r;
}

// Lines of a tab-separated fixture manifest.
inline std::vector<std::vector<std::string>> read_manifest(const std::string& file) {
  std::ifstream f(std::string(TL_FIXTURE_DIR) + "/einsum/" + file);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(f, line))
    if (!line.empty()) rows.push_back(split(line, '\t'));
  return rows;
}

// Product of the sizes of the labels that are summed (not in the output): the reduction length.
inline double reduction_length(const std::string& spec, const std::vector<tl::Shape>& shapes) {
  std::string norm = tl::einsum_plan(spec, shapes).spec;  // explicit, ellipsis as "..."
  size_t arrow = norm.find("->");
  std::string out = norm.substr(arrow + 2);
  std::vector<std::string> terms = split(norm.substr(0, arrow), ',');
  if (norm.substr(0, arrow).empty() || norm[arrow - 1] == ',') terms.push_back("");
  double len = 1;
  std::string seen;
  for (size_t i = 0; i < terms.size() && i < shapes.size(); ++i) {
    const std::string& t = terms[i];
    size_t e = t.find("...");
    std::string before = e == std::string::npos ? t : t.substr(0, e);
    std::string after = e == std::string::npos ? "" : t.substr(e + 3);
    auto visit = [&](char c, int64_t n) {
      if (out.find(c) != std::string::npos || seen.find(c) != std::string::npos) return;
      seen += c;
      len *= double(n);
    };
    for (size_t d = 0; d < before.size(); ++d) visit(before[d], shapes[i][d]);
    for (size_t d = 0; d < after.size(); ++d) visit(after[d], shapes[i][shapes[i].size() - after.size() + d]);
  }
  return len;
}

// Float results: |got - want| <= 1e-5 |want| + 1e-6 * L, L the reduction length (inputs lie in [-1, 1], so
// each of the L summed products is at most 1 and f32 rounding grows at most linearly with L).
// Integer and bool results: exact.
inline void expect_close(const tl::Tensor& got, const tl::Tensor& want, double len, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  if (got.dtype() == tl::DType::i64) {
    tl::Tensor g = got.contiguous(), w = want.contiguous();
    for (int64_t i = 0; i < g.numel(); ++i)
      ASSERT_EQ(g.data<int64_t>()[i], w.data<int64_t>()[i]) << what << " at flat index " << i;
    return;
  }
  std::vector<double> g = got.to_f64_vector(), w = want.to_f64_vector();
  for (size_t i = 0; i < g.size(); ++i) {
    double tol = got.dtype() == tl::DType::boolean ? 0 : 1e-5 * std::fabs(w[i]) + 1e-6 * len;
    EXPECT_LE(std::fabs(g[i] - w[i]), tol) << what << " at flat index " << i << ": got " << g[i] << " want " << w[i];
    if (std::fabs(g[i] - w[i]) > tol) return;
  }
}

}  // namespace einsum_test
