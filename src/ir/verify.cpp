// The verifier: re-checks every node of a graph (typically one read from text or JSON) and lists all problems.
#include <functional>

#include "tl/graph.h"
#include "tl/ops.h"

namespace tl {

namespace {

std::string vname(const Graph& g, Value v) { return "%" + g.values()[size_t(v.id)].name; }

// A cycle through value `start` in the def-use relation, as "%a -> %b -> %a", or "" if there is none.
std::string find_cycle(const Graph& g, const std::vector<int>& def_node, Value start) {
  // DFS from start over "defined from" edges; a path back to start is a cycle.
  std::vector<int> state(g.values().size(), 0);  // 0 new, 1 on path, 2 done
  std::vector<Value> path;
  std::function<bool(Value)> dfs = [&](Value v) -> bool {
    int d = def_node[size_t(v.id)];
    if (d < 0) return false;
    state[size_t(v.id)] = 1;
    path.push_back(v);
    for (Value in : g.nodes()[size_t(d)].inputs) {
      if (in.id < 0 || size_t(in.id) >= state.size()) continue;
      if (in == start) return true;
      if (state[size_t(in.id)] == 0 && dfs(in)) return true;
    }
    path.pop_back();
    state[size_t(v.id)] = 2;
    return false;
  };
  if (!dfs(start)) return "";
  std::string s;
  for (Value v : path) s += vname(g, v) + " <- ";
  return s + vname(g, start);
}

}  // namespace

std::vector<std::string> verify_problems(const Graph& g) {
  std::vector<std::string> out;
  const auto& values = g.values();
  const auto& nodes = g.nodes();
  auto valid = [&](Value v) { return v.id >= 0 && size_t(v.id) < values.size(); };

  // Where each value is defined (the first definition wins; later ones are reported).
  std::vector<int> def_node(values.size(), -1);
  for (size_t i = 0; i < nodes.size(); ++i) {
    Value o = nodes[i].output;
    if (valid(o) && def_node[size_t(o.id)] < 0) def_node[size_t(o.id)] = int(i);
  }

  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    if (size_t(n.kind) >= size_t(kNumOpKinds)) {
      out.push_back(detail::cat("node ", i, ": unknown op kind ", int(n.kind)));
      continue;
    }
    const OpDef& d = op_def(n.kind);
    if (n.attrs.index() != d.attrs_index) {
      out.push_back(detail::cat("node ", i, " (", d.family, "): attributes belong to another op kind"));
      continue;
    }
    std::string where = detail::cat("node ", i, " (", d.op_name(n.attrs), ")");
    if (!valid(n.output)) {
      out.push_back(detail::cat(where, ": output value id ", n.output.id, " is not in the graph"));
      continue;
    }
    std::string oname = vname(g, n.output);
    if (def_node[size_t(n.output.id)] != int(i)) {
      int first = def_node[size_t(n.output.id)];
      out.push_back(detail::cat(where, ": value ", oname, " is defined twice (first by node ", first, " (",
                                node_op_name(nodes[size_t(first)]), "))"));
      continue;
    }
    int ni = int(n.inputs.size());
    if (ni < d.min_inputs || (d.max_inputs >= 0 && ni > d.max_inputs)) {
      std::string want = d.min_inputs == d.max_inputs ? std::to_string(d.min_inputs)
                         : d.max_inputs < 0           ? detail::cat("at least ", d.min_inputs)
                                                      : detail::cat(d.min_inputs, " to ", d.max_inputs);
      out.push_back(detail::cat(where, ": wrong number of inputs: expected ", want, ", got ", ni));
      continue;
    }
    bool inputs_ok = true;
    std::vector<ValueType> types;
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      Value in = n.inputs[k];
      if (!valid(in)) {
        out.push_back(detail::cat(where, ": input ", k, " (value id ", in.id, ") is not in the graph"));
        inputs_ok = false;
        continue;
      }
      int dn = def_node[size_t(in.id)];
      if (dn < 0) {
        out.push_back(detail::cat(where, ": input ", k, " ", vname(g, in), " is undefined (no node defines it)"));
        inputs_ok = false;
      } else if (dn >= int(i)) {
        std::string cyc = find_cycle(g, def_node, in);
        if (!cyc.empty())
          out.push_back(detail::cat(where, ": input ", k, " ", vname(g, in), " is part of a cycle: ", cyc));
        else
          out.push_back(detail::cat(where, ": input ", k, " ", vname(g, in), " is used before its definition at node ",
                                    dn, " (nodes must be in topological order)"));
        inputs_ok = false;
      }
      types.push_back(values[size_t(in.id)].type);
    }
    const ValueType& declared = values[size_t(n.output.id)].type;
    bool dims_ok = true;
    for (int64_t dim : declared.shape)
      if (dim < 0) dims_ok = false;
    if (!dims_ok) {
      out.push_back(detail::cat(where, ": output ", oname, " has a negative dim in ", type_str(declared)));
      continue;
    }
    if (!inputs_ok || !d.infer) continue;
    try {
      ValueType inferred = d.infer(n.attrs, types);
      if (inferred != declared)
        out.push_back(detail::cat(where, ": output ", oname, " is declared ", type_str(declared), " but inferred ",
                                  type_str(inferred)));
    } catch (const Error& e) {
      out.push_back(detail::cat(where, ": ", e.what()));
    }
  }

  if (g.outputs().empty()) out.push_back(detail::cat("graph '", g.name(), "' has no outputs"));
  for (size_t i = 0; i < g.outputs().size(); ++i) {
    const GraphOutput& o = g.outputs()[i];
    if (!valid(o.value))
      out.push_back(detail::cat("output ", i, " '", o.name, "': value id ", o.value.id, " is not in the graph"));
    else if (def_node[size_t(o.value.id)] < 0)
      out.push_back(detail::cat("output ", i, " '", o.name, "': value ", vname(g, o.value), " is undefined"));
    for (size_t j = 0; j < i; ++j)
      if (g.outputs()[j].name == o.name) out.push_back(detail::cat("output ", i, ": name '", o.name, "' is used twice"));
  }
  // Names must be unique so the text form can refer to values by name.
  for (size_t v = 0; v < values.size(); ++v)
    if (!is_valid_value_name(values[v].name))
      out.push_back(detail::cat("value ", v, ": name '", values[v].name, "' is invalid"));
  return out;
}

void verify(const Graph& g) {
  std::vector<std::string> p = verify_problems(g);
  if (p.empty()) return;
  std::string msg = detail::cat("graph '", g.name(), "' is invalid (", p.size(), " problem", p.size() == 1 ? "" : "s", "):");
  for (const std::string& s : p) msg += "\n  " + s;
  throw ValueError(msg);
}

}  // namespace tl
