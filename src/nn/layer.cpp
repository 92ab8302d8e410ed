// Encoder and decoder layers: residual sublayers with pre- or post-norm placement.
#include "tl/nn/layer.h"

#include <functional>

#include "tl/error.h"
#include "tl/nn/common.h"

namespace tl::nn {

LayerNames LayerNames::torch() {
  LayerNames n;
  n.self_attn = "self_attn";
  n.cross_attn = "multihead_attn";
  n.self_norm = "norm1";
  n.cross_norm = "norm2";
  n.ffn_norm = "norm3";
  n.encoder_ffn_norm = "norm2";  // an encoder layer has no cross block, so torch numbers its FFN norm 2
  n.ffn = "";
  return n;
}

LayerConfig LayerConfig::make(int64_t d_model, int64_t n_heads, int64_t d_ff) {
  LayerConfig c;
  c.attn = AttentionConfig{}.with_d_model(d_model).with_heads(n_heads);
  c.ffn = FfnConfig::plain(d_model, d_ff);
  c.norm = NormConfig::layer(d_model);
  return c;
}

AttentionConfig LayerConfig::cross_config() const {
  if (cross) return *cross;
  AttentionConfig a = attn;
  a.causal = false;
  a.window = 0;
  return a;
}

void LayerConfig::validate() const {
  attn.validate();
  ffn.validate();
  norm.validate();
  if (ffn.d_model != attn.d_model)
    TL_THROW(ValueError, "[layer] ffn.d_model must equal attn.d_model = ", attn.d_model, ", got ", ffn.d_model);
  if (norm.dim != attn.d_model)
    TL_THROW(ValueError, "[layer] norm.dim must equal attn.d_model = ", attn.d_model, ", got ", norm.dim);
  if (cross) {
    cross->validate();
    if (cross->d_model != attn.d_model)
      TL_THROW(ValueError, "[layer] cross.d_model must equal attn.d_model = ", attn.d_model, ", got ", cross->d_model);
  }
}

namespace {

std::string sub(const std::string& prefix, const std::string& name) { return name.empty() ? prefix : join_name(prefix, name); }

// One residual sublayer: post: norm(x + f(x)); pre: x + f(norm(x)).
Value residual(Graph& g, Value x, const std::string& norm_prefix, const LayerConfig& c,
               const std::function<Value(Value)>& f) {
  if (c.placement == NormPlacement::pre) return g.add(x, f(norm(g, x, norm_prefix, c.norm)));
  return norm(g, g.add(x, f(x)), norm_prefix, c.norm);
}

void check_input(Graph& g, Value x, const std::string& prefix, const LayerConfig& c) {
  const Shape& s = g.shape(x);  // [b, s, d]
  if (s.size() != 3 || s[2] != c.attn.d_model)
    TL_THROW(ShapeError, "[layer] ", prefix, ": input has shape ", shape_str(s), ", expected [batch, seq, d_model = ",
             c.attn.d_model, "]");
}

Value ffn_block(Graph& g, Value x, const std::string& prefix, const LayerConfig& c, const std::string& norm_name) {
  return residual(g, x, sub(prefix, norm_name), c, [&](Value h) { return ffn(g, h, sub(prefix, c.names.ffn), c.ffn); });
}

}  // namespace

Value encoder_layer(Graph& g, Value x, const std::string& prefix, const LayerConfig& c, const LayerOptions& o) {
  c.validate();
  check_input(g, x, prefix, c);
  AttentionOptions ao;
  ao.bias = o.self_bias;
  ao.qk_transform = o.qk_transform;
  Value h = residual(g, x, sub(prefix, c.names.self_norm), c,
                     [&](Value t) { return attention(g, c.attn, t, sub(prefix, c.names.self_attn), ao); });  // [b, s, d]
  const std::string& ffn_norm = c.names.encoder_ffn_norm.empty() ? c.names.ffn_norm : c.names.encoder_ffn_norm;
  return ffn_block(g, h, prefix, c, ffn_norm);  // [b, s, d]
}

Value decoder_layer(Graph& g, Value x, std::optional<Value> memory, const std::string& prefix, const LayerConfig& c,
                    const LayerOptions& o) {
  c.validate();
  check_input(g, x, prefix, c);
  AttentionConfig self = c.attn;
  self.causal = true;
  AttentionOptions so;
  so.bias = o.self_bias;
  so.qk_transform = o.qk_transform;
  Value h = residual(g, x, sub(prefix, c.names.self_norm), c,
                     [&](Value t) { return attention(g, self, t, sub(prefix, c.names.self_attn), so); });  // [b, s, d]
  if (memory) {
    const Shape& ms = g.shape(*memory);  // [b, sm, d_mem]
    const Shape& xs = g.shape(x);
    const AttentionConfig cross = c.cross_config();
    if (ms.size() != 3 || ms[0] != xs[0] || ms[2] != cross.kv_in_features())
      TL_THROW(ShapeError, "[layer] ", prefix, ": memory has shape ", shape_str(ms), ", expected [", xs[0],
               ", seq, ", cross.kv_in_features(), "]");
    AttentionOptions co;
    co.kv_source = memory;
    co.bias = o.cross_bias;
    h = residual(g, h, sub(prefix, c.names.cross_norm), c,
                 [&](Value t) { return attention(g, cross, t, sub(prefix, c.names.cross_attn), co); });  // [b, s, d]
  }
  return ffn_block(g, h, prefix, c, c.names.ffn_norm);  // [b, s, d]
}

}  // namespace tl::nn
