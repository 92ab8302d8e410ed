// Rotary position embedding as one op:
//   rope(x, cos, sin) {interleaved}     x [..., s, hd] float, cos/sin [..., s, half] -> f32 [..., s, hd]
// The first 2 * half dims rotate (pairs (i, i + half), or (2i, 2i + 1) when interleaved), the rest pass
// through. nn::rope_apply emits it; the kernel is src/runtime/cpu/kernels/rope.cpp, tl::ref::rope the reference.
#include "ir/op_util.h"
#include "tl/kernels.h"

namespace tl {

Value Graph::rope(Value x, Value cos, Value sin, bool interleaved, const std::string& name) {
  return add_op(OpKind::rope, RopeAttrs{interleaved}, {x, cos, sin}, name);
}

}  // namespace tl

namespace tl::ir {

namespace {

OpDef make_rope() {
  OpDef d{};
  d.kind = OpKind::rope;
  d.attrs_index = attrs_index_of<RopeAttrs>();
  d.family = "rope";
  d.min_inputs = 3;
  d.max_inputs = 3;
  d.op_name = [](const Attrs&) { return std::string("rope"); };
  d.attrs_for_name = [](std::string_view n) -> std::optional<Attrs> {
    if (n == "rope") return Attrs(RopeAttrs{});
    return std::nullopt;
  };
  d.infer = [](const Attrs&, std::span<const ValueType> in) {
    return ValueType{DType::f32, kernels::rope_shape(in[0].dtype, in[0].shape, in[1].dtype, in[1].shape, in[2].dtype,
                                                     in[2].shape)};
  };
  d.attrs_to_json = [](const Attrs& attrs) {
    json::Object o;
    o.insert("interleaved", json::Value(get<RopeAttrs>(attrs).interleaved));
    return o;
  };
  d.attrs_from_json = [](Attrs, const json::Object& o, const ValueType&) {
    AttrReader r(o, "rope");
    RopeAttrs a;
    a.interleaved = r.boolean("interleaved");
    r.done();
    return Attrs(a);
  };
  d.kernel = [](const Attrs& attrs, std::span<const Tensor> in, const Tensor& out) {
    kernels::rope_into(in[0], in[1], in[2], get<RopeAttrs>(attrs).interleaved, out);
  };
  return d;
}

}  // namespace

const OpDef& rope_op() {
  static const OpDef d = make_rope();
  return d;
}

}  // namespace tl::ir
