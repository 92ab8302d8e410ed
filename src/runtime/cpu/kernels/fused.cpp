// Fused elementwise kernels: bias + activation, and scale + mask + softmax over the last axis. Each row is
// read once and written once (the softmax row is built in the output, then normalised in place while it is in
// cache). Rows are independent, so work is split over rows.
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

namespace {

struct Ident { static s::V v(s::V x) { return x; } };
struct Relu { static s::V v(s::V x) { return s::max_raw(s::set1(0.0f), x); } };  // relu(NaN) = NaN
struct GeluErf { static s::V v(s::V x) { return s::gelu_erf(x); } };
struct GeluTanh { static s::V v(s::V x) { return s::gelu_tanh(x); } };
struct Silu { static s::V v(s::V x) { return s::silu(x); } };
struct Sigmoid { static s::V v(s::V x) { return s::sigmoid(x); } };
struct Tanh { static s::V v(s::V x) { return s::tanh(x); } };

// y[i] = act(x[i] + b[i]) over n contiguous floats.
template <class F>
void bias_act_row(const float* x, const float* b, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + s::kLanes <= n; i += s::kLanes) s::store(y + i, F::v(s::add(s::load(x + i), s::load(b + i))));
  if (i < n) {
    const int r = int(n - i);
    s::storen(y + i, F::v(s::add(s::loadn(x + i, r), s::loadn(b + i, r))), r);
  }
}

// y[i] = act(y[i]) over n contiguous floats, in place (an epilogue with an activation and no bias).
template <class F>
void act_row(float* y, int64_t n) {
  int64_t i = 0;
  for (; i + s::kLanes <= n; i += s::kLanes) s::store(y + i, F::v(s::load(y + i)));
  if (i < n) {
    const int r = int(n - i);
    s::storen(y + i, F::v(s::loadn(y + i, r)), r);
  }
}

// fn(Op{}) for the activation's functor (Ident when none); one switch for every row kernel below.
template <class Fn>
auto with_act(std::optional<UnaryOp> act, Fn&& fn) {
  if (!act) return fn(Ident{});
  switch (*act) {
    case UnaryOp::relu: return fn(Relu{});
    case UnaryOp::gelu_erf: return fn(GeluErf{});
    case UnaryOp::gelu_tanh: return fn(GeluTanh{});
    case UnaryOp::silu: return fn(Silu{});
    case UnaryOp::sigmoid: return fn(Sigmoid{});
    case UnaryOp::tanh: return fn(Tanh{});
    default: break;
  }
  TL_THROW(ValueError, "[bias_act] act ", op_name(*act),
           " is not an activation (expected relu, gelu_erf, gelu_tanh, silu, sigmoid, tanh or none)");
}

using RowFn = void (*)(const float*, const float*, float*, int64_t);
RowFn bias_row_fn(std::optional<UnaryOp> act) {
  return with_act(act, [](auto op) -> RowFn { return bias_act_row<decltype(op)>; });
}

using ActFn = void (*)(float*, int64_t);
ActFn act_fn(std::optional<UnaryOp> act) {
  return with_act(act, [](auto op) -> ActFn { return act_row<decltype(op)>; });
}

// The row walk over every dim but the last, for x and out (and a mask broadcast to x when given).
Walk row_walk(const Tensor& x, const Tensor& out, const Shape* mstr) {
  Shape rshape;
  std::vector<Shape> rstr(mstr ? 3 : 2);
  for (int d = 0; d + 1 < x.rank(); ++d) {
    rshape.push_back(x.shape()[size_t(d)]);
    rstr[0].push_back(x.strides()[size_t(d)]);
    rstr[1].push_back(out.strides()[size_t(d)]);
    if (mstr) rstr[2].push_back((*mstr)[size_t(d)]);
  }
  return make_walk(rshape, rstr);
}

}  // namespace

void detail::bias_act_inplace(std::optional<UnaryOp> act, const float* b, float* y, int64_t n) {
  if (b) bias_row_fn(act)(y, b, y, n);
  else if (act) act_fn(act)(y, n);
}

bool is_bias_activation(UnaryOp op) {
  return op == UnaryOp::relu || op == UnaryOp::gelu_erf || op == UnaryOp::gelu_tanh || op == UnaryOp::silu ||
         op == UnaryOp::sigmoid || op == UnaryOp::tanh;
}

void bias_act_into(const Tensor& x, const Tensor& b, std::optional<UnaryOp> act, const Tensor& out) {
  check_defined("bias_act", "x", x);
  check_defined("bias_act", "bias", b);
  const RowFn fn = bias_row_fn(act);
  if (!is_float(x.dtype()) || !is_float(b.dtype()))
    TL_THROW(ValueError, "[bias_act] x and bias must be float tensors, got ", dtype_name(x.dtype()), " and ",
             dtype_name(b.dtype()));
  if (x.rank() == 0) TL_THROW(ShapeError, "[bias_act] x must have rank >= 1, got shape []");
  const int64_t L = x.shape().back();
  bool ok = b.rank() >= 1 && b.rank() <= x.rank() && b.shape().back() == L;
  for (int i = 0; ok && i + 1 < b.rank(); ++i) ok = b.shape()[size_t(i)] == 1;
  if (!ok)
    TL_THROW(ShapeError, "[bias_act] bias has shape ", shape_str(b.shape()), ", expected [", L,
             "] (or [1,..,1,", L, "]) to match the last dim of x's ", shape_str(x.shape()));
  check_out("bias_act", out, x.shape(), DType::f32);
  if (x.numel() == 0) return;
  // The bias as L contiguous floats (small: one row).
  std::vector<float> bias(static_cast<size_t>(L));
  load_f32(byte_ptr(b), b.dtype(), b.strides().back(), bias.data(), L);
  const int64_t xs = x.strides().back();
  const bool direct = x.dtype() == DType::f32 && xs == 1;
  const Walk w = row_walk(x, out, nullptr);
  parallel_for(w.numel, std::max<int64_t>(1, kGrain / 4 / L), [&](int64_t lo, int64_t hi) {
    std::vector<float> buf(direct ? 0 : size_t(L));
    walk_runs(w, lo, hi, [&](int64_t n, std::span<const int64_t> offs) {
      for (int64_t j = 0; j < n; ++j) {
        const int64_t xo = offs[0] + j * w.strides[0].back(), oo = offs[1] + j * w.strides[1].back();
        float* y = reinterpret_cast<float*>(byte_ptr_mut(out, oo));
        if (direct) {
          fn(reinterpret_cast<const float*>(byte_ptr(x, xo)), bias.data(), y, L);
        } else {
          load_f32(byte_ptr(x, xo), x.dtype(), xs, buf.data(), L);
          fn(buf.data(), bias.data(), y, L);
        }
      }
    });
  });
}

