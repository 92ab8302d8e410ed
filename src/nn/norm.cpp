// LayerNorm and RMSNorm as the IR's layer_norm / rms_norm ops over the last axis.
#include "tl/nn/norm.h"

#include <cmath>
#include <optional>

#include "tl/error.h"
#include "tl/nn/common.h"

namespace tl::nn {

void NormConfig::validate() const {
  if (dim <= 0) TL_THROW(ValueError, "[norm] dim must be positive, got ", dim);
  if (!std::isfinite(eps) || eps < 0) TL_THROW(ValueError, "[norm] eps must be finite and >= 0, got ", eps);
  if (kind == NormType::rms_norm && bias && affine)
    TL_THROW(ValueError, "[norm] bias must be false for an RMSNorm (it has none), got true");
}

Value norm(Graph& g, Value x, const std::string& prefix, const NormConfig& c) {
  c.validate();
  const Shape& xs = g.shape(x);  // [..., dim]
  if (xs.empty() || xs.back() != c.dim)
    TL_THROW(ShapeError, "[norm] ", prefix, ": input has shape ", shape_str(xs), ", expected last dim ", c.dim);
  std::optional<Value> w, b;
  if (c.affine) {
    w = g.param(join_name(prefix, "weight"), {c.dim});  // [dim]
    if (c.kind == NormType::layer_norm && c.bias) b = g.param(join_name(prefix, "bias"), {c.dim});  // [dim]
  }
  if (c.kind == NormType::layer_norm) return g.layer_norm(x, w, b, 1, c.eps);
  return g.rms_norm(x, w, 1, c.eps);
}

}  // namespace tl::nn
