// Elementwise fusion: before/after IR text, the cases that must not fuse, numerical equality of the graph
// before and after (Executor on random inputs, odd sizes), and the fused ops' build-time errors.
#include "pass_test_util.h"
#include "tl/error.h"

using namespace tl;
using pass_test::after;

TEST(Fusion, BiasActivationBecomesBiasAct) {
  // Both add operand orders; the [1,last] bias form; the add keeps no other user.
  const char* before = R"(graph g {
  input %x: f32[3,5]
  param %b: f32[5]
  param %c: f32[1,5]
  %s: f32[3,5] = add(%x, %b)
  %y: f32[3,5] = gelu_tanh(%s)
  %t: f32[3,5] = add(%c, %y)
  %z: f32[3,5] = relu(%t)
  output %z
}
)";
  const char* want = R"(graph g {
  input %x: f32[3,5]
  param %b: f32[5]
  param %c: f32[1,5]
  %y: f32[3,5] = bias_act(%x, %b) {act="gelu_tanh"}
  %z: f32[3,5] = bias_act(%y, %c) {act="relu"}
  output %z
}
)";
  EXPECT_EQ(after(before, elementwise_fusion), want);
}

TEST(Fusion, ScaleMaskSoftmaxBecomesScaledMaskedSoftmax) {
  const char* before = R"(graph g {
  input %x: f32[2,3,4]
  input %m: f32[3,4]
  %k: f32[] = constant() {values=[0.125]}
  %s: f32[2,3,4] = mul(%k, %x)
  %p: f32[2,3,4] = softmax(%s, %m) {axis=-1}
  %s2: f32[2,3,4] = mul(%x, %k)
  %q: f32[2,3,4] = softmax(%s2) {axis=2}
  output %p
  output %q
}
)";
  const char* want = R"(graph g {
  input %x: f32[2,3,4]
  input %m: f32[3,4]
  %p: f32[2,3,4] = scaled_masked_softmax(%x, %m) {scale=0.125}
  %q: f32[2,3,4] = scaled_masked_softmax(%x) {scale=0.125}
  output %p
  output %q
}
)";
  EXPECT_EQ(after(before, elementwise_fusion, /*then_dce=*/true), want);
}

TEST(Fusion, LeavesWhatItMustNotFuse) {
  // %s is also an output; %t's bias [3,5] is not a [last] vector; %u adds i32 x; exp is no activation; the
  // softmax over axis 0; a mul by a non-constant; a mul by a 2-element constant; %w's mul has two users.
  const char* before = R"(graph g {
  input %x: f32[3,5]
  input %i: i32[3,5]
  param %b: f32[5]
  param %bb: f32[3,5]
  %s: f32[3,5] = add(%x, %b)
  %y: f32[3,5] = relu(%s)
  %t: f32[3,5] = add(%x, %bb)
  %y2: f32[3,5] = silu(%t)
  %u: f32[3,5] = add(%i, %b)
  %y3: f32[3,5] = tanh(%u)
  %e0: f32[3,5] = add(%x, %b)
  %e: f32[3,5] = exp(%e0)
  %k: f32[] = constant() {values=[0.5]}
  %k2: f32[5] = constant() {values=[1.0,2.0,3.0,4.0,5.0]}
  %m0: f32[3,5] = mul(%x, %k)
  %p0: f32[3,5] = softmax(%m0) {axis=0}
  %m1: f32[3,5] = mul(%x, %bb)
  %p1: f32[3,5] = softmax(%m1) {axis=-1}
  %m2: f32[3,5] = mul(%x, %k2)
  %p2: f32[3,5] = softmax(%m2) {axis=-1}
  %w: f32[3,5] = mul(%x, %k)
  %p3: f32[3,5] = softmax(%w) {axis=-1}
  %w2: f32[3,5] = add(%p3, %w)
  output %s
  output %y
  output %y2
  output %y3
  output %e
  output %p0
  output %p1
  output %p2
  output %w2
}
)";
  Graph g = parse_graph_text(before);
  verify(g);
  EXPECT_FALSE(elementwise_fusion(g));
  EXPECT_EQ(to_text(g), before);
}

TEST(Fusion, F16ScaleConstantAndNoneAreHandled) {
  // A one-element [1,1] f16 constant that does not widen x; its value converts exactly to f32.
  Graph g("h");
  Value x = g.input("x", DType::f32, {4, 6});
  Value k = g.constant(Tensor::full({1, 1}, 0.375, DType::f16), "k");
  Value p = g.softmax(g.mul(x, k), -1, std::nullopt, "p");
  g.output(p);
  EXPECT_TRUE(elementwise_fusion(g));
  ASSERT_EQ(g.nodes().back().kind, OpKind::scaled_masked_softmax);
  EXPECT_EQ(std::get<ScaledMaskedSoftmaxAttrs>(g.nodes().back().attrs).scale, 0.375f);
  EXPECT_NO_THROW(verify(g));
}

