// T5 (T5ForConditionalGeneration, v1.0 and the v1.1 gated-GELU variant): RMS "T5LayerNorm" pre-norm blocks,
// attention without 1/sqrt(d) scaling and with a bucketed relative position bias (one table per stack, owned
// by block 0 and shared by all its layers), encoder padding mask, causal decoder self-attention,
// cross-attention to the encoder output, ReLU or gated-GELU FFN, and an LM head (tied heads rescale the
// decoder output by d_model^-0.5 first, as HF does).
//
// Weights (HF names), d = d_model, hd = d_kv, h = num_heads, f = d_ff, <s> = encoder | decoder:
//   shared.weight [vocab, d]      lm_head.weight [vocab, d] (absent when tied)
//   <s>.block.0.layer.0.SelfAttention.relative_attention_bias.weight [buckets, h]
//   <s>.block.<i>.layer.0.SelfAttention.{q,k,v}.weight [h*hd, d], .o.weight [d, h*hd];
//   .layer.0.layer_norm.weight decoder.block.<i>.layer.1.EncDecAttention.{q,k,v,o}.weight (as above);
//   .layer.1.layer_norm.weight <s>.block.<i>.layer.<last>.DenseReluDense.{wi_0,wi_1 [f, d] | wi [f, d]},
//   .wo.weight [d, f]; .layer_norm <s>.final_layer_norm.weight [d]
#include <cmath>

#include "common.h"
#include "tl/error.h"
#include "tl/nn/attention.h"
#include "tl/nn/common.h"
#include "tl/nn/norm.h"
#include "tl/nn/position.h"

namespace tl::models::detail {
namespace {

class T5 final : public Model {
 public:
  explicit T5(const io::HfConfig& c) : Model(c) {
    vocab_ = c.get_positive_int("vocab_size");
    d_ = c.get_positive_int("d_model");
    hd_ = c.get_positive_int("d_kv");
    heads_ = c.get_positive_int("num_heads");
    d_ff_ = c.get_positive_int("d_ff");
    enc_layers_ = c.get_positive_int("num_layers");
    dec_layers_ = c.get_positive_int("num_decoder_layers", enc_layers_);
    eps_ = float(c.get_double("layer_norm_epsilon", 1e-6));
    tied_ = c.get_bool("tie_word_embeddings", true);
    rel_.set_n_heads(heads_)
        .set_num_buckets(c.get_positive_int("relative_attention_num_buckets", 32))
        .set_max_distance(c.get_positive_int("relative_attention_max_distance", 128));
    rel_.validate();
    // feed_forward_proj: "<act>" or "gated-<act>"; HF maps "gated-gelu" to gelu_new (tanh GELU).
    const std::string ff = c.get_string("feed_forward_proj", "relu");
    const bool gated = ff.rfind("gated-", 0) == 0;
    const std::string act_name = gated ? ff.substr(6) : ff;
    nn::Activation act;
    if (act_name == "gelu" && gated)
      act = nn::Activation::gelu_tanh;
    else if (act_name == "relu")
      act = nn::Activation::relu;
    else if (act_name == "gelu")
      act = nn::Activation::gelu_erf;
    else if (act_name == "silu")
      act = nn::Activation::silu;
    else
      TL_THROW(ValueError, "[t5] ", c.name(), ": \"feed_forward_proj\" = \"", ff,
               "\" is not supported (supported: relu, gelu, silu, gated-gelu, gated-relu, gated-silu)");
    ffn_ =
        gated ? nn::FfnConfig::t5_gated(d_, d_ff_).set_act(act) : nn::FfnConfig::t5(d_, d_ff_).set_act(act);
  }
  std::string family() const override { return "t5"; }
  bool can_generate() const override { return true; }

