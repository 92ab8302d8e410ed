// Scaled dot-product attention and the multi-head / grouped-query attention block (include/tl/nn/attention.h).
// The plain path is ordinary IR (einsum, scaled_masked_softmax, einsum) so every intermediate can be inspected;
// the fused path is one `attention` op whose kernel is flash attention. Both define masks identically:
// attention_mask_tensor and the kernel share tl::attention_visible.
#include "tl/nn/attention.h"

#include <cmath>
#include <limits>
#include <random>
#include <tuple>

#include "tl/error.h"
#include "tl/kernels.h"
#include "tl/nn/common.h"

namespace tl::nn {

namespace {

// Pads a bias to rank 4 (leading 1s) so it can be reshaped for grouped heads.
Value bias_rank4(Graph& g, Value bias) {
  Shape s = g.shape(bias);
  if (s.size() == 4) return bias;
  while (s.size() < 4) s.insert(s.begin(), 1);
  return g.reshape(bias, s);
}

bool needs_mask(bool causal, int64_t window, const SparseSpec& sp) {
  return causal || window > 0 || sp.pattern != SparsePattern::none;
}

}  // namespace

Tensor attention_mask_tensor(int64_t sq, int64_t sk, bool causal, int64_t window, const SparseSpec& sparse) {
  if (sq < 0 || sk < 0 || sq > sk)
    TL_THROW(ShapeError, "[attention] mask for sq = ", sq, " queries and sk = ", sk, " keys: expected 0 <= sq <= sk");
  AttentionSpec spec;
  spec.causal = causal;
  spec.window = window;
  spec.sparse = sparse;
  check_attention_spec(spec, sk, "attention");
  Tensor m = Tensor::zeros({sq, sk});  // [sq, sk]
  float* d = m.data<float>();
  const float ninf = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < sq; ++i)
    for (int64_t j = 0; j < sk; ++j)
      if (!attention_visible(spec, sk, sk - sq + i, j)) d[i * sk + j] = ninf;
  return m;
}

Tensor dropout_keep_mask(const Shape& shape, float p, uint64_t seed) {
  if (!(p >= 0.0f && p < 1.0f)) TL_THROW(ValueError, "[attention] dropout p = ", p, " must be in [0, 1)");
  Tensor t = Tensor::empty(shape);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  float* d = t.data<float>();
  const float keep = 1.0f / (1.0f - p);
  for (int64_t i = 0; i < t.numel(); ++i) d[i] = u(rng) < p ? 0.0f : keep;
  return t;
}

Value padding_bias(Graph& g, Value keep) {
  const Shape s = g.shape(keep);  // [b, sk]
  if (s.size() != 2) TL_THROW(ShapeError, "[attention] padding keep mask must be [batch, sk], got ", shape_str(s));
  Value cond = g.dtype(keep) == DType::boolean ? keep : g.binary(BinaryOp::ne, keep, g.constant(Tensor::scalar(0.0f)));
  Value b = g.where(cond, g.constant(Tensor::scalar(0.0f)),
                    g.constant(Tensor::scalar(-std::numeric_limits<float>::infinity())));  // [b, sk]
  return g.reshape(b, {s[0], 1, 1, s[1]});                                                  // [b, 1, 1, sk]
}

