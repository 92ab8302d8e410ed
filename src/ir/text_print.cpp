// Text form printer. One line per node:
//   graph demo {
//     input %x: f32[2,3]
//     %y: f32[2,4] = einsum(%x, %w) {spec="ij,jk->ik"}
//     output %y
//   }
// Attribute values are written in JSON syntax (strings quoted, floats in their shortest exact form).
#include "tl/graph.h"
#include "tl/ops.h"

namespace tl {

namespace {
// A graph or output name: bare when it is a valid value name, else a JSON string.
std::string name_token(const std::string& n) {
  if (is_valid_value_name(n)) return n;
  std::string s;
  json::dump_string(s, n);
  return s;
}
}  // namespace

std::string to_text(const Graph& g) {
  std::string out = "graph " + name_token(g.name()) + " {\n";
  auto vn = [&](Value v) {
    if (v.id < 0 || size_t(v.id) >= g.values().size()) TL_THROW(ValueError, "to_text: value id ", v.id, " is not in the graph");
    return "%" + g.values()[size_t(v.id)].name;
  };
  for (const Node& n : g.nodes()) {
    const OpDef& d = op_def(n.kind);
    const ValueType& t = g.type(n.output);
    if (n.kind == OpKind::input || n.kind == OpKind::param) {
      out += "  " + d.op_name(n.attrs) + " " + vn(n.output) + ": " + type_str(t) + "\n";
      continue;
    }
    out += "  " + vn(n.output) + ": " + type_str(t) + " = " + d.op_name(n.attrs) + "(";
    for (size_t i = 0; i < n.inputs.size(); ++i) out += (i ? ", " : "") + vn(n.inputs[i]);
    out += ")";
    json::Object attrs = d.attrs_to_json(n.attrs);
    if (!attrs.empty()) {
      out += " {";
      size_t i = 0;
      for (const json::Member& m : attrs) {
        if (i++) out += ", ";
        out += m.key + "=" + json::dump(m.value);
      }
      out += "}";
    }
    out += "\n";
  }
  for (const GraphOutput& o : g.outputs()) {
    out += "  output " + vn(o.value);
    if (o.name != g.info(o.value).name) out += " as " + name_token(o.name);
    out += "\n";
  }
  out += "}\n";
  return out;
}

}  // namespace tl