// A small transformer-ish block with odd sizes: both patterns, masks, every activation.
Graph fusable_block(UnaryOp act) {
  Graph g("block");
  Value x = g.input("x", DType::f32, {2, 7, 13});        // [batch, seq, dim]
  Value w1 = g.param("w1", DType::f32, {13, 19});        // [dim, hidden]
  Value b1 = g.param("b1", DType::f32, {19});            // [hidden]
  Value w2 = g.param("w2", DType::f32, {19, 13});        // [hidden, dim]
  Value b2 = g.param("b2", DType::f32, {1, 1, 13});      // [1, 1, dim]
  Value h = g.einsum("bsd,dh->bsh", {x, w1});            // [2, 7, 19]
  Value a = g.unary(act, g.add(h, b1), "a");             // [2, 7, 19]
  Value o = g.unary(UnaryOp::tanh, g.add(b2, g.einsum("bsh,hd->bsd", {a, w2})), "o");  // [2, 7, 13]
  Value scores = g.einsum("bsd,btd->bst", {o, x});       // [2, 7, 7]
  std::vector<float> mv(49);
  for (int i = 0; i < 7; ++i)
    for (int j = 0; j < 7; ++j) mv[size_t(i * 7 + j)] = j > i ? -INFINITY : 0.0f;
  Value mask = g.constant(Tensor::from_vector<float>({7, 7}, mv), "mask");  // [7, 7] causal
  Value k = g.constant(Tensor::full({}, 0.2773500981), "k");                // 1/sqrt(13)
  Value p = g.softmax(g.mul(scores, k), -1, mask, "p");                     // [2, 7, 7]
  Value q = g.softmax(g.mul(k, scores), 2, std::nullopt, "q");              // no mask
  g.output(p);
  g.output(q);
  return g;
}

TEST(Fusion, SameOutputsBeforeAndAfter) {
  for (UnaryOp act : {UnaryOp::relu, UnaryOp::gelu_erf, UnaryOp::gelu_tanh, UnaryOp::silu, UnaryOp::sigmoid,
                      UnaryOp::tanh}) {
    Graph g = fusable_block(act);
    Graph f = g;
    EXPECT_TRUE(elementwise_fusion(f)) << op_name(act);
    dead_code_elimination(f);
    verify(f);
    size_t fused = 0;
    for (const Node& n : f.nodes())
      fused += n.kind == OpKind::bias_act || n.kind == OpKind::scaled_masked_softmax;
    EXPECT_EQ(fused, 4u) << to_text(f);
    // The fused kernels compute in f32 like the unfused ones; only the ops' internal rounding can differ.
    pass_test::expect_same_outputs(g, f, 1e-6, 1e-5);
    EXPECT_FALSE(elementwise_fusion(f));  // a fixpoint
  }
}

TEST(Fusion, FullPipelineFusesAndKeepsResults) {
  Graph g = fusable_block(UnaryOp::gelu_erf);
  Graph f = g;
  optimize(f, OptLevel::full);
  std::string text = to_text(f);
  EXPECT_NE(text.find("bias_act("), std::string::npos) << text;
  EXPECT_NE(text.find("scaled_masked_softmax("), std::string::npos) << text;
  pass_test::expect_same_outputs(g, f, 1e-5, 1e-5);
}

TEST(Fusion, FusedOpsRoundTripInTextAndJson) {
  Graph g = fusable_block(UnaryOp::silu);
  elementwise_fusion(g);
  EXPECT_TRUE(parse_graph_text(to_text(g)) == g);
  EXPECT_TRUE(parse_graph_json(to_json(g)) == g);
}

TEST(Fusion, FusedOpErrors) {
  auto expect_error = [](auto build, std::initializer_list<const char*> words) {
    try {
      build();
      ADD_FAILURE() << "did not throw";
    } catch (const Error& e) {
      for (const char* w : words) EXPECT_NE(std::string(e.what()).find(w), std::string::npos) << e.what();
    }
  };
  expect_error([] {
    Graph g;
    g.bias_act(g.input("x", {3, 5}), g.input("b", {4}), UnaryOp::relu);
  }, {"[bias_act] input 1 (bias) has shape [4]", "expected [5]", "[3, 5]"});
  expect_error([] {
    Graph g;
    g.bias_act(g.input("x", {3, 5}), g.input("b", {3, 5}), UnaryOp::relu);
  }, {"[bias_act] input 1 (bias) has shape [3, 5]"});
  expect_error([] {
    Graph g;
    g.bias_act(g.input("x", {3, 5}), g.input("b", {5}), UnaryOp::exp);
  }, {"[bias_act]", "'act' = exp", "not an activation"});
  expect_error([] {
    Graph g;
    g.bias_act(g.input("x", DType::i32, {3, 5}), g.input("b", {5}), std::nullopt);
  }, {"[bias_act] input 0 has dtype i32"});
  expect_error([] {
    Graph g;
    g.scaled_masked_softmax(g.input("x", {3, 5}), 0.5f, g.input("m", {2, 5}));
  }, {"[scaled_masked_softmax] input 1 (mask) has shape [2, 5]", "[3, 5]"});
  expect_error([] {
    Graph g;
    g.scaled_masked_softmax(g.input("x", {3, 5}), INFINITY);
  }, {"[scaled_masked_softmax]", "'scale'", "finite"});
  // Bad attributes in the text form.
  expect_error([] {
    parse_graph_text("graph g {\n  input %x: f32[2]\n  %y: f32[2] = bias_act(%x, %x) {act=\"log\"}\n  output %y\n}\n");
  }, {"[bias_act] attribute 'act' = \"log\" is not an activation"});
  expect_error([] {
    parse_graph_text("graph g {\n  input %x: f32[2]\n  %y: f32[2] = scaled_masked_softmax(%x) {}\n  output %y\n}\n");
  }, {"[scaled_masked_softmax] missing attribute 'scale'"});
}
