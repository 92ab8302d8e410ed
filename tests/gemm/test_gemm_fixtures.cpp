// tl::sgemm against NumPy (float64 products rounded to float32) from scripts/gen_gemm_fixtures.py.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "gemm_test_util.h"
#include "tl/gemm.h"
#include "tl/npy.h"

namespace tl::test {
namespace {

Tensor load(const std::string& name) { return read_npy(std::string(TL_FIXTURE_DIR) + "/gemm/" + name + ".npy"); }

// Inputs are uniform in [-1, 1], so sum |a b| <= k: allow 2 (k + 2) eps k (+ |beta c| <= 2) absolute.
float fixture_tol(int64_t k) { return 2.0f * float(k + 2) * 1.1920929e-7f * float(k + 2); }

float max_diff(const Tensor& got, const Tensor& want) {
  EXPECT_EQ(got.shape(), want.shape());
  float d = 0;
  const float* g = got.data<float>();
  const float* w = want.data<float>();
  for (int64_t i = 0; i < want.numel(); ++i) d = std::max(d, std::fabs(g[i] - w[i]));
  return d;
}

class NumpyFixtures : public ::testing::TestWithParam<GemmBackend> {};

TEST_P(NumpyFixtures, AllProductsMatch) {
  UseBackend use(GetParam());
  {  // C[17, 9] = A[17, 33] B[33, 9]
    Tensor a = load("plain_a"), b = load("plain_b"), want = load("plain_c");
    Tensor c = Tensor::empty({17, 9});
    sgemm(false, false, 17, 9, 33, 1.0f, a.data<float>(), 33, b.data<float>(), 9, 0.0f, c.data<float>(), 9);
    EXPECT_LE(max_diff(c, want), fixture_tol(33)) << "plain";
  }
  {  // Y[5, 24] = 0.5 X[5, 40] W[24, 40]^T + 2 Y0
    Tensor x = load("linear_x"), w = load("linear_w"), y = load("linear_y0").clone(), want = load("linear_y");
    sgemm(false, true, 5, 24, 40, 0.5f, x.data<float>(), 40, w.data<float>(), 40, 2.0f, y.data<float>(), 24);
    EXPECT_LE(max_diff(y, want), fixture_tol(40)) << "linear";
  }
  {  // S[3, 7, 11] = Q[3, 7, 16] K[16, 11], K broadcast over the batch
    Tensor q = load("batched_q"), k = load("batched_k"), want = load("batched_s");
    Tensor s = Tensor::empty({3, 7, 11});
    sgemm_batched(3, false, false, 7, 11, 16, 1.0f, q.data<float>(), 16, 7 * 16, k.data<float>(), 11, 0, 0.0f,
                  s.data<float>(), 11, 7 * 11);
    EXPECT_LE(max_diff(s, want), fixture_tol(16)) << "batched";
  }
  {  // R[1, 48] = V[1, 200] M[200, 48];  U[97, 1] = N[97, 200] V^T
    Tensor v = load("gemv_v"), m = load("gemv_m"), n = load("gemv_n");
    Tensor r = Tensor::empty({1, 48}), u = Tensor::empty({97, 1});
    sgemm(false, false, 1, 48, 200, 1.0f, v.data<float>(), 200, m.data<float>(), 48, 0.0f, r.data<float>(), 48);
    sgemm(false, true, 97, 1, 200, 1.0f, n.data<float>(), 200, v.data<float>(), 200, 0.0f, u.data<float>(), 1);
    EXPECT_LE(max_diff(r, load("gemv_r")), fixture_tol(200)) << "gemv row";
    EXPECT_LE(max_diff(u, load("gemv_u")), fixture_tol(200)) << "gemv column";
  }
}

INSTANTIATE_TEST_SUITE_P(All, NumpyFixtures, ::testing::ValuesIn(all_backends()),
                         [](const auto& info) { return gemm_backend_name(info.param); });

}  // namespace
}  // namespace tl::test
