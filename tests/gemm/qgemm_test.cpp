// tl::qgemm (y = x W^T, W in a weight format) against qgemm_naive over every format and edge sizes, and
// qgemm_naive against NumPy (scripts/gen_quant_fixtures.py).
//
// Tolerance: both sides use the same dequantised weights (exact), so the only difference is the summation:
// qgemm accumulates in f32 in its own order (FMA), the reference in double. We allow 1e-5 relative to
// sum_p |x_p w_p| (+ |y| when accumulating). The worst-case f32 bound k * eps * sum|x w| is larger for
// k > 84, but rounding errors of random signs grow like sqrt(k) eps (~3e-6 at k = 768); the measured
// maxima are printed.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "tl/error.h"
#include "tl/npy.h"
#include "tl/quant.h"
#include "tl/threading.h"

#include "qgemm_test_util.h"

namespace tl::test {
namespace {

Tensor fixture(const std::string& name) { return read_npy(std::string(TL_FIXTURE_DIR) + "/quant/" + name + ".npy"); }

struct Result {
  double worst = 0;  // max |got - want| / scale
};

// Runs qgemm and qgemm_naive on the same inputs (x rows padded by 3 floats, y rows by 2) and compares.
Result compare(WeightFormat f, int64_t m, int64_t n, int64_t k, bool accumulate, uint32_t seed) {
  const std::vector<uint8_t> w = random_weight(f, n, k, seed);
  std::mt19937 g(seed + 1);
  std::uniform_real_distribution<float> ud(-1.0f, 1.0f);
  const int64_t ldx = k + 3, ldy = n + 2;
  std::vector<float> x(size_t(std::max<int64_t>(1, m * ldx)), 777.0f), y0(size_t(std::max<int64_t>(1, m * ldy)), -555.0f);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t p = 0; p < k; ++p) x[size_t(i * ldx + p)] = ud(g);
    for (int64_t j = 0; j < n; ++j) y0[size_t(i * ldy + j)] = ud(g);
  }
  std::vector<float> got = y0, want = y0;
  qgemm(m, n, k, x.data(), ldx, w.data(), f, got.data(), ldy, accumulate);
  qgemm_naive(m, n, k, x.data(), ldx, w.data(), f, want.data(), ldy, accumulate);
  // scale: sum_p |x_p w_p| (+ |y0|), from the dequantised weights.
  Tensor dq = Tensor::empty({n, k});
  for (int64_t j = 0; j < n; ++j) dequantize_row(f, w.data() + j * weight_row_bytes(f, k), dq.data<float>() + j * k, k);
  Result r;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < ldy; ++j) {
      const size_t at = size_t(i * ldy + j);
      if (j >= n) {  // padding untouched
        EXPECT_EQ(got[at], -555.0f) << "padding written at row " << i << " col " << j;
        continue;
      }
      double scale = accumulate ? std::fabs(y0[at]) : 0.0;
      for (int64_t p = 0; p < k; ++p) scale += std::fabs(double(x[size_t(i * ldx + p)]) * dq.data<float>()[j * k + p]);
      const double err = std::fabs(double(got[at]) - want[at]) / std::max(scale, 1e-30);
      EXPECT_LE(err, 1e-5) << weight_format_name(f) << " m=" << m << " n=" << n << " k=" << k << " acc=" << accumulate
                           << " at (" << i << ", " << j << "): " << got[at] << " vs " << want[at];
      r.worst = std::max(r.worst, err);
    }
  return r;
}

class QgemmFormats : public ::testing::TestWithParam<WeightFormat> {};

TEST_P(QgemmFormats, EdgeSizesMatchNaive) {
  const WeightFormat f = GetParam();
  const int64_t blk = std::max<int64_t>(weight_format_block(f), 32);  // plain formats: k = 32, 64, 96 (+ odd k below)
  double worst = 0;
  uint32_t seed = 1;
  const int64_t ms[] = {1, 2, 3, 4, 5, 6, 7, 16, 33};
  const int64_t ns[] = {1, 2, 7, 8, 15, 16, 17, 31, 37};
  for (int64_t kb = 1; kb <= 3; ++kb) {
    const int64_t k = kb * blk;
    for (int64_t m : ms)
      for (int64_t n : ns)
        for (bool acc : {false, true}) {
          if ((m + n + kb) % 2 == 0 && !(m <= 2 && n <= 2)) continue;  // half the grid, all corners kept
          worst = std::max(worst, compare(f, m, n, k, acc, seed++).worst);
          if (HasFailure()) return;
        }
  }
  if (weight_format_block(f) == 1)  // odd k for the plain formats
    for (int64_t k : {1, 3, 13, 33})
      for (int64_t m : {1, 4, 9}) worst = std::max(worst, compare(f, m, 19, k, m == 4, seed++).worst);
  std::printf("  %s: max |qgemm - naive| / sum|x w| = %.3g\n", weight_format_name(f), worst);
}

