// The weight-format table, the storage checks and the typed errors (include/tl/quant.h), and DType::u8.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "quant_test_util.h"
#include "tl/error.h"

namespace tl::test {
namespace {

TEST(QuantFormat, TableMatchesGgml) {
  // ggml.c type_traits: block size and bytes per block.
  struct Want {
    WeightFormat f;
    const char* name;
    int64_t block, bytes;
    DType storage;
  };
  const Want want[] = {{WeightFormat::f32, "f32", 1, 4, DType::f32},       {WeightFormat::f16, "f16", 1, 2, DType::f16},
                       {WeightFormat::bf16, "bf16", 1, 2, DType::bf16},    {WeightFormat::q8_0, "q8_0", 32, 34, DType::u8},
                       {WeightFormat::q4_0, "q4_0", 32, 18, DType::u8},    {WeightFormat::q4_1, "q4_1", 32, 20, DType::u8},
                       {WeightFormat::q4_k, "q4_k", 256, 144, DType::u8},  {WeightFormat::q6_k, "q6_k", 256, 210, DType::u8}};
  ASSERT_EQ(all_weight_formats().size(), std::size(want));
  for (size_t i = 0; i < std::size(want); ++i) {
    const Want& w = want[i];
    EXPECT_EQ(all_weight_formats()[i], w.f);
    EXPECT_STREQ(weight_format_name(w.f), w.name);
    EXPECT_EQ(weight_format_from_name(w.name), w.f);
    EXPECT_EQ(weight_format_block(w.f), w.block);
    EXPECT_EQ(weight_block_bytes(w.f), w.bytes);
    EXPECT_EQ(weight_storage_dtype(w.f), w.storage);
    EXPECT_EQ(weight_row_bytes(w.f, 3 * w.block), 3 * w.bytes);
    EXPECT_EQ(can_quantize(w.f), w.f != WeightFormat::q4_k && w.f != WeightFormat::q6_k);
  }
}

TEST(QuantFormat, Errors) {
  expect_quant_error<ValueError>([] { weight_format_from_name("q5_0"); }, {"\"q5_0\"", "q8_0", "q6_k"});
  expect_quant_error<ValueError>([] { weight_row_bytes(WeightFormat::q8_0, 48); }, {"q8_0", "48", "block of 32"});
  expect_quant_error<ValueError>([] { weight_row_bytes(WeightFormat::q4_k, 0); }, {"q4_k", "0", "256"});
  const Tensor w = Tensor::zeros({2, 64});
  expect_quant_error<ValueError>([&] { quantize_weight(Tensor::zeros({2, 40}), WeightFormat::q4_0); },
                                 {"q4_0", "k = 40", "[2, 40]", "block of 32"});
  expect_quant_error<ShapeError>([&] { quantize_weight(Tensor::zeros({64}), WeightFormat::q8_0); },
                                 {"q8_0", "2-D", "[64]"});
  expect_quant_error<ValueError>([&] { quantize_weight(w.to(DType::f16), WeightFormat::q8_0); }, {"f32", "f16"});
  expect_quant_error<ValueError>([&] { quantize_weight(Tensor::zeros({1, 256}), WeightFormat::q6_k); },
                                 {"q6_k", "GGUF"});
  expect_quant_error<ValueError>([&] { quantize_weight(Tensor(), WeightFormat::q8_0); }, {"undefined"});
  // Non-finite weights: ggml's quantisers have no defined result; we refuse, naming the element.
  for (WeightFormat f : {WeightFormat::q8_0, WeightFormat::q4_0, WeightFormat::q4_1}) {
    Tensor bad = Tensor::zeros({2, 64});
    bad.data<float>()[64 + 37] = NAN;
    expect_quant_error<ValueError>([&] { quantize_weight(bad, f); }, {weight_format_name(f), "nan", "[1, 37]"});
    bad.data<float>()[64 + 37] = -INFINITY;
    expect_quant_error<ValueError>([&] { quantize_weight(bad, f); }, {"-inf", "[1, 37]"});
  }
  // Storage checks name the caller, the expected and the actual.
  const Tensor q = quantize_weight(w, WeightFormat::q8_0);  // u8 [2, 68]
  EXPECT_EQ(check_weight_storage(q, WeightFormat::q8_0, 64, "lin"), 2);
  expect_quant_error<ShapeError>([&] { check_weight_storage(q, WeightFormat::q4_0, 64, "lin.w"); },
                                 {"lin.w", "q4_0", "[n, 36]", "[2, 68]"});
  expect_quant_error<ShapeError>([&] { check_weight_storage(w, WeightFormat::q8_0, 64, "lin.w"); },
                                 {"lin.w", "u8", "f32"});
  expect_quant_error<ShapeError>([&] { check_weight_storage(w, WeightFormat::f16, 64, "lin.w"); },
                                 {"lin.w", "f16", "f32"});
  expect_quant_error<ShapeError>([&] { check_weight_storage(w, WeightFormat::f32, 32, "lin.w"); },
                                 {"lin.w", "[n, 32]", "[2, 64]"});
  expect_quant_error<ShapeError>([&] { check_weight_storage(q, WeightFormat::q8_0, 60, "lin.w"); },
                                 {"lin.w", "60", "block of 32"});
  expect_quant_error<ShapeError>([&] { dequantize_weight(q.reshape({136}), WeightFormat::q8_0, 64); },
                                 {"dequantize_weight(q8_0)", "[136]"});
}

// Round trip error bounds implied by the formats (the value is rounded to the nearest grid point; grid step
// d = amax / 127 for q8_0, amax / 8 for q4_0, (max - min) / 15 for q4_1, plus the f16 rounding of d and m).
TEST(QuantFormat, RoundTripErrorWithinFormatBound) {
  std::mt19937 g(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  Tensor w = Tensor::empty({16, 256});
  for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] = nd(g);
  struct Case {
    WeightFormat f;
    double rel;  // bound on |w - deq(q(w))| as a fraction of the block's range
  };
  for (Case c : {Case{WeightFormat::f32, 0.0}, Case{WeightFormat::f16, 1e-3}, Case{WeightFormat::bf16, 4e-3},
                 Case{WeightFormat::q8_0, 0.5 / 127 + 1e-3}, Case{WeightFormat::q4_0, 1.0 / 8 + 1e-3},
                 Case{WeightFormat::q4_1, 0.5 / 15 + 2e-3}}) {
    const Tensor back = dequantize_weight(quantize_weight(w, c.f), c.f, 256);
    double worst = 0;
    for (int64_t b = 0; b < w.numel(); b += 32) {
      float amax = 0;
      for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(w.data<float>()[b + j]));
      for (int j = 0; j < 32; ++j)
        worst = std::max(worst, std::fabs(double(w.data<float>()[b + j]) - back.data<float>()[b + j]) / (2 * amax));
    }
    EXPECT_LE(worst, c.rel) << weight_format_name(c.f);
  }
}

TEST(QuantFormat, StridedInputAndRowApi) {
  std::mt19937 g(3);
  std::uniform_real_distribution<float> ud(-2.0f, 2.0f);
  Tensor big = Tensor::empty({64, 5});
  for (int64_t i = 0; i < big.numel(); ++i) big.data<float>()[i] = ud(g);
  const Tensor wt = big.transpose(0, 1);  // [5, 64], not contiguous
  for (WeightFormat f : {WeightFormat::q8_0, WeightFormat::q4_1, WeightFormat::bf16}) {
    const Tensor q = quantize_weight(wt, f);
    const Tensor want = quantize_weight(wt.contiguous(), f);
    expect_bits_equal(q, want, weight_format_name(f));
    std::vector<uint8_t> row(size_t(weight_row_bytes(f, 64)));
    quantize_row(f, wt.contiguous().data<float>() + 64, row.data(), 64);
    EXPECT_EQ(std::memcmp(row.data(), static_cast<const uint8_t*>(q.raw_data()) + row.size(), row.size()), 0);
    std::vector<float> y(64);
    dequantize_row(f, row.data(), y.data(), 64);
    const Tensor d = dequantize_weight(q, f, 64);
    EXPECT_EQ(std::memcmp(y.data(), d.data<float>() + 64, 64 * 4), 0);
  }
}

TEST(DTypeU8, BasicsAndNpy) {
  EXPECT_EQ(dtype_size(DType::u8), 1u);
  EXPECT_STREQ(dtype_name(DType::u8), "u8");
  EXPECT_EQ(dtype_from_name("u8"), DType::u8);
  EXPECT_EQ(dtype_from_name("uint8"), DType::u8);
  EXPECT_FALSE(is_float(DType::u8));
  Tensor t = Tensor::from_vector<uint8_t>({2, 2}, {0, 7, 200, 255});
  EXPECT_EQ(t.dtype(), DType::u8);
  EXPECT_EQ(t.get({1, 0}), 200.0);
  const int64_t at[2] = {0, 0};
  t.set(at, 300.0);  // wraps like a C cast of an integer
  EXPECT_EQ(t.get({0, 0}), 44.0);
  const std::string bytes = serialize_npy(t);
  EXPECT_NE(bytes.find("'|u1'"), std::string::npos);
  const Tensor r = parse_npy(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  ASSERT_EQ(r.dtype(), DType::u8);
  EXPECT_EQ(std::memcmp(r.raw_data(), t.raw_data(), 4), 0);
  const std::vector<float> f = t.to(DType::f32).to_f32_vector();
  EXPECT_EQ(f, (std::vector<float>{44, 7, 200, 255}));
}

}  // namespace
}  // namespace tl::test
