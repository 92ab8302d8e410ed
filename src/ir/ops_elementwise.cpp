// Elementwise families: unary (relu, exp, ...), binary with broadcasting (add, max, lt, ...), where, cast.
// dtype rules come from tl::kernels so the IR and the kernels never disagree.
#include "ir/op_util.h"
#include "tl/kernels.h"

namespace tl::ir {

namespace {

// Broadcast shape of inputs i and j, with a message naming the op and both inputs.
Shape broadcast_pair(const Shape& a, const Shape& b, const char* op, size_t i, size_t j) {
  try {
    return broadcast_shapes(a, b, op);
  } catch (const ShapeError&) {
    TL_THROW(ShapeError, "[", op, "] inputs ", i, " and ", j, " do not broadcast: ", shape_str(a), " vs ",
             shape_str(b));
  }
}

// Runs a kernels:: dtype rule, re-throwing its complaint with the op name.
template <class F>
DType dtype_rule(const std::string& op, F&& f) {
  try {
    return f();
  } catch (const Error& e) {
    TL_THROW(ValueError, "[", op, "] unsupported input dtype: ", e.what());
  }
}

OpDef make_unary() {
  OpDef d{};
  d.kind = OpKind::unary;
  d.attrs_index = attrs_index_of<UnaryAttrs>();
  d.family = "unary";
  d.in_place = true;
  d.min_inputs = d.max_inputs = 1;
  d.op_name = [](const Attrs& a) { return std::string(tl::op_name(get<UnaryAttrs>(a).op)); };
  d.attrs_for_name = [](std::string_view n) -> std::optional<Attrs> {
    if (auto op = unary_op_from_name(n)) return Attrs(UnaryAttrs{*op});
    return std::nullopt;
  };
  d.infer = [](const Attrs& a, std::span<const ValueType> in) {
    UnaryOp op = get<UnaryAttrs>(a).op;
    DType dt = dtype_rule(std::string(tl::op_name(op)), [&] { return kernels::unary_dtype(op, in[0].dtype); });
    return ValueType{dt, in[0].shape};
  };
  d.attrs_to_json = [](const Attrs&) { return json::Object(); };
  d.attrs_from_json = [](Attrs base, const json::Object& o, const ValueType&) {
    AttrReader(o, std::string(tl::op_name(get<UnaryAttrs>(base).op)).c_str()).done();
    return base;
  };
  d.kernel = [](const Attrs& a, std::span<const Tensor> in, const Tensor& out) {
    kernels::unary_into(get<UnaryAttrs>(a).op, in[0], out);
  };
  return d;
}

OpDef make_binary() {
  OpDef d{};
  d.kind = OpKind::binary;
  d.attrs_index = attrs_index_of<BinaryAttrs>();
  d.family = "binary";
  d.in_place = true;
  d.min_inputs = d.max_inputs = 2;
  d.op_name = [](const Attrs& a) { return std::string(tl::op_name(get<BinaryAttrs>(a).op)); };
  d.attrs_for_name = [](std::string_view n) -> std::optional<Attrs> {
    if (auto op = binary_op_from_name(n)) return Attrs(BinaryAttrs{*op});
    return std::nullopt;
  };
  d.infer = [](const Attrs& a, std::span<const ValueType> in) {
    BinaryOp op = get<BinaryAttrs>(a).op;
    std::string name(tl::op_name(op));
    Shape s = broadcast_pair(in[0].shape, in[1].shape, name.c_str(), 0, 1);
    DType dt = dtype_rule(name, [&] { return kernels::binary_dtype(op, in[0].dtype, in[1].dtype); });
    return ValueType{dt, s};
  };
  d.attrs_to_json = [](const Attrs&) { return json::Object(); };
  d.attrs_from_json = [](Attrs base, const json::Object& o, const ValueType&) {
    AttrReader(o, std::string(tl::op_name(get<BinaryAttrs>(base).op)).c_str()).done();
    return base;
  };
  d.kernel = [](const Attrs& a, std::span<const Tensor> in, const Tensor& out) {
    kernels::binary_into(get<BinaryAttrs>(a).op, in[0], in[1], out);
  };
  return d;
}

OpDef make_where() {
  OpDef d{};
  d.kind = OpKind::where;
  d.attrs_index = attrs_index_of<WhereAttrs>();
  d.family = "where";
  d.min_inputs = d.max_inputs = 3;
  d.op_name = [](const Attrs&) { return std::string("where"); };
  d.attrs_for_name = [](std::string_view n) -> std::optional<Attrs> {
    if (n == "where") return Attrs(WhereAttrs{});
    return std::nullopt;
  };
  d.infer = [](const Attrs&, std::span<const ValueType> in) {
    // cond may be bool or numeric (nonzero = true); the branch dtypes combine as kernels::where_dtype says.
    Shape s = broadcast_pair(in[0].shape, in[1].shape, "where", 0, 1);
    s = broadcast_pair(s, in[2].shape, "where", 1, 2);
    DType dt = dtype_rule("where", [&] { return kernels::where_dtype(in[1].dtype, in[2].dtype); });
    return ValueType{dt, s};
  };
  d.attrs_to_json = [](const Attrs&) { return json::Object(); };
  d.attrs_from_json = [](Attrs base, const json::Object& o, const ValueType&) {
    AttrReader(o, "where").done();
    return base;
  };
  d.kernel = [](const Attrs&, std::span<const Tensor> in, const Tensor& out) {
    kernels::where_into(in[0], in[1], in[2], out);
  };
  return d;
}

OpDef make_cast() {
  OpDef d{};
  d.kind = OpKind::cast;
  d.attrs_index = attrs_index_of<CastAttrs>();
  d.family = "cast";
  d.min_inputs = d.max_inputs = 1;
  d.op_name = [](const Attrs&) { return std::string("cast"); };
  d.attrs_for_name = [](std::string_view n) -> std::optional<Attrs> {
    if (n == "cast") return Attrs(CastAttrs{DType::f32});
    return std::nullopt;
  };
  d.infer = [](const Attrs& a, std::span<const ValueType> in) { return ValueType{get<CastAttrs>(a).to, in[0].shape}; };
  d.attrs_to_json = [](const Attrs& a) {
    json::Object o;
    o.insert("to", json::Value(dtype_name(get<CastAttrs>(a).to)));
    return o;
  };
  d.attrs_from_json = [](Attrs, const json::Object& o, const ValueType&) {
    AttrReader r(o, "cast");
    const std::string& s = r.str("to");
    DType to;
    try {
      to = dtype_from_name(s);
    } catch (const Error&) {
      TL_THROW(ValueError, "[cast] attribute 'to' = \"", s, "\" is not a dtype (f32, f16, bf16, i32, i64, bool)");
    }
    r.done();
    return Attrs(CastAttrs{to});
  };
  d.kernel = [](const Attrs&, std::span<const Tensor> in, const Tensor& out) { kernels::copy_into(in[0], out); };
  return d;
}

}  // namespace

const OpDef& unary_op() {
  static const OpDef d = make_unary();
  return d;
}
const OpDef& binary_op() {
  static const OpDef d = make_binary();
  return d;
}
const OpDef& where_op() {
  static const OpDef d = make_where();
  return d;
}
const OpDef& cast_op() {
  static const OpDef d = make_cast();
  return d;
}

}  // namespace tl::ir
