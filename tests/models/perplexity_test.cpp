// Sliding-window perplexity and logit comparison (src/models/perplexity.cpp) against transformers 4.57.1 on
// the tiny random LLaMA and GPT-2 models (fixtures: scripts/gen_perplexity_fixtures.py), plus bad input.
#include "tl/models/perplexity.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <sstream>

#include "model_test_util.h"
#include "tl/error.h"
#include "tl/json.h"
#include "tl/quant.h"

namespace tl::models::test {
namespace {

template <class E>
std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception";
  return "";
}

json::Value reference() {
  std::ifstream f(std::string(TL_FIXTURE_DIR) + "/perplexity/reference.json");
  std::stringstream ss;
  ss << f.rdbuf();
  return json::parse(ss.str());
}

Model& fixture_model(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Model>> cache;
  auto& m = cache[name];
  if (!m) m = load_model(fixture_dir(name));
  return *m;
}

double rel(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-300); }

// Each case: windows (bounds and scored counts exactly), each window's mean NLL against transformers'
// `model(window, labels=...).loss`, the mean NLL and perplexity against float64 log_softmax sums.
// Tolerance 1e-5 relative on NLLs: our logits agree with transformers' within ~7e-6 absolute on these models
// (decoder_parity_test), a logit error d moves a log-softmax by at most 2d, and the NLLs are ~6-7 nats, so
// the expected relative error is ~2e-6; the reference losses themselves are f32 (1.2e-7 relative).
// Perplexity = exp(mean NLL), so its relative error is the mean NLL's absolute error: 1e-5 * 7 < 1e-4.
TEST(Perplexity, MatchesTransformersSlidingWindow) {
  const json::Value ref = reference();
  double worst_nll = 0, worst_ppl = 0;
  int n_cases = 0;
  for (const json::Value& c : ref.find("cases")->as_array()) {
    const std::string name = c.find("model")->as_string();
    std::vector<int64_t> ids;
    for (const auto& v : c.find("ids")->as_array()) ids.push_back(v.as_int());
    PerplexityOptions opt{c.find("ctx")->as_int(), c.find("stride")->as_int()};
    SCOPED_TRACE(name + " ctx " + std::to_string(opt.ctx) + " stride " + std::to_string(opt.stride));
    int callbacks = 0;
    const PerplexityResult r =
        perplexity(fixture_model(name), ids, opt, [&](const PerplexityWindow&) { ++callbacks; });
    const auto& win = c.find("windows")->as_array();
    ASSERT_EQ(r.windows.size(), win.size());
    EXPECT_EQ(callbacks, int(win.size()));
    int64_t scored = 0;
    double guide_sum = 0, guide_n = 0;
    for (size_t i = 0; i < win.size(); ++i) {
      const PerplexityWindow& w = r.windows[i];
      EXPECT_EQ(w.begin, win[i].find("begin")->as_int());
      EXPECT_EQ(w.end, win[i].find("end")->as_int());
      EXPECT_EQ(w.scored, win[i].find("scored")->as_int());
      const double loss = win[i].find("loss")->as_double();
      EXPECT_LT(rel(w.mean_nll(), loss), 1e-5) << "window " << i << ": " << w.mean_nll() << " vs " << loss;
      worst_nll = std::max(worst_nll, rel(w.mean_nll(), loss));
      scored += w.scored;
      // The guide's weighting: loss * (labels not -100, minus one for the batch row).
      const double valid = double(w.end - (i == 0 ? w.begin : r.windows[i - 1].end));
      guide_sum += w.mean_nll() * (valid - 1);
      guide_n += valid - 1;
    }
    EXPECT_EQ(r.tokens, scored);
    if (opt.stride < opt.ctx) {
      EXPECT_EQ(r.tokens, int64_t(ids.size()) - 1);
    }
    const double mean = c.find("mean_nll")->as_double(), ppl = c.find("perplexity")->as_double();
    EXPECT_LT(rel(r.mean_nll, mean), 1e-5) << r.mean_nll << " vs " << mean;
    EXPECT_LT(rel(r.perplexity, ppl), 1e-4) << r.perplexity << " vs " << ppl;
    EXPECT_LT(rel(std::exp(guide_sum / guide_n), c.find("guide_perplexity")->as_double()), 1e-4);
    worst_nll = std::max(worst_nll, rel(r.mean_nll, mean));
    worst_ppl = std::max(worst_ppl, rel(r.perplexity, ppl));
    ++n_cases;
  }
  EXPECT_EQ(n_cases, 7);
  std::printf("[perplexity] %d cases: max relative error, NLL %.3g, perplexity %.3g\n", n_cases, worst_nll,
              worst_ppl);
}

