// Mixture of experts: the fused op against transformers 4.57.1's MixtralSparseMoeBlock and hand-written torch
// for Switch (top-1 + capacity), expert-choice and dense routing (tests/fixtures/moe, scripts/gen_moe_fixtures.py);
// the fast kernel against the double reference tl::ref::moe; the Switch load-balancing loss; errors.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "tl/error.h"
#include "tl/kernels.h"
#include "tl/nn/moe.h"
#include "tl/npy.h"
#include "tl/runtime.h"

namespace tl::nn {
namespace {

Tensor fix(const std::string& name) { return read_npy(std::string(TL_FIXTURE_DIR) + "/moe/" + name + ".npy"); }

Tensor randn(Shape s, uint32_t seed, float scale = 1.0f) {
  Tensor t = Tensor::empty(s);
  std::mt19937 rng(seed);
  std::normal_distribution<float> d;
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = scale * d(rng);
  return t;
}

// Max of |a - b| / max(1, |b|) (relative to the reference, absolute below magnitude 1), and the max abs error.
std::pair<double, double> max_err(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  auto x = a.to_f64_vector(), y = b.to_f64_vector();
  double rel = 0, abs_e = 0;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
    const double e = std::abs(x[i] - y[i]);
    abs_e = std::max(abs_e, e);
    rel = std::max(rel, e / std::max(1.0, std::abs(y[i])));
  }
  return {rel, abs_e};
}

// Weights for a fixture case: the graph's param names (Mixtral's) bound to slices of the stacked arrays.
std::map<std::string, Tensor> bind_weights(const std::string& c, const std::string& prefix, bool gated, int64_t E) {
  std::map<std::string, Tensor> w;
  w[prefix + ".gate.weight"] = fix(c + "_gate");
  Tensor w1 = fix(c + "_w1"), w2 = fix(c + "_w2");  // [E, f, d], [E, d, f]
  Tensor w3 = gated ? fix(c + "_w3") : Tensor();
  for (int64_t e = 0; e < E; ++e) {
    const std::string p = prefix + ".experts." + std::to_string(e);
    auto one = [&](const Tensor& t) { return t.slice(0, e, e + 1).reshape({t.size(1), t.size(2)}).contiguous(); };
    w[p + ".w1.weight"] = one(w1);
    w[p + ".w2.weight"] = one(w2);
    if (gated) w[p + ".w3.weight"] = one(w3);
  }
  return w;
}

std::vector<Tensor> expert_list(const std::map<std::string, Tensor>& w, const std::string& prefix, bool gated,
                                int64_t E) {
  std::vector<Tensor> v;
  for (int64_t e = 0; e < E; ++e) {
    const std::string p = prefix + ".experts." + std::to_string(e);
    v.push_back(w.at(p + ".w1.weight"));
    if (gated) v.push_back(w.at(p + ".w3.weight"));
    v.push_back(w.at(p + ".w2.weight"));
  }
  return v;
}

struct Case {
  const char* name;
  MoeConfig cfg;
};

std::vector<Case> fixture_cases() {
  return {
      {"mixtral", MoeConfig().set_d_model(16).set_d_ff(24).set_n_experts(4).set_top_k(2)},
      {"switch", MoeConfig().set_d_model(8).set_d_ff(16).set_n_experts(4).set_routing(MoeRouting::switch_top1)
                     .set_capacity_factor(1.0f).set_act(UnaryOp::relu).set_gated(false)},
      {"expert_choice", MoeConfig().set_d_model(8).set_d_ff(12).set_n_experts(4)
                            .set_routing(MoeRouting::expert_choice).set_capacity_factor(2.0f)},
      {"dense", MoeConfig().set_d_model(8).set_d_ff(10).set_n_experts(3).set_routing(MoeRouting::dense)
                    .set_act(UnaryOp::gelu_erf).set_gated(false)},
  };
}

// Every fixture case through the graph (moe_block + executor), the fast kernel and the double reference.
// Tolerance 1e-5 relative: f32 GEMMs of length <= 24 and one softmax, error ~1e-6 measured.
TEST(Moe, MatchesTorchFixtures) {
  for (const Case& c : fixture_cases()) {
    SCOPED_TRACE(c.name);
    const std::string prefix = "block_sparse_moe";
    Tensor x = fix(std::string(c.name) + "_x"), want = fix(std::string(c.name) + "_y");
    Graph g;
    Value xv = g.input("x", x.shape());  // [..., d]
    MoeOut o = moe_block(g, xv, prefix, c.cfg);
    g.output(o.y, "y");
    g.output(o.router_logits, "logits");
    auto w = bind_weights(c.name, prefix, c.cfg.p.gated, c.cfg.n_experts);
    auto in = w;
    in["x"] = x;
    auto out = run_graph(g, in);
    auto [rel, abs_e] = max_err(out.at("y"), want);
    EXPECT_LT(rel, 1e-5) << "max abs error " << abs_e;
    std::printf("[moe] %-14s graph vs torch: max abs error %.3g\n", c.name, abs_e);
    std::vector<Tensor> ex = expert_list(w, prefix, c.cfg.p.gated, c.cfg.n_experts);
    Tensor r = ref::moe(x, w.at(prefix + ".gate.weight"), ex, c.cfg.p);
    EXPECT_LT(max_err(r, want).first, 1e-5);
    if (std::string(c.name) == "mixtral") {
      EXPECT_LT(max_err(out.at("logits"), fix("mixtral_logits")).first, 1e-5);
    }
  }
}

// Switch capacity: 12 tokens, 4 experts, capacity 3; the fixture overflows by 2 tokens, whose output is 0.
TEST(Moe, SwitchDropsTokensOverCapacity) {
  MoeParams p;
  p.routing = MoeRouting::switch_top1;
  p.capacity_factor = 1.0f;
  EXPECT_EQ(moe_capacity(p, 12, 4), 3);
  p.capacity_factor = 1.25f;
  EXPECT_EQ(moe_capacity(p, 12, 4), 4);  // ceil(3.75)
  Tensor y = fix("switch_y");            // [1, 12, 8]
  int zero_rows = 0;
  for (int64_t t = 0; t < 12; ++t) {
    bool z = true;
    for (int64_t c = 0; c < 8; ++c) z = z && y.get({0, t, c}) == 0.0;
    zero_rows += z;
  }
  EXPECT_EQ(zero_rows, 2);
}

// The load-balancing loss built from graph ops against torch's E * sum f_i P_i (1e-6: a handful of f32 sums).
TEST(Moe, LoadBalancingLoss) {
  Graph g;
  Value x = g.input("x", {1, 12, 8});
  MoeOut o = moe_block(g, x, "moe", fixture_cases()[1].cfg);
  g.output(load_balancing_loss(g, o.router_logits), "aux");
  auto in = bind_weights("switch", "moe", false, 4);
  in["x"] = fix("switch_x");
  auto out = run_graph(g, in);
  ASSERT_EQ(out.at("aux").shape(), Shape{});
  const double want = fix("switch_aux").get(std::span<const int64_t>());
  EXPECT_NEAR(out.at("aux").get(std::span<const int64_t>()), want, 1e-6 * std::max(1.0, want));
  // Zero logits: every P_i = 1/E and all probabilities tie, so the argmax indicator is 1 for every expert
  // (ties count for all tied experts): loss = E * sum_i 1 * 1/E = E.
  Graph u;
  Value l = u.input("l", {5, 4});
  u.output(load_balancing_loss(u, l), "aux");
  auto r = run_graph(u, {{"l", Tensor::zeros({5, 4})}});
  EXPECT_NEAR(r.at("aux").get(std::span<const int64_t>()), 4.0, 1e-6);
}

// Fast kernel vs the double reference on larger random problems, every routing (1e-5 relative).
TEST(Moe, KernelMatchesReference) {
  const int64_t T = 40, d = 32, f = 48, E = 8;
  Tensor x = randn({2, T / 2, d}, 1);
  Tensor router = randn({E, d}, 2, 0.3f);
  for (MoeRouting r : {MoeRouting::top_k, MoeRouting::switch_top1, MoeRouting::expert_choice, MoeRouting::dense})
    for (bool gated : {true, false}) {
      MoeParams p;
      p.routing = r;
      p.top_k = 3;
      p.normalize = r == MoeRouting::top_k && gated;
      p.capacity_factor = 1.5f;
      p.gated = gated;
      p.act = gated ? UnaryOp::silu : UnaryOp::gelu_tanh;
      std::vector<Tensor> ex;
      for (int64_t e = 0; e < E; ++e) {
        ex.push_back(randn({f, d}, uint32_t(10 + e), 0.2f));
        if (gated) ex.push_back(randn({f, d}, uint32_t(30 + e), 0.2f));
        ex.push_back(randn({d, f}, uint32_t(50 + e), 0.2f));
      }
      auto [rel, abs_e] = max_err(kernels::moe(x, router, ex, p), ref::moe(x, router, ex, p));
      EXPECT_LT(rel, 1e-5) << moe_routing_name(r) << " gated " << gated << " max abs " << abs_e;
    }
}

// The op's attributes survive the text and JSON forms.
TEST(Moe, GraphRoundTrip) {
  Graph g;
  Value x = g.input("x", {3, 8});
  MoeConfig c = fixture_cases()[2].cfg;
  g.output(moe_block(g, x, "m", c).y, "y");
  verify(g);
  EXPECT_EQ(parse_graph_text(to_text(g)), g);
  EXPECT_EQ(parse_graph_json(to_json(g)), g);
  EXPECT_NE(to_text(g).find("expert_choice"), std::string::npos);
}

TEST(Moe, Errors) {
  Graph g;
  Value x = g.input("x", {3, 8});
  EXPECT_THROW(moe_block(g, x, "m", MoeConfig().set_d_model(8).set_d_ff(4).set_n_experts(2).set_top_k(3)),
               ValueError);
  EXPECT_THROW(moe_block(g, x, "m", MoeConfig().set_d_model(8).set_d_ff(0).set_n_experts(2)), ValueError);
  try {
    moe_block(g, x, "m", MoeConfig().set_d_model(6).set_d_ff(4).set_n_experts(2));
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("[3, 8]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(moe_block(g, x, "m", MoeConfig().set_d_model(8).set_d_ff(4).set_n_experts(2).set_act(UnaryOp::exp)),
               ValueError);
  EXPECT_THROW(moe_block(g, x, "m", MoeConfig().set_d_model(8).set_d_ff(4).set_n_experts(2)
                                       .set_routing(MoeRouting::switch_top1).set_capacity_factor(0)),
               ValueError);
  // Kernel: wrong expert weight shape, wrong count.
  MoeParams p;
  p.top_k = 1;
  std::vector<Tensor> ex{randn({4, 8}, 1), randn({4, 8}, 2), randn({8, 5}, 3)};
  try {
    kernels::moe(randn({3, 8}, 4), randn({1, 8}, 5), ex, p);
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("w2"), std::string::npos) << e.what();
  }
  ex.pop_back();
  EXPECT_THROW(kernels::moe(randn({3, 8}, 4), randn({1, 8}, 5), ex, p), ValueError);
}

}  // namespace
}  // namespace tl::nn
