// Elementwise unary kernels. Float results are computed in f32 with the vector functions of vec_math.h;
// integer neg/abs/relu/step stay integer (wrapping like two's complement); logical_not gives bool.
#include <algorithm>
#include <limits>

#include "runtime/cpu/kernels/common.h"
#include "runtime/cpu/kernels/vec_math.h"
#include "tl/kernels.h"
#include "tl/threading.h"

namespace tl::kernels {

using namespace detail;
namespace s = tl::simd;

namespace {

bool keeps_int(UnaryOp op) {
  return op == UnaryOp::neg || op == UnaryOp::abs || op == UnaryOp::relu || op == UnaryOp::step;
}

template <class F>
void map1(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + s::kLanes <= n; i += s::kLanes) s::store(y + i, F::v(s::load(x + i)));
  if (i < n) s::storen(y + i, F::v(s::loadn(x + i, int(n - i))), int(n - i));
}

struct Neg { static s::V v(s::V x) { return s::neg(x); } };
struct Abs { static s::V v(s::V x) { return s::abs(x); } };
struct Exp { static s::V v(s::V x) { return s::exp(x); } };
struct Log { static s::V v(s::V x) { return s::log(x); } };
struct Sqrt { static s::V v(s::V x) { return s::sqrt(x); } };
struct Rsqrt { static s::V v(s::V x) { return s::div(s::set1(1.0f), s::sqrt(x)); } };
struct Tanh { static s::V v(s::V x) { return s::tanh(x); } };
struct Sigmoid { static s::V v(s::V x) { return s::sigmoid(x); } };
// relu(NaN) = NaN as torch.relu: max_raw(0, x) returns x when x is NaN.
struct Relu { static s::V v(s::V x) { return s::max_raw(s::set1(0.0f), x); } };
struct GeluErf { static s::V v(s::V x) { return s::gelu_erf(x); } };
struct GeluTanh { static s::V v(s::V x) { return s::gelu_tanh(x); } };
struct Silu { static s::V v(s::V x) { return s::silu(x); } };
// step(NaN) = 0 (NaN > 0 is false), step(0) = 0.
struct Step { static s::V v(s::V x) { return s::select(s::gt(x, s::set1(0.0f)), s::set1(1.0f), s::set1(0.0f)); } };

using Fn = void (*)(const float*, float*, int64_t);
Fn float_fn(UnaryOp op) {
  switch (op) {
    case UnaryOp::neg: return map1<Neg>;
    case UnaryOp::abs: return map1<Abs>;
    case UnaryOp::exp: return map1<Exp>;
    case UnaryOp::log: return map1<Log>;
    case UnaryOp::sqrt: return map1<Sqrt>;
    case UnaryOp::rsqrt: return map1<Rsqrt>;
    case UnaryOp::tanh: return map1<Tanh>;
    case UnaryOp::sigmoid: return map1<Sigmoid>;
    case UnaryOp::relu: return map1<Relu>;
    case UnaryOp::gelu_erf: return map1<GeluErf>;
    case UnaryOp::gelu_tanh: return map1<GeluTanh>;
    case UnaryOp::silu: return map1<Silu>;
    case UnaryOp::step: return map1<Step>;
    case UnaryOp::logical_not: break;
  }
  TL_THROW(InternalError, "[unary] no float kernel for ", op_name(op));
}

int64_t int_apply(UnaryOp op, int64_t v) {
  switch (op) {
    case UnaryOp::neg: return int64_t(0 - uint64_t(v));  // wraps at INT64_MIN
    case UnaryOp::abs: return v < 0 ? int64_t(0 - uint64_t(v)) : v;
    case UnaryOp::relu: return v > 0 ? v : 0;
    case UnaryOp::step: return v > 0 ? 1 : 0;
    default: return 0;
  }
}

}  // namespace

DType unary_dtype(UnaryOp op, DType in) {
  if (op == UnaryOp::logical_not) return DType::boolean;
  if ((in == DType::i32 || in == DType::i64) && keeps_int(op)) return in;
  return DType::f32;
}

void unary_into(UnaryOp op, const Tensor& x, const Tensor& out) {
  const std::string name = "unary " + std::string(op_name(op));
  check_defined(name.c_str(), "x", x);
  const DType odt = unary_dtype(op, x.dtype());
  check_out(name.c_str(), out, x.shape(), odt);
  if (x.numel() == 0) return;
  Walk w = make_walk(x.shape(), {x.strides(), out.strides()});
  const DType xdt = x.dtype();
  const int64_t xs = w.strides[0].back();
  const int64_t xes = int64_t(dtype_size(xdt));
  const bool heavy = op != UnaryOp::neg && op != UnaryOp::abs && op != UnaryOp::relu && op != UnaryOp::step;
  parallel_for(w.numel, heavy ? kGrain / 4 : kGrain, [&](int64_t b, int64_t e) {
    walk_runs(w, b, e, [&](int64_t n, std::span<const int64_t> offs) {
      const uint8_t* xp = byte_ptr(x, offs[0]);
      if (odt == DType::f32) {
        float* yp = reinterpret_cast<float*>(byte_ptr_mut(out, offs[1]));
        Fn fn = float_fn(op);
        if (xdt == DType::f32 && xs == 1) {
          fn(reinterpret_cast<const float*>(xp), yp, n);
          return;
        }
        float buf[kBlock];
        for (int64_t i = 0; i < n; i += kBlock) {
          int64_t m = std::min(kBlock, n - i);
          load_f32(xp + i * xs * xes, xdt, xs, buf, m);
          fn(buf, yp + i, m);
        }
      } else if (odt == DType::boolean) {  // logical_not: NaN counts as true, so !NaN is false
        uint8_t* yp = byte_ptr_mut(out, offs[1]);
        float buf[kBlock];
        for (int64_t i = 0; i < n; i += kBlock) {
          int64_t m = std::min(kBlock, n - i);
          load_f32(xp + i * xs * xes, xdt, xs, buf, m);
          for (int64_t j = 0; j < m; ++j) yp[i + j] = buf[j] == 0.0f;
        }
      } else {
        uint8_t* yp = byte_ptr_mut(out, offs[1]);
        int64_t buf[kBlock];
        for (int64_t i = 0; i < n; i += kBlock) {
          int64_t m = std::min(kBlock, n - i);
          load_i64(xp + i * xs * xes, xdt, xs, buf, m);
          for (int64_t j = 0; j < m; ++j) buf[j] = int_apply(op, buf[j]);
          store_i64(buf, yp + i * int64_t(dtype_size(odt)), odt, 1, m);
        }
      }
    });
  });
}

Tensor unary(UnaryOp op, const Tensor& x) {
  check_defined("unary", "x", x);
  Tensor out = Tensor::empty(x.shape(), unary_dtype(op, x.dtype()));
  unary_into(op, x, out);
  return out;
}

}  // namespace tl::kernels
