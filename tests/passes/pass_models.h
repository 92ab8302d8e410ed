// Small models for pass tests: an MLP with waste to remove and a causal attention block with einsum chains.
#pragma once
#include <cmath>

#include "tl/graph.h"

namespace pass_models {
using namespace tl;

// A two-layer MLP with the kinds of waste builders and rule compilers leave behind: a duplicated projection,
// a multiply by one, a transpose pair, a constant subexpression and a dead branch.
inline Graph mlp() {
  Graph g("mlp");
  Value x = g.input("x", {4, 8});      // [batch, in]
  Value w1 = g.param("w1", {8, 16});   // [in, hidden]
  Value b1 = g.param("b1", {16});      // [hidden]
  Value w2 = g.param("w2", {16, 8});   // [hidden, out]
  Value b2 = g.param("b2", {8});       // [out]
  Value one = g.constant(Tensor::full({}, 1.0), "one");
  Value half = g.mul(g.constant(Tensor::full({}, 0.25), "q"), g.constant(Tensor::full({}, 2.0), "two"), "half");
  Value h = g.add(g.einsum("bi,ih->bh", {x, w1}), b1, "h");    // [batch, hidden]
  Value h2 = g.add(g.einsum("bi,ih->bh", {x, w1}), b1, "h2");  // the same again
  Value a = g.unary(UnaryOp::gelu_tanh, g.mul(h, one), "a");   // [batch, hidden]
  Value a2 = g.unary(UnaryOp::gelu_tanh, h2, "a2");
  Value s = g.mul(g.add(a, a2), half, "s");  // == a
  Value st = g.transpose(g.transpose(s, {1, 0}), {1, 0}, "st");
  g.unary(UnaryOp::exp, st, "unused");
  Value y = g.add(g.einsum("bh,ho->bo", {st, w2}), b2, "y");  // [batch, out]
  g.output(y);
  return g;
}

// One attention block: projections as einsums over [d, heads, head_dim] weights so the score and output
// einsums form chains the merge pass can join, an additive causal mask, softmax, output projection.
inline Graph attention() {
  const int64_t B = 2, S = 5, D = 8, H = 2, E = 4;
  Graph g("attn");
  Value x = g.input("x", {B, S, D});       // [batch, seq, d]
  Value wq = g.param("wq", {D, H, E});     // [d, heads, head_dim]
  Value wk = g.param("wk", {D, H, E});
  Value wv = g.param("wv", {D, H, E});
  Value wo = g.param("wo", {H, E, D});     // [heads, head_dim, d]
  Tensor m = Tensor::zeros({S, S});
  for (int64_t i = 0; i < S; ++i)
    for (int64_t j = i + 1; j < S; ++j) m.set(std::vector<int64_t>{i, j}, -1e9);
  Value mask = g.constant(m, "mask");      // [q, k] additive
  Value q = g.einsum("bsd,dhe->bshe", {x, wq}, "q");  // [batch, seq, heads, head_dim]
  Value k = g.einsum("bsd,dhe->bshe", {x, wk}, "k");
  Value v = g.einsum("bsd,dhe->bshe", {x, wv}, "v");
  Value scale = g.constant(Tensor::full({}, 1.0 / std::sqrt(double(E))), "scale");
  Value scores = g.mul(g.einsum("bqhe,bkhe->bhqk", {q, k}), scale, "scores");  // [batch, heads, q, k]
  Value p = g.softmax(scores, -1, mask, "p");
  Value o = g.einsum("bhqk,bkhe->bqhe", {p, v}, "o");    // [batch, q, heads, head_dim]
  Value y = g.einsum("bqhe,hed->bqd", {o, wo}, "y");     // [batch, seq, d]
  g.output(g.add(y, x, "resid"));
  return g;
}

}  // namespace pass_models
