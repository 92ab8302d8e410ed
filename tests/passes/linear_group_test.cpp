// group_linears: bias-free products of one decode-sized input by several weights of one format become one
// linear_group node plus slices, with the same outputs (f32 einsums within rounding, typed `linear` ops bit
// for bit); prefill-sized inputs, transposed weights, mixed formats and lone products are left alone. The
// model-level check (generation equal to transformers through the grouped graphs) is in tests/models.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "pass_test_util.h"
#include "tl/quant.h"

using namespace tl;

namespace {

using pass_test::count;

// x [b, s, 64] -> q/k/v einsums (48, 16, 16 outputs), an einsum with a transposed weight, and gate/up einsums
// on a second input; every product an output.
Graph attention_inputs(int64_t b, int64_t s) {
  Graph g("qkv");
  Value x = g.input("x", {b, s, 64});   // [b, s, d]
  Value x2 = g.input("x2", {b, s, 64});  // [b, s, d]
  g.output(g.einsum("...i,oi->...o", {x, g.param("wq", {48, 64})}, "q"));    // [b, s, 48]
  g.output(g.einsum("bsi,oi->bso", {x, g.param("wk", {16, 64})}, "k"));      // [b, s, 16]
  g.output(g.einsum("...i,oi->...o", {x, g.param("wv", {16, 64})}, "v"));    // [b, s, 16]
  g.output(g.einsum("...i,io->...o", {x, g.param("wt", {64, 8})}, "t"));     // [b, s, 8] (transposed: alone)
  g.output(g.einsum("...i,oi->...o", {x2, g.param("wg", {96, 64})}, "gate"));  // [b, s, 96]
  g.output(g.einsum("...i,oi->...o", {x2, g.param("wu", {96, 64})}, "up"));    // [b, s, 96]
  return g;
}

}  // namespace

TEST(LinearGroupPass, GroupsDecodeSizedProductsOfOneInput) {
  for (int64_t b : {1, 4}) {
    SCOPED_TRACE("batch " + std::to_string(b));
    const Graph before = attention_inputs(b, 1);
    Graph g = before;
    EXPECT_TRUE(group_linears(g));
    verify(g);
    EXPECT_EQ(count(g, OpKind::linear_group), 2);  // q/k/v and gate/up
    EXPECT_EQ(count(g, OpKind::einsum), 1);        // the transposed weight
    EXPECT_EQ(count(g, OpKind::slice), 5);
    // Names and outputs survive; results within f32 rounding (m = 4 moves from the GEMM to dot-product rows).
    for (const char* name : {"q", "k", "v", "gate", "up"}) EXPECT_TRUE(g.find(name).has_value()) << name;
    pass_test::expect_same_outputs(before, g, 1e-5, 1e-5);
    // The text form holds the new op and parses back to the same graph.
    EXPECT_EQ(parse_graph_text(to_text(g)), g);
  }
}

TEST(LinearGroupPass, LeavesPrefillsAndLoneProductsAlone) {
  Graph g = attention_inputs(1, 5);  // 5 rows: a GEMM, not a decode product
  EXPECT_FALSE(group_linears(g));
  Graph one("one");
  Value x = one.input("x", {1, 64});
  one.output(one.einsum("...i,oi->...o", {x, one.param("w", {8, 64})}, "y"));
  one.output(one.einsum("...i,io->...o", {x, one.param("wt", {64, 8})}, "z"));
  EXPECT_FALSE(group_linears(one));
}

TEST(LinearGroupPass, TypedLinearsGroupByFormatBitForBit) {
  // q8_0 q/k and a bf16 v on one input: the two q8_0 products group, the bf16 one stays a linear op; a q8_0
  // product with a bias stays alone (the group has no bias).
  Graph g("typed");
  const int64_t k = 64, rb = weight_row_bytes(WeightFormat::q8_0, k);
  Value x = g.input("x", {1, 1, k});
  g.output(g.linear(x, g.param("wq", DType::u8, {40, rb}), std::nullopt, WeightFormat::q8_0, "q"));
  g.output(g.linear(x, g.param("wk", DType::u8, {24, rb}), std::nullopt, WeightFormat::q8_0, "k"));
  g.output(g.linear(x, g.param("wv", DType::bf16, {24, k}), std::nullopt, WeightFormat::bf16, "v"));
  g.output(g.linear(x, g.param("wb", DType::u8, {8, rb}), g.param("b", {8}), WeightFormat::q8_0, "o"));
  const Graph before = g;
  EXPECT_TRUE(group_linears(g));
  verify(g);
  EXPECT_EQ(count(g, OpKind::linear_group), 1);
  EXPECT_EQ(count(g, OpKind::linear), 2);
  // Stored weights from random f32 ones (quantize_weight gives the gguf package's bytes, tests/ir).
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  auto randn = [&](Shape s) {
    Tensor t = Tensor::empty(std::move(s));
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = nd(rng);
    return t;
  };
  std::map<std::string, Tensor> feeds = {{"x", randn({1, 1, k})},
                                         {"wq", quantize_weight(randn({40, k}), WeightFormat::q8_0)},
                                         {"wk", quantize_weight(randn({24, k}), WeightFormat::q8_0)},
                                         {"wv", quantize_weight(randn({24, k}), WeightFormat::bf16)},
                                         {"wb", quantize_weight(randn({8, k}), WeightFormat::q8_0)},
                                         {"b", randn({8})}};
  auto ra = run_graph(before, feeds), rb2 = run_graph(g, feeds);
  for (const char* name : {"q", "k", "v", "o"}) {
    const Tensor &a = ra.at(name), &b = rb2.at(name);
    ASSERT_EQ(a.shape(), b.shape()) << name;
    EXPECT_EQ(std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()), 0) << name;
  }
}

TEST(LinearGroupPass, AWeightSharedByTwoGroupsMovesAboveBoth) {
  // nn::linear makes each param just before its product, so group members' weights often come later than the
  // group's first member and move up with it; `ws` below serves the groups of x1 and x2 and must end up above
  // the earlier one.
  Graph g("shared");
  Value x1 = g.input("x1", {1, 64});
  Value x2 = g.input("x2", {1, 64});
  g.output(g.einsum("...i,oi->...o", {x1, g.param("wa", {8, 64})}, "a"));  // [1, 8]
  g.output(g.einsum("...i,oi->...o", {x2, g.param("wb", {8, 64})}, "b"));  // [1, 8]
  Value ws = g.param("ws", {16, 64});
  g.output(g.einsum("...i,oi->...o", {x1, ws}, "c"));  // [1, 16]
  g.output(g.einsum("...i,oi->...o", {x2, ws}, "d"));  // [1, 16]
  const Graph before = g;
  EXPECT_TRUE(group_linears(g));
  EXPECT_TRUE(verify_problems(g).empty());
  EXPECT_EQ(count(g, OpKind::linear_group), 2);
  pass_test::expect_same_outputs(before, g, 0.0, 0.0);
}
