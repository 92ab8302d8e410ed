// ViT front: patch embedding as one einsum (no convolution op needed), [CLS] token, position embeddings; head.
#include "tl/nn/vit.h"

#include "tl/error.h"
#include "tl/nn/common.h"

namespace tl::nn {

void VitConfig::validate() const {
  if (image_size <= 0) TL_THROW(ValueError, "[vit] image_size must be positive, got ", image_size);
  if (patch_size <= 0 || patch_size > image_size)
    TL_THROW(ValueError, "[vit] patch_size must be in [1, image_size = ", image_size, "], got ", patch_size);
  if (channels <= 0) TL_THROW(ValueError, "[vit] channels must be positive, got ", channels);
  if (d_model <= 0) TL_THROW(ValueError, "[vit] d_model must be positive, got ", d_model);
}

Value vit_patch_embed(Graph& g, Value pixels, const std::string& prefix, const VitConfig& c) {
  c.validate();
  const Shape& ps = g.shape(pixels);  // [b, c, H, W]
  if (ps.size() != 4 || ps[1] != c.channels || ps[2] != c.image_size || ps[3] != c.image_size)
    TL_THROW(ShapeError, "[vit] ", prefix, ": pixel_values has shape ", shape_str(ps), ", expected [batch, ",
             c.channels, ", ", c.image_size, ", ", c.image_size, "]");
  const int64_t b = ps[0], p = c.patch_size, n = c.grid(), used = n * p;
  Value x = pixels;
  if (used != c.image_size) x = g.slice(g.slice(x, 2, 0, used), 3, 0, used);  // [b, c, used, used]
  x = g.reshape(x, {b, c.channels, n, p, n, p});                              // [b, c, gy, py, gx, px]
  Value w = g.param(join_name(prefix, "projection.weight"), {c.d_model, c.channels, p, p});  // [d, c, p, p]
  Value bias = g.param(join_name(prefix, "projection.bias"), {c.d_model});                   // [d]
  Value y = g.einsum("bcyixj,dcij->byxd", {x, w});    // [b, gy, gx, d]
  y = g.add(g.reshape(y, {b, n * n, c.d_model}), bias);  // [b, n_patches, d]
  return y;
}

Value vit_embeddings(Graph& g, Value pixels, const std::string& prefix, const VitConfig& c) {
  Value x = vit_patch_embed(g, pixels, join_name(prefix, "patch_embeddings"), c);  // [b, n_patches, d]
  const int64_t b = g.shape(x)[0];
  if (c.cls_token) {
    Value cls = g.param(join_name(prefix, "cls_token"), {1, 1, c.d_model});  // [1, 1, d]
    if (b != 1) cls = g.repeat(cls, b, 0);                                   // [b, 1, d]
    x = g.concat({cls, x}, 1);                                               // [b, n_tokens, d]
  }
  Value pos = g.param(join_name(prefix, "position_embeddings"), {1, c.n_tokens(), c.d_model});  // [1, n_tokens, d]
  return g.add(x, pos);
}

Value vit_classifier(Graph& g, Value hidden, const std::string& prefix, int64_t d_model, int64_t n_classes) {
  const Shape& hs = g.shape(hidden);  // [b, s, d]
  if (hs.size() != 3 || hs[2] != d_model || hs[1] < 1)
    TL_THROW(ShapeError, "[vit] ", prefix, ": hidden has shape ", shape_str(hs), ", expected [batch, seq, ", d_model, "]");
  Value cls = g.reshape(g.slice(hidden, 1, 0, 1), {hs[0], d_model});  // [b, d]
  return linear(g, cls, prefix, d_model, n_classes);                  // [b, n_classes]
}

}  // namespace tl::nn
