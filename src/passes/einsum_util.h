// Shared by the einsum passes: explicit specs split into terms, and the dtype rule they need.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "draft.h"

namespace tl::passes_detail {

struct EinsumTerms {
  std::vector<std::string> inputs;  // one subscript per operand, letters only
  std::string output;
};

// The node's spec in normalised explicit form (through einsum_plan), split into terms; nullopt for specs the
// passes leave alone (ellipsis) or that don't plan for the operands' shapes.
std::optional<EinsumTerms> einsum_terms(const Draft& d, const Node& n);
std::string join_terms(const EinsumTerms& t);
// All operands f32/f16/bf16: the einsum computes in f32 and gives f32, so regrouping it keeps its semantics
// (integer and bool einsums have their own result dtypes and are left alone).
bool all_float_inputs(const Draft& d, const Node& n);

// Whether einsum `spec` is a linear layer x [..., k] . W with W its second operand: "P i,o i->P o" ([n, k]) or,
// transposed, "P i,i o->P o" ([k, n]); P is any run of labels or "..." (weight_formats and linear_group).
struct LinearForm {
  bool ok = false;
  bool transposed = false;
};
LinearForm linear_form(const std::string& spec);
// The linear form of node n when it is such an einsum of an f32 x by a distinct 2-D f32 param W, else !ok.
LinearForm node_linear_form(const Draft& d, const std::vector<int>& prod, const Node& n);

}  // namespace tl::passes_detail
