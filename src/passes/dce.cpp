// Dead-code elimination: keep what reaches a graph output, plus every input and param node (they are the
// graph's interface even when unused).
#include "draft.h"
#include "tl/passes.h"

namespace tl {

bool dead_code_elimination(Graph& g, const PassOptions&) {
  using namespace passes_detail;
  Draft d = to_draft(g);
  std::vector<int> prod = producers(d);
  std::vector<bool> live(d.infos.size(), false);
  std::vector<int> stack;
  for (const GraphOutput& o : d.outputs) stack.push_back(o.value.id);
  for (const Node& n : d.nodes)
    if (n.kind == OpKind::input || n.kind == OpKind::param) stack.push_back(n.output.id);
  while (!stack.empty()) {
    int id = stack.back();
    stack.pop_back();
    if (live[size_t(id)]) continue;
    live[size_t(id)] = true;
    int p = prod[size_t(id)];
    if (p >= 0)
      for (Value v : d.nodes[size_t(p)].inputs) stack.push_back(v.id);
  }
  std::vector<Node> kept;
  for (Node& n : d.nodes)
    if (live[size_t(n.output.id)]) kept.push_back(std::move(n));
  if (kept.size() == g.nodes().size()) return false;
  d.nodes = std::move(kept);
  g = from_draft(d);
  return true;
}

}  // namespace tl
