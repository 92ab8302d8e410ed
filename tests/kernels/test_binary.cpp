// Binary kernels and where against tl::ref: broadcasting, layouts, dtypes, integer semantics, NaN and errors.
#include <limits>

#include "kernel_test_util.h"

namespace tl {
namespace {

using test::all_close;
using test::Layout;

struct BinaryCase {
  BinaryOp op;
  double alo, ahi, blo, bhi;
  bool quantize;  // round inputs to multiples of 0.5 so that ties/equalities occur
  double rtol;    // add/sub/mul/div/max/min are correctly rounded; pow is libm powf (~1 ulp)
};

const BinaryCase kCases[] = {
    {BinaryOp::add, -3, 3, -3, 3, false, 6e-8}, {BinaryOp::sub, -3, 3, -3, 3, false, 6e-8},
    {BinaryOp::mul, -3, 3, -3, 3, false, 6e-8}, {BinaryOp::div, -3, 3, 0.25, 3, false, 6e-8},
    {BinaryOp::pow, 0.1, 3, -2, 2, false, 2.4e-7}, {BinaryOp::max, -2, 2, -2, 2, true, 0},
    {BinaryOp::min, -2, 2, -2, 2, true, 0},     {BinaryOp::eq, -1, 1, -1, 1, true, 0},
    {BinaryOp::ne, -1, 1, -1, 1, true, 0},      {BinaryOp::lt, -1, 1, -1, 1, true, 0},
    {BinaryOp::le, -1, 1, -1, 1, true, 0},      {BinaryOp::gt, -1, 1, -1, 1, true, 0},
    {BinaryOp::ge, -1, 1, -1, 1, true, 0},      {BinaryOp::logical_and, -1, 1, -1, 1, true, 0},
    {BinaryOp::logical_or, -1, 1, -1, 1, true, 0},
};

const std::pair<Shape, Shape> kShapes[] = {
    {{1}, {1}},         {{3}, {3}},           {{17}, {17}},        {{33}, {}},          {{}, {130}},
    {{3, 1}, {1, 5}},   {{2, 3, 17}, {17}},   {{2, 1, 17}, {3, 1}}, {{4, 1, 33}, {1, 5, 1}},
    {{130, 257}, {257}}, {{130, 257}, {130, 1}}, {{5, 33}, {5, 33}},
};

Tensor input(const Shape& s, DType dt, Layout l, uint32_t seed, double lo, double hi, bool quantize) {
  Tensor t = test::rand_view(s, dt, l, seed, lo, hi);
  if (quantize)  // writes through the view, keeping its layout
    for_each_index(s, [&](std::span<const int64_t> i) { t.set(i, std::round(t.get(i) * 2) / 2); });
  return t;
}

TEST(Binary, MatchesReferenceWithBroadcastingAndLayouts) {
  uint32_t seed = 1;
  for (const auto& c : kCases)
    for (const auto& [sa, sb] : kShapes)
      for (Layout la : {Layout::contiguous, Layout::transposed, Layout::strided})
        for (Layout lb : {Layout::contiguous, Layout::strided}) {
          // The large shapes (parallel chunks split inside runs) once per op: the reference is slow.
          if (shape_numel(sa) > 10000 && (la != Layout::transposed || lb != Layout::contiguous)) continue;
          Tensor a = input(sa, DType::f32, la, seed++, c.alo, c.ahi, c.quantize);
          Tensor b = input(sb, DType::f32, lb, seed++, c.blo, c.bhi, c.quantize);
          EXPECT_TRUE(all_close(kernels::binary(c.op, a, b), ref::binary(c.op, a, b), c.rtol, 0))
              << op_name(c.op) << " " << shape_str(sa) << " x " << shape_str(sb) << " " << test::layout_name(la)
              << "/" << test::layout_name(lb);
        }
}

TEST(Binary, BroadcastViewsAndHalfTypes) {
  uint32_t seed = 500;
  for (const auto& c : kCases) {
    // a is an explicit broadcast view (stride 0), b is bf16 / f16.
    Tensor a = input({1, 19}, DType::f32, Layout::contiguous, seed++, c.alo, c.ahi, c.quantize).broadcast_to({7, 19});
    for (DType dt : {DType::f16, DType::bf16}) {
      Tensor b = input({7, 19}, dt, Layout::transposed, seed++, c.blo, c.bhi, c.quantize);
      EXPECT_TRUE(all_close(kernels::binary(c.op, a, b), ref::binary(c.op, a, b), c.rtol, 0))
          << op_name(c.op) << " " << dtype_name(dt);
      EXPECT_TRUE(all_close(kernels::binary(c.op, b, a), ref::binary(c.op, b, a), c.rtol, 0))
          << op_name(c.op) << " " << dtype_name(dt);
    }
  }
}

TEST(Binary, OutputDtypes) {
  using enum DType;
  EXPECT_EQ(kernels::binary_dtype(BinaryOp::add, f16, bf16), f32);
  EXPECT_EQ(kernels::binary_dtype(BinaryOp::add, i32, i32), i32);
  EXPECT_EQ(kernels::binary_dtype(BinaryOp::add, i32, i64), i64);
  EXPECT_EQ(kernels::binary_dtype(BinaryOp::add, boolean, boolean), i32);
  EXPECT_EQ(kernels::binary_dtype(BinaryOp::mul, i64, f32), f32);
  EXPECT_EQ(kernels::binary_dtype(BinaryOp::lt, i64, f32), boolean);
  EXPECT_EQ(kernels::binary_dtype(BinaryOp::logical_or, f32, f32), boolean);
}

TEST(Binary, IntegerSemantics) {
  Tensor a = Tensor::from_vector<int32_t>({8}, {-7, 7, 7, -7, 5, 0, std::numeric_limits<int32_t>::min(), 3});
  Tensor b = Tensor::from_vector<int32_t>({8}, {2, -2, 2, -2, 0, 3, -1, 4});
  // Floor division (Python //), x // 0 = 0, INT_MIN // -1 wraps.
  Tensor q = kernels::binary(BinaryOp::div, a, b);
  EXPECT_EQ(q.dtype(), DType::i32);
  EXPECT_EQ(q.to_f64_vector(), (std::vector<double>{-4, -4, 3, 3, 0, 0, double(std::numeric_limits<int32_t>::min()), 0}));
  Tensor p = kernels::binary(BinaryOp::pow, Tensor::from_vector<int64_t>({5}, {2, -1, -1, 3, 0}),
                             Tensor::from_vector<int64_t>({5}, {10, 3, -3, -1, 0}));
  EXPECT_EQ(p.dtype(), DType::i64);
  EXPECT_EQ(p.to_f64_vector(), (std::vector<double>{1024, -1, -1, 0, 1}));
  // i32 overflow wraps like NumPy int32.
  Tensor big = Tensor::from_vector<int32_t>({1}, {std::numeric_limits<int32_t>::max()});
  EXPECT_EQ(kernels::binary(BinaryOp::add, big, Tensor::from_vector<int32_t>({1}, {1})).get({0}),
            double(std::numeric_limits<int32_t>::min()));
  uint32_t seed = 900;
  for (const auto& c : kCases) {
    Tensor x = test::rand_view({6, 7}, DType::i32, Layout::transposed, seed++, -9, 9);
    Tensor y = test::rand_view({7}, DType::i64, Layout::strided, seed++, 1, 9);
    EXPECT_TRUE(all_close(kernels::binary(c.op, x, y), ref::binary(c.op, x, y), 0, 0)) << op_name(c.op);
    Tensor f = test::rand_view({6, 7}, DType::f32, Layout::contiguous, seed++, -9, 9);
    if (c.op != BinaryOp::pow) {
      EXPECT_TRUE(all_close(kernels::binary(c.op, x, f), ref::binary(c.op, x, f), c.rtol, 0)) << op_name(c.op);
    }
  }
  Tensor t = Tensor::from_vector<bool>({2}, {true, false});
  EXPECT_EQ(kernels::binary(BinaryOp::add, t, t).to_f64_vector(), (std::vector<double>{2, 0}));
}

TEST(Binary, NanAndInfinity) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  Tensor a = Tensor::from_vector<float>({6}, {nan, 1.0f, nan, inf, -inf, 0.0f});
  Tensor b = Tensor::from_vector<float>({6}, {1.0f, nan, nan, 1.0f, inf, 0.0f});
  for (const auto& c : kCases)
    EXPECT_TRUE(all_close(kernels::binary(c.op, a, b), ref::binary(c.op, a, b), 0, 0)) << op_name(c.op);
  // np.maximum propagates NaN from either side; NaN != NaN; logical ops treat NaN as true.
  EXPECT_TRUE(std::isnan(kernels::binary(BinaryOp::max, a, b).get({1})));
  EXPECT_TRUE(std::isnan(kernels::binary(BinaryOp::min, a, b).get({0})));
  EXPECT_EQ(kernels::binary(BinaryOp::ne, a, b).get({2}), 1.0);
  EXPECT_EQ(kernels::binary(BinaryOp::eq, a, b).get({2}), 0.0);
  EXPECT_EQ(kernels::binary(BinaryOp::logical_and, a, b).get({0}), 1.0);
  EXPECT_TRUE(std::isnan(kernels::binary(BinaryOp::sub, a, b).get({3})) == false);
  EXPECT_TRUE(std::isnan(kernels::binary(BinaryOp::add, a, b).get({4})));  // -inf + inf
}

TEST(Binary, Errors) {
  Tensor a = Tensor::zeros({3, 4}), b = Tensor::zeros({5});
  EXPECT_TRUE(test::throws_with<ShapeError>([&] { kernels::binary(BinaryOp::add, a, b); },
                                            {"binary add", "[3, 4]", "[5]"}));
  EXPECT_TRUE(test::throws_with<ShapeError>(
      [&] { kernels::binary_into(BinaryOp::mul, a, Tensor::zeros({4}), Tensor::empty({4, 3})); },
      {"binary mul", "out", "[4, 3]", "[3, 4]"}));
  EXPECT_TRUE(test::throws_with<ValueError>(
      [&] { kernels::binary_into(BinaryOp::lt, a, a, Tensor::empty({3, 4})); }, {"binary lt", "f32", "bool"}));
}

TEST(Where, MatchesReference) {
  uint32_t seed = 1;
  const std::tuple<Shape, Shape, Shape> shapes[] = {
      {{3, 1}, {1, 5}, {}}, {{17}, {2, 17}, {2, 1}}, {{130, 257}, {257}, {130, 1}}, {{1}, {33}, {33}}};
  for (const auto& [sc, sa, sb] : shapes)
    for (DType ct : {DType::boolean, DType::f32, DType::i32})
      for (DType vt : {DType::f32, DType::bf16, DType::i32}) {
        Tensor c = test::rand_view(sc, ct, Layout::transposed, seed++, -1, 1);
        Tensor a = test::rand_view(sa, vt, Layout::strided, seed++, -5, 5);
        Tensor b = test::rand_view(sb, DType::f32, Layout::contiguous, seed++, -5, 5);
        if (vt == DType::i32) b = test::rand_view(sb, DType::i64, Layout::contiguous, seed++, -5, 5);
        EXPECT_TRUE(all_close(kernels::where(c, a, b), ref::where(c, a, b), 0, 0))
            << shape_str(sc) << dtype_name(ct) << dtype_name(vt);
      }
  Tensor nanc = Tensor::from_vector<float>({2}, {std::numeric_limits<float>::quiet_NaN(), 0.0f});
  EXPECT_EQ(kernels::where(nanc, Tensor::full({2}, 1), Tensor::full({2}, 2)).to_f64_vector(),
            (std::vector<double>{1, 2}));
  EXPECT_EQ(kernels::where_dtype(DType::boolean, DType::boolean), DType::boolean);
  EXPECT_TRUE(test::throws_with<ShapeError>(
      [&] { kernels::where(Tensor::zeros({3}, DType::boolean), Tensor::zeros({4}), Tensor::zeros({3})); },
      {"where", "[3]", "[4]"}));
}

}  // namespace
}  // namespace tl