TEST(Perplexity, WindowsCoverTheTextOnce) {
  // ctx 8, stride 3 over 20 tokens: windows [0,8) [3,11) [6,14) [9,17) [12,20); each scores what is new.
  std::vector<int64_t> ids(20);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = int64_t(i * 7 % 199);
  const PerplexityResult r = perplexity(fixture_model("llama"), ids, {8, 3});
  ASSERT_EQ(r.windows.size(), 5u);
  const int64_t want_scored[] = {7, 3, 3, 3, 3};
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(r.windows[i].begin, int64_t(3 * i));
    EXPECT_EQ(r.windows[i].end, std::min<int64_t>(3 * int64_t(i) + 8, 20));
    EXPECT_EQ(r.windows[i].scored, want_scored[i]);
  }
  EXPECT_EQ(r.tokens, 19);
  // One window over everything equals the mean of the first window's NLLs computed by hand from logits.
  const PerplexityResult whole = perplexity(fixture_model("llama"), ids, {20, 20});
  Tensor x = Tensor::empty({1, 20}, DType::i64);
  std::copy(ids.begin(), ids.end(), x.data<int64_t>());
  Batch b;
  b.ids = x;
  const Tensor logits = fixture_model("llama").forward(b).at("logits").contiguous();  // [1, 20, 199]
  double s = 0;
  for (int64_t t = 1; t < 20; ++t) s += token_nll(logits.data<float>() + (t - 1) * 199, 199, ids[size_t(t)]);
  EXPECT_DOUBLE_EQ(whole.mean_nll, s / 19);
  EXPECT_DOUBLE_EQ(whole.perplexity, std::exp(s / 19));
}

TEST(Perplexity, TokenNllIsStable) {
  // log_softmax([0, ln 3]) = [-ln 4, ln 3 - ln 4].
  const float a[] = {0.0f, float(std::log(3.0))};
  EXPECT_NEAR(token_nll(a, 2, 0), std::log(4.0), 1e-7);
  EXPECT_NEAR(token_nll(a, 2, 1), std::log(4.0 / 3.0), 1e-7);
  // Shifted by 1e4 (exp would overflow without the max subtraction): same values up to f32 rounding of ln 3.
  const float b[] = {1e4f, 1e4f + float(std::log(3.0))};
  EXPECT_NEAR(token_nll(b, 2, 0), std::log(4.0), 1e-3);
  const float c[] = {-1e4f, 0.0f, 50.0f};  // -inf-like entries contribute exp(-large) = 0, not NaN
  EXPECT_NEAR(token_nll(c, 3, 2), std::log1p(std::exp(-50.0)), 1e-15);
  EXPECT_NEAR(token_nll(c, 3, 0), 1e4 + 50.0, 1e-9);
  const float inf = std::numeric_limits<float>::infinity();
  const float d[] = {-inf, 0.0f};
  EXPECT_EQ(token_nll(d, 2, 1), 0.0);
  EXPECT_EQ(token_nll(d, 2, 0), std::numeric_limits<double>::infinity());
  const float e[] = {std::nanf(""), 0.0f};
  EXPECT_TRUE(std::isnan(token_nll(e, 2, 1)));
  const float f[] = {inf, 0.0f};
  EXPECT_TRUE(std::isnan(token_nll(f, 2, 0)));
}

TEST(Perplexity, CompareLogitsTensors) {
  Tensor a = Tensor::zeros({1, 2, 3}), b = Tensor::zeros({1, 2, 3});
  float* pa = a.data<float>();
  float* pb = b.data<float>();
  pa[0] = 1.0f;  // row 0 argmax 0 in a
  pb[1] = 0.5f;  // row 0 argmax 1 in b: differs
  pa[5] = 2.0f;
  pb[5] = 2.25f;  // row 1 argmax 2 in both
  const LogitDiff d = compare_logits(a, b);
  EXPECT_DOUBLE_EQ(d.max_abs, 1.0);
  EXPECT_DOUBLE_EQ(d.mean_abs, (1.0 + 0.5 + 0.25) / 6);
  EXPECT_EQ(d.positions, 2);
  EXPECT_EQ(d.top1_same, 1);
  EXPECT_DOUBLE_EQ(d.top1_agreement(), 0.5);
  pb[2] = std::nanf("");
  EXPECT_TRUE(std::isnan(compare_logits(a, b).max_abs));
  const std::string msg = message_of<ShapeError>([] { compare_logits(Tensor::zeros({2, 3}), Tensor::zeros({3, 3})); });
  EXPECT_NE(msg.find("[2, 3]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[3, 3]"), std::string::npos) << msg;
}

