// Fixture helpers for the component tests (ffn, norm, position, layer, vit): a case is a folder of .npy files
// made by scripts/gen_layers_fixtures.py (inputs, params under our names, "expected*" references).
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "tl/graph.h"
#include "tl/npy.h"
#include "tl/runtime.h"

namespace tl::nn::testing {

inline std::map<std::string, Tensor> load_case(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::path(TL_FIXTURE_DIR) / "nn_layers" / name;
  std::map<std::string, Tensor> m;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".npy") m[e.path().stem().string()] = read_npy(e.path().string());
  if (m.empty()) ADD_FAILURE() << "no fixture files in " << dir;
  return m;
}

// Runs g with every graph input and param taken from the case by name.
inline std::map<std::string, Tensor> run_case(const Graph& g, const std::map<std::string, Tensor>& c) {
  std::map<std::string, Tensor> feed;
  for (Value v : g.inputs()) feed[g.info(v).name] = c.at(g.info(v).name);
  for (Value v : g.params()) {
    auto it = c.find(g.info(v).name);
    if (it == c.end()) ADD_FAILURE() << "fixture has no tensor for param " << g.info(v).name;
    else feed[g.info(v).name] = it->second;
  }
  return run_graph(g, feed);
}

// Checks |got - want| <= rtol * max(1, |want|) elementwise (relative for values >= 1, absolute below, so
// entries near zero do not demand impossible relative accuracy); prints and returns the max abs error.
inline double expect_close(const Tensor& got, const Tensor& want, double rtol, const std::string& what) {
  EXPECT_EQ(got.shape(), want.shape()) << what;
  if (got.shape() != want.shape()) return INFINITY;
  const std::vector<double> a = got.to_f64_vector(), b = want.to_f64_vector();
  double max_abs = 0, worst = 0;
  size_t worst_i = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::abs(a[i] - b[i]);
    max_abs = std::max(max_abs, d);
    const double r = d / std::max(1.0, std::abs(b[i]));
    if (!(r <= worst)) { worst = r; worst_i = i; }
  }
  EXPECT_LE(worst, rtol) << what << ": element " << worst_i << " got " << a[worst_i] << " want " << b[worst_i];
  std::printf("[max abs err] %-40s %.3g\n", what.c_str(), max_abs);
  return max_abs;
}

}  // namespace tl::nn::testing
