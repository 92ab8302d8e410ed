// Typed linear layer with weights kept in a storage format (include/tl/quant.h):
//   linear(x, w [, bias]) {format, in}      y [..., n] = x [..., k] . W[n, k]^T (+ bias [n])
// w is f32/f16/bf16 [n, k] or, for block formats (q8_0, q4_0, q4_1, q4_k, q6_k), u8 [n, weight_row_bytes]. The
// kernel (src/runtime/cpu/kernels/linear.cpp) runs tl::qgemm, which dequantises W on the fly, so the weight
// stays as small in memory as in its file; tl::ref::linear is the reference (tl::qgemm_naive).
#include "ir/op_util.h"
#include "tl/kernels.h"
#include "tl/quant.h"

namespace tl {

Value Graph::linear(Value x, Value w, std::optional<Value> bias, WeightFormat format, const std::string& name) {
  return linear(x, w, bias, format, std::nullopt, name);
}

Value Graph::linear(Value x, Value w, std::optional<Value> bias, WeightFormat format, std::optional<UnaryOp> act,
                    const std::string& name) {
  const Shape& xs = shape(x);
  LinearAttrs a;
  a.format = format;
  a.act = act;
  a.in_features = xs.empty() ? 0 : xs.back();
  std::vector<Value> in{x, w};
  if (bias) in.push_back(*bias);
  return add_op(OpKind::linear, a, in, name);
}

}  // namespace tl

namespace tl::ir {

json::Object linear_attrs_to_json(const Attrs& attrs) {
  const LinearAttrs& a = get<LinearAttrs>(attrs);
  json::Object o;
  o.insert("format", json::Value(std::string(weight_format_name(a.format))));
  o.insert("in", json::Value(a.in_features));
  if (a.act) o.insert("act", json::Value(std::string(tl::op_name(*a.act))));  // absent: none
  return o;
}

Attrs linear_attrs_from_json(const json::Object& o, const char* op) {
  AttrReader r(o, op);
  LinearAttrs a;
  const std::string& f = r.str("format");
  try {
    a.format = weight_format_from_name(f);
  } catch (const ValueError& e) {
    TL_THROW(ValueError, "[", op, "] attribute 'format': ", e.what());
  }
  a.in_features = r.i64("in");
  if (r.has("act") && r.str("act") != "none") {
    const std::string& s = r.str("act");
    const std::optional<UnaryOp> act = unary_op_from_name(s);
    if (!act || !kernels::is_bias_activation(*act))
      TL_THROW(ValueError, "[", op, "] attribute 'act' = \"", s,
               "\" is not an activation (expected relu, gelu_erf, gelu_tanh, silu, sigmoid or tanh)");
    a.act = act;
  }
  r.done();
  return Attrs(a);
}

namespace {

OpDef make_linear() {
  OpDef d{};
  d.kind = OpKind::linear;
  d.attrs_index = attrs_index_of<LinearAttrs>();
  d.family = "linear";
  d.min_inputs = 2;
  d.max_inputs = 3;
  d.op_name = [](const Attrs&) { return std::string("linear"); };
  d.attrs_for_name = [](std::string_view n) -> std::optional<Attrs> {
    if (n == "linear") return Attrs(LinearAttrs{});
    return std::nullopt;
  };
  d.infer = [](const Attrs& attrs, std::span<const ValueType> in) {
    const LinearAttrs& a = get<LinearAttrs>(attrs);
    if (a.act && !kernels::is_bias_activation(*a.act))
      TL_THROW(ValueError, "[linear] attribute 'act' = ", tl::op_name(*a.act),
               " is not an activation (expected relu, gelu_erf, gelu_tanh, silu, sigmoid or tanh)");
    const bool has_bias = in.size() > 2;
    return ValueType{DType::f32, kernels::linear_shape(in[0].dtype, in[0].shape, in[1].dtype, in[1].shape,
                                                       has_bias ? &in[2].shape : nullptr,
                                                       has_bias ? in[2].dtype : DType::f32, a.format,
                                                       a.in_features)};
  };
  d.attrs_to_json = linear_attrs_to_json;
  d.attrs_from_json = [](Attrs, const json::Object& o, const ValueType&) { return linear_attrs_from_json(o, "linear"); };
  d.kernel = [](const Attrs& attrs, std::span<const Tensor> in, const Tensor& out) {
    const LinearAttrs& a = get<LinearAttrs>(attrs);
    kernels::linear_into(in[0], in[1], in.size() > 2 ? std::optional<Tensor>(in[2]) : std::nullopt, a.format,
                         a.in_features, out, a.act);
  };
  return d;
}

}  // namespace

const OpDef& linear_op() {
  static const OpDef d = make_linear();
  return d;
}

}  // namespace tl::ir
