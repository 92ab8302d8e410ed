// Naive references for softmax (plain and the fused scaled+masked form), layer norm and RMS norm, in double,
// one row at a time via get/set.
#include <cmath>
#include <limits>

#include "tl/kernels.h"

namespace tl::ref {

namespace {
// softmax(x * scale + mask) along `axis`; scale 1 is plain softmax (multiplying a double by 1 is exact).
Tensor softmax_scaled(const Tensor& x, int axis, const std::optional<Tensor>& mask, double scale) {
  const int r = x.rank();
  const int ax = axis < 0 ? axis + r : axis;
  Tensor out = Tensor::empty(x.shape(), DType::f32);
  std::optional<Tensor> m;
  if (mask) m = mask->broadcast_to(x.shape());
  Shape rows = x.shape();
  rows[size_t(ax)] = 1;
  const int64_t L = x.shape()[size_t(ax)];
  for_each_index(rows, [&](std::span<const int64_t> i0) {
    std::vector<int64_t> i(i0.begin(), i0.end());
    std::vector<double> v(static_cast<size_t>(L));
    double mx = -std::numeric_limits<double>::infinity();
    bool nan = false;
    for (int64_t k = 0; k < L; ++k) {
      i[size_t(ax)] = k;
      v[size_t(k)] = x.get(i) * scale + (m ? m->get(i) : 0.0);
      nan = nan || std::isnan(v[size_t(k)]);
      mx = std::max(mx, v[size_t(k)]);
    }
    double sum = 0;
    for (double& e : v) sum += (e = std::exp(e - mx));
    for (int64_t k = 0; k < L; ++k) {
      i[size_t(ax)] = k;
      double y = nan ? std::numeric_limits<double>::quiet_NaN()
                     : std::isinf(mx) && mx < 0 ? 0.0 : v[size_t(k)] / sum;
      out.set(i, y);
    }
  });
  return out;
}
}  // namespace

Tensor softmax(const Tensor& x, int axis, const std::optional<Tensor>& mask) {
  return softmax_scaled(x, axis, mask, 1.0);
}

Tensor scaled_masked_softmax(const Tensor& x, float scale, const std::optional<Tensor>& mask) {
  return softmax_scaled(x, x.rank() - 1, mask, double(scale));
}

namespace {
Tensor norm(bool layer, const Tensor& x, const std::optional<Tensor>& gamma, const std::optional<Tensor>& beta,
            int norm_dims, float eps) {
  Tensor out = Tensor::empty(x.shape(), DType::f32);
  const int lead = x.rank() - norm_dims;
  Shape oshape(x.shape().begin(), x.shape().begin() + lead), nshape(x.shape().begin() + lead, x.shape().end());
  const int64_t D = shape_numel(nshape);
  for_each_index(oshape, [&](std::span<const int64_t> o) {
    std::vector<int64_t> i(o.begin(), o.end());
    i.resize(size_t(x.rank()));
    auto each = [&](auto&& f) {
      for_each_index(nshape, [&](std::span<const int64_t> n) {
        for (size_t k = 0; k < n.size(); ++k) i[size_t(lead) + k] = n[k];
        f(n);
      });
    };
    double mean = 0, var = 0;
    if (layer) {
      each([&](auto) { mean += x.get(i); });
      mean /= double(D);
    }
    each([&](auto) { var += (x.get(i) - mean) * (x.get(i) - mean); });
    var /= double(D);
    const double rs = 1.0 / std::sqrt(var + double(eps));
    each([&](std::span<const int64_t> n) {
      double y = (x.get(i) - mean) * rs;
      if (gamma) y *= gamma->get(n);
      if (beta) y += beta->get(n);
      out.set(i, y);
    });
  });
  return out;
}
}  // namespace

Tensor layer_norm(const Tensor& x, const std::optional<Tensor>& gamma, const std::optional<Tensor>& beta,
                  int norm_dims, float eps) {
  return norm(true, x, gamma, beta, norm_dims, eps);
}

Tensor rms_norm(const Tensor& x, const std::optional<Tensor>& gamma, int norm_dims, float eps) {
  return norm(false, x, gamma, std::nullopt, norm_dims, eps);
}

}  // namespace tl::ref
