// Fused elementwise families made by the elementwise_fusion pass:
//   bias_act(x, b) {act}                     y = act(x + b), b of shape [last] or [1,..,1,last]
//   scaled_masked_softmax(x [, mask]) {scale} y = softmax(x * scale + mask) over the last axis
// Both compute in f32 and give f32, like the unfused ops they replace.
#include <bit>
#include <cmath>

#include "ir/op_util.h"
#include "tl/kernels.h"

namespace tl {
bool ScaledMaskedSoftmaxAttrs::operator==(const ScaledMaskedSoftmaxAttrs& o) const {
  return std::bit_cast<uint32_t>(scale) == std::bit_cast<uint32_t>(o.scale);
}
}  // namespace tl

namespace tl::ir {

namespace {

OpDef make_bias_act() {
  OpDef d{};
  d.kind = OpKind::bias_act;
  d.attrs_index = attrs_index_of<BiasActAttrs>();
  d.family = "bias_act";
  d.in_place = true;
  d.min_inputs = d.max_inputs = 2;
  d.op_name = [](const Attrs&) { return std::string("bias_act"); };
  d.attrs_for_name = [](std::string_view n) -> std::optional<Attrs> {
    if (n == "bias_act") return Attrs(BiasActAttrs{});
    return std::nullopt;
  };
  d.infer = [](const Attrs& a, std::span<const ValueType> in) {
    const auto& act = get<BiasActAttrs>(a).act;
    if (act && !kernels::is_bias_activation(*act))
      TL_THROW(ValueError, "[bias_act] attribute 'act' = ", tl::op_name(*act),
               " is not an activation (expected relu, gelu_erf, gelu_tanh, silu, sigmoid, tanh or none)");
    require_float(in[0], 0, "bias_act");
    require_float(in[1], 1, "bias_act");
    const Shape& xs = in[0].shape;
    const Shape& bs = in[1].shape;
    if (xs.empty()) TL_THROW(ShapeError, "[bias_act] input 0 (x) must have rank >= 1, got shape []");
    bool ok = !bs.empty() && bs.size() <= xs.size() && bs.back() == xs.back();
    for (size_t i = 0; ok && i + 1 < bs.size(); ++i) ok = bs[i] == 1;
    if (!ok)
      TL_THROW(ShapeError, "[bias_act] input 1 (bias) has shape ", shape_str(bs), ", expected [", xs.back(),
               "] (or [1,..,1,", xs.back(), "]) to match the last dim of input 0's ", shape_str(xs));
    return ValueType{DType::f32, xs};
  };
  d.attrs_to_json = [](const Attrs& a) {
    const auto& act = get<BiasActAttrs>(a).act;
    json::Object o;
    o.insert("act", json::Value(act ? std::string(tl::op_name(*act)) : std::string("none")));
    return o;
  };
  d.attrs_from_json = [](Attrs, const json::Object& o, const ValueType&) {
    AttrReader r(o, "bias_act");
    const std::string& s = r.str("act");
    BiasActAttrs b;
    if (s != "none") {
      std::optional<UnaryOp> op = unary_op_from_name(s);
      if (!op || !kernels::is_bias_activation(*op))
        TL_THROW(ValueError, "[bias_act] attribute 'act' = \"", s,
                 "\" is not an activation (expected relu, gelu_erf, gelu_tanh, silu, sigmoid, tanh or none)");
      b.act = *op;
    }
    r.done();
    return Attrs(b);
  };
  d.kernel = [](const Attrs& a, std::span<const Tensor> in, const Tensor& out) {
    kernels::bias_act_into(in[0], in[1], get<BiasActAttrs>(a).act, out);
  };
  return d;
}

OpDef make_scaled_masked_softmax() {
  OpDef d{};
  d.kind = OpKind::scaled_masked_softmax;
  d.attrs_index = attrs_index_of<ScaledMaskedSoftmaxAttrs>();
  d.family = "scaled_masked_softmax";
  d.in_place = true;
  d.min_inputs = 1;
  d.max_inputs = 2;
  d.op_name = [](const Attrs&) { return std::string("scaled_masked_softmax"); };
  d.attrs_for_name = [](std::string_view n) -> std::optional<Attrs> {
    if (n == "scaled_masked_softmax") return Attrs(ScaledMaskedSoftmaxAttrs{});
    return std::nullopt;
  };
  d.infer = [](const Attrs& a, std::span<const ValueType> in) {
    const char* op = "scaled_masked_softmax";
    const float scale = get<ScaledMaskedSoftmaxAttrs>(a).scale;
    if (!std::isfinite(scale)) TL_THROW(ValueError, "[", op, "] attribute 'scale' = ", scale, " must be finite");
    require_float(in[0], 0, op);
    if (in[0].shape.empty()) TL_THROW(ShapeError, "[", op, "] input 0 (x) must have rank >= 1, got shape []");
    if (in.size() == 2) {
      require_float(in[1], 1, op);
      Shape b;
      try {
        b = broadcast_shapes(in[1].shape, in[0].shape, op);
      } catch (const ShapeError&) {
        b.clear();
      }
      if (b != in[0].shape)
        TL_THROW(ShapeError, "[", op, "] input 1 (mask) has shape ", shape_str(in[1].shape),
                 ", expected a shape that broadcasts to input 0's ", shape_str(in[0].shape));
    }
    return ValueType{DType::f32, in[0].shape};
  };
  d.attrs_to_json = [](const Attrs& a) {
    json::Object o;
    o.insert("scale", float_to_json(get<ScaledMaskedSoftmaxAttrs>(a).scale));
    return o;
  };
  d.attrs_from_json = [](Attrs, const json::Object& o, const ValueType&) {
    AttrReader r(o, "scaled_masked_softmax");
    ScaledMaskedSoftmaxAttrs s{r.f32("scale")};
    r.done();
    return Attrs(s);
  };
  d.kernel = [](const Attrs& a, std::span<const Tensor> in, const Tensor& out) {
    kernels::scaled_masked_softmax_into(in[0], get<ScaledMaskedSoftmaxAttrs>(a).scale,
                                        in.size() == 2 ? std::optional<Tensor>(in[1]) : std::nullopt, out);
  };
  return d;
}

}  // namespace

const OpDef& bias_act_op() {
  static const OpDef d = make_bias_act();
  return d;
}
const OpDef& scaled_masked_softmax_op() {
  static const OpDef d = make_scaled_masked_softmax();
  return d;
}

}  // namespace tl::ir