// Sizes that take the threaded paths (several row chunks, several KC slices and panels).
TEST_P(QgemmFormats, LargerSizesMatchNaive) {
  const WeightFormat f = GetParam();
  const int64_t k = weight_format_block(f) == 256 ? 512 : 320;
  double worst = 0;
  for (int64_t m : {1, 3, 40}) worst = std::max(worst, compare(f, m, 300, k, m == 3, 99).worst);
  std::printf("  %s: max rel error at larger sizes = %.3g\n", weight_format_name(f), worst);
}

// The decoders produce exactly dequantize_row's values: with x = unit rows, y[i, j] = 1 * W[j, i] + sum of
// exact zeros, so both paths (m = 1 GEMV for a few columns, m = k GEMM for all) must return W^T bit for bit.
TEST_P(QgemmFormats, DecodedWeightsExact) {
  const WeightFormat f = GetParam();
  const int64_t k = weight_format_block(f) == 256 ? 512 : 96, n = 21;
  const std::vector<uint8_t> w = random_weight(f, n, k, 77);
  const int64_t rb = weight_row_bytes(f, k);
  std::vector<float> want(size_t(n * k));
  for (int64_t j = 0; j < n; ++j) dequantize_row(f, w.data() + j * rb, want.data() + j * k, k);
  std::vector<float> eye(size_t(k * k), 0.0f), y(size_t(k * n));
  for (int64_t i = 0; i < k; ++i) eye[size_t(i * k + i)] = 1.0f;
  qgemm(k, n, k, eye.data(), k, w.data(), f, y.data(), n);  // GEMM path
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < n; ++j)
      ASSERT_EQ(y[size_t(i * n + j)], want[size_t(j * k + i)]) << weight_format_name(f) << " GEMM (" << i << ", " << j << ")";
  for (int64_t i : {int64_t(0), int64_t(31), k / 2 + 3, k - 1}) {  // GEMV path
    std::vector<float> y1(static_cast<size_t>(n));
    qgemm(1, n, k, eye.data() + i * k, k, w.data(), f, y1.data(), n);
    for (int64_t j = 0; j < n; ++j)
      ASSERT_EQ(y1[size_t(j)], want[size_t(j * k + i)]) << weight_format_name(f) << " GEMV (" << i << ", " << j << ")";
  }
}

INSTANTIATE_TEST_SUITE_P(All, QgemmFormats, ::testing::ValuesIn(all_weight_formats()),
                         [](const auto& i) { return std::string(weight_format_name(i.param)); });

// qgemm_naive against NumPy: y = x @ dequantize(W)^T in float64, rounded to f32. Rows of W with a non-finite
// dequantised value (the fixture's overflowing scale) are skipped. Tolerance: one f32 rounding of the result
// (both sides sum in double): 2 ulp of |y| + 1e-6 absolute.
TEST(QgemmNaive, MatchesNumpy) {
  const Tensor x = fixture("qgemm_x");  // [3, 512]
  for (const char* name : {"q8_0", "q4_0", "q4_1", "q4_k", "q6_k"}) {
    const WeightFormat f = weight_format_from_name(name);
    const Tensor q = fixture(std::string(name) + "_q");
    const Tensor deq = fixture(std::string(name) + "_deq");
    const Tensor want = fixture(std::string("qgemm_") + name + "_y");
    const int64_t n = deq.shape()[0], k = deq.shape()[1];
    std::vector<float> y(size_t(3 * n));
    qgemm_naive(3, n, k, x.data<float>(), 512, q.raw_data(), f, y.data(), n);
    double worst = 0;
    for (int64_t j = 0; j < n; ++j) {
      bool finite = true;
      for (int64_t p = 0; p < k; ++p) finite = finite && std::isfinite(deq.data<float>()[j * k + p]);
      if (!finite) continue;
      for (int64_t i = 0; i < 3; ++i) {
        const float w = want.data<float>()[i * n + j], g = y[size_t(i * n + j)];
        const double d = std::fabs(double(g) - w);
        EXPECT_LE(d, 2.4e-7 * std::fabs(w) + 1e-6) << name << " (" << i << ", " << j << ")";
        worst = std::max(worst, d);
      }
    }
    std::printf("  %s: max |naive - numpy| = %.3g\n", name, worst);
  }
}

