// The verifier: one test per error class, checking the message words (node index, op name, the problem).
#include <gtest/gtest.h>

#include "tl/graph.h"

using namespace tl;

namespace {
// All problems of the graph in `text`, joined.
std::string problems(const std::string& text) {
  Graph g = parse_graph_text(text, "v.tlg");
  std::string all;
  for (const std::string& p : verify_problems(g)) all += p + "\n";
  return all;
}
void expect_has(const std::string& text, const std::string& words) {
  std::string p = problems(text);
  EXPECT_NE(p.find(words), std::string::npos) << "graph:\n" << text << "\nproblems:\n" << p;
}
const char* kHead = "graph v {\n  input %x: f32[2,3]\n  param %w: f32[3,4]\n";
std::string g(const std::string& body) { return kHead + body + "}\n"; }
}  // namespace

TEST(Verify, ValidGraphHasNoProblems) {
  EXPECT_EQ(problems(g("  %y: f32[2,4] = einsum(%x, %w) {spec=\"ij,jk->ik\"}\n  output %y\n")), "");
}

TEST(Verify, WrongArity) {
  expect_has(g("  %y: f32[2,3] = relu(%x, %x)\n  output %y\n"),
             "node 2 (relu): wrong number of inputs: expected 1, got 2");
  expect_has(g("  %y: f32[2,3] = softmax(%x, %x, %x) {axis=1}\n  output %y\n"),
             "node 2 (softmax): wrong number of inputs: expected 1 to 2, got 3");
  expect_has(g("  %y: f32[2,3] = concat() {axis=0}\n  output %y\n"),
             "node 2 (concat): wrong number of inputs: expected at least 1, got 0");
}

TEST(Verify, DtypeMismatch) {
  expect_has(g("  %y: i32[2,3] = relu(%x)\n  output %y\n"), "node 2 (relu): output %y is declared i32[2,3] but inferred f32[2,3]");
  expect_has("graph v {\n  input %i: i64[2]\n  %y: f32[2] = softmax(%i) {axis=0}\n  output %y\n}\n",
             "node 1 (softmax): [softmax] input 0 has dtype i64, expected a float dtype");
}

TEST(Verify, ShapeMismatch) {
  expect_has(g("  %y: f32[2,4] = einsum(%w, %x) {spec=\"ij,jk->ik\"}\n  output %y\n"), "node 2 (einsum):");
  expect_has(g("  %y: f32[2,3] = add(%x, %w)\n  output %y\n"),
             "node 2 (add): [add] inputs 0 and 1 do not broadcast: [2, 3] vs [3, 4]");
  expect_has(g("  %y: f32[3,2] = relu(%x)\n  output %y\n"), "output %y is declared f32[3,2] but inferred f32[2,3]");
}

TEST(Verify, UndefinedValue) {
  expect_has(g("  %y: f32[2,3] = add(%x, %nope)\n  output %y\n"),
             "node 2 (add): input 1 %nope is undefined (no node defines it)");
  expect_has(g("  output %ghost\n"), "output 0 'ghost': value %ghost is undefined");
}

TEST(Verify, ValueDefinedTwice) {
  expect_has(g("  %y: f32[2,3] = relu(%x)\n  %y: f32[2,3] = exp(%x)\n  output %y\n"),
             "node 3 (exp): value %y is defined twice (first by node 2 (relu))");
  expect_has("graph v {\n  input %x: f32[2]\n  input %x: f32[2]\n  output %x\n}\n", "node 1 (input): value %x is defined twice");
}

TEST(Verify, CycleAndUseBeforeDefinition) {
  expect_has(g("  %a: f32[2,3] = relu(%b)\n  %b: f32[2,3] = exp(%a)\n  output %b\n"),
             "node 2 (relu): input 0 %b is part of a cycle: %b <- %a <- %b");
  expect_has(g("  %a: f32[2,3] = relu(%b)\n  %b: f32[2,3] = exp(%x)\n  output %a\n"),
             "node 2 (relu): input 0 %b is used before its definition at node 3 (nodes must be in topological order)");
  expect_has(g("  %a: f32[2,3] = add(%a, %x)\n  output %a\n"), "input 0 %a is part of a cycle: %a <- %a");
}

TEST(Verify, BadAttribute) {
  expect_has(g("  %y: f32[2,3] = softmax(%x) {axis=7}\n  output %y\n"),
             "node 2 (softmax): [softmax] axis 7 is out of range for rank 2 (valid -2..1)");
  expect_has(g("  %y: f32[2,3] = transpose(%x) {perm=[0,0]}\n  output %y\n"), "node 2 (transpose): [transpose] perm lists dim 0 twice");
  expect_has(g("  %y: f32[2,3] = layer_norm(%x) {norm_dims=3, eps=1e-05}\n  output %y\n"),
             "node 2 (layer_norm): [layer_norm] norm_dims 3 must be in 1..2");
  expect_has(g("  %y: f32[2,3] = einsum(%x) {spec=\"i->->j\"}\n  output %y\n"), "node 2 (einsum): [einsum]");
  expect_has(g("  %y: f32[2,3] = slice(%x) {axis=0, start=0, stop=1, step=-1}\n  output %y\n"),
             "node 2 (slice): [slice] step -1 must be >= 1");
}

TEST(Verify, MissingOutput) {
  expect_has(g("  %y: f32[2,3] = relu(%x)\n"), "graph 'v' has no outputs");
}

TEST(Verify, ThrowsWithAllProblemsListed) {
  Graph bad = parse_graph_text(g("  %y: f32[2,3] = relu(%q)\n  %z: i32[2,3] = exp(%x)\n"), "v.tlg");
  try {
    verify(bad);
    FAIL();
  } catch (const ValueError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("graph 'v' is invalid (3 problems):"), std::string::npos) << m;
    EXPECT_NE(m.find("\n  node 2 (relu): input 0 %q is undefined"), std::string::npos) << m;
    EXPECT_NE(m.find("\n  node 3 (exp): output %z is declared i32[2,3]"), std::string::npos) << m;
    EXPECT_NE(m.find("\n  graph 'v' has no outputs"), std::string::npos) << m;
  }
}

TEST(Verify, RawGraphsWithBadHandles) {
  Graph raw("raw");
  Value x = raw.add_value("x", ValueType{DType::f32, {2}});
  raw.add_node(Node{OpKind::input, InputAttrs{}, {}, x});
  raw.add_node(Node{OpKind::unary, UnaryAttrs{UnaryOp::exp}, {Value{7}}, Value{9}});
  raw.add_node(Node{OpKind::unary, BinaryAttrs{BinaryOp::add}, {x}, x});
  raw.add_output(GraphOutput{x, "x"});
  std::vector<std::string> p = verify_problems(raw);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_NE(p[0].find("node 1 (exp): output value id 9 is not in the graph"), std::string::npos) << p[0];
  EXPECT_NE(p[1].find("node 2 (unary): attributes belong to another op kind"), std::string::npos) << p[1];
}
