// Linear grouping: products of one input by several weights (q/k/v, gate/up) become one linear_group node
// whose output the old values slice (views):
//   y_i = linear(x, W_i) {f, k}          (no bias)                 -> g = linear_group(x, W_0, W_1, ...) {f, k}
//   y_i = einsum "P i,o i->P o" (x, W_i)  (W_i an f32 param [n, k])     y_i = slice(g, last axis, off_i, off_i + n_i)
// Only for decode-sized inputs (x has at most kMaxRows rows of k): there the products are memory-bound and
// short, and one parallel region for the group saves a fork/join and an unbalanced tail per weight
// (tl::qgemm_group). A prefill's products are long GEMMs already split well, and slicing their output would
// leave q/k/v strided for the attention that follows. Members must share the input, the format and k; a group
// needs two of them. Each y_i is computed by the same row kernels as before (linear members: tl::qgemm; f32
// einsum members: tl::sgemm under both), so the results are expected bit-identical, as the tests find them.
#include <algorithm>
#include <map>
#include <tuple>

#include "draft.h"
#include "einsum_util.h"
#include "tl/passes.h"
#include "tl/quant.h"

namespace tl {
namespace {

using passes_detail::Draft;

constexpr int64_t kMaxRows = 4;  // tl::qgemm's GEMV path (m <= 4)

struct Member {
  int node;
  Value w;
  int64_t n;
};

}  // namespace

bool group_linears(Graph& g, const PassOptions&) {
  using namespace passes_detail;
  Draft d = to_draft(g);
  const std::vector<int> prod = producers(d);
  // Candidate members by (x, format, k), in node order.
  std::map<std::tuple<int32_t, int, int64_t>, std::vector<Member>> groups;
  for (size_t i = 0; i < d.nodes.size(); ++i) {
    const Node& n = d.nodes[i];
    if (n.inputs.size() != 2 || n.inputs[0] == n.inputs[1]) continue;
    const Value x = n.inputs[0], w = n.inputs[1];
    const ValueType& xt = d.type(x);
    const ValueType& wt = d.type(w);
    if (xt.dtype != DType::f32 || xt.shape.empty() || wt.shape.size() != 2) continue;
    WeightFormat f;
    if (n.kind == OpKind::linear) {
      if (std::get<LinearAttrs>(n.attrs).act) continue;  // an activation epilogue: not a plain product
      f = std::get<LinearAttrs>(n.attrs).format;
    } else if (n.kind == OpKind::einsum) {
      const LinearForm lf = node_linear_form(d, prod, n);
      if (!lf.ok || lf.transposed) continue;
      f = WeightFormat::f32;
    } else {
      continue;
    }
    const int64_t k = xt.shape.back();
    if (k <= 0 || shape_numel(xt.shape) / k > kMaxRows) continue;
    groups[{x.id, int(f), k}].push_back(Member{int(i), w, wt.shape[0]});
  }
  // Rewrite: the group node goes where its first member was; every member becomes a slice of it.
  std::map<int, Node> insert_before;             // node index -> the group node to insert there
  std::vector<int> hoisted(d.nodes.size(), -1);  // param node index -> the node index it moves before
  bool changed = false;
  for (auto& [key, all] : groups) {
    // The group node sits where the first member was. A param weight defined after that point (nn::linear
    // makes each param just before its product) moves up with it; a computed weight defined later cannot join.
    std::vector<Member> members;
    for (const Member& m : all) {
      const int p = prod[size_t(m.w.id)];
      if (p < all[0].node || d.nodes[size_t(p)].kind == OpKind::param) members.push_back(m);
    }
    if (members.size() < 2 || members[0].node != all[0].node) continue;
    for (const Member& m : members)
      if (const int p = prod[size_t(m.w.id)]; p > members[0].node) {  // a weight of two groups: the earlier
        int& h = hoisted[size_t(p)];
        h = h < 0 ? members[0].node : std::min(h, members[0].node);
      }
    const auto [xid, fmt, k] = key;
    const Value x{xid};
    std::vector<Value> in{x};
    int64_t total = 0;
    for (const Member& m : members) {
      in.push_back(m.w);
      total += m.n;
    }
    const Node& first = d.nodes[size_t(members[0].node)];
    ValueType t = d.type(first.output);
    t.shape.back() = total;
    const Value out = d.new_value(d.infos[size_t(first.output.id)].name + ".group", t);
    insert_before[members[0].node] =
        Node{OpKind::linear_group, LinearAttrs{WeightFormat(fmt), k, std::nullopt}, in, out};
    const int axis = int(t.shape.size()) - 1;
    int64_t off = 0;
    for (const Member& m : members) {
      Node& n = d.nodes[size_t(m.node)];
      n = Node{OpKind::slice, SliceAttrs{axis, off, off + m.n, 1}, {out}, n.output};
      off += m.n;
    }
    changed = true;
  }
  if (!changed) return false;
  std::vector<Node> nodes;
  nodes.reserve(d.nodes.size() + insert_before.size());
  for (size_t i = 0; i < d.nodes.size(); ++i) {
    if (auto it = insert_before.find(int(i)); it != insert_before.end()) {
      for (size_t j = i + 1; j < d.nodes.size(); ++j)  // the group's later param weights, in their order
        if (hoisted[j] == int(i)) nodes.push_back(d.nodes[j]);
      nodes.push_back(it->second);
    }
    if (hoisted[i] < 0) nodes.push_back(std::move(d.nodes[i]));
  }
  d.nodes = std::move(nodes);
  g = from_draft(d);
  return true;
}

}  // namespace tl
