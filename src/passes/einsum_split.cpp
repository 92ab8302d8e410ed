// Einsum splitting: an einsum of 3+ operands becomes a chain of pairwise einsums in the contraction order
// einsum_plan chooses (its `path`). Each step keeps the labels still needed by a remaining operand or the
// output, in order of first appearance (the planner's own convention); the last step writes the original
// value. Plans that fall back to a multi-operand loop (memory budget) are left as they are.
#include "einsum_util.h"
#include "tl/einsum.h"
#include "tl/passes.h"

namespace tl {

bool split_einsums(Graph& g, const PassOptions& opt) {
  using namespace passes_detail;
  Draft d = to_draft(g);
  std::vector<Node> out_nodes;
  bool changed = false;
  for (Node& n : d.nodes) {
    std::optional<EinsumTerms> t;
    if (n.kind == OpKind::einsum && n.inputs.size() >= 3 && all_float_inputs(d, n)) t = einsum_terms(d, n);
    if (!t) {
      out_nodes.push_back(std::move(n));
      continue;
    }
    std::vector<Shape> shapes;
    for (Value v : n.inputs) shapes.push_back(d.type(v).shape);
    EinsumPlan plan = einsum_plan(join_terms(*t), shapes, opt.einsum);
    bool pairwise = plan.path.size() + 1 == n.inputs.size();
    for (const std::vector<int>& step : plan.path) pairwise = pairwise && step.size() == 2;
    if (!pairwise) {
      out_nodes.push_back(std::move(n));
      continue;
    }
    // Simulate the operand list (opt_einsum convention: the pair is removed, the result appended).
    std::vector<Value> vals = n.inputs;
    std::vector<std::string> subs = t->inputs;
    std::vector<Node> steps;
    bool ok = true;
    for (size_t s = 0; s < plan.path.size() && ok; ++s) {
      int a = plan.path[s][0], b = plan.path[s][1];
      if (a == b || a < 0 || b < 0 || size_t(a) >= vals.size() || size_t(b) >= vals.size()) {
        ok = false;
        break;
      }
      const bool last = s + 1 == plan.path.size();
      std::string res;
      if (last) {
        res = t->output;
      } else {
        std::string needed = t->output;  // labels of the other operands and the output
        for (size_t q = 0; q < subs.size(); ++q)
          if (int(q) != a && int(q) != b) needed += subs[q];
        for (char c : subs[size_t(a)] + subs[size_t(b)])
          if (needed.find(c) != std::string::npos && res.find(c) == std::string::npos) res += c;
      }
      std::string spec = subs[size_t(a)] + "," + subs[size_t(b)] + "->" + res;
      std::vector<Value> ins = {vals[size_t(a)], vals[size_t(b)]};
      Value r;
      try {
        Shape shape = einsum_output_shape(spec, {d.type(ins[0]).shape, d.type(ins[1]).shape});
        DType dt = einsum_output_dtype({d.type(ins[0]).dtype, d.type(ins[1]).dtype});
        if (last) {
          ok = ValueType{dt, shape} == d.type(n.output);
          r = n.output;
        } else {
          r = d.new_value(d.infos[size_t(n.output.id)].name, ValueType{dt, shape});
        }
      } catch (const Error&) {
        ok = false;
      }
      steps.push_back(Node{OpKind::einsum, EinsumAttrs{spec}, ins, r});
      for (int q : {std::max(a, b), std::min(a, b)}) {
        vals.erase(vals.begin() + q);
        subs.erase(subs.begin() + q);
      }
      vals.push_back(r);
      subs.push_back(res);
    }
    if (!ok) {
      out_nodes.push_back(std::move(n));
      continue;
    }
    for (Node& s : steps) out_nodes.push_back(std::move(s));
    changed = true;
  }
  if (!changed) return false;
  d.nodes = std::move(out_nodes);
  g = from_draft(d);
  return true;
}

}  // namespace tl
