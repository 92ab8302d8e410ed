// BERT, ViT and T5 against Hugging Face transformers 4.57.1 (fixtures: scripts/gen_model_fixtures.py).
// Tolerance 1e-4 absolute throughout: fp32 on both sides, different summation orders over <= 192 terms.
#include <gtest/gtest.h>

#include "model_test_util.h"

namespace tl::models::test {
namespace {

// A padded batch (the second sentence has 3 padding tokens) with token types: the last hidden state (padded
// positions included, which HF computes too), the pooler, and sentence-transformers-style embeddings.
TEST(BertParity, HiddenPoolerAndEmbeddings) {
  auto m = load_model(fixture_dir("bert"));
  Batch b;
  b.ids = fixture("bert", "ids");
  b.mask = fixture("bert", "mask");
  b.type_ids = fixture("bert", "type_ids");
  auto out = m->forward(b);
  const double dh = max_abs_diff(out.at("hidden"), fixture("bert", "hidden"));
  const double dp = max_abs_diff(out.at("pooler"), fixture("bert", "pooler"));
  const Tensor emb = mean_pool_normalize(out.at("hidden"), b.mask);
  const double de = max_abs_diff(emb, fixture("bert", "embeddings"));
  std::printf("[bert] max |hidden - hf| = %.3g, |pooler - hf| = %.3g, |embedding - st| = %.3g\n", dh, dp, de);
  EXPECT_LE(dh, 1e-4);
  EXPECT_LE(dp, 1e-4);
  EXPECT_LE(de, 1e-5);  // unit vectors: the error shrinks by the norm of the mean (> 1 here)
}

TEST(BertParity, SentenceEmbeddingsHelperAndPaddingInvariance) {
  auto m = load_model(fixture_dir("bert"));
  const Tensor ids = fixture("bert", "ids"), mask = fixture("bert", "mask");
  // sentence_embeddings uses type ids 0; the fixture's first row has types, the second does not, so compare
  // the second row only, and check it does not depend on the padding: the unpadded 6 tokens alone give the
  // same.
  const Tensor emb = sentence_embeddings(*m, ids, mask);
  const Tensor want = fixture("bert", "embeddings");
  EXPECT_LE(max_abs_diff(emb.slice(0, 1, 2), want.slice(0, 1, 2)), 1e-5);
  const Tensor alone = sentence_embeddings(*m, ids.slice(0, 1, 2).slice(1, 0, 6).contiguous(), Tensor());
  EXPECT_LE(max_abs_diff(alone, want.slice(0, 1, 2)), 1e-5);
}

TEST(VitParity, LogitsAndHidden) {
  auto m = load_model(fixture_dir("vit"));
  Batch b;
  b.pixels = fixture("vit", "pixels");
  auto out = m->forward(b);
  const double dl = max_abs_diff(out.at("logits"), fixture("vit", "logits"));
  const double dh = max_abs_diff(out.at("hidden"), fixture("vit", "hidden"));
  std::printf("[vit] max |logits - hf| = %.3g, max |hidden - hf| = %.3g\n", dl, dh);
  EXPECT_LE(dl, 1e-4);
  EXPECT_LE(dh, 1e-4);
}

TEST(VitParity, WrongImageSizeIsRefused) {
  auto m = load_model(fixture_dir("vit"));
  Batch b;
  b.pixels = Tensor::zeros({1, 3, 16, 16});
  EXPECT_THROW(m->forward(b), ShapeError);
}

TEST(T5Parity, LogitsAndEncoderHidden) {
  auto m = load_model(fixture_dir("t5"));
  Batch b;
  b.ids = fixture("t5", "ids");
  b.decoder_ids = fixture("t5", "decoder_ids");
  auto out = m->forward(b);
  const double dl = max_abs_diff(out.at("logits"), fixture("t5", "logits"));
  const double de = max_abs_diff(out.at("encoder_hidden"), fixture("t5", "encoder_hidden"));
  std::printf("[t5] max |logits - hf| = %.3g, max |encoder hidden - hf| = %.3g\n", dl, de);
  EXPECT_LE(dl, 1e-4);
  EXPECT_LE(de, 1e-4);
}

// Greedy decoding from decoder_start_token_id; the fixture's smallest top-1/top-2 margin is 0.56.
TEST(T5Parity, Greedy32Tokens) {
  auto m = load_model(fixture_dir("t5"));
  EXPECT_EQ(m->generate_greedy(as_ids(fixture("t5", "prompt")), 32), as_ids(fixture("t5", "greedy")));
}

}  // namespace
}  // namespace tl::models::test
