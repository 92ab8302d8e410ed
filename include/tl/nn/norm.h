// Normalisation layers (src/nn/norm.cpp): LayerNorm (torch.nn.LayerNorm, optional affine and bias) and RMSNorm
// (LLaMA / T5: x / sqrt(mean(x^2) + eps) * weight). Params "<prefix>.weight" [dim] and, for LayerNorm with
// bias, "<prefix>.bias" [dim]. Where a norm sits in a residual block (pre or post) is a layer option
// (tl/nn/layer.h, NormPlacement).
#pragma once
#include <cstdint>
#include <string>

#include "tl/graph.h"

namespace tl::nn {

enum class NormType { layer_norm, rms_norm };

// pre: x + f(norm(x)) (GPT-2, LLaMA, T5, ViT); post: norm(x + f(x)) (BERT, original Transformer).
enum class NormPlacement { pre, post };

struct NormConfig {
  NormType kind = NormType::layer_norm;
  int64_t dim = 0;    // size of the last axis, normalised over
  float eps = 1e-5f;
  bool affine = true;  // learnable weight (and bias, see below)
  bool bias = true;    // LayerNorm only: the additive bias (torch LayerNorm(bias=False) has none)

  NormConfig& set_kind(NormType v) { kind = v; return *this; }
  NormConfig& set_dim(int64_t v) { dim = v; return *this; }
  NormConfig& set_eps(float v) { eps = v; return *this; }
  NormConfig& set_affine(bool v) { affine = v; return *this; }
  NormConfig& set_bias(bool v) { bias = v; return *this; }

  static NormConfig layer(int64_t dim, float eps = 1e-5f) { return NormConfig{}.set_dim(dim).set_eps(eps); }
  // RMSNorm has no bias.
  static NormConfig rms(int64_t dim, float eps = 1e-6f) {
    return NormConfig{}.set_kind(NormType::rms_norm).set_dim(dim).set_eps(eps).set_bias(false);
  }

  // Throws ValueError naming the field, the expected and the actual (dim > 0; eps finite and >= 0; no bias
  // on an RMSNorm).
  void validate() const;
};

// x: [..., dim] -> [..., dim]. Throws ShapeError when x's last dim is not dim.
Value norm(Graph& g, Value x, const std::string& prefix, const NormConfig& c);

}  // namespace tl::nn
