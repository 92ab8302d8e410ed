// Embedding-space reasoning (examples/embedding_reasoning.tl) against the NumPy reference of
// scripts/gen_embed_fixture.py: the read-back scores for every embedding dimension E, and precision/recall of
// the true facts as E grows and over the temperature sweep.
#include <gtest/gtest.h>

#include <cmath>
#include <regex>

#include "logic_test_util.h"
#include "tl/logic.h"
#include "tl/npy.h"

using tl::logic::Program;

namespace {

std::string embed_dir() {
  return std::string(TL_FIXTURE_DIR) + "/embed/";
}

// The example with its embedding dimension and temperature rewritten.
std::string program_text(int e, const std::string& t) {
  std::string text = tl_logic_test::read_text(tl_logic_test::example("embedding_reasoning.tl"));
  text = std::regex_replace(text, std::regex("dim E = \\d+"), "dim E = " + std::to_string(e));
  return std::regex_replace(text, std::regex("const T = [0-9.]+"), "const T = " + t);
}

struct Metrics {
  double hard_p, hard_r, soft_p, soft_r;
};

Metrics metrics(const tl::Tensor& infer, const tl::Tensor& r) {
  auto a = infer.to_f64_vector(), rel = r.to_f64_vector();
  double tp = 0, pred = 0, pos = 0, soft_tp = 0, soft_all = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    bool truth = rel[i] > 0, p = a[i] > 0.5;
    pos += truth;
    pred += p;
    tp += truth && p;
    soft_all += a[i];
    soft_tp += truth ? a[i] : 0;
  }
  return {tp / std::max(pred, 1.0), tp / pos, soft_tp / soft_all, soft_tp / pos};
}

TEST(EmbeddingReasoning, MatchesNumPyOverDimensionsAndTemperatures) {
  tl::Tensor r = tl::read_npy(embed_dir() + "R.npy");  // [N, N]
  std::map<int, double> margin;
  for (const auto& row : tl::logic::read_tsv(embed_dir() + "min_margin.tsv"))
    margin[std::stoi(row[0])] = std::stod(row[1]);
  auto rows = tl::logic::read_tsv(embed_dir() + "metrics.tsv");
  ASSERT_EQ(rows.size(), 48u);  // 8 dims x 6 temperatures
  std::map<int, Metrics> at_zero;
  double max_score_diff = 0;
  for (const auto& row : rows) {
    int e = std::stoi(row[0]);
    SCOPED_TRACE("E=" + row[0] + " T=" + row[1]);
    tl::Tensor emb = tl::read_npy(embed_dir() + "emb_E" + row[0] + ".npy");  // [N, E]
    Program p = Program::parse(program_text(e, row[1]), "embedding_reasoning.tl");
    auto out = p.run({{"Emb", emb}, {"R", r}});
    // Scores: sums of <= 36 products of two cosines each, f32 vs float64: ~1e-6; 1e-5 leaves room.
    auto got = out.at("Score").to_f64_vector();
    auto want = tl::read_npy(embed_dir() + "score_E" + row[0] + ".npy").to_f64_vector();
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      max_score_diff = std::max(max_score_diff, std::fabs(got[i] - want[i]));
      ASSERT_NEAR(got[i], want[i], 1e-5) << i;
    }
    Metrics m = metrics(out.at("Infer"), r);
    // Hard decisions are exact when every score is further than the f32 error from the threshold 1/2.
    ASSERT_GT(margin.at(e), 2e-5);
    // (The fixture prints 9 significant digits; the counts behind these ratios must agree exactly.)
    EXPECT_NEAR(m.hard_p, std::stod(row[2]), 1e-8);
    EXPECT_NEAR(m.hard_r, std::stod(row[3]), 1e-8);
    // Soft metrics average sigmoid((Score - 1/2) / T): a score error of 1e-6 moves each by <= 1e-6 / (4 T),
    // i.e. <= 1.3e-5 at T = 0.02; 1e-4 is a loose bound.
    EXPECT_NEAR(m.soft_p, std::stod(row[4]), 1e-4);
    EXPECT_NEAR(m.soft_r, std::stod(row[5]), 1e-4);
    if (row[1] == "0") {
      // T = 0: the answer is a step, exactly 0 or 1 everywhere (purely deductive).
      for (double v : out.at("Infer").to_f64_vector()) ASSERT_TRUE(v == 0 || v == 1) << v;
      at_zero[e] = m;
    }
  }
  std::printf("[embed] max abs score diff vs NumPy %.3g\n", max_score_diff);
  // Recall and precision of the true facts grow with E; at E = 256 deduction is exact.
  EXPECT_LT(at_zero.at(2).hard_p, 0.2);
  EXPECT_LT(at_zero.at(2).hard_r, 0.7);
  EXPECT_EQ(at_zero.at(256).hard_p, 1.0);
  EXPECT_EQ(at_zero.at(256).hard_r, 1.0);
  for (int e : {4, 8, 16, 32, 64, 128, 256}) EXPECT_GE(at_zero.at(e).hard_p, at_zero.at(e / 2).hard_p) << e;
}

TEST(EmbeddingReasoning, TemperatureMakesInferenceGraded) {
  // At E = 256: T = 0 reproduces R exactly; as T grows belief spreads to false pairs (soft precision falls
  // monotonically towards the base rate 36/400) and the true facts' belief falls towards 1/2.
  tl::Tensor r = tl::read_npy(embed_dir() + "R.npy");
  tl::Tensor emb = tl::read_npy(embed_dir() + "emb_E256.npy");
  double prev_p = 2, prev_r = 2;
  for (const char* t : {"0", "0.02", "0.1", "0.3", "1", "3"}) {
    auto out = Program::parse(program_text(256, t)).run({{"Emb", emb}, {"R", r}});
    Metrics m = metrics(out.at("Infer"), r);
    if (std::string(t) == "0") {
      EXPECT_EQ(out.at("Infer").to_f64_vector(), r.to_f64_vector());
    }
    EXPECT_LE(m.soft_p, prev_p) << t;
    EXPECT_LE(m.soft_r, prev_r) << t;
    prev_p = m.soft_p;
    prev_r = m.soft_r;
  }
  EXPECT_LT(prev_p, 0.12);
  EXPECT_GT(prev_r, 0.5);
}

TEST(EmbeddingReasoning, SigmoidWithTemperatureAndConst) {
  Program p =
      Program::parse("const T = 0.5\nconst C = -2\ninput X[3]\nY[i] = sigmoid(X[i], T)\nZ[] = C * 2\n");
  auto out = p.run({{"X", tl::Tensor::from_vector<float>({3}, {0, 1, -1})}});
  auto y = out.at("Y").to_f64_vector();
  EXPECT_NEAR(y[1], 1 / (1 + std::exp(-2.0)), 1e-6);  // f32 sigmoid
  EXPECT_NEAR(y[2], 1 / (1 + std::exp(2.0)), 1e-6);
  EXPECT_EQ(out.at("Z").to_f64_vector(), std::vector<double>{-4});
  tl_logic_test::expect_error<tl::ValueError>([] { Program::parse("dim T = 2\nconst T = 1\n"); },
                                              {"'T' declared twice"});
  tl_logic_test::expect_error<tl::ValueError>([] { Program::parse("input X[2]\nY[i] = sigmoid(X[i], Q)\n"); },
                                              {"undefined name 'Q'"});
}

}  // namespace