SdpaResult sdpa(Graph& g, Value q, Value k, Value v, const SdpaOptions& o) {
  if (o.past_k.has_value() != o.past_v.has_value())
    TL_THROW(ValueError, "[sdpa] past_k and past_v must be given together");
  const bool past = o.past_k.has_value();
  if (past && o.impl != AttentionImpl::fused) {  // plain: the keys/values as one tensor each
    SdpaOptions p = o;
    p.past_k.reset();
    p.past_v.reset();
    kernels::attention_kv_shapes(g.shape(k), g.shape(v), g.shape(*o.past_k), g.shape(*o.past_v), "sdpa");
    return sdpa(g, q, g.concat({*o.past_k, k}, 2), g.concat({*o.past_v, v}, 2), p);  // [b, hkv, sp + sk, .]
  }
  std::optional<Shape> bshape;
  if (o.bias) bshape = g.shape(*o.bias);
  AttentionSpec spec;  // the position masks first: they decide whether sq > sk is allowed
  spec.causal = o.causal;
  spec.window = o.window;
  spec.sparse = o.sparse;
  Shape ks = g.shape(k), vs = g.shape(v);
  if (past) std::tie(ks, vs) = kernels::attention_kv_shapes(ks, vs, g.shape(*o.past_k), g.shape(*o.past_v), "sdpa");
  const Shape os = kernels::attention_shape(g.shape(q), ks, vs, bshape, "sdpa", &spec);
  const int64_t B = os[0], H = os[1], SQ = os[2], DV = os[3];
  const int64_t HKV = ks[1], SK = ks[2], D = g.shape(q)[3];
  const float scale = o.scale ? *o.scale : float(1.0 / std::sqrt(double(D)));
  if (!std::isfinite(scale)) TL_THROW(ValueError, "[sdpa] scale = ", scale, " must be finite");
  spec.scale = scale;
  check_attention_spec(spec, SK, "sdpa");
  const bool dropout = o.dropout.training && o.dropout.p > 0.0f;
  if (o.dropout.p < 0.0f || o.dropout.p >= 1.0f)
    TL_THROW(ValueError, "[sdpa] dropout p = ", o.dropout.p, " must be in [0, 1)");

  if (o.impl == AttentionImpl::fused) {
    if (o.return_weights)
      TL_THROW(ValueError, "[sdpa] return_weights needs impl = plain (the fused kernel never forms the weights)");
    if (dropout) TL_THROW(ValueError, "[sdpa] training-mode dropout needs impl = plain");
    AttentionAttrs a;
    a.scale = scale;
    a.causal = o.causal;
    a.window = o.window;
    a.sparse = o.sparse;
    a.past = past;
    std::vector<Value> in{q, k, v};
    if (o.bias) in.push_back(*o.bias);
    if (past) in.insert(in.end(), {*o.past_k, *o.past_v});
    return {g.add_op(OpKind::attention, a, in), std::nullopt};
  }

  // Plain: scores, one additive mask (causal/window/sparse constant + bias), softmax, weighted sum.
  std::optional<Value> mask;
  if (needs_mask(o.causal, o.window, o.sparse))
    mask = g.constant(attention_mask_tensor(SQ, SK, o.causal, o.window, o.sparse));  // [sq, sk]
  const int64_t group = H / HKV;
  SdpaResult r;
  if (group == 1) {
    if (o.bias) mask = mask ? g.add(*o.bias, *mask) : *o.bias;
    Value s = g.einsum("bhqd,bhkd->bhqk", {q, k});      // [b, h, sq, sk]
    Value w = g.scaled_masked_softmax(s, scale, mask);  // [b, h, sq, sk]
    if (o.return_weights) r.weights = w;
    if (dropout) w = g.mul(w, g.input(join_name(o.prefix, o.dropout.input_name), {B, H, SQ, SK}));
    r.out = g.einsum("bhqk,bhkv->bhqv", {w, v});  // [b, h, sq, dv]
    return r;
  }
  // Grouped heads: q as [b, hkv, group, sq, d] so each kv head serves its group without copying k/v.
  Value q5 = g.reshape(q, {B, HKV, group, SQ, D});  // [b, hkv, g, sq, d]
  if (o.bias) {
    Value b4 = bias_rank4(g, *o.bias);  // [b|1, h|1, sq|1, sk|1]
    const Shape bs = g.shape(b4);
    Value b5 = bs[1] == 1 ? g.reshape(b4, {bs[0], 1, 1, bs[2], bs[3]})
                          : g.reshape(b4, {bs[0], HKV, group, bs[2], bs[3]});  // [b|1, hkv|1, g|1, sq, sk]
    mask = mask ? g.add(b5, *mask) : b5;
  }
  Value s = g.einsum("bngqd,bnkd->bngqk", {q5, k});   // [b, hkv, g, sq, sk]
  Value w = g.scaled_masked_softmax(s, scale, mask);  // [b, hkv, g, sq, sk]
  if (o.return_weights) r.weights = g.reshape(w, {B, H, SQ, SK});
  if (dropout)
    w = g.mul(w, g.reshape(g.input(join_name(o.prefix, o.dropout.input_name), {B, H, SQ, SK}),
                           {B, HKV, group, SQ, SK}));
  Value out5 = g.einsum("bngqk,bnkv->bngqv", {w, v});  // [b, hkv, g, sq, dv]
  r.out = g.reshape(out5, {B, H, SQ, DV});             // [b, h, sq, dv]
  return r;
}

void AttentionConfig::validate() const {
  const char* op = "[attention]";
  if (d_model <= 0) TL_THROW(ValueError, op, " d_model = ", d_model, " must be positive");
  if (n_heads <= 0) TL_THROW(ValueError, op, " n_heads = ", n_heads, " must be positive");
  if (n_kv_heads < 0) TL_THROW(ValueError, op, " n_kv_heads = ", n_kv_heads, " must be >= 0 (0 = n_heads)");
  if (n_heads % kv_heads() != 0)
    TL_THROW(ValueError, op, " n_heads = ", n_heads, " is not divisible by n_kv_heads = ", kv_heads());
  if (head_dim < 0) TL_THROW(ValueError, op, " head_dim = ", head_dim, " must be >= 0 (0 = d_model / n_heads)");
  if (head_dim == 0 && d_model % n_heads != 0)
    TL_THROW(ValueError, op, " d_model = ", d_model, " is not divisible by n_heads = ", n_heads,
             " (set head_dim explicitly)");
  if (kv_in < 0) TL_THROW(ValueError, op, " kv_in = ", kv_in, " must be >= 0 (0 = d_model)");
  if (window < 0) TL_THROW(ValueError, op, " window = ", window, " must be >= 0 (0 = none)");
  if (scale && !std::isfinite(*scale)) TL_THROW(ValueError, op, " scale = ", *scale, " must be finite");
  if (!(dropout >= 0.0f && dropout < 1.0f)) TL_THROW(ValueError, op, " dropout = ", dropout, " must be in [0, 1)");
  if (impl == AttentionImpl::fused && training && dropout > 0.0f)
    TL_THROW(ValueError, op, " training-mode dropout needs impl = plain (the fused kernel has no dropout)");
}

