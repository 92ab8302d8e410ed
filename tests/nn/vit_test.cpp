// ViT front and head against transformers' ViTForImageClassification (tiny config built locally): embeddings,
// the last hidden state through our encoder stack with ViT's names, and the logits.
#include <gtest/gtest.h>

#include "layer_test_util.h"
#include "tl/error.h"
#include "tl/nn/layer.h"
#include "tl/nn/vit.h"

namespace tl::nn {
namespace {

using testing::expect_close;
using testing::load_case;
using testing::run_case;

TEST(NnVit, TinyVitMatchesTransformers) {
  auto t = load_case("vit_tiny");
  const VitConfig vc = VitConfig{}.set_image_size(14).set_patch_size(4).set_channels(3).set_d_model(16);
  ASSERT_EQ(vc.n_tokens(), 10);  // 3x3 patches (the last 2 pixel rows/columns unused) + [CLS]
  Graph g;
  Value px = g.input("pixel_values", t.at("pixel_values").shape());  // [2, 3, 14, 14]
  Value emb = vit_embeddings(g, px, "vit.embeddings", vc);          // [2, 10, 16]
  LayerNames names;
  names.self_attn = "attention";
  names.self_norm = "layernorm_before";
  names.ffn_norm = "layernorm_after";
  LayerConfig lc = LayerConfig::make(16, 2, 24)
                       .set_ffn(FfnConfig::plain(16, 24).set_names("intermediate.dense", "output.dense"))
                       .set_norm(NormConfig::layer(16, 1e-12f))
                       .set_placement(NormPlacement::pre)
                       .set_names(names);
  Value h = encoder_stack(g, emb, "vit.encoder", StackConfig{}.set_layer(lc).set_n_layers(2).set_layers_name("layer"));
  Value hn = norm(g, h, "vit.layernorm", NormConfig::layer(16, 1e-12f));  // [2, 10, 16]
  g.output(emb, "emb");
  g.output(h, "hidden");
  g.output(vit_classifier(g, hn, "classifier", 16, 5), "logits");  // [2, 5]
  auto out = run_case(g, t);
  // fp32 both sides; the patch einsum reduces 48 terms, the layers as in layer_test: 1e-5 relative.
  expect_close(out.at("emb"), t.at("expected_embeddings"), 1e-5, "vit embeddings");
  expect_close(out.at("hidden"), t.at("expected_hidden"), 1e-5, "vit last hidden state");
  expect_close(out.at("logits"), t.at("expected_logits"), 1e-5, "vit logits");
}

TEST(NnVit, ExactPatchesAndNoClsToken) {
  // 8x8 image, 4x4 patches, one channel: each patch sums its pixels when the weight is all ones.
  const VitConfig vc = VitConfig{}.set_image_size(8).set_patch_size(4).set_channels(1).set_d_model(2).set_cls_token(false);
  Graph g;
  Value px = g.input("px", {1, 1, 8, 8});
  g.output(vit_embeddings(g, px, "emb", vc), "y");
  Tensor pixels = Tensor::empty({1, 1, 8, 8});
  for (int64_t i = 0; i < 64; ++i) pixels.data<float>()[i] = float(i);
  auto out = run_graph(g, {{"px", pixels},
                           {"emb.patch_embeddings.projection.weight", Tensor::full({2, 1, 4, 4}, 1.0)},
                           {"emb.patch_embeddings.projection.bias", Tensor::zeros({2})},
                           {"emb.position_embeddings", Tensor::zeros({1, 4, 2})}});
  const Tensor& y = out.at("y");  // [1, 4, 2]
  ASSERT_EQ(y.shape(), (Shape{1, 4, 2}));
  // Patch (0,1) covers rows 0-3, columns 4-7: sum = 4 * (4+5+6+7) + 8 * (0+1+2+3) * 4 = ...
  double want = 0;
  for (int r = 0; r < 4; ++r)
    for (int c = 4; c < 8; ++c) want += r * 8 + c;
  EXPECT_EQ(y.get({0, 1, 0}), want);
}

TEST(NnVit, BadInputsNameShapes) {
  const VitConfig vc = VitConfig{}.set_image_size(8).set_patch_size(4).set_channels(3).set_d_model(4);
  Graph g;
  try {
    vit_embeddings(g, g.input("px", {1, 1, 8, 8}), "emb", vc);
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("expected [batch, 3, 8, 8]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(VitConfig{}.set_image_size(8).set_patch_size(9).validate(), ValueError);
  EXPECT_THROW(vit_classifier(g, g.input("h", {2, 3}), "c", 3, 5), ShapeError);
}

}  // namespace
}  // namespace tl::nn
