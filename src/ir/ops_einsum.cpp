// einsum: any number of operands, NumPy semantics; shape and dtype rules come from tl/einsum.h.
#include "ir/op_util.h"
#include "tl/einsum.h"

namespace tl::ir {

namespace {

OpDef make_einsum() {
  OpDef d{};
  d.kind = OpKind::einsum;
  d.attrs_index = attrs_index_of<EinsumAttrs>();
  d.family = "einsum";
  d.min_inputs = 1;
  d.max_inputs = -1;
  d.op_name = [](const Attrs&) { return std::string("einsum"); };
  d.attrs_for_name = [](std::string_view n) -> std::optional<Attrs> {
    if (n == "einsum") return Attrs(EinsumAttrs{});
    return std::nullopt;
  };
  d.infer = [](const Attrs& a, std::span<const ValueType> in) {
    const std::string& spec = get<EinsumAttrs>(a).spec;
    std::vector<Shape> shapes;
    std::vector<DType> dtypes;
    for (const ValueType& t : in) {
      shapes.push_back(t.shape);
      dtypes.push_back(t.dtype);
    }
    ValueType out;
    try {
      out.shape = einsum_output_shape(spec, shapes);
      out.dtype = einsum_output_dtype(dtypes);
    } catch (const ShapeError& e) {
      std::string m = e.what();
      if (m.rfind("[einsum]", 0) == 0) throw;
      TL_THROW(ShapeError, "[einsum] \"", spec, "\": ", m);
    } catch (const ParseError& e) {
      // A malformed spec is a bad attribute of this node, not a parse error of the graph file.
      TL_THROW(ValueError, "[einsum] bad spec \"", spec, "\": ", e.what());
    }
    return out;
  };
  d.attrs_to_json = [](const Attrs& a) {
    json::Object o;
    o.insert("spec", json::Value(get<EinsumAttrs>(a).spec));
    return o;
  };
  d.attrs_from_json = [](Attrs, const json::Object& o, const ValueType&) {
    AttrReader r(o, "einsum");
    EinsumAttrs e{r.str("spec")};
    r.done();
    return Attrs(e);
  };
  d.kernel = [](const Attrs& a, std::span<const Tensor> in, const Tensor& out) {
    einsum_into(get<EinsumAttrs>(a).spec, std::vector<Tensor>(in.begin(), in.end()), out);
  };
  return d;
}

}  // namespace

const OpDef& einsum_op() {
  static const OpDef d = make_einsum();
  return d;
}

}  // namespace tl::ir