float AttentionConfig::scale_value() const { return scale ? *scale : float(1.0 / std::sqrt(double(hd()))); }

AttentionOutputs attention_outputs(Graph& g, const AttentionConfig& cfg, Value x, const std::string& prefix,
                                   const AttentionOptions& o) {
  cfg.validate();
  const Shape xs = g.shape(x);  // [b, sq, d_model] (a copy: adding values moves the graph's storage)
  if (xs.size() != 3 || xs[2] != cfg.d_model)
    TL_THROW(ShapeError, "[attention] ", prefix, ": x must be [batch, seq, ", cfg.d_model, "], got ", shape_str(xs));
  const int64_t B = xs[0], SQ = xs[1], H = cfg.n_heads, HKV = cfg.kv_heads(), HD = cfg.hd();
  Value src = o.kv_source ? *o.kv_source : x;  // [b, sk_new, kv_in]
  const Shape ss = g.shape(src);
  if (ss.size() != 3 || ss[0] != B || ss[2] != cfg.kv_in_features())
    TL_THROW(ShapeError, "[attention] ", prefix, ": key/value source must be [", B, ", seq, ", cfg.kv_in_features(),
             "], got ", shape_str(ss));
  const int64_t SKN = ss[1];
  if (o.past_k.has_value() != o.past_v.has_value())
    TL_THROW(ValueError, "[attention] ", prefix, ": past_k and past_v must be given together");

  Value q = linear(g, x, join_name(prefix, "q_proj"), cfg.d_model, H * HD, cfg.q_bias);      // [b, sq, h*hd]
  Value k = linear(g, src, join_name(prefix, "k_proj"), ss[2], HKV * HD, cfg.k_bias);        // [b, skn, hkv*hd]
  Value v = linear(g, src, join_name(prefix, "v_proj"), ss[2], HKV * HD, cfg.v_bias);        // [b, skn, hkv*hd]
  q = g.transpose(g.reshape(q, {B, SQ, H, HD}), {0, 2, 1, 3});                                // [b, h, sq, hd]
  k = g.transpose(g.reshape(k, {B, SKN, HKV, HD}), {0, 2, 1, 3});                             // [b, hkv, skn, hd]
  v = g.transpose(g.reshape(v, {B, SKN, HKV, HD}), {0, 2, 1, 3});                             // [b, hkv, skn, hd]
  if (o.qk_transform) std::tie(q, k) = o.qk_transform(g, q, k);

  AttentionOutputs r;
  r.k = k;
  r.v = v;
  Value kall = k, vall = v;
  bool so_past = false;  // sdpa takes the past (the fused op reads it in place, plain concatenates)
  if (o.past_k) {
    const Shape pk = g.shape(*o.past_k);
    const Shape pv = g.shape(*o.past_v);
    if (pk != Shape{B, HKV, pk.size() == 4 ? pk[2] : 0, HD} || pv != pk)
      TL_THROW(ShapeError, "[attention] ", prefix, ": past keys/values must be [", B, ", ", HKV, ", past, ", HD,
               "], got ", shape_str(pk), " and ", shape_str(pv));
    if (pk[2] > 0 && !o.rule) {
      so_past = true;
    } else if (pk[2] > 0) {  // rule attention takes the keys/values as one tensor each
      kall = g.concat({*o.past_k, k}, 2);  // [b, hkv, past + skn, hd]
      vall = g.concat({*o.past_v, v}, 2);  // [b, hkv, past + skn, hd]
    }
  }
  SdpaOptions so;
  so.scale = cfg.scale_value();
  so.causal = cfg.causal;
  so.window = cfg.window;
  so.bias = o.bias;
  so.sparse = o.sparse;
  so.impl = cfg.impl;
  so.return_weights = o.return_weights;
  so.dropout.p = cfg.dropout;
  so.dropout.training = cfg.training;
  so.prefix = prefix;
  if (so_past) {
    so.past_k = o.past_k;
    so.past_v = o.past_v;
  }
  SdpaResult a = o.rule ? rule_sdpa(g, q, kall, vall, so, *o.rule, o.rule_mode) : sdpa(g, q, kall, vall, so);
  r.weights = a.weights;
  Value y = g.reshape(g.transpose(a.out, {0, 2, 1, 3}), {B, SQ, H * HD});                   // [b, sq, h*hd]
  r.out = linear(g, y, join_name(prefix, "o_proj"), H * HD, cfg.d_model, cfg.o_bias);       // [b, sq, d_model]
  return r;
}

}  // namespace tl::nn
