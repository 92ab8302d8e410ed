// Builder and shape/dtype inference, table-driven per op; build-time errors name op, input, expected, actual.
#include <gtest/gtest.h>

#include <functional>

#include "every_op_graph.h"
#include "tl/graph.h"
#include "tl/ops.h"

using namespace tl;

namespace {

struct InferCase {
  const char* what;
  std::function<Value(Graph&)> build;
  ValueType want;
};

// Inputs every case can use: a [2,3,4] f32, b [4] f32, i [2] i64, m [3,1] f32, k bool [2,3,4].
struct Inputs {
  Value a, b, i, m, k, h;
};
Inputs make_inputs(Graph& g) {
  Inputs in;
  in.a = g.input("a", DType::f32, {2, 3, 4});
  in.b = g.input("b", DType::f32, {4});
  in.i = g.input("i", DType::i64, {2});
  in.m = g.input("m", DType::f32, {3, 1});
  in.k = g.input("k", DType::boolean, {2, 3, 4});
  in.h = g.input("h", DType::f16, {3, 4});
  return in;
}

}  // namespace

TEST(Builder, InfersShapeAndDtypePerOp) {
  using S = Shape;
  const InferCase cases[] = {
      {"einsum matmul", [](Graph& g) { Inputs in = make_inputs(g); return g.einsum("bsd,d->bs", {in.a, in.b}); }, {DType::f32, S{2, 3}}},
      {"einsum f16", [](Graph& g) { Inputs in = make_inputs(g); return g.einsum("sd->ds", {in.h}); }, {DType::f32, S{4, 3}}},
      {"einsum 3 operands", [](Graph& g) { Inputs in = make_inputs(g); return g.einsum("bsd,d,sx->bx", {in.a, in.b, in.m}); }, {DType::f32, S{2, 1}}},
      {"relu", [](Graph& g) { Inputs in = make_inputs(g); return g.unary(UnaryOp::relu, in.a); }, {DType::f32, S{2, 3, 4}}},
      {"exp of f16", [](Graph& g) { Inputs in = make_inputs(g); return g.unary(UnaryOp::exp, in.h); }, {DType::f32, S{3, 4}}},
      {"neg keeps int", [](Graph& g) { Inputs in = make_inputs(g); return g.unary(UnaryOp::neg, in.i); }, {DType::i64, S{2}}},
      {"logical_not", [](Graph& g) { Inputs in = make_inputs(g); return g.unary(UnaryOp::logical_not, in.k); }, {DType::boolean, S{2, 3, 4}}},
      {"add broadcast", [](Graph& g) { Inputs in = make_inputs(g); return g.add(in.a, in.b); }, {DType::f32, S{2, 3, 4}}},
      {"mul broadcast both", [](Graph& g) { Inputs in = make_inputs(g); return g.mul(in.m, in.b); }, {DType::f32, S{3, 4}}},
      {"lt gives bool", [](Graph& g) { Inputs in = make_inputs(g); return g.binary(BinaryOp::lt, in.a, in.m); }, {DType::boolean, S{2, 3, 4}}},
      {"pow", [](Graph& g) { Inputs in = make_inputs(g); return g.binary(BinaryOp::pow, in.b, in.b); }, {DType::f32, S{4}}},
      {"int add", [](Graph& g) { Inputs in = make_inputs(g); return g.add(in.i, in.i); }, {DType::i64, S{2}}},
      {"where", [](Graph& g) { Inputs in = make_inputs(g); return g.where(in.k, in.a, in.m); }, {DType::f32, S{2, 3, 4}}},
      {"cast", [](Graph& g) { Inputs in = make_inputs(g); return g.cast(in.k, DType::bf16); }, {DType::bf16, S{2, 3, 4}}},
      {"sum keepdims", [](Graph& g) { Inputs in = make_inputs(g); return g.reduce(ReduceOp::sum, in.a, {-1}, true); }, {DType::f32, S{2, 3, 1}}},
      {"mean two axes", [](Graph& g) { Inputs in = make_inputs(g); return g.reduce(ReduceOp::mean, in.a, {0, 2}); }, {DType::f32, S{3}}},
      {"max all", [](Graph& g) { Inputs in = make_inputs(g); return g.reduce(ReduceOp::max, in.a, {}); }, {DType::f32, S{}}},
      {"logsumexp", [](Graph& g) { Inputs in = make_inputs(g); return g.reduce(ReduceOp::logsumexp, in.a, {1}); }, {DType::f32, S{2, 4}}},
      {"int sum -> i64", [](Graph& g) { Inputs in = make_inputs(g); return g.reduce(ReduceOp::sum, in.i, {0}); }, {DType::i64, S{}}},
      {"softmax", [](Graph& g) { Inputs in = make_inputs(g); return g.softmax(in.a, -1); }, {DType::f32, S{2, 3, 4}}},
      {"softmax mask", [](Graph& g) { Inputs in = make_inputs(g); return g.softmax(in.a, 2, in.m); }, {DType::f32, S{2, 3, 4}}},
      {"layer_norm", [](Graph& g) { Inputs in = make_inputs(g); return g.layer_norm(in.a, in.b, in.b); }, {DType::f32, S{2, 3, 4}}},
      {"layer_norm 2 dims", [](Graph& g) { Inputs in = make_inputs(g); return g.layer_norm(in.a, std::nullopt, std::nullopt, 2); }, {DType::f32, S{2, 3, 4}}},
      {"rms_norm", [](Graph& g) { Inputs in = make_inputs(g); return g.rms_norm(in.h, in.b); }, {DType::f32, S{3, 4}}},
      {"reshape -1", [](Graph& g) { Inputs in = make_inputs(g); return g.reshape(in.a, {-1, 4}); }, {DType::f32, S{6, 4}}},
      {"transpose", [](Graph& g) { Inputs in = make_inputs(g); return g.transpose(in.a, {2, 0, 1}); }, {DType::f32, S{4, 2, 3}}},
      {"concat", [](Graph& g) { Inputs in = make_inputs(g); return g.concat({in.a, in.a, in.a}, 1); }, {DType::f32, S{2, 9, 4}}},
      {"slice step", [](Graph& g) { Inputs in = make_inputs(g); return g.slice(in.a, -1, 1, 100, 2); }, {DType::f32, S{2, 3, 2}}},
      {"slice negative start", [](Graph& g) { Inputs in = make_inputs(g); return g.slice(in.a, 1, -2, 3); }, {DType::f32, S{2, 2, 4}}},
      {"slice empty", [](Graph& g) { Inputs in = make_inputs(g); return g.slice(in.a, 1, 2, 1); }, {DType::f32, S{2, 0, 4}}},
      {"gather", [](Graph& g) { Inputs in = make_inputs(g); return g.gather(in.a, in.i, 2); }, {DType::f32, S{2, 3, 2}}},
      {"repeat", [](Graph& g) { Inputs in = make_inputs(g); return g.repeat(in.a, 3, 1); }, {DType::f32, S{2, 9, 4}}},
      {"constant", [](Graph& g) { return g.constant(Tensor::zeros({5, 1}, DType::i32)); }, {DType::i32, S{5, 1}}},
  };
  for (const InferCase& c : cases) {
    Graph g;
    Value v;
    try {
      v = c.build(g);
    } catch (const Error& e) {
      ADD_FAILURE() << c.what << ": threw " << e.what();
      continue;
    }
    EXPECT_EQ(g.type(v), c.want) << c.what << ": got " << type_str(g.type(v)) << ", want " << type_str(c.want);
    g.output(v, "out");
    EXPECT_NO_THROW(verify(g)) << c.what;
  }
}

