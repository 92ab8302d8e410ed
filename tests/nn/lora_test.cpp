// LoRA: the adapter graph against torch's y = x W^T + b + (alpha/r) x A^T B^T (tests/fixtures/moe/lora_*),
// merged == unmerged outputs, merge/unmerge round trip, target-module patterns, errors.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "tl/error.h"
#include "tl/nn/lora.h"
#include "tl/npy.h"
#include "tl/runtime.h"

namespace tl::nn {
namespace {

Tensor fix(const std::string& name) { return read_npy(std::string(TL_FIXTURE_DIR) + "/moe/lora_" + name + ".npy"); }

double max_rel(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  auto x = a.to_f64_vector(), y = b.to_f64_vector();
  double m = 0;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) m = std::max(m, std::abs(x[i] - y[i]) / std::max(1.0, std::abs(y[i])));
  return m;
}

const LoraConfig kCfg = LoraConfig().set_rank(2).set_alpha(4.0f).set_target_modules({"q_proj"});

std::map<std::string, Tensor> weights() {
  return {{"attn.q_proj.weight", fix("W")}, {"attn.q_proj.bias", fix("b")},
          {"attn.q_proj.lora_A.weight", fix("A")}, {"attn.q_proj.lora_B.weight", fix("B")}};
}

// Unmerged adapter graph vs torch, and the merged plain linear vs the same numbers. 1e-5 relative: f32
// products of length 10 (measured ~1e-6).
TEST(Lora, MatchesTorchMergedAndUnmerged) {
  Tensor x = fix("x"), want = fix("y");  // [3, 4, 10], [3, 4, 6]
  Graph g;
  Value xv = g.input("x", x.shape());
  g.output(linear_maybe_lora(g, xv, "attn.q_proj", 10, 6, true, kCfg), "y");
  auto in = weights();
  in["x"] = x;
  Tensor unmerged = run_graph(g, in).at("y");
  EXPECT_LT(max_rel(unmerged, want), 1e-5);

  auto w = weights();
  auto mods = merge_lora_weights(w, kCfg);
  ASSERT_EQ(mods, std::vector<std::string>{"attn.q_proj"});
  EXPECT_EQ(w.count("attn.q_proj.lora_A.weight"), 0u);
  Graph m;
  Value xm = m.input("x", x.shape());
  m.output(linear_maybe_lora(m, xm, "attn.q_proj", 10, 6, true, LoraConfig()), "y");  // no targets: plain
  w["x"] = x;
  Tensor merged = run_graph(m, w).at("y");
  EXPECT_LT(max_rel(merged, want), 1e-5);
  EXPECT_LT(max_rel(merged, unmerged), 1e-5);
}

// merge then unmerge gives the base weight back (1e-6: one f32 rounding each way on values of magnitude ~1).
TEST(Lora, UnmergeRestoresBase) {
  auto w = weights();
  const auto adapters = weights();
  merge_lora_weights(w, kCfg);
  EXPECT_GT(max_rel(w.at("attn.q_proj.weight"), fix("W")), 1e-3);  // merging changed it
  unmerge_lora_weights(w, adapters, kCfg);
  EXPECT_LT(max_rel(w.at("attn.q_proj.weight"), fix("W")), 1e-6);
  // By hand: W' = W + 2 * B A for one element.
  Tensor m = lora_merge(fix("W"), fix("A"), fix("B"), 2.0f);
  double s = 0;
  for (int64_t k = 0; k < 2; ++k) s += fix("B").get({1, k}) * fix("A").get({k, 3});
  EXPECT_NEAR(m.get({1, 3}), fix("W").get({1, 3}) + 2.0 * s, 1e-5);
}

TEST(Lora, TargetPatterns) {
  EXPECT_TRUE(lora_pattern_matches("q_proj", "model.layers.0.self_attn.q_proj"));
  EXPECT_TRUE(lora_pattern_matches("q_proj", "q_proj"));
  EXPECT_FALSE(lora_pattern_matches("q_proj", "model.layers.0.self_attn.qq_proj"));
  EXPECT_FALSE(lora_pattern_matches("proj", "model.q_proj"));
  EXPECT_TRUE(lora_pattern_matches("layers.*.mlp.fc1", "layers.11.mlp.fc1"));
  EXPECT_FALSE(lora_pattern_matches("layers.*.mlp.fc1", "layers.11.mlp.fc2"));
  EXPECT_TRUE(lora_pattern_matches("*_proj", "v_proj"));
  LoraConfig c = LoraConfig().set_target_modules({"q_proj", "v_proj"});
  EXPECT_TRUE(c.targets("a.v_proj"));
  EXPECT_FALSE(c.targets("a.k_proj"));
  // Only targeted modules get adapter params.
  Graph g;
  Value x = g.input("x", {2, 8});
  linear_maybe_lora(g, x, "a.k_proj", 8, 8, false, c.set_rank(2));
  linear_maybe_lora(g, x, "a.v_proj", 8, 8, false, c);
  EXPECT_FALSE(g.find("a.k_proj.lora_A.weight").has_value());
  EXPECT_TRUE(g.find("a.v_proj.lora_A.weight").has_value());
  EXPECT_EQ(g.shape(*g.find("a.v_proj.lora_B.weight")), (Shape{8, 2}));
}

TEST(Lora, Errors) {
  Graph g;
  Value x = g.input("x", {2, 8});
  EXPECT_THROW(lora_linear(g, x, "p", 8, 4, false, LoraConfig().set_rank(0)), ValueError);
  EXPECT_THROW(lora_linear(g, x, "p", 8, 4, false, LoraConfig().set_rank(5)), ValueError);
  EXPECT_THROW(lora_linear(g, x, "p", 8, 4, false, LoraConfig().set_alpha(-1)), ValueError);
  EXPECT_THROW(lora_merge(fix("W"), fix("B"), fix("A"), 1.0f), ShapeError);
  auto w = weights();
  w.erase("attn.q_proj.lora_B.weight");
  EXPECT_THROW(merge_lora_weights(w, kCfg), ValueError);
  auto v = weights();
  v.erase("attn.q_proj.weight");
  try {
    merge_lora_weights(v, kCfg);
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("attn.q_proj.weight"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tl::nn
