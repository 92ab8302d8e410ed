// Constant folding and algebraic simplification, as before/after IR text, plus numerical equivalence.
#include "pass_test_util.h"

using namespace tl;
using pass_test::after;

TEST(Fold, EvaluatesConstantSubgraphs) {
  // %s = 2 * 3 = 6 then %t = transpose of a constant (a view op) and %r = reduce; %y depends on an input
  // and stays. Folding goes in node order, so a folded value feeds the next fold.
  const char* before = R"(graph g {
  input %x: f32[2,3]
  %k2: f32[] = constant() {values=[2.0]}
  %k3: f32[] = constant() {values=[3.0]}
  %s: f32[] = mul(%k2, %k3)
  %m: f32[3,2] = constant() {values=[1.0,2.0,3.0,4.0,5.0,6.0]}
  %t: f32[2,3] = transpose(%m) {perm=[1,0]}
  %r: f32[3] = reduce_sum(%t) {axes=[0], keepdims=false}
  %a: f32[2,3] = mul(%x, %s)
  %y: f32[2,3] = add(%a, %r)
  output %y
}
)";
  const char* want = R"(graph g {
  input %x: f32[2,3]
  %s: f32[] = constant() {values=[6.0]}
  %r: f32[3] = constant() {values=[3.0,7.0,11.0]}
  %a: f32[2,3] = mul(%x, %s)
  %y: f32[2,3] = add(%a, %r)
  output %y
}
)";
  EXPECT_EQ(after(before, constant_folding, /*then_dce=*/true), want);
}

TEST(Fold, SizeCapAndFailingKernelsLeaveNodes) {
  // The broadcast result has 6 elements, over a cap of 4: it stays a node. The gather index 5 is out of
  // range: folding leaves it for the executor to report.
  const char* before = R"(graph g {
  %k: f32[] = constant() {values=[2.0]}
  %z: f32[2,3] = constant() {values=[0.0,0.0,0.0,0.0,0.0,0.0]}
  %b: f32[2,3] = add(%z, %k)
  %i: i32[1] = constant() {values=[5]}
  %v: f32[3] = constant() {values=[1.0,2.0,3.0]}
  %gt: f32[1] = gather(%v, %i) {axis=0}
  output %b
  output %gt
}
)";
  PassOptions opt;
  opt.fold_max_elements = 4;
  Graph g = parse_graph_text(before);
  EXPECT_FALSE(constant_folding(g, opt));
  EXPECT_EQ(to_text(g), before);
  opt.fold_max_elements = 6;
  EXPECT_TRUE(constant_folding(g, opt));
  EXPECT_EQ(g.nodes()[2].kind, OpKind::constant);
  EXPECT_EQ(g.nodes()[5].kind, OpKind::gather);
}

TEST(Fold, OutputsKeepTheirNames) {
  const char* before = R"(graph g {
  %k: i32[2] = constant() {values=[1,2]}
  %n: i32[2] = neg(%k)
  %c: f32[2] = cast(%n) {to="f32"}
  output %c as result
}
)";
  const char* want = R"(graph g {
  %c: f32[2] = constant() {values=[-1.0,-2.0]}
  output %c as result
}
)";
  EXPECT_EQ(after(before, constant_folding, true), want);
}

TEST(Simplify, ArithmeticIdentities) {
  const char* before = R"(graph g {
  input %x: f32[2,3]
  %one: f32[] = constant() {values=[1.0]}
  %zero: f32[2,3] = constant() {values=[0.0,0.0,0.0,0.0,0.0,0.0]}
  %a: f32[2,3] = mul(%x, %one)
  %b: f32[2,3] = mul(%one, %a)
  %c: f32[2,3] = add(%b, %zero)
  %d: f32[2,3] = add(%zero, %c)
  %e: f32[2,3] = sub(%d, %zero)
  %f: f32[2,3] = div(%e, %one)
  %g: f32[2,3] = sub(%zero, %f)
  %h: f32[2,3] = div(%one, %g)
  output %h
}
)";
  // zero - x and 1 / x are not identities.
  const char* want = R"(graph g {
  input %x: f32[2,3]
  %one: f32[] = constant() {values=[1.0]}
  %zero: f32[2,3] = constant() {values=[0.0,0.0,0.0,0.0,0.0,0.0]}
  %g: f32[2,3] = sub(%zero, %x)
  %h: f32[2,3] = div(%one, %g)
  output %h
}
)";
  EXPECT_EQ(after(before, algebraic_simplification, true), want);
}

