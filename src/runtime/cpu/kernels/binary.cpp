// Elementwise binary kernels and where/select, with NumPy broadcasting.
// Float arithmetic is f32 (f16/bf16/int operands converted on load). Integer arithmetic (both operands
// i32/i64/bool) is done in 64 bits, wrapping on overflow, and stored as i32 when both inputs are 32-bit or
// narrower. Integer div is floor division (Python/NumPy `//`) with x // 0 = 0 (NumPy's value). Integer pow
// with a negative exponent gives the truncated real result: 1 for base 1, +/-1 for base -1, else 0.
// max/min propagate NaN like np.maximum/np.minimum. Comparisons of two float dtypes are made in f32, of two
// integer dtypes in i64, of mixed dtypes in f64.
#include <algorithm>
#include <cmath>
#include <string>

#include "runtime/cpu/kernels/common.h"
#include "runtime/cpu/kernels/vec_math.h"
#include "tl/kernels.h"
#include "tl/threading.h"

namespace tl::kernels {

using namespace detail;
namespace s = tl::simd;

namespace {

bool is_logical(BinaryOp op) { return op == BinaryOp::logical_and || op == BinaryOp::logical_or; }

// ---- f32 vector bodies -----------------------------------------------------------------------------------

struct Add { static s::V v(s::V a, s::V b) { return s::add(a, b); } };
struct Sub { static s::V v(s::V a, s::V b) { return s::sub(a, b); } };
struct Mul { static s::V v(s::V a, s::V b) { return s::mul(a, b); } };
struct Div { static s::V v(s::V a, s::V b) { return s::div(a, b); } };
struct Max {
  static s::V v(s::V a, s::V b) { return s::select(s::unord(a, b), s::add(a, b), s::max_raw(a, b)); }
};
struct Min {
  static s::V v(s::V a, s::V b) { return s::select(s::unord(a, b), s::add(a, b), s::min_raw(a, b)); }
};
struct Eq { static s::M m(s::V a, s::V b) { return s::eq(a, b); } };
struct Ne { static s::M m(s::V a, s::V b) { return s::ne(a, b); } };
struct Lt { static s::M m(s::V a, s::V b) { return s::lt(a, b); } };
struct Le { static s::M m(s::V a, s::V b) { return s::le(a, b); } };
struct Gt { static s::M m(s::V a, s::V b) { return s::gt(a, b); } };
struct Ge { static s::M m(s::V a, s::V b) { return s::ge(a, b); } };
struct And {  // nonzero is true; NaN is nonzero
  static s::M m(s::V a, s::V b) { return s::mask_and(s::ne(a, s::set1(0.0f)), s::ne(b, s::set1(0.0f))); }
};
struct Or {
  static s::M m(s::V a, s::V b) { return s::mask_or(s::ne(a, s::set1(0.0f)), s::ne(b, s::set1(0.0f))); }
};

// y[i] = F(a[i or 0], b[i or 0]); a_scalar/b_scalar select stride 0.
template <class F>
void map2(const float* a, bool as, const float* b, bool bs, float* y, int64_t n) {
  const s::V sa = s::set1(*a), sb = s::set1(*b);
  int64_t i = 0;
  for (; i + s::kLanes <= n; i += s::kLanes)
    s::store(y + i, F::v(as ? sa : s::load(a + i), bs ? sb : s::load(b + i)));
  if (i < n) {
    int r = int(n - i);
    s::storen(y + i, F::v(as ? sa : s::loadn(a + i, r), bs ? sb : s::loadn(b + i, r)), r);
  }
}
template <class F>
void cmp2(const float* a, bool as, const float* b, bool bs, uint8_t* y, int64_t n) {
  const s::V sa = s::set1(*a), sb = s::set1(*b);
  for (int64_t i = 0; i < n; i += s::kLanes) {
    int r = int(std::min<int64_t>(s::kLanes, n - i));
    s::V va = as ? sa : (r == s::kLanes ? s::load(a + i) : s::loadn(a + i, r));
    s::V vb = bs ? sb : (r == s::kLanes ? s::load(b + i) : s::loadn(b + i, r));
    unsigned bits = s::mask_bits(F::m(va, vb));
    for (int k = 0; k < r; ++k) y[i + k] = uint8_t((bits >> k) & 1u);
  }
}
void pow2(const float* a, bool as, const float* b, bool bs, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::pow(a[as ? 0 : i], b[bs ? 0 : i]);
}

using FFn = void (*)(const float*, bool, const float*, bool, float*, int64_t);
using CFn = void (*)(const float*, bool, const float*, bool, uint8_t*, int64_t);

FFn float_fn(BinaryOp op) {
  switch (op) {
    case BinaryOp::add: return map2<Add>;
    case BinaryOp::sub: return map2<Sub>;
    case BinaryOp::mul: return map2<Mul>;
    case BinaryOp::div: return map2<Div>;
    case BinaryOp::pow: return pow2;
    case BinaryOp::max: return map2<Max>;
    case BinaryOp::min: return map2<Min>;
    default: return nullptr;
  }
}
CFn cmp_fn(BinaryOp op) {
  switch (op) {
    case BinaryOp::eq: return cmp2<Eq>;
    case BinaryOp::ne: return cmp2<Ne>;
    case BinaryOp::lt: return cmp2<Lt>;
    case BinaryOp::le: return cmp2<Le>;
    case BinaryOp::gt: return cmp2<Gt>;
    case BinaryOp::ge: return cmp2<Ge>;
    case BinaryOp::logical_and: return cmp2<And>;
    case BinaryOp::logical_or: return cmp2<Or>;
    default: return nullptr;
  }
}

// ---- scalar integer / mixed bodies -------------------------------------------------------------------------

int64_t ipow(int64_t a, int64_t b) {
  if (b < 0) return a == 1 ? 1 : a == -1 ? ((b & 1) ? -1 : 1) : 0;
  uint64_t r = 1, x = uint64_t(a);
  while (b) {
    if (b & 1) r *= x;
    x *= x;
    b >>= 1;
  }
  return int64_t(r);
}

int64_t iarith(BinaryOp op, int64_t a, int64_t b) {
  switch (op) {
    case BinaryOp::add: return int64_t(uint64_t(a) + uint64_t(b));
    case BinaryOp::sub: return int64_t(uint64_t(a) - uint64_t(b));
    case BinaryOp::mul: return int64_t(uint64_t(a) * uint64_t(b));
    case BinaryOp::div: {
      if (b == 0) return 0;
      if (b == -1) return int64_t(0 - uint64_t(a));  // INT64_MIN // -1 wraps
      int64_t q = a / b;
      if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
      return q;
    }
    case BinaryOp::pow: return ipow(a, b);
    case BinaryOp::max: return a > b ? a : b;
    case BinaryOp::min: return a < b ? a : b;
    default: return 0;
  }
}

template <class T>
bool compare(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::eq: return a == b;
    case BinaryOp::ne: return !(a == b);
    case BinaryOp::lt: return a < b;
    case BinaryOp::le: return a <= b;
    case BinaryOp::gt: return a > b;
    case BinaryOp::ge: return a >= b;
    default: return false;
  }
}

// A run operand: where the run's values come from after conversion.
struct RunIn {
  const uint8_t* p;
  DType dt;
  int64_t stride;
};

// Returns a pointer to m f32 values of the run starting at element i (or one value when stride 0).
const float* f32_block(const RunIn& in, int64_t i, int64_t m, float* buf) {
  const int64_t es = int64_t(dtype_size(in.dt));
  if (in.stride == 0) {
    load_f32(in.p, in.dt, 0, buf, 1);
    return buf;
  }
  if (in.dt == DType::f32 && in.stride == 1) return reinterpret_cast<const float*>(in.p) + i;
  load_f32(in.p + i * in.stride * es, in.dt, in.stride, buf, m);
  return buf;
}

}  // namespace

