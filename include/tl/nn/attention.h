// Attention: scaled dot-product attention (SDPA) on [batch, heads, seq, head_dim] tensors, and the multi-head /
// grouped-query / multi-query attention block with Q/K/V/O projections around it (docs/attention.md).
//
// Two levels, so callers can rotate q/k (RoPE) or feed a KV cache between them:
//   sdpa(g, q, k, v, opts)            q [b,h,sq,d], k [b,hkv,sk,d], v [b,hkv,sk,dv] -> [b,h,sq,dv]
//   attention(g, cfg, x, prefix, o)   x [b,s,d_model] -> [b,s,d_model], params "<prefix>.{q,k,v,o}_proj.weight/.bias"
//
// Semantics shared by both implementations (plain einsum + softmax graph, and the fused flash `attention` op):
// - Query i sits at position p_i = sk - sq + i (so a decode step with sq = 1 after a cache of sk - 1 works).
// - causal: key j is visible iff j <= p_i. window w > 0: key j is visible iff p_i - j < w (and, when not causal,
//   j - p_i < w too). The causal mask is emitted whenever causal is set.
// - bias: additive (log-space) tensor broadcastable to [b, h, sq, sk]; -inf hides a key exactly.
// - GQA/MQA: head h reads kv head h / (h / hkv), as Hugging Face's repeat_kv does.
// - A query row with every key hidden gives zeros (never NaN), as tl::kernels::softmax does.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tl/graph.h"
#include "tl/kernels.h"
#include "tl/logic.h"

namespace tl::nn {

enum class AttentionImpl {
  plain,  // einsum, scaled masked softmax, einsum: every intermediate visible; weights can be returned
  fused,  // one `attention` op: the tiled flash kernel (online softmax, masked blocks skipped)
};

// Sparse patterns (tl::AttentionPattern / tl::AttentionSparse, declared with the kernel in include/tl/kernels.h
// so the IR op, the flash kernel and this builder share one definition).
using SparsePattern = tl::AttentionPattern;
using SparseSpec = tl::AttentionSparse;

// Dropout on the attention weights. There is no RNG op in the IR, so in training mode the graph takes the keep
// mask as an input named "<prefix>.attn_dropout_keep" of shape [b, h, sq, sk] holding 0 or 1/(1-p); the caller
// draws it (dropout_keep_mask below). Inference (training = false) adds nothing.
struct DropoutSpec {
  float p = 0.0f;
  bool training = false;
  std::string input_name = "attn_dropout_keep";  // joined to the prefix
};

struct SdpaOptions {
  std::optional<float> scale;    // default 1/sqrt(head_dim)
  bool causal = false;
  int64_t window = 0;            // 0: none
  std::optional<Value> bias;     // additive, broadcastable to [b, h, sq, sk]
  SparseSpec sparse;             // fused only (the plain path builds the same mask densely)
  AttentionImpl impl = AttentionImpl::plain;
  bool return_weights = false;   // plain only: the softmax weights [b, h, sq, sk]
  DropoutSpec dropout;           // plain only
  std::string prefix;            // names the dropout input
  // Cached keys/values [b, hkv, sp, d|dv] before k/v (both or neither). Fused: the op reads them in place
  // (AttentionAttrs::past); plain: concatenated on the sequence axis first.
  std::optional<Value> past_k, past_v;
};

struct SdpaResult {
  Value out;                     // [b, h, sq, dv]
  std::optional<Value> weights;  // [b, h, sq, sk] when return_weights
};

// Throws ShapeError naming the operand, the expected and the actual shape.
SdpaResult sdpa(Graph& g, Value q, Value k, Value v, const SdpaOptions& opts = {});

struct AttentionConfig {
  int64_t d_model = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;  // 0: = n_heads (MHA); 1: MQA; else GQA (must divide n_heads)
  int64_t head_dim = 0;    // 0: d_model / n_heads
  int64_t kv_in = 0;       // in-features of k_proj/v_proj (cross-attention source width); 0: d_model
  bool q_bias = true, k_bias = true, v_bias = true, o_bias = true;
  bool causal = false;
  int64_t window = 0;
  std::optional<float> scale;  // default 1/sqrt(head_dim)
  AttentionImpl impl = AttentionImpl::plain;
  float dropout = 0.0f;
  bool training = false;

  AttentionConfig& with_d_model(int64_t v) { d_model = v; return *this; }
  AttentionConfig& with_heads(int64_t h, int64_t kv = 0) { n_heads = h; n_kv_heads = kv; return *this; }
  AttentionConfig& with_head_dim(int64_t v) { head_dim = v; return *this; }
  AttentionConfig& with_kv_in(int64_t v) { kv_in = v; return *this; }
  AttentionConfig& with_bias(bool q, bool k, bool v, bool o) { q_bias = q; k_bias = k; v_bias = v; o_bias = o; return *this; }
  AttentionConfig& with_bias(bool all) { return with_bias(all, all, all, all); }
  AttentionConfig& with_causal(bool v = true) { causal = v; return *this; }
  AttentionConfig& with_window(int64_t v) { window = v; return *this; }
  AttentionConfig& with_scale(float v) { scale = v; return *this; }
  AttentionConfig& with_impl(AttentionImpl v) { impl = v; return *this; }
  AttentionConfig& with_dropout(float p, bool train) { dropout = p; training = train; return *this; }

