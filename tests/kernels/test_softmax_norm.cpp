// Softmax (with masks) and layer/RMS norm against tl::ref: axes, layouts, dtypes, special rows and errors.
#include <limits>

#include "kernel_test_util.h"

namespace tl {
namespace {

using test::all_close;
using test::Layout;

// Softmax: exp is within 1-2 ulp and the sum is f32 over the row, so 1e-6 relative with 1e-9 absolute for the
// tiny probabilities.
constexpr double kSoftRtol = 1e-6, kSoftAtol = 1e-9;

TEST(Softmax, MatchesReference) {
  uint32_t seed = 1;
  const std::pair<Shape, int> cases[] = {{{1}, 0},      {{3}, -1},      {{17}, 0},       {{3, 17}, 1},
                                         {{3, 17}, 0},  {{2, 33, 5}, 1}, {{2, 33, 5}, -1}, {{130, 257}, 1},
                                         {{4, 130}, -1}, {{2, 3, 1}, 2}};
  for (const auto& [shape, axis] : cases)
    for (Layout l : {Layout::contiguous, Layout::transposed, Layout::strided})
      for (DType dt : {DType::f32, DType::bf16}) {
        if (shape_numel(shape) > 10000 && (l == Layout::strided || dt != DType::f32)) continue;  // slow reference
        Tensor x = test::rand_view(shape, dt, l, seed++, -8, 8);
        EXPECT_TRUE(all_close(kernels::softmax(x, axis), ref::softmax(x, axis, std::nullopt), kSoftRtol, kSoftAtol))
            << shape_str(shape) << " axis " << axis << " " << test::layout_name(l) << " " << dtype_name(dt);
      }
}

TEST(Softmax, AdditiveMaskBroadcastAndFullyMaskedRows) {
  const float inf = std::numeric_limits<float>::infinity();
  // [batch=2, heads=3, q=5, k=5] scores with a causal [5, 5] mask (0 / -inf) broadcast over batch and heads.
  Tensor x = test::rand_view({2, 3, 5, 5}, DType::f32, Layout::transposed, 7, -4, 4);
  Tensor causal = Tensor::zeros({5, 5});
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t j = i + 1; j < 5; ++j) causal.set(std::vector<int64_t>{i, j}, -inf);
  EXPECT_TRUE(all_close(kernels::softmax(x, -1, causal), ref::softmax(x, -1, causal), kSoftRtol, kSoftAtol));
  // A mask row of all -inf gives a row of zeros, never NaN; a [5, 1] mask broadcasts along the row.
  Tensor m = Tensor::zeros({5, 1});
  m.set(std::vector<int64_t>{2, 0}, -inf);
  Tensor y = kernels::softmax(x, -1, m);
  EXPECT_TRUE(all_close(y, ref::softmax(x, -1, m), kSoftRtol, kSoftAtol));
  for (int64_t j = 0; j < 5; ++j) EXPECT_EQ(y.get({1, 2, 2, j}), 0.0);
  EXPECT_NEAR(y.get({1, 2, 3, 0}) + y.get({1, 2, 3, 1}) + y.get({1, 2, 3, 2}) + y.get({1, 2, 3, 3}) + y.get({1, 2, 3, 4}),
              1.0, 1e-6);
  // Mask along a non-last axis, in f16.
  Tensor mh = test::rand_view({2, 1, 5, 1}, DType::f16, Layout::contiguous, 9, -3, 0);
  EXPECT_TRUE(all_close(kernels::softmax(x, 2, mh), ref::softmax(x, 2, mh), kSoftRtol, kSoftAtol));
  // Rows holding NaN give NaN; an +inf entry gives NaN as in PyTorch; huge finite values do not overflow.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor s = Tensor::from_vector<float>({3, 3}, {nan, 1, 2, inf, 1, 2, 1e30f, 1e30f, -1e30f});
  Tensor sy = kernels::softmax(s, 1);
  EXPECT_TRUE(all_close(sy, ref::softmax(s, 1, std::nullopt), 0, 0));
  EXPECT_TRUE(std::isnan(sy.get({0, 1})));
  EXPECT_EQ(sy.get({2, 0}), 0.5);
  EXPECT_EQ(sy.get({2, 2}), 0.0);
}

TEST(Softmax, InPlaceAndErrors) {
  Tensor x = test::rand_tensor({4, 33}, DType::f32, 3);
  Tensor want = ref::softmax(x, 1, std::nullopt);
  kernels::softmax_into(x, 1, std::nullopt, x);
  EXPECT_TRUE(all_close(x, want, kSoftRtol, kSoftAtol));
  EXPECT_TRUE(test::throws_with<ShapeError>([&] { kernels::softmax(x, 2); }, {"softmax", "axis 2", "rank 2"}));
  EXPECT_TRUE(test::throws_with<ShapeError>([&] { kernels::softmax(x, 1, Tensor::zeros({4, 5})); },
                                            {"softmax", "mask", "[4, 5]", "[4, 33]"}));
  EXPECT_TRUE(test::throws_with<ShapeError>([&] { kernels::softmax(x, 1, Tensor::zeros({2, 4, 33})); },
                                            {"softmax", "mask", "[2, 4, 33]", "[4, 33]"}));
  EXPECT_TRUE(test::throws_with<ValueError>([&] { kernels::softmax_into(x, 1, std::nullopt, Tensor::empty({4, 33}, DType::bf16)); },
                                            {"softmax", "bf16", "f32"}));
}

// Norms: two-pass f32 row sums (mean, centred variance) in f64 at the end; 2e-6 relative, 1e-6 absolute (the
// outputs are O(1) and the f32 variance carries ~1e-7 relative error).
constexpr double kNormRtol = 2e-6, kNormAtol = 1e-6;

TEST(Norms, MatchReference) {
  uint32_t seed = 1;
  const std::pair<Shape, int> cases[] = {{{1}, 1},        {{3}, 1},       {{5, 17}, 1},  {{2, 33, 5}, 1},
                                         {{2, 33, 5}, 2}, {{130, 257}, 1}, {{3, 130}, 1}, {{4, 1, 7}, 2}};
  for (const auto& [shape, nd] : cases)
    for (Layout l : {Layout::contiguous, Layout::transposed, Layout::strided})
      for (int affine = 0; affine < 3; ++affine) {
        if (shape_numel(shape) > 10000 && (l == Layout::strided || affine == 1)) continue;  // slow reference
        Tensor x = test::rand_view(shape, l == Layout::strided ? DType::f16 : DType::f32, l, seed++, -3, 5);
        Shape ns(shape.end() - nd, shape.end());
        std::optional<Tensor> g, b;
        if (affine >= 1) g = test::rand_view(ns, DType::f32, Layout::strided, seed++, 0.5, 1.5);
        if (affine == 2) b = test::rand_view(ns, DType::bf16, Layout::contiguous, seed++, -1, 1);
        EXPECT_TRUE(all_close(kernels::layer_norm(x, g, b, nd, 1e-5f), ref::layer_norm(x, g, b, nd, 1e-5f), kNormRtol,
                              kNormAtol))
            << "layer_norm " << shape_str(shape) << " nd " << nd << " " << test::layout_name(l) << " affine " << affine;
        EXPECT_TRUE(all_close(kernels::rms_norm(x, g, nd, 1e-6f), ref::rms_norm(x, g, nd, 1e-6f), kNormRtol, kNormAtol))
            << "rms_norm " << shape_str(shape) << " nd " << nd << " " << test::layout_name(l) << " affine " << affine;
      }
}

TEST(Norms, LargeOffsetAndConstantRows) {
  // A large common offset: the two-pass variance keeps full precision (E[x^2] - E[x]^2 would not).
  Tensor x = test::rand_tensor({3, 64}, DType::f32, 11, 1000, 1001);
  EXPECT_TRUE(all_close(kernels::layer_norm(x, std::nullopt, std::nullopt, 1, 1e-5f),
                        ref::layer_norm(x, std::nullopt, std::nullopt, 1, 1e-5f), 1e-3, 1e-3));
  // A constant row normalises to 0 (variance 0, eps keeps it finite); an all-zero row under RMS norm too.
  Tensor c = Tensor::full({2, 9}, 3.0);
  EXPECT_EQ(kernels::layer_norm(c, std::nullopt, std::nullopt, 1, 1e-5f).to_f64_vector(), std::vector<double>(18, 0.0));
  EXPECT_EQ(kernels::rms_norm(Tensor::zeros({2, 9}), std::nullopt, 1, 1e-6f).to_f64_vector(), std::vector<double>(18, 0.0));
}

TEST(Norms, Errors) {
  Tensor x = Tensor::zeros({4, 6});
  EXPECT_TRUE(test::throws_with<ShapeError>([&] { kernels::layer_norm(x, Tensor::zeros({4}), std::nullopt, 1, 1e-5f); },
                                            {"layer_norm", "gamma", "[4]", "[6]"}));
  EXPECT_TRUE(test::throws_with<ShapeError>([&] { kernels::layer_norm(x, std::nullopt, Tensor::zeros({4, 6}), 1, 1e-5f); },
                                            {"layer_norm", "beta", "[4, 6]", "[6]"}));
  EXPECT_TRUE(test::throws_with<ShapeError>([&] { kernels::rms_norm(x, std::nullopt, 3, 1e-5f); },
                                            {"rms_norm", "norm_dims 3", "rank 2"}));
  EXPECT_TRUE(test::throws_with<ShapeError>([&] { kernels::rms_norm(x, std::nullopt, 0, 1e-5f); },
                                            {"rms_norm", "norm_dims 0"}));
  EXPECT_TRUE(test::throws_with<ValueError>([&] { kernels::rms_norm(x, std::nullopt, 1, -1.0f); },
                                            {"rms_norm", "eps", "-1"}));
  EXPECT_TRUE(test::throws_with<ShapeError>(
      [&] { kernels::rms_norm_into(x, std::nullopt, 1, 1e-5f, Tensor::empty({6, 4})); }, {"rms_norm", "out"}));
}

}  // namespace
}  // namespace tl
