// Graphviz export: one box per node (op, attributes, output value and type), edges labelled by value.
#include "tl/graph.h"
#include "tl/ops.h"

namespace tl {

namespace {
// Escapes for a DOT double-quoted string.
std::string dot_escape(const std::string& s) {
  std::string r;
  for (char c : s) {
    if (c == '"' || c == '\\') r += '\\';
    if (c == '\n') {
      r += "\\n";
      continue;
    }
    r += c;
  }
  return r;
}
}  // namespace

std::string to_dot(const Graph& g) {
  std::string out = "digraph \"" + dot_escape(g.name()) + "\" {\n";
  out += "  rankdir=TB;\n  node [shape=box, fontname=\"monospace\", fontsize=10];\n";
  std::vector<int> def(g.values().size(), -1);
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const Node& n = g.nodes()[i];
    if (n.output.id >= 0 && size_t(n.output.id) < def.size()) def[size_t(n.output.id)] = int(i);
  }
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const Node& n = g.nodes()[i];
    const OpDef& d = op_def(n.kind);
    const ValueInfo& vi = g.info(n.output);
    std::string label = d.op_name(n.attrs);
    std::string style;
    if (n.kind == OpKind::input || n.kind == OpKind::param) {
      style = n.kind == OpKind::input ? ", shape=ellipse, style=filled, fillcolor=\"#dbeafe\""
                                      : ", shape=ellipse, style=filled, fillcolor=\"#fef3c7\"";
    } else if (n.kind != OpKind::constant) {  // constant data would swamp the picture
      json::Object attrs = d.attrs_to_json(n.attrs);
      for (const json::Member& m : attrs) label += "\n" + m.key + "=" + json::dump(m.value);
    }
    label += "\n%" + vi.name + ": " + type_str(vi.type);
    out += "  n" + std::to_string(i) + " [label=\"" + dot_escape(label) + "\"" + style + "];\n";
    for (Value in : n.inputs) {
      if (in.id < 0 || size_t(in.id) >= def.size() || def[size_t(in.id)] < 0) continue;
      out += "  n" + std::to_string(def[size_t(in.id)]) + " -> n" + std::to_string(i) + ";\n";
    }
  }
  for (size_t i = 0; i < g.outputs().size(); ++i) {
    const GraphOutput& o = g.outputs()[i];
    out += "  out" + std::to_string(i) + " [label=\"output " + dot_escape(o.name) +
           "\", shape=ellipse, style=filled, fillcolor=\"#dcfce7\"];\n";
    if (o.value.id >= 0 && size_t(o.value.id) < def.size() && def[size_t(o.value.id)] >= 0)
      out += "  n" + std::to_string(def[size_t(o.value.id)]) + " -> out" + std::to_string(i) + ";\n";
  }
  out += "}\n";
  return out;
}

}  // namespace tl
