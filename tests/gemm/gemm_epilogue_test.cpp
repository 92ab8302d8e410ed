// GEMM epilogues (tl::GemmEpilogue): every element of C passes through the epilogue exactly once, after its
// last contribution, on every backend, both thread counts and k across several KC slices; the result equals the
// plain product followed by the same step bit for bit. qgemm's paths (blocked from quantised panels, GEMV, int8
// activations) likewise.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "gemm_test_util.h"
#include "qgemm_test_util.h"
#include "tl/quant.h"
#include "tl/threading.h"

namespace tl::test {
namespace {

// Squares each element and counts the visits: squaring before the last k slice landed would change the value
// (x^2 + rest != (x + rest)^2), and a second visit would square twice.
struct Square {
  int64_t ldc = 0;
  std::vector<int>* visits = nullptr;
};
void square_block(const void* ctx, float* c, int64_t ldc, int64_t i0, int64_t rows, int64_t j0, int64_t cols) {
  const auto& s = *static_cast<const Square*>(ctx);
  EXPECT_EQ(ldc, s.ldc);
  for (int64_t i = i0; i < i0 + rows; ++i)
    for (int64_t j = j0; j < j0 + cols; ++j) {
      c[i * ldc + j] *= c[i * ldc + j];
#pragma omp atomic
      (*s.visits)[size_t(i * ldc + j)] += 1;
    }
}

TEST(GemmEpilogue, EveryElementOnceAfterTheProductOnEveryBackend) {
  const int saved = num_threads();
  for (GemmBackend be : {GemmBackend::kAuto, GemmBackend::kBlocked, GemmBackend::kOneDnn, GemmBackend::kOpenBlas,
                         GemmBackend::kNaive}) {
    UseBackend use(be);
    for (int threads : {1, 2})
      for (int64_t m : {1, 5, 6, 7, 130})
        for (int64_t n : {1, 17, 400})
          for (int64_t k : {1, 255, 600}) {  // 600 = three KC slices of the blocked kernel
            for (float beta : {0.0f, 0.5f}) {
              SCOPED_TRACE(::testing::Message() << "backend " << int(be) << " threads " << threads << " m " << m
                                                << " n " << n << " k " << k << " beta " << beta);
              set_num_threads(threads);
              Mat a(m, k, 1, 1), b(n, k, 2, 2), c(m, n, 3, 3);  // b is [n, k]: op(B) = B^T, as a linear layer
              Mat want = c;
              sgemm(false, true, m, n, k, 1.0f, a.p(), a.ld, b.p(), b.ld, beta, want.p(), want.ld);
              for (int64_t i = 0; i < m; ++i)
                for (int64_t j = 0; j < n; ++j) want.v[size_t(i * want.ld + j)] *= want.at(i, j);
              std::vector<int> visits(c.v.size(), 0);
              const Square ctx{c.ld, &visits};
              sgemm_epilogue(false, true, m, n, k, 1.0f, a.p(), a.ld, b.p(), b.ld, beta, c.p(), c.ld,
                             GemmEpilogue{&square_block, &ctx});
              for (int64_t i = 0; i < m; ++i)
                for (int64_t j = 0; j < c.ld; ++j) {
                  const size_t at = size_t(i * c.ld + j);
                  ASSERT_EQ(visits[at], j < n ? 1 : 0) << i << ", " << j;
                  if (j < n) ASSERT_EQ(c.v[at], want.v[at]) << i << ", " << j;
                  else ASSERT_EQ(c.v[at], 1234.5f);  // padding untouched
                }
            }
          }
  }
  set_num_threads(saved);
  const std::string e = [] {
    try {
      float x = 0;
      sgemm_epilogue(false, false, 1, 1, 1, 1.0f, &x, 1, &x, 1, 0.0f, &x, 1, GemmEpilogue{});
    } catch (const ValueError& err) {
      return std::string(err.what());
    }
    return std::string();
  }();
  EXPECT_NE(e.find("the epilogue has no function"), std::string::npos) << e;
}

TEST(GemmEpilogue, QgemmPathsApplyItOnceAfterTheProduct) {
  const int64_t k = 256, n = 40;
  const int saved = num_threads();
  for (WeightFormat f : {WeightFormat::f32, WeightFormat::bf16, WeightFormat::q8_0, WeightFormat::q4_0}) {
    const std::vector<uint8_t> w = random_weight(f, n, k, 5);
    for (ActivationPrecision prec : {ActivationPrecision::f32, ActivationPrecision::int8}) {
      set_activation_precision(prec);
      for (int threads : {1, 2})
        for (int64_t m : {1, 3, 37}) {  // GEMV (m <= 4; int8 for the block formats) and the blocked panels
          SCOPED_TRACE(::testing::Message() << weight_format_name(f) << " threads " << threads << " m " << m);
          set_num_threads(threads);
          Mat x(m, k, 0, 7);
          std::vector<float> want(size_t(m * n)), got(size_t(m * n));
          qgemm(m, n, k, x.p(), k, w.data(), f, want.data(), n);
          for (float& v : want) v *= v;
          std::vector<int> visits(got.size(), 0);
          const Square ctx{n, &visits};
          const GemmEpilogue ep{&square_block, &ctx};
          qgemm(m, n, k, x.p(), k, w.data(), f, got.data(), n, false, &ep);
          for (size_t i = 0; i < got.size(); ++i) {
            ASSERT_EQ(visits[i], 1) << i;
            ASSERT_EQ(got[i], want[i]) << i;
          }
        }
    }
  }
  set_activation_precision(ActivationPrecision::f32);
  set_num_threads(saved);
}

}  // namespace
}  // namespace tl::test
