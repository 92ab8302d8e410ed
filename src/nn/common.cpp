#include "tl/nn/common.h"

#include "tl/error.h"

namespace tl::nn {

std::string join_name(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

Value linear_with(Graph& g, Value x, Value weight, std::optional<Value> bias) {
  const Shape& xs = g.shape(x);      // [..., in]
  const Shape& ws = g.shape(weight);  // [out, in]
  if (ws.size() != 2) TL_THROW(ShapeError, "[linear] weight must be [out, in], got ", shape_str(ws));
  if (xs.empty() || xs.back() != ws[1])
    TL_THROW(ShapeError, "[linear] input has shape ", shape_str(xs), ", expected last dim ", ws[1],
             " (the weight's in-features)");
  Value y = g.einsum("...i,oi->...o", {x, weight});  // [..., out]
  if (bias) y = g.add(y, *bias);
  return y;
}

Value linear(Graph& g, Value x, const std::string& prefix, int64_t in, int64_t out, bool bias) {
  if (in <= 0 || out <= 0)
    TL_THROW(ValueError, "[linear] ", prefix, ": in and out features must be positive, got in = ", in,
             ", out = ", out);
  Value w = g.param(join_name(prefix, "weight"), {out, in});  // [out, in]
  std::optional<Value> b;
  if (bias) b = g.param(join_name(prefix, "bias"), {out});  // [out]
  return linear_with(g, x, w, b);
}

}  // namespace tl::nn
