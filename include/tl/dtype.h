// Element types. f32 is the compute type; f16 and bf16 are storage types converted exactly to f32.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace tl {

// u8: raw bytes (the blocks of quantised weight formats, include/tl/quant.h); arithmetic treats it as an integer.
enum class DType : uint8_t { f32, f16, bf16, i32, i64, boolean, u8 };

namespace detail {
[[noreturn]] void bad_dtype(DType t);  // throws InternalError naming the value
}  // namespace detail

// Bytes per element. Inline: tensor accessors call it per strided run.
inline size_t dtype_size(DType t) {
  constexpr uint8_t kSize[] = {4, 2, 2, 4, 8, 1, 1};  // in enum order
  if (uint8_t(t) >= sizeof(kSize)) detail::bad_dtype(t);
  return kSize[uint8_t(t)];
}
// "f32", "f16", "bf16", "i32", "i64", "bool", "u8".
const char* dtype_name(DType t);
// Inverse of dtype_name; throws ValueError naming the text on an unknown name.
DType dtype_from_name(std::string_view name);
inline bool is_float(DType t) { return t == DType::f32 || t == DType::f16 || t == DType::bf16; }

// Exact conversions (round-to-nearest-even when narrowing; NaN stays NaN, overflow goes to inf).
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);
inline float bf16_to_f32(uint16_t b) {
  uint32_t u = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint16_t f32_to_bf16(float f);

}  // namespace tl
