// BERT (BertModel): word + position + token-type embeddings and a LayerNorm, post-LayerNorm encoder layers
// (self-attention with a padding mask, GELU FFN), and the optional pooler tanh(dense(hidden[:, 0])).
// Sentence embeddings (mean pooling + L2 normalisation) are tl::models::sentence_embeddings on this model.
//
// Weights (HF names; a BertFor* checkpoint's "bert." prefix is stripped on load), d = hidden_size,
// f = intermediate_size:
//   embeddings.{word,position,token_type}_embeddings.weight [vocab | max_positions | type_vocab, d]
//   embeddings.LayerNorm.{weight,bias} [d]
//   encoder.layer.<i>.attention.self.{query,key,value}.{weight [d, d], bias [d]}
//   encoder.layer.<i>.attention.output.dense.{weight,bias}   encoder.layer.<i>.attention.output.LayerNorm.*
//   encoder.layer.<i>.intermediate.dense.{weight [f, d], bias}  encoder.layer.<i>.output.dense.{weight [d,
//   f], bias} encoder.layer.<i>.output.LayerNorm.{weight,bias}          pooler.dense.{weight,bias} (when
//   present)
#include <algorithm>

#include "common.h"
#include "tl/error.h"
#include "tl/nn/attention.h"
#include "tl/nn/common.h"
#include "tl/nn/norm.h"
#include "tl/nn/position.h"

namespace tl::models::detail {
namespace {

class Bert final : public Model {
 public:
  Bert(const io::HfConfig& c, bool pooler) : Model(c), pooler_(pooler) {
    vocab_ = c.get_positive_int("vocab_size");
    d_ = c.get_positive_int("hidden_size");
    layers_ = c.get_positive_int("num_hidden_layers");
    heads_ = c.get_positive_int("num_attention_heads");
    d_ff_ = c.get_positive_int("intermediate_size");
    positions_ = c.get_positive_int("max_position_embeddings");
    types_ = c.get_positive_int("type_vocab_size", 2);
    eps_ = float(c.get_double("layer_norm_eps", 1e-12));
    act_ = activation(c, "hidden_act", "gelu");
    if (d_ % heads_ != 0)
      TL_THROW(ValueError, "[bert] ", c.name(), ": \"hidden_size\" = ", d_,
               " is not divisible by \"num_attention_heads\" = ", heads_);
    require_string(c, "bert", "position_embedding_type", {"absolute"}, "absolute");
    require_bool(c, "bert", "is_decoder", false, false, "BERT as a causal decoder");
    require_bool(c, "bert", "add_cross_attention", false, false, "cross-attention layers");
  }
  std::string family() const override { return "bert"; }
  bool can_generate() const override { return false; }

  Graph build_graph(const Batch& bt) const override {
    Graph g("bert");
    const int64_t b = bt.ids.size(0), s = bt.ids.size(1), hd = d_ / heads_;
    Value ids = g.input("ids", DType::i64, {b, s});         // [b, s]
    Value types = g.input("type_ids", DType::i64, {b, s});  // [b, s]
    Value keep = g.input("mask", DType::f32, {b, s});       // [b, s] 1 real, 0 pad
    Value words = g.gather(g.param("embeddings.word_embeddings.weight", {vocab_, d_}), ids, 0);  // [b, s, d]
    Value tt =
        g.gather(g.param("embeddings.token_type_embeddings.weight", {types_, d_}), types, 0);   // [b, s, d]
    Value pos = nn::learned_positions(g, "embeddings.position_embeddings", positions_, d_, s);  // [s, d]
    const nn::NormConfig ln = nn::NormConfig::layer(d_, eps_);
    Value x = nn::norm(g, g.add(g.add(words, tt), pos), "embeddings.LayerNorm", ln);  // [b, s, d]
    nn::SdpaOptions so;
    so.bias = nn::padding_bias(g, keep);  // [b, 1, 1, s]
    // Fused (flash) attention: the [b, h, s, s] scores never exist, which at 32 x 128 tokens is 25 MB per
    // layer; as fast as the plain path here (bench embed), and within the parity tests' tolerances.
    so.impl = nn::AttentionImpl::fused;
    const nn::FfnConfig ffn =
        nn::FfnConfig::plain(d_, d_ff_, act_).set_names("intermediate.dense", "output.dense");
    for (int64_t i = 0; i < layers_; ++i) {
      const std::string l = "encoder.layer." + std::to_string(i);
      Value q =
          split_heads(g, nn::linear(g, x, l + ".attention.self.query", d_, d_), heads_, hd);  // [b, h, s, hd]
      Value k =
          split_heads(g, nn::linear(g, x, l + ".attention.self.key", d_, d_), heads_, hd);  // [b, h, s, hd]
      Value v =
          split_heads(g, nn::linear(g, x, l + ".attention.self.value", d_, d_), heads_, hd);  // [b, h, s, hd]
      Value a =
          nn::linear(g, merge_heads(g, nn::sdpa(g, q, k, v, so).out), l + ".attention.output.dense", d_, d_);
      x = nn::norm(g, g.add(a, x), l + ".attention.output.LayerNorm", ln);            // [b, s, d]
      x = nn::norm(g, g.add(nn::ffn(g, x, l, ffn), x), l + ".output.LayerNorm", ln);  // [b, s, d]
    }
    g.output(x, "hidden");
    if (pooler_) {
      Value cls = g.reshape(g.slice(x, 1, 0, 1), {b, d_});                                     // [b, d]
      g.output(g.unary(UnaryOp::tanh, nn::linear(g, cls, "pooler.dense", d_, d_)), "pooler");  // [b, d]
    }
    return g;
  }

 protected:
  void check_batch(const Batch& b) const override {
    check_ids(b.ids, vocab_, "ids");
    const Shape& s = b.ids.shape();
    if (s[1] > positions_)
      TL_THROW(ShapeError, "[bert] sequence length ", s[1],
               " exceeds \"max_position_embeddings\" = ", positions_);
    if (b.type_ids.defined()) {
      if (b.type_ids.shape() != s)
        TL_THROW(ShapeError, "[bert] type_ids must have the ids' shape ", shape_str(s), ", got ",
                 shape_str(b.type_ids.shape()));
      check_ids(b.type_ids, types_, "type_ids");
    }
    if (b.mask.defined() && b.mask.shape() != s)
      TL_THROW(ShapeError, "[bert] mask must have the ids' shape ", shape_str(s), ", got ",
               shape_str(b.mask.shape()));
    if (b.pixels.defined() || b.decoder_ids.defined())
      TL_THROW(ValueError, "[bert] takes ids, mask and type_ids (no decoder_ids or pixels)");
  }

 private:
  bool pooler_ = true;
  int64_t vocab_ = 0, d_ = 0, layers_ = 0, heads_ = 0, d_ff_ = 0, positions_ = 0, types_ = 0;
  float eps_ = 1e-12f;
  nn::Activation act_ = nn::Activation::gelu_erf;
};

}  // namespace

std::unique_ptr<Model> make_bert(const io::HfConfig& c, const WeightNames& names) {
  // The config does not say whether the checkpoint has a pooler (sentence-transformers exports may drop it).
  const bool pooler =
      names.empty() || std::find(names.begin(), names.end(), "pooler.dense.weight") != names.end();
  return std::make_unique<Bert>(c, pooler);
}

}  // namespace tl::models::detail
