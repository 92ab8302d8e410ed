#include <gtest/gtest.h>

#include <random>

#include "tl/error.h"
#include "tl/nn/common.h"
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

// linear() against a double-precision loop (x W^T + b), PyTorch's nn.Linear definition.
TEST(NnLinear, MatchesDefinition) {
  Graph g;
  Value x = g.input("x", {2, 3, 5});  // [batch, seq, in]
  g.output(linear(g, x, "proj", 5, 7), "y");
  Tensor xt = randn({2, 3, 5}, 1), w = randn({7, 5}, 2), b = randn({7}, 3);
  auto out = run_graph(g, {{"x", xt}, {"proj.weight", w}, {"proj.bias", b}});
  const Tensor& y = out.at("y");
  ASSERT_EQ(y.shape(), (Shape{2, 3, 7}));
  for (int64_t r = 0; r < 6; ++r)
    for (int64_t o = 0; o < 7; ++o) {
      double acc = b.data<float>()[o];
      for (int64_t i = 0; i < 5; ++i) acc += double(xt.data<float>()[r * 5 + i]) * w.data<float>()[o * 5 + i];
      EXPECT_NEAR(y.data<float>()[r * 7 + o], acc, 1e-5 * (1 + std::abs(acc)));
    }
}

TEST(NnLinear, WrongInFeaturesNamesShapes) {
  Graph g;
  Value x = g.input("x", {2, 4});
  try {
    linear(g, x, "proj", 5, 7);
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 4]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(linear(g, x, "p", 4, 0), ValueError);
}

}  // namespace
}  // namespace tl::nn
