// LLaMA and Mistral (LlamaForCausalLM, MistralForCausalLM): RMSNorm pre-norm decoder, RoPE on q/k,
// grouped-query attention (Mistral: a sliding window), SwiGLU MLP, untied or tied LM head. Mixtral reuses the
// graph with its MoE block in place of the MLP (src/models/mixtral.cpp).
//
// Weights (HF names), for L layers, d = hidden_size, hd = head_dim, h / kv = attention / key-value heads:
//   model.embed_tokens.weight [vocab, d]
//   model.layers.<i>.input_layernorm.weight [d]          model.layers.<i>.post_attention_layernorm.weight [d]
//   model.layers.<i>.self_attn.{q,o}_proj.weight [h*hd, d] / [d, h*hd]
//   model.layers.<i>.self_attn.{k,v}_proj.weight [kv*hd, d]   (+ .bias when attention_bias)
//   model.layers.<i>.mlp.{gate,up}_proj.weight [d_ff, d]  model.layers.<i>.mlp.down_proj.weight [d, d_ff]
//   model.norm.weight [d]                                  lm_head.weight [vocab, d] (absent when tied)
#include <algorithm>
#include <optional>

#include "common.h"
#include "tl/error.h"
#include "tl/nn/attention.h"
#include "tl/nn/common.h"
#include "tl/nn/kv_cache.h"
#include "tl/nn/norm.h"

