// Fused mixture of experts:
//   moe(x, router, w1_0, [w3_0,] w2_0, w1_1, ...) {routing, top_k, normalize, capacity_factor, act, gated}
// One node, one value: y [..., d]. The kernel (src/runtime/cpu/kernels/moe.cpp) routes and runs each expert
// only on its tokens; tl::ref::moe is the double-precision reference.
#include "ir/op_util.h"
#include "tl/kernels.h"

namespace tl::ir {

namespace {

OpDef make_moe() {
  OpDef d{};
  d.kind = OpKind::moe;
  d.attrs_index = attrs_index_of<MoeAttrs>();
  d.family = "moe";
  d.min_inputs = 4;  // x, router, and at least one expert's w1, w2
  d.max_inputs = -1;
  d.op_name = [](const Attrs&) { return std::string("moe"); };
  d.attrs_for_name = [](std::string_view n) -> std::optional<Attrs> {
    if (n == "moe") return Attrs(MoeAttrs{});
    return std::nullopt;
  };
  d.infer = [](const Attrs& a, std::span<const ValueType> in) {
    for (size_t i = 0; i < in.size(); ++i) require_float(in[i], i, "moe");
    std::vector<Shape> es;
    for (size_t i = 2; i < in.size(); ++i) es.push_back(in[i].shape);
    return ValueType{DType::f32, kernels::moe_shape(in[0].shape, in[1].shape, es, get<MoeAttrs>(a).p)};
  };
  d.attrs_to_json = [](const Attrs& a) {
    const MoeParams& p = get<MoeAttrs>(a).p;
    json::Object o;
    o.insert("routing", json::Value(std::string(moe_routing_name(p.routing))));
    o.insert("top_k", json::Value(p.top_k));
    o.insert("normalize", json::Value(p.normalize));
    o.insert("capacity_factor", float_to_json(p.capacity_factor));
    o.insert("act", json::Value(std::string(tl::op_name(p.act))));
    o.insert("gated", json::Value(p.gated));
    return o;
  };
  d.attrs_from_json = [](Attrs, const json::Object& o, const ValueType&) {
    AttrReader r(o, "moe");
    MoeParams p;
    const std::string& rs = r.str("routing");
    std::optional<MoeRouting> rt = moe_routing_from_name(rs);
    if (!rt)
      TL_THROW(ValueError, "[moe] attribute 'routing' = \"", rs,
               "\", expected top_k, switch_top1, expert_choice or dense");
    p.routing = *rt;
    p.top_k = r.i64("top_k");
    p.normalize = r.boolean("normalize");
    p.capacity_factor = r.f32("capacity_factor");
    const std::string& as = r.str("act");
    std::optional<UnaryOp> act = unary_op_from_name(as);
    if (!act) TL_THROW(ValueError, "[moe] attribute 'act' = \"", as, "\", expected silu, relu, gelu_erf or gelu_tanh");
    p.act = *act;
    p.gated = r.boolean("gated");
    r.done();
    return Attrs(MoeAttrs{p});
  };
  d.kernel = [](const Attrs& a, std::span<const Tensor> in, const Tensor& out) {
    kernels::moe_into(in[0], in[1], in.subspan(2), get<MoeAttrs>(a).p, out);
  };
  return d;
}

}  // namespace

const OpDef& moe_op() {
  static const OpDef d = make_moe();
  return d;
}

}  // namespace tl::ir
