// Naive references for the fused kernels, in double, element by element via get/set: act(x + b) and
// softmax(x * scale + mask) over the last axis. Argument checks are left to the fast kernels (the tests call
// those first); these only state the maths.
#include <cmath>
#include <limits>
#include <vector>

#include "tl/error.h"
#include "tl/kernels.h"

namespace tl::ref {

namespace {

double act_f(std::optional<UnaryOp> act, double x) {
  if (!act) return x;
  switch (*act) {
    case UnaryOp::relu: return std::isnan(x) ? x : (x > 0 ? x : 0.0);
    case UnaryOp::gelu_erf: return 0.5 * x * std::erfc(-x / std::sqrt(2.0));
    case UnaryOp::gelu_tanh: {
      const double u = std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
      return x / (1.0 + std::exp(-2.0 * u));  // == 0.5 x (1 + tanh(u)) without cancellation
    }
    case UnaryOp::silu: return x / (1.0 + std::exp(-x));
    case UnaryOp::sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case UnaryOp::tanh: return std::tanh(x);
    default: break;
  }
  TL_THROW(ValueError, "[bias_act] act ", op_name(*act), " is not an activation");
}

}  // namespace

Tensor bias_act(const Tensor& x, const Tensor& b, std::optional<UnaryOp> act) {
  Tensor out = Tensor::empty(x.shape(), DType::f32);
  const Tensor bias = b.reshape({b.shape().back()});  // [last]
  for_each_index(x.shape(), [&](std::span<const int64_t> i) {
    const int64_t k = i.back();
    out.set(i, act_f(act, x.get(i) + bias.get(std::span<const int64_t>(&k, 1))));
  });
  return out;
}

// scaled_masked_softmax shares the softmax reference (softmax_norm_ref.cpp).

}  // namespace tl::ref