struct ErrorCase {
  const char* what;
  std::function<void(Graph&)> build;
  const char* words;  // all must appear in the message
  enum { shape, value } type;
};

TEST(Builder, BuildTimeErrorsNameOpInputExpectedActual) {
  const ErrorCase cases[] = {
      {"add no broadcast", [](Graph& g) { Inputs in = make_inputs(g); g.add(in.a, in.i); }, "[add] inputs 0 and 1 do not broadcast: [2, 3, 4] vs [2]", ErrorCase::shape},
      {"einsum rank", [](Graph& g) { Inputs in = make_inputs(g); g.einsum("ij,j->i", {in.a, in.b}); }, "einsum", ErrorCase::shape},
      {"unary arity", [](Graph& g) { Inputs in = make_inputs(g); g.add_op(OpKind::unary, UnaryAttrs{UnaryOp::relu}, {in.a, in.b}); }, "[relu] expects 1 input, got 2", ErrorCase::value},
      {"softmax int", [](Graph& g) { Inputs in = make_inputs(g); g.softmax(in.i, 0); }, "[softmax] input 0 has dtype i64, expected a float dtype", ErrorCase::value},
      {"softmax axis", [](Graph& g) { Inputs in = make_inputs(g); g.softmax(in.a, 3); }, "[softmax] axis 3 is out of range for rank 3 (valid -3..2)", ErrorCase::value},
      {"softmax mask", [](Graph& g) { Inputs in = make_inputs(g); g.softmax(in.a, -1, in.i); }, "[softmax] input 1 has dtype i64", ErrorCase::value},
      {"softmax mask shape", [](Graph& g) { Inputs in = make_inputs(g); g.softmax(in.m, -1, in.a); }, "[softmax] input 1 (mask) has shape [2, 3, 4], expected a shape that broadcasts to input 0's [3, 1]", ErrorCase::shape},
      {"layer_norm gamma", [](Graph& g) { Inputs in = make_inputs(g); g.layer_norm(in.a, in.m, std::nullopt); }, "[layer_norm] input 1 (gamma) has shape [3, 1], expected [4]", ErrorCase::shape},
      {"rms_norm dims", [](Graph& g) { Inputs in = make_inputs(g); g.rms_norm(in.b, std::nullopt, 2); }, "[rms_norm] norm_dims 2 must be in 1..1", ErrorCase::value},
      {"reduce axis", [](Graph& g) { Inputs in = make_inputs(g); g.reduce(ReduceOp::sum, in.a, {0, -3}); }, "[reduce_sum] axes lists dim 0 twice", ErrorCase::value},
      {"reduce axis range", [](Graph& g) { Inputs in = make_inputs(g); g.reduce(ReduceOp::max, in.a, {5}); }, "[reduce_max] axes entry 5 is out of range for rank 3", ErrorCase::value},
      {"reshape count", [](Graph& g) { Inputs in = make_inputs(g); g.reshape(in.a, {5, 5}); }, "[reshape] cannot reshape input 0 of shape [2, 3, 4] (24 elements) to [5, 5] (25 elements)", ErrorCase::shape},
      {"reshape two -1", [](Graph& g) { Inputs in = make_inputs(g); g.reshape(in.a, {-1, -1}); }, "more than one -1", ErrorCase::value},
      {"transpose perm", [](Graph& g) { Inputs in = make_inputs(g); g.transpose(in.a, {0, 1}); }, "[transpose] perm has 2 entries, expected 3", ErrorCase::value},
      {"transpose dup", [](Graph& g) { Inputs in = make_inputs(g); g.transpose(in.a, {0, 1, 1}); }, "[transpose] perm lists dim 1 twice", ErrorCase::value},
      {"concat shape", [](Graph& g) { Inputs in = make_inputs(g); g.concat({in.a, in.m}, 0); }, "[concat] input 1 has shape [3, 1], expected 3 dims matching input 0's [2, 3, 4] except on axis 0", ErrorCase::shape},
      {"concat dtype", [](Graph& g) { Inputs in = make_inputs(g); g.concat({in.a, in.k}, 0); }, "[concat] input 1 has dtype bool, expected f32", ErrorCase::value},
      {"slice step", [](Graph& g) { Inputs in = make_inputs(g); g.slice(in.a, 0, 0, 1, 0); }, "[slice] step 0 must be >= 1", ErrorCase::value},
      {"gather indices", [](Graph& g) { Inputs in = make_inputs(g); g.gather(in.a, in.b, 0); }, "[gather] input 1 (indices) has dtype f32, expected i32 or i64", ErrorCase::value},
      {"repeat negative", [](Graph& g) { Inputs in = make_inputs(g); g.repeat(in.a, -1, 0); }, "[repeat] repeats -1 must be >= 0", ErrorCase::value},
      {"foreign value", [](Graph& g) { Inputs in = make_inputs(g); g.unary(UnaryOp::exp, Value{99}); (void)in; }, "[exp] input 0 (value id 99) is not a value of graph", ErrorCase::value},
      {"duplicate name", [](Graph& g) { Inputs in = make_inputs(g); g.unary(UnaryOp::exp, in.a, "a"); }, "[exp] value name 'a' is already used", ErrorCase::value},
      {"bad name", [](Graph& g) { g.input("a b", {1}); }, "value name 'a b' is invalid", ErrorCase::value},
      {"negative dim", [](Graph& g) { g.input("x", {2, -1}); }, "shape [2, -1] has a negative dim", ErrorCase::shape},
      {"duplicate output", [](Graph& g) { Inputs in = make_inputs(g); g.output(in.a, "o"); g.output(in.b, "o"); }, "already has an output named 'o'", ErrorCase::value},
  };
  for (const ErrorCase& c : cases) {
    Graph g("t");
    try {
      c.build(g);
      ADD_FAILURE() << c.what << ": did not throw";
    } catch (const ShapeError& e) {
      EXPECT_EQ(c.type, ErrorCase::shape) << c.what << ": ShapeError " << e.what();
      EXPECT_NE(std::string(e.what()).find(c.words), std::string::npos) << c.what << ": " << e.what();
    } catch (const ValueError& e) {
      EXPECT_EQ(c.type, ErrorCase::value) << c.what << ": ValueError " << e.what();
      EXPECT_NE(std::string(e.what()).find(c.words), std::string::npos) << c.what << ": " << e.what();
    }
  }
}

