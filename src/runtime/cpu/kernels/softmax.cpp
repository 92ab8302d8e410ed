// Softmax along one axis with an optional additive mask. One row at a time with the row in cache: max,
// exp(x - max) with its sum, then a divide. Rows are independent, so work is split over rows.
// A row whose entries are all -inf (fully masked) gives zeros; a row holding NaN gives NaN.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "runtime/cpu/kernels/common.h"
#include "runtime/cpu/kernels/vec_math.h"
#include "tl/kernels.h"
#include "tl/threading.h"

namespace tl::kernels {

using namespace detail;
namespace s = tl::simd;

// y = softmax(x) over n contiguous floats; y may alias x.
void detail::softmax_row(const float* x, float* y, int64_t n) {
  const float ninf = -std::numeric_limits<float>::infinity();
  s::V mx = s::set1(ninf);
  unsigned nan = 0;
  int64_t i = 0;
  for (; i + s::kLanes <= n; i += s::kLanes) {
    s::V v = s::load(x + i);
    nan |= s::mask_bits(s::unord(v, v));
    mx = s::max_raw(v, mx);
  }
  float m = s::hmax_raw(mx);
  for (; i < n; ++i) {
    if (std::isnan(x[i])) nan = 1;
    m = std::max(m, x[i]);
  }
  if (nan) {
    std::fill(y, y + n, std::numeric_limits<float>::quiet_NaN());
    return;
  }
  if (m == ninf) {  // fully masked row
    std::fill(y, y + n, 0.0f);
    return;
  }
  const s::V sh = s::set1(m);
  s::V acc = s::set1(0.0f);
  for (i = 0; i + s::kLanes <= n; i += s::kLanes) {
    s::V e = s::exp(s::sub(s::load(x + i), sh));
    s::store(y + i, e);
    acc = s::add(acc, e);
  }
  float sum = s::hsum(acc);
  if (i < n) {
    int r = int(n - i);
    alignas(64) float t[s::kLanes];
    s::store(t, s::exp(s::sub(s::loadn(x + i, r), sh)));
    for (int k = 0; k < r; ++k) {
      y[i + k] = t[k];
      sum += t[k];
    }
  }
  const s::V vs = s::set1(sum);
  for (i = 0; i + s::kLanes <= n; i += s::kLanes) s::store(y + i, s::div(s::load(y + i), vs));
  for (; i < n; ++i) y[i] /= sum;
}


void softmax_into(const Tensor& x, int axis, const std::optional<Tensor>& mask, const Tensor& out) {
  check_defined("softmax", "x", x);
  const int ax = norm_axis("softmax", axis, x.rank());
  check_out("softmax", out, x.shape(), DType::f32);
  Shape mstr;
  if (mask) {
    check_defined("softmax", "mask", *mask);
    Shape b = broadcast_shapes(mask->shape(), x.shape(), "softmax mask");
    if (b != x.shape())
      TL_THROW(ShapeError, "[softmax] mask of shape ", shape_str(mask->shape()), " does not broadcast to input shape ",
               shape_str(x.shape()));
    mstr = broadcast_strides(*mask, x.shape());
  }
  if (x.numel() == 0) return;
  const int64_t L = x.shape()[size_t(ax)];
  const int64_t xs = x.strides()[size_t(ax)], os = out.strides()[size_t(ax)];
  const int64_t ms = mask ? mstr[size_t(ax)] : 0;
  // Rows: every dim but `axis`.
  Shape rshape;
  std::vector<Shape> rstr(mask ? 3 : 2);
  for (int d = 0; d < x.rank(); ++d) {
    if (d == ax) continue;
    rshape.push_back(x.shape()[size_t(d)]);
    rstr[0].push_back(x.strides()[size_t(d)]);
    rstr[1].push_back(out.strides()[size_t(d)]);
    if (mask) rstr[2].push_back(mstr[size_t(d)]);
  }
  const Walk w = make_walk(rshape, rstr);
  const int64_t mes = mask ? int64_t(dtype_size(mask->dtype())) : 0;
  const bool direct = x.dtype() == DType::f32 && xs == 1 && os == 1 && !mask;
  const bool fused_mask = mask && x.dtype() == DType::f32 && mask->dtype() == DType::f32 && xs == 1 && os == 1 &&
                          (ms == 0 || ms == 1);
  parallel_for(w.numel, std::max<int64_t>(1, kGrain / 4 / L), [&](int64_t b, int64_t e) {
    std::vector<float> buf(direct || fused_mask ? 0 : size_t(L)), mbuf(mask && !fused_mask ? size_t(L) : 0);
    walk_runs(w, b, e, [&](int64_t n, std::span<const int64_t> offs) {
      for (int64_t j = 0; j < n; ++j) {
        const int64_t xo = offs[0] + j * w.strides[0].back(), oo = offs[1] + j * w.strides[1].back();
        float* y = reinterpret_cast<float*>(byte_ptr_mut(out, oo));
        if (direct) {
          softmax_row(reinterpret_cast<const float*>(byte_ptr(x, xo)), y, L);
          continue;
        }
        if (fused_mask) {  // y = x + mask written straight into the output row, then softmax in place
          const float* xr = reinterpret_cast<const float*>(byte_ptr(x, xo));
          const float* mr = static_cast<const float*>(mask->raw_data()) + offs[2] + j * w.strides[2].back();
          if (ms == 1) {
            for (int64_t i = 0; i < L; ++i) y[i] = xr[i] + mr[i];
          } else {
            for (int64_t i = 0; i < L; ++i) y[i] = xr[i] + mr[0];
          }
          softmax_row(y, y, L);
          continue;
        }
        load_f32(byte_ptr(x, xo), x.dtype(), xs, buf.data(), L);
        if (mask) {
          const int64_t mo = offs[2] + j * w.strides[2].back();
          load_f32(static_cast<const uint8_t*>(mask->raw_data()) + mo * mes, mask->dtype(), ms, mbuf.data(), L);
          for (int64_t i = 0; i < L; ++i) buf[size_t(i)] += mbuf[size_t(i)];
        }
        softmax_row(buf.data(), buf.data(), L);
        store_f32(buf.data(), reinterpret_cast<uint8_t*>(y), DType::f32, os, L);
      }
    });
  });
}

Tensor softmax(const Tensor& x, int axis, const std::optional<Tensor>& mask) {
  check_defined("softmax", "x", x);
  Tensor out = Tensor::empty(x.shape(), DType::f32);
  softmax_into(x, axis, mask, out);
  return out;
}

}  // namespace tl::kernels
