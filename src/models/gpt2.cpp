// GPT-2 (GPT2LMHeadModel): learned absolute positions, pre-LayerNorm decoder, fused QKV projection, GELU
// (tanh) MLP, LM head tied to the token embedding. KV-cache decoding through Model::build_decode_graph
// (positions gathered per row from wpe, the mask as an input). GPT-2 stores its projections as Conv1D, i.e. [in, out]
// (the transpose of nn.Linear), so they are contracted as x W, not x W^T.
//
// Weights (HF names), d = n_embd, f = n_inner (default 4 d):
//   transformer.wte.weight [vocab, d]      transformer.wpe.weight [n_positions, d]
//   transformer.h.<i>.ln_1.{weight,bias} [d]   transformer.h.<i>.ln_2.{weight,bias} [d]
//   transformer.h.<i>.attn.c_attn.weight [d, 3d] (+ bias [3d], q|k|v along the output)
//   transformer.h.<i>.attn.c_proj.weight [d, d] (+ bias)
//   transformer.h.<i>.mlp.c_fc.weight [d, f] (+ bias)   transformer.h.<i>.mlp.c_proj.weight [f, d] (+ bias)
//   transformer.ln_f.{weight,bias} [d]     (logits use wte: no lm_head.weight)
#include <algorithm>
#include <cmath>

#include "common.h"
#include "tl/error.h"
#include "tl/nn/attention.h"
#include "tl/nn/common.h"
#include "tl/nn/norm.h"
#include "tl/nn/position.h"

namespace tl::models::detail {
namespace {

// GPT-2's Conv1D: y = x W + b with W [in, out]. x [..., in] -> [..., out]
Value conv1d(Graph& g, Value x, const std::string& prefix, int64_t in, int64_t out) {
  Value w = g.param(prefix + ".weight", {in, out});  // [in, out]
  Value b = g.param(prefix + ".bias", {out});        // [out]
  return g.add(g.einsum("...i,io->...o", {x, w}), b);
}

class Gpt2 final : public Model {
 public:
  explicit Gpt2(const io::HfConfig& c) : Model(c) {
    vocab_ = c.get_positive_int("vocab_size");
    d_ = c.get_positive_int("n_embd");
    layers_ = c.get_positive_int("n_layer");
    heads_ = c.get_positive_int("n_head");
    positions_ = c.get_positive_int("n_positions");
    d_ff_ = c.opt_int("n_inner").value_or(4 * d_);
    eps_ = float(c.get_double("layer_norm_epsilon", 1e-5));
    act_ = activation(c, "activation_function", "gelu_new");
    if (d_ % heads_ != 0)
      TL_THROW(ValueError, "[gpt2] ", c.name(), ": \"n_embd\" = ", d_,
               " is not divisible by \"n_head\" = ", heads_);
    scale_ = c.get_bool("scale_attn_weights", true) ? 1.0f / std::sqrt(float(d_ / heads_)) : 1.0f;
    require_bool(c, "gpt2", "scale_attn_by_inverse_layer_idx", false, false, "per-layer attention scaling");
    require_bool(c, "gpt2", "add_cross_attention", false, false, "cross-attention layers");
    require_bool(c, "gpt2", "tie_word_embeddings", true, true, "GPT2LMHeadModel ties its head to wte");
  }
  std::string family() const override { return "gpt2"; }
  bool can_generate() const override { return true; }

  Graph build_graph(const Batch& bt) const override { return graph(bt.ids.size(0), bt.ids.size(1), -1); }
  bool has_kv_cache() const override { return true; }
  KvSpec kv_spec() const override {
    KvSpec k;
    for (int64_t i = 0; i < layers_; ++i) k.prefixes.push_back("transformer.h." + std::to_string(i) + ".attn");
    k.kv_heads = heads_;
    k.head_dim = d_ / heads_;
    k.max_positions = positions_;  // the learned table ends there
    return k;
  }
  Graph build_decode_graph(int64_t batch, int64_t n, int64_t past, bool last_logits) const override {
    return graph(batch, n, std::max<int64_t>(past, 0), last_logits);
  }

