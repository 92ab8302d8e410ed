// tl::sgemm on every backend against sgemm_naive: odd sizes, all transposes, alpha/beta, padded leading
// dimensions, zero sizes, and beta == 0 never reading C.
#include <gtest/gtest.h>

#include <cmath>

#include "gemm_test_util.h"
#include "tl/error.h"
#include "tl/gemm.h"
#include "tl/threading.h"

namespace tl::test {
namespace {

struct Case {
  int64_t m, n, k;
  float alpha, beta;
  int64_t pad;  // extra elements per row: leading dims > width
};

// Odd sizes around the kernels' block edges (8-lane vectors, 4-row groups, 16-wide unrolls), vector shapes.
const Case kCases[] = {
    {1, 1, 1, 1.0f, 0.0f, 0},    {3, 17, 65, 1.0f, 0.0f, 0},  {17, 3, 129, 0.5f, 2.0f, 3},
    {65, 129, 17, -1.0f, 1.0f, 1}, {129, 65, 3, 1.0f, 0.0f, 5}, {1, 129, 65, 1.0f, 0.0f, 0},
    {1, 1030, 17, 2.0f, -1.0f, 2}, {1, 17, 1, 1.0f, 0.5f, 0},   {129, 1, 65, 1.0f, 0.0f, 7},
    {65, 1, 129, 0.25f, 1.0f, 0},  {1, 65, 129, 1.0f, 3.0f, 9}, {3, 1, 1, 1.0f, 0.0f, 0},
    {1, 3, 1031, 1.0f, 0.0f, 1},   {33, 31, 1, 1.0f, 0.0f, 0},  {2, 2, 2, 1.5f, 0.5f, 0},
    // Vector products above the GEMV's 1M multiply-add threading threshold: split over threads.
    {1, 3001, 701, 1.0f, 0.5f, 3}, {3001, 1, 701, 0.5f, 0.0f, 1},
};

struct Result {
  float max_err = 0, max_ratio = 0;
};

// Runs one case on the active backend and compares with sgemm_naive (error / tolerance must stay <= 1).
Result run_case(const Case& cs, bool ta, bool tb, uint32_t seed) {
  Mat a(ta ? cs.k : cs.m, ta ? cs.m : cs.k, cs.pad, seed);
  Mat b(tb ? cs.n : cs.k, tb ? cs.k : cs.n, cs.pad, seed + 1);
  Mat c(cs.m, cs.n, cs.pad, seed + 2);
  Mat ref = c, abs_a = a, abs_b = b, scale = c;
  for (auto* mt : {&abs_a, &abs_b, &scale})
    for (float& x : mt->v) x = std::fabs(x);
  sgemm(ta, tb, cs.m, cs.n, cs.k, cs.alpha, a.p(), a.ld, b.p(), b.ld, cs.beta, c.p(), c.ld);
  sgemm_naive(ta, tb, cs.m, cs.n, cs.k, cs.alpha, a.p(), a.ld, b.p(), b.ld, cs.beta, ref.p(), ref.ld);
  sgemm_naive(ta, tb, cs.m, cs.n, cs.k, std::fabs(cs.alpha), abs_a.p(), abs_a.ld, abs_b.p(), abs_b.ld,
              std::fabs(cs.beta), scale.p(), scale.ld);
  Result r;
  for (int64_t i = 0; i < cs.m; ++i) {
    for (int64_t j = 0; j < c.ld; ++j) {
      if (j >= cs.n) {  // padding of C is never written
        EXPECT_EQ(c.at(i, j), ref.at(i, j)) << "padding written at " << i << "," << j;
        continue;
      }
      float err = std::fabs(c.at(i, j) - ref.at(i, j));
      r.max_err = std::max(r.max_err, err);
      r.max_ratio = std::max(r.max_ratio, err / tolerance(cs.k, scale.at(i, j)));
    }
  }
  return r;
}

class SgemmBackend : public ::testing::TestWithParam<GemmBackend> {};

TEST_P(SgemmBackend, MatchesNaiveOnOddSizesAllTransposes) {
  UseBackend use(GetParam());
  uint32_t seed = 1;
  for (const Case& cs : kCases) {
    for (int t = 0; t < 4; ++t) {
      bool ta = t & 1, tb = t & 2;
      Result r = run_case(cs, ta, tb, seed += 3);
      // error <= 2 (k + 2) eps (|alpha| sum|a b| + |beta c|), see tolerance()
      EXPECT_LE(r.max_ratio, 1.0f) << gemm_backend_name(GetParam()) << " m=" << cs.m << " n=" << cs.n
                                   << " k=" << cs.k << " ta=" << ta << " tb=" << tb << " max_err=" << r.max_err;
    }
  }
}

TEST_P(SgemmBackend, BetaZeroNeverReadsC) {
  UseBackend use(GetParam());
  const float nan = std::nanf("");
  for (auto [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{17, 65, 33}, {1, 200, 17}, {40, 1, 9}, {1, 1, 5}}) {
    for (int t = 0; t < 4; ++t) {
      bool ta = t & 1, tb = t & 2;
      Mat a(ta ? k : m, ta ? m : k, 0, 7), b(tb ? n : k, tb ? k : n, 0, 8), c(m, n, 0, 9), ref(m, n, 0, 9);
      for (float& x : c.v) x = nan;
      sgemm(ta, tb, m, n, k, 1.0f, a.p(), a.ld, b.p(), b.ld, 0.0f, c.p(), c.ld);
      sgemm_naive(ta, tb, m, n, k, 1.0f, a.p(), a.ld, b.p(), b.ld, 0.0f, ref.p(), ref.ld);
      for (size_t i = 0; i < c.v.size(); ++i)
        ASSERT_FALSE(std::isnan(c.v[i])) << "NaN from C leaked, m=" << m << " n=" << n << " k=" << k;
    }
  }
}

TEST_P(SgemmBackend, ZeroSizes) {
  UseBackend use(GetParam());
  Mat a(4, 4, 0, 1), b(4, 4, 0, 2), c(4, 4, 0, 3);
  const std::vector<float> before = c.v;
  // m == 0 or n == 0: nothing to do, C untouched; null pointers allowed when an operand is empty.
  sgemm(false, false, 0, 4, 4, 1.0f, nullptr, 4, b.p(), 4, 1.0f, c.p(), 4);
  sgemm(false, false, 4, 0, 4, 1.0f, a.p(), 4, nullptr, 1, 1.0f, c.p(), 1);
  EXPECT_EQ(c.v, before);
  // k == 0: C = beta * C; with beta == 0, C = 0 even if it held NaN.
  sgemm(false, false, 4, 4, 0, 1.0f, nullptr, 1, nullptr, 4, 2.0f, c.p(), 4);
  for (size_t i = 0; i < c.v.size(); ++i) EXPECT_EQ(c.v[i], 2.0f * before[i]);
  for (float& x : c.v) x = std::nanf("");
  sgemm(false, false, 4, 4, 0, 1.0f, nullptr, 1, nullptr, 4, 0.0f, c.p(), 4);
  for (float x : c.v) EXPECT_EQ(x, 0.0f);
  // alpha == 0: op(A) op(B) is not evaluated (BLAS semantics).
  for (float& x : c.v) x = 1.0f;
  sgemm(false, false, 4, 4, 4, 0.0f, a.p(), 4, b.p(), 4, 3.0f, c.p(), 4);
  for (float x : c.v) EXPECT_EQ(x, 3.0f);
}

TEST_P(SgemmBackend, OneThreadGivesSameAnswer) {
  UseBackend use(GetParam());
  const int saved = num_threads();
  set_num_threads(1);
  Result r = run_case({33, 47, 65, 1.0f, 0.5f, 2}, false, true, 99);
  set_num_threads(saved);
  EXPECT_LE(r.max_ratio, 1.0f);
}

INSTANTIATE_TEST_SUITE_P(All, SgemmBackend, ::testing::ValuesIn(all_backends()),
                         [](const auto& info) { return gemm_backend_name(info.param); });

// ---- selection and errors ----

TEST(GemmSelect, NamesRoundTrip) {
  for (GemmBackend b : all_backends()) EXPECT_EQ(parse_gemm_backend(gemm_backend_name(b)), b);
  for (BatchMode m : {BatchMode::kAuto, BatchMode::kSerial, BatchMode::kParallel, BatchMode::kPrimitive})
    EXPECT_EQ(parse_batch_mode(batch_mode_name(m)), m);
  UseBackend use(GemmBackend::kOpenBlas);
  EXPECT_EQ(gemm_backend(), "openblas");
  set_gemm_backend(GemmBackend::kAuto);
  EXPECT_EQ(gemm_backend(), "blocked+gemv");
  EXPECT_FALSE(openblas_corename().empty());
}

template <class F>
void expect_value_error(F&& f, std::initializer_list<const char*> words) {
  try {
    f();
    ADD_FAILURE() << "expected tl::ValueError";
  } catch (const ValueError& e) {
    std::string msg = e.what();
    for (const char* w : words) EXPECT_NE(msg.find(w), std::string::npos) << "message lacks \"" << w << "\": " << msg;
  }
}

TEST(GemmErrors, BadNamesListTheChoices) {
  expect_value_error([] { parse_gemm_backend("mkl"); }, {"mkl", "TL_GEMM", "onednn", "openblas"});
  expect_value_error([] { parse_batch_mode("fast"); }, {"fast", "TL_GEMM_BATCH", "parallel"});
}

TEST(GemmErrors, BadArgumentsNameTheArgument) {
  std::vector<float> buf(64, 0.0f);
  float* p = buf.data();
  expect_value_error([&] { sgemm(false, false, -1, 2, 2, 1, p, 2, p, 2, 0, p, 2); }, {"sgemm", "m = -1", ">= 0"});
  expect_value_error([&] { sgemm(false, false, 2, 2, 3, 1, p, 2, p, 2, 0, p, 2); },
                     {"lda = 2", "[2, 3]", "lda >= 3"});
  expect_value_error([&] { sgemm(true, false, 4, 2, 3, 1, p, 3, p, 2, 0, p, 2); },
                     {"lda = 3", "[3, 4]", "transposed", "lda >= 4"});
  expect_value_error([&] { sgemm(false, true, 2, 5, 3, 1, p, 3, p, 2, 0, p, 5); }, {"ldb = 2", "ldb >= 3"});
  expect_value_error([&] { sgemm(false, false, 2, 5, 3, 1, p, 3, p, 5, 0, p, 4); }, {"ldc = 4", "ldc >= 5"});
  expect_value_error([&] { sgemm(false, false, 2, 2, 2, 1, nullptr, 2, p, 2, 0, p, 2); }, {"A is null"});
  expect_value_error([&] { sgemm(false, false, 2, 2, 2, 1, p, 2, p, 2, 0, nullptr, 2); }, {"C is null"});
}

}  // namespace
}  // namespace tl::test
