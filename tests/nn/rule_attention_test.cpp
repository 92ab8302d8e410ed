// Rule-steered attention: relations from Datalog rules (tree ancestry by recursion, sentences with j <= i)
// checked against hand-computed sets; hard masks give exactly zero weight; soft bias rescales rejected
// weights by exp(-strength); gated mixes are g * rule + (1 - g) * content (fixed and learned gates); errors.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "tl/error.h"
#include "tl/nn/attention.h"
#include "tl/runtime.h"

namespace tl::nn {
namespace {

Tensor randn(Shape s, uint32_t seed) {
  Tensor t = Tensor::empty(s);
  std::mt19937 rng(seed);
  std::normal_distribution<float> d;
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

// A tree over 7 tokens: parent[i] (root 0 has none). Attend to every ancestor and to yourself.
const int64_t kParent[7] = {-1, 0, 0, 1, 1, 2, 5};

TEST(NnRuleAttention, TreeAncestorsByRecursion) {
  Tensor par = Tensor::zeros({7, 7}, DType::boolean);
  for (int64_t i = 1; i < 7; ++i) par.data<bool>()[i * 7 + kParent[i]] = true;  // Parent(i, parent of i)
  AttentionRule r;
  r.program =
      "Anc(i, j) :- Parent(i, j).\n"
      "Anc(i, j) :- Parent(i, k), Anc(k, j).\n"
      "Attend(i, j) :- Anc(i, j).\n"
      "Attend(i, i) :- Pos(i).\n";
  r.relations["Parent"] = par;
  Tensor rel = rule_relation(r, 7);
  ASSERT_EQ(rel.shape(), (Shape{7, 7}));
  for (int64_t i = 0; i < 7; ++i)
    for (int64_t j = 0; j < 7; ++j) {
      bool want = i == j;
      for (int64_t a = kParent[i]; a >= 0; a = kParent[a]) want = want || a == j;
      EXPECT_EQ(rel.get({i, j}) != 0.0, want) << i << "," << j;
    }
}

TEST(NnRuleAttention, SameSentenceAndOrderComparison) {
  // Tokens 0-2 in sentence s0, 3-6 in s1 (facts over symbols other than positions).
  AttentionRule r;
  r.program = "Same(i, j) :- InSent(i, s), InSent(j, s).\nAttend(i, j) :- Same(i, j), j <= i.\n";
  for (int64_t i = 0; i < 7; ++i) r.facts["InSent"].push_back({"p" + std::to_string(i), i < 3 ? "s0" : "s1"});
  Tensor rel = rule_relation(r, 7);
  for (int64_t i = 0; i < 7; ++i)
    for (int64_t j = 0; j < 7; ++j) EXPECT_EQ(rel.get({i, j}) != 0.0, (i < 3) == (j < 3) && j <= i) << i << "," << j;
  // Strict and reversed comparisons too.
  AttentionRule r2;
  r2.program = "Attend(i, j) :- Pos(i), Pos(j), i > j.\n";
  Tensor rel2 = rule_relation(r2, 5);
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t j = 0; j < 5; ++j) EXPECT_EQ(rel2.get({i, j}) != 0.0, i > j);
}

struct Qkv {
  Tensor q, k, v;
};
Qkv make_qkv(int64_t h, int64_t n, int64_t d) {
  return {randn({1, h, n, d}, 1), randn({1, h, n, d}, 2), randn({1, h, n, d}, 3)};
}

std::map<std::string, Tensor> run_rule(const Qkv& t, const Tensor& rel, const RuleAttention& ra, AttentionImpl impl,
                                       std::map<std::string, Tensor> extra = {}) {
  Graph g;
  Value q = g.input("q", t.q.shape()), k = g.input("k", t.k.shape()), v = g.input("v", t.v.shape());
  SdpaOptions o;
  o.impl = impl;
  o.return_weights = impl == AttentionImpl::plain;
  o.prefix = "l0";
  SdpaResult r = rule_sdpa(g, q, k, v, o, rel, ra);
  g.output(r.out, "y");
  if (r.weights) g.output(*r.weights, "w");
  extra["q"] = t.q;
  extra["k"] = t.k;
  extra["v"] = t.v;
  return run_graph(g, extra);
}

Tensor tree_relation() {
  Tensor par = Tensor::zeros({7, 7}, DType::boolean);
  for (int64_t i = 1; i < 7; ++i) par.data<bool>()[i * 7 + kParent[i]] = true;
  AttentionRule r;
  r.program = "Attend(i, j) :- Parent(i, j).\nAttend(i, i) :- Pos(i).\n";
  r.relations["Parent"] = par;
  return rule_relation(r, 7);
}

TEST(NnRuleAttention, HardMaskGivesExactZeros) {
  Qkv t = make_qkv(2, 7, 4);
  Tensor rel = tree_relation();
  auto plain = run_rule(t, rel, RuleAttention{}, AttentionImpl::plain);
  const Tensor& w = plain.at("w");  // [1, 2, 7, 7]
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t i = 0; i < 7; ++i) {
      double sum = 0;
      for (int64_t j = 0; j < 7; ++j) {
        if (rel.get({i, j}) == 0.0) {
          EXPECT_EQ(w.get({0, h, i, j}), 0.0);  // exactly zero
        }
        sum += w.get({0, h, i, j});
      }
      EXPECT_NEAR(sum, 1.0, 1e-6);
    }
  // The fused kernel applies the same mask (fp32, 7 keys: 1e-6).
  auto fused = run_rule(t, rel, RuleAttention{}, AttentionImpl::fused);
  auto a = plain.at("y").to_f32_vector(), b = fused.at("y").to_f32_vector();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-6);
}

