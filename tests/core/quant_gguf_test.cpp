// Weight formats against outside references (scripts/gen_quant_fixtures.py): quantisation and dequantisation
// bit for bit against the gguf Python package 0.19.0 (a port of ggml-quants.c's reference code), f16 / bf16
// rounding against torch 2.9.1. Every comparison here is exact (tolerance 0): the code does the same f32
// operations in the same order.
#include <gtest/gtest.h>

#include <cmath>

#include "quant_test_util.h"

namespace tl::test {
namespace {

class BlockQuant : public ::testing::TestWithParam<WeightFormat> {};

TEST_P(BlockQuant, QuantizeMatchesGgufBitForBit) {
  const WeightFormat f = GetParam();
  const std::string name = weight_format_name(f);
  const Tensor w = quant_fixture("block_w");  // [8, 128] f32, edge-case rows (see the script)
  const Tensor want = quant_fixture(name + "_q");
  ASSERT_EQ(want.dtype(), DType::u8);  // '|u1' .npy loads as u8
  const Tensor got = quantize_weight(w, f);
  ASSERT_EQ(got.dtype(), DType::u8);
  EXPECT_EQ(got.shape(), (Shape{8, weight_row_bytes(f, 128)}));
  expect_bits_equal(got, want, name + " quantize_weight vs gguf.quants.quantize");
}

TEST_P(BlockQuant, DequantizeMatchesGgufBitForBit) {
  const WeightFormat f = GetParam();
  const std::string name = weight_format_name(f);
  const Tensor q = quant_fixture(name + "_q");
  const Tensor want = quant_fixture(name + "_deq");
  const int64_t k = want.shape()[1];
  expect_bits_equal(dequantize_weight(q, f, k), want, name + " dequantize_weight vs gguf.quants.dequantize");
}

INSTANTIATE_TEST_SUITE_P(Formats, BlockQuant,
                         ::testing::Values(WeightFormat::q8_0, WeightFormat::q4_0, WeightFormat::q4_1),
                         [](const auto& i) { return std::string(weight_format_name(i.param)); });

class KQuant : public ::testing::TestWithParam<WeightFormat> {};

// gguf 0.19.0 has no q4_k / q6_k quantiser: the fixture blocks are random bytes with finite f16 scales.
TEST_P(KQuant, DequantizeMatchesGgufBitForBit) {
  const WeightFormat f = GetParam();
  const std::string name = weight_format_name(f);
  const Tensor q = quant_fixture(name + "_q");
  const Tensor want = quant_fixture(name + "_deq");
  expect_bits_equal(dequantize_weight(q, f, want.shape()[1]), want, name + " dequantize_weight vs gguf");
}

INSTANTIATE_TEST_SUITE_P(Formats, KQuant, ::testing::Values(WeightFormat::q4_k, WeightFormat::q6_k),
                         [](const auto& i) { return std::string(weight_format_name(i.param)); });

TEST(QuantConvert, F16MatchesTorchRounding) {
  const Tensor x = quant_fixture("conv_x");  // [N] f32: random values, ties, subnormals, overflow, inf
  const Tensor want = quant_fixture("conv_f16");
  const int64_t n = x.numel();
  const Tensor q = quantize_weight(x.reshape({1, n}), WeightFormat::f16);
  ASSERT_EQ(q.dtype(), DType::f16);
  expect_bits_equal(q.reshape({n}), want, "f16 vs torch .to(float16)");
  // Back to f32 is exact: compare with the f16 values widened by the reference.
  const Tensor back = dequantize_weight(q, WeightFormat::f16, n);
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(back.data<float>()[i], f16_to_f32(want.data_u16()[i])) << i;
}

TEST(QuantConvert, Bf16MatchesTorchRounding) {
  const Tensor x = quant_fixture("conv_x");
  const Tensor bits = quant_fixture("conv_bf16_bits");  // i32 holding torch's bf16 bit patterns
  const int64_t n = x.numel();
  const Tensor q = quantize_weight(x.reshape({1, n}), WeightFormat::bf16);
  ASSERT_EQ(q.dtype(), DType::bf16);
  for (int64_t i = 0; i < n; ++i)
    EXPECT_EQ(int32_t(q.data_u16()[i]), bits.data<int32_t>()[i]) << "element " << i << " = " << x.data<float>()[i];
  const Tensor back = dequantize_weight(q, WeightFormat::bf16, n);
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(back.data<float>()[i], bf16_to_f32(uint16_t(bits.data<int32_t>()[i])));
}

// NaN is not in the torch fixture (torch writes a canonical NaN, ggml keeps the sign and payload): both
// conversions keep NaN a NaN.
TEST(QuantConvert, NanStaysNan) {
  const Tensor x = Tensor::from_vector<float>({1, 2}, {NAN, -NAN});
  for (WeightFormat f : {WeightFormat::f16, WeightFormat::bf16}) {
    const Tensor back = dequantize_weight(quantize_weight(x, f), f, 2);
    EXPECT_TRUE(std::isnan(back.data<float>()[0]));
    EXPECT_TRUE(std::isnan(back.data<float>()[1]));
  }
}

}  // namespace
}  // namespace tl::test
