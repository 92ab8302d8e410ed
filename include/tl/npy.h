// NumPy .npy files (format versions 1.0-3.0), C order, dtypes f4 f2 i4 i8 b1 (+ bf16 as "V2"/"<V2" is not
// standard, so bf16 tensors are written as f32). Fortran order and other dtypes are refused with a message.
#pragma once
#include <cstdint>
#include <span>
#include <string>

#include "tl/tensor.h"

namespace tl {

// `name` is used in error messages (a file path or "<buffer>").
Tensor parse_npy(std::span<const uint8_t> bytes, const std::string& name = "<buffer>");
Tensor read_npy(const std::string& path);
std::string serialize_npy(const Tensor& t);
void write_npy(const std::string& path, const Tensor& t);

}  // namespace tl
