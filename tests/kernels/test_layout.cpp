// Layout kernels: copy/cast, concat, gather (numpy.take), repeat (numpy.repeat), checked element by element
// against their index definitions, over views and dtypes, plus errors.
#include <limits>

#include "kernel_test_util.h"

namespace tl {
namespace {

using test::all_close;
using test::Layout;

TEST(Copy, AnyViewToContiguousWithCast) {
  uint32_t seed = 1;
  for (const Shape& s : {Shape{}, Shape{17}, Shape{3, 17}, Shape{2, 33, 5}, Shape{130, 257}})
    for (Layout l : {Layout::contiguous, Layout::transposed, Layout::strided})
      for (DType from : {DType::f32, DType::f16, DType::bf16, DType::i32, DType::i64, DType::boolean})
        for (DType to : {DType::f32, DType::bf16, DType::i64, DType::boolean}) {
          if (shape_numel(s) > 10000 && (from != DType::f32 || to == DType::boolean)) continue;  // keep it quick
          Tensor x = test::rand_view(s, from, l, seed++, -50, 50);
          Tensor out = Tensor::empty(s, to);
          kernels::copy_into(x, out);
          EXPECT_TRUE(all_close(out, x.to(to), 0, 0))
              << shape_str(s) << " " << test::layout_name(l) << " " << dtype_name(from) << "->" << dtype_name(to);
        }
}

TEST(Copy, CastEdgeCases) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  Tensor x = Tensor::from_vector<float>({6}, {nan, inf, -inf, 3e9f, -2.7f, 2.7f});
  Tensor i = Tensor::empty({6}, DType::i32);
  kernels::copy_into(x, i);  // NaN -> 0, saturating, truncation toward zero
  EXPECT_EQ(i.to_f64_vector(), (std::vector<double>{0, 2147483647.0, -2147483648.0, 2147483647.0, -2, 2}));
  Tensor b = Tensor::empty({6}, DType::boolean);
  kernels::copy_into(x, b);  // NaN is true
  EXPECT_EQ(b.to_f64_vector(), (std::vector<double>{1, 1, 1, 1, 1, 1}));
  Tensor big = Tensor::from_vector<int64_t>({1}, {(int64_t(1) << 32) + 5});
  Tensor w = Tensor::empty({1}, DType::i32);
  kernels::copy_into(big, w);  // i64 -> i32 wraps
  EXPECT_EQ(w.get({0}), 5.0);
  EXPECT_TRUE(test::throws_with<ShapeError>([&] { kernels::copy_into(x, Tensor::empty({5})); }, {"copy", "[5]", "[6]"}));
}

TEST(Copy, ToAnyViewWithCast) {
  uint32_t seed = 100;
  for (const Shape& s : {Shape{}, Shape{17}, Shape{3, 17}, Shape{2, 33, 5}})
    for (Layout lx : {Layout::contiguous, Layout::transposed, Layout::strided})
      for (Layout lo : {Layout::contiguous, Layout::transposed, Layout::strided})
        for (DType to : {DType::f32, DType::f16, DType::i64}) {
          Tensor x = test::rand_view(s, DType::f32, lx, seed++, -50, 50);
          Tensor out = test::rand_view(s, to, lo, seed++);
          kernels::copy_to_view(x, out);
          EXPECT_TRUE(all_close(out, x.to(to), 0, 0)) << shape_str(s) << " " << test::layout_name(lx) << " -> "
                                                      << test::layout_name(lo) << " " << dtype_name(to);
        }
  // A slice of a bigger buffer: the elements around it stay as they were.
  Tensor buf = Tensor::full({4, 10}, 7.0);
  Tensor x = test::rand_tensor({4, 3}, DType::f32, 5);
  kernels::copy_to_view(x, buf.slice(1, 6, 9));
  EXPECT_TRUE(all_close(buf.slice(1, 6, 9), x, 0, 0));
  EXPECT_EQ(buf.slice(1, 0, 6).to_f64_vector(), std::vector<double>(24, 7.0));
  EXPECT_EQ(buf.slice(1, 9, 10).to_f64_vector(), std::vector<double>(4, 7.0));
  EXPECT_TRUE(test::throws_with<ShapeError>([&] { kernels::copy_to_view(x, buf.slice(1, 0, 4)); },
                                            {"copy_to_view", "[4, 4]", "[4, 3]"}));
  EXPECT_TRUE(test::throws_with<ValueError>(
      [&] { kernels::copy_to_view(x, Tensor::zeros({3}).broadcast_to({4, 3})); }, {"copy_to_view", "broadcast"}));
  // Overlapping views: the copy is of x as it was (numpy's dst[...] = src semantics).
  Tensor row = Tensor::from_vector<float>({6}, {0, 1, 2, 3, 4, 5});
  kernels::copy_to_view(row.slice(0, 0, 4), row.slice(0, 2, 6));
  EXPECT_EQ(row.to_f64_vector(), (std::vector<double>{0, 1, 0, 1, 2, 3}));
  Tensor sq = Tensor::from_vector<float>({2, 2}, {1, 2, 3, 4});
  kernels::copy_to_view(sq.transpose(0, 1), sq);  // in-place transpose
  EXPECT_EQ(sq.to_f64_vector(), (std::vector<double>{1, 3, 2, 4}));
}

TEST(Concat, MatchesDefinition) {
  uint32_t seed = 1;
  for (int axis : {0, 1, -1}) {
    Tensor a = test::rand_view({3, 4, 5}, DType::f32, Layout::transposed, seed++);
    Shape sb = {3, 4, 5};
    sb[size_t(axis < 0 ? 2 : axis)] = 2;
    Tensor b = test::rand_view(sb, DType::f32, Layout::strided, seed++);
    Shape sc = {3, 4, 5};
    sc[size_t(axis < 0 ? 2 : axis)] = 1;
    Tensor c = test::rand_tensor({1, 1, 1}, DType::f32, seed++).broadcast_to(sc);  // a broadcast view
    Tensor y = kernels::concat({a, b, c}, axis);
    const int ax = axis < 0 ? 2 : axis;
    for_each_index(y.shape(), [&](std::span<const int64_t> i) {
      std::vector<int64_t> j(i.begin(), i.end());
      const Tensor* src = &a;
      int64_t na = a.shape()[size_t(ax)], nb = b.shape()[size_t(ax)];
      if (j[size_t(ax)] >= na + nb) src = &c, j[size_t(ax)] -= na + nb;
      else if (j[size_t(ax)] >= na) src = &b, j[size_t(ax)] -= na;
      ASSERT_EQ(y.get(i), src->get(j));
    });
  }
  Tensor ia = Tensor::from_vector<int32_t>({2}, {1, 2}), ib = Tensor::from_vector<int32_t>({1}, {3});
  EXPECT_EQ(kernels::concat({ia, ib}, 0).to_f64_vector(), (std::vector<double>{1, 2, 3}));
  EXPECT_TRUE(test::throws_with<ShapeError>([&] { kernels::concat({Tensor::zeros({2, 3}), Tensor::zeros({2, 4})}, 0); },
                                            {"concat", "input 1", "[2, 4]", "[2, 3]"}));
  EXPECT_TRUE(test::throws_with<ValueError>([&] { kernels::concat({Tensor::zeros({2}), ia}, 0); },
                                            {"concat", "input 1", "i32", "f32"}));
  EXPECT_TRUE(test::throws_with<ValueError>([&] { kernels::concat({}, 0); }, {"concat", "at least one"}));
  EXPECT_TRUE(test::throws_with<ShapeError>([&] { kernels::concat({ia}, 1); }, {"concat", "axis 1", "rank 1"}));
}

TEST(Gather, MatchesNumpyTake) {
  uint32_t seed = 1;
  // Embedding lookup: table [vocab=11, d=7], ids [2, 3] (i64 and i32, negative ids count from the end).
  Tensor table = test::rand_view({11, 7}, DType::f32, Layout::transposed, seed++);
  for (DType it : {DType::i32, DType::i64}) {
    Tensor ids = Tensor::from_vector<int64_t>({2, 3}, {0, 10, -1, 5, 5, -11}).to(it);
    Tensor y = kernels::gather(table, ids, 0);
    EXPECT_EQ(y.shape(), (Shape{2, 3, 7}));
    for_each_index(y.shape(), [&](std::span<const int64_t> i) {
      int64_t id = int64_t(ids.get({i[0], i[1]}));
      if (id < 0) id += 11;
      ASSERT_EQ(y.get(i), table.get({id, i[2]}));
    });
  }
  // Middle axis of a bf16 tensor with a scalar index (the axis disappears).
  Tensor x = test::rand_view({3, 5, 4}, DType::bf16, Layout::strided, seed++);
  Tensor y = kernels::gather(x, Tensor::from_vector<int32_t>({}, {-2}), 1);
  EXPECT_EQ(y.shape(), (Shape{3, 4}));
  for_each_index(y.shape(), [&](std::span<const int64_t> i) { ASSERT_EQ(y.get(i), x.get({i[0], 3, i[1]})); });
  EXPECT_TRUE(test::throws_with<ValueError>(
      [&] { kernels::gather(table, Tensor::from_vector<int64_t>({2}, {3, 11}), 0); }, {"gather", "index 11", "size 11"}));
  EXPECT_TRUE(test::throws_with<ValueError>(
      [&] { kernels::gather(table, Tensor::from_vector<int64_t>({1}, {-12}), 0); }, {"gather", "index -12"}));
  EXPECT_TRUE(test::throws_with<ValueError>([&] { kernels::gather(table, Tensor::zeros({2}), 0); },
                                            {"gather", "indices", "f32", "i32 or i64"}));
  EXPECT_TRUE(test::throws_with<ShapeError>(
      [&] { kernels::gather(table, Tensor::from_vector<int64_t>({1}, {0}), 2); }, {"gather", "axis 2", "rank 2"}));
}

TEST(Repeat, MatchesNumpyRepeat) {
  uint32_t seed = 1;
  for (int axis : {0, 1, 2, -1})
    for (int64_t r : {int64_t(0), int64_t(1), int64_t(3)}) {
      Tensor x = test::rand_view({2, 3, 5}, DType::f32, Layout::transposed, seed++);
      Tensor y = kernels::repeat(x, r, axis);
      const int ax = axis < 0 ? axis + 3 : axis;
      Shape want = x.shape();
      want[size_t(ax)] *= r;
      ASSERT_EQ(y.shape(), want);
      for_each_index(y.shape(), [&](std::span<const int64_t> i) {
        std::vector<int64_t> j(i.begin(), i.end());
        j[size_t(ax)] /= r;
        ASSERT_EQ(y.get(i), x.get(j));
      });
    }
  Tensor b = Tensor::from_vector<int64_t>({2}, {7, 8}).broadcast_to({3, 2});
  EXPECT_EQ(kernels::repeat(b, 2, 1).to_f64_vector(), (std::vector<double>{7, 7, 8, 8, 7, 7, 8, 8, 7, 7, 8, 8}));
  EXPECT_TRUE(test::throws_with<ValueError>([&] { kernels::repeat(b, -1, 0); }, {"repeat", "repeats", "-1"}));
  EXPECT_TRUE(test::throws_with<ShapeError>([&] { kernels::repeat(b, 2, 5); }, {"repeat", "axis 5", "rank 2"}));
}

}  // namespace
}  // namespace tl
