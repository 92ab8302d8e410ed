// LayerNorm / RMSNorm against torch.nn.LayerNorm, torch.nn.RMSNorm, LlamaRMSNorm and T5LayerNorm fixtures.
#include <gtest/gtest.h>

#include "layer_test_util.h"
#include "tl/error.h"
#include "tl/nn/norm.h"

namespace tl::nn {
namespace {

using testing::expect_close;
using testing::load_case;
using testing::run_case;

void check(const std::string& name, const std::string& prefix, const NormConfig& c) {
  auto t = load_case(name);
  Graph g;
  Value x = g.input("x", t.at("x").shape());  // [b, s, d]
  g.output(norm(g, x, prefix, c), "y");
  // One mean/variance over 19 fp32 values per row: 1e-5 relative.
  expect_close(run_case(g, t).at("y"), t.at("expected"), 1e-5, name);
}

TEST(NnNorm, LayerNormMatchesTorch) {
  check("norm_ln_affine", "ln", NormConfig::layer(19));
  check("norm_ln_eps3", "ln", NormConfig::layer(19, 1e-3f));
  check("norm_ln_nobias", "ln", NormConfig::layer(19).set_bias(false));
  check("norm_ln_plain", "ln", NormConfig::layer(19).set_affine(false));
}

TEST(NnNorm, RmsNormMatchesTorchAndTransformers) {
  check("norm_rms_plain", "rms", NormConfig::rms(19).set_affine(false));
  check("norm_rms_llama", "rms", NormConfig::rms(19));
  check("norm_rms_t5", "rms", NormConfig::rms(19));
}

TEST(NnNorm, ParamsFollowOptions) {
  auto names = [](const NormConfig& c) {
    Graph g;
    norm(g, g.input("x", {2, 3}), "n", c);
    std::vector<std::string> v;
    for (Value p : g.params()) v.push_back(g.info(p).name);
    return v;
  };
  EXPECT_EQ(names(NormConfig::layer(3)), (std::vector<std::string>{"n.weight", "n.bias"}));
  EXPECT_EQ(names(NormConfig::layer(3).set_bias(false)), (std::vector<std::string>{"n.weight"}));
  EXPECT_EQ(names(NormConfig::rms(3)), (std::vector<std::string>{"n.weight"}));
  EXPECT_TRUE(names(NormConfig::rms(3).set_affine(false)).empty());
}

TEST(NnNorm, BadConfigAndShape) {
  Graph g;
  Value x = g.input("x", {2, 3});
  EXPECT_THROW(norm(g, x, "n", NormConfig::layer(0)), ValueError);
  EXPECT_THROW(norm(g, x, "n", NormConfig::layer(3, -1.0f)), ValueError);
  EXPECT_THROW(norm(g, x, "n", NormConfig::rms(3).set_bias(true)), ValueError);
  try {
    norm(g, x, "n", NormConfig::layer(4));
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("expected last dim 4"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tl::nn
