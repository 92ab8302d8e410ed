// Shared by the qgemm tests: random stored weights in every format.
#pragma once
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "tl/dtype.h"
#include "tl/quant.h"
#include "tl/tensor.h"

namespace tl::test {

// A stored weight [n, k] in format f: quantised from random values, or random bytes (finite scales) for the
// k-quants, which quantize_weight does not produce.
inline std::vector<uint8_t> random_weight(WeightFormat f, int64_t n, int64_t k, uint32_t seed) {
  std::mt19937 g(seed);
  const int64_t rb = weight_row_bytes(f, k);
  std::vector<uint8_t> out(size_t(n * rb));
  if (out.empty()) return out;  // zero rows
  if (can_quantize(f)) {
    std::normal_distribution<float> nd(0.0f, 1.0f);
    Tensor w = Tensor::empty({n, k});
    for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] = nd(g);
    const Tensor q = quantize_weight(w, f);
    std::memcpy(out.data(), q.raw_data(), out.size());
    return out;
  }
  std::uniform_int_distribution<int> bd(0, 255);
  std::uniform_real_distribution<float> sd(-0.05f, 0.05f);
  for (auto& b : out) b = uint8_t(bd(g));
  const int64_t bb = weight_block_bytes(f);
  for (int64_t b = 0; b < n * rb; b += bb) {
    auto put = [&](int64_t off, float v) {
      const uint16_t h = f32_to_f16(v);
      std::memcpy(&out[size_t(b + off)], &h, 2);
    };
    if (f == WeightFormat::q4_k) {
      put(0, sd(g));
      put(2, std::fabs(sd(g)));
    } else {
      put(208, sd(g));
    }
  }
  return out;
}

}  // namespace tl::test
