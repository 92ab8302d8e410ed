#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "tl/npy.h"
#include "tl/tensor.h"

using namespace tl;

TEST(Tensor, ViewsShareStorage) {
  Tensor a = Tensor::from_vector<float>({2, 3}, {0, 1, 2, 3, 4, 5});
  Tensor t = a.transpose(0, 1);  // [3, 2]
  EXPECT_EQ(t.shape(), (Shape{3, 2}));
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_TRUE(t.same_storage(a));
  EXPECT_EQ(t.get({2, 1}), 5.0);
  Tensor c = t.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_EQ(c.to_f32_vector(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
}

TEST(Tensor, SliceAndBroadcast) {
  Tensor a = Tensor::from_vector<float>({6}, {0, 1, 2, 3, 4, 5});
  EXPECT_EQ(a.slice(0, 1, 6, 2).to_f32_vector(), (std::vector<float>{1, 3, 5}));
  EXPECT_EQ(a.slice(0, -2, 100).to_f32_vector(), (std::vector<float>{4, 5}));
  EXPECT_EQ(a.slice(0, 4, 2).numel(), 0);
  Tensor b = Tensor::from_vector<float>({1, 3}, {7, 8, 9}).broadcast_to({2, 3});
  EXPECT_EQ(b.strides()[0], 0);
  EXPECT_EQ(b.to_f32_vector(), (std::vector<float>{7, 8, 9, 7, 8, 9}));
  EXPECT_THROW(a.broadcast_to({4}), ShapeError);
  EXPECT_THROW(a.reshape({4, -1}), ShapeError);
  EXPECT_EQ(a.reshape({3, -1}).shape(), (Shape{3, 2}));
  EXPECT_EQ(broadcast_shapes(Shape{3, 1}, Shape{4}), (Shape{3, 4}));
  EXPECT_THROW(broadcast_shapes(Shape{3}, Shape{4}), ShapeError);
}

TEST(Tensor, ReshapeOfNonContiguousCopies) {
  Tensor a = Tensor::from_vector<float>({2, 3}, {0, 1, 2, 3, 4, 5}).transpose(0, 1);
  Tensor r = a.reshape({6});
  EXPECT_EQ(r.to_f32_vector(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
}

TEST(Tensor, AlignedAndOverflowChecked) {
  Tensor a = Tensor::empty({3, 5});
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.raw_data()) % 64, 0u);
  EXPECT_THROW(Tensor::empty({int64_t(1) << 40, int64_t(1) << 40}), ShapeError);
  EXPECT_THROW(Tensor::empty({-1}), ShapeError);
  EXPECT_THROW(a.data<int32_t>(), ValueError);
}

// f16/bf16 conversion: every f16 bit pattern round-trips exactly through f32 (NaNs stay NaN).
TEST(DType, F16RoundTripAllPatterns) {
  for (uint32_t h = 0; h < 65536; ++h) {
    float f = f16_to_f32(uint16_t(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(f))));
    } else {
      ASSERT_EQ(f32_to_f16(f), h) << "pattern " << h;
    }
  }
  // Round to nearest even at the halfway point between 1 and 1+2^-10.
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(f32_to_f16(70000.f), 0x7c00);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));
}

TEST(DType, BF16RoundTrip) {
  for (uint32_t h = 0; h < 65536; ++h) {
    float f = bf16_to_f32(uint16_t(h));
    if (!std::isnan(f)) {
      ASSERT_EQ(f32_to_bf16(f), h);
    }
  }
  EXPECT_EQ(f32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);  // tie -> even
  Tensor a = Tensor::from_vector<float>({3}, {1.5f, -2.25f, 3.0f}).to(DType::bf16);
  EXPECT_EQ(a.to_f32_vector(), (std::vector<float>{1.5f, -2.25f, 3.0f}));
}

TEST(Npy, RoundTripAllDtypes) {
  for (DType t : {DType::f32, DType::f16, DType::i32, DType::i64, DType::boolean}) {
    Tensor a = Tensor::from_vector<float>({2, 3}, {0, 1, 0, 3, -4, 5}).to(t);
    Tensor b = parse_npy(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(serialize_npy(a).data()),
                                                  serialize_npy(a).size()));
    EXPECT_EQ(b.dtype(), t);
    EXPECT_EQ(b.shape(), a.shape());
    EXPECT_EQ(b.to_f64_vector(), a.to_f64_vector());
  }
  Tensor s = Tensor::scalar(2.5f);
  std::string bytes = serialize_npy(s);
  Tensor r = parse_npy(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  EXPECT_EQ(r.rank(), 0);
  EXPECT_EQ(r.get(std::span<const int64_t>()), 2.5);
}

static Tensor parse_str(const std::string& s) {
  return parse_npy(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()), "t.npy");
}
static std::string make_npy(const std::string& dict, size_t data_bytes) {
  std::string h = dict + "\n";
  std::string out("\x93NUMPY\x01\x00", 8);
  out += char(h.size());
  out += char(0);
  return out + h + std::string(data_bytes, '\0');
}

TEST(Npy, RejectsBadFiles) {
  auto expect_msg = [](const std::string& s, const std::string& needle) {
    try {
      parse_str(s);
      FAIL() << "no error, expected " << needle;
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_msg("hello", "bad magic");
  expect_msg(make_npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16), "Fortran");
  expect_msg(make_npy("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", 16), "unsupported dtype");
  expect_msg(make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4), }", 8), "truncated");
  expect_msg(make_npy("{'descr': '<f4', 'fortran_order': False, }", 8), "'shape'");
  std::string big = make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8);
  big[8] = char(200);  // header length beyond the file
  expect_msg(big, "runs past the end");
}

TEST(Tensor, EmptyTensorsAreContiguous) {
  Tensor a = Tensor::empty({1, 3, 0});
  EXPECT_EQ(a.numel(), 0);
  EXPECT_TRUE(a.is_contiguous());
  EXPECT_EQ(a.clone().shape(), (Shape{1, 3, 0}));
}

// Found by fuzz_npy: a zero-size dim makes the element count 0, but the other dims' strides overflowed int64
// (UB) before this was checked. Now a ShapeError naming the shape (reproducer in tests/fuzz/npy/).
TEST(Tensor, ZeroSizeShapeWhoseStridesOverflowIsRejected) {
  EXPECT_THROW(Tensor::empty({2, int64_t(1) << 40, 0, int64_t(1) << 40}), ShapeError);
  try {
    Tensor::empty({3, 0, int64_t(1) << 32, int64_t(1) << 32});
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("strides"), std::string::npos) << e.what();
  }
  EXPECT_EQ(Tensor::empty({int64_t(1) << 40, 0, 4}).numel(), 0);  // strides fit: fine
}
