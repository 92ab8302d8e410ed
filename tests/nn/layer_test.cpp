// Encoder/decoder layers and stacks against torch.nn.TransformerEncoderLayer / TransformerDecoderLayer /
// TransformerEncoder / Transformer (batch_first, dropout 0, norm_first false and true), weights mapped over.
#include <gtest/gtest.h>

#include "layer_test_util.h"
#include "tl/error.h"
#include "tl/nn/layer.h"
#include "tl/nn/position.h"

namespace tl::nn {
namespace {

using testing::expect_close;
using testing::load_case;
using testing::run_case;

LayerConfig torch_layer(bool pre) {
  return LayerConfig::make(12, 3, 20)
      .set_ffn(FfnConfig::torch_layer(12, 20, pre ? Activation::gelu_erf : Activation::relu))
      .set_names(LayerNames::torch())
      .set_placement(pre ? NormPlacement::pre : NormPlacement::post);
}

// fp32 both sides; two attention + FFN products and two norms per layer: 1e-5 relative (to max(1, |want|)).
constexpr double kTol = 1e-5;

TEST(NnLayer, EncoderLayerMatchesTorch) {
  for (bool pre : {false, true}) {
    const std::string name = pre ? "layer_enc_pre" : "layer_enc_post";
    auto t = load_case(name);
    for (bool pad : {false, true}) {
      Graph g;
      Value x = g.input("x", t.at("x").shape());  // [2, 5, 12]
      LayerOptions o;
      if (pad) o.self_bias = padding_bias(g, g.input("keep", t.at("keep").shape()));  // [2, 1, 1, 5]
      g.output(encoder_layer(g, x, "layer", torch_layer(pre), o), "y");
      expect_close(run_case(g, t).at("y"), t.at(pad ? "expected_pad" : "expected"), kTol, name + (pad ? " padded" : ""));
    }
  }
}

TEST(NnLayer, DecoderLayerMatchesTorch) {
  for (bool pre : {false, true}) {
    const std::string name = pre ? "layer_dec_pre" : "layer_dec_post";
    auto t = load_case(name);
    for (bool pad : {false, true}) {
      Graph g;
      Value x = g.input("x", t.at("x").shape());              // [2, 6, 12]
      Value mem = g.input("memory", t.at("memory").shape());  // [2, 7, 12]
      LayerOptions o;
      if (pad) o.cross_bias = padding_bias(g, g.input("memory_keep", t.at("memory_keep").shape()));  // [2, 1, 1, 7]
      g.output(decoder_layer(g, x, mem, "layer", torch_layer(pre), o), "y");
      expect_close(run_case(g, t).at("y"), t.at(pad ? "expected_pad" : "expected"), kTol,
                   name + (pad ? " memory padded" : ""));
    }
  }
}

TEST(NnLayer, EncoderStackWithFinalNormMatchesTorch) {
  auto t = load_case("stack_enc");
  Graph g;
  Value x = g.input("x", t.at("x").shape());  // [3, 4, 12]
  g.output(encoder_stack(g, x, "enc", StackConfig{}.set_layer(torch_layer(false)).set_n_layers(2).set_final_norm(true)), "y");
  expect_close(run_case(g, t).at("y"), t.at("expected"), kTol, "stack_enc");
}

TEST(NnLayer, EncoderDecoderMatchesTorchTransformer) {
  auto t = load_case("stack_encdec");
  Graph g;
  Value src = g.input("src", t.at("src").shape());  // [2, 7, 12]
  Value tgt = g.input("tgt", t.at("tgt").shape());  // [2, 5, 12]
  StackConfig enc = StackConfig{}.set_layer(torch_layer(true)).set_n_layers(2).set_final_norm(true);
  enc.layer.ffn.act = Activation::relu;  // nn.Transformer's default activation
  StackConfig dec = enc;
  dec.n_layers = 3;
  EncoderDecoderOutputs r = encoder_decoder(g, src, tgt, "tr", enc, dec);
  g.output(r.memory, "memory");
  g.output(r.out, "y");
  auto out = run_case(g, t);
  expect_close(out.at("memory"), t.at("expected_memory"), kTol, "encdec memory");
  expect_close(out.at("y"), t.at("expected"), kTol, "encdec output");
}

// A LLaMA block from the pieces: pre-RMSNorm, GQA (3 heads, 1 kv head) with RoPE at positions 3..8 as the
// q/k transform, SwiGLU; against transformers' LlamaDecoderLayer (eager attention).
TEST(NnLayer, LlamaBlockMatchesTransformers) {
  auto t = load_case("layer_llama");
  LayerNames names;
  names.self_attn = "self_attn";
  names.self_norm = "input_layernorm";
  names.ffn_norm = "post_attention_layernorm";
  names.ffn = "mlp";
  LayerConfig c = LayerConfig::make(12, 3, 20)
                      .set_attn(AttentionConfig{}.with_d_model(12).with_heads(3, 1).with_bias(false))
                      .set_ffn(FfnConfig::llama(12, 20))
                      .set_norm(NormConfig::rms(12, 1e-6f))
                      .set_placement(NormPlacement::pre)
                      .set_names(names);
  const RopeConfig rc = RopeConfig{}.set_head_dim(4);
  LayerOptions o;
  o.qk_transform = [&](Graph& gg, Value q, Value k) { return std::pair{rope(gg, q, rc, 3), rope(gg, k, rc, 3)}; };
  Graph g;
  Value x = g.input("x", t.at("x").shape());  // [2, 6, 12]
  g.output(decoder_layer(g, x, std::nullopt, "layers.0", c, o), "y");
  expect_close(run_case(g, t).at("y"), t.at("expected"), kTol, "layer_llama");
}

TEST(NnLayer, DefaultNamesAndDecoderOnlyBlock) {
  Graph g;
  Value x = g.input("x", {1, 3, 8});
  LayerConfig c = LayerConfig::make(8, 2, 16).set_placement(NormPlacement::pre);
  decoder_layer(g, x, std::nullopt, "h.0", c);  // GPT-style: no cross-attention params
  std::vector<std::string> names;
  for (Value p : g.params()) names.push_back(g.info(p).name);
  auto has = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) != names.end(); };
  EXPECT_TRUE(has("h.0.self_attn_layer_norm.weight"));
  EXPECT_TRUE(has("h.0.self_attn.q_proj.weight"));
  EXPECT_TRUE(has("h.0.final_layer_norm.bias"));
  EXPECT_TRUE(has("h.0.fc1.weight"));
  EXPECT_FALSE(has("h.0.encoder_attn.q_proj.weight"));
  EXPECT_EQ(names.size(), 4u + 8u + 4u);  // 2 norms x 2, q/k/v/o weight + bias, fc1/fc2 weight + bias
}

TEST(NnLayer, MismatchedConfigAndShapesNameTheField) {
  Graph g;
  Value x = g.input("x", {1, 3, 8});
  LayerConfig c = LayerConfig::make(8, 2, 16).set_ffn(FfnConfig::plain(6, 16));
  try {
    encoder_layer(g, x, "l", c);
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("ffn.d_model must equal attn.d_model = 8, got 6"), std::string::npos) << e.what();
  }
  EXPECT_THROW(encoder_layer(g, g.input("y", {1, 3, 9}), "l", LayerConfig::make(8, 2, 16)), ShapeError);
  EXPECT_THROW(decoder_layer(g, x, g.input("m", {2, 3, 8}), "l", LayerConfig::make(8, 2, 16)), ShapeError);
  EXPECT_THROW(encoder_stack(g, x, "s", StackConfig{}.set_layer(LayerConfig::make(8, 2, 16)).set_n_layers(0)), ValueError);
}

}  // namespace
}  // namespace tl::nn
