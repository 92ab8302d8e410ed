// Reference linear layer: tl::qgemm_naive (each stored row dequantised to f32, products summed in double),
// the bias added in double.
#include <algorithm>
#include <vector>

#include "tl/error.h"
#include "tl/kernels.h"

namespace tl::ref {

Tensor linear(const Tensor& x, const Tensor& w, const std::optional<Tensor>& bias, WeightFormat format,
              int64_t in_features) {
  Shape bshape;
  if (bias) bshape = bias->shape();
  const Shape os = kernels::linear_shape(x.dtype(), x.shape(), w.dtype(), w.shape(), bias ? &bshape : nullptr,
                                         bias ? bias->dtype() : DType::f32, format, in_features, "ref::linear");
  const int64_t k = in_features, n = w.size(0), m = x.numel() / std::max<int64_t>(k, 1);
  Tensor out = Tensor::zeros(os, DType::f32);  // [..., n]
  if (m == 0 || n == 0) return out;
  const Tensor xc = x.contiguous();  // [m, k]
  const Tensor wc = w.contiguous();
  float* y = out.data<float>();
  qgemm_naive(m, n, k, xc.data<float>(), k, wc.raw_data(), format, y, n);
  if (bias) {
    const std::vector<double> b = bias->to_f64_vector();  // [n]
    for (int64_t r = 0; r < m; ++r)
      for (int64_t j = 0; j < n; ++j) y[r * n + j] = float(double(y[r * n + j]) + b[size_t(j)]);
  }
  return out;
}

Tensor linear_group(const Tensor& x, std::span<const Tensor> ws, WeightFormat format, int64_t in_features) {
  if (ws.empty()) TL_THROW(ValueError, "[ref::linear_group] needs at least one weight");
  std::vector<Tensor> parts;
  for (const Tensor& w : ws) parts.push_back(linear(x, w, std::nullopt, format, in_features));  // [..., n_i]
  return kernels::concat(parts, int(parts[0].shape().size()) - 1);
}

}  // namespace tl::ref
