// Naive attention reference in double: the full [sq, sk] score matrix per (batch, head), the mask applied per
// element with attention_visible, a plain softmax, then the weighted sum of values. Kept forever; the flash
// kernel (src/runtime/cpu/kernels/attention.cpp) is tested against it.
#include <cmath>
#include <limits>
#include <vector>

#include "tl/kernels.h"

namespace tl::ref {

Tensor attention(const Tensor& q, const Tensor& k_new, const Tensor& v_new, const std::optional<Tensor>& bias,
                 const AttentionSpec& spec, const kernels::AttentionPast* past) {
  if (past) kernels::attention_kv_shapes(k_new.shape(), v_new.shape(), past->k.shape(), past->v.shape(), "ref::attention");
  const Tensor k = past ? kernels::concat({past->k, k_new}, 2) : k_new;  // [b, hkv, sp + sk, d]
  const Tensor v = past ? kernels::concat({past->v, v_new}, 2) : v_new;  // [b, hkv, sp + sk, dv]
  std::optional<Shape> bs;
  if (bias) bs = bias->shape();
  const Shape os = kernels::attention_shape(q.shape(), k.shape(), v.shape(), bs, "ref::attention", &spec);
  check_attention_spec(spec, k.shape()[2], "ref::attention");
  const int64_t B = os[0], H = os[1], SQ = os[2], DV = os[3], SK = k.shape()[2], D = q.shape()[3];
  const int64_t group = H / k.shape()[1];
  std::optional<Tensor> bb;
  if (bias) bb = bias->broadcast_to({B, H, SQ, SK});
  Tensor out = Tensor::zeros(os, DType::f32);
  const double ninf = -std::numeric_limits<double>::infinity();
  std::vector<double> sc(static_cast<size_t>(SK));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < SQ; ++i) {
        const int64_t p = SK - SQ + i, hk = h / group;
        double mx = ninf;
        for (int64_t j = 0; j < SK; ++j) {
          double dot = 0;
          for (int64_t c = 0; c < D; ++c) dot += q.get({b, h, i, c}) * k.get({b, hk, j, c});
          double x = dot * double(spec.scale) + (bb ? bb->get({b, h, i, j}) : 0.0);
          if (!attention_visible(spec, SK, p, j)) x = ninf;
          sc[size_t(j)] = x;
          if (std::isnan(x) || std::isnan(mx)) mx = std::numeric_limits<double>::quiet_NaN();  // NaN row, not hidden
          else mx = std::max(mx, x);
        }
        if (mx == ninf) continue;  // fully hidden row: zeros
        double sum = 0;
        for (double& x : sc) sum += (x = std::exp(x - mx));
        for (int64_t c = 0; c < DV; ++c) {
          double acc = 0;
          for (int64_t j = 0; j < SK; ++j) acc += sc[size_t(j)] * v.get({b, hk, j, c});
          const int64_t idx[4] = {b, h, i, c};
          out.set(idx, acc / sum);
        }
      }
  return out;
}

}  // namespace tl::ref
