// Grouped linear layer: several weights applied to one input, outputs side by side:
//   linear_group(x, w_0, w_1, ...) {format, in}      y [..., n_0 + n_1 + ...] = x [..., k] . [W_0; W_1; ...]^T
// Every w_i is stored in `format` as for `linear` (f32/f16/bf16 [n_i, k], block formats u8 [n_i, row bytes]);
// the weights stay separate tensors (no stacked copy, so memory stays the weights' own). The kernel runs
// tl::qgemm_group, whose decode path shares one parallel region among all the weights' rows; each output
// column equals `linear`'s for its weight bit for bit. Made by the linear_group pass (q/k/v, gate/up) and
// followed by slices of the output (views); tl::ref::linear_group is the reference.
#include "ir/op_util.h"
#include "tl/kernels.h"
#include "tl/quant.h"

namespace tl {

Value Graph::linear_group(Value x, const std::vector<Value>& ws, WeightFormat format, const std::string& name) {
  const Shape& xs = shape(x);
  LinearAttrs a;
  a.format = format;
  a.in_features = xs.empty() ? 0 : xs.back();
  std::vector<Value> in{x};
  in.insert(in.end(), ws.begin(), ws.end());
  return add_op(OpKind::linear_group, a, in, name);
}

}  // namespace tl

namespace tl::ir {

namespace {

OpDef make_linear_group() {
  OpDef d{};
  d.kind = OpKind::linear_group;
  d.attrs_index = attrs_index_of<LinearAttrs>();
  d.family = "linear_group";
  d.min_inputs = 2;
  d.max_inputs = -1;
  d.op_name = [](const Attrs&) { return std::string("linear_group"); };
  d.attrs_for_name = [](std::string_view n) -> std::optional<Attrs> {
    if (n == "linear_group") return Attrs(LinearAttrs{});
    return std::nullopt;
  };
  d.infer = [](const Attrs& attrs, std::span<const ValueType> in) {
    const LinearAttrs& a = get<LinearAttrs>(attrs);
    if (a.act)
      TL_THROW(ValueError, "[linear_group] has no 'act' attribute (got ", tl::op_name(*a.act),
               "): only a single linear runs an activation epilogue");
    std::vector<DType> dts;
    std::vector<Shape> ws;
    for (size_t i = 1; i < in.size(); ++i) {
      dts.push_back(in[i].dtype);
      ws.push_back(in[i].shape);
    }
    return ValueType{DType::f32,
                     kernels::linear_group_shape(in[0].dtype, in[0].shape, dts, ws, a.format, a.in_features)};
  };
  d.attrs_to_json = linear_attrs_to_json;
  d.attrs_from_json = [](Attrs, const json::Object& o, const ValueType&) {
    return linear_attrs_from_json(o, "linear_group");
  };
  d.kernel = [](const Attrs& attrs, std::span<const Tensor> in, const Tensor& out) {
    const LinearAttrs& a = get<LinearAttrs>(attrs);
    kernels::linear_group_into(in[0], in.subspan(1), a.format, a.in_features, out);
  };
  return d;
}

}  // namespace

const OpDef& linear_group_op() {
  static const OpDef d = make_linear_group();
  return d;
}

}  // namespace tl::ir