DType binary_dtype(BinaryOp op, DType a, DType b) {
  if (is_comparison(op) || is_logical(op)) return DType::boolean;
  if (is_float(a) || is_float(b)) return DType::f32;
  return (a == DType::i64 || b == DType::i64) ? DType::i64 : DType::i32;
}

DType where_dtype(DType a, DType b) {
  if (is_float(a) || is_float(b)) return DType::f32;
  if (a == DType::boolean && b == DType::boolean) return DType::boolean;
  return (a == DType::i64 || b == DType::i64) ? DType::i64 : DType::i32;
}

void binary_into(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  const std::string name = "binary " + std::string(op_name(op));
  check_defined(name.c_str(), "a", a);
  check_defined(name.c_str(), "b", b);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), name.c_str());
  const DType odt = binary_dtype(op, a.dtype(), b.dtype());
  check_out(name.c_str(), out, shape, odt);
  if (out.numel() == 0) return;
  if (odt == DType::f32 && float_fn(op) && a.dtype() == DType::f32 && b.dtype() == DType::f32 && a.shape() == shape &&
      b.shape() == shape && a.is_contiguous() && b.is_contiguous() && out.is_contiguous()) {
    // Same-shape contiguous f32 operands (residual adds, gated units): one flat loop, no strided walk to set
    // up (a decode step runs many small binaries, where the walk's setup dominated).
    const float* pa = a.data<float>();
    const float* pb = b.data<float>();
    float* py = out.data<float>();
    const FFn fn = float_fn(op);
    parallel_for(out.numel(), op == BinaryOp::pow ? kGrain / 4 : kGrain, [&](int64_t lo, int64_t hi) {
      fn(pa + lo, false, pb + lo, false, py + lo, hi - lo);
    });
    return;
  }
  Walk w = make_walk(shape, {broadcast_strides(a, shape), broadcast_strides(b, shape), out.strides()});
  const bool both_float = is_float(a.dtype()) && is_float(b.dtype());
  const bool both_int = is_int(a.dtype()) && is_int(b.dtype());
  // Which body: f32 vector arithmetic, f32 vector compare/logical, or a scalar i64 / f64 path.
  const bool vec_arith = odt == DType::f32;
  const bool vec_cmp = (is_comparison(op) && both_float) || is_logical(op);
  const int64_t es_out = int64_t(dtype_size(odt));
  parallel_for(w.numel, op == BinaryOp::pow ? kGrain / 4 : kGrain, [&](int64_t lo, int64_t hi) {
    walk_runs(w, lo, hi, [&](int64_t n, std::span<const int64_t> offs) {
      RunIn ra{byte_ptr(a, offs[0]), a.dtype(), w.strides[0].back()};
      RunIn rb{byte_ptr(b, offs[1]), b.dtype(), w.strides[1].back()};
      uint8_t* yp = byte_ptr_mut(out, offs[2]);
      for (int64_t i = 0; i < n; i += kBlock) {
        const int64_t m = std::min(kBlock, n - i);
        if (vec_arith || vec_cmp) {
          float ba[kBlock], bb[kBlock];
          const float* pa = f32_block(ra, i, m, ba);
          const float* pb = f32_block(rb, i, m, bb);
          if (vec_arith)
            float_fn(op)(pa, ra.stride == 0, pb, rb.stride == 0, reinterpret_cast<float*>(yp) + i, m);
          else
            cmp_fn(op)(pa, ra.stride == 0, pb, rb.stride == 0, yp + i, m);
        } else if (both_int) {
          int64_t ia[kBlock], ib[kBlock], r[kBlock];
          const int64_t esa = int64_t(dtype_size(ra.dt)), esb = int64_t(dtype_size(rb.dt));
          load_i64(ra.p + i * ra.stride * esa, ra.dt, ra.stride, ia, m);
          load_i64(rb.p + i * rb.stride * esb, rb.dt, rb.stride, ib, m);
          if (is_comparison(op)) {
            for (int64_t j = 0; j < m; ++j) yp[i + j] = compare(op, ia[j], ib[j]);
          } else {
            for (int64_t j = 0; j < m; ++j) r[j] = iarith(op, ia[j], ib[j]);
            store_i64(r, yp + i * es_out, odt, 1, m);
          }
        } else {  // comparison of mixed int/float dtypes, in f64
          double da[kBlock], db[kBlock];
          const int64_t esa = int64_t(dtype_size(ra.dt)), esb = int64_t(dtype_size(rb.dt));
          load_f64(ra.p + i * ra.stride * esa, ra.dt, ra.stride, da, m);
          load_f64(rb.p + i * rb.stride * esb, rb.dt, rb.stride, db, m);
          for (int64_t j = 0; j < m; ++j) yp[i + j] = compare(op, da[j], db[j]);
        }
      }
    });
  });
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  const std::string name = "binary " + std::string(op_name(op));
  check_defined(name.c_str(), "a", a);
  check_defined(name.c_str(), "b", b);
  Tensor out = Tensor::empty(broadcast_shapes(a.shape(), b.shape(), name.c_str()), binary_dtype(op, a.dtype(), b.dtype()));
  binary_into(op, a, b, out);
  return out;
}

