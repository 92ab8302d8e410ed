// Graph IR -> .tl -> graph (include/tl/tl_export.h) and the language forms it needs: dotted weight names, typed
// inputs and constants, op calls with keyword attributes, `output`. The model families' round trip (every
// fixture model, through the library and through `tlt graph --tl` + `tlt run`) is tests/cli/graph_model_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <random>

#include "logic_test_util.h"
#include "tl/graph.h"
#include "tl/logic.h"
#include "tl/ops.h"
#include "tl/passes.h"
#include "tl/runtime.h"
#include "tl/tl_export.h"

namespace {

using namespace tl;
using tl::logic::Program;
using tl_logic_test::expect_error;

Tensor randn(Shape s, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.f, 1.f);
  Tensor t = Tensor::zeros(s);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = nd(rng);
  return t;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  auto x = a.to_f64_vector(), y = b.to_f64_vector();
  double m = 0;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
    if (std::isinf(x[i]) && x[i] == y[i]) continue;
    m = std::max(m, std::fabs(x[i] - y[i]));
  }
  return m;
}

std::map<std::string, int> op_counts(const Graph& g) {
  std::map<std::string, int> c;
  for (const Node& n : g.nodes()) ++c[node_op_name(n)];
  return c;
}

// A graph that uses every op kind a model graph uses (and a few more), with dotted weight names.
Graph every_op_graph() {
  Graph g("every_op");
  const int64_t B = 1, S = 4, D = 8, H = 2, HD = 4, V = 10, E = 3, F = 6;
  Value ids = g.input("ids", DType::i64, {B, S});                       // [b, s]
  Value keep = g.input("mask", DType::f32, {B, S});                     // [b, s]
  Value table = g.param("model.embed_tokens.weight", {V, D});           // [v, d]
  Value wq = g.param("model.layers.0.self_attn.q_proj.weight", {D, D});  // [o, i]
  Value bq = g.param("model.layers.0.self_attn.q_proj.bias", {D});      // [o]
  Value gamma = g.param("model.layers.0.norm.weight", {D});
  Value beta = g.param("model.layers.0.norm.bias", {D});
  Value router = g.param("model.layers.0.moe.gate.weight", {E, D});
  std::vector<Value> experts;
  for (int e = 0; e < E; ++e) {
    std::string p = "model.layers.0.moe.experts." + std::to_string(e) + ".";
    experts.push_back(g.param(p + "w1.weight", {F, D}));
    experts.push_back(g.param(p + "w3.weight", {F, D}));
    experts.push_back(g.param(p + "w2.weight", {D, F}));
  }
  Value x = g.gather(table, ids, 0);                                       // [b, s, d]
  Value q = g.einsum("bsi,oi->bso", {x, wq});                              // [b, s, d]
  q = g.add(q, bq);                                                        // broadcast [d]
  Value n1 = g.layer_norm(q, gamma, beta, 1, 1e-5f);                       // [b, s, d]
  Value n2 = g.rms_norm(n1, gamma, 1, 1e-6f);
  Value act = g.unary(UnaryOp::silu, n2);
  act = g.mul(act, g.unary(UnaryOp::gelu_erf, n1));                        // tensor * tensor
  act = g.div(act, g.constant(Tensor::scalar(0.5f)));
  act = g.sub(g.constant(Tensor::scalar(-1.25f)), act);
  act = g.binary(BinaryOp::max, act, g.constant(Tensor::scalar(0.0f)));
  act = g.binary(BinaryOp::pow, g.unary(UnaryOp::neg, act), g.constant(Tensor::scalar(2.0f)));
  Value heads = g.transpose(g.reshape(act, {B, S, H, HD}), {0, 2, 1, 3});  // [b, h, s, hd]
  // Padding bias [b, 1, 1, s] from the mask: where(mask != 0, 0, -inf).
  Value pad = g.where(g.binary(BinaryOp::ne, keep, g.constant(Tensor::scalar(0.0f))),
                      g.constant(Tensor::scalar(0.0f)),
                      g.constant(Tensor::scalar(-std::numeric_limits<float>::infinity())));
  pad = g.reshape(pad, {B, 1, 1, S});
  AttentionAttrs at;
  at.scale = 0.5f;
  at.causal = true;
  Value o = g.add_op(OpKind::attention, at, {heads, heads, heads, pad});   // [b, h, s, hd]
  Value merged = g.reshape(g.transpose(o, {0, 2, 1, 3}), {B, S, D});       // [b, s, d]
  std::vector<Value> moe_in = {merged, router};
  moe_in.insert(moe_in.end(), experts.begin(), experts.end());
  MoeAttrs ma;
  ma.p.top_k = 2;
  Value y = g.add_op(OpKind::moe, ma, moe_in);                             // [b, s, d]
  // Layout and the rest.
  Value cat = g.concat({y, g.slice(y, 2, 1, 7, 2)}, 2);                    // [b, s, 11]
  Value rep = g.repeat(cat, 2, 1);                                         // [b, 2s, 11]
  Value red = g.reduce(ReduceOp::mean, rep, {2}, true);                    // [b, 2s, 1]
  Value sm = g.softmax(rep, -1);
  Value smm = g.softmax(rep, 1, g.constant(Tensor::full({1, 2 * S, 1}, 0.25)));
  Value table_i = g.constant(Tensor::from_vector<int64_t>({2}, {3, 1}));
  Value picked = g.gather(sm, table_i, 2);                                 // [b, 2s, 2]
  Value cast = g.cast(g.binary(BinaryOp::gt, picked, g.constant(Tensor::scalar(0.05f))), DType::f32);
  Value fused = g.bias_act(picked, g.param("model.head.bias", {2}), UnaryOp::relu);
  Value sms = g.scaled_masked_softmax(picked, 0.125f);
  Value exp_ = g.unary(UnaryOp::exp, g.einsum("ij->j", {g.reshape(smm, {2 * S, 11})}));  // implicit form too
  Value out = g.add(g.add(g.add(picked, cast), g.add(fused, sms)), red);  // [b, 2s, 2] (+ [b, 2s, 1])
  g.output(out, "logits");
  g.output(exp_, "extra");
  g.output(y, "hidden");
  return g;
}

