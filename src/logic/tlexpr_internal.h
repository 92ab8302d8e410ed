// Private helpers shared by the TLExpr builder, compiler and reference evaluator.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "tl/tlexpr.h"

namespace tl::tlexpr::detail {

// Appends v unless a variable of that name is present; throws ValueError if it is, with another domain size.
void add_var(std::vector<Var>& vars, const Var& v);
// Variables among the terms, in order of first appearance.
std::vector<Var> term_vars(const std::vector<Term>& ts);
// The predicates an expression reads, in order of first use (one per name; throws if a name has two shapes).
std::vector<Predicate> predicates_of(const Expr& e);
// Checks that every predicate has an input of its shape, truth-valued ones within [0, 1]; returns them as
// contiguous f32 tensors by name.
std::map<std::string, Tensor> checked_inputs(const Expr& e, const std::map<std::string, Tensor>& inputs);
// Exact comparison of two numbers.
bool compare_values(CmpOp op, double a, double b);

}  // namespace tl::tlexpr::detail
