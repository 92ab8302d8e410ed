// Layer norm and RMS norm over the last `norm_dims` dims, one row at a time with the row in cache
// (two passes for layer norm: mean, then centred variance, so no E[x^2] - E[x]^2 cancellation).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "runtime/cpu/kernels/common.h"
#include "runtime/cpu/kernels/vec_math.h"
#include "tl/kernels.h"
#include "tl/threading.h"

namespace tl::kernels {

using namespace detail;
namespace s = tl::simd;

namespace {

// The argument checks both norms share; returns the normalised (trailing) shape.
Shape check_norm_args(const char* op, const Tensor& x, const std::optional<Tensor>& gamma,
                      const std::optional<Tensor>& beta, int norm_dims, float eps, const Tensor& out) {
  check_defined(op, "x", x);
  if (norm_dims < 1 || norm_dims > x.rank())
    TL_THROW(ShapeError, "[", op, "] norm_dims ", norm_dims, " out of range for rank ", x.rank(), " input of shape ",
             shape_str(x.shape()), " (expected 1..", x.rank(), ")");
  if (!(eps >= 0.0f) || std::isinf(eps)) TL_THROW(ValueError, "[", op, "] eps must be finite and >= 0, got ", eps);
  Shape nshape(x.shape().end() - norm_dims, x.shape().end());
  auto check_param = [&](const char* what, const std::optional<Tensor>& p) {
    if (!p) return;
    check_defined(op, what, *p);
    if (p->shape() != nshape)
      TL_THROW(ShapeError, "[", op, "] ", what, " has shape ", shape_str(p->shape()), ", expected ", shape_str(nshape),
               " (the last ", norm_dims, " dims of input ", shape_str(x.shape()), ")");
  };
  check_param("gamma", gamma);
  check_param("beta", beta);
  check_out(op, out, x.shape(), DType::f32);
  return nshape;
}

// gamma / beta as f32 values in order: the tensor's own memory when it is contiguous f32 (every model's norm
// weights), else a converted copy. A decode step runs ~60 norms of one row, where copying the weights cost more
// than the normalisation.
struct ParamF32 {
  std::vector<float> copy;
  const float* ptr = nullptr;  // null: no parameter
};
ParamF32 param_f32(const std::optional<Tensor>& p) {
  ParamF32 r;
  if (!p) return r;
  if (p->dtype() == DType::f32 && p->is_contiguous()) {
    r.ptr = p->data<float>();
  } else {
    Tensor c = Tensor::empty(p->shape(), DType::f32);
    copy_strided(*p, c);
    r.copy.assign(c.data<float>(), c.data<float>() + c.numel());
    r.ptr = r.copy.data();
  }
  return r;
}

float sum_sq_dev(const float* x, int64_t n, float mean) {
  const s::V m = s::set1(mean);
  s::V acc = s::set1(0.0f);
  int64_t i = 0;
  for (; i + s::kLanes <= n; i += s::kLanes) {
    s::V d = s::sub(s::load(x + i), m);
    acc = s::fma(d, d, acc);
  }
  if (i < n) {
    int r = int(n - i);
    s::V d = s::sub(s::loadn(x + i, r), m);  // lanes past r are junk, summed below only up to r
    alignas(64) float t[s::kLanes];
    s::store(t, s::mul(d, d));
    float tail = 0;
    for (int k = 0; k < r; ++k) tail += t[k];
    return s::hsum(acc) + tail;
  }
  return s::hsum(acc);
}

float sum(const float* x, int64_t n) {
  s::V acc = s::set1(0.0f);
  int64_t i = 0;
  for (; i + s::kLanes <= n; i += s::kLanes) acc = s::add(acc, s::load(x + i));
  if (i < n) acc = s::add(acc, s::loadn(x + i, int(n - i)));
  return s::hsum(acc);
}

// y = (x - shift) * scale * g + b, with g/b optional (empty).
void affine_row(const float* x, float* y, int64_t n, float shift, float scale, const float* g, const float* bb) {
  const s::V sh = s::set1(shift), sc = s::set1(scale);
  int64_t i = 0;
  auto body = [&](s::V v, s::V gv, s::V bv) { return s::fma(s::mul(s::sub(v, sh), sc), gv, bv); };
  for (; i + s::kLanes <= n; i += s::kLanes) {
    s::V gv = g ? s::load(g + i) : s::set1(1.0f), bv = bb ? s::load(bb + i) : s::set1(0.0f);
    s::store(y + i, body(s::load(x + i), gv, bv));
  }
  if (i < n) {
    int r = int(n - i);
    s::V gv = g ? s::loadn(g + i, r) : s::set1(1.0f), bv = bb ? s::loadn(bb + i, r) : s::set1(0.0f);
    s::storen(y + i, body(s::loadn(x + i, r), gv, bv), r);
  }
}

enum class Kind { layer, rms };

void norm_impl(Kind kind, const char* op, const Tensor& x, const std::optional<Tensor>& gamma,
               const std::optional<Tensor>& beta, int norm_dims, float eps, const Tensor& out) {
  Shape nshape = check_norm_args(op, x, gamma, beta, norm_dims, eps, out);
  if (x.numel() == 0) return;
  const int64_t D = shape_numel(nshape);
  const ParamF32 g = param_f32(gamma), bt = param_f32(beta);
  const int lead = x.rank() - norm_dims;
  Shape oshape(x.shape().begin(), x.shape().begin() + lead), ostr(x.strides().begin(), x.strides().begin() + lead);
  Shape istr(x.strides().begin() + lead, x.strides().end());
  const Walk ow = make_walk(oshape, {ostr});
  const Walk iw = make_walk(nshape, {istr});
  const bool direct = x.dtype() == DType::f32 && iw.shape.size() == 1 && iw.strides[0][0] == 1;
  parallel_for(ow.numel, std::max<int64_t>(1, kGrain / 4 / D), [&](int64_t b, int64_t e) {
    std::vector<float> buf(direct ? 0 : size_t(D));
    int64_t row = b;
    walk_runs(ow, b, e, [&](int64_t n, std::span<const int64_t> offs) {
      for (int64_t j = 0; j < n; ++j, ++row) {
        const int64_t xo = offs[0] + j * ow.strides[0].back();
        const float* xr;
        if (direct) {
          xr = reinterpret_cast<const float*>(byte_ptr(x, xo));
        } else {
          int64_t k = 0;
          walk_runs(iw, 0, D, [&](int64_t m, std::span<const int64_t> io) {
            load_f32(byte_ptr(x, xo + io[0]), x.dtype(), iw.strides[0].back(), buf.data() + k, m);
            k += m;
          });
          xr = buf.data();
        }
        float* y = out.data<float>() + row * D;
        if (kind == Kind::layer) {
          const double mean = double(sum(xr, D)) / double(D);
          const double var = double(sum_sq_dev(xr, D, float(mean))) / double(D);
          const double rstd = 1.0 / std::sqrt(var + double(eps));
          affine_row(xr, y, D, float(mean), float(rstd), g.ptr, bt.ptr);
        } else {
          const double ms = double(sum_sq_dev(xr, D, 0.0f)) / double(D);
          const double r = 1.0 / std::sqrt(ms + double(eps));
          affine_row(xr, y, D, 0.0f, float(r), g.ptr, nullptr);
        }
      }
    });
  });
}

}  // namespace

void layer_norm_into(const Tensor& x, const std::optional<Tensor>& gamma, const std::optional<Tensor>& beta,
                     int norm_dims, float eps, const Tensor& out) {
  norm_impl(Kind::layer, "layer_norm", x, gamma, beta, norm_dims, eps, out);
}

Tensor layer_norm(const Tensor& x, const std::optional<Tensor>& gamma, const std::optional<Tensor>& beta,
                  int norm_dims, float eps) {
  check_defined("layer_norm", "x", x);
  Tensor out = Tensor::empty(x.shape(), DType::f32);
  layer_norm_into(x, gamma, beta, norm_dims, eps, out);
  return out;
}

void rms_norm_into(const Tensor& x, const std::optional<Tensor>& gamma, int norm_dims, float eps, const Tensor& out) {
  norm_impl(Kind::rms, "rms_norm", x, gamma, std::nullopt, norm_dims, eps, out);
}

Tensor rms_norm(const Tensor& x, const std::optional<Tensor>& gamma, int norm_dims, float eps) {
  check_defined("rms_norm", "x", x);
  Tensor out = Tensor::empty(x.shape(), DType::f32);
  rms_norm_into(x, gamma, norm_dims, eps, out);
  return out;
}

}  // namespace tl::kernels