  // Throws ValueError naming the field, e.g. "[attention] d_model = 10 is not divisible by n_heads = 4".
  void validate() const;
  int64_t kv_heads() const { return n_kv_heads > 0 ? n_kv_heads : n_heads; }
  int64_t hd() const { return head_dim > 0 ? head_dim : (n_heads > 0 ? d_model / n_heads : 0); }
  int64_t kv_in_features() const { return kv_in > 0 ? kv_in : d_model; }
  float scale_value() const;
};

// Rotates q [b,h,s,hd] and k [b,hkv,s,hd] (e.g. RoPE from include/tl/nn/position.h); returns the new pair.
using QkTransform = std::function<std::pair<Value, Value>(Graph& g, Value q, Value k)>;

// ---- Rule-steered attention (src/nn/rule_attention.cpp) ----------------------------------------------------
// A Datalog program (the .tl rule syntax, include/tl/logic.h) defines head(i, j): "query i may attend key j".
// Positions are the symbols p0 .. p{n-1}; relations over positions come in as tensors ([n] or [n, n], nonzero =
// true) and any other facts as tuples. Built-in position relations: Pos(i), Le(a, b) (a <= b), Lt(a, b)
// (a < b), Succ(a, b) (b = a + 1); comparisons `a <= b`, `a < b`, `a >= b`, `a > b` between variables in a rule
// body are rewritten to them. Example: "Attend(i, j) :- SameSentence(i, j), j <= i."
struct AttentionRule {
  std::string program;
  std::string head = "Attend";
  std::map<std::string, Tensor> relations;               // over positions
  std::map<std::string, std::vector<logic::Tuple>> facts;  // over any symbols (positions are "p<k>")
};
// Evaluates the rules to a fixpoint; returns head as bool [n, n]. ParseError / ValueError from the logic
// compiler name the rule; ShapeError names a relation tensor of the wrong shape.
Tensor rule_relation(const AttentionRule& rule, int64_t n);

enum class RuleMode {
  hard,   // additive 0 / -inf: pairs the rule rejects get exactly zero weight
  soft,   // additive -strength * (1 - rel): rejected pairs' unnormalised weights scaled by exp(-strength)
  gated,  // out = g * attention(hard rule) + (1 - g) * attention(content only), g fixed or learned per head
};
struct RuleAttention {
  RuleMode mode = RuleMode::hard;
  float strength = 4.0f;            // soft
  float gate = 0.5f;                // gated, fixed
  bool learned_gate = false;        // gated: g = sigmoid(param "<prefix>.rule_gate" [h])
};
// The additive bias [sq, sk] (queries at positions sk - sq + i) from relation [sk, sk] (bool or [0, 1]).
Tensor rule_bias(const Tensor& relation, RuleMode mode, float strength, int64_t sq);
// sdpa with the rule applied as `rule` says; opts.bias (if any) is added too. Gated with return_weights gives
// the mixed weights g * w_rule + (1 - g) * w_content.
SdpaResult rule_sdpa(Graph& g, Value q, Value k, Value v, const SdpaOptions& opts, const Tensor& relation,
                     const RuleAttention& rule);

struct AttentionOptions {
  std::optional<Value> kv_source;   // [b, sk, kv_in]: cross-attention keys/values come from here (default x)
  std::optional<Value> bias;        // additive [b|1, h|1, sq, sk] (e.g. padding_bias, ALiBi, a rule bias)
  QkTransform qk_transform;         // applied to the new q and k before the cache concat
  // KV cache (include/tl/nn/kv_cache.h): keys/values of earlier positions, [b, hkv, past, hd]; the new ones
  // are appended after them (concat on the sequence axis). Both or neither.
  std::optional<Value> past_k, past_v;
  bool return_weights = false;      // plain impl only
  SparseSpec sparse;                // fused impl (plain builds it densely)
  std::optional<Tensor> rule;       // relation [sk, sk] from rule_relation: steers attention as rule_mode says
  RuleAttention rule_mode;
};

struct AttentionOutputs {
  Value out;                     // [b, sq, d_model]
  std::optional<Value> weights;  // [b, h, sq, sk]
  Value k, v;                    // the new (rotated) keys / values [b, hkv, sq, hd], for a KV cache
};

AttentionOutputs attention_outputs(Graph& g, const AttentionConfig& cfg, Value x, const std::string& prefix,
                                   const AttentionOptions& opts = {});
inline Value attention(Graph& g, const AttentionConfig& cfg, Value x, const std::string& prefix,
                       const AttentionOptions& opts = {}) {
  return attention_outputs(g, cfg, x, prefix, opts).out;
}

// Padding: keep [b, sk] (bool, or numbers where nonzero = keep) -> additive bias [b, 1, 1, sk] holding 0 for
// kept keys and -inf for padded ones.
Value padding_bias(Graph& g, Value keep);
// The dense additive mask [sq, sk] (0 or -inf) for causal / window / sparse, as both implementations define it.
Tensor attention_mask_tensor(int64_t sq, int64_t sk, bool causal, int64_t window, const SparseSpec& sparse = {});
// A dropout keep mask: each entry 1/(1-p) with probability 1-p, else 0 (deterministic for a seed).
Tensor dropout_keep_mask(const Shape& shape, float p, uint64_t seed);

}  // namespace tl::nn