std::map<std::string, Tensor> inputs_for(const Graph& g) {
  std::map<std::string, Tensor> in;
  uint32_t seed = 1;
  for (Value v : g.inputs()) {
    const std::string& n = g.info(v).name;
    if (g.dtype(v) == DType::i64) {
      Tensor t = Tensor::zeros(g.shape(v), DType::i64);
      for (int64_t i = 0; i < t.numel(); ++i) t.data<int64_t>()[i] = (i * 7 + 3) % 10;
      in[n] = t;
    } else {
      Tensor t = Tensor::full(g.shape(v), 1.0);
      if (n == "mask") t.data<float>()[t.numel() - 1] = 0.0f;  // one padded key
      in[n] = t;
    }
  }
  for (Value v : g.params()) in[g.info(v).name] = randn(g.shape(v), seed++);
  return in;
}

TEST(TlExport, EveryOpRoundTripsToTheSameNumbers) {
  Graph g = every_op_graph();
  verify(g);
  std::string src = logic::to_tl(g, {.header = {"every op"}});
  Program p = Program::parse(src, "every_op.tl");
  const Graph& back = p.graph();
  EXPECT_TRUE(verify_problems(back).empty());
  // Weights keep their checkpoint names; outputs keep theirs.
  EXPECT_NE(src.find("param model.layers.0.self_attn.q_proj.weight[8, 8]"), std::string::npos) << src;
  EXPECT_NE(src.find("input ids: i64[1, 4]"), std::string::npos) << src;
  EXPECT_NE(src.find("layers.0.self_attn.q_proj[b, s, o] = embed_tokens[b, s, i] "
                     "model.layers.0.self_attn.q_proj.weight[o, i]"),
            std::string::npos)
      << src;
  EXPECT_NE(src.find("= attention("), std::string::npos);
  EXPECT_NE(src.find("causal=true"), std::string::npos);
  EXPECT_NE(src.find("output logits, extra, hidden"), std::string::npos);
  auto in = inputs_for(g);
  auto want = run_graph(g, in);
  for (OptLevel level : {OptLevel::none, OptLevel::basic}) {
    auto got = p.run(in, level);
    ASSERT_EQ(got.size(), 3u);
    for (const auto& [name, t] : want) {
      ASSERT_TRUE(got.count(name)) << name;
      // Same ops in the same order on the same inputs: equal up to reassociation inside fused kernels (1e-6).
      double err = max_abs_diff(t, got.at(name));
      EXPECT_LE(err, 1e-6) << name;
      std::printf("[every-op] %s (opt %d): max abs error %.3g\n", name.c_str(), int(level), err);
    }
  }
  // The same op multiset once optimised: index forms compile back to the einsum/unary/binary/softmax they
  // came from (softmax's axis is normalised, hence the comparison after optimisation, not of the raw nodes).
  Graph a = g, b = back;
  optimize(a, OptLevel::basic);
  optimize(b, OptLevel::basic);
  EXPECT_EQ(op_counts(a), op_counts(b)) << src;
}

