// Reductions over axes and the row-wise families built on them: softmax (optional additive mask),
// layer_norm and rms_norm over the trailing norm_dims dims.
#include <bit>

#include "ir/op_util.h"
#include "tl/kernels.h"

namespace tl::ir {

namespace {

OpDef make_reduce() {
  OpDef d{};
  d.kind = OpKind::reduce;
  d.attrs_index = attrs_index_of<ReduceAttrs>();
  d.family = "reduce";
  d.min_inputs = d.max_inputs = 1;
  d.op_name = [](const Attrs& a) { return "reduce_" + std::string(tl::op_name(get<ReduceAttrs>(a).op)); };
  d.attrs_for_name = [](std::string_view n) -> std::optional<Attrs> {
    if (n.substr(0, 7) != "reduce_") return std::nullopt;
    if (auto op = reduce_op_from_name(n.substr(7))) return Attrs(ReduceAttrs{*op, {}, false});
    return std::nullopt;
  };
  d.infer = [](const Attrs& a, std::span<const ValueType> in) {
    const ReduceAttrs& r = get<ReduceAttrs>(a);
    std::string name = "reduce_" + std::string(tl::op_name(r.op));
    int rank = int(in[0].shape.size());
    std::vector<bool> seen(size_t(rank), false);
    for (int ax : r.axes) {
      int n = norm_axis(ax, rank, name.c_str(), "axes entry");
      if (seen[size_t(n)]) TL_THROW(ValueError, "[", name, "] axes lists dim ", n, " twice");
      seen[size_t(n)] = true;
    }
    DType dt = kernels::reduce_dtype(r.op, in[0].dtype);
    return ValueType{dt, kernels::reduce_shape(in[0].shape, r.axes, r.keepdims)};
  };
  d.attrs_to_json = [](const Attrs& a) {
    const ReduceAttrs& r = get<ReduceAttrs>(a);
    json::Object o;
    o.insert("axes", int_list_to_json(r.axes));
    o.insert("keepdims", json::Value(r.keepdims));
    return o;
  };
  d.attrs_from_json = [](Attrs base, const json::Object& o, const ValueType&) {
    ReduceAttrs r = get<ReduceAttrs>(base);
    std::string name = "reduce_" + std::string(tl::op_name(r.op));
    AttrReader rd(o, name.c_str());
    r.axes = rd.int_list("axes");
    r.keepdims = rd.boolean("keepdims");
    rd.done();
    return Attrs(r);
  };
  d.kernel = [](const Attrs& a, std::span<const Tensor> in, const Tensor& out) {
    const ReduceAttrs& r = get<ReduceAttrs>(a);
    kernels::reduce_into(r.op, in[0], r.axes, r.keepdims, out);
  };
  return d;
}

OpDef make_softmax() {
  OpDef d{};
  d.kind = OpKind::softmax;
  d.attrs_index = attrs_index_of<SoftmaxAttrs>();
  d.family = "softmax";
  d.min_inputs = 1;
  d.max_inputs = 2;
  d.op_name = [](const Attrs&) { return std::string("softmax"); };
  d.attrs_for_name = [](std::string_view n) -> std::optional<Attrs> {
    if (n == "softmax") return Attrs(SoftmaxAttrs{});
    return std::nullopt;
  };
  d.infer = [](const Attrs& a, std::span<const ValueType> in) {
    require_float(in[0], 0, "softmax");
    norm_axis(get<SoftmaxAttrs>(a).axis, int(in[0].shape.size()), "softmax");
    if (in.size() == 2) {
      require_float(in[1], 1, "softmax");
      Shape b;
      try {
        b = broadcast_shapes(in[1].shape, in[0].shape, "softmax");
      } catch (const ShapeError&) {
        b.clear();
      }
      if (b != in[0].shape)
        TL_THROW(ShapeError, "[softmax] input 1 (mask) has shape ", shape_str(in[1].shape),
                 ", expected a shape that broadcasts to input 0's ", shape_str(in[0].shape));
    }
    return ValueType{DType::f32, in[0].shape};
  };
  d.attrs_to_json = [](const Attrs& a) {
    json::Object o;
    o.insert("axis", json::Value(get<SoftmaxAttrs>(a).axis));
    return o;
  };
  d.attrs_from_json = [](Attrs, const json::Object& o, const ValueType&) {
    AttrReader r(o, "softmax");
    SoftmaxAttrs s{r.i32("axis")};
    r.done();
    return Attrs(s);
  };
  d.kernel = [](const Attrs& a, std::span<const Tensor> in, const Tensor& out) {
    int axis = norm_axis(get<SoftmaxAttrs>(a).axis, in[0].rank(), "softmax");
    kernels::softmax_into(in[0], axis, in.size() == 2 ? std::optional<Tensor>(in[1]) : std::nullopt, out);
  };
  return d;
}

// Shared by layer_norm (x, [gamma, [beta]]) and rms_norm (x, [gamma]).
ValueType infer_norm(const char* op, const NormAttrs& n, std::span<const ValueType> in) {
  require_float(in[0], 0, op);
  int rank = int(in[0].shape.size());
  if (n.norm_dims < 1 || n.norm_dims > rank)
    TL_THROW(ValueError, "[", op, "] norm_dims ", n.norm_dims, " must be in 1..", rank, " for input 0 of shape ",
             shape_str(in[0].shape));
  if (!(n.eps >= 0)) TL_THROW(ValueError, "[", op, "] eps ", n.eps, " must be >= 0");
  Shape trailing(in[0].shape.end() - n.norm_dims, in[0].shape.end());
  for (size_t i = 1; i < in.size(); ++i) {
    require_float(in[i], i, op);
    if (in[i].shape != trailing)
      TL_THROW(ShapeError, "[", op, "] input ", i, " (", i == 1 ? "gamma" : "beta", ") has shape ",
               shape_str(in[i].shape), ", expected ", shape_str(trailing), " (the last ", n.norm_dims,
               " dims of input 0)");
  }
  return ValueType{DType::f32, in[0].shape};
}

json::Object norm_to_json(const Attrs& a) {
  const NormAttrs& n = get<NormAttrs>(a);
  json::Object o;
  o.insert("norm_dims", json::Value(n.norm_dims));
  o.insert("eps", float_to_json(n.eps));
  return o;
}

template <bool Layer>
Attrs norm_from_json(Attrs, const json::Object& o, const ValueType&) {
  AttrReader r(o, Layer ? "layer_norm" : "rms_norm");
  NormAttrs n;
  n.norm_dims = r.i32("norm_dims");
  n.eps = r.f32("eps");
  r.done();
  return Attrs(n);
}

template <bool Layer>
OpDef make_norm() {
  OpDef d{};
  d.kind = Layer ? OpKind::layer_norm : OpKind::rms_norm;
  d.attrs_index = attrs_index_of<NormAttrs>();
  d.family = Layer ? "layer_norm" : "rms_norm";
  d.in_place = true;
  d.min_inputs = 1;
  d.max_inputs = Layer ? 3 : 2;
  d.op_name = [](const Attrs&) { return std::string(Layer ? "layer_norm" : "rms_norm"); };
  d.attrs_for_name = [](std::string_view n) -> std::optional<Attrs> {
    if (n == (Layer ? "layer_norm" : "rms_norm")) return Attrs(NormAttrs{});
    return std::nullopt;
  };
  d.infer = [](const Attrs& a, std::span<const ValueType> in) {
    return infer_norm(Layer ? "layer_norm" : "rms_norm", get<NormAttrs>(a), in);
  };
  d.attrs_to_json = norm_to_json;
  d.attrs_from_json = norm_from_json<Layer>;
  d.kernel = [](const Attrs& a, std::span<const Tensor> in, const Tensor& out) {
    const NormAttrs& n = get<NormAttrs>(a);
    auto opt = [&](size_t i) { return in.size() > i ? std::optional<Tensor>(in[i]) : std::nullopt; };
    if constexpr (Layer)
      kernels::layer_norm_into(in[0], opt(1), opt(2), n.norm_dims, n.eps, out);
    else
      kernels::rms_norm_into(in[0], opt(1), n.norm_dims, n.eps, out);
  };
  return d;
}

}  // namespace

const OpDef& reduce_op() {
  static const OpDef d = make_reduce();
  return d;
}
const OpDef& softmax_op() {
  static const OpDef d = make_softmax();
  return d;
}
const OpDef& layer_norm_op() {
  static const OpDef d = make_norm<true>();
  return d;
}
const OpDef& rms_norm_op() {
  static const OpDef d = make_norm<false>();
  return d;
}

}  // namespace tl::ir

namespace tl {
bool NormAttrs::operator==(const NormAttrs& o) const {
  return norm_dims == o.norm_dims && std::bit_cast<uint32_t>(eps) == std::bit_cast<uint32_t>(o.eps);
}
}  // namespace tl
