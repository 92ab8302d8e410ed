// Logit processors against transformers 4.57.1's own (fixtures: scripts/gen_sampling_fixtures.py), the RNG
// against an independent Python rendering of xoshiro256** / splitmix64, sampling frequencies against the
// processed distribution (chi-square), and config validation.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "tl/error.h"
#include "tl/json.h"
#include "tl/models/generate.h"
#include "tl/npy.h"

namespace tl::models {
namespace {

const std::string kDir = std::string(TL_FIXTURE_DIR) + "/sampling/";

json::Value cases() {
  std::ifstream f(kDir + "cases.json");
  std::stringstream ss;
  ss << f.rdbuf();
  return json::parse(ss.str());
}

GenerationConfig config_of(const json::Value& c) {
  GenerationConfig g;
  g.greedy = false;
  auto num = [&](const char* k, double def) { return c.find(k) ? c.find(k)->as_double() : def; };
  if (const json::Value* v = c.find("greedy")) g.greedy = v->as_bool();
  g.repetition_penalty = float(num("repetition_penalty", 1.0));
  g.temperature = float(num("temperature", 1.0));
  g.top_k = int(num("top_k", 0));
  g.top_p = float(num("top_p", 1.0));
  g.min_p = float(num("min_p", 0.0));
  g.min_tokens_to_keep = int(num("min_keep", 1));
  return g;
}

// Same float32 operations as torch on the same inputs, so kept values agree to rounding (observed: exactly);
// 1e-6 absolute allows a different division rounding mode without hiding a wrong processor. Probabilities:
// ours in double, torch's softmax in float32 -> |diff| <= 2e-6.
TEST(GenerateSampling, ProcessorsMatchTransformers) {
  const json::Value all = cases();
  double worst_logit = 0, worst_prob = 0;
  int n_cases = 0;
  for (const json::Value& c : all.as_array()) {
    const std::string name = c.find("name")->as_string();
    SCOPED_TRACE(name);
    const GenerationConfig g = config_of(c);
    const Tensor in = read_npy(kDir + name + ".in.npy"), prev = read_npy(kDir + name + ".prev.npy");
    const Tensor want = read_npy(kDir + name + ".out.npy"), want_p = read_npy(kDir + name + ".probs.npy");
    const int64_t rows = in.size(0), v = in.size(1), np = prev.size(1);
    for (int64_t r = 0; r < rows; ++r) {
      std::vector<float> x(in.data<float>() + r * v, in.data<float>() + (r + 1) * v);
      std::vector<int64_t> ids(prev.data<int64_t>() + r * np, prev.data<int64_t>() + (r + 1) * np);
      process_logits(x, ids, g);
      const std::vector<double> p = softmax(x);
      for (int64_t i = 0; i < v; ++i) {
        const float w = want.data<float>()[r * v + i];
        ASSERT_EQ(std::isinf(x[size_t(i)]), std::isinf(w)) << "row " << r << " token " << i;
        if (!std::isinf(w)) worst_logit = std::max(worst_logit, double(std::abs(x[size_t(i)] - w)));
        worst_prob = std::max(worst_prob, std::abs(p[size_t(i)] - double(want_p.data<float>()[r * v + i])));
      }
    }
    ++n_cases;
  }
  EXPECT_EQ(n_cases, 16);
  std::printf("[sampling] %d cases: max |logit - hf| = %.3g, max |prob - hf| = %.3g\n", n_cases, worst_logit,
              worst_prob);
  EXPECT_LE(worst_logit, 1e-6);
  EXPECT_LE(worst_prob, 2e-6);
}

TEST(GenerateSampling, RngIsXoshiro256StarStar) {
  // Reference values from a direct Python transcription of splitmix64 seeding + xoshiro256**.
  Rng a(0), b(42);
  EXPECT_EQ(a.next(), 0x99ec5f36cb75f2b4ull);
  EXPECT_EQ(a.next(), 0xbf6e1f784956452aull);
  EXPECT_EQ(a.next(), 0x1a5f849d4933e6e0ull);
  EXPECT_EQ(b.next(), 0x15780b2e0c2ec716ull);
  EXPECT_EQ(b.next(), 0x6104d9866d113a7eull);
  for (int i = 0; i < 1000; ++i) {
    const double u = b.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

// Pearson chi-square of `n` draws from the processed "combined" distribution (row 0 of the fixture): with
// k kept tokens (df = k - 1) the statistic stays below the 0.1% critical value, and filtered tokens are
// never drawn. Deterministic (fixed seed), so not flaky; a wrong CDF walk or an off-by-one shows as a huge
// statistic.
TEST(GenerateSampling, DrawsFollowTheProcessedDistribution) {
  const Tensor in = read_npy(kDir + "combined.in.npy"), prev = read_npy(kDir + "combined.prev.npy");
  const Tensor want_p = read_npy(kDir + "combined.probs.npy");
  GenerationConfig g;
  g.greedy = false;
  g.repetition_penalty = 1.2f;
  g.temperature = 0.8f;
  g.top_k = 20;
  g.top_p = 0.9f;
  g.min_p = 0.05f;
  const int64_t v = in.size(1);
  const std::vector<int64_t> ids(prev.data<int64_t>(), prev.data<int64_t>() + prev.size(1));
  Rng rng(123);
  const int n = 20000;
  std::vector<int> count(size_t(v), 0);
  for (int i = 0; i < n; ++i) {
    std::vector<float> x(in.data<float>(), in.data<float>() + v);
    ++count[size_t(choose_next(x, ids, g, rng))];
  }
  double chi2 = 0;
  int kept = 0;
  for (int64_t i = 0; i < v; ++i) {
    const double p = want_p.data<float>()[i];
    if (p == 0) {
      EXPECT_EQ(count[size_t(i)], 0) << "filtered token " << i << " was drawn";
      continue;
    }
    ++kept;
    const double e = p * n;
    chi2 += (count[size_t(i)] - e) * (count[size_t(i)] - e) / e;
  }
  // 0.1% critical values of chi-square for df = 1..30 (scipy.stats.chi2.ppf(0.999, df)).
  const double crit[] = {10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12, 27.88, 29.59,
                         31.26, 32.91, 34.53, 36.12, 37.70, 39.25, 40.79, 42.31, 43.82, 45.31,
                         46.80, 48.27, 49.73, 51.18, 52.62, 54.05, 55.48, 56.89, 58.30, 59.70};
  ASSERT_GE(kept, 2);
  ASSERT_LE(kept, 31);
  std::printf("[sampling] chi-square %.2f over %d tokens (df %d, 0.1%% critical %.2f)\n", chi2, kept,
              kept - 1, crit[kept - 2]);
  EXPECT_LT(chi2, crit[kept - 2]);
}

TEST(GenerateSampling, SameSeedSameDraws) {
  std::vector<double> p = {0.1, 0.2, 0.3, 0.4};
  Rng a(7), b(7), c(8);
  std::vector<int64_t> x, y, z;
  for (int i = 0; i < 64; ++i) {
    x.push_back(sample_index(p, a));
    y.push_back(sample_index(p, b));
    z.push_back(sample_index(p, c));
  }
  EXPECT_EQ(x, y);
  EXPECT_NE(x, z);
}

TEST(GenerateSampling, GreedyAppliesOnlyTheRepetitionPenalty) {
  GenerationConfig g;  // greedy
  g.top_k = 1;         // ignored when greedy, as transformers ignores warpers without do_sample
  g.repetition_penalty = 4.0f;
  std::vector<float> x = {1.0f, 3.0f, 2.0f};
  const std::vector<int64_t> prev = {1, 1};
  Rng rng(0);
  EXPECT_EQ(choose_next(x, prev, g, rng), 2);  // 3 / 4 < 2
  EXPECT_FLOAT_EQ(x[1], 0.75f);
  EXPECT_FLOAT_EQ(x[0], 1.0f);
}

TEST(GenerateSampling, ValidateNamesTheFieldAndValue) {
  auto expect_error = [](auto mutate, const std::string& text) {
    GenerationConfig g;
    mutate(g);
    try {
      g.validate();
      ADD_FAILURE() << "no error for " << text;
    } catch (const ValueError& e) {
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
  };
  expect_error([](GenerationConfig& g) { g.temperature = -0.5f; }, "temperature = -0.5");
  expect_error([](GenerationConfig& g) { g.temperature = 0.0f; }, "temperature = 0");
  expect_error([](GenerationConfig& g) { g.top_p = 1.5f; }, "top_p = 1.5 must be in (0, 1]");
  expect_error([](GenerationConfig& g) { g.top_p = 0.0f; }, "top_p = 0 must be in (0, 1]");
  expect_error([](GenerationConfig& g) { g.top_k = -1; }, "top_k = -1");
  expect_error([](GenerationConfig& g) { g.min_p = 2.0f; }, "min_p = 2");
  expect_error([](GenerationConfig& g) { g.repetition_penalty = 0.0f; }, "repetition_penalty = 0");
  expect_error([](GenerationConfig& g) { g.max_new_tokens = -1; }, "max_new_tokens = -1");
  expect_error([](GenerationConfig& g) { g.stop_strings = {""}; }, "stop string is empty");
  std::vector<float> x = {1.0f};
  const std::vector<int64_t> bad = {3};
  EXPECT_THROW(apply_repetition_penalty(x, bad, 1.5f), ValueError);
}

}  // namespace
}  // namespace tl::models
