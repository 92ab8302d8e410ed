// KV cache: preallocated [b, hkv, capacity, hd] buffers per layer, views for the next step, capacity checked
// before any write (include/tl/nn/kv_cache.h).
#include "tl/nn/kv_cache.h"

#include <algorithm>

#include "tl/error.h"
#include "tl/kernels.h"
#include "tl/nn/common.h"

namespace tl::nn {

KvCache::KvCache(const KvCacheConfig& c) : cfg_(c) {
  auto pos = [](const char* what, int64_t v) {
    if (v <= 0) TL_THROW(ValueError, "[kv_cache] ", what, " = ", v, " must be positive");
  };
  pos("n_layers", c.n_layers);
  pos("batch", c.batch);
  pos("kv_heads", c.kv_heads);
  pos("head_dim", c.head_dim);
  pos("capacity", c.capacity);
  for (int64_t l = 0; l < c.n_layers; ++l) {
    k_.push_back(Tensor::zeros({c.batch, c.kv_heads, c.capacity, c.head_dim}));  // [b, hkv, cap, hd]
    v_.push_back(Tensor::zeros({c.batch, c.kv_heads, c.capacity, c.head_dim}));  // [b, hkv, cap, hd]
  }
  len_.assign(size_t(c.n_layers), 0);
}

void KvCache::check_layer(int layer) const {
  if (layer < 0 || layer >= cfg_.n_layers)
    TL_THROW(ValueError, "[kv_cache] layer ", layer, " is out of range (the cache has ", cfg_.n_layers, " layers)");
}

int64_t KvCache::length(int layer) const {
  check_layer(layer);
  return len_[size_t(layer)];
}

Tensor KvCache::keys(int layer) const {
  check_layer(layer);
  return k_[size_t(layer)].slice(2, 0, len_[size_t(layer)]);  // [b, hkv, len, hd]
}

Tensor KvCache::values(int layer) const {
  check_layer(layer);
  return v_[size_t(layer)].slice(2, 0, len_[size_t(layer)]);  // [b, hkv, len, hd]
}

void KvCache::append(int layer, const Tensor& k, const Tensor& v) {
  check_layer(layer);
  for (const auto& [t, what] : {std::pair<const Tensor&, const char*>{k, "keys"}, {v, "values"}}) {
    const Shape& s = t.shape();
    if (s.size() != 4 || s[0] != cfg_.batch || s[1] != cfg_.kv_heads || s[3] != cfg_.head_dim || s[2] != k.shape()[2])
      TL_THROW(ShapeError, "[kv_cache] layer ", layer, ": new ", what, " have shape ", shape_str(s), ", expected [",
               cfg_.batch, ", ", cfg_.kv_heads, ", n, ", cfg_.head_dim, "] (the same n for keys and values)");
  }
  const int64_t n = k.shape()[2], len = len_[size_t(layer)];
  if (len + n > cfg_.capacity)
    TL_THROW(ValueError, "[kv_cache] layer ", layer, ": cannot append ", n, " tokens to ", len, " of capacity ",
             cfg_.capacity);
  // Row by row into the preallocated buffers (their [len, len + n) slice is not contiguous across heads).
  const int64_t hd = cfg_.head_dim, cap = cfg_.capacity;
  for (const auto& [src, dst] : {std::pair<const Tensor&, Tensor&>{k, k_[size_t(layer)]}, {v, v_[size_t(layer)]}}) {
    const Tensor c = src.dtype() == DType::f32 ? src.contiguous() : src.to(DType::f32).contiguous();  // [b, hkv, n, hd]
    const float* s = c.data<float>();
    float* d = dst.data<float>();
    for (int64_t bh = 0; bh < cfg_.batch * cfg_.kv_heads; ++bh)
      std::copy(s + bh * n * hd, s + (bh + 1) * n * hd, d + (bh * cap + len) * hd);
  }
  len_[size_t(layer)] = len + n;
}

void KvCache::reset() { std::fill(len_.begin(), len_.end(), 0); }

void KvCache::bind(int layer, const std::string& prefix, std::map<std::string, Tensor>& inputs) const {
  if (length(layer) == 0) return;
  inputs[join_name(prefix, "past_key")] = keys(layer);
  inputs[join_name(prefix, "past_value")] = values(layer);
}

void KvCache::append_from(int layer, const std::string& prefix, const std::map<std::string, Tensor>& outputs) {
  auto get = [&](const char* n) -> const Tensor& {
    auto it = outputs.find(join_name(prefix, n));
    if (it == outputs.end())
      TL_THROW(ValueError, "[kv_cache] layer ", layer, ": the step's outputs have no '", join_name(prefix, n), "'");
    return it->second;
  };
  append(layer, get("key_new"), get("value_new"));
}

CachedAttention cached_attention(Graph& g, const AttentionConfig& cfg, Value x, const std::string& prefix,
                                 int64_t past, AttentionOptions opts) {
  cfg.validate();
  if (past < 0) TL_THROW(ValueError, "[kv_cache] ", prefix, ": past = ", past, " must be >= 0");
  if (opts.past_k || opts.past_v)
    TL_THROW(ValueError, "[kv_cache] ", prefix, ": cached_attention makes past_k / past_v itself; leave them unset");
  const int64_t B = g.shape(x).empty() ? 0 : g.shape(x)[0];
  if (past > 0) {
    opts.past_k = g.input(join_name(prefix, "past_key"), {B, cfg.kv_heads(), past, cfg.hd()});    // [b, hkv, past, hd]
    opts.past_v = g.input(join_name(prefix, "past_value"), {B, cfg.kv_heads(), past, cfg.hd()});  // [b, hkv, past, hd]
  }
  AttentionOutputs a = attention_outputs(g, cfg, x, prefix, opts);
  g.output(a.k, join_name(prefix, "key_new"));
  g.output(a.v, join_name(prefix, "value_new"));
  return {a.out, a.k, a.v};
}

}  // namespace tl::nn
