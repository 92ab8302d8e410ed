// The elementwise and reduction operator kinds shared by the graph IR (ops) and the CPU kernels.
// Declared once here so the two never disagree.
#pragma once
#include <optional>
#include <string_view>

namespace tl {

enum class UnaryOp {
  neg, abs, exp, log, sqrt, rsqrt, tanh, sigmoid, relu,
  gelu_erf,   // x * 0.5 * (1 + erf(x / sqrt(2)))
  gelu_tanh,  // x * 0.5 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))
  silu,       // x * sigmoid(x)
  step,       // heaviside: 1 if x > 0 else 0 (the Datalog threshold)
  logical_not,
};

enum class BinaryOp {
  add, sub, mul, div, pow, max, min,
  eq, ne, lt, le, gt, ge,  // comparisons produce bool
  logical_and, logical_or,
};

enum class ReduceOp { sum, mean, max, min, prod, logsumexp };

std::string_view op_name(UnaryOp op);
std::string_view op_name(BinaryOp op);
std::string_view op_name(ReduceOp op);
std::optional<UnaryOp> unary_op_from_name(std::string_view name);
std::optional<BinaryOp> binary_op_from_name(std::string_view name);
std::optional<ReduceOp> reduce_op_from_name(std::string_view name);
inline bool is_comparison(BinaryOp op) { return op >= BinaryOp::eq && op <= BinaryOp::ge; }

}  // namespace tl
