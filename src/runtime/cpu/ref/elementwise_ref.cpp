// Naive references for unary, binary and where: one element at a time through Tensor::get/set, in double
// (int64 for integer results). Kept forever as the definition the fast kernels are tested against.
#include <cmath>
#include <cstdint>
#include <limits>

#include "tl/kernels.h"

namespace tl::ref {

namespace {

// Index into a tensor broadcast against `idx` of the (longer or equal) output rank.
std::vector<int64_t> bidx(std::span<const int64_t> idx, const Shape& shape) {
  std::vector<int64_t> r(shape.size());
  size_t lead = idx.size() - shape.size();
  for (size_t i = 0; i < shape.size(); ++i) r[i] = shape[i] == 1 ? 0 : idx[lead + i];
  return r;
}

bool is_intlike(DType t) { return !is_float(t); }

double unary_f(UnaryOp op, double x) {
  switch (op) {
    case UnaryOp::neg: return -x;
    case UnaryOp::abs: return std::fabs(x);
    case UnaryOp::exp: return std::exp(x);
    case UnaryOp::log: return std::log(x);
    case UnaryOp::sqrt: return std::sqrt(x);
    case UnaryOp::rsqrt: return 1.0 / std::sqrt(x);
    case UnaryOp::tanh: return std::tanh(x);
    case UnaryOp::sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case UnaryOp::relu: return std::isnan(x) ? x : (x > 0 ? x : 0.0);
    case UnaryOp::gelu_erf: return 0.5 * x * std::erfc(-x / std::sqrt(2.0));
    case UnaryOp::gelu_tanh: {
      // 0.5 x (1 + tanh(u)) == x / (1 + exp(-2u)); the second form does not cancel for x << 0 (even in f64).
      const double u = std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
      return x / (1.0 + std::exp(-2.0 * u));
    }
    case UnaryOp::silu: return x / (1.0 + std::exp(-x));
    case UnaryOp::step: return x > 0 ? 1.0 : 0.0;
    case UnaryOp::logical_not: return x == 0 ? 1.0 : 0.0;
  }
  return 0;
}

int64_t floordiv(int64_t a, int64_t b) {
  if (b == 0) return 0;
  if (b == -1) return int64_t(0 - uint64_t(a));
  int64_t q = a / b;
  if (q * b != a && ((a < 0) != (b < 0))) --q;
  return q;
}

int64_t ipow(int64_t a, int64_t b) {
  if (b < 0) return a == 1 ? 1 : a == -1 ? (b % 2 ? -1 : 1) : 0;
  uint64_t r = 1;
  for (int64_t i = 0; i < b; ++i) r *= uint64_t(a);
  return int64_t(r);
}

}  // namespace

Tensor unary(UnaryOp op, const Tensor& x) {
  const DType odt = kernels::unary_dtype(op, x.dtype());
  Tensor out = Tensor::empty(x.shape(), odt);
  for_each_index(x.shape(), [&](std::span<const int64_t> i) {
    const double v = x.get(i);
    if (is_intlike(odt) && odt != DType::boolean) {
      const int64_t n = int64_t(v);
      int64_t r = 0;
      switch (op) {
        case UnaryOp::neg: r = -n; break;
        case UnaryOp::abs: r = n < 0 ? -n : n; break;
        case UnaryOp::relu: r = n > 0 ? n : 0; break;
        default: r = n > 0 ? 1 : 0; break;  // step
      }
      out.set(i, double(r));
    } else {
      out.set(i, unary_f(op, v));
    }
  });
  return out;
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), "ref binary");
  const DType odt = kernels::binary_dtype(op, a.dtype(), b.dtype());
  Tensor out = Tensor::empty(shape, odt);
  const bool ints = is_intlike(a.dtype()) && is_intlike(b.dtype());
  for_each_index(shape, [&](std::span<const int64_t> i) {
    const double x = a.get(bidx(i, a.shape())), y = b.get(bidx(i, b.shape()));
    double r = 0;
    switch (op) {
      case BinaryOp::add: r = x + y; break;
      case BinaryOp::sub: r = x - y; break;
      case BinaryOp::mul: r = x * y; break;
      case BinaryOp::div: r = ints ? double(floordiv(int64_t(x), int64_t(y))) : x / y; break;
      case BinaryOp::pow: r = ints ? double(ipow(int64_t(x), int64_t(y))) : std::pow(x, y); break;
      case BinaryOp::max: r = (std::isnan(x) || std::isnan(y)) ? x + y : (x > y ? x : y); break;
      case BinaryOp::min: r = (std::isnan(x) || std::isnan(y)) ? x + y : (x < y ? x : y); break;
      case BinaryOp::eq: r = x == y; break;
      case BinaryOp::ne: r = x != y; break;
      case BinaryOp::lt: r = x < y; break;
      case BinaryOp::le: r = x <= y; break;
      case BinaryOp::gt: r = x > y; break;
      case BinaryOp::ge: r = x >= y; break;
      case BinaryOp::logical_and: r = (x != 0) && (y != 0); break;
      case BinaryOp::logical_or: r = (x != 0) || (y != 0); break;
    }
    out.set(i, r);
  });
  return out;
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  const Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape()), b.shape(), "ref where");
  Tensor out = Tensor::empty(shape, kernels::where_dtype(a.dtype(), b.dtype()));
  for_each_index(shape, [&](std::span<const int64_t> i) {
    const double c = cond.get(bidx(i, cond.shape()));
    out.set(i, c != 0 ? a.get(bidx(i, a.shape())) : b.get(bidx(i, b.shape())));
  });
  return out;
}

}  // namespace tl::ref