namespace tl::models::detail {

namespace {

nn::RopeConfig rope_from_config(const io::HfConfig& c, const std::string& family, int64_t head_dim) {
  nn::RopeConfig r;
  r.set_head_dim(head_dim).set_theta(c.get_double("rope_theta", 10000.0));
  r.set_max_position_embeddings(c.get_positive_int("max_position_embeddings", 2048));
  const double partial = c.get_double("partial_rotary_factor", 1.0);
  if (partial != 1.0)
    TL_THROW(ValueError, "[", family, "] ", c.name(), ": \"partial_rotary_factor\" = ", partial,
             " is not supported (", family, " rotates the whole head); expected 1.0");
  const std::optional<io::HfConfig> s = c.opt_object("rope_scaling");
  if (!s) return r;
  std::string type = s->get_string("rope_type", s->get_string("type", "default"));
  if (type == "default") return r;
  const double factor = s->get_double("factor", 1.0);
  if (type == "linear") {
    r.set_scaling(nn::RopeScaling::linear, factor);
  } else if (type == "dynamic") {
    r.set_scaling(nn::RopeScaling::dynamic, factor);
  } else if (type == "llama3") {
    r.set_scaling(nn::RopeScaling::llama3, factor);
    r.set_original_max_position_embeddings(s->get_positive_int("original_max_position_embeddings"));
    r.set_llama3_freq_factors(s->get_double("low_freq_factor"), s->get_double("high_freq_factor"));
  } else if (type == "yarn") {
    r.set_scaling(nn::RopeScaling::yarn, factor);
    if (auto o = s->opt_int("original_max_position_embeddings")) r.set_original_max_position_embeddings(*o);
    if (auto a = s->opt_double("attention_factor")) r.set_attention_factor(*a);
    r.set_beta(s->get_double("beta_fast", 32.0), s->get_double("beta_slow", 1.0));
    r.set_mscale(s->get_double("mscale", 0.0), s->get_double("mscale_all_dim", 0.0));
    r.set_truncate(s->get_bool("truncate", true));
  } else {
    TL_THROW(ValueError, "[", family, "] ", c.name(), ": \"rope_scaling\" type \"", type,
             "\" is not supported (supported: default, linear, dynamic, yarn, llama3)");
  }
  r.validate();
  return r;
}

}  // namespace

LlamaParams llama_params(const io::HfConfig& c, const std::string& family) {
  LlamaParams p;
  p.family = family;
  p.vocab = c.get_positive_int("vocab_size");
  p.d_model = c.get_positive_int("hidden_size");
  p.n_layers = c.get_positive_int("num_hidden_layers");
  p.n_heads = c.get_positive_int("num_attention_heads");
  p.n_kv_heads = c.get_positive_int("num_key_value_heads", p.n_heads);
  p.head_dim = c.get_positive_int("head_dim", p.d_model / p.n_heads);
  p.d_ff = c.get_positive_int("intermediate_size");
  p.eps = float(c.get_double("rms_norm_eps", 1e-6));
  p.act = activation(c, "hidden_act", "silu");
  p.attn_bias = c.get_bool("attention_bias", false);
  p.mlp_bias = c.get_bool("mlp_bias", false);
  p.tied = c.get_bool("tie_word_embeddings", false);
  p.rope = rope_from_config(c, family, p.head_dim);
  if (family == "llama") {
    require_absent(c, family, "sliding_window", "LLaMA attends to every earlier token");
  } else if (auto w = c.opt_int("sliding_window")) {
    if (*w <= 0)
      TL_THROW(ValueError, "[", family, "] ", c.name(), ": \"sliding_window\" must be positive or null, got ",
               *w);
    p.window = *w;
  }
  if (p.n_heads % p.n_kv_heads != 0)
    TL_THROW(ValueError, "[", family, "] ", c.name(), ": \"num_attention_heads\" = ", p.n_heads,
             " is not a multiple of \"num_key_value_heads\" = ", p.n_kv_heads);
  return p;
}

void check_llama_batch(const LlamaParams& p, const Batch& b) {
  if (b.pixels.defined() || b.decoder_ids.defined() || b.type_ids.defined() || b.mask.defined())
    TL_THROW(ValueError, "[", p.family, "] takes only ids (no mask, type_ids, decoder_ids or pixels)");
}

Graph llama_graph(const LlamaParams& p, const Batch& b, const MlpBuilder& mlp, int64_t past, bool decode,
                  bool last_logits) {
  Graph g(p.family);
  const int64_t batch = b.ids.size(0), seq = b.ids.size(1), d = p.d_model;
  Value ids = g.input("ids", DType::i64, {batch, seq});              // [b, s]
  Value embed = g.param("model.embed_tokens.weight", {p.vocab, d});  // [vocab, d]
  Value x = g.gather(embed, ids, 0);                                 // [b, s, d]

  nn::AttentionConfig ac;
  ac.with_d_model(d)
      .with_heads(p.n_heads, p.n_kv_heads)
      .with_head_dim(p.head_dim)
      .with_bias(p.attn_bias)
      .with_causal(true)
      .with_window(p.window);
  nn::AttentionOptions ao;
  const nn::RopeConfig rope = p.rope;
  const int64_t offset = std::max<int64_t>(past, 0);               // position of the first new token
  ao.qk_transform = [rope, offset](Graph& gg, Value q, Value k) {  // q [b, h, s, hd], k [b, kv, s, hd]
    return std::pair<Value, Value>{nn::rope(gg, q, rope, offset), nn::rope(gg, k, rope, offset)};
  };
  std::optional<Value> cos, sin;
  if (decode) {  // Model::build_decode_graph: per-row positions and the whole mask come in as inputs
    // Fused: the flash kernel reads the KV cache in place (no concat per step) and, in the prefill, skips the
    // key tiles the causal bias hides (about half the attention work at 512 tokens).
    ac.with_impl(nn::AttentionImpl::fused);
    const int64_t half = rope.rot() / 2;
    cos = g.input("rope_cos", {batch, 1, seq, half});  // [b, 1, s, rot/2]
    sin = g.input("rope_sin", {batch, 1, seq, half});  // [b, 1, s, rot/2]
    ao.qk_transform = [rope, c = *cos, s = *sin](Graph& gg, Value q, Value k) {
      return std::pair<Value, Value>{nn::rope_apply(gg, q, c, s, rope), nn::rope_apply(gg, k, c, s, rope)};
    };
    ao.bias = g.input("attn_bias", {batch, 1, seq, offset + seq});  // [b, 1, s, past + s]
    ac.with_causal(false).with_window(0);
  }
  // A decode graph that returns the last column's logits only (generation's prefill) needs all columns of the
  // last layer only for its keys/values (the cache): its queries, attention output, o_proj and MLP run on the
  // last column (one layer's products less per column but k/v: ~7% of a 12-layer prefill; llama.cpp does the
  // same). The rows computed are the same rows, so only GEMM blocking can move a result.
  const bool last_only = decode && last_logits && seq > 1;
  auto last_col = [&](Value v, int axis) { return g.slice(v, axis, seq - 1, seq); };
  const nn::NormConfig rms = nn::NormConfig::rms(d, p.eps);
  for (int64_t i = 0; i < p.n_layers; ++i) {
    const std::string l = "model.layers." + std::to_string(i);
    Value h = nn::norm(g, x, l + ".input_layernorm", rms);  // [b, s, d]
    Value a;
    if (last_only && i == p.n_layers - 1) {
      nn::AttentionOptions lo = ao;
      lo.kv_source = h;                  // keys/values from every column
      lo.bias = last_col(*ao.bias, 2);   // [b, 1, 1, past + s]
      lo.qk_transform = [rope, c = *cos, s = *sin, cl = last_col(*cos, 2), sl = last_col(*sin, 2)](
                            Graph& gg, Value q, Value k) {  // q [b, h, 1, hd], k [b, hkv, s, hd]
        return std::pair<Value, Value>{nn::rope_apply(gg, q, cl, sl, rope), nn::rope_apply(gg, k, c, s, rope)};
      };
      x = last_col(x, 1);                                                               // [b, 1, d]
      a = nn::cached_attention(g, ac, last_col(h, 1), l + ".self_attn", past, lo).out;  // [b, 1, d]
    } else {
      a = past < 0 ? nn::attention(g, ac, h, l + ".self_attn", ao)
                   : nn::cached_attention(g, ac, h, l + ".self_attn", past, ao).out;  // [b, s, d]
    }
    x = g.add(x, a);                                           // [b, s | 1, d]
    h = nn::norm(g, x, l + ".post_attention_layernorm", rms);  // [b, s | 1, d]
    x = g.add(x, mlp(g, h, l));                                // [b, s | 1, d]
  }
  if (last_logits && seq > 1 && !last_only) x = last_col(x, 1);  // [b, 1, d]
  Value hidden = nn::norm(g, x, "model.norm", rms);                       // [b, s | 1, d]
  Value head = p.tied ? embed : g.param("lm_head.weight", {p.vocab, d});  // [vocab, d]
  Value logits = nn::linear_with(g, hidden, head);                        // [b, s, vocab]
  g.output(hidden, "hidden");
  g.output(logits, "logits");
  return g;
}

Model::KvSpec llama_kv_spec(const LlamaParams& p) {
  Model::KvSpec k;
  for (int64_t i = 0; i < p.n_layers; ++i)
    k.prefixes.push_back("model.layers." + std::to_string(i) + ".self_attn");
  k.kv_heads = p.n_kv_heads;
  k.head_dim = p.head_dim;
  k.window = p.window;
  k.max_positions = p.rope.max_position_embeddings;
  k.rope = p.rope;
  return k;
}

namespace {

class Llama final : public Model {
 public:
  explicit Llama(const io::HfConfig& c)
      : Model(c),
        p_(llama_params(c, c.get_string("model_type"))),
        ffn_(nn::FfnConfig::llama(p_.d_model, p_.d_ff).set_act(p_.act).set_bias(p_.mlp_bias)) {}
  std::string family() const override { return p_.family; }
  bool can_generate() const override { return true; }
  Graph build_graph(const Batch& b) const override { return build_step_graph(b, -1); }
  bool has_kv_cache() const override { return true; }
  KvSpec kv_spec() const override { return llama_kv_spec(p_); }
  Graph build_step_graph(const Batch& b, int64_t past) const override {
    return llama_graph(
        p_, b, [this](Graph& g, Value x, const std::string& l) { return nn::ffn(g, x, l + ".mlp", ffn_); },
        past);
  }
  Graph build_decode_graph(int64_t batch, int64_t n, int64_t past, bool last_logits) const override {
    Batch b;
    b.ids = Tensor::zeros({batch, n}, DType::i64);  // only its shape is read
    return llama_graph(
        p_, b, [this](Graph& g, Value x, const std::string& l) { return nn::ffn(g, x, l + ".mlp", ffn_); },
        past, /*decode=*/true, last_logits);
  }

 protected:
  void check_batch(const Batch& b) const override {
    check_ids(b.ids, p_.vocab, "ids");
    check_llama_batch(p_, b);
  }

 private:
  LlamaParams p_;
  nn::FfnConfig ffn_;
};

}  // namespace

std::unique_ptr<Model> make_llama(const io::HfConfig& c, const WeightNames&) {
  return std::make_unique<Llama>(c);
}

}  // namespace tl::models::detail
