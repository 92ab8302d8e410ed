// Unary kernels against tl::ref over odd sizes, layouts and dtypes, plus special values and errors.
#include <limits>

#include "kernel_test_util.h"

namespace tl {
namespace {

using test::all_close;
using test::Layout;

struct UnaryCase {
  UnaryOp op;
  double lo, hi;      // input range
  double rtol, atol;  // vs the f64 reference, for f32 results
};

// Exact ops are exact; sqrt/div-based ops are within 1-2 roundings; the vector exp/log/tanh/erfc
// approximations are within a few ulp (test_vec_math measures them), so 2e-6 (~16 ulp) leaves room for the
// compound formulas. gelu/silu also get atol 1e-9: in the far negative tail (|y| < 1e-6) the rounding of the
// exponent argument (~|2u| * 2^-24 relative) is amplified by exp, as in any f32 implementation.
const UnaryCase kCases[] = {
    {UnaryOp::neg, -3, 3, 0, 0},          {UnaryOp::abs, -3, 3, 0, 0},
    {UnaryOp::exp, -20, 20, 1e-6, 0},     {UnaryOp::log, 1e-3, 100, 1e-6, 0},
    {UnaryOp::sqrt, 0, 100, 1.2e-7, 0},   {UnaryOp::rsqrt, 1e-3, 100, 2.4e-7, 0},
    {UnaryOp::tanh, -6, 6, 1e-6, 0},      {UnaryOp::sigmoid, -20, 20, 1e-6, 0},
    {UnaryOp::relu, -3, 3, 0, 0},         {UnaryOp::gelu_erf, -8, 8, 2e-6, 1e-9},
    {UnaryOp::gelu_tanh, -8, 8, 2e-6, 1e-9}, {UnaryOp::silu, -20, 20, 2e-6, 1e-9},
    {UnaryOp::step, -3, 3, 0, 0},         {UnaryOp::logical_not, -1, 1, 0, 0},
};

const Shape kShapes[] = {{}, {1}, {3}, {17}, {33}, {130}, {3, 17}, {2, 33, 5}, {130, 257}};

TEST(Unary, MatchesReferenceAcrossShapesAndLayouts) {
  uint32_t seed = 1;
  for (const auto& c : kCases)
    for (const auto& shape : kShapes)
      for (Layout l : {Layout::contiguous, Layout::transposed, Layout::strided}) {
        if (shape_numel(shape) > 10000 && l == Layout::contiguous) continue;  // slow reference; views suffice
        Tensor x = test::rand_view(shape, DType::f32, l, seed++, c.lo, c.hi);
        EXPECT_TRUE(all_close(kernels::unary(c.op, x), ref::unary(c.op, x), c.rtol, c.atol))
            << op_name(c.op) << " " << shape_str(shape) << " " << test::layout_name(l);
      }
}

TEST(Unary, HalfAndBfloatInputsConvertExactly) {
  uint32_t seed = 100;
  for (const auto& c : kCases)
    for (DType dt : {DType::f16, DType::bf16})
      for (const Shape& shape : {Shape{37}, Shape{5, 19}}) {
        Tensor x = test::rand_view(shape, dt, Layout::transposed, seed++, c.lo, c.hi);
        Tensor y = kernels::unary(c.op, x);
        EXPECT_EQ(y.dtype(), c.op == UnaryOp::logical_not ? DType::boolean : DType::f32);
        EXPECT_TRUE(all_close(y, ref::unary(c.op, x), c.rtol, c.atol)) << op_name(c.op) << " " << dtype_name(dt);
      }
}

TEST(Unary, IntegerInputs) {
  Tensor x = Tensor::from_vector<int32_t>({6}, {-7, -1, 0, 1, 5, std::numeric_limits<int32_t>::min()});
  for (UnaryOp op : {UnaryOp::neg, UnaryOp::abs, UnaryOp::relu, UnaryOp::step}) {
    Tensor y = kernels::unary(op, x);
    EXPECT_EQ(y.dtype(), DType::i32) << op_name(op);
  }
  // neg/abs of INT32_MIN wrap to INT32_MIN (two's complement), as NumPy does.
  EXPECT_EQ(kernels::unary(UnaryOp::neg, x).get({5}), double(std::numeric_limits<int32_t>::min()));
  EXPECT_EQ(kernels::unary(UnaryOp::abs, x).get({0}), 7.0);
  EXPECT_EQ(kernels::unary(UnaryOp::step, x).to_f64_vector(), (std::vector<double>{0, 0, 0, 1, 1, 0}));
  Tensor small = Tensor::from_vector<int64_t>({4}, {-3, 0, 2, 9});
  for (UnaryOp op : {UnaryOp::neg, UnaryOp::abs, UnaryOp::relu, UnaryOp::step, UnaryOp::exp, UnaryOp::sqrt,
                     UnaryOp::logical_not})
    EXPECT_TRUE(all_close(kernels::unary(op, small), ref::unary(op, small), 1e-6, 0)) << op_name(op);
  EXPECT_EQ(kernels::unary(UnaryOp::exp, small).dtype(), DType::f32);
}

TEST(Unary, SpecialValues) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> v = {nan, inf, -inf, 0.0f, -0.0f, 1e-40f, -1e-40f, 1e-30f, 88.7f, 89.0f, -87.0f, -104.0f,
                          -150.0f, 1e30f, -1e30f, 0.625f, -0.625f, 0.6249f, 20.5f, -20.5f, 3.0f, -9.0f};
  Tensor x = Tensor::from_vector<float>({int64_t(v.size())}, v);
  for (const auto& c : kCases) {
    // Results in the denormal range are compared absolutely: one denormal step is 1.4e-45.
    EXPECT_TRUE(all_close(kernels::unary(c.op, x), ref::unary(c.op, x), std::max(c.rtol, 1e-6), std::max(c.atol, 1e-37)))
        << op_name(c.op);
  }
  // step(0) = 0 and step(NaN) = 0; relu keeps NaN; logical_not(NaN) is false (NaN counts as true).
  Tensor s = kernels::unary(UnaryOp::step, x);
  EXPECT_EQ(s.get({0}), 0.0);
  EXPECT_EQ(s.get({3}), 0.0);
  EXPECT_TRUE(std::isnan(kernels::unary(UnaryOp::relu, x).get({0})));
  EXPECT_EQ(kernels::unary(UnaryOp::logical_not, x).get({0}), 0.0);
}

TEST(Unary, InPlaceOnSameBuffer) {
  Tensor x = test::rand_tensor({257}, DType::f32, 7);
  Tensor want = ref::unary(UnaryOp::tanh, x);
  kernels::unary_into(UnaryOp::tanh, x, x);
  EXPECT_TRUE(all_close(x, want, 1e-6, 0));
}

TEST(Unary, Errors) {
  Tensor x = test::rand_tensor({3, 4}, DType::f32, 1);
  EXPECT_TRUE(test::throws_with<ShapeError>([&] { kernels::unary_into(UnaryOp::exp, x, Tensor::empty({4, 3})); },
                                            {"unary exp", "out", "[4, 3]", "[3, 4]"}));
  EXPECT_TRUE(test::throws_with<ValueError>(
      [&] { kernels::unary_into(UnaryOp::exp, x, Tensor::empty({3, 4}, DType::f16)); }, {"unary exp", "f16", "f32"}));
  EXPECT_TRUE(test::throws_with<ValueError>(
      [&] { kernels::unary_into(UnaryOp::logical_not, x, Tensor::empty({3, 4})); }, {"logical_not", "bool"}));
  EXPECT_TRUE(test::throws_with<ValueError>(
      [&] { kernels::unary_into(UnaryOp::exp, x, Tensor::empty({4, 3}).transpose(0, 1)); }, {"contiguous"}));
  EXPECT_TRUE(test::throws_with<ValueError>([&] { kernels::unary(UnaryOp::exp, Tensor()); }, {"undefined"}));
}

}  // namespace
}  // namespace tl