// A small graph whose elementwise ops broadcast only by name compiles back to the identical op multiset.
TEST(TlExport, SimpleGraphKeepsItsOpMultiset) {
  Graph g("mlp");
  Value x = g.input("x", {2, 3});
  Value w = g.param("layer.w", {3, 4});
  Value h = g.einsum("ij,jk->ik", {x, w});
  Value y = g.softmax(g.unary(UnaryOp::relu, h), -1);
  g.output(y, "y");
  std::string src = logic::to_tl(g);
  EXPECT_NE(src.find("y[i, j.] = softmax("), std::string::npos) << src;
  Program p = Program::parse(src);
  EXPECT_EQ(op_counts(p.graph()), op_counts(g)) << src;
}

TEST(TlExport, NamesThatCannotBeWrittenAreErrors) {
  Graph g("bad");
  Value x = g.input("x", {2});
  Value w = g.param("enc/w", {2});
  g.output(g.add(x, w), "y");
  expect_error<ValueError>([&] { logic::to_tl(g); }, {"param", "enc/w", "dotted identifier"});
  EXPECT_TRUE(logic::is_tl_name("model.layers.0.mlp.up_proj.weight"));
  EXPECT_FALSE(logic::is_tl_name("a..b"));
  EXPECT_FALSE(logic::is_tl_name("0.a"));
  EXPECT_FALSE(logic::is_tl_name("a."));
}

// ---- The language forms

