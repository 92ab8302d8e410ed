// tl::sgemm_batched: every backend x batch mode against per-item sgemm_naive, with broadcast (stride 0)
// operands, padded strides and transposes; error paths for strides.
#include <gtest/gtest.h>

#include <cmath>

#include "gemm/gemm_internal.h"
#include "gemm_test_util.h"
#include "tl/error.h"

namespace tl::test {
namespace {

struct BCase {
  int64_t batch, m, n, k;
  bool ta, tb, bcast_a, bcast_b;
  float alpha, beta;
};

const BCase kBCases[] = {
    {3, 17, 9, 33, false, false, false, false, 1.0f, 0.0f},  // plain
    {4, 5, 31, 16, false, true, false, false, 0.125f, 0.0f}, // attention scores q k^T * scale
    {3, 13, 16, 29, false, false, false, true, 1.0f, 1.0f},  // shared weight (b broadcast), accumulate
    {2, 7, 11, 5, true, false, true, false, -1.0f, 0.5f},    // shared left operand, transposed
    {5, 1, 65, 17, false, false, false, false, 1.0f, 0.0f},  // batched decode rows (gemv path)
    {3, 33, 1, 17, true, true, false, false, 2.0f, 0.0f},    // batched column products
    {1, 9, 9, 9, false, false, false, false, 1.0f, 0.0f},    // batch of one
};

class Batched : public ::testing::TestWithParam<std::tuple<GemmBackend, BatchMode>> {};

TEST_P(Batched, MatchesNaivePerItem) {
  auto [be, mode] = GetParam();
  UseBackend use(be, mode);
  uint32_t seed = 11;
  for (const BCase& cs : kBCases) {
    const int64_t ar = cs.ta ? cs.k : cs.m, ac = cs.ta ? cs.m : cs.k;
    const int64_t br = cs.tb ? cs.n : cs.k, bc = cs.tb ? cs.k : cs.n;
    // Items are stacked with a gap of 3 elements; ld has 1 element of padding.
    const int64_t lda = ac + 1, ldb = bc + 1, ldc = cs.n + 1;
    const int64_t sa = cs.bcast_a ? 0 : ar * lda + 3, sb = cs.bcast_b ? 0 : br * ldb + 3, sc = cs.m * ldc + 3;
    Mat a(1, (cs.bcast_a ? 1 : cs.batch) * sa + ar * lda, 0, seed++);
    Mat b(1, (cs.bcast_b ? 1 : cs.batch) * sb + br * ldb, 0, seed++);
    Mat c(1, cs.batch * sc, 0, seed++);
    Mat ref = c, scale = c, abs_a = a, abs_b = b;
    for (auto* mt : {&abs_a, &abs_b, &scale})
      for (float& x : mt->v) x = std::fabs(x);
    sgemm_batched(cs.batch, cs.ta, cs.tb, cs.m, cs.n, cs.k, cs.alpha, a.p(), lda, sa, b.p(), ldb, sb, cs.beta, c.p(),
                  ldc, sc);
    for (int64_t i = 0; i < cs.batch; ++i) {
      sgemm_naive(cs.ta, cs.tb, cs.m, cs.n, cs.k, cs.alpha, a.p() + i * sa, lda, b.p() + i * sb, ldb, cs.beta,
                  ref.p() + i * sc, ldc);
      sgemm_naive(cs.ta, cs.tb, cs.m, cs.n, cs.k, std::fabs(cs.alpha), abs_a.p() + i * sa, lda, abs_b.p() + i * sb,
                  ldb, std::fabs(cs.beta), scale.p() + i * sc, ldc);
    }
    float worst = 0;
    for (size_t e = 0; e < c.v.size(); ++e) {
      int64_t in_item = int64_t(e) % sc;
      bool inside = in_item < cs.m * ldc && in_item % ldc < cs.n;
      if (!inside) {
        ASSERT_EQ(c.v[e], ref.v[e]) << "element " << e << " outside every output was written";
        continue;
      }
      worst = std::max(worst, std::fabs(c.v[e] - ref.v[e]) / tolerance(cs.k, scale.v[e]));
    }
    // error <= 2 (k + 2) eps (|alpha| sum|a b| + |beta c|), see tolerance()
    EXPECT_LE(worst, 1.0f) << gemm_backend_name(be) << "/" << batch_mode_name(mode) << " batch=" << cs.batch
                           << " m=" << cs.m << " n=" << cs.n << " k=" << cs.k;
  }
}

INSTANTIATE_TEST_SUITE_P(
    All, Batched,
    ::testing::Combine(::testing::ValuesIn(all_backends()),
                       ::testing::Values(BatchMode::kAuto, BatchMode::kSerial, BatchMode::kParallel,
                                         BatchMode::kPrimitive)),
    [](const auto& info) {
      return gemm_backend_name(std::get<0>(info.param)) + "_" + batch_mode_name(std::get<1>(info.param));
    });

TEST(BatchedEdge, ZeroBatchAndZeroK) {
  Mat c(1, 8, 0, 3);
  const std::vector<float> before = c.v;
  sgemm_batched(0, false, false, 2, 2, 2, 1.0f, nullptr, 2, 4, nullptr, 2, 4, 0.0f, c.p(), 2, 4);
  EXPECT_EQ(c.v, before);
  sgemm_batched(2, false, false, 2, 2, 0, 1.0f, nullptr, 1, 0, nullptr, 2, 0, 0.5f, c.p(), 2, 4);
  for (size_t i = 0; i < c.v.size(); ++i) EXPECT_EQ(c.v[i], 0.5f * before[i]);
}

// C laid out as [m, batch, n] (items side by side in each row, ldc = batch * n, stride_c = n): disjoint, accepted.
TEST_P(Batched, InterleavedOutputs) {
  auto [be, mode] = GetParam();
  UseBackend use(be, mode);
  const int64_t batch = 4, m = 9, n = 5, k = 7, ldc = batch * n;
  Mat a(1, batch * m * k, 0, 21), b(1, k * n, 0, 22), c(1, m * ldc, 0, 23);
  Mat ref = c;
  sgemm_batched(batch, false, false, m, n, k, 1.0f, a.p(), k, m * k, b.p(), n, 0, 0.0f, c.p(), ldc, n);
  for (int64_t i = 0; i < batch; ++i)
    sgemm_naive(false, false, m, n, k, 1.0f, a.p() + i * m * k, k, b.p(), n, 0.0f, ref.p() + i * n, ldc);
  for (size_t e = 0; e < c.v.size(); ++e)
    EXPECT_NEAR(c.v[e], ref.v[e], tolerance(k, float(k)));  // |a|, |b| <= 1: sum |a b| <= k
}

TEST(BatchedEdge, PrimitiveCacheReusesPrimitives) {
  UseBackend use(GemmBackend::kOneDnnMatmul, BatchMode::kPrimitive);
  Mat a(1, 3 * 8 * 8, 0, 1), b(1, 3 * 8 * 8, 0, 2), c(1, 3 * 8 * 8, 0, 3);
  sgemm_batched(3, false, false, 8, 8, 8, 1.0f, a.p(), 8, 64, b.p(), 8, 64, 0.0f, c.p(), 8, 64);
  const int64_t n = gemm_detail::onednn_matmul_cache_size();
  for (int i = 0; i < 3; ++i)
    sgemm_batched(3, false, false, 8, 8, 8, 1.0f, a.p(), 8, 64, b.p(), 8, 64, 0.0f, c.p(), 8, 64);
  EXPECT_EQ(gemm_detail::onednn_matmul_cache_size(), n);
  sgemm_batched(3, false, false, 8, 8, 8, 1.0f, a.p(), 8, 64, b.p(), 8, 64, 1.0f, c.p(), 8, 64);  // new beta
  EXPECT_EQ(gemm_detail::onednn_matmul_cache_size(), n + 1);
}

TEST(BatchedErrors, BadStridesAndBatch) {
  std::vector<float> buf(256, 0.0f);
  float* p = buf.data();
  auto expect = [](auto f, std::initializer_list<const char*> words) {
    try {
      f();
      ADD_FAILURE() << "expected tl::ValueError";
    } catch (const ValueError& e) {
      std::string msg = e.what();
      for (const char* w : words) EXPECT_NE(msg.find(w), std::string::npos) << msg;
    }
  };
  expect([&] { sgemm_batched(-2, false, false, 2, 2, 2, 1, p, 2, 4, p, 2, 4, 0, p, 2, 4); },
         {"sgemm_batched", "batch", "-2"});
  expect([&] { sgemm_batched(2, false, false, 2, 2, 2, 1, p, 2, -4, p, 2, 4, 0, p, 2, 4); },
         {"stride_a = -4", ">= 0"});
  expect([&] { sgemm_batched(2, false, false, 2, 3, 2, 1, p, 2, 4, p, 3, 6, 0, p, 3, 4); },
         {"stride_c = 4", "overlap", "stride_c >= 6"});
  expect([&] { sgemm_batched(3, false, false, 2, 3, 2, 1, p, 2, 4, p, 3, 6, 0, p, 8, 3); },  // 3 side by side need ldc 9
         {"stride_c = 3", "overlap", "side by side"});
  expect([&] { sgemm_batched(2, false, false, 2, 3, 2, 1, p, 2, 4, p, 2, 6, 0, p, 3, 6); }, {"ldb = 2", "ldb >= 3"});
}

}  // namespace
}  // namespace tl::test