void where_into(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  check_defined("where", "cond", cond);
  check_defined("where", "a", a);
  check_defined("where", "b", b);
  const Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where (cond, a)"), b.shape(),
                                       "where (cond and a, b)");
  const DType odt = where_dtype(a.dtype(), b.dtype());
  check_out("where", out, shape, odt);
  if (out.numel() == 0) return;
  Walk w = make_walk(shape, {broadcast_strides(cond, shape), broadcast_strides(a, shape),
                             broadcast_strides(b, shape), out.strides()});
  const int64_t es_out = int64_t(dtype_size(odt));
  parallel_for(w.numel, kGrain, [&](int64_t lo, int64_t hi) {
    walk_runs(w, lo, hi, [&](int64_t n, std::span<const int64_t> offs) {
      RunIn rc{byte_ptr(cond, offs[0]), cond.dtype(), w.strides[0].back()};
      RunIn ra{byte_ptr(a, offs[1]), a.dtype(), w.strides[1].back()};
      RunIn rb{byte_ptr(b, offs[2]), b.dtype(), w.strides[2].back()};
      uint8_t* yp = byte_ptr_mut(out, offs[3]);
      for (int64_t i = 0; i < n; i += kBlock) {
        const int64_t m = std::min(kBlock, n - i);
        float bc[kBlock];
        const float* pc = f32_block(rc, i, m, bc);
        const int64_t cs = rc.stride == 0 ? 0 : 1;
        if (odt == DType::f32) {
          float ba[kBlock], bb[kBlock];
          const float* pa = f32_block(ra, i, m, ba);
          const float* pb = f32_block(rb, i, m, bb);
          const int64_t as = ra.stride == 0 ? 0 : 1, bs = rb.stride == 0 ? 0 : 1;
          float* y = reinterpret_cast<float*>(yp) + i;
          for (int64_t j = 0; j < m; ++j) y[j] = pc[j * cs] != 0.0f ? pa[j * as] : pb[j * bs];
        } else {
          int64_t ia[kBlock], ib[kBlock];
          const int64_t esa = int64_t(dtype_size(ra.dt)), esb = int64_t(dtype_size(rb.dt));
          load_i64(ra.p + i * ra.stride * esa, ra.dt, ra.stride, ia, m);
          load_i64(rb.p + i * rb.stride * esb, rb.dt, rb.stride, ib, m);
          for (int64_t j = 0; j < m; ++j) ia[j] = pc[j * cs] != 0.0f ? ia[j] : ib[j];
          store_i64(ia, yp + i * es_out, odt, 1, m);
        }
      }
    });
  });
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_defined("where", "cond", cond);
  check_defined("where", "a", a);
  check_defined("where", "b", b);
  const Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where (cond, a)"), b.shape(),
                                       "where (cond and a, b)");
  Tensor out = Tensor::empty(shape, where_dtype(a.dtype(), b.dtype()));
  where_into(cond, a, b, out);
  return out;
}

}  // namespace tl::kernels