TEST(NnRuleAttention, SoftBiasScalesRejectedWeights) {
  Qkv t = make_qkv(2, 7, 4);
  Tensor rel = tree_relation();
  RuleAttention soft;
  soft.mode = RuleMode::soft;
  soft.strength = 2.5f;
  Tensor ws = run_rule(t, rel, soft, AttentionImpl::plain).at("w");
  Tensor all = Tensor::full({7, 7}, 1.0, DType::boolean);
  Tensor wc = run_rule(t, all, RuleAttention{}, AttentionImpl::plain).at("w");  // content only
  double worst = 0;
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t i = 0; i < 7; ++i) {
      double z = 0;
      for (int64_t j = 0; j < 7; ++j) z += wc.get({0, h, i, j}) * (rel.get({i, j}) != 0.0 ? 1.0 : std::exp(-2.5));
      for (int64_t j = 0; j < 7; ++j) {
        const double want = wc.get({0, h, i, j}) * (rel.get({i, j}) != 0.0 ? 1.0 : std::exp(-2.5)) / z;
        worst = std::max(worst, std::abs(ws.get({0, h, i, j}) - want));
      }
    }
  EXPECT_LT(worst, 1e-6);  // fp32 softmax vs the same maths in double
}

TEST(NnRuleAttention, GatedMixesRuleAndContent) {
  Qkv t = make_qkv(3, 7, 4);
  Tensor rel = tree_relation();
  Tensor all = Tensor::full({7, 7}, 1.0, DType::boolean);
  Tensor yr = run_rule(t, rel, RuleAttention{}, AttentionImpl::plain).at("y");
  Tensor yc = run_rule(t, all, RuleAttention{}, AttentionImpl::plain).at("y");
  RuleAttention fixed;
  fixed.mode = RuleMode::gated;
  fixed.gate = 0.3f;
  Tensor yf = run_rule(t, rel, fixed, AttentionImpl::fused).at("y");
  RuleAttention learned;
  learned.mode = RuleMode::gated;
  learned.learned_gate = true;
  Tensor logits = Tensor::from_vector<float>({3}, {-1.0f, 0.0f, 2.0f});
  Tensor yl = run_rule(t, rel, learned, AttentionImpl::plain, {{"l0.rule_gate", logits}}).at("y");
  for (int64_t h = 0; h < 3; ++h) {
    const double gl = 1.0 / (1.0 + std::exp(-logits.get({h})));
    for (int64_t i = 0; i < 7; ++i)
      for (int64_t c = 0; c < 4; ++c) {
        const double r = yr.get({0, h, i, c}), n = yc.get({0, h, i, c});
        EXPECT_NEAR(yf.get({0, h, i, c}), 0.3 * r + 0.7 * n, 2e-6);
        EXPECT_NEAR(yl.get({0, h, i, c}), gl * r + (1 - gl) * n, 2e-6);
      }
  }
}

// The block level: AttentionOptions::rule steers a projected multi-head block.
TEST(NnRuleAttention, BlockOption) {
  Graph g;
  Value x = g.input("x", {1, 7, 8});
  AttentionOptions o;
  o.rule = tree_relation();
  o.return_weights = true;
  AttentionOutputs a = attention_outputs(g, AttentionConfig().with_d_model(8).with_heads(2), x, "blk", o);
  g.output(*a.weights, "w");
  std::map<std::string, Tensor> in{{"x", randn({1, 7, 8}, 4)}};
  uint32_t seed = 5;
  for (const char* p : {"q_proj", "k_proj", "v_proj", "o_proj"}) {
    in[std::string("blk.") + p + ".weight"] = randn({8, 8}, seed++);
    in[std::string("blk.") + p + ".bias"] = randn({8}, seed++);
  }
  Tensor w = run_graph(g, in).at("w");
  for (int64_t i = 0; i < 7; ++i)
    for (int64_t j = 0; j < 7; ++j)
      if (o.rule->get({i, j}) == 0.0) {
        EXPECT_EQ(w.get({0, 1, i, j}), 0.0);
      }
}

TEST(NnRuleAttention, ErrorsNameTheProblem) {
  AttentionRule r;
  r.program = "Attend(i, j) :- Parent(i, j).\n";
  r.relations["Parent"] = Tensor::zeros({3, 4});
  try {
    rule_relation(r, 3);
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("relation 'Parent' has shape [3, 4], expected [3] or [3, 3]"),
              std::string::npos)
        << e.what();
  }
  AttentionRule missing;
  missing.program = "Other(i, j) :- Pos(i), Pos(j).\n";
  EXPECT_THROW(rule_relation(missing, 3), ValueError);
  AttentionRule bad;
  bad.program = "Attend(i, j) :- .\n";
  EXPECT_THROW(rule_relation(bad, 3), ParseError);
  EXPECT_THROW(rule_bias(Tensor::zeros({3, 4}), RuleMode::hard, 1.0f, 3), ShapeError);
  EXPECT_THROW(rule_bias(Tensor::zeros({3, 3}), RuleMode::gated, 1.0f, 3), ValueError);
  Graph g;
  Value q = g.input("q", {1, 1, 3, 2});
  EXPECT_THROW(rule_sdpa(g, q, q, q, SdpaOptions{}, Tensor::zeros({4, 4}), RuleAttention{}), ShapeError);
}

}  // namespace
}  // namespace tl::nn
