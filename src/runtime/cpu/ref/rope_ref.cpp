// Reference rotary embedding: every output element from its index, in double (the tables broadcast by index).
#include <vector>

#include "tl/kernels.h"

namespace tl::ref {

Tensor rope(const Tensor& x, const Tensor& cos, const Tensor& sin, bool interleaved) {
  const Shape os =
      kernels::rope_shape(x.dtype(), x.shape(), cos.dtype(), cos.shape(), sin.dtype(), sin.shape(), "ref::rope");
  Tensor out = Tensor::zeros(os, DType::f32);
  const int64_t r = int64_t(os.size()), half = cos.shape().back();
  std::vector<int64_t> idx(size_t(r), 0);
  auto table = [&](const Tensor& t, int64_t i) {  // t at x's leading index, broadcast, last index i
    const Shape& ts = t.shape();
    std::vector<int64_t> ti(ts.size());
    for (size_t d = 0; d + 1 < ts.size(); ++d) {
      const int64_t xd = r - 1 - int64_t(ts.size() - 1) + int64_t(d);  // the aligned leading dim of x
      ti[d] = ts[d] == 1 ? 0 : idx[size_t(xd)];
    }
    ti.back() = i;
    return t.get(ti);
  };
  for (int64_t flat = 0; flat < out.numel(); ++flat) {
    for (int64_t d = r - 1, rem = flat; d >= 0; --d) {
      idx[size_t(d)] = rem % os[size_t(d)];
      rem /= os[size_t(d)];
    }
    const int64_t j = idx.back();
    double y = x.get(idx);
    if (j < 2 * half) {
      const bool first = interleaved ? j % 2 == 0 : j < half;  // a (else b) of its pair
      const int64_t i = interleaved ? j / 2 : (first ? j : j - half);
      const int64_t partner = interleaved ? (first ? j + 1 : j - 1) : (first ? j + half : j - half);
      std::vector<int64_t> pidx = idx;
      pidx.back() = partner;
      const double c = table(cos, i), s = table(sin, i), p = x.get(pidx);
      y = first ? y * c - p * s : y * c + p * s;
    }
    out.set(idx, y);
  }
  return out;
}

}  // namespace tl::ref
