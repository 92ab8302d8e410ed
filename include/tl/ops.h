// The op registry: each op family is declared once, in one entry: its names, arity, typed attributes' codec,
// shape/dtype inference and the kernel (or view) the executor calls. The builder, verifier, text/JSON/DOT
// forms and the executor all go through this table, so adding an op means adding its attribute struct to
// graph.h and one OpDef in src/ir/ops_*.cpp.
#pragma once
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "tl/graph.h"
#include "tl/json.h"

namespace tl {

struct OpDef {
  OpKind kind;
  const char* family;  // "unary", "reduce", "einsum", ...
  size_t attrs_index;  // the Attrs alternative this op uses (layer_norm and rms_norm share NormAttrs)
  int min_inputs, max_inputs;  // max_inputs < 0: unbounded
  // The op name in the text and JSON forms: the family, or the sub-op ("relu", "add", "reduce_sum").
  std::string (*op_name)(const Attrs& a);
  // If this family owns `name`, attributes with the sub-op set and other fields defaulted.
  std::optional<Attrs> (*attrs_for_name)(std::string_view name);
  // Output type from the input types. Throws ShapeError / ValueError whose message names the input index,
  // the expected and the actual. Input count has been checked against min/max_inputs.
  ValueType (*infer)(const Attrs& a, std::span<const ValueType> in);
  // The attribute fields beyond those the op name implies, as a JSON object (printed in both forms).
  json::Object (*attrs_to_json)(const Attrs& a);
  // Fills `base` (from attrs_for_name) from the object; `out` is the node's declared output type (constants
  // read their data against it). Throws ValueError naming the attribute on a missing, unknown or bad field.
  Attrs (*attrs_from_json)(Attrs base, const json::Object& o, const ValueType& out);
  // Compute ops: writes `out` (preallocated, contiguous, of the inferred type). Null for sources and views.
  void (*kernel)(const Attrs& a, std::span<const Tensor> in, const Tensor& out);
  // View ops (reshape, transpose, slice): the output as a view of in[0] (no copy where the layout allows).
  Tensor (*view)(const Attrs& a, const Tensor& in);
  // The kernel may write its output over an operand of the same type and layout (out aliasing in[i]): each
  // output element is written only after every read of that element's own operand entries (elementwise and
  // row-wise ops). The executor then lets an operand that dies at the node hold the output (runtime.h).
  bool in_place = false;
};

// Index of attribute struct A in the Attrs variant.
template <class A, size_t I = 0>
constexpr size_t attrs_index_of() {
  if constexpr (std::is_same_v<std::variant_alternative_t<I, Attrs>, A>)
    return I;
  else
    return attrs_index_of<A, I + 1>();
}

const OpDef& op_def(OpKind kind);
// The op whose name (op_name) is `name`, with its base attributes; nullopt when no op has that name.
std::optional<std::pair<const OpDef*, Attrs>> op_by_name(std::string_view name);
// op_def(n.kind).op_name(n.attrs).
std::string node_op_name(const Node& n);

}  // namespace tl
