// The table of op families, indexed by OpKind.
#include <array>

#include "ir/op_util.h"

namespace tl {

namespace ir {
const OpDef& attention_op();  // src/ir/ops_attention.cpp
const OpDef& moe_op();        // src/ir/ops_moe.cpp
const OpDef& linear_op();     // src/ir/ops_linear.cpp
const OpDef& rope_op();       // src/ir/ops_rope.cpp
const OpDef& linear_group_op();  // src/ir/ops_linear_group.cpp
}  // namespace ir

namespace {


const std::array<const OpDef*, kNumOpKinds>& table() {
  static const std::array<const OpDef*, kNumOpKinds> t = [] {
    std::array<const OpDef*, kNumOpKinds> t{};
    for (const OpDef* d : {&ir::input_op(), &ir::param_op(), &ir::constant_op(), &ir::einsum_op(), &ir::unary_op(),
                           &ir::binary_op(), &ir::where_op(), &ir::cast_op(), &ir::reduce_op(), &ir::softmax_op(),
                           &ir::layer_norm_op(), &ir::rms_norm_op(), &ir::reshape_op(), &ir::transpose_op(),
                           &ir::concat_op(), &ir::slice_op(), &ir::gather_op(), &ir::repeat_op(),
                           &ir::bias_act_op(), &ir::scaled_masked_softmax_op(),
                           &ir::attention_op(), &ir::moe_op(), &ir::linear_op(), &ir::rope_op(),
                           &ir::linear_group_op()}) {
      TL_CHECK(t[size_t(d->kind)] == nullptr, "op kind registered twice: ", d->family);
      TL_CHECK(d->attrs_for_name(d->family) ? d->attrs_for_name(d->family)->index() == d->attrs_index : true,
               "attribute struct of ", d->family);
      t[size_t(d->kind)] = d;
    }
    for (size_t i = 0; i < t.size(); ++i) TL_CHECK(t[i] != nullptr, "op kind ", i, " has no definition");
    return t;
  }();
  return t;
}

}  // namespace

const OpDef& op_def(OpKind kind) {
  if (size_t(kind) >= size_t(kNumOpKinds)) TL_THROW(ValueError, "op kind ", int(kind), " is not a known op");
  return *table()[size_t(kind)];
}

std::optional<std::pair<const OpDef*, Attrs>> op_by_name(std::string_view name) {
  for (const OpDef* d : table())
    if (auto a = d->attrs_for_name(name)) return std::make_pair(d, std::move(*a));
  return std::nullopt;
}

std::string node_op_name(const Node& n) { return op_def(n.kind).op_name(n.attrs); }

}  // namespace tl