Tensor bias_act(const Tensor& x, const Tensor& b, std::optional<UnaryOp> act) {
  check_defined("bias_act", "x", x);
  Tensor out = Tensor::empty(x.shape(), DType::f32);
  bias_act_into(x, b, act, out);
  return out;
}

void scaled_masked_softmax_into(const Tensor& x, float scale, const std::optional<Tensor>& mask, const Tensor& out) {
  const char* op = "scaled_masked_softmax";
  check_defined(op, "x", x);
  if (!is_float(x.dtype())) TL_THROW(ValueError, "[", op, "] x must be a float tensor, got ", dtype_name(x.dtype()));
  if (x.rank() == 0) TL_THROW(ShapeError, "[", op, "] x must have rank >= 1, got shape []");
  check_out(op, out, x.shape(), DType::f32);
  Shape mstr;
  if (mask) {
    check_defined(op, "mask", *mask);
    if (!is_float(mask->dtype()))
      TL_THROW(ValueError, "[", op, "] mask must be a float tensor, got ", dtype_name(mask->dtype()));
    Shape bshape;
    try {
      bshape = broadcast_shapes(mask->shape(), x.shape(), op);
    } catch (const ShapeError&) {
      bshape.clear();
    }
    if (bshape != x.shape())
      TL_THROW(ShapeError, "[", op, "] mask of shape ", shape_str(mask->shape()),
               " does not broadcast to input shape ", shape_str(x.shape()));
    mstr = broadcast_strides(*mask, x.shape());
  }
  if (x.numel() == 0) return;
  const int64_t L = x.shape().back();
  const int64_t xs = x.strides().back();
  const int64_t ms = mask ? mstr.back() : 0;
  const bool xdirect = x.dtype() == DType::f32 && xs == 1;
  const bool mdirect = mask && mask->dtype() == DType::f32 && (ms == 0 || ms == 1);
  const Walk w = row_walk(x, out, mask ? &mstr : nullptr);
  const s::V vscale = s::set1(scale);
  parallel_for(w.numel, std::max<int64_t>(1, kGrain / 4 / L), [&](int64_t lo, int64_t hi) {
    std::vector<float> xbuf(xdirect ? 0 : size_t(L)), mbuf(mask && !mdirect ? size_t(L) : 0);
    walk_runs(w, lo, hi, [&](int64_t n, std::span<const int64_t> offs) {
      for (int64_t j = 0; j < n; ++j) {
        const int64_t xo = offs[0] + j * w.strides[0].back(), oo = offs[1] + j * w.strides[1].back();
        float* y = reinterpret_cast<float*>(byte_ptr_mut(out, oo));
        const float* xr;
        if (xdirect) {
          xr = reinterpret_cast<const float*>(byte_ptr(x, xo));
        } else {
          load_f32(byte_ptr(x, xo), x.dtype(), xs, xbuf.data(), L);
          xr = xbuf.data();
        }
        // y = x * scale (+ mask), rounded after the multiply as the unfused mul then add would be.
        int64_t i = 0;
        if (!mask) {
          for (; i + s::kLanes <= L; i += s::kLanes) s::store(y + i, s::mul(s::load(xr + i), vscale));
          for (; i < L; ++i) y[i] = xr[i] * scale;
        } else {
          const int64_t mo = offs[2] + j * w.strides[2].back();
          const float* mr;
          if (mdirect) {
            mr = static_cast<const float*>(mask->raw_data()) + mo;
          } else {
            load_f32(byte_ptr(*mask, mo), mask->dtype(), ms, mbuf.data(), L);
            mr = mbuf.data();
          }
          if (!mdirect || ms == 1) {
            for (; i + s::kLanes <= L; i += s::kLanes)
              s::store(y + i, s::add(s::mul(s::load(xr + i), vscale), s::load(mr + i)));
            for (; i < L; ++i) y[i] = xr[i] * scale + mr[i];
          } else {  // one mask value per row
            const float m0 = mr[0];
            const s::V vm = s::set1(m0);
            for (; i + s::kLanes <= L; i += s::kLanes) s::store(y + i, s::add(s::mul(s::load(xr + i), vscale), vm));
            for (; i < L; ++i) y[i] = xr[i] * scale + m0;
          }
        }
        softmax_row(y, y, L);
      }
    });
  });
}

Tensor scaled_masked_softmax(const Tensor& x, float scale, const std::optional<Tensor>& mask) {
  check_defined("scaled_masked_softmax", "x", x);
  Tensor out = Tensor::empty(x.shape(), DType::f32);
  scaled_masked_softmax_into(x, scale, mask, out);
  return out;
}

}  // namespace tl::kernels
