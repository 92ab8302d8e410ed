// ALiBi as BLOOM computes it (build_alibi_tensor): per-head slopes times key positions, added to the scores.
#include <algorithm>
#include <cmath>

#include "tl/error.h"
#include "tl/nn/position.h"

namespace tl::nn {

std::vector<float> alibi_slopes(int64_t n_heads) {
  if (n_heads <= 0) TL_THROW(ValueError, "[alibi] n_heads must be positive, got ", n_heads);
  int64_t closest = 1;  // largest power of two <= n_heads
  while (closest * 2 <= n_heads) closest *= 2;
  // BLOOM: base = 2^(-2^-(log2(closest) - 3)) held in f32, slopes = base^k in f32 (torch.pow on f32).
  auto series = [](int64_t pow2) { return float(std::pow(2.0, -std::pow(2.0, -(std::log2(double(pow2)) - 3.0)))); };
  std::vector<float> s;
  const float base = series(closest);
  for (int64_t k = 1; k <= closest; ++k) s.push_back(float(std::pow(double(base), double(k))));
  if (closest != n_heads) {
    // The remaining heads take the odd powers of the series for 2 * closest (interleaved between the first).
    const float extra = series(2 * closest);
    const int64_t remaining = std::min(closest, n_heads - closest);
    for (int64_t k = 1; k < 1 + 2 * remaining; k += 2) s.push_back(float(std::pow(double(extra), double(k))));
  }
  return s;
}

Tensor build_alibi_tensor(const Tensor& attention_mask, int64_t n_heads) {
  if (attention_mask.rank() != 2)
    TL_THROW(ShapeError, "[alibi] attention_mask must be [batch, k_len], got ", shape_str(attention_mask.shape()));
  const std::vector<float> slopes = alibi_slopes(n_heads);
  const int64_t b = attention_mask.size(0), k = attention_mask.size(1);
  Tensor out = Tensor::empty({b * n_heads, 1, k});  // [b * h, 1, k]
  float* o = out.data<float>();
  for (int64_t i = 0; i < b; ++i) {
    double cum = 0;
    std::vector<float> pos(size_t(k), 0.0f);  // (cumsum(mask) - 1) * mask
    for (int64_t j = 0; j < k; ++j) {
      const double m = attention_mask.get({i, j});
      cum += m;
      pos[size_t(j)] = float((cum - 1) * m);
    }
    for (int64_t h = 0; h < n_heads; ++h)
      for (int64_t j = 0; j < k; ++j) o[(i * n_heads + h) * k + j] = slopes[size_t(h)] * pos[size_t(j)];
  }
  return out;
}

Value alibi_bias(Graph& g, int64_t n_heads, int64_t k_len) {
  if (k_len <= 0) TL_THROW(ValueError, "[alibi] k_len must be positive, got ", k_len);
  const std::vector<float> slopes = alibi_slopes(n_heads);
  Tensor t = Tensor::empty({1, n_heads, 1, k_len});  // [1, h, 1, k]
  float* p = t.data<float>();
  for (int64_t h = 0; h < n_heads; ++h)
    for (int64_t j = 0; j < k_len; ++j) p[h * k_len + j] = slopes[size_t(h)] * float(j);
  return g.constant(t);
}

}  // namespace tl::nn
