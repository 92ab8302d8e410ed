// JSON form of a graph:
//   {"graph": "demo",
//    "values": [{"name": "x", "dtype": "f32", "shape": [2, 3]}, ...],      // in value-id order
//    "nodes": [{"op": "einsum", "inputs": ["x", "w"], "outputs": ["y"], "attrs": {"spec": "ij,jk->ik"}}, ...],
//    "inputs": ["x"], "params": ["w"],                                       // redundant with nodes; checked
//    "outputs": [{"value": "y", "name": "y"}]}
// Op names and attributes are the same as in the text form. Like the text parser, the result is not verified.
#include <unordered_map>

#include "tl/graph.h"
#include "tl/ops.h"

namespace tl {

std::string to_json(const Graph& g) {
  json::Object root;
  root.insert("graph", json::Value(g.name()));
  json::Array values;
  for (const ValueInfo& v : g.values()) {
    json::Object o;
    o.insert("name", json::Value(v.name));
    o.insert("dtype", json::Value(dtype_name(v.type.dtype)));
    json::Array shape;
    for (int64_t d : v.type.shape) shape.push_back(json::Value(d));
    o.insert("shape", json::Value(std::move(shape)));
    values.push_back(json::Value(std::move(o)));
  }
  root.insert("values", json::Value(std::move(values)));
  auto vn = [&](Value v) { return json::Value(g.info(v).name); };
  json::Array nodes;
  json::Array inputs, params;
  for (const Node& n : g.nodes()) {
    const OpDef& d = op_def(n.kind);
    json::Object o;
    o.insert("op", json::Value(d.op_name(n.attrs)));
    json::Array ins;
    for (Value v : n.inputs) ins.push_back(vn(v));
    o.insert("inputs", json::Value(std::move(ins)));
    o.insert("outputs", json::Value(json::Array{vn(n.output)}));
    o.insert("attrs", json::Value(d.attrs_to_json(n.attrs)));
    nodes.push_back(json::Value(std::move(o)));
    if (n.kind == OpKind::input) inputs.push_back(vn(n.output));
    if (n.kind == OpKind::param) params.push_back(vn(n.output));
  }
  root.insert("nodes", json::Value(std::move(nodes)));
  root.insert("inputs", json::Value(std::move(inputs)));
  root.insert("params", json::Value(std::move(params)));
  json::Array outs;
  for (const GraphOutput& o : g.outputs()) {
    json::Object jo;
    jo.insert("value", vn(o.value));
    jo.insert("name", json::Value(o.name));
    outs.push_back(json::Value(std::move(jo)));
  }
  root.insert("outputs", json::Value(std::move(outs)));
  return json::dump(json::Value(std::move(root)), 1) + "\n";
}

namespace {

// Errors in the graph structure name the JSON path, e.g. "g.json: nodes[3].inputs[1]: ...".
class JsonGraphReader {
 public:
  explicit JsonGraphReader(const std::string& src) : src_(src) {}

  template <class... A>
  [[noreturn]] void fail(const std::string& path, const A&... a) const {
    TL_THROW(ParseError, src_, ": ", path, ": ", a...);
  }
  const json::Value& member(const json::Value& obj, const char* key, const std::string& path, json::Type want) {
    const json::Value* v = obj.find(key);
    if (!v) fail(path, "missing key \"", key, "\"");
    if (v->type() != want) fail(path + "." + key, "expected ", json::type_name(want), ", got ", json::type_name(v->type()));
    return *v;
  }
  void only_keys(const json::Value& obj, std::initializer_list<const char*> keys, const std::string& path) {
    for (const json::Member& m : obj.as_object()) {
      bool ok = false;
      for (const char* k : keys) ok = ok || m.key == k;
      if (!ok) fail(path, "unknown key \"", m.key, "\"");
    }
  }
  Value ref(const json::Value& v, const std::string& path) {
    if (!v.is_string()) fail(path, "expected a value name (string), got ", json::type_name(v.type()));
    auto it = ids_.find(v.as_string());
    if (it == ids_.end()) fail(path, "\"", v.as_string(), "\" is not in \"values\"");
    return it->second;
  }

