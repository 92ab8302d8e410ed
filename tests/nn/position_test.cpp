// Positions against transformers 4.57.1: DistilBERT's sinusoidal table, T5's buckets and compute_bias, the rope
// init functions + LLaMA/NeoX/GPT-J rotations, BLOOM's build_alibi_tensor.
#include <gtest/gtest.h>

#include "layer_test_util.h"
#include "tl/error.h"
#include "tl/nn/position.h"

namespace tl::nn {
namespace {

using testing::expect_close;
using testing::load_case;
using testing::run_case;

TEST(NnPosition, SinusoidalMatchesDistilBert) {
  for (auto [n, d] : {std::pair<int64_t, int64_t>{37, 16}, {23, 15}}) {
    auto t = load_case("pos_sinusoidal_" + std::to_string(n) + "x" + std::to_string(d));
    // Both compute in double and round to f32: 1e-6.
    expect_close(sinusoidal_table(n, d), t.at("expected"), 1e-6, "sinusoidal " + std::to_string(d));
    // Rows from an offset are the same rows of the full table.
    Tensor tail = sinusoidal_table(n - 5, d, 5);
    expect_close(tail, t.at("expected").slice(0, 5, n).contiguous(), 1e-6, "sinusoidal offset");
  }
  EXPECT_THROW(sinusoidal_table(3, 0), ValueError);
}

TEST(NnPosition, LearnedSlicesAndGathers) {
  Graph g;
  Value ids = g.input("ids", DType::i64, {2, 3});
  g.output(learned_positions(g, "wpe", 10, 4, 3, 6), "rows");
  g.output(learned_positions_at(g, "wpe2", 10, 4, ids), "picked");
  Tensor table = Tensor::empty({10, 4});
  for (int64_t i = 0; i < 40; ++i) table.data<float>()[i] = float(i);
  Tensor idt = Tensor::from_vector<int64_t>({2, 3}, {0, 9, 3, 3, 1, 2});
  auto out = run_graph(g, {{"ids", idt}, {"wpe.weight", table}, {"wpe2.weight", table}});
  ASSERT_EQ(out.at("rows").shape(), (Shape{3, 4}));
  EXPECT_EQ(out.at("rows").get({0, 0}), 24.0);  // row 6
  EXPECT_EQ(out.at("rows").get({2, 3}), 35.0);  // row 8
  ASSERT_EQ(out.at("picked").shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(out.at("picked").get({0, 1, 2}), 38.0);  // row 9
  EXPECT_THROW(learned_positions(g, "wpe", 10, 4, 5, 6), ValueError);  // rows 6..10 past the table
  EXPECT_THROW(learned_positions_at(g, "wpe", 10, 4, g.input("f", {2})), ValueError);
}

TEST(NnPosition, T5BucketsMatchTransformersExactly) {
  auto t = load_case("pos_t5_buckets");
  const Tensor& rel = t.at("relative_position");
  int checked = 0;
  for (auto& [name, want] : t) {
    if (name == "relative_position") continue;
    int64_t nb = 0, md = 0;
    char kind[16] = {};
    ASSERT_EQ(std::sscanf(name.c_str(), "b%ld_d%ld_%15s", &nb, &md, kind), 3) << name;
    const bool bi = std::string(kind) == "bi";
    for (int64_t i = 0; i < rel.numel(); ++i) {
      const int64_t r = int64_t(rel.get({i}));
      ASSERT_EQ(t5_relative_bucket(r, bi, nb, md), int64_t(want.get({i}))) << name << " at relative position " << r;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 7);
}

TEST(NnPosition, T5BiasMatchesComputeBias) {
  struct C { const char* name; bool bi; int64_t q, k, off; };
  for (C c : {C{"pos_t5_bias_enc_q7_k7", true, 7, 7, 0}, C{"pos_t5_bias_dec_q5_k9", false, 5, 9, 4},
              C{"pos_t5_bias_dec_q1_k41", false, 1, 41, 40}}) {
    auto t = load_case(c.name);
    Graph g;
    RelativeBiasConfig rc = RelativeBiasConfig{}.set_n_heads(3).set_num_buckets(16).set_max_distance(20)
                                .set_bidirectional(c.bi);
    g.output(t5_relative_bias(g, "rel", rc, c.q, c.k, c.off), "bias");
    // A gather: exact.
    expect_close(run_case(g, t).at("bias"), t.at("expected"), 0.0, c.name);
  }
  EXPECT_THROW(RelativeBiasConfig{}.set_n_heads(2).set_num_buckets(7).validate(), ValueError);  // odd, bidirectional
  EXPECT_THROW(RelativeBiasConfig{}.set_n_heads(0).validate(), ValueError);
  EXPECT_THROW(t5_relative_bucket(5, false, 2, 128), ValueError);  // no exact buckets
  EXPECT_THROW(t5_relative_bucket(5, true, 32, 8), ValueError);    // max_distance within the exact range
}

struct RopeCase {
  const char* name;
  RopeConfig cfg;
  int64_t offset;
};

std::vector<RopeCase> rope_cases() {
  return {
      {"default", RopeConfig{}.set_head_dim(16), 0},
      {"default_offset", RopeConfig{}.set_head_dim(10).set_theta(500000.0), 9},
      {"partial", RopeConfig{}.set_head_dim(12).set_rotary_dim(6), 2},
      {"linear", RopeConfig{}.set_head_dim(16).set_scaling(RopeScaling::linear, 2.5), 3},
      {"dynamic", RopeConfig{}.set_head_dim(16).set_scaling(RopeScaling::dynamic, 2.0).set_max_position_embeddings(8), 4},
      {"yarn", RopeConfig{}.set_head_dim(16).set_scaling(RopeScaling::yarn, 4.0).set_max_position_embeddings(64)
                   .set_original_max_position_embeddings(16), 5},
      {"yarn_mscale", RopeConfig{}.set_head_dim(14).set_scaling(RopeScaling::yarn, 8.0).set_max_position_embeddings(64)
                          .set_original_max_position_embeddings(32).set_mscale(0.707, 1.0).set_beta(16.0, 2.0)
                          .set_truncate(false), 1},
      {"llama3", RopeConfig{}.set_head_dim(16).set_theta(500000.0).set_scaling(RopeScaling::llama3, 8.0)
                     .set_original_max_position_embeddings(32).set_llama3_freq_factors(1.0, 4.0), 2},
      {"gptj", RopeConfig{}.set_head_dim(8).set_style(RopeStyle::interleaved), 0},
      {"gptj_partial", RopeConfig{}.set_head_dim(12).set_rotary_dim(6).set_style(RopeStyle::interleaved), 3},
  };
}

TEST(NnPosition, RopeInvFreqMatchesHfInitFunctions) {
  for (const RopeCase& rc : rope_cases()) {
    auto t = load_case(std::string("rope_") + rc.name);
    if (!t.count("inv_freq")) continue;  // GPT-J cases: checked through the rotation only
    const int64_t seq = t.at("x").size(2);
    RopeFrequencies f = rope_frequencies(rc.cfg, rc.offset + seq);
    const Tensor& want = t.at("inv_freq");
    ASSERT_EQ(int64_t(f.inv_freq.size()), want.numel()) << rc.name;
    double worst = 0;
    for (int64_t i = 0; i < want.numel(); ++i)
      worst = std::max(worst, std::abs(f.inv_freq[size_t(i)] - want.get({i})) / std::abs(want.get({i})));
    // HF evaluates pow/divide in f32, we in double then round: a few ulps (4e-7 relative).
    EXPECT_LE(worst, 4e-7) << rc.name;
    EXPECT_NEAR(f.attention_scaling, t.at("attention_scaling").get({0}), 1e-6) << rc.name;
    std::printf("[max rel err] rope inv_freq %-20s %.3g (attention_scaling %.6f)\n", rc.name, worst,
                double(f.attention_scaling));
  }
}

TEST(NnPosition, RopeRotationMatchesHf) {
  for (const RopeCase& rc : rope_cases()) {
    auto t = load_case(std::string("rope_") + rc.name);
    Graph g;
    Value x = g.input("x", t.at("x").shape());  // [b, h, s, hd]
    g.output(rope(g, x, rc.cfg, rc.offset), "y");
    // HF forms angles p * inv_freq in f32 (error up to |angle| * 6e-8 = 1e-6 at the positions used here), we
    // in double: 1e-5.
    expect_close(run_case(g, t).at("y"), t.at("expected"), 1e-5, std::string("rope ") + rc.name);
  }
}

TEST(NnPosition, RopeTablesGatheredByPositionIdsEqualOffsetTables) {
  RopeConfig c = RopeConfig{}.set_head_dim(8);
  RopeTables full = rope_tables(c, 32);
  Graph g;
  Value x = g.input("x", {1, 2, 3, 8});
  Value pos = g.input("pos", DType::i64, {3});
  Value cos = g.gather(g.constant(full.cos), pos, 0), sin = g.gather(g.constant(full.sin), pos, 0);  // [3, 4]
  g.output(rope_apply(g, x, cos, sin, c), "a");
  g.output(rope(g, x, c, 20), "b");
  Tensor xt = Tensor::full({1, 2, 3, 8}, 0.5);
  for (int64_t i = 0; i < xt.numel(); ++i) xt.data<float>()[i] = float(i % 7) - 3.0f;
  auto out = run_graph(g, {{"x", xt}, {"pos", Tensor::from_vector<int64_t>({3}, {20, 21, 22})}});
  expect_close(out.at("a"), out.at("b"), 0.0, "rope gathered vs offset");
}

TEST(NnPosition, RopeErrors) {
  EXPECT_THROW(RopeConfig{}.set_head_dim(7).validate(), ValueError);                // odd
  EXPECT_THROW(RopeConfig{}.set_head_dim(8).set_rotary_dim(10).validate(), ValueError);
  EXPECT_THROW(RopeConfig{}.set_head_dim(8).set_scaling(RopeScaling::llama3, 8).validate(), ValueError);
  Graph g;
  Value x = g.input("x", {1, 2, 3, 6});
  try {
    rope(g, x, RopeConfig{}.set_head_dim(8));
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("[1, 2, 3, 6]"), std::string::npos) << e.what();
  }
}

TEST(NnPosition, AlibiMatchesBloom) {
  auto t = load_case("pos_alibi");
  const Tensor& mask = t.at("mask");  // [2, 9]
  for (int64_t h : {1, 2, 3, 5, 6, 8, 12, 16, 20, 30, 64, 100}) {
    const Tensor& want = t.at("h" + std::to_string(h));  // [2 * h, 1, 9]
    // Slopes are f32 powers (torch.pow vs our double pow rounded): 1e-6.
    expect_close(build_alibi_tensor(mask, h), want, 1e-6, "alibi h=" + std::to_string(h));
    Graph g;
    g.output(alibi_bias(g, h, 9), "bias");
    Tensor b = run_graph(g, {}).at("bias").reshape({h, 1, 9});  // unpadded row = batch 0
    expect_close(b, want.slice(0, 0, h).contiguous(), 1e-6, "alibi_bias h=" + std::to_string(h));
  }
  EXPECT_THROW(alibi_slopes(0), ValueError);
  EXPECT_THROW(build_alibi_tensor(Tensor::zeros({3}), 2), ShapeError);
}

}  // namespace
}  // namespace tl::nn
