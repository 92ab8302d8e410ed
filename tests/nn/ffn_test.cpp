// Feed-forward blocks against PyTorch / transformers (LlamaMLP, T5DenseGatedActDense, T5DenseActDense) fixtures.
#include <gtest/gtest.h>

#include "layer_test_util.h"
#include "tl/error.h"
#include "tl/nn/ffn.h"

namespace tl::nn {
namespace {

using testing::expect_close;
using testing::load_case;
using testing::run_case;

void check(const std::string& name, const std::string& prefix, const FfnConfig& c) {
  auto t = load_case(name);
  Graph g;
  Value x = g.input("x", t.at("x").shape());  // [b, s, d]
  g.output(ffn(g, x, prefix, c), "y");
  // fp32 on both sides; the two products reduce over 13 and 22 terms in different orders: 1e-5 relative.
  expect_close(run_case(g, t).at("y"), t.at("expected"), 1e-5, name);
}

TEST(NnFfn, PlainActivationsMatchTorch) {
  const std::pair<const char*, Activation> acts[] = {{"relu", Activation::relu},
                                                     {"gelu_erf", Activation::gelu_erf},
                                                     {"gelu_tanh", Activation::gelu_tanh},
                                                     {"silu", Activation::silu}};
  for (auto [name, act] : acts)
    for (bool bias : {true, false})
      check(std::string("ffn_") + name + (bias ? "_bias" : "_nobias"), "mlp", FfnConfig::plain(13, 22, act, bias));
}

TEST(NnFfn, LlamaSwiGluMatchesTransformers) { check("ffn_llama_swiglu", "mlp", FfnConfig::llama(13, 22)); }

TEST(NnFfn, T5GatedGeluMatchesTransformers) {
  check("ffn_t5_geglu", "DenseReluDense", FfnConfig::t5_gated(13, 22));
  check("ffn_t5_relu", "DenseReluDense", FfnConfig::t5(13, 22));
}

TEST(NnFfn, ReGluWithBiases) {
  check("ffn_reglu_bias", "mlp", FfnConfig::llama(13, 22).set_act(Activation::relu).set_bias(true));
}

TEST(NnFfn, ParamNamesFollowConfig) {
  Graph g;
  Value x = g.input("x", {1, 2, 4});
  ffn(g, x, "layer.0", FfnConfig::plain(4, 6).set_names("intermediate.dense", "output.dense"));
  std::vector<std::string> names;
  for (Value p : g.params()) names.push_back(g.info(p).name);
  EXPECT_EQ(names, (std::vector<std::string>{"layer.0.intermediate.dense.weight", "layer.0.intermediate.dense.bias",
                                             "layer.0.output.dense.weight", "layer.0.output.dense.bias"}));
}

TEST(NnFfn, BadConfigAndShapeNameTheField) {
  Graph g;
  Value x = g.input("x", {2, 5});
  auto msg = [&](const FfnConfig& c) -> std::string {
    try {
      ffn(g, x, "mlp", c);
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(msg(FfnConfig::plain(0, 4)).find("d_model must be positive, got 0"), std::string::npos);
  EXPECT_NE(msg(FfnConfig::plain(5, -1)).find("d_ff must be positive, got -1"), std::string::npos);
  EXPECT_NE(msg(FfnConfig::llama(5, 4).set_gated_names("a", "a", "b")).find("must differ"), std::string::npos);
  EXPECT_THROW(ffn(g, x, "mlp", FfnConfig::plain(6, 4)), ShapeError);
  EXPECT_NE(msg(FfnConfig::plain(6, 4)).find("[2, 5]"), std::string::npos);
}

}  // namespace
}  // namespace tl::nn
