// Helpers for pass tests: parse a "before" text, run a pass, print; random inputs; run and compare.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <string>

#include "tl/graph.h"
#include "tl/passes.h"
#include "tl/runtime.h"

namespace pass_test {

using PassFn = bool (*)(tl::Graph&, const tl::PassOptions&);

// How many nodes of kind k the graph holds.
inline int count(const tl::Graph& g, tl::OpKind k) {
  int n = 0;
  for (const tl::Node& node : g.nodes()) n += node.kind == k;
  return n;
}

// Parses and verifies `before`, runs `pass` (and DCE after it when `then_dce`), verifies, prints.
inline std::string after(const std::string& before, PassFn pass, bool then_dce = false,
                         const tl::PassOptions& opt = {}) {
  tl::Graph g = tl::parse_graph_text(before);
  tl::verify(g);
  pass(g, opt);
  tl::verify(g);
  if (then_dce) tl::dead_code_elimination(g, opt);
  tl::verify(g);
  return tl::to_text(g);
}

// Random tensors for every input and param of g (floats in [-1, 1], integers in [0, 3), bools).
inline std::map<std::string, tl::Tensor> random_feeds(const tl::Graph& g, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::map<std::string, tl::Tensor> feeds;
  auto fill = [&](tl::Value v) {
    const tl::ValueType& t = g.type(v);
    tl::Tensor x = tl::Tensor::zeros(t.shape, t.dtype);
    tl::for_each_index(t.shape, [&](std::span<const int64_t> idx) {
      double r = u(rng);
      if (t.dtype == tl::DType::i32 || t.dtype == tl::DType::i64) r = std::floor((r + 1) * 1.5);
      if (t.dtype == tl::DType::boolean) r = r > 0;
      x.set(idx, r);
    });
    feeds[g.info(v).name] = x;
  };
  for (tl::Value v : g.inputs()) fill(v);
  for (tl::Value v : g.params()) fill(v);
  return feeds;
}

// Runs both graphs on the same random feeds and checks every output of `a` matches `b`'s within
// atol + rtol*|ref| (regrouped float sums differ by rounding only).
inline void expect_same_outputs(const tl::Graph& a, const tl::Graph& b, double atol = 1e-5, double rtol = 1e-5,
                                uint32_t seed = 7) {
  auto feeds = random_feeds(a, seed);
  auto ra = tl::run_graph(a, feeds);
  auto rb = tl::run_graph(b, feeds);
  ASSERT_EQ(ra.size(), rb.size());
  for (auto& [name, ta] : ra) {
    ASSERT_TRUE(rb.count(name)) << "output " << name << " missing after the passes";
    const tl::Tensor& tb = rb.at(name);
    ASSERT_EQ(ta.shape(), tb.shape()) << name;
    ASSERT_EQ(ta.dtype(), tb.dtype()) << name;
    std::vector<double> va = ta.to_f64_vector(), vb = tb.to_f64_vector();
    double worst = 0;
    for (size_t i = 0; i < va.size(); ++i) {
      if (std::isnan(va[i]) || std::isnan(vb[i])) {
        EXPECT_TRUE(std::isnan(va[i]) && std::isnan(vb[i])) << "output " << name << " element " << i;
        continue;
      }
      if (va[i] == vb[i]) continue;  // also equal infinities
      double err = std::abs(va[i] - vb[i]) - rtol * std::abs(va[i]);
      worst = std::max(worst, err);
    }
    EXPECT_LE(worst, atol) << "output " << name;
  }
}

}  // namespace pass_test
