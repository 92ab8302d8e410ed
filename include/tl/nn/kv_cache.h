// KV cache for incremental decoding (docs/attention.md, "KV cache").
//
// Graphs have static shapes, so decoding builds a small graph per step whose attention layers take the cached
// keys/values as inputs of shape [b, hkv, past, hd] and return the new ones as outputs; the cache stores them
// in preallocated [b, hkv, capacity, hd] buffers and hands out views (no copy) for the next step.
//
//   KvCache cache({n_layers, batch, kv_heads, head_dim, capacity});
//   // per step (past = cache.length(), n new tokens):
//   Graph g;  Value x = g.input("x", {b, n, d});
//   for each layer l: CachedAttention a = cached_attention(g, cfg, h, "layers.l.self_attn", cache.length());
//                     h = ... a.out ...
//   auto inputs = ...; cache.bind(inputs, prefix_of_layer);      // "<prefix>.past_key" / ".past_value"
//   auto out = Executor(g).run(inputs);  cache.append_from(out, prefixes);  // capacity checked first
//
// The query positions follow the cache: new token i sits at position past + i, so causal masks, sliding
// windows and RoPE (capture `past` in the QkTransform) line up with a full recomputation.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tl/graph.h"
#include "tl/nn/attention.h"
#include "tl/tensor.h"

namespace tl::nn {

struct KvCacheConfig {
  int64_t n_layers = 0, batch = 0, kv_heads = 0, head_dim = 0, capacity = 0;
};

class KvCache {
 public:
  // Throws ValueError naming the field when a size is not positive.
  explicit KvCache(const KvCacheConfig& cfg);

  const KvCacheConfig& config() const { return cfg_; }
  int64_t capacity() const { return cfg_.capacity; }
  // Tokens stored in `layer` (all layers agree after a complete step).
  int64_t length(int layer = 0) const;
  // Views [b, hkv, length, hd] of the stored keys / values (share the cache's storage).
  Tensor keys(int layer) const;
  Tensor values(int layer) const;
  // Appends k, v [b, hkv, n, hd] (any float dtype, any strides). Throws ShapeError naming the tensor on a shape
  // mismatch and ValueError when length + n > capacity ("layer 3: cannot append 4 tokens to 30 of capacity 32"),
  // before anything is written.
  void append(int layer, const Tensor& k, const Tensor& v);
  // Forgets every stored token (capacity and buffers are kept).
  void reset();

  // Graph glue: sets inputs "<prefix>.past_key" / "<prefix>.past_value" to this layer's views (nothing when the
  // layer is empty, matching cached_attention with past = 0).
  void bind(int layer, const std::string& prefix, std::map<std::string, Tensor>& inputs) const;
  // Appends the step's outputs "<prefix>.key_new" / "<prefix>.value_new" to `layer`.
  void append_from(int layer, const std::string& prefix, const std::map<std::string, Tensor>& outputs);

 private:
  void check_layer(int layer) const;
  KvCacheConfig cfg_;
  std::vector<Tensor> k_, v_;  // [b, hkv, capacity, hd] each
  std::vector<int64_t> len_;
};

struct CachedAttention {
  Value out;              // [b, n, d_model]
  Value key_new, value_new;  // [b, hkv, n, hd], also graph outputs "<prefix>.key_new" / ".value_new"
};

// attention_outputs() with the past keys/values as graph inputs "<prefix>.past_key" / "<prefix>.past_value"
// of shape [b, hkv, past, hd] (none when past == 0) and the new keys/values as graph outputs. `opts.past_k`
// and `opts.past_v` must be unset (they are made here).
CachedAttention cached_attention(Graph& g, const AttentionConfig& cfg, Value x, const std::string& prefix,
                                 int64_t past, AttentionOptions opts = {});

}  // namespace tl::nn