  Graph build_graph(const Batch& bt) const override {
    return graph(bt.ids.size(0), bt.ids.size(1), bt.decoder_ids.size(1), Mode::full, 0);
  }
  bool is_encoder_decoder() const override { return true; }
  Graph build_encoder_graph(int64_t b, int64_t s) const override { return graph(b, s, 0, Mode::encoder, 0); }
  Graph build_decoder_step_graph(int64_t b, int64_t s, int64_t n, int64_t past) const override {
    return graph(b, s, n, Mode::step, past);
  }
  KvSpec kv_spec() const override {
    KvSpec k;
    for (int64_t i = 0; i < dec_layers_; ++i)
      k.prefixes.push_back("decoder.block." + std::to_string(i) + ".layer.0.SelfAttention");
    k.kv_heads = heads_;
    k.head_dim = hd_;
    return k;
  }

 private:
  enum class Mode { full, encoder, step };
  // full: encoder + decoder (build_graph). encoder: the encoder alone, output "encoder_hidden". step: the
  // decoder for t new tokens after `past` cached self-attention keys/values, the encoder output an input.
  Graph graph(int64_t b, int64_t s, int64_t t, Mode mode, int64_t past) const {
    Graph g("t5");
    Value keep = g.input("mask", DType::f32, {b, s});            // [b, s]
    Value shared = g.param("shared.weight", {vocab_, d_});       // [vocab, d]
    Value pad = nn::padding_bias(g, keep);                       // [b, 1, 1, s]
    const nn::NormConfig rms = nn::NormConfig::rms(d_, eps_);

    Value enc;  // [b, s, d]
    if (mode == Mode::step) {
      enc = g.input("encoder_hidden", {b, s, d_});
    } else {
      Value ids = g.input("ids", DType::i64, {b, s});  // [b, s]
      Value x = g.gather(shared, ids, 0);              // [b, s, d]
      nn::RelativeBiasConfig enc_rel = rel_;
      enc_rel.set_bidirectional(true);
      Value enc_bias =
          g.add(nn::t5_relative_bias(g, "encoder.block.0.layer.0.SelfAttention.relative_attention_bias",
                                     enc_rel, s, s),
                pad);  // [b, h, s, s]
      for (int64_t i = 0; i < enc_layers_; ++i) {
        const std::string l = "encoder.block." + std::to_string(i) + ".layer.";
        Value h = nn::norm(g, x, l + "0.layer_norm", rms);
        x = g.add(x, attend(g, h, h, l + "0.SelfAttention", enc_bias, false));
        x = g.add(x, nn::ffn(g, nn::norm(g, x, l + "1.layer_norm", rms), l + "1.DenseReluDense", ffn_));
      }
      enc = nn::norm(g, x, "encoder.final_layer_norm", rms);  // [b, s, d]
      g.output(enc, "encoder_hidden");
      if (mode == Mode::encoder) return g;
    }

    // Decoder.
    Value dec_ids = g.input("decoder_ids", DType::i64, {b, t});  // [b, t]
    Value y = g.gather(shared, dec_ids, 0);                      // [b, t, d]
    nn::RelativeBiasConfig dec_rel = rel_;
    dec_rel.set_bidirectional(false);
    Value dec_bias = nn::t5_relative_bias(g, "decoder.block.0.layer.0.SelfAttention.relative_attention_bias",
                                          dec_rel, t, past + t, past);  // [1, h, t, past + t]
    for (int64_t i = 0; i < dec_layers_; ++i) {
      const std::string l = "decoder.block." + std::to_string(i) + ".layer.";
      Value h = nn::norm(g, y, l + "0.layer_norm", rms);
      y = g.add(y, attend(g, h, h, l + "0.SelfAttention", dec_bias, true, mode == Mode::step ? past : -1));
      h = nn::norm(g, y, l + "1.layer_norm", rms);
      y = g.add(y, attend(g, h, enc, l + "1.EncDecAttention", pad, false));
      y = g.add(y, nn::ffn(g, nn::norm(g, y, l + "2.layer_norm", rms), l + "2.DenseReluDense", ffn_));
    }
    Value hidden = nn::norm(g, y, "decoder.final_layer_norm", rms);  // [b, t, d]
    g.output(hidden, "hidden");
    Value head = shared;
    Value z = hidden;
    if (tied_) {
      z = g.mul(hidden, g.constant(Tensor::scalar(float(1.0 / std::sqrt(double(d_))))));
    } else {
      head = g.param("lm_head.weight", {vocab_, d_});  // [vocab, d]
    }
    g.output(nn::linear_with(g, z, head), "logits");  // [b, t, vocab]
    return g;
  }

