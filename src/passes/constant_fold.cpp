// Constant folding: a node whose inputs are all constants is evaluated once, through the op's own kernel or
// view (the same code the executor runs), and becomes a constant. Results larger than opt.fold_max_elements
// stay as nodes so a broadcast of a scalar doesn't materialise a huge tensor in the graph. A node whose kernel
// throws (e.g. a gather index out of range) is left alone: the executor reports it when the graph runs.
#include "draft.h"
#include "tl/ops.h"
#include "tl/passes.h"

namespace tl {

bool constant_folding(Graph& g, const PassOptions& opt) {
  using namespace passes_detail;
  Draft d = to_draft(g);
  std::vector<int> prod = producers(d);
  bool changed = false;
  for (Node& n : d.nodes) {
    if (n.kind == OpKind::input || n.kind == OpKind::param || n.kind == OpKind::constant) continue;
    const ValueType& t = d.type(n.output);
    if (shape_numel(t.shape) > opt.fold_max_elements) continue;
    std::vector<Tensor> in;
    for (Value v : n.inputs) {
      int p = prod[size_t(v.id)];
      if (p < 0 || d.nodes[size_t(p)].kind != OpKind::constant) break;
      in.push_back(std::get<ConstantAttrs>(d.nodes[size_t(p)].attrs).value);
    }
    if (in.size() != n.inputs.size()) continue;
    const OpDef& def = op_def(n.kind);
    Tensor out;
    try {
      if (def.kernel) {
        out = Tensor::empty(t.shape, t.dtype);
        def.kernel(n.attrs, in, out);
      } else if (def.view) {
        out = def.view(n.attrs, in.at(0)).clone();  // own storage: the folded value must not alias its input
      } else {
        continue;
      }
    } catch (const Error&) {
      continue;
    }
    if (out.dtype() != t.dtype || out.shape() != t.shape) continue;  // never change a value's type
    n.kind = OpKind::constant;
    n.attrs = ConstantAttrs{out};
    n.inputs.clear();
    changed = true;
  }
  if (changed) g = from_draft(d);
  return changed;
}

}  // namespace tl