TEST(Builder, HandlesNamesAndLookups) {
  Graph g("demo");
  Value x = g.input("x", {2, 3});
  Value w = g.param("w", {3, 4});
  Value y = g.einsum("ij,jk->ik", {x, w});
  Value z = g.unary(UnaryOp::relu, y, "z");
  g.output(z);
  EXPECT_EQ(g.info(y).name, "0");  // fresh names count up
  EXPECT_EQ(*g.find("z"), z);
  EXPECT_FALSE(g.find("nope").has_value());
  EXPECT_EQ(g.inputs(), std::vector<Value>{x});
  EXPECT_EQ(g.params(), std::vector<Value>{w});
  EXPECT_EQ(node_op_name(g.nodes()[3]), "relu");
  EXPECT_THROW(g.info(Value{42}), ValueError);
  // A user name that looks like a fresh name is skipped.
  Graph h;
  h.input("0", {1});
  Value a = h.unary(UnaryOp::neg, *h.find("0"));
  EXPECT_EQ(h.info(a).name, "1");
}

TEST(Builder, EveryOpGraphVerifies) {
  Graph g = test_graphs::every_op_graph();
  EXPECT_NO_THROW(verify(g));
  // Every op kind is used.
  std::vector<bool> used(kNumOpKinds, false);
  for (const Node& n : g.nodes()) used[size_t(n.kind)] = true;
  for (int k = 0; k < kNumOpKinds; ++k) EXPECT_TRUE(used[size_t(k)]) << op_def(OpKind(k)).family;
}

TEST(Registry, NamesMapBackToOps) {
  for (int k = 0; k < kNumOpKinds; ++k) EXPECT_EQ(op_def(OpKind(k)).kind, OpKind(k));
  auto r = op_by_name("reduce_logsumexp");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first->kind, OpKind::reduce);
  EXPECT_EQ(std::get<ReduceAttrs>(r->second).op, ReduceOp::logsumexp);
  EXPECT_EQ(op_by_name("max")->first->kind, OpKind::binary);
  EXPECT_EQ(op_by_name("gelu_erf")->first->kind, OpKind::unary);
  EXPECT_FALSE(op_by_name("reduce_"));
  EXPECT_FALSE(op_by_name("frobnicate"));
}