TEST(Simplify, BroadcastingAndPromotionBlockIdentities) {
  // x: f32[3] times ones [2,3] broadcasts to [2,3]; i32 x times f32 one promotes to f32; x * 2 is not an
  // identity. None of these may be simplified.
  const char* before = R"(graph g {
  input %x: f32[3]
  input %i: i32[3]
  %ones: f32[2,3] = constant() {values=[1.0,1.0,1.0,1.0,1.0,1.0]}
  %one: f32[] = constant() {values=[1.0]}
  %two: f32[] = constant() {values=[2.0]}
  %a: f32[2,3] = mul(%x, %ones)
  %b: f32[3] = mul(%i, %one)
  %c: f32[3] = mul(%x, %two)
  %d: f32[2,3] = add(%a, %b)
  %e: f32[2,3] = add(%d, %c)
  output %e
}
)";
  EXPECT_EQ(after(before, algebraic_simplification), before);
}

TEST(Simplify, TransposeAndReshapeChains) {
  const char* before = R"(graph g {
  input %x: f32[2,3,4]
  %t1: f32[3,4,2] = transpose(%x) {perm=[1,2,0]}
  %t2: f32[4,2,3] = transpose(%t1) {perm=[1,2,0]}
  %t3: f32[2,3,4] = transpose(%t2) {perm=[1,2,0]}
  %t4: f32[2,3,4] = transpose(%t3) {perm=[0,1,2]}
  %r1: f32[6,4] = reshape(%t4) {shape=[6,4]}
  %r2: f32[24] = reshape(%r1) {shape=[24]}
  %r3: f32[2,3,4] = reshape(%r2) {shape=[2,3,4]}
  %y: f32[2,3,4] = relu(%r3)
  %u: f32[4,2,3] = transpose(%x) {perm=[2,0,1]}
  %v: f32[4,6] = reshape(%u) {shape=[4,6]}
  %w: f32[6,4] = transpose(%v) {perm=[1,0]}
  %z: f32[6,4] = reshape(%w) {shape=[6,4]}
  output %y
  output %t2
  output %z
}
)";
  // %t2 is an output: rewritten in place to one transpose of %x, never replaced. %t3 composes to the
  // identity and goes, and so does %t4; the reshape chain collapses to x's own shape. %z reshapes %w to its
  // own shape but is an output, so it stays.
  const char* want = R"(graph g {
  input %x: f32[2,3,4]
  %t2: f32[4,2,3] = transpose(%x) {perm=[2,0,1]}
  %y: f32[2,3,4] = relu(%x)
  %u: f32[4,2,3] = transpose(%x) {perm=[2,0,1]}
  %v: f32[4,6] = reshape(%u) {shape=[4,6]}
  %w: f32[6,4] = transpose(%v) {perm=[1,0]}
  %z: f32[6,4] = reshape(%w) {shape=[6,4]}
  output %y
  output %t2
  output %z
}
)";
  Graph g = parse_graph_text(before);
  Graph orig = g;
  EXPECT_TRUE(algebraic_simplification(g));
  dead_code_elimination(g);
  EXPECT_EQ(to_text(g), want);
  pass_test::expect_same_outputs(orig, g, 0, 0);
}

TEST(Simplify, OutputIdentityIsKept) {
  // The output %y = x * 1 stays (replacing it would make the input itself the output).
  const char* before = R"(graph g {
  input %x: f32[2]
  %one: f32[] = constant() {values=[1.0]}
  %y: f32[2] = mul(%x, %one)
  output %y
}
)";
  Graph g = parse_graph_text(before);
  EXPECT_FALSE(algebraic_simplification(g));
  EXPECT_EQ(to_text(g), before);
}