TEST(Qgemm, Errors) {
  std::vector<float> x(64), y(4);
  const std::vector<uint8_t> w = random_weight(WeightFormat::q8_0, 2, 64, 5);
  auto expect = [](auto&& f, std::initializer_list<std::string> frags) {
    try {
      f();
      ADD_FAILURE() << "no exception";
    } catch (const ValueError& e) {
      for (const auto& s : frags) EXPECT_NE(std::string(e.what()).find(s), std::string::npos) << e.what();
    }
  };
  expect([&] { qgemm(1, 2, 48, x.data(), 64, w.data(), WeightFormat::q8_0, y.data(), 2); }, {"qgemm", "q8_0", "48"});
  expect([&] { qgemm(1, 2, 64, x.data(), 32, w.data(), WeightFormat::q8_0, y.data(), 2); }, {"ldx = 32", "k = 64"});
  expect([&] { qgemm(1, 2, 64, x.data(), 64, w.data(), WeightFormat::q8_0, y.data(), 1); }, {"ldy = 1", "n = 2"});
  expect([&] { qgemm(1, 2, 64, nullptr, 64, w.data(), WeightFormat::q8_0, y.data(), 2); }, {"null", "x"});
  expect([&] { qgemm(-1, 2, 64, x.data(), 64, w.data(), WeightFormat::q8_0, y.data(), 2); }, {"m = -1"});
  expect([&] { qgemm_naive(1, 2, 100, x.data(), 100, w.data(), WeightFormat::q4_k, y.data(), 2); },
         {"qgemm_naive", "q4_k", "256"});
  // m == 0 or n == 0: nothing to do, nothing read.
  qgemm(0, 2, 64, nullptr, 64, nullptr, WeightFormat::q8_0, nullptr, 2);
  qgemm(3, 0, 64, x.data(), 64, nullptr, WeightFormat::q8_0, y.data(), 0);
}

// The result must not depend on the thread count (each y element is summed by one thread in a fixed order),
// on both paths (sizes above the one-thread thresholds).
TEST(Qgemm, ThreadCountInvariant) {
  const int64_t n = 300, k = 2048;
  const std::vector<uint8_t> w = random_weight(WeightFormat::q4_0, n, k, 11);
  for (int64_t m : {2, 8}) {
    std::vector<float> x(size_t(m * k));
    std::mt19937 g(4);
    std::uniform_real_distribution<float> ud(-1.0f, 1.0f);
    for (auto& v : x) v = ud(g);
    const int saved = num_threads();
    std::vector<float> y1(size_t(m * n)), y2(size_t(m * n));
    set_num_threads(1);
    qgemm(m, n, k, x.data(), k, w.data(), WeightFormat::q4_0, y1.data(), n);
    set_num_threads(2);
    qgemm(m, n, k, x.data(), k, w.data(), WeightFormat::q4_0, y2.data(), n);
    set_num_threads(saved);
    EXPECT_EQ(std::memcmp(y1.data(), y2.data(), y1.size() * 4), 0) << "m = " << m;
  }
}

}  // namespace
}  // namespace tl::test

namespace tl::test {
namespace {

// sum_p |x_p| |w_p| per output (the scale of the rounding bounds below), W dequantised.
std::vector<double> abs_scale(int64_t m, int64_t n, int64_t k, const std::vector<float>& x, const void* w,
                              WeightFormat f) {
  std::vector<float> row(static_cast<size_t>(k));
  std::vector<double> s(static_cast<size_t>(m * n), 0.0);
  const int64_t rb = weight_row_bytes(f, k);
  for (int64_t j = 0; j < n; ++j) {
    dequantize_row(f, static_cast<const uint8_t*>(w) + j * rb, row.data(), k);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t p = 0; p < k; ++p) s[size_t(i * n + j)] += std::fabs(double(x[size_t(i * k + p)]) * row[size_t(p)]);
  }
  return s;
}

}  // namespace