 protected:
  Batch example_batch() const override {
    Batch b;
    b.ids = Tensor::zeros({1, 1}, DType::i64);
    b.decoder_ids = Tensor::zeros({1, 1}, DType::i64);
    return b;
  }
  void check_batch(const Batch& b) const override {
    check_ids(b.ids, vocab_, "ids");
    check_ids(b.decoder_ids, vocab_, "decoder_ids");
    if (b.decoder_ids.size(0) != b.ids.size(0))
      TL_THROW(ShapeError, "[t5] decoder_ids batch ", b.decoder_ids.size(0), " differs from the ids' batch ",
               b.ids.size(0));
    if (b.mask.defined() && b.mask.shape() != b.ids.shape())
      TL_THROW(ShapeError, "[t5] mask must have the ids' shape ", shape_str(b.ids.shape()), ", got ",
               shape_str(b.mask.shape()));
    if (b.pixels.defined() || b.type_ids.defined())
      TL_THROW(ValueError, "[t5] takes ids, mask and decoder_ids (no type_ids or pixels)");
  }

 private:
  // T5Attention: q from x [b, sq, d], k/v from src [b, sk, d], no biases, no score scaling; bias [.., sq,
  // sk].
  // past >= 0 (decoder self-attention in a step graph): the new keys/values are outputs "<p>.key_new" /
  // ".value_new" and, when past > 0, follow the inputs "<p>.past_key" / ".past_value" [b, h, past, hd].
  Value attend(Graph& g, Value x, Value src, const std::string& p, Value bias, bool causal,
               int64_t past = -1) const {
    const int64_t inner = heads_ * hd_;
    Value q = split_heads(g, nn::linear(g, x, p + ".q", d_, inner, false), heads_, hd_);    // [b, h, sq, hd]
    Value k = split_heads(g, nn::linear(g, src, p + ".k", d_, inner, false), heads_, hd_);  // [b, h, sk, hd]
    Value v = split_heads(g, nn::linear(g, src, p + ".v", d_, inner, false), heads_, hd_);  // [b, h, sk, hd]
    if (past >= 0) {
      g.output(k, p + ".key_new");
      g.output(v, p + ".value_new");
      if (past > 0) {
        const int64_t b = g.shape(x)[0];
        k = g.concat({g.input(p + ".past_key", {b, heads_, past, hd_}), k}, 2);    // [b, h, past + sq, hd]
        v = g.concat({g.input(p + ".past_value", {b, heads_, past, hd_}), v}, 2);  // [b, h, past + sq, hd]
      }
    }
    nn::SdpaOptions so;
    so.scale = 1.0f;
    so.causal = causal;
    so.bias = bias;
    Value o = merge_heads(g, nn::sdpa(g, q, k, v, so).out);  // [b, sq, h*hd]
    return nn::linear(g, o, p + ".o", inner, d_, false);     // [b, sq, d]
  }

  int64_t vocab_ = 0, d_ = 0, hd_ = 0, heads_ = 0, d_ff_ = 0, enc_layers_ = 0, dec_layers_ = 0;
  float eps_ = 1e-6f;
  bool tied_ = true;
  nn::RelativeBiasConfig rel_;
  nn::FfnConfig ffn_;
};

}  // namespace

std::unique_ptr<Model> make_t5(const io::HfConfig& c, const WeightNames&) {
  return std::make_unique<T5>(c);
}

}  // namespace tl::models::detail
