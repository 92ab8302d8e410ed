#include "tl/op_kinds.h"

#include <array>

namespace tl {

namespace {
constexpr std::array<std::string_view, 14> kUnary = {"neg",     "abs",  "exp",      "log",       "sqrt",
                                                     "rsqrt",   "tanh", "sigmoid",  "relu",      "gelu_erf",
                                                     "gelu_tanh", "silu", "step",   "logical_not"};
constexpr std::array<std::string_view, 15> kBinary = {"add", "sub", "mul", "div", "pow", "max", "min", "eq",
                                                      "ne",  "lt",  "le",  "gt",  "ge",  "logical_and", "logical_or"};
constexpr std::array<std::string_view, 6> kReduce = {"sum", "mean", "max", "min", "prod", "logsumexp"};

template <class E, size_t N>
std::optional<E> find(const std::array<std::string_view, N>& names, std::string_view n) {
  for (size_t i = 0; i < N; ++i)
    if (names[i] == n) return E(i);
  return std::nullopt;
}
}  // namespace

std::string_view op_name(UnaryOp op) { return kUnary.at(size_t(op)); }
std::string_view op_name(BinaryOp op) { return kBinary.at(size_t(op)); }
std::string_view op_name(ReduceOp op) { return kReduce.at(size_t(op)); }
std::optional<UnaryOp> unary_op_from_name(std::string_view n) { return find<UnaryOp>(kUnary, n); }
std::optional<BinaryOp> binary_op_from_name(std::string_view n) { return find<BinaryOp>(kBinary, n); }
std::optional<ReduceOp> reduce_op_from_name(std::string_view n) { return find<ReduceOp>(kReduce, n); }

}  // namespace tl
