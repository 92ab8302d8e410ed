// Layout kernels: copy/cast, concat, gather (numpy.take) and repeat (numpy.repeat). All are strided copies:
// concat writes each input into a slice of `out`; repeat copies a broadcast view of x into `out` seen as
// [..., n, repeats, ...]; gather copies one contiguous inner block per (outer, index) pair.
#include <algorithm>
#include <cstring>
#include <string>

#include "runtime/cpu/kernels/common.h"
#include "tl/kernels.h"
#include "tl/threading.h"

namespace tl::kernels {

using namespace detail;

void copy_into(const Tensor& x, const Tensor& out) {
  check_defined("copy", "x", x);
  check_defined("copy", "out", out);
  check_out("copy", out, x.shape(), out.dtype());
  copy_strided(x, out);
}

void copy_to_view(const Tensor& x, const Tensor& out) {
  check_defined("copy_to_view", "x", x);
  check_defined("copy_to_view", "out", out);
  if (out.shape() != x.shape())
    TL_THROW(ShapeError, "[copy_to_view] out has shape ", shape_str(out.shape()), ", expected ", shape_str(x.shape()),
             " (x's shape)");
  for (int d = 0; d < out.rank(); ++d)
    if (out.strides()[size_t(d)] == 0 && out.shape()[size_t(d)] > 1)
      TL_THROW(ValueError, "[copy_to_view] out is a broadcast view (stride 0 in dim ", d, " of shape ",
               shape_str(out.shape()), "): its elements share memory");
  if (out.numel() == 0 || x.numel() == 0) return;
  // Byte extents [lo, hi) of each view. When they intersect (x and out may be interleaved or truly overlap) x
  // goes through a temporary, so the result is always the copy of x as it was.
  auto extent = [](const Tensor& t) {
    int64_t lo = 0, hi = 0;
    for (int d = 0; d < t.rank(); ++d) {
      const int64_t span = (t.shape()[size_t(d)] - 1) * t.strides()[size_t(d)];
      (span < 0 ? lo : hi) += span;
    }
    const auto* p = static_cast<const uint8_t*>(t.raw_data());
    const int64_t es = int64_t(dtype_size(t.dtype()));
    return std::pair{p + lo * es, p + (hi + 1) * es};
  };
  const auto [xlo, xhi] = extent(x);
  const auto [olo, ohi] = extent(out);
  copy_strided(xlo < ohi && olo < xhi ? x.clone() : x, out);
}

namespace {
Shape concat_shape(const std::vector<Tensor>& xs, int axis, int* ax_out) {
  if (xs.empty()) TL_THROW(ValueError, "[concat] needs at least one input, got 0");
  for (size_t i = 0; i < xs.size(); ++i) check_defined("concat", ("input " + std::to_string(i)).c_str(), xs[i]);
  const Tensor& x0 = xs[0];
  const int ax = norm_axis("concat", axis, x0.rank());
  Shape shape = x0.shape();
  for (size_t i = 1; i < xs.size(); ++i) {
    const Tensor& t = xs[i];
    if (t.rank() != x0.rank())
      TL_THROW(ShapeError, "[concat] input ", i, " has rank ", t.rank(), " (shape ", shape_str(t.shape()),
               "), expected rank ", x0.rank(), " like input 0 ", shape_str(x0.shape()));
    if (t.dtype() != x0.dtype())
      TL_THROW(ValueError, "[concat] input ", i, " has dtype ", dtype_name(t.dtype()), ", expected ",
               dtype_name(x0.dtype()), " like input 0");
    for (int d = 0; d < t.rank(); ++d)
      if (d != ax && t.shape()[size_t(d)] != x0.shape()[size_t(d)])
        TL_THROW(ShapeError, "[concat] input ", i, " has shape ", shape_str(t.shape()), ", expected ",
                 shape_str(x0.shape()), " in every dim but axis ", ax, " (dim ", d, " differs)");
    shape[size_t(ax)] += t.shape()[size_t(ax)];
  }
  *ax_out = ax;
  return shape;
}
}  // namespace

void concat_into(const std::vector<Tensor>& xs, int axis, const Tensor& out) {
  int ax = 0;
  Shape shape = concat_shape(xs, axis, &ax);
  check_out("concat", out, shape, xs[0].dtype());
  int64_t off = 0;
  for (const Tensor& t : xs) {
    const int64_t n = t.shape()[size_t(ax)];
    copy_strided(t, out.slice(ax, off, off + n));
    off += n;
  }
}

Tensor concat(const std::vector<Tensor>& xs, int axis) {
  int ax = 0;
  Shape shape = concat_shape(xs, axis, &ax);  // validates first: xs may be empty
  Tensor out = Tensor::empty(shape, xs[0].dtype());
  concat_into(xs, axis, out);
  return out;
}

namespace {
Shape gather_shape(const Tensor& x, const Tensor& indices, int axis, int* ax_out) {
  check_defined("gather", "x", x);
  check_defined("gather", "indices", indices);
  if (indices.dtype() != DType::i32 && indices.dtype() != DType::i64)
    TL_THROW(ValueError, "[gather] indices have dtype ", dtype_name(indices.dtype()), ", expected i32 or i64");
  const int ax = norm_axis("gather", axis, x.rank());
  Shape shape(x.shape().begin(), x.shape().begin() + ax);
  shape.insert(shape.end(), indices.shape().begin(), indices.shape().end());
  shape.insert(shape.end(), x.shape().begin() + ax + 1, x.shape().end());
  *ax_out = ax;
  return shape;
}
}  // namespace

void gather_into(const Tensor& x, const Tensor& indices, int axis, const Tensor& out) {
  int ax = 0;
  Shape shape = gather_shape(x, indices, axis, &ax);
  check_out("gather", out, shape, x.dtype());
  // Validate every index before writing anything.
  const int64_t n = x.shape()[size_t(ax)];
  const int64_t ni = indices.numel();
  std::vector<int64_t> idx(static_cast<size_t>(ni));
  if (ni > 0) {
    Tensor ic = indices.contiguous();
    load_i64(byte_ptr(ic), ic.dtype(), 1, idx.data(), ni);
  }
  for (int64_t i = 0; i < ni; ++i) {
    if (idx[size_t(i)] < -n || idx[size_t(i)] >= n)
      TL_THROW(ValueError, "[gather] index ", idx[size_t(i)], " (at flat position ", i, ") is out of range for axis ",
               ax, " of size ", n, " (expected in [", -n, ", ", n, "))");
    if (idx[size_t(i)] < 0) idx[size_t(i)] += n;
  }
  if (out.numel() == 0) return;
  const Tensor xc = x.contiguous();  // [pre, n, post]
  int64_t pre = 1, post = 1;
  for (int d = 0; d < ax; ++d) pre *= x.shape()[size_t(d)];
  for (int d = ax + 1; d < x.rank(); ++d) post *= x.shape()[size_t(d)];
  const size_t bytes = size_t(post) * dtype_size(x.dtype());
  const uint8_t* src = byte_ptr(xc);
  uint8_t* dst = byte_ptr_mut(out);
  // One row = `post` contiguous elements of out: [pre, ni, post].
  parallel_for(pre * ni, std::max<int64_t>(1, kGrain * 4 / std::max<int64_t>(post, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t p = r / ni, i = r % ni;
      std::memcpy(dst + size_t(r) * bytes, src + size_t(p * n + idx[size_t(i)]) * bytes, bytes);
    }
  });
}

Tensor gather(const Tensor& x, const Tensor& indices, int axis) {
  int ax = 0;
  Tensor out = Tensor::empty(gather_shape(x, indices, axis, &ax), x.dtype());
  gather_into(x, indices, axis, out);
  return out;
}

namespace {
Shape repeat_shape(const Tensor& x, int64_t repeats, int axis, int* ax_out) {
  check_defined("repeat", "x", x);
  if (repeats < 0) TL_THROW(ValueError, "[repeat] repeats must be >= 0, got ", repeats);
  const int ax = norm_axis("repeat", axis, x.rank());
  Shape shape = x.shape();
  shape[size_t(ax)] *= repeats;
  *ax_out = ax;
  return shape;
}
}  // namespace

void repeat_into(const Tensor& x, int64_t repeats, int axis, const Tensor& out) {
  int ax = 0;
  Shape shape = repeat_shape(x, repeats, axis, &ax);
  check_out("repeat", out, shape, x.dtype());
  if (out.numel() == 0) return;
  // out viewed as [..., n, repeats, ...]; x as [..., n, 1, ...] broadcast along the new dim.
  Shape split = x.shape();
  split.insert(split.begin() + ax + 1, repeats);
  Tensor dst = out.reshape(split);
  Tensor src = x.unsqueeze(ax + 1).broadcast_to(split);
  copy_strided(src, dst);
}

Tensor repeat(const Tensor& x, int64_t repeats, int axis) {
  int ax = 0;
  Tensor out = Tensor::empty(repeat_shape(x, repeats, axis, &ax), x.dtype());
  repeat_into(x, repeats, axis, out);
  return out;
}

}  // namespace tl::kernels
