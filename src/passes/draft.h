// The editable form passes work on: the graph's nodes in order, value infos by id (new values are appended),
// outputs. Passes edit nodes freely (drop, rewrite, insert) and from_draft() renumbers the values in node
// order, keeping their names, and drops values no node defines.
#pragma once
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "tl/graph.h"

namespace tl::passes_detail {

struct Draft {
  std::string name;
  std::vector<ValueInfo> infos;  // by value id
  std::vector<Node> nodes;       // in execution order
  std::vector<GraphOutput> outputs;

  // A fresh value named after `base` ("base.c0", "base.c1", ...) that clashes with no existing name.
  Value new_value(const std::string& base, ValueType type);
  const ValueType& type(Value v) const { return infos.at(size_t(v.id)).type; }
  // Rewrites every node input through `repl` (followed transitively); graph outputs are left alone.
  void replace_uses(const std::unordered_map<int32_t, int32_t>& repl);
  // Removes the nodes whose index is marked in `dead` (same length as nodes), keeping the others' order.
  void drop_nodes(const std::vector<bool>& dead);

 private:
  std::unordered_set<std::string> names_;
  int64_t next_suffix_ = 0;
};

Draft to_draft(const Graph& g);
Graph from_draft(const Draft& d);

// Per value id: how many times it is used (node inputs plus graph outputs).
std::vector<int> use_counts(const Draft& d);
// Per value id: whether it is a graph output.
std::vector<bool> output_mask(const Draft& d);
// Per value id: the index into d.nodes of its defining node, or -1.
std::vector<int> producers(const Draft& d);

}  // namespace tl::passes_detail