 private:
  // past < 0: the full forward (causal sdpa). past >= 0: Model::build_decode_graph's step for s new tokens
  // after `past` cached ones (positions, mask and the cached keys/values are inputs).
  Graph graph(int64_t b, int64_t s, int64_t past, bool last_logits = false) const {
    Graph g("gpt2");
    const bool decode = past >= 0;
    const int64_t hd = d_ / heads_;
    Value ids = g.input("ids", DType::i64, {b, s});               // [b, s]
    Value wte = g.param("transformer.wte.weight", {vocab_, d_});  // [vocab, d]
    Value pos = decode ? nn::learned_positions_at(g, "transformer.wpe", positions_, d_,
                                                  g.input("positions", DType::i64, {b, s}))  // [b, s, d]
                       : nn::learned_positions(g, "transformer.wpe", positions_, d_, s);     // [s, d]
    Value x = g.add(g.gather(wte, ids, 0), pos);                                              // [b, s, d]
    const nn::NormConfig ln = nn::NormConfig::layer(d_, eps_);
    const nn::FfnConfig mlp = nn::FfnConfig::plain(d_, d_ff_, act_);
    nn::SdpaOptions so;
    so.causal = !decode;
    so.scale = scale_;
    if (decode) so.bias = g.input("attn_bias", {b, 1, s, past + s});  // [b, 1, s, past + s]
    // Last-column logits (generation's prefill): the last layer needs every column only for its keys/values,
    // so its queries, c_proj and MLP run on the last column (as in llama.cpp; src/models/llama.cpp too).
    const bool last_only = decode && last_logits && s > 1;
    for (int64_t i = 0; i < layers_; ++i) {
      const std::string l = "transformer.h." + std::to_string(i);
      Value h = nn::norm(g, x, l + ".ln_1", ln);                              // [b, s, d]
      Value qkv = conv1d(g, h, l + ".attn.c_attn", d_, 3 * d_);               // [b, s, 3d]
      Value q = split_heads(g, g.slice(qkv, 2, 0, d_), heads_, hd);           // [b, h, s, hd]
      Value k = split_heads(g, g.slice(qkv, 2, d_, 2 * d_), heads_, hd);      // [b, h, s, hd]
      Value v = split_heads(g, g.slice(qkv, 2, 2 * d_, 3 * d_), heads_, hd);  // [b, h, s, hd]
      nn::SdpaOptions sl = so;
      if (decode) {
        g.output(k, l + ".attn.key_new");
        g.output(v, l + ".attn.value_new");
        // Fused: the op reads the cache in place (no per-step concat) and the prefill skips the key tiles the
        // causal bias hides.
        sl.impl = nn::AttentionImpl::fused;
        if (past > 0) {
          sl.past_k = g.input(l + ".attn.past_key", {b, heads_, past, hd});    // [b, h, past, hd]
          sl.past_v = g.input(l + ".attn.past_value", {b, heads_, past, hd});  // [b, h, past, hd]
        }
      }
      if (last_only && i == layers_ - 1) {
        q = g.slice(q, 2, s - 1, s);               // [b, h, 1, hd]
        sl.bias = g.slice(*so.bias, 2, s - 1, s);  // [b, 1, 1, past + s]
        x = g.slice(x, 1, s - 1, s);               // [b, 1, d]
      }
      Value a = merge_heads(g, nn::sdpa(g, q, k, v, sl).out);                              // [b, s | 1, d]
      x = g.add(x, conv1d(g, a, l + ".attn.c_proj", d_, d_));                              // [b, s, d]
      h = nn::norm(g, x, l + ".ln_2", ln);                                                 // [b, s, d]
      Value f = g.unary(nn::unary_of(mlp.act), conv1d(g, h, l + ".mlp.c_fc", d_, d_ff_));  // [b, s, f]
      x = g.add(x, conv1d(g, f, l + ".mlp.c_proj", d_ff_, d_));                            // [b, s, d]
    }
    if (last_logits && s > 1 && !last_only) x = g.slice(x, 1, s - 1, s);  // [b, 1, d]
    Value hidden = nn::norm(g, x, "transformer.ln_f", ln);  // [b, s | 1, d]
    g.output(hidden, "hidden");
    g.output(nn::linear_with(g, hidden, wte), "logits");  // [b, s, vocab]
    return g;
  }

 protected:
  void check_batch(const Batch& b) const override {
    check_ids(b.ids, vocab_, "ids");
    if (b.ids.size(1) > positions_)
      TL_THROW(ShapeError, "[gpt2] sequence length ", b.ids.size(1),
               " exceeds \"n_positions\" = ", positions_);
    if (b.pixels.defined() || b.decoder_ids.defined() || b.type_ids.defined() || b.mask.defined())
      TL_THROW(ValueError, "[gpt2] takes only ids (no mask, type_ids, decoder_ids or pixels)");
  }

 private:
  int64_t vocab_ = 0, d_ = 0, layers_ = 0, heads_ = 0, positions_ = 0, d_ff_ = 0;
  float eps_ = 1e-5f, scale_ = 1.0f;
  nn::Activation act_ = nn::Activation::gelu_tanh;
};

}  // namespace

std::unique_ptr<Model> make_gpt2(const io::HfConfig& c, const WeightNames&) {
  return std::make_unique<Gpt2>(c);
}

}  // namespace tl::models::detail