// The int8-activation path (ActivationPrecision::int8): equal to its reference (same rounded x, exact integer
// block dots) up to f32 summation, within the activation-rounding bound of the f32 result, thread-count
// independent, and declining what it does not cover.
TEST(QgemmInt8, MatchesItsReferenceAndBoundsTheRounding) {
  std::mt19937 g(11);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  double worst_ref = 0, worst_f32 = 0;
  for (WeightFormat f : {WeightFormat::q8_0, WeightFormat::q4_0})
    for (int64_t m : {1, 2, 3, 4})
      for (int64_t k : {32, 96, 2048}) {
        // 37 rows: four 8-row groups (q4_0's transposed kernel) and a remainder; 300 x 2048 runs threaded.
        const int64_t n = k == 2048 ? 300 : 37;
        SCOPED_TRACE(std::string(weight_format_name(f)) + " m " + std::to_string(m) + " k " + std::to_string(k));
        const std::vector<uint8_t> w = random_weight(f, n, k, uint32_t(m * 100 + k));
        std::vector<float> x(static_cast<size_t>(m * k));
        for (float& v : x) v = nd(g) * (nd(g) > 1.5f ? 20.0f : 1.0f);  // a few outliers: coarse blocks
        std::vector<float> got(static_cast<size_t>(m * n)), want(got.size()), f32(got.size()), one(got.size());
        ASSERT_TRUE(qgemm_int8(m, n, k, x.data(), k, w.data(), f, got.data(), n));
        ASSERT_TRUE(qgemm_int8_naive(m, n, k, x.data(), k, w.data(), f, want.data(), n));
        qgemm_naive(m, n, k, x.data(), k, w.data(), f, f32.data(), n);
        const int saved = num_threads();
        set_num_threads(1);
        ASSERT_TRUE(qgemm_int8(m, n, k, x.data(), k, w.data(), f, one.data(), n));
        set_num_threads(saved);
        EXPECT_EQ(std::memcmp(one.data(), got.data(), got.size() * sizeof(float)), 0);
        std::vector<float> acc(got.size(), 0.5f);  // accumulate: y + product, the same f32 addition
        ASSERT_TRUE(qgemm_int8(m, n, k, x.data(), k, w.data(), f, acc.data(), n, true));
        for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(acc[i], 0.5f + got[i]) << i;
        const std::vector<double> s = abs_scale(m, n, k, x, w.data(), f);
        for (size_t i = 0; i < got.size(); ++i) {
          // f32 sums of exact block dots: 1e-5 of sum |x w| as qgemm's own tolerance.
          EXPECT_LE(std::fabs(got[i] - want[i]), 1e-5 * s[i] + 1e-30) << i;
          worst_ref = std::max(worst_ref, std::fabs(got[i] - want[i]) / s[i]);
          worst_f32 = std::max(worst_f32, std::fabs(double(want[i]) - f32[i]) / s[i]);
        }
        // Rounding x to d_x * q moves each x by at most d_x / 2 = max|x_b| / 254, so the int8 result differs from
        // the f32 one by at most sum over blocks b of (max|x_b| / 254) * sum_b |w|.
        const int64_t rb = weight_row_bytes(f, k);
        std::vector<float> row(static_cast<size_t>(k));
        for (int64_t j = 0; j < n; ++j) {
          dequantize_row(f, w.data() + j * rb, row.data(), k);
          for (int64_t i = 0; i < m; ++i) {
            double bound = 0;
            for (int64_t b = 0; b < k / 32; ++b) {
              double amax = 0, wsum = 0;
              for (int t = 0; t < 32; ++t) {
                amax = std::max(amax, std::fabs(double(x[size_t(i * k + b * 32 + t)])));
                wsum += std::fabs(double(row[size_t(b * 32 + t)]));
              }
              bound += amax / 254.0 * wsum;
            }
            EXPECT_LE(std::fabs(double(want[size_t(i * n + j)]) - f32[size_t(i * n + j)]), bound * 1.0001 + 1e-6);
          }
        }
      }
  std::printf("[qgemm int8] max |fast - reference| / sum|xw| %.2e; max |int8 - f32 activations| / sum|xw| %.2e\n",
              worst_ref, worst_f32);
  // The switch routes qgemm through it for m <= 4; other formats, m > 4 and non-finite x decline.
  const std::vector<uint8_t> w8 = random_weight(WeightFormat::q8_0, 8, 64, 5);
  std::vector<float> x(4 * 64, 0.5f), a(32), b(32);
  set_activation_precision(ActivationPrecision::int8);
  qgemm(4, 8, 64, x.data(), 64, w8.data(), WeightFormat::q8_0, a.data(), 8);
  set_activation_precision(ActivationPrecision::f32);
  ASSERT_TRUE(qgemm_int8(4, 8, 64, x.data(), 64, w8.data(), WeightFormat::q8_0, b.data(), 8));
  EXPECT_EQ(a, b);
  EXPECT_EQ(activation_precision(), ActivationPrecision::f32);
  const std::vector<uint8_t> w41 = random_weight(WeightFormat::q4_1, 8, 64, 6);
  EXPECT_FALSE(qgemm_int8(1, 8, 64, x.data(), 64, w41.data(), WeightFormat::q4_1, b.data(), 8));
  std::vector<float> x5(5 * 64, 1.0f), y5(5 * 8);
  EXPECT_FALSE(qgemm_int8(5, 8, 64, x5.data(), 64, w8.data(), WeightFormat::q8_0, y5.data(), 8));
  x[3] = std::numeric_limits<float>::infinity();
  EXPECT_FALSE(qgemm_int8(1, 8, 64, x.data(), 64, w8.data(), WeightFormat::q8_0, b.data(), 8));
  EXPECT_THROW(qgemm_int8(1, 8, 60, x.data(), 64, w8.data(), WeightFormat::q8_0, b.data(), 8), ValueError);
}

}  // namespace tl::test
