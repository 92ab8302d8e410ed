// A graph that uses every op family (and awkward constants), shared by the IR and runtime tests.
#pragma once
#include <cmath>
#include <cstring>
#include <limits>

#include "tl/graph.h"

namespace tl::test_graphs {

inline Tensor awkward_floats() {
  // 0.1, -0.0, 1e-38 (normal, near the bottom), a subnormal, the largest float, 1/3, 1e-5, 7.
  return Tensor::from_vector<float>({8}, {0.1f, -0.0f, 1e-38f, 1.4e-45f, 3.4028235e38f, 1.0f / 3.0f, 1e-5f, 7.0f});
}

inline Tensor nonfinite_floats() {
  // Hex-encoded path: infinities and a NaN with a payload must survive bit-exactly.
  Tensor t = Tensor::from_vector<float>({4}, {INFINITY, -INFINITY, 0.0f, 2.5f});
  uint32_t nan_bits = 0x7fc12345u;
  std::memcpy(t.data<float>() + 2, &nan_bits, 4);
  return t;
}

// x: [2, 3, 4] input, w: [4, 5] param; every op family appears at least once.
inline Graph every_op_graph() {
  Graph g("every_op");
  Value x = g.input("x", DType::f32, {2, 3, 4});       // [batch, seq, dim]
  Value w = g.param("w", DType::f32, {4, 5});          // [dim, hidden]
  Value gamma = g.param("gamma", DType::f32, {4});     // [dim]
  Value beta = g.param("beta", DType::f32, {4});       // [dim]
  Value idx = g.input("idx", DType::i64, {2});         // token ids into seq
  Value c8 = g.constant(awkward_floats(), "c8");       // [8]
  Value cnf = g.constant(nonfinite_floats(), "cnf");   // [4]
  Value big = g.constant(Tensor::full({3, 30}, 0.5), "big");  // > 64 elements: hex encoded
  Value ci = g.constant(Tensor::from_vector<int32_t>({3}, {-2147483647 - 1, 0, 2147483647}), "ci");
  Value cb = g.constant(Tensor::from_vector<bool>({2}, {true, false}), "cb");
  Value ch = g.constant(Tensor::full({2}, 0.333984375, DType::f16), "ch");
  (void)c8; (void)cnf; (void)big; (void)ci; (void)cb; (void)ch;

  Value ln = g.layer_norm(x, gamma, beta, 1, 1e-5f, "ln");              // [2, 3, 4]
  Value rn = g.rms_norm(ln, gamma, 1, 1e-6f, "rn");                     // [2, 3, 4]
  Value h = g.einsum("bsd,dh->bsh", {rn, w}, "h");                      // [2, 3, 5]
  Value mask = g.constant(Tensor::from_vector<float>({3, 3}, {0, -INFINITY, -INFINITY, 0, 0, -INFINITY, 0, 0, 0}),
                          "mask");                                      // [3, 3] causal
  Value scores = g.einsum("bsh,bth->bst", {h, h}, "scores");            // [2, 3, 3]
  Value p = g.softmax(scores, -1, mask, "p");                           // [2, 3, 3]
  Value att = g.einsum("bst,bth->bsh", {p, h}, "att");                  // [2, 3, 5]
  Value act = g.unary(UnaryOp::gelu_tanh, att, "act");                  // [2, 3, 5]
  Value e = g.unary(UnaryOp::gelu_erf, act, "e");
  Value s = g.unary(UnaryOp::silu, e, "s");
  Value sg = g.unary(UnaryOp::sigmoid, s, "sg");
  Value th = g.unary(UnaryOp::tanh, sg, "th");
  Value ex = g.unary(UnaryOp::exp, th, "ex");
  Value lg = g.unary(UnaryOp::log, ex, "lg");
  Value sq = g.unary(UnaryOp::sqrt, ex, "sq");
  Value rs = g.unary(UnaryOp::rsqrt, sq, "rs");
  Value re = g.unary(UnaryOp::relu, lg, "re");
  Value st = g.unary(UnaryOp::step, re, "st");                          // f32 0/1
  Value sum = g.binary(BinaryOp::add, rs, st, "sum");
  Value df = g.binary(BinaryOp::sub, sum, lg, "df");
  Value pr = g.binary(BinaryOp::mul, df, df, "pr");
  Value qt = g.binary(BinaryOp::div, pr, ex, "qt");
  Value pw = g.binary(BinaryOp::pow, ex, qt, "pw");
  Value mx = g.binary(BinaryOp::max, pw, qt, "mx");
  Value mn = g.binary(BinaryOp::min, mx, pw, "mn");
  Value gt = g.binary(BinaryOp::gt, mn, qt, "gt");                      // bool [2, 3, 5]
  Value sel = g.where(gt, mn, qt, "sel");                               // [2, 3, 5]
  Value gtf = g.cast(gt, DType::f32, "gtf");
  Value sel2 = g.add(sel, gtf);
  Value r1 = g.reduce(ReduceOp::sum, sel2, {-1}, true, "r1");           // [2, 3, 1]
  Value r2 = g.reduce(ReduceOp::mean, sel2, {0, 2}, false, "r2");       // [3]
  Value r3 = g.reduce(ReduceOp::max, sel2, {}, false, "r3");            // []
  Value r4 = g.reduce(ReduceOp::min, sel2, {1}, false, "r4");           // [2, 5]
  Value r5 = g.reduce(ReduceOp::prod, sel2, {2}, false, "r5");          // [2, 3]
  Value r6 = g.reduce(ReduceOp::logsumexp, sel2, {2}, false, "r6");     // [2, 3]
  Value rsh = g.reshape(sel2, {6, 5}, "rsh");                           // [6, 5]
  Value tr = g.transpose(rsh, {1, 0}, "tr");                            // [5, 6]
  Value sl = g.slice(tr, 1, 1, 6, 2, "sl");                             // [5, 3]
  Value cc = g.concat({sl, sl}, 1, "cc");                               // [5, 6]
  Value ga = g.gather(x, idx, 1, "ga");                                 // [2, 2, 4]
  Value rp = g.repeat(ga, 2, 0, "rp");                                  // [4, 2, 4]
  Value both = g.binary(BinaryOp::add, r1, g.reshape(r5, {2, 3, 1}), "both");  // [2, 3, 1]
  // Every unary and binary op kind once more, on small operands (bool ops on bool values).
  Value fa = g.slice(sel2, 2, 0, 2, 1, "fa");       // [2, 3, 2] (a strided view)
  Value fb = g.transpose(r5, {1, 0}, "fb");         // [3, 2]
  std::vector<Value> extra;
  for (int u = 0; u <= int(UnaryOp::logical_not); ++u)
    extra.push_back(g.unary(UnaryOp(u), UnaryOp(u) == UnaryOp::logical_not ? gt : fa));
  for (int b = 0; b <= int(BinaryOp::logical_or); ++b) {
    bool logical = BinaryOp(b) == BinaryOp::logical_and || BinaryOp(b) == BinaryOp::logical_or;
    extra.push_back(logical ? g.binary(BinaryOp(b), gt, st) : g.binary(BinaryOp(b), fa, fb));  // broadcasting
  }
  // Fused ops (made by the elementwise_fusion pass).
  Value fba = g.bias_act(x, gamma, UnaryOp::gelu_tanh, "fba");          // [2, 3, 4]
  Value fbn = g.bias_act(fba, beta, std::nullopt, "fbn");               // [2, 3, 4]
  Value fsm = g.scaled_masked_softmax(scores, 0.125f, mask, "fsm");     // [2, 3, 3]
  extra.push_back(fbn);
  extra.push_back(fsm);
  // Fused attention (src/ir/ops_attention.cpp): q [1, 2, 3, 4] from x, k/v one kv head, causal, window 2.
  {
    Value aq = g.reshape(x, {1, 2, 3, 4}, "aq");                                     // [1, 2, 3, 4]
    Value ak = g.slice(aq, 1, 0, 1, 1, "ak");                                        // [1, 1, 3, 4]
    AttentionAttrs at;
    at.scale = 0.5f;
    at.causal = true;
    at.window = 2;
    extra.push_back(g.add_op(OpKind::attention, at, {aq, ak, ak}, "attn"));          // [1, 2, 3, 4]
    // With cached keys/values read in place (KV-cache decoding): 2 past slots before the 3 new ones.
    AttentionAttrs ap = at;
    ap.past = true;
    Value pk = g.slice(ak, 2, 0, 2, 1, "apast");                                     // [1, 1, 2, 4]
    extra.push_back(g.add_op(OpKind::attention, ap, {aq, ak, ak, pk, pk}, "attn_past"));  // [1, 2, 3, 4]
  }
  // Fused mixture of experts (src/ir/ops_moe.cpp): one ungated expert, router [1, 4], w1 [5, 4], w2 [4, 5].
  {
    MoeParams mp;
    mp.top_k = 1;
    mp.gated = false;
    Value router = g.reshape(gamma, {1, 4}, "moe_router");                           // [1, 4]
    Value w1 = g.transpose(w, {1, 0}, "moe_w1");                                     // [5, 4]
    extra.push_back(g.add_op(OpKind::moe, MoeAttrs{mp}, {x, router, w1, w}, "fmoe"));  // [2, 3, 4]
    // Typed linear (src/ir/ops_linear.cpp): an f32 weight [5, 4] (the other formats: tests/ir/linear_op_test.cpp).
    extra.push_back(g.linear(x, w1, std::nullopt, WeightFormat::f32, "flin"));  // [2, 3, 5]
    // Grouped linear (src/ir/ops_linear_group.cpp): two [5, 4] weights side by side.
    extra.push_back(g.linear_group(x, {w1, w1}, WeightFormat::f32, "flin_group"));  // [2, 3, 10]
  }
  // Rotary embedding (src/ir/ops_rope.cpp): x [2, 3, 4] by tables [3, 1] (half = 1: dims 0 and 1 rotate).
  {
    Value tab = g.slice(g.reshape(gamma, {4, 1}, "rope_tab4"), 0, 0, 3, 1, "rope_tab");  // [3, 1]
    extra.push_back(g.rope(x, tab, tab, false, "frope"));                               // [2, 3, 4]
    extra.push_back(g.rope(x, tab, tab, true, "frope_pairs"));                          // [2, 3, 4]
  }
  for (Value v : extra) g.output(v);
  g.output(cc, "cc");
  g.output(rp);
  g.output(r2);
  g.output(r3);
  g.output(r4, "r4_out");
  g.output(both);
  g.output(r6);
  return g;
}

}  // namespace tl::test_graphs
