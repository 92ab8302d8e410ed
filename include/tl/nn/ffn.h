// Position-wise feed-forward blocks (src/nn/ffn.cpp).
//   plain: out(act(in x))                       e.g. BERT/GPT-2/ViT (GELU), torch.nn.TransformerEncoderLayer (ReLU)
//   gated: down(act(gate x) * up x)              LLaMA SwiGLU (act = silu), T5 v1.1 GeGLU (act = gelu_tanh:
//                                                wo(gelu_new(wi_0 x) * wi_1 x)), ReGLU (act = relu)
// Weights are nn.Linear layouts ([out, in] + [out]) named "<prefix>.<name>.weight" / ".bias"; the names are
// config fields so one builder serves every checkpoint's spelling (names may contain dots, e.g. BERT's
// "intermediate.dense" and "output.dense" under the layer prefix).
//
//   Value y = nn::ffn(g, x, "model.layers.0.mlp", nn::FfnConfig::llama(4096, 11008));  // [b, s, d] -> [b, s, d]
#pragma once
#include <cstdint>
#include <string>

#include "tl/graph.h"

namespace tl::nn {

enum class Activation { relu, gelu_erf, gelu_tanh, silu };
UnaryOp unary_of(Activation a);
const char* activation_name(Activation a);

struct FfnConfig {
  int64_t d_model = 0, d_ff = 0;
  Activation act = Activation::gelu_erf;
  bool gated = false;
  bool bias = true;  // biases on every projection
  // Plain: in_name -> act -> out_name. Gated: gate_name, up_name -> act(gate) * up -> down_name (= out_name).
  std::string in_name = "fc1", out_name = "fc2", gate_name = "gate_proj", up_name = "up_proj";

  FfnConfig& set_d_model(int64_t v) { d_model = v; return *this; }
  FfnConfig& set_d_ff(int64_t v) { d_ff = v; return *this; }
  FfnConfig& set_act(Activation v) { act = v; return *this; }
  FfnConfig& set_gated(bool v) { gated = v; return *this; }
  FfnConfig& set_bias(bool v) { bias = v; return *this; }
  FfnConfig& set_names(std::string in, std::string out) { in_name = std::move(in); out_name = std::move(out); return *this; }
  FfnConfig& set_gated_names(std::string gate, std::string up, std::string down) {
    gate_name = std::move(gate); up_name = std::move(up); out_name = std::move(down); return *this;
  }

  // Presets with the checkpoint names.
  static FfnConfig plain(int64_t d_model, int64_t d_ff, Activation act = Activation::gelu_erf, bool bias = true);
  // LLaMA MLP: down_proj(silu(gate_proj x) * up_proj x), no biases.
  static FfnConfig llama(int64_t d_model, int64_t d_ff);
  // T5 v1.1 T5DenseGatedActDense: wo(gelu_tanh(wi_0 x) * wi_1 x), no biases.
  static FfnConfig t5_gated(int64_t d_model, int64_t d_ff);
  // T5 v1.0 T5DenseActDense: wo(relu(wi x)), no biases.
  static FfnConfig t5(int64_t d_model, int64_t d_ff);
  // torch.nn.TransformerEncoderLayer: linear2(act(linear1 x)), biases.
  static FfnConfig torch_layer(int64_t d_model, int64_t d_ff, Activation act = Activation::relu);

  // Throws ValueError naming the field, the expected and the actual.
  void validate() const;
};

// x: [..., d_model] -> [..., d_model]. Throws ShapeError when x's last dim is not d_model.
Value ffn(Graph& g, Value x, const std::string& prefix, const FfnConfig& c);

}  // namespace tl::nn
