// Vision Transformer front and head (src/nn/vit.cpp), as Hugging Face ViTEmbeddings / ViTForImageClassification:
//   patches:  the stride-p convolution written as one einsum over patches: pixels [b, c, H, W] are cut to
//             [b, c, H/p, p, W/p, p] (trailing rows/columns that do not fill a patch are dropped, as the conv
//             does), then "bcyixj,dcij->byxd" with the Conv2d weight [d, c, p, p], plus the bias
//   tokens:   [CLS] + patches, plus position embeddings "<prefix>.position_embeddings" [1, 1 + n_patches, d]
//   head:     classifier on the [CLS] token (after the encoder's final norm)
// Param names: "<prefix>.cls_token" [1, 1, d], "<prefix>.patch_embeddings.projection.{weight,bias}",
// "<prefix>.position_embeddings"; with prefix "vit.embeddings" these are the HF checkpoint names.
#pragma once
#include <cstdint>
#include <string>

#include "tl/graph.h"

namespace tl::nn {

struct VitConfig {
  int64_t image_size = 224;  // square images of this size (position table covers its patches)
  int64_t patch_size = 16;
  int64_t channels = 3;
  int64_t d_model = 768;
  bool cls_token = true;

  VitConfig& set_image_size(int64_t v) { image_size = v; return *this; }
  VitConfig& set_patch_size(int64_t v) { patch_size = v; return *this; }
  VitConfig& set_channels(int64_t v) { channels = v; return *this; }
  VitConfig& set_d_model(int64_t v) { d_model = v; return *this; }
  VitConfig& set_cls_token(bool v) { cls_token = v; return *this; }

  int64_t grid() const { return patch_size > 0 ? image_size / patch_size : 0; }  // patches per side
  int64_t n_patches() const { return grid() * grid(); }
  int64_t n_tokens() const { return n_patches() + (cls_token ? 1 : 0); }
  // All sizes positive, patch_size <= image_size.
  void validate() const;
};

// pixels [b, channels, image_size, image_size] -> [b, n_patches, d_model] (row-major patch order).
Value vit_patch_embed(Graph& g, Value pixels, const std::string& prefix, const VitConfig& c);
// [CLS] + patch embeddings + position embeddings: [b, n_tokens, d_model]. `prefix` e.g. "vit.embeddings".
Value vit_embeddings(Graph& g, Value pixels, const std::string& prefix, const VitConfig& c);
// Linear classifier "<prefix>.{weight,bias}" on token 0 of hidden [b, s, d] -> logits [b, n_classes].
Value vit_classifier(Graph& g, Value hidden, const std::string& prefix, int64_t d_model, int64_t n_classes);

}  // namespace tl::nn
