// Reductions against tl::ref: axes sets, keepdims, layouts, dtypes, NaN/inf, empty reductions and errors.
#include <limits>

#include "kernel_test_util.h"

namespace tl {
namespace {

using test::all_close;
using test::Layout;

struct ReduceCase {
  ReduceOp op;
  double lo, hi;
  double rtol;
  double atol_per_elem;  // f32 lane sums: absolute error grows with the reduced length n (atol = n * this)
};

const ReduceCase kCases[] = {
    {ReduceOp::sum, -2, 2, 1e-6, 2.4e-7},       {ReduceOp::mean, -2, 2, 1e-6, 2.4e-7},
    {ReduceOp::max, -2, 2, 0, 0},               {ReduceOp::min, -2, 2, 0, 0},
    {ReduceOp::prod, 0.7, 1.3, 1.2e-7, 0},       {ReduceOp::logsumexp, -10, 10, 1e-6, 1e-7},
};

const std::pair<Shape, std::vector<int>> kAxes[] = {
    {{}, {}},          {{17}, {}},         {{3, 17}, {1}},        {{3, 17}, {0}},        {{2, 33, 5}, {0, 2}},
    {{2, 33, 5}, {-1}}, {{2, 33, 5}, {1}}, {{4, 3, 5, 6}, {1, 3}}, {{130, 257}, {1}},   {{130, 257}, {0}},
    {{1, 1, 7}, {0, 1}},   {{3, 5, 40}, {1}},  {{2, 3, 4, 20}, {0, 2}},  // the last two: column path
};

TEST(Reduce, MatchesReference) {
  uint32_t seed = 1;
  for (const auto& c : kCases)
    for (const auto& [shape, axes] : kAxes)
      for (bool keep : {false, true})
        for (Layout l : {Layout::contiguous, Layout::transposed, Layout::strided}) {
          if (shape_numel(shape) > 10000 && l == Layout::strided) continue;  // slow reference
          Tensor x = test::rand_view(shape, DType::f32, l, seed++, c.lo, c.hi);
          Tensor want = ref::reduce(c.op, x, axes, keep);
          const double n = double(x.numel()) / double(std::max<int64_t>(want.numel(), 1));
          EXPECT_TRUE(all_close(kernels::reduce(c.op, x, axes, keep), want, c.rtol, n * c.atol_per_elem))
              << op_name(c.op) << " " << shape_str(shape) << " keepdims=" << keep << " " << test::layout_name(l);
        }
}

TEST(Reduce, HalfTypesAndIntegers) {
  uint32_t seed = 300;
  for (const auto& c : kCases)
    for (DType dt : {DType::f16, DType::bf16}) {
      Tensor x = test::rand_view({5, 37}, dt, Layout::transposed, seed++, c.lo, c.hi);
      EXPECT_TRUE(all_close(kernels::reduce(c.op, x, {0}, false), ref::reduce(c.op, x, {0}, false), c.rtol,
                            5 * c.atol_per_elem + 1e-7))
          << op_name(c.op) << dtype_name(dt);
    }
  Tensor i = Tensor::from_vector<int32_t>({2, 3}, {1, -5, 3, 4, 2, -6});
  Tensor s = kernels::reduce(ReduceOp::sum, i, {1}, false);
  EXPECT_EQ(s.dtype(), DType::i64);
  EXPECT_EQ(s.to_f64_vector(), (std::vector<double>{-1, 0}));
  Tensor m = kernels::reduce(ReduceOp::max, i, {0}, true);
  EXPECT_EQ(m.dtype(), DType::i32);
  EXPECT_EQ(m.shape(), (Shape{1, 3}));
  EXPECT_EQ(m.to_f64_vector(), (std::vector<double>{4, 2, 3}));
  EXPECT_EQ(kernels::reduce(ReduceOp::prod, i, {}, false).get({}), 720.0);
  EXPECT_EQ(kernels::reduce(ReduceOp::mean, i, {}, false).dtype(), DType::f32);
  Tensor b = Tensor::from_vector<bool>({3}, {false, true, false});
  EXPECT_EQ(kernels::reduce(ReduceOp::max, b, {}, false).dtype(), DType::boolean);
  EXPECT_EQ(kernels::reduce(ReduceOp::max, b, {}, false).get({}), 1.0);
  for (ReduceOp op : {ReduceOp::sum, ReduceOp::max, ReduceOp::min, ReduceOp::prod, ReduceOp::mean, ReduceOp::logsumexp}) {
    Tensor x = test::rand_view({4, 6}, DType::i64, Layout::transposed, seed++, -3, 4);
    EXPECT_TRUE(all_close(kernels::reduce(op, x, {1}, false), ref::reduce(op, x, {1}, false), 1e-6, 0)) << op_name(op);
  }
}

TEST(Reduce, SpecialValues) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  Tensor x = Tensor::from_vector<float>({4, 3}, {nan, 1, 2, -inf, -inf, -inf, inf, 1, 2, 1000, 1001, -inf});
  for (const auto& c : kCases)
    EXPECT_TRUE(all_close(kernels::reduce(c.op, x, {1}, false), ref::reduce(c.op, x, {1}, false), 1e-6, 0))
        << op_name(c.op);
  Tensor lse = kernels::reduce(ReduceOp::logsumexp, x, {1}, false);
  EXPECT_TRUE(std::isnan(lse.get({0})));
  EXPECT_EQ(lse.get({1}), -double(inf));  // all -inf
  EXPECT_EQ(lse.get({2}), double(inf));
  EXPECT_NEAR(lse.get({3}), 1001.0 + std::log1p(std::exp(-1.0)), 1e-4);  // stable: no overflow
  EXPECT_TRUE(std::isnan(kernels::reduce(ReduceOp::max, x, {1}, false).get({0})));
  EXPECT_TRUE(std::isnan(kernels::reduce(ReduceOp::min, x, {1}, false).get({0})));
}

TEST(Reduce, EmptyReductions) {
  Tensor x = Tensor::zeros({3, 0});
  EXPECT_EQ(kernels::reduce(ReduceOp::sum, x, {1}, false).to_f64_vector(), (std::vector<double>{0, 0, 0}));
  EXPECT_EQ(kernels::reduce(ReduceOp::prod, x, {1}, false).to_f64_vector(), (std::vector<double>{1, 1, 1}));
  EXPECT_TRUE(std::isnan(kernels::reduce(ReduceOp::mean, x, {1}, false).get({0})));
  EXPECT_EQ(kernels::reduce(ReduceOp::logsumexp, x, {1}, false).get({0}), -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(test::throws_with<ValueError>([&] { kernels::reduce(ReduceOp::max, x, {1}, false); },
                                            {"reduce max", "zero-size", "no identity"}));
  EXPECT_EQ(kernels::reduce(ReduceOp::max, x, {0}, false).shape(), (Shape{0}));  // nothing to reduce into
}

TEST(Reduce, Errors) {
  Tensor x = Tensor::zeros({3, 4});
  EXPECT_TRUE(test::throws_with<ShapeError>([&] { kernels::reduce(ReduceOp::sum, x, {2}, false); },
                                            {"reduce sum", "axis 2", "rank 2"}));
  EXPECT_TRUE(test::throws_with<ValueError>([&] { kernels::reduce(ReduceOp::sum, x, {1, -1}, false); },
                                            {"reduce sum", "twice"}));
  EXPECT_TRUE(test::throws_with<ShapeError>(
      [&] { kernels::reduce_into(ReduceOp::mean, x, {1}, false, Tensor::empty({3, 1})); },
      {"reduce mean", "out", "[3, 1]", "[3]"}));
  EXPECT_EQ(kernels::reduce_shape({2, 3, 4}, {-1, 0}, true), (Shape{1, 3, 1}));
  EXPECT_EQ(kernels::reduce_shape({2, 3, 4}, {}, false), (Shape{}));
}

}  // namespace
}  // namespace tl
