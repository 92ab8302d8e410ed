// ViT (ViTForImageClassification): patch embedding, [CLS] token and learned positions (nn::vit_embeddings),
// pre-LayerNorm encoder layers, a final LayerNorm and a linear classifier on the [CLS] state
// (nn::vit_classifier).
//
// Weights (HF names), d = hidden_size, C = num_channels, p = patch_size, n = (image_size / p)^2, f =
// intermediate:
//   vit.embeddings.cls_token [1, 1, d]   vit.embeddings.position_embeddings [1, n + 1, d]
//   vit.embeddings.patch_embeddings.projection.{weight [d, C, p, p], bias [d]}
//   vit.encoder.layer.<i>.layernorm_{before,after}.{weight,bias} [d]
//   vit.encoder.layer.<i>.attention.attention.{query,key,value}.{weight [d, d], bias (qkv_bias)}
//   vit.encoder.layer.<i>.attention.output.dense.*   vit.encoder.layer.<i>.{intermediate,output}.dense.*
//   vit.layernorm.{weight,bias} [d]      classifier.{weight [labels, d], bias [labels]}
#include "tl/nn/vit.h"

#include "common.h"
#include "tl/error.h"
#include "tl/nn/attention.h"
#include "tl/nn/common.h"
#include "tl/nn/norm.h"

namespace tl::models::detail {
namespace {

class Vit final : public Model {
 public:
  explicit Vit(const io::HfConfig& c) : Model(c) {
    d_ = c.get_positive_int("hidden_size");
    layers_ = c.get_positive_int("num_hidden_layers");
    heads_ = c.get_positive_int("num_attention_heads");
    d_ff_ = c.get_positive_int("intermediate_size");
    image_ = c.get_positive_int("image_size");
    patch_ = c.get_positive_int("patch_size");
    channels_ = c.get_positive_int("num_channels", 3);
    eps_ = float(c.get_double("layer_norm_eps", 1e-12));
    act_ = activation(c, "hidden_act", "gelu");
    qkv_bias_ = c.get_bool("qkv_bias", true);
    // HF derives num_labels from id2label (2 labels when absent).
    labels_ = 2;
    if (auto m = c.opt_object("id2label")) labels_ = int64_t(m->json().as_object().size());
    if (d_ % heads_ != 0)
      TL_THROW(ValueError, "[vit] ", c.name(), ": \"hidden_size\" = ", d_,
               " is not divisible by \"num_attention_heads\" = ", heads_);
    if (image_ % patch_ != 0)
      TL_THROW(ValueError, "[vit] ", c.name(), ": \"image_size\" = ", image_,
               " is not a multiple of \"patch_size\" = ", patch_);
    if (labels_ < 1) TL_THROW(ValueError, "[vit] ", c.name(), ": \"id2label\" is empty (no classes)");
  }
  std::string family() const override { return "vit"; }
  bool can_generate() const override { return false; }

  Graph build_graph(const Batch& bt) const override {
    Graph g("vit");
    const int64_t b = bt.pixels.size(0), hd = d_ / heads_;
    Value px = g.input("pixels", DType::f32, {b, channels_, image_, image_});  // [b, C, H, W]
    const nn::VitConfig vc =
        nn::VitConfig{}.set_image_size(image_).set_patch_size(patch_).set_channels(channels_).set_d_model(d_);
    Value x = nn::vit_embeddings(g, px, "vit.embeddings", vc);  // [b, n+1, d]
    const nn::NormConfig ln = nn::NormConfig::layer(d_, eps_);
    const nn::FfnConfig ffn =
        nn::FfnConfig::plain(d_, d_ff_, act_).set_names("intermediate.dense", "output.dense");
    for (int64_t i = 0; i < layers_; ++i) {
      const std::string l = "vit.encoder.layer." + std::to_string(i), a = l + ".attention.attention";
      Value h = nn::norm(g, x, l + ".layernorm_before", ln);  // [b, n+1, d]
      Value q =
          split_heads(g, nn::linear(g, h, a + ".query", d_, d_, qkv_bias_), heads_, hd);  // [b, h, n+1, hd]
      Value k = split_heads(g, nn::linear(g, h, a + ".key", d_, d_, qkv_bias_), heads_, hd);
      Value v = split_heads(g, nn::linear(g, h, a + ".value", d_, d_, qkv_bias_), heads_, hd);
      Value o = merge_heads(g, nn::sdpa(g, q, k, v).out);                            // [b, n+1, d]
      x = g.add(x, nn::linear(g, o, l + ".attention.output.dense", d_, d_));         // [b, n+1, d]
      x = g.add(x, nn::ffn(g, nn::norm(g, x, l + ".layernorm_after", ln), l, ffn));  // [b, n+1, d]
    }
    Value hidden = nn::norm(g, x, "vit.layernorm", ln);  // [b, n+1, d]
    g.output(hidden, "hidden");
    g.output(nn::vit_classifier(g, hidden, "classifier", d_, labels_), "logits");  // [b, labels]
    return g;
  }

 protected:
  Batch example_batch() const override {
    Batch b;
    b.pixels = Tensor::zeros({1, channels_, image_, image_});
    return b;
  }
  void check_batch(const Batch& b) const override {
    const Shape want{b.pixels.defined() ? b.pixels.size(0) : 1, channels_, image_, image_};
    if (!b.pixels.defined() || b.pixels.rank() != 4 || b.pixels.dtype() != DType::f32 ||
        b.pixels.size(0) < 1 || b.pixels.shape() != want)
      TL_THROW(ShapeError, "[vit] pixels must be f32 [batch, ", channels_, ", ", image_, ", ", image_,
               "] (the configured image size; position interpolation is not supported), got ",
               b.pixels.defined() ? dtype_name(b.pixels.dtype()) + shape_str(b.pixels.shape()) : "none");
    if (b.ids.defined() || b.decoder_ids.defined() || b.mask.defined() || b.type_ids.defined())
      TL_THROW(ValueError, "[vit] takes only pixels (no ids, mask, type_ids or decoder_ids)");
  }

 private:
  int64_t d_ = 0, layers_ = 0, heads_ = 0, d_ff_ = 0, image_ = 0, patch_ = 0, channels_ = 3, labels_ = 2;
  float eps_ = 1e-12f;
  bool qkv_bias_ = true;
  nn::Activation act_ = nn::Activation::gelu_erf;
};

}  // namespace

std::unique_ptr<Model> make_vit(const io::HfConfig& c, const WeightNames&) {
  return std::make_unique<Vit>(c);
}

}  // namespace tl::models::detail
