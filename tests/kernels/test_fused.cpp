// Fused kernels (bias_act, scaled_masked_softmax): fast kernel vs the naive double reference over a table of
// odd sizes, dtypes and layouts; vs the unfused kernels; vs PyTorch fixtures; and the error paths.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "kernel_test_util.h"
#include "tl/error.h"
#include "tl/npy.h"
#include "tl/threading.h"

namespace tl::test {
namespace {

Tensor fused_fx(const std::string& name) { return read_npy(std::string(TL_FIXTURE_DIR) + "/fused/" + name + ".npy"); }

const std::optional<UnaryOp> kActs[] = {std::nullopt, UnaryOp::relu, UnaryOp::gelu_erf, UnaryOp::gelu_tanh,
                                        UnaryOp::silu, UnaryOp::sigmoid, UnaryOp::tanh};
const char* act_label(std::optional<UnaryOp> a) { return a ? op_name(*a).data() : "none"; }

struct BiasCase {
  Shape x;      // input shape
  Shape b;      // bias shape
  DType dtype;  // x's dtype
  Layout layout;
};

TEST(FusedKernels, BiasActMatchesReference) {
  const BiasCase cases[] = {
      {{1}, {1}, DType::f32, Layout::contiguous},
      {{7}, {7}, DType::f32, Layout::strided},
      {{3, 17}, {17}, DType::f32, Layout::contiguous},
      {{3, 17}, {1, 17}, DType::f32, Layout::transposed},
      {{2, 5, 33}, {33}, DType::f32, Layout::strided},
      {{2, 5, 33}, {1, 1, 33}, DType::f16, Layout::contiguous},
      {{4, 3, 16}, {16}, DType::bf16, Layout::transposed},
      {{65, 129}, {129}, DType::f32, Layout::contiguous},  // several vector widths + tail, many rows (threads)
      {{0, 9}, {9}, DType::f32, Layout::contiguous},       // empty
  };
  uint32_t seed = 1;
  for (const BiasCase& c : cases)
    for (std::optional<UnaryOp> act : kActs) {
      Tensor x = rand_view(c.x, c.dtype, c.layout, seed++, -4, 4);
      Tensor b = rand_tensor(c.b, DType::f32, seed++);
      Tensor got = kernels::bias_act(x, b, act);
      // f32 math on |x| <= 6: a few ulps relative plus a tiny absolute floor for values near zero.
      EXPECT_TRUE(all_close(got, ref::bias_act(x, b, act), 2e-6, 2e-6))
          << shape_str(c.x) << " " << dtype_name(c.dtype) << " " << layout_name(c.layout) << " " << act_label(act);
      // Same as the unfused kernels (add then the unary), up to rounding.
      if (c.dtype == DType::f32 && x.numel() > 0) {
        Tensor sum = kernels::binary(BinaryOp::add, x, b);
        Tensor unfused = act ? kernels::unary(*act, sum) : sum;
        EXPECT_TRUE(all_close(got, unfused, 1e-6, 1e-7)) << shape_str(c.x) << " " << act_label(act);
      }
    }
}

TEST(FusedKernels, BiasActNonContiguousBias) {
  Tensor x = rand_tensor({3, 11}, DType::f32, 5);
  Tensor b = rand_tensor({23}, DType::f32, 6).slice(0, 0, 22, 2);  // [11], stride 2
  EXPECT_TRUE(all_close(kernels::bias_act(x, b, UnaryOp::silu), ref::bias_act(x, b, UnaryOp::silu), 2e-6, 2e-6));
}

TEST(FusedKernels, BiasActIntoAndNaN) {
  Tensor x = Tensor::from_vector<float>({2, 3}, {std::nanf(""), -1, 2, 0, -0.5f, 3});
  Tensor b = Tensor::from_vector<float>({3}, {1, 1, -1});
  Tensor out = Tensor::empty({2, 3}, DType::f32);
  kernels::bias_act_into(x, b, UnaryOp::relu, out);
  EXPECT_TRUE(std::isnan(out.get({0, 0})));  // relu(NaN) = NaN as torch.relu
  EXPECT_EQ(out.get({0, 1}), 0.0);
  EXPECT_EQ(out.get({1, 2}), 2.0);
}

struct SoftmaxCase {
  Shape x;
  std::optional<Shape> mask;
  DType dtype;
  Layout layout;
  float scale;
};

TEST(FusedKernels, ScaledMaskedSoftmaxMatchesReference) {
  const SoftmaxCase cases[] = {
      {{1}, std::nullopt, DType::f32, Layout::contiguous, 0.5f},
      {{5}, Shape{5}, DType::f32, Layout::strided, 2.0f},
      {{3, 17}, std::nullopt, DType::f32, Layout::transposed, 0.125f},
      {{3, 17}, Shape{17}, DType::f32, Layout::contiguous, 1.0f},
      {{2, 3, 7, 19}, Shape{7, 19}, DType::f32, Layout::contiguous, 0.35f},
      {{2, 3, 7, 19}, Shape{2, 1, 7, 1}, DType::f32, Layout::strided, -1.5f},  // one mask value per row
      {{2, 3, 7, 33}, Shape{1, 3, 1, 33}, DType::f16, Layout::transposed, 0.25f},
      {{4, 40}, Shape{4, 40}, DType::bf16, Layout::contiguous, 3.0f},
      {{67, 129}, Shape{129}, DType::f32, Layout::contiguous, 0.1f},  // many rows (threads)
      {{0, 4}, Shape{4}, DType::f32, Layout::contiguous, 1.0f},
  };
  uint32_t seed = 100;
  for (const SoftmaxCase& c : cases) {
    Tensor x = rand_view(c.x, c.dtype, c.layout, seed++, -5, 5);
    std::optional<Tensor> m;
    if (c.mask) m = rand_view(*c.mask, DType::f32, c.layout, seed++, -3, 1);
    Tensor got = kernels::scaled_masked_softmax(x, c.scale, m);
    // exp in f32 and a sum over <= 129 terms: 1e-6 relative covers it; probabilities are <= 1.
    EXPECT_TRUE(all_close(got, ref::scaled_masked_softmax(x, c.scale, m), 1e-5, 1e-7))
        << shape_str(c.x) << " " << dtype_name(c.dtype) << " " << layout_name(c.layout);
    if (c.dtype == DType::f32 && x.numel() > 0) {  // same as mul then softmax
      Tensor sx = kernels::binary(BinaryOp::mul, x, Tensor::full({}, c.scale));
      EXPECT_TRUE(all_close(got, kernels::softmax(sx, -1, m), 1e-6, 1e-7)) << shape_str(c.x);
    }
  }
}

TEST(FusedKernels, ScaledMaskedSoftmaxFullyMaskedRowIsZero) {
  const float ninf = -std::numeric_limits<float>::infinity();
  Tensor x = rand_tensor({2, 20}, DType::f32, 9);
  Tensor m = Tensor::from_vector<float>({2, 1}, {0.0f, ninf});  // row 1 fully masked
  Tensor y = kernels::scaled_masked_softmax(x, 0.5f, m);
  for (int64_t j = 0; j < 20; ++j) EXPECT_EQ(y.get({1, j}), 0.0);
  double s = 0;
  for (int64_t j = 0; j < 20; ++j) s += y.get({0, j});
  EXPECT_NEAR(s, 1.0, 1e-6);
  EXPECT_TRUE(all_close(y, ref::scaled_masked_softmax(x, 0.5f, m), 1e-6, 1e-7));
}

TEST(FusedKernels, MatchPyTorchFixtures) {
  Tensor x = fused_fx("bias_act_x"), b = fused_fx("bias_act_b");
  for (std::optional<UnaryOp> act : kActs) {
    // torch in float64, rounded to f32: ours differs by f32 rounding of x + b and the activation (a few ulps).
    EXPECT_TRUE(all_close(kernels::bias_act(x, b, act), fused_fx(std::string("bias_act_") + act_label(act)), 4e-6,
                          4e-6))
        << act_label(act);
  }
  Tensor sx = fused_fx("sms_x"), mask = fused_fx("sms_mask");
  const float scale = float(fused_fx("sms_scale").get({0}));
  // Includes a fully masked row (zeros by our definition; the script maps torch's NaN to 0 there).
  EXPECT_TRUE(all_close(kernels::scaled_masked_softmax(sx, scale, mask), fused_fx("sms_y"), 1e-5, 1e-7));
  EXPECT_TRUE(all_close(kernels::scaled_masked_softmax(sx, scale), fused_fx("sms_nomask_y"), 1e-5, 1e-7));
}

TEST(FusedKernels, ThreadCountDoesNotChangeBits) {
  Tensor x = rand_tensor({37, 45}, DType::f32, 3);
  Tensor b = rand_tensor({45}, DType::f32, 4);
  const int saved = num_threads();
  set_num_threads(1);
  Tensor a1 = kernels::bias_act(x, b, UnaryOp::gelu_erf), s1 = kernels::scaled_masked_softmax(x, 0.7f, b);
  set_num_threads(2);
  Tensor a2 = kernels::bias_act(x, b, UnaryOp::gelu_erf), s2 = kernels::scaled_masked_softmax(x, 0.7f, b);
  set_num_threads(saved);
  EXPECT_TRUE(all_close(a1, a2, 0, 0));
  EXPECT_TRUE(all_close(s1, s2, 0, 0));
}

TEST(FusedKernels, Errors) {
  Tensor x = rand_tensor({2, 5}, DType::f32, 1);
  Tensor b5 = rand_tensor({5}, DType::f32, 2);
  EXPECT_TRUE(throws_with<ShapeError>([&] { kernels::bias_act(x, rand_tensor({4}, DType::f32, 2), UnaryOp::relu); },
                                      {"[bias_act]", "bias", "[4]", "expected [5]", "[2, 5]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { kernels::bias_act(x, rand_tensor({2, 5}, DType::f32, 2), std::nullopt); },
                                      {"[bias_act]", "bias has shape [2, 5]", "expected [5]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { kernels::bias_act(rand_tensor({5}, DType::f32, 1), rand_tensor({1, 5}, DType::f32, 2), std::nullopt); },
                                      {"[bias_act]", "bias has shape [1, 5]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { kernels::bias_act(Tensor::full({}, 1.0), b5, std::nullopt); },
                                      {"[bias_act]", "rank >= 1"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { kernels::bias_act(x, b5, UnaryOp::exp); },
                                      {"[bias_act]", "exp", "not an activation"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { kernels::bias_act(rand_tensor({2, 5}, DType::i32, 1), b5, std::nullopt); },
                                      {"[bias_act]", "float", "i32"}));
  Tensor bad_out = Tensor::empty({5, 2}, DType::f32);
  EXPECT_TRUE(throws_with<ShapeError>([&] { kernels::bias_act_into(x, b5, std::nullopt, bad_out); },
                                      {"[bias_act]", "out", "[5, 2]", "[2, 5]"}));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] { kernels::scaled_masked_softmax(x, 1.0f, rand_tensor({3, 5}, DType::f32, 2)); },
      {"[scaled_masked_softmax]", "mask", "[3, 5]", "[2, 5]"}));
  EXPECT_TRUE(throws_with<ValueError>(
      [&] { kernels::scaled_masked_softmax(x, 1.0f, rand_tensor({5}, DType::boolean, 2)); },
      {"[scaled_masked_softmax]", "mask", "float", "bool"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { kernels::scaled_masked_softmax(Tensor::full({}, 1.0), 1.0f); },
                                      {"[scaled_masked_softmax]", "rank >= 1"}));
  Tensor out16 = Tensor::empty({2, 5}, DType::f16);
  EXPECT_TRUE(throws_with<ValueError>([&] { kernels::scaled_masked_softmax_into(x, 1.0f, std::nullopt, out16); },
                                      {"[scaled_masked_softmax]", "out", "f16", "f32"}));
}

}  // namespace
}  // namespace tl::test
