// Transformer layers and stacks (src/nn/layer.cpp, src/nn/stack.cpp), wired from attention (tl/nn/attention.h),
// ffn (tl/nn/ffn.h) and norm (tl/nn/norm.h) with residuals:
//   post-norm (BERT, original Transformer):  x = norm(x + f(x))     for each sublayer f
//   pre-norm  (GPT-2, LLaMA, T5, ViT):       x = x + f(norm(x))
// Encoder layer: self-attention, FFN. Decoder layer: causal self-attention, cross-attention on the encoder
// output (queries from the decoder, keys/values from `memory`; skipped when no memory is given, which makes
// it a GPT-style block), FFN. Checked against torch.nn.TransformerEncoderLayer / TransformerDecoderLayer
// (batch_first, norm_first false and true) with torch's packed in_proj split into q/k/v_proj.
//
// Parameter names are "<prefix>.<names.field>..." (LayerNames); the defaults are Hugging Face BART's
// (self_attn, encoder_attn, self_attn_layer_norm, encoder_attn_layer_norm, final_layer_norm, fc1, fc2), and
// LayerNames::torch() gives torch.nn's (self_attn, multihead_attn, norm1, norm2, norm3, linear1, linear2).
// An empty name puts that sublayer's params directly under the layer prefix.
//
//   auto cfg = nn::LayerConfig::make(512, 8, 2048).set_placement(nn::NormPlacement::pre);
//   Value h = nn::encoder_stack(g, x, "encoder", nn::StackConfig{cfg, 6});   // [b, s, 512]
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "tl/graph.h"
#include "tl/nn/attention.h"
#include "tl/nn/ffn.h"
#include "tl/nn/norm.h"

namespace tl::nn {

struct LayerNames {
  std::string self_attn = "self_attn", cross_attn = "encoder_attn";
  std::string self_norm = "self_attn_layer_norm", cross_norm = "encoder_attn_layer_norm",
              ffn_norm = "final_layer_norm";
  std::string encoder_ffn_norm;  // the FFN norm's name in encoder layers ("" = ffn_norm; torch: norm2)
  std::string ffn;  // the FFN's own param names (FfnConfig in_name/out_name...) are joined below this
  static LayerNames torch();  // torch.nn.Transformer{Encoder,Decoder}Layer (pair with FfnConfig::torch_layer)
};

struct LayerConfig {
  AttentionConfig attn;                  // self-attention; decoder layers force causal = true
  std::optional<AttentionConfig> cross;  // decoder cross-attention; nullopt: attn without causal/window
  FfnConfig ffn;
  NormConfig norm;
  NormPlacement placement = NormPlacement::post;
  LayerNames names;

  // MHA with biases, a plain GELU FFN (fc1/fc2), LayerNorm eps 1e-5, post-norm.
  static LayerConfig make(int64_t d_model, int64_t n_heads, int64_t d_ff);
  LayerConfig& set_attn(AttentionConfig v) { attn = std::move(v); return *this; }
  LayerConfig& set_cross(AttentionConfig v) { cross = std::move(v); return *this; }
  LayerConfig& set_ffn(FfnConfig v) { ffn = std::move(v); return *this; }
  LayerConfig& set_norm(NormConfig v) { norm = std::move(v); return *this; }
  LayerConfig& set_placement(NormPlacement v) { placement = v; return *this; }
  LayerConfig& set_names(LayerNames v) { names = std::move(v); return *this; }

  AttentionConfig cross_config() const;
  // Each part's validate(), plus d_model agreeing between attention, FFN and norm (ValueError naming both).
  void validate() const;
};

// Extra inputs to a layer: additive biases broadcastable to [b, h, sq, sk] (padding_bias, ALiBi, T5 relative
// bias, ...) and a q/k transform (RoPE) for the self-attention.
struct LayerOptions {
  std::optional<Value> self_bias;
  std::optional<Value> cross_bias;  // decoder only
  QkTransform qk_transform;
};

// x: [b, s, d] -> [b, s, d].
Value encoder_layer(Graph& g, Value x, const std::string& prefix, const LayerConfig& c, const LayerOptions& o = {});
// x: [b, s, d], memory: [b, sm, d_mem] (nullopt: no cross-attention) -> [b, s, d].
Value decoder_layer(Graph& g, Value x, std::optional<Value> memory, const std::string& prefix, const LayerConfig& c,
                    const LayerOptions& o = {});

struct StackConfig {
  LayerConfig layer;
  int64_t n_layers = 1;
  std::string layers_name = "layers";  // layer i is "<prefix>.<layers_name>.<i>"
  bool final_norm = false;             // a norm after the last layer (pre-norm stacks; torch's norm=...)
  std::string final_norm_name = "norm";

  StackConfig() = default;
  StackConfig(LayerConfig l, int64_t n) : layer(std::move(l)), n_layers(n) {}
  StackConfig& set_layer(const LayerConfig& v) { layer = v; return *this; }
  StackConfig& set_n_layers(int64_t v) { n_layers = v; return *this; }
  StackConfig& set_layers_name(std::string v) { layers_name = std::move(v); return *this; }
  StackConfig& set_final_norm(bool v, std::string name = "norm") { final_norm = v; final_norm_name = std::move(name); return *this; }
  void validate() const;  // n_layers >= 1, layer.validate()
};

Value encoder_stack(Graph& g, Value x, const std::string& prefix, const StackConfig& c, const LayerOptions& o = {});
Value decoder_stack(Graph& g, Value x, std::optional<Value> memory, const std::string& prefix, const StackConfig& c,
                    const LayerOptions& o = {});

struct EncoderDecoderOutputs {
  Value memory;  // encoder output [b, ss, d]
  Value out;     // decoder output [b, st, d]
};
// torch.nn.Transformer's wiring: memory = encoder_stack("<prefix>.encoder"), out = decoder_stack("<prefix>.decoder").
// enc.self_bias is the source padding bias; dec.cross_bias the memory padding bias.
EncoderDecoderOutputs encoder_decoder(Graph& g, Value src, Value tgt, const std::string& prefix,
                                      const StackConfig& enc, const StackConfig& dec, const LayerOptions& enc_opts = {},
                                      const LayerOptions& dec_opts = {});

}  // namespace tl::nn