TEST(TlLanguage, DottedNamesTypedDeclsConstsAndOutputs) {
  Program p = Program::parse(
      "input ids: i64[3]\n"
      "param model.embed.weight[4, 2]\n"
      "const c.bias: f32[2] = [0.5, -inf]\n"
      "const pick: i64[2] = [1, 0]\n"
      "emb[i, j] = gather(model.embed.weight, ids, axis=0)\n"
      "y.0[i, j] = emb[i, j] + c.bias[j]\n"
      "z[i, j] = gather(y.0, pick, axis=1)\n"
      "output z, y.0\n");
  EXPECT_EQ(p.param_names(), std::vector<std::string>{"model.embed.weight"});
  Tensor w = Tensor::from_vector<float>({4, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  auto r = p.run({{"ids", Tensor::from_vector<int64_t>({3}, {3, 0, 1})}, {"model.embed.weight", w}});
  ASSERT_EQ(r.size(), 2u);  // only the declared outputs
  EXPECT_EQ(r.at("z").to_f64_vector(), (std::vector<double>{-INFINITY, 6.5, -INFINITY, 0.5, -INFINITY, 2.5}));
  // Facts, rules and the normalisation dot are untouched by dotted names.
  Program q = Program::parse("Parent(a, b).\nAnc(x, y) :- Parent(x, y).\nAnc(x, y)?\n"
                             "input X[2, 3]\nY[p, q.] = softmax(X[p, q])\n");
  EXPECT_EQ(q.evaluate().tuples("Anc").size(), 1u);
}

TEST(TlLanguage, OpCallErrorsNameLineColumnOpAttributeExpectedActual) {
  const std::string head = "input X[2, 4]\n";
  expect_error<ParseError>([&] { Program::parse(head + "Y[i, j] = attentionx(X, X, X, scale=1)\n", "p.tl"); },
                           {"p.tl:2:11", "unknown op 'attentionx'"});
  expect_error<ParseError>([&] { Program::parse(head + "Y[i, j] = softmax(X, axis=true)\n", "p.tl"); },
                           {"p.tl:2:22", "op 'softmax'", "attribute 'axis'", "must be an integer", "got true"});
  expect_error<ParseError>([&] { Program::parse(head + "Y[i, j] = reshape(X)\n", "p.tl"); },
                           {"p.tl:2:11", "op 'reshape'", "missing attribute 'shape'", "list of integers"});
  expect_error<ParseError>([&] { Program::parse(head + "Y[i, j] = softmax(X, axes=1)\n", "p.tl"); },
                           {"p.tl:2:22", "unknown attribute 'axes'", "expected one of: axis"});
  expect_error<ParseError>([&] { Program::parse(head + "Y[i, j] = softmax(X, axis=1, axis=0)\n", "p.tl"); },
                           {"p.tl:2:30", "attribute 'axis' given twice"});
  expect_error<ParseError>([&] { Program::parse(head + "Y[i, j] = cast(X, to=f64)\n", "p.tl"); },
                           {"p.tl:2:11", "op 'cast'", "f64"});
  expect_error<ParseError>([&] { Program::parse(head + "Y[i, j] = softmax(X[i, j], axis=0)\n", "p.tl"); },
                           {"p.tl:2:19", "argument 0 must be a whole tensor"});
  expect_error<ParseError>([&] { Program::parse(head + "Y[i, j] = softmax(axis=0, X)\n", "p.tl"); },
                           {"p.tl:2:27", "positional argument after keyword"});
  expect_error<ParseError>([&] { Program::parse(head + "Y[i, j] = 1 + reshape(X, shape=[2, 4])\n", "p.tl"); },
                           {"p.tl:2:15", "must be the whole right-hand side"});
  expect_error<ShapeError>([&] { Program::parse(head + "Y[i, j] = reshape(X, shape=[3, 4])\n", "p.tl"); },
                           {"p.tl:2:11", "op 'reshape'"});
  expect_error<ShapeError>([&] { Program::parse(head + "Y[i] = reshape(X, shape=[2, 4])\n", "p.tl"); },
                           {"gives 2 dims", "indexed with 1"});
  expect_error<ParseError>([&] { Program::parse("const C: f32[2, 2] = [1, 2, 3]\n", "p.tl"); },
                           {"p.tl:1:1", "const 'C'", "needs 4 values, got 3"});
  expect_error<ParseError>([&] { Program::parse("const C: i64[2] = [1, 2.5]\n", "p.tl"); },
                           {"p.tl:1:23", "must be an integer", "2.5"});
  expect_error<ParseError>([&] { Program::parse("input X: f64[2]\n", "p.tl"); }, {"p.tl:1:10", "unknown dtype 'f64'"});
  expect_error<ValueError>([&] { Program::parse(head + "Y[i, j] = X[i, j]\noutput Z\n", "p.tl"); },
                           {"p.tl:3:8", "output 'Z'"});
}

}  // namespace
