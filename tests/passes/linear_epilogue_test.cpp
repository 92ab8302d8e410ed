// fuse_linear_epilogues: a product's sole bias add / bias_act / activation becomes the epilogue of one linear op
// (BERT's q/k/v/o and GELU FFN, LLaMA's SiLU gate), with the same outputs; decode-sized products, products used
// twice or as outputs, and non-bias adds are left alone. The model-level checks (BERT, MiniLM, GPT-2, LLaMA
// against transformers / sentence-transformers through the full pipeline) are in tests/models.
#include <gtest/gtest.h>

#include "pass_test_util.h"
#include "tl/quant.h"

using namespace tl;

namespace {

using pass_test::count;

const Node* producer(const Graph& g, const std::string& name) {
  const std::optional<Value> v = g.find(name);
  if (!v) return nullptr;
  for (const Node& n : g.nodes())
    if (n.output == *v) return &n;
  return nullptr;
}

// x [b, s, 32]: a biased projection (add), a GELU FFN (einsum, add, gelu), a SiLU gate without bias, and a
// product whose output is also a graph output.
Graph block(int64_t b, int64_t s) {
  Graph g("block");
  Value x = g.input("x", {b, s, 32});                                                          // [b, s, d]
  Value q = g.einsum("...i,oi->...o", {x, g.param("wq", {32, 32})});                           // [b, s, d]
  g.output(g.add(q, g.param("bq", {32}), "q"));
  Value h = g.einsum("...i,oi->...o", {x, g.param("w1", {64, 32})});                           // [b, s, f]
  Value a = g.unary(UnaryOp::gelu_erf, g.add(g.param("b1", {64}), h));                        // [b, s, f]
  g.output(g.einsum("...i,oi->...o", {a, g.param("w2", {32, 64})}, "ffn"));                   // [b, s, d]
  Value gate = g.einsum("...i,oi->...o", {x, g.param("wg", {48, 32})});                        // [b, s, 48]
  Value up = g.einsum("...i,oi->...o", {x, g.param("wu", {48, 32})});                          // [b, s, 48]
  g.output(g.mul(g.unary(UnaryOp::silu, gate), up, "glu"));
  Value kept = g.einsum("...i,oi->...o", {x, g.param("wk", {16, 32})}, "k_raw");              // also an output
  g.output(kept);
  g.output(g.add(kept, g.param("bk", {16}), "k"));
  return g;
}

}  // namespace

TEST(LinearEpiloguePass, BiasAndActivationsJoinTheProduct) {
  const Graph before = block(2, 5);  // 10 rows
  Graph g = before;
  optimize(g, OptLevel::full);
  verify(g);
  // q: bias; the FFN's first product: bias + gelu (through fusion's bias_act); the gate: silu; k_raw stays.
  const Node* q = producer(g, "q");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->kind, OpKind::linear);
  EXPECT_EQ(q->inputs.size(), 3u);
  EXPECT_FALSE(std::get<LinearAttrs>(q->attrs).act.has_value());
  int gelu = 0, silu = 0;
  for (const Node& n : g.nodes())
    if (n.kind == OpKind::linear && std::get<LinearAttrs>(n.attrs).act) {
      gelu += *std::get<LinearAttrs>(n.attrs).act == UnaryOp::gelu_erf && n.inputs.size() == 3;
      silu += *std::get<LinearAttrs>(n.attrs).act == UnaryOp::silu && n.inputs.size() == 2;
    }
  EXPECT_EQ(gelu, 1);
  EXPECT_EQ(silu, 1);
  EXPECT_EQ(count(g, OpKind::bias_act), 0);
  EXPECT_EQ(count(g, OpKind::unary), 0);
  ASSERT_NE(producer(g, "k_raw"), nullptr);
  EXPECT_EQ(producer(g, "k_raw")->kind, OpKind::einsum);  // used twice (an output): left alone
  EXPECT_EQ(producer(g, "k")->kind, OpKind::binary);
  pass_test::expect_same_outputs(before, g, 1e-5, 1e-5);
  EXPECT_EQ(parse_graph_text(to_text(g)), g);
}

TEST(LinearEpiloguePass, DecodeSizedProductsStayPlain) {
  Graph g = block(1, 4);  // 4 rows: the linear_group pass's territory
  EXPECT_FALSE(fuse_linear_epilogues(g));
  // A non-bias add (a residual of the output's full shape) is not an epilogue either.
  Graph r("residual");
  Value x = r.input("x", {8, 32});
  r.output(r.add(r.einsum("...i,oi->...o", {x, r.param("w", {32, 32})}), x, "y"));
  EXPECT_FALSE(fuse_linear_epilogues(r));
}

TEST(LinearEpiloguePass, TypedLinearTakesBiasThenActivation) {
  // A q8_0 linear op, then a bias add, then tanh: one linear {q8_0, act = tanh} with the bias, bit for bit the
  // unfused kernels' result (the epilogue reuses bias_act's arithmetic).
  const int64_t rb = weight_row_bytes(WeightFormat::q8_0, 64);
  Graph g("typed");
  Value x = g.input("x", {6, 64});
  Value y = g.linear(x, g.param("w", DType::u8, {24, rb}), std::nullopt, WeightFormat::q8_0);
  g.output(g.unary(UnaryOp::tanh, g.add(y, g.param("b", {24})), "out"));
  const Graph before = g;
  EXPECT_TRUE(fuse_linear_epilogues(g));
  verify(g);
  ASSERT_EQ(count(g, OpKind::linear), 1);
  EXPECT_EQ(g.nodes().size(), 4u);  // x, w, b, linear
  const Node* out = producer(g, "out");
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(std::get<LinearAttrs>(out->attrs).act, UnaryOp::tanh);
  EXPECT_EQ(std::get<LinearAttrs>(out->attrs).format, WeightFormat::q8_0);
  pass_test::expect_same_outputs(before, g, 1e-6, 1e-6);
}
