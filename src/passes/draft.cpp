#include "draft.h"

#include "tl/error.h"

namespace tl::passes_detail {

Value Draft::new_value(const std::string& base, ValueType type) {
  if (names_.empty())
    for (const ValueInfo& v : infos) names_.insert(v.name);
  std::string name;
  do {
    name = base + ".c" + std::to_string(next_suffix_++);
  } while (names_.count(name));
  names_.insert(name);
  infos.push_back(ValueInfo{name, std::move(type)});
  return Value{int32_t(infos.size() - 1)};
}

void Draft::replace_uses(const std::unordered_map<int32_t, int32_t>& repl) {
  if (repl.empty()) return;
  auto resolve = [&](int32_t id) {
    for (size_t guard = 0; guard <= repl.size(); ++guard) {
      auto it = repl.find(id);
      if (it == repl.end()) return id;
      id = it->second;
    }
    TL_THROW(InternalError, "[passes] replacement cycle at value ", id);
  };
  for (Node& n : nodes)
    for (Value& v : n.inputs) v.id = resolve(v.id);
}

void Draft::drop_nodes(const std::vector<bool>& dead) {
  std::vector<Node> kept;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (!dead[i]) kept.push_back(std::move(nodes[i]));
  nodes = std::move(kept);
}

Draft to_draft(const Graph& g) {
  // Passes index by value id without further checks: refuse handles outside the graph up front.
  const size_t nv = g.values().size();
  auto bad = [&](Value v) { return v.id < 0 || size_t(v.id) >= nv; };
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const Node& n = g.nodes()[i];
    for (size_t k = 0; k < n.inputs.size(); ++k)
      if (bad(n.inputs[k]))
        TL_THROW(ValueError, "[passes] graph '", g.name(), "': node ", i, " input ", k, " refers to value id ",
                 n.inputs[k].id, ", expected an id below ", nv, " (verify() the graph before running passes)");
    if (bad(n.output))
      TL_THROW(ValueError, "[passes] graph '", g.name(), "': node ", i, " output refers to value id ", n.output.id,
               ", expected an id below ", nv, " (verify() the graph before running passes)");
  }
  for (const GraphOutput& o : g.outputs())
    if (bad(o.value))
      TL_THROW(ValueError, "[passes] graph '", g.name(), "': output '", o.name, "' refers to value id ", o.value.id,
               ", expected an id below ", nv, " (verify() the graph before running passes)");
  Draft d;
  d.name = g.name();
  d.infos = g.values();
  d.nodes = g.nodes();
  d.outputs = g.outputs();
  return d;
}

Graph from_draft(const Draft& d) {
  Graph g(d.name);
  std::vector<int32_t> remap(d.infos.size(), -1);
  for (const Node& n : d.nodes) {
    Node m = n;
    for (Value& v : m.inputs) {
      TL_CHECK(v.id >= 0 && size_t(v.id) < remap.size() && remap[size_t(v.id)] >= 0,
               "[passes] node input used before it is defined");
      v.id = remap[size_t(v.id)];
    }
    const ValueInfo& info = d.infos.at(size_t(n.output.id));
    m.output = g.add_value(info.name, info.type);
    remap[size_t(n.output.id)] = m.output.id;
    g.add_node(std::move(m));
  }
  for (const GraphOutput& o : d.outputs) {
    TL_CHECK(o.value.id >= 0 && size_t(o.value.id) < remap.size() && remap[size_t(o.value.id)] >= 0,
             "[passes] graph output ", o.name, " lost its defining node");
    g.add_output(GraphOutput{Value{remap[size_t(o.value.id)]}, o.name});
  }
  return g;
}

std::vector<int> use_counts(const Draft& d) {
  std::vector<int> uses(d.infos.size(), 0);
  for (const Node& n : d.nodes)
    for (Value v : n.inputs) ++uses.at(size_t(v.id));
  for (const GraphOutput& o : d.outputs) ++uses.at(size_t(o.value.id));
  return uses;
}

std::vector<bool> output_mask(const Draft& d) {
  std::vector<bool> out(d.infos.size(), false);
  for (const GraphOutput& o : d.outputs) out.at(size_t(o.value.id)) = true;
  return out;
}

std::vector<int> producers(const Draft& d) {
  std::vector<int> p(d.infos.size(), -1);
  for (size_t i = 0; i < d.nodes.size(); ++i) p.at(size_t(d.nodes[i].output.id)) = int(i);
  return p;
}

}  // namespace tl::passes_detail
