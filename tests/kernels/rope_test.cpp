// The fused rotary embedding kernel against its double reference (tl::ref::rope) over both pair styles,
// partial rotation, transposed and strided x, broadcast and per-row tables, f16 input and empty shapes. The
// graph op is checked against transformers' apply_rotary_pos_emb in tests/nn/position_test.cpp.
#include <gtest/gtest.h>

#include "kernel_test_util.h"
#include "tl/error.h"

#include "../error_of.h"

namespace tl::test {
namespace {

struct RopeCase {
  Shape x;      // logical [..., s, hd]
  Shape table;  // [..., s, half]
  bool interleaved;
  Layout layout;
  DType dtype;
};

TEST(RopeKernel, MatchesReference) {
  const RopeCase cases[] = {
      {{1, 4, 9, 16}, {1, 1, 9, 8}, false, Layout::contiguous, DType::f32},   // LLaMA: tables broadcast over heads
      {{2, 3, 5, 12}, {2, 1, 5, 3}, false, Layout::transposed, DType::f32},   // partial (rot 6 of 12), per batch
      {{2, 3, 5, 12}, {5, 6}, true, Layout::contiguous, DType::f32},          // GPT-J pairs, rank-2 tables
      {{1, 2, 7, 10}, {1, 2, 7, 2}, true, Layout::strided, DType::f32},       // partial pairs, per-head tables
      {{3, 8}, {3, 4}, false, Layout::strided, DType::f32},                   // rank 2
      {{1, 2, 6, 8}, {6, 4}, false, Layout::contiguous, DType::f16},
      {{0, 2, 6, 8}, {6, 4}, false, Layout::contiguous, DType::f32},          // empty batch
  };
  uint32_t seed = 5;
  for (const RopeCase& c : cases) {
    Tensor x = rand_view(c.x, c.dtype, c.layout, seed++);
    Tensor cs = rand_tensor(c.table, DType::f32, seed++, -1.0, 1.0), sn = rand_tensor(c.table, DType::f32, seed++, -1.0, 1.0);
    Tensor got = kernels::rope(x, cs, sn, c.interleaved);
    // Two products and a sum per element in f32 against double: 1e-6 relative, 1e-6 absolute.
    EXPECT_TRUE(all_close(got, ref::rope(x, cs, sn, c.interleaved), 1e-6, 1e-6))
        << shape_str(c.x) << " tables " << shape_str(c.table) << (c.interleaved ? " interleaved " : " half ")
        << layout_name(c.layout) << " " << dtype_name(c.dtype);
  }
  // The model's layout: q stored [b, s, h, hd] and viewed [b, h, s, hd] (rows strided, inner stride 1).
  Tensor q = rand_tensor({2, 9, 4, 16}, DType::f32, 99).permute({0, 2, 1, 3});
  Tensor cs = rand_tensor({2, 1, 9, 8}, DType::f32, 100, -1.0, 1.0), sn = rand_tensor({2, 1, 9, 8}, DType::f32, 101, -1.0, 1.0);
  EXPECT_TRUE(all_close(kernels::rope(q, cs, sn, false), ref::rope(q, cs, sn, false), 1e-6, 1e-6));
}

TEST(RopeKernel, ErrorsNameTheInput) {
  Tensor x = Tensor::zeros({1, 2, 3, 8}), t = Tensor::zeros({3, 4});
  EXPECT_NE(error_of<ShapeError>([&] { kernels::rope(Tensor::zeros({8}), t, t, false); }).find("input 0 (x) has shape [8], expected [..., seq, head_dim]"), std::string::npos);
  EXPECT_NE(error_of<ShapeError>([&] { kernels::rope(x, Tensor::zeros({3, 5}), t, false); }).find("input 1 (cos) has shape [3, 5], expected [..., seq, half] with 1 <= 2 * half <= head_dim = 8"), std::string::npos);
  EXPECT_NE(error_of<ShapeError>([&] { kernels::rope(x, t, Tensor::zeros({3, 2}), false); }).find("input 2 (sin) has shape [3, 2], expected last dim 4"), std::string::npos);
  EXPECT_NE(error_of<ShapeError>([&] { kernels::rope(x, Tensor::zeros({4, 4}), t, false); }).find("input 1 (cos) has shape [4, 4], expected leading dims that broadcast to input 0 (x)'s [1, 2, 3]"), std::string::npos);
  EXPECT_NE(error_of<ValueError>([&] { kernels::rope(Tensor::zeros({3, 8}, DType::i64), t, t, false); }).find("input 0 (x) has dtype i64"), std::string::npos);
  EXPECT_NE(error_of<ShapeError>([&] { kernels::rope(x, Tensor::zeros({2, 2, 1, 3, 4}), t, false); }).find("expected leading dims"), std::string::npos);
}

}  // namespace
}  // namespace tl::test