TEST(Perplexity, CompareLogitsModels) {
  const std::vector<int64_t> ids = {5, 17, 3, 100, 42, 7, 198, 0};
  const LogitDiff same = compare_logits(fixture_model("llama"), fixture_model("llama"), ids);
  EXPECT_EQ(same.max_abs, 0.0);
  EXPECT_EQ(same.positions, 8);
  EXPECT_EQ(same.top1_same, 8);
  // Different vocabularies (199 vs 173) are refused by name.
  const std::string msg = message_of<ValueError>(
      [&] { compare_logits(fixture_model("llama"), fixture_model("gpt2"), ids); });
  EXPECT_NE(msg.find("vocab_size"), std::string::npos) << msg;
  EXPECT_NE(msg.find("199"), std::string::npos) << msg;
  EXPECT_NE(msg.find("173"), std::string::npos) << msg;
}

// The accuracy-table path: the same model with its linear weights stored as f16 / bf16 (Model::quantize; the
// tiny LLaMA's 48 in-features fit no 32-block, so block formats would leave it f32). Bounds: f16 keeps 11
// significant bits and bf16 8, so the logits (spread over ~+-10 here) move by ~1e-2 and ~1e-1 at most;
// measured 0.021 / 0.18 max, perplexity 884.24 / 885.16 against 884.17 for f32.
TEST(Perplexity, ReducedPrecisionWeights) {
  const json::Value ref = reference();
  const json::Value& c = ref.find("cases")->as_array()[0];  // llama, ctx 32, stride 16
  std::vector<int64_t> ids;
  for (const auto& v : c.find("ids")->as_array()) ids.push_back(v.as_int());
  const PerplexityOptions opt{c.find("ctx")->as_int(), c.find("stride")->as_int()};
  const double f32_ppl = perplexity(fixture_model("llama"), ids, opt).perplexity;
  struct Case {
    WeightFormat f;
    double max_diff, top1, ppl_rel;
  };
  for (const Case& k : {Case{WeightFormat::f16, 0.1, 0.98, 1e-3}, Case{WeightFormat::bf16, 0.5, 0.9, 1e-2}}) {
    SCOPED_TRACE(weight_format_name(k.f));
    auto q = load_model(fixture_dir("llama"));
    q->quantize(k.f);
    ASSERT_FALSE(q->weight_formats().empty());
    const LogitDiff d = compare_logits(fixture_model("llama"), *q, ids);
    EXPECT_GT(d.max_abs, 0.0);
    EXPECT_LT(d.max_abs, k.max_diff);
    EXPECT_LE(d.mean_abs, d.max_abs);
    EXPECT_GE(d.top1_agreement(), k.top1);
    const double ppl = perplexity(*q, ids, opt).perplexity;
    EXPECT_LT(rel(ppl, f32_ppl), k.ppl_rel) << ppl << " vs " << f32_ppl;
    std::printf("[perplexity] %s: max |dlogit| %.3g, mean %.3g, top-1 %.3f, perplexity %.4f (f32 %.4f)\n",
                weight_format_name(k.f), d.max_abs, d.mean_abs, d.top1_agreement(), ppl, f32_ppl);
  }
}

TEST(Perplexity, RefusesBadInput) {
  Model& m = fixture_model("llama");
  const std::vector<int64_t> ids = {1, 2, 3, 4, 5, 6};
  auto expect = [&](const std::function<void()>& f, std::initializer_list<const char*> parts) {
    const std::string msg = message_of<ValueError>(f);
    for (const char* p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  };
  expect([&] { perplexity(m, ids, {1, 1}); }, {"ctx", ">= 2", "got 1"});
  expect([&] { perplexity(m, ids, {4, 5}); }, {"stride", "[1, ctx = 4]", "got 5"});
  expect([&] { perplexity(m, ids, {4, 0}); }, {"stride", "got 0"});
  expect([&] { perplexity(m, {7}, {4, 2}); }, {"at least 2 tokens", "got 1"});
  expect([&] { perplexity(m, {}, {4, 2}); }, {"at least 2 tokens", "got 0"});
  expect([&] { perplexity(m, {1, 2, 199}, {4, 2}); }, {"id 199", "position 2", "[0, 199)"});
  expect([&] { perplexity(m, {1, -1}, {4, 2}); }, {"id -1", "position 1"});
  expect([&] { perplexity(m, ids, {129, 64}); }, {"ctx 129", "128 positions"});
  expect([&] { perplexity(fixture_model("gpt2"), ids, {65, 64}); }, {"ctx 65", "64 positions"});
  expect([&] { perplexity(fixture_model("bert"), ids, {4, 2}); }, {"causal language model", "bert"});
  expect([&] { perplexity(fixture_model("t5"), ids, {4, 2}); }, {"causal language model", "t5", "encoder-decoder"});
  expect([&] { compare_logits(fixture_model("bert"), m, ids); }, {"compare_logits", "bert"});
  expect([&] { compare_logits(m, m, {}); }, {"no token ids"});
}

}  // namespace
}  // namespace tl::models::test