  Graph read(const json::Value& root) {
    if (!root.is_object()) fail("(root)", "expected an object, got ", json::type_name(root.type()));
    only_keys(root, {"graph", "values", "nodes", "inputs", "params", "outputs"}, "(root)");
    Graph g(member(root, "graph", "(root)", json::Type::string).as_string());
    const json::Array& values = member(root, "values", "(root)", json::Type::array).as_array();
    for (size_t i = 0; i < values.size(); ++i) {
      std::string path = detail::cat("values[", i, "]");
      const json::Value& v = values[i];
      if (!v.is_object()) fail(path, "expected an object");
      only_keys(v, {"name", "dtype", "shape"}, path);
      const std::string& name = member(v, "name", path, json::Type::string).as_string();
      ValueType t;
      const std::string& dt = member(v, "dtype", path, json::Type::string).as_string();
      try {
        t.dtype = dtype_from_name(dt);
      } catch (const Error&) {
        fail(path + ".dtype", "unknown dtype \"", dt, "\"");
      }
      for (const json::Value& d : member(v, "shape", path, json::Type::array).as_array()) {
        if (!d.is_int() || d.as_int() < 0) fail(path + ".shape", "dims must be non-negative integers");
        t.shape.push_back(d.as_int());
      }
      if (!ids_.emplace(name, g.add_value(name, t)).second) fail(path, "value name \"", name, "\" appears twice");
    }
    const json::Array& nodes = member(root, "nodes", "(root)", json::Type::array).as_array();
    std::vector<std::string> inputs, params;
    for (size_t i = 0; i < nodes.size(); ++i) {
      std::string path = detail::cat("nodes[", i, "]");
      const json::Value& n = nodes[i];
      if (!n.is_object()) fail(path, "expected an object");
      only_keys(n, {"op", "inputs", "outputs", "attrs"}, path);
      const std::string& op = member(n, "op", path, json::Type::string).as_string();
      auto found = op_by_name(op);
      if (!found) fail(path + ".op", "unknown op \"", op, "\"");
      auto [def, attrs] = std::move(*found);
      std::vector<Value> ins;
      const json::Array& ji = member(n, "inputs", path, json::Type::array).as_array();
      for (size_t k = 0; k < ji.size(); ++k) ins.push_back(ref(ji[k], detail::cat(path, ".inputs[", k, "]")));
      const json::Array& jo = member(n, "outputs", path, json::Type::array).as_array();
      if (jo.size() != 1) fail(path + ".outputs", "expected exactly 1 output, got ", jo.size());
      Value out = ref(jo[0], path + ".outputs[0]");
      const json::Value* ja = n.find("attrs");
      json::Object empty;
      if (ja && !ja->is_object()) fail(path + ".attrs", "expected an object, got ", json::type_name(ja->type()));
      try {
        attrs = def->attrs_from_json(std::move(attrs), ja ? ja->as_object() : empty, g.type(out));
      } catch (const Error& e) {  // ValueError naming the attribute (or ShapeError from a bad declared type)
        fail(path + ".attrs", e.what());
      }
      if (def->kind == OpKind::input) inputs.push_back(g.info(out).name);
      if (def->kind == OpKind::param) params.push_back(g.info(out).name);
      g.add_node(Node{def->kind, std::move(attrs), std::move(ins), out});
    }
    // "inputs"/"params" are optional summaries; when present they must match the nodes.
    auto check_list = [&](const char* key, const std::vector<std::string>& want) {
      const json::Value* v = root.find(key);
      if (!v) return;
      if (!v->is_array()) fail(key, "expected an array");
      std::vector<std::string> got;
      for (const json::Value& e : v->as_array()) {
        if (!e.is_string()) fail(key, "expected value names");
        got.push_back(e.as_string());
      }
      if (got != want) fail(key, "does not match the ", key, " declared by the nodes");
    };
    check_list("inputs", inputs);
    check_list("params", params);
    const json::Array& outs = member(root, "outputs", "(root)", json::Type::array).as_array();
    for (size_t i = 0; i < outs.size(); ++i) {
      std::string path = detail::cat("outputs[", i, "]");
      if (!outs[i].is_object()) fail(path, "expected an object");
      only_keys(outs[i], {"value", "name"}, path);
      Value v = ref(member(outs[i], "value", path, json::Type::string), path + ".value");
      g.add_output(GraphOutput{v, member(outs[i], "name", path, json::Type::string).as_string()});
    }
    return g;
  }

 private:
  std::string src_;
  std::unordered_map<std::string, Value> ids_;
};

}  // namespace

Graph parse_graph_json(std::string_view text, const std::string& name) {
  json::Value root;
  try {
    root = json::parse(text);
  } catch (const ParseError& e) {
    TL_THROW(ParseError, name, ": ", e.what());
  }
  return JsonGraphReader(name).read(root);
}

}  // namespace tl
