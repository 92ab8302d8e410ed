// Layout families. reshape, transpose and slice are views (the executor copies nothing when the layout
// allows); concat, gather and repeat copy into their output.
#include "ir/op_util.h"
#include "tl/kernels.h"

namespace tl::ir {

namespace {

// A family with one name and no sub-op.
template <class A>
std::optional<Attrs> named(std::string_view n, const char* name) {
  if (n == name) return Attrs(A{});
  return std::nullopt;
}

// NumPy slice length on a dim of size n (start/stop clamped as Tensor::slice does).
int64_t slice_len(int64_t n, int64_t start, int64_t stop, int64_t step) {
  auto clamp = [&](int64_t v) {
    if (v < 0) v += n;
    return v < 0 ? 0 : (v > n ? n : v);
  };
  int64_t b = clamp(start), e = clamp(stop);
  return e > b ? (e - b + step - 1) / step : 0;
}

OpDef make_reshape() {
  OpDef d{};
  d.kind = OpKind::reshape;
  d.attrs_index = attrs_index_of<ReshapeAttrs>();
  d.family = "reshape";
  d.min_inputs = d.max_inputs = 1;
  d.op_name = [](const Attrs&) { return std::string("reshape"); };
  d.attrs_for_name = [](std::string_view n) { return named<ReshapeAttrs>(n, "reshape"); };
  d.infer = [](const Attrs& a, std::span<const ValueType> in) {
    const Shape& s = get<ReshapeAttrs>(a).shape;
    for (int64_t dim : s)
      if (dim < 0) TL_THROW(ValueError, "[reshape] target shape ", shape_str(s), " has a negative dim");
    if (shape_numel(s) != shape_numel(in[0].shape))
      TL_THROW(ShapeError, "[reshape] cannot reshape input 0 of shape ", shape_str(in[0].shape), " (",
               shape_numel(in[0].shape), " elements) to ", shape_str(s), " (", shape_numel(s), " elements)");
    return ValueType{in[0].dtype, s};
  };
  d.attrs_to_json = [](const Attrs& a) {
    json::Object o;
    o.insert("shape", int_list_to_json(get<ReshapeAttrs>(a).shape));
    return o;
  };
  d.attrs_from_json = [](Attrs, const json::Object& o, const ValueType&) {
    AttrReader r(o, "reshape");
    ReshapeAttrs ra{r.i64_list("shape")};
    r.done();
    return Attrs(ra);
  };
  d.view = [](const Attrs& a, const Tensor& in) {
    if (in.is_contiguous() || in.numel() == 0) return in.reshape(get<ReshapeAttrs>(a).shape);
    // Not viewable (e.g. heads merged back after attention): a copy, made by the threaded copy kernel
    // rather than Tensor::reshape's single-threaded one.
    Tensor c = Tensor::empty(in.shape(), in.dtype());
    kernels::copy_into(in, c);
    return c.reshape(get<ReshapeAttrs>(a).shape);
  };
  return d;
}

OpDef make_transpose() {
  OpDef d{};
  d.kind = OpKind::transpose;
  d.attrs_index = attrs_index_of<TransposeAttrs>();
  d.family = "transpose";
  d.min_inputs = d.max_inputs = 1;
  d.op_name = [](const Attrs&) { return std::string("transpose"); };
  d.attrs_for_name = [](std::string_view n) { return named<TransposeAttrs>(n, "transpose"); };
  d.infer = [](const Attrs& a, std::span<const ValueType> in) {
    const std::vector<int>& perm = get<TransposeAttrs>(a).perm;
    int rank = int(in[0].shape.size());
    if (int(perm.size()) != rank)
      TL_THROW(ValueError, "[transpose] perm has ", perm.size(), " entries, expected ", rank, " (the rank of input 0 ",
               shape_str(in[0].shape), ")");
    std::vector<bool> seen(size_t(rank), false);
    Shape out;
    for (int p : perm) {
      int n = norm_axis(p, rank, "transpose", "perm entry");
      if (seen[size_t(n)]) TL_THROW(ValueError, "[transpose] perm lists dim ", n, " twice");
      seen[size_t(n)] = true;
      out.push_back(in[0].shape[size_t(n)]);
    }
    return ValueType{in[0].dtype, out};
  };
  d.attrs_to_json = [](const Attrs& a) {
    json::Object o;
    o.insert("perm", int_list_to_json(get<TransposeAttrs>(a).perm));
    return o;
  };
  d.attrs_from_json = [](Attrs, const json::Object& o, const ValueType&) {
    AttrReader r(o, "transpose");
    TransposeAttrs t{r.int_list("perm")};
    r.done();
    return Attrs(t);
  };
  d.view = [](const Attrs& a, const Tensor& in) { return in.permute(get<TransposeAttrs>(a).perm); };
  return d;
}

OpDef make_concat() {
  OpDef d{};
  d.kind = OpKind::concat;
  d.attrs_index = attrs_index_of<ConcatAttrs>();
  d.family = "concat";
  d.min_inputs = 1;
  d.max_inputs = -1;
  d.op_name = [](const Attrs&) { return std::string("concat"); };
  d.attrs_for_name = [](std::string_view n) { return named<ConcatAttrs>(n, "concat"); };
  d.infer = [](const Attrs& a, std::span<const ValueType> in) {
    int rank = int(in[0].shape.size());
    int axis = norm_axis(get<ConcatAttrs>(a).axis, rank, "concat");
    Shape out = in[0].shape;
    for (size_t i = 1; i < in.size(); ++i) {
      if (in[i].dtype != in[0].dtype)
        TL_THROW(ValueError, "[concat] input ", i, " has dtype ", dtype_name(in[i].dtype), ", expected ",
                 dtype_name(in[0].dtype), " (the dtype of input 0)");
      bool ok = int(in[i].shape.size()) == rank;
      for (int k = 0; ok && k < rank; ++k)
        if (k != axis && in[i].shape[size_t(k)] != out[size_t(k)]) ok = false;
      if (!ok)
        TL_THROW(ShapeError, "[concat] input ", i, " has shape ", shape_str(in[i].shape), ", expected ", rank,
                 " dims matching input 0's ", shape_str(in[0].shape), " except on axis ", axis);
      out[size_t(axis)] += in[i].shape[size_t(axis)];
    }
    return ValueType{in[0].dtype, out};
  };
  d.attrs_to_json = [](const Attrs& a) {
    json::Object o;
    o.insert("axis", json::Value(get<ConcatAttrs>(a).axis));
    return o;
  };
  d.attrs_from_json = [](Attrs, const json::Object& o, const ValueType&) {
    AttrReader r(o, "concat");
    ConcatAttrs c{r.i32("axis")};
    r.done();
    return Attrs(c);
  };
  d.kernel = [](const Attrs& a, std::span<const Tensor> in, const Tensor& out) {
    kernels::concat_into(std::vector<Tensor>(in.begin(), in.end()), norm_axis(get<ConcatAttrs>(a).axis, out.rank(), "concat"), out);
  };
  return d;
}

OpDef make_slice() {
  OpDef d{};
  d.kind = OpKind::slice;
  d.attrs_index = attrs_index_of<SliceAttrs>();
  d.family = "slice";
  d.min_inputs = d.max_inputs = 1;
  d.op_name = [](const Attrs&) { return std::string("slice"); };
  d.attrs_for_name = [](std::string_view n) { return named<SliceAttrs>(n, "slice"); };
  d.infer = [](const Attrs& a, std::span<const ValueType> in) {
    const SliceAttrs& s = get<SliceAttrs>(a);
    int axis = norm_axis(s.axis, int(in[0].shape.size()), "slice");
    if (s.step < 1) TL_THROW(ValueError, "[slice] step ", s.step, " must be >= 1");
    Shape out = in[0].shape;
    out[size_t(axis)] = slice_len(out[size_t(axis)], s.start, s.stop, s.step);
    return ValueType{in[0].dtype, out};
  };
  d.attrs_to_json = [](const Attrs& a) {
    const SliceAttrs& s = get<SliceAttrs>(a);
    json::Object o;
    o.insert("axis", json::Value(s.axis));
    o.insert("start", json::Value(s.start));
    o.insert("stop", json::Value(s.stop));
    o.insert("step", json::Value(s.step));
    return o;
  };
  d.attrs_from_json = [](Attrs, const json::Object& o, const ValueType&) {
    AttrReader r(o, "slice");
    SliceAttrs s;
    s.axis = r.i32("axis");
    s.start = r.i64("start");
    s.stop = r.i64("stop");
    s.step = r.i64("step");
    r.done();
    return Attrs(s);
  };
  d.view = [](const Attrs& a, const Tensor& in) {
    const SliceAttrs& s = get<SliceAttrs>(a);
    return in.slice(s.axis, s.start, s.stop, s.step);
  };
  return d;
}

OpDef make_gather() {
  OpDef d{};
  d.kind = OpKind::gather;
  d.attrs_index = attrs_index_of<GatherAttrs>();
  d.family = "gather";
  d.min_inputs = d.max_inputs = 2;
  d.op_name = [](const Attrs&) { return std::string("gather"); };
  d.attrs_for_name = [](std::string_view n) { return named<GatherAttrs>(n, "gather"); };
  d.infer = [](const Attrs& a, std::span<const ValueType> in) {
    int axis = norm_axis(get<GatherAttrs>(a).axis, int(in[0].shape.size()), "gather");
    if (in[1].dtype != DType::i32 && in[1].dtype != DType::i64)
      TL_THROW(ValueError, "[gather] input 1 (indices) has dtype ", dtype_name(in[1].dtype), ", expected i32 or i64");
    const Shape& x = in[0].shape;
    Shape out(x.begin(), x.begin() + axis);
    out.insert(out.end(), in[1].shape.begin(), in[1].shape.end());
    out.insert(out.end(), x.begin() + axis + 1, x.end());
    return ValueType{in[0].dtype, out};
  };
  d.attrs_to_json = [](const Attrs& a) {
    json::Object o;
    o.insert("axis", json::Value(get<GatherAttrs>(a).axis));
    return o;
  };
  d.attrs_from_json = [](Attrs, const json::Object& o, const ValueType&) {
    AttrReader r(o, "gather");
    GatherAttrs g{r.i32("axis")};
    r.done();
    return Attrs(g);
  };
  d.kernel = [](const Attrs& a, std::span<const Tensor> in, const Tensor& out) {
    kernels::gather_into(in[0], in[1], norm_axis(get<GatherAttrs>(a).axis, in[0].rank(), "gather"), out);
  };
  return d;
}

OpDef make_repeat() {
  OpDef d{};
  d.kind = OpKind::repeat;
  d.attrs_index = attrs_index_of<RepeatAttrs>();
  d.family = "repeat";
  d.min_inputs = d.max_inputs = 1;
  d.op_name = [](const Attrs&) { return std::string("repeat"); };
  d.attrs_for_name = [](std::string_view n) { return named<RepeatAttrs>(n, "repeat"); };
  d.infer = [](const Attrs& a, std::span<const ValueType> in) {
    const RepeatAttrs& r = get<RepeatAttrs>(a);
    int axis = norm_axis(r.axis, int(in[0].shape.size()), "repeat");
    if (r.repeats < 0) TL_THROW(ValueError, "[repeat] repeats ", r.repeats, " must be >= 0");
    Shape out = in[0].shape;
    out[size_t(axis)] *= r.repeats;
    shape_numel(out);  // overflow check
    return ValueType{in[0].dtype, out};
  };
  d.attrs_to_json = [](const Attrs& a) {
    const RepeatAttrs& r = get<RepeatAttrs>(a);
    json::Object o;
    o.insert("repeats", json::Value(r.repeats));
    o.insert("axis", json::Value(r.axis));
    return o;
  };
  d.attrs_from_json = [](Attrs, const json::Object& o, const ValueType&) {
    AttrReader r(o, "repeat");
    RepeatAttrs ra;
    ra.repeats = r.i64("repeats");
    ra.axis = r.i32("axis");
    r.done();
    return Attrs(ra);
  };
  d.kernel = [](const Attrs& a, std::span<const Tensor> in, const Tensor& out) {
    const RepeatAttrs& r = get<RepeatAttrs>(a);
    kernels::repeat_into(in[0], r.repeats, norm_axis(r.axis, in[0].rank(), "repeat"), out);
  };
  return d;
}

}  // namespace

const OpDef& reshape_op() {
  static const OpDef d = make_reshape();
  return d;
}
const OpDef& transpose_op() {
  static const OpDef d = make_transpose();
  return d;
}
const OpDef& concat_op() {
  static const OpDef d = make_concat();
  return d;
}
const OpDef& slice_op() {
  static const OpDef d = make_slice();
  return d;
}
const OpDef& gather_op() {
  static const OpDef d = make_gather();
  return d;
}
const OpDef& repeat_op() {
  static const OpDef d = make_repeat();
  return d;
}

}  // namespace tl::ir
