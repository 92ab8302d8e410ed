// Naive reference for reductions: gather each output's values into a list (double), then reduce the list.
#include <cmath>
#include <limits>

#include "tl/kernels.h"

namespace tl::ref {

Tensor reduce(ReduceOp op, const Tensor& x, const std::vector<int>& axes, bool keepdims) {
  const Shape oshape = kernels::reduce_shape(x.shape(), axes, keepdims);
  const Shape kshape = kernels::reduce_shape(x.shape(), axes, true);  // reduced dims as 1
  Tensor out = Tensor::empty(oshape, kernels::reduce_dtype(op, x.dtype()));
  const int64_t n_out = shape_numel(oshape);
  std::vector<std::vector<double>> vals(static_cast<size_t>(n_out));
  for_each_index(x.shape(), [&](std::span<const int64_t> i) {
    int64_t o = 0;  // row-major index into kshape (same order as oshape)
    for (size_t d = 0; d < kshape.size(); ++d) o = o * kshape[d] + (kshape[d] == 1 ? 0 : i[d]);
    vals[size_t(o)].push_back(x.get(i));
  });
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  int64_t o = 0;
  for_each_index(oshape, [&](std::span<const int64_t> i) {
    const auto& v = vals[size_t(o++)];
    double r = 0;
    bool has_nan = false;
    for (double e : v) has_nan = has_nan || std::isnan(e);
    switch (op) {
      case ReduceOp::sum: for (double e : v) r += e; break;
      case ReduceOp::mean: for (double e : v) r += e; r /= double(v.size()); break;
      case ReduceOp::prod: r = 1; for (double e : v) r *= e; break;
      case ReduceOp::max: r = -inf; for (double e : v) r = e > r ? e : r; if (has_nan) r = nan; break;
      case ReduceOp::min: r = inf; for (double e : v) r = e < r ? e : r; if (has_nan) r = nan; break;
      case ReduceOp::logsumexp: {
        double m = -inf;
        for (double e : v) m = e > m ? e : m;
        if (has_nan) r = nan;
        else if (std::isinf(m)) r = m;
        else {
          for (double e : v) r += std::exp(e - m);
          r = m + std::log(r);
        }
        break;
      }
    }
    out.set(i, r);
  });
  return out;
}

}  // namespace tl::ref
