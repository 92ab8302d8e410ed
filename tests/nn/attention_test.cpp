// Attention builders (include/tl/nn/attention.h): sdpa (plain graph and fused op) against PyTorch's
// scaled_dot_product_attention, the MHA/GQA/MQA/cross-attention block against a hand-written torch module with
// the same parameter names (fixtures: scripts/gen_attention_fixtures.py), weights returned for inspection,
// dropout in training mode only, config validation and shape errors.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "tl/error.h"
#include "tl/json.h"
#include "tl/npy.h"
#include "tl/nn/attention.h"
#include "tl/runtime.h"

namespace tl::nn {
namespace {

std::string dir() { return std::string(TL_FIXTURE_DIR) + "/attention/"; }
Tensor fx(const std::string& name) { return read_npy(dir() + name + ".npy"); }
json::Value manifest() {
  std::ifstream f(dir() + "manifest.json");
  std::stringstream ss;
  ss << f.rdbuf();
  return json::parse(ss.str());
}
const json::Value& at(const json::Value& v, const char* k) { return v.as_object().at(k); }

// |got - want| <= rtol |want| + atol everywhere; returns the max abs difference through `worst`.
::testing::AssertionResult close(const Tensor& got, const Tensor& want, double rtol, double atol, double* worst) {
  if (got.shape() != want.shape())
    return ::testing::AssertionFailure() << shape_str(got.shape()) << " vs " << shape_str(want.shape());
  auto g = got.to_f64_vector(), w = want.to_f64_vector();
  for (size_t i = 0; i < g.size(); ++i) {
    const double d = std::abs(g[i] - w[i]);
    if (worst) *worst = std::max(*worst, d);
    if (!(d <= atol + rtol * std::abs(w[i])))
      return ::testing::AssertionFailure() << "element " << i << ": " << g[i] << " vs " << w[i];
  }
  return ::testing::AssertionSuccess();
}

SparseSpec sparse_from(const json::Value& e) {
  SparseSpec s;
  const json::Object& o = e.as_object();
  if (const json::Value* p = o.find("pattern")) {
    const std::string& n = p->as_string();
    s.pattern = n == "strided" ? SparsePattern::strided
                : n == "local" ? SparsePattern::local
                : n == "global_local" ? SparsePattern::global_local
                : n == "block_sparse" ? SparsePattern::block_sparse
                                      : SparsePattern::none;
  }
  if (const json::Value* p = o.find("span")) s.span = p->as_int();
  if (const json::Value* p = o.find("n_global")) s.n_global = p->as_int();
  if (const json::Value* p = o.find("block_q")) s.block_q = p->as_int();
  if (const json::Value* p = o.find("block_k")) s.block_k = p->as_int();
  if (const json::Value* p = o.find("layout"))
    for (const json::Value& x : p->as_array()) s.layout.push_back(uint8_t(x.as_int()));
  return s;
}

// sdpa() as a graph, both implementations, on every torch SDPA fixture.
TEST(NnAttention, SdpaMatchesTorchBothImpls) {
  double worst = 0;
  const json::Value m = manifest();
  for (const json::Value& e : at(m, "sdpa").as_array()) {
    const std::string name = at(e, "name").as_string();
    Tensor qt = fx(name + "_q"), kt = fx(name + "_k"), vt = fx(name + "_v");
    for (AttentionImpl impl : {AttentionImpl::plain, AttentionImpl::fused}) {
      Graph g;
      Value q = g.input("q", qt.shape()), k = g.input("k", kt.shape()), v = g.input("v", vt.shape());
      std::map<std::string, Tensor> in{{"q", qt}, {"k", kt}, {"v", vt}};
      SdpaOptions o;
      o.scale = float(at(e, "scale").as_double());
      o.causal = at(e, "causal").as_bool();
      o.window = at(e, "window").as_int();
      o.sparse = sparse_from(e);
      o.impl = impl;
      if (at(e, "bias").as_bool()) {
        Tensor bt = fx(name + "_bias");
        o.bias = g.input("bias", bt.shape());
        in["bias"] = bt;
      }
      g.output(sdpa(g, q, k, v, o).out, "y");
      Tensor y = run_graph(g, in).at("y");
      // fp32 over <= 13 keys: 1e-5 relative, 1e-6 absolute floor for outputs near zero.
      EXPECT_TRUE(close(y, fx(name + "_out"), 1e-5, 1e-6, &worst))
          << name << (impl == AttentionImpl::plain ? " plain" : " fused");
    }
  }
  std::printf("[attention] sdpa graph vs torch: max abs diff %.3g\n", worst);
}

// The projection block vs the torch module, plain and fused, with the weights returned (plain).
TEST(NnAttention, BlockMatchesTorchModule) {
  double worst = 0, worst_w = 0;
  const json::Value m = manifest();
  for (const json::Value& e : at(m, "module").as_array()) {
    const std::string name = at(e, "name").as_string();
    const auto& bias = at(e, "bias").as_array();
    for (AttentionImpl impl : {AttentionImpl::plain, AttentionImpl::fused}) {
      AttentionConfig cfg;
      cfg.with_d_model(at(e, "d_model").as_int())
          .with_heads(at(e, "n_heads").as_int(), at(e, "n_kv_heads").as_int())
          .with_head_dim(at(e, "head_dim").as_int())
          .with_kv_in(at(e, "kv_in").as_int())
          .with_bias(bias[0].as_bool(), bias[1].as_bool(), bias[2].as_bool(), bias[3].as_bool())
          .with_causal(at(e, "causal").as_bool())
          .with_impl(impl);
      Tensor xt = fx(name + "_x");
      Graph g;
      Value x = g.input("x", xt.shape());  // [b, s, d]
      std::map<std::string, Tensor> in{{"x", xt}};
      AttentionOptions o;
      o.return_weights = impl == AttentionImpl::plain;
      if (at(e, "cross").as_bool()) {
        Tensor st = fx(name + "_src");
        o.kv_source = g.input("src", st.shape());
        in["src"] = st;
      }
      if (at(e, "pad").as_bool()) {
        Tensor keep = fx(name + "_keep");
        o.bias = padding_bias(g, g.input("keep", keep.shape()));
        in["keep"] = keep;
      }
      AttentionOutputs r = attention_outputs(g, cfg, x, "layers.0.self_attn", o);
      g.output(r.out, "y");
      if (r.weights) g.output(*r.weights, "w");
      for (const json::Value& p : at(e, "params").as_array())
        in["layers.0.self_attn." + p.as_string()] = fx(name + "__" + p.as_string());
      auto out = run_graph(g, in);
      // Projections (<= 24 terms) + attention over <= 13 keys in fp32 vs float64 torch: 1e-5 rel, 1e-6 abs.
      EXPECT_TRUE(close(out.at("y"), fx(name + "_out"), 1e-5, 1e-6, &worst)) << name << " impl " << int(impl);
      if (r.weights) {
        EXPECT_TRUE(close(out.at("w"), fx(name + "_weights"), 1e-5, 1e-6, &worst_w)) << name;
      }
    }
  }
  std::printf("[attention] block vs torch module: max abs diff %.3g (weights %.3g)\n", worst, worst_w);
}

// GQA with n_kv_heads == n_heads is MHA: same graph outputs as a config that leaves n_kv_heads at 0.
TEST(NnAttention, GqaWithAllHeadsIsMha) {
  Tensor xt = fx("mha_pad_x");
  std::map<std::string, Tensor> params;
  for (const char* p : {"q_proj", "k_proj", "v_proj", "o_proj"}) {
    params[std::string("a.") + p + ".weight"] = fx(std::string("mha_pad__") + p + ".weight");
    params[std::string("a.") + p + ".bias"] = fx(std::string("mha_pad__") + p + ".bias");
  }
  Tensor ys[2];
  for (int kv : {0, 5}) {
    Graph g;
    Value x = g.input("x", xt.shape());
    g.output(attention(g, AttentionConfig().with_d_model(20).with_heads(5, kv), x, "a"), "y");
    auto in = params;
    in["x"] = xt;
    ys[kv ? 1 : 0] = run_graph(g, in).at("y");
  }
  EXPECT_EQ(ys[0].to_f32_vector(), ys[1].to_f32_vector());
}

// Dropout: inference adds nothing; training multiplies the weights by the caller's keep mask input.
TEST(NnAttention, DropoutOnlyInTraining) {
  Tensor qt = fx("basic_q"), kt = fx("basic_k"), vt = fx("basic_v");
  auto build = [&](bool training, float p) {
    Graph g;
    Value q = g.input("q", qt.shape()), k = g.input("k", kt.shape()), v = g.input("v", vt.shape());
    SdpaOptions o;
    o.dropout.p = p;
    o.dropout.training = training;
    o.prefix = "l0";
    o.return_weights = true;
    SdpaResult r = sdpa(g, q, k, v, o);
    g.output(r.out, "y");
    g.output(*r.weights, "w");
    return g;
  };
  Graph inf = build(false, 0.5f);
  EXPECT_EQ(inf.inputs().size(), 3u);  // no dropout input in inference
  auto a = run_graph(inf, {{"q", qt}, {"k", kt}, {"v", vt}});
  EXPECT_TRUE(close(a.at("y"), fx("basic_out"), 1e-5, 1e-6, nullptr));
  Graph tr = build(true, 0.5f);
  ASSERT_TRUE(tr.find("l0.attn_dropout_keep").has_value());
  Tensor keep = dropout_keep_mask({2, 5, 7, 7}, 0.5f, 42);
  auto b = run_graph(tr, {{"q", qt}, {"k", kt}, {"v", vt}, {"l0.attn_dropout_keep", keep}});
  // y = (w * keep) v, computed here in double from the returned (pre-dropout) weights.
  const Tensor& w = b.at("w");
  const Tensor& y = b.at("y");
  double worst = 0;
  for (int64_t bb = 0; bb < 2; ++bb)
    for (int64_t h = 0; h < 5; ++h)
      for (int64_t i = 0; i < 7; ++i)
        for (int64_t c = 0; c < 4; ++c) {
          double acc = 0;
          for (int64_t j = 0; j < 7; ++j) acc += w.get({bb, h, i, j}) * keep.get({bb, h, i, j}) * vt.get({bb, h, j, c});
          worst = std::max(worst, std::abs(acc - y.get({bb, h, i, c})));
        }
  EXPECT_LT(worst, 1e-5);
  // The mask keeps about half, scaled by 2.
  int64_t kept = 0;
  for (float f : keep.to_f32_vector()) {
    EXPECT_TRUE(f == 0.0f || f == 2.0f);
    kept += f != 0.0f;
  }
  EXPECT_NEAR(double(kept) / double(keep.numel()), 0.5, 0.08);
  EXPECT_THROW(dropout_keep_mask({2}, 1.0f, 1), ValueError);
}

TEST(NnAttention, ConfigValidationNamesTheField) {
  auto msg = [](const AttentionConfig& c) {
    try {
      c.validate();
    } catch (const ValueError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(msg(AttentionConfig().with_d_model(10).with_heads(4)).find("d_model = 10 is not divisible by n_heads = 4"),
            std::string::npos);
  EXPECT_NE(msg(AttentionConfig().with_d_model(12).with_heads(4, 3)).find("n_heads = 4 is not divisible by n_kv_heads = 3"),
            std::string::npos);
  EXPECT_NE(msg(AttentionConfig().with_d_model(0).with_heads(4)).find("d_model = 0"), std::string::npos);
  EXPECT_NE(msg(AttentionConfig().with_d_model(8).with_heads(2).with_window(-1)).find("window = -1"), std::string::npos);
  EXPECT_NE(msg(AttentionConfig().with_d_model(8).with_heads(2).with_dropout(1.5f, true)).find("dropout = 1.5"),
            std::string::npos);
  EXPECT_EQ(msg(AttentionConfig().with_d_model(10).with_heads(4).with_head_dim(3)), "");  // explicit head_dim
  EXPECT_FLOAT_EQ(AttentionConfig().with_d_model(20).with_heads(5).scale_value(), 0.5f);
}

TEST(NnAttention, ShapeErrorsNameTheOperand) {
  Graph g;
  Value x = g.input("x", {2, 7, 16});
  try {
    attention(g, AttentionConfig().with_d_model(20).with_heads(5), x, "a");
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("x must be [batch, seq, 20], got [2, 7, 16]"), std::string::npos) << e.what();
  }
  Value q = g.input("q", {1, 4, 3, 8}), k = g.input("k", {1, 3, 3, 8});
  EXPECT_THROW(sdpa(g, q, k, k), ShapeError);
  Value k2 = g.input("k2", {1, 2, 3, 8});
  SdpaOptions o;
  o.impl = AttentionImpl::fused;
  o.return_weights = true;
  EXPECT_THROW(sdpa(g, q, k2, k2, o), ValueError);
  EXPECT_THROW(padding_bias(g, g.input("keep", {2, 3, 4})), ShapeError);
}

// Unmasked attention may have more queries than keys (T5 cross-attention with a decoder longer than the encoder);
// with a position mask (causal, window, sparse) sq > sk stays an error. Plain and fused against the double
// reference (tolerance 1e-5 relative: fp32 dot products of length 4 and softmax over 3 keys).
TEST(NnAttention, MoreQueriesThanKeysWhenUnmasked) {
  Tensor qt = Tensor::empty({1, 2, 5, 4}), kt = Tensor::empty({1, 1, 3, 4}), vt = Tensor::empty({1, 1, 3, 4});
  for (Tensor* t : {&qt, &kt, &vt})
    for (int64_t i = 0; i < t->numel(); ++i) t->data<float>()[i] = float(std::sin(0.7 * double(i) + t->numel()));
  AttentionSpec spec;
  spec.scale = 0.5f;
  Tensor ref = ref::attention(qt, kt, vt, std::nullopt, spec);  // [1, 2, 5, 4]
  for (AttentionImpl impl : {AttentionImpl::plain, AttentionImpl::fused}) {
    Graph g;
    Value q = g.input("q", qt.shape()), k = g.input("k", kt.shape()), v = g.input("v", vt.shape());
    SdpaOptions o;
    o.impl = impl;
    o.scale = 0.5f;
    g.output(sdpa(g, q, k, v, o).out, "y");
    Tensor y = run_graph(g, {{"q", qt}, {"k", kt}, {"v", vt}}).at("y");
    ASSERT_EQ(y.shape(), ref.shape());
    for (int64_t i = 0; i < y.numel(); ++i)
      EXPECT_NEAR(y.data<float>()[i], ref.data<float>()[i], 1e-5 * (1 + std::abs(ref.data<float>()[i])));
  }
  Graph g;
  Value q = g.input("q", qt.shape()), k = g.input("k", kt.shape());
  SdpaOptions causal;
  causal.causal = true;
  EXPECT_THROW(sdpa(g, q, k, k, causal), ShapeError);
}

// The fused op round-trips through the text and JSON forms with every attribute.
TEST(NnAttention, FusedOpRoundTripsTextAndJson) {
  Graph g("rt");
  Value q = g.input("q", {1, 4, 9, 8}), k = g.input("k", {1, 2, 9, 8}), v = g.input("v", {1, 2, 9, 8});
  SdpaOptions o;
  o.impl = AttentionImpl::fused;
  o.causal = true;
  o.window = 5;
  o.scale = 0.1f;
  o.sparse.pattern = SparsePattern::block_sparse;
  o.sparse.block_q = o.sparse.block_k = 4;
  o.sparse.layout = {1, 0, 1, 1, 1, 0, 0, 1, 1};
  g.output(sdpa(g, q, k, v, o).out, "y");
  verify(g);
  EXPECT_EQ(parse_graph_text(to_text(g)), g);
  EXPECT_EQ(parse_graph_json(to_json(g)), g);
}

}  // namespace
}  // namespace tl::nn
