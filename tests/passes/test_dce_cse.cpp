// Dead-code elimination and common-subexpression elimination, as before/after IR text.
#include "pass_test_util.h"

using namespace tl;
using pass_test::after;

TEST(Dce, RemovesUnusedKeepsInterface) {
  // %dead and its chain go; the unused input %u and param %p stay (they are the graph's interface).
  const char* before = R"(graph g {
  input %x: f32[2,3]
  input %u: f32[4]
  param %p: f32[3]
  %a: f32[2,3] = exp(%x)
  %dead: f32[2,3] = relu(%a)
  %dead2: f32[2,3] = neg(%dead)
  %b: f32[2,3] = tanh(%a)
  output %b
}
)";
  const char* want = R"(graph g {
  input %x: f32[2,3]
  input %u: f32[4]
  param %p: f32[3]
  %a: f32[2,3] = exp(%x)
  %b: f32[2,3] = tanh(%a)
  output %b
}
)";
  EXPECT_EQ(after(before, dead_code_elimination), want);
}

TEST(Dce, NothingToDoReportsUnchanged) {
  Graph g("g");
  Value x = g.input("x", {3});
  g.output(g.unary(UnaryOp::relu, x), "y");
  Graph h = g;
  EXPECT_FALSE(dead_code_elimination(h));
  EXPECT_TRUE(h == g);
}

TEST(Dce, EveryOutputIsKept) {
  // Two outputs, one of them an intermediate of the other: both stay, under their own names.
  const char* before = R"(graph g {
  input %x: f32[2]
  %a: f32[2] = exp(%x)
  %b: f32[2] = neg(%a)
  %c: f32[2] = abs(%x)
  output %a as first
  output %b
}
)";
  const char* want = R"(graph g {
  input %x: f32[2]
  %a: f32[2] = exp(%x)
  %b: f32[2] = neg(%a)
  output %a as first
  output %b
}
)";
  EXPECT_EQ(after(before, dead_code_elimination), want);
}

TEST(Cse, MergesSameOpSameAttrsSameInputs) {
  // %b repeats %a; %d then repeats %c once %b is %a (chains collapse in one sweep). %e differs in attributes,
  // %f in operand order: both stay.
  const char* before = R"(graph g {
  input %x: f32[2,3]
  input %y: f32[2,3]
  %a: f32[2,3] = exp(%x)
  %b: f32[2,3] = exp(%x)
  %c: f32[2,3] = sub(%a, %y)
  %d: f32[2,3] = sub(%b, %y)
  %e: f32[3,2] = transpose(%c) {perm=[1,0]}
  %e2: f32[2,3] = softmax(%d) {axis=0}
  %e3: f32[2,3] = softmax(%d) {axis=1}
  %f: f32[2,3] = sub(%y, %a)
  %s1: f32[2,3] = add(%e2, %e3)
  %s2: f32[2,3] = add(%s1, %f)
  output %s2
  output %e
}
)";
  const char* want = R"(graph g {
  input %x: f32[2,3]
  input %y: f32[2,3]
  %a: f32[2,3] = exp(%x)
  %c: f32[2,3] = sub(%a, %y)
  %e: f32[3,2] = transpose(%c) {perm=[1,0]}
  %e2: f32[2,3] = softmax(%c) {axis=0}
  %e3: f32[2,3] = softmax(%c) {axis=1}
  %f: f32[2,3] = sub(%y, %a)
  %s1: f32[2,3] = add(%e2, %e3)
  %s2: f32[2,3] = add(%s1, %f)
  output %s2
  output %e
}
)";
  EXPECT_EQ(after(before, common_subexpression_elimination), want);
}

TEST(Cse, ConstantsComparedBitwiseAndInputsNeverMerged) {
  // %k1 == %k2 bitwise; %k3 is -0.0 (equal as a number, not bitwise) and %k4 has another dtype: both stay.
  // Inputs %x and %x2 have the same type but bind different tensors.
  const char* before = R"(graph g {
  input %x: f32[2]
  input %x2: f32[2]
  %k1: f32[2] = constant() {values=[0.0,1.5]}
  %k2: f32[2] = constant() {values=[0.0,1.5]}
  %k3: f32[2] = constant() {values=[-0.0,1.5]}
  %k4: i32[2] = constant() {values=[0,1]}
  %a: f32[2] = mul(%x, %k1)
  %b: f32[2] = mul(%x, %k2)
  %c: f32[2] = mul(%x, %k3)
  %d: f32[2] = mul(%x2, %k4)
  %s: f32[2] = add(%a, %b)
  %t: f32[2] = add(%c, %d)
  %u: f32[2] = add(%s, %t)
  output %u
}
)";
  const char* want = R"(graph g {
  input %x: f32[2]
  input %x2: f32[2]
  %k1: f32[2] = constant() {values=[0.0,1.5]}
  %k3: f32[2] = constant() {values=[-0.0,1.5]}
  %k4: i32[2] = constant() {values=[0,1]}
  %a: f32[2] = mul(%x, %k1)
  %c: f32[2] = mul(%x, %k3)
  %d: f32[2] = mul(%x2, %k4)
  %s: f32[2] = add(%a, %a)
  %t: f32[2] = add(%c, %d)
  %u: f32[2] = add(%s, %t)
  output %u
}
)";
  EXPECT_EQ(after(before, common_subexpression_elimination), want);
}

TEST(Cse, GraphOutputIsNotMergedAway) {
  // %b duplicates %a but is an output: it stays (a later duplicate of %a may still merge into %a).
  const char* before = R"(graph g {
  input %x: f32[2]
  %a: f32[2] = exp(%x)
  %b: f32[2] = exp(%x)
  %c: f32[2] = exp(%x)
  %d: f32[2] = add(%a, %c)
  output %b
  output %d
}
)";
  const char* want = R"(graph g {
  input %x: f32[2]
  %a: f32[2] = exp(%x)
  %b: f32[2] = exp(%x)
  %d: f32[2] = add(%a, %a)
  output %b
  output %d
}
)";
  EXPECT_EQ(after(before, common_subexpression_elimination), want);
}

TEST(Cse, SameOutputsNumerically) {
  Graph g = parse_graph_text(R"(graph g {
  input %x: f32[3,5]
  param %w: f32[5,4]
  %a: f32[3,4] = einsum(%x, %w) {spec="ij,jk->ik"}
  %b: f32[3,4] = einsum(%x, %w) {spec="ij,jk->ik"}
  %c: f32[3,4] = sigmoid(%a)
  %d: f32[3,4] = sigmoid(%b)
  %e: f32[3,4] = mul(%c, %d)
  output %e
}
)");
  Graph h = g;
  EXPECT_TRUE(common_subexpression_elimination(h));
  EXPECT_EQ(h.nodes().size(), 5u);  // the duplicates are gone (CSE drops them itself)
  pass_test::expect_same_outputs(g, h, 0, 0);  // the same kernels on the same data: bit-identical
}
