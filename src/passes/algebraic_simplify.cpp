// Algebraic simplification. Identities only fire when the result has exactly the type of the operand kept
// (x * ones([4]) with x: f32[] broadcasts, i32 x * f32 1 promotes; neither is x), and a graph output is never
// replaced by another value (its node is rewritten in place instead where that still helps).
//   x*1, 1*x, x+0, 0+x, x-0, x/1          -> x
//   transpose(transpose(x, p1), p2)       -> transpose(x, p1∘p2), or x when that is the identity
//   reshape(reshape(x, s1), s2)           -> reshape(x, s2), or x when s2 is x's shape
//   identity transpose / reshape          -> x
// x*1, x-0 and x/1 are exact in IEEE arithmetic; x+0 differs only in the sign of a zero (-0 + 0 = +0), which
// compares equal, as every graph compiler that folds x+0 accepts.
#include "draft.h"
#include "tl/passes.h"

namespace tl {
namespace {

using passes_detail::Draft;

// Whether v is a constant whose every element equals `want` (bool constants never qualify).
bool is_const_fill(const Draft& d, const std::vector<int>& prod, Value v, double want) {
  int p = prod[size_t(v.id)];
  if (p < 0 || d.nodes[size_t(p)].kind != OpKind::constant) return false;
  const Tensor& t = std::get<ConstantAttrs>(d.nodes[size_t(p)].attrs).value;
  if (t.dtype() == DType::boolean) return false;
  for (double x : t.to_f64_vector())
    if (x != want) return false;
  return true;
}

std::vector<int> normalized_perm(const std::vector<int>& perm) {
  std::vector<int> p = perm;
  for (int& a : p)
    if (a < 0) a += int(p.size());
  return p;
}

bool is_identity(const std::vector<int>& p) {
  for (size_t i = 0; i < p.size(); ++i)
    if (p[i] != int(i)) return false;
  return true;
}

// The operand the binary node reduces to, if an identity applies.
std::optional<Value> binary_identity(const Draft& d, const std::vector<int>& prod, const Node& n) {
  BinaryOp op = std::get<BinaryAttrs>(n.attrs).op;
  Value a = n.inputs[0], b = n.inputs[1];
  const ValueType& out = d.type(n.output);
  auto keeps = [&](Value x) { return d.type(x) == out; };
  switch (op) {
    case BinaryOp::mul:
      if (keeps(a) && is_const_fill(d, prod, b, 1.0)) return a;
      if (keeps(b) && is_const_fill(d, prod, a, 1.0)) return b;
      break;
    case BinaryOp::add:
      if (keeps(a) && is_const_fill(d, prod, b, 0.0)) return a;
      if (keeps(b) && is_const_fill(d, prod, a, 0.0)) return b;
      break;
    case BinaryOp::sub:
      if (keeps(a) && is_const_fill(d, prod, b, 0.0)) return a;
      break;
    case BinaryOp::div:
      if (keeps(a) && is_const_fill(d, prod, b, 1.0)) return a;
      break;
    default:
      break;
  }
  return std::nullopt;
}

}  // namespace

bool algebraic_simplification(Graph& g, const PassOptions&) {
  using namespace passes_detail;
  Draft d = to_draft(g);
  std::vector<bool> is_out = output_mask(d);
  std::vector<int> prod = producers(d);
  std::unordered_map<int32_t, int32_t> repl;
  bool changed = false;
  auto replace = [&](const Node& n, Value by) {
    if (is_out[size_t(n.output.id)]) return false;
    repl[n.output.id] = by.id;
    changed = true;
    return true;
  };
  for (Node& n : d.nodes) {
    for (Value& v : n.inputs) {
      auto it = repl.find(v.id);
      if (it != repl.end()) v.id = it->second;
    }
    if (n.kind == OpKind::binary) {
      if (std::optional<Value> x = binary_identity(d, prod, n)) replace(n, *x);
    } else if (n.kind == OpKind::transpose) {
      auto& attrs = std::get<TransposeAttrs>(n.attrs);
      std::vector<int> perm = normalized_perm(attrs.perm);  // output dim i = input dim perm[i]
      int p = prod[size_t(n.inputs[0].id)];
      if (p >= 0 && d.nodes[size_t(p)].kind == OpKind::transpose) {
        const Node& inner = d.nodes[size_t(p)];
        std::vector<int> p1 = normalized_perm(std::get<TransposeAttrs>(inner.attrs).perm);
        std::vector<int> composed(perm.size());
        for (size_t i = 0; i < perm.size(); ++i) composed[i] = p1[size_t(perm[i])];
        n.inputs[0] = inner.inputs[0];
        attrs.perm = composed;
        perm = composed;
        changed = true;
      }
      if (is_identity(perm)) replace(n, n.inputs[0]);
    } else if (n.kind == OpKind::reshape) {
      int p = prod[size_t(n.inputs[0].id)];
      if (p >= 0 && d.nodes[size_t(p)].kind == OpKind::reshape) {
        n.inputs[0] = d.nodes[size_t(p)].inputs[0];
        changed = true;
      }
      if (d.type(n.inputs[0]) == d.type(n.output)) replace(n, n.inputs[0]);
    }
  }
  if (!changed) return false;
  // Drop the nodes whose value was replaced (nothing refers to them any more; other dead code is DCE's job).
  std::vector<Node> kept;
  for (Node& n : d.nodes)
    if (!repl.count(n.output.id)) kept.push_back(std::move(n));
  d.nodes = std::move(kept);
  d.replace_uses(repl);
  g = from_draft(d);
  return true;
}

}  // namespace tl
