// Linear epilogues: a product's bias and activation move into the product, which applies them to each block of
// its output while the block is still in cache (tl::GemmEpilogue), instead of a separate pass over the output:
//   y = einsum "P i,o i->P o" (x, W)  (W an f32 param [n, k])   or   y = linear(x, W) {f, k}  (no bias, no act)
//   add(y, b) / add(b, y)             (b float [n])              -> linear(x, W, b) {f, k}
//   bias_act(y, b) {act}              (b float [n])              -> linear(x, W, b) {f, k, act}
//   relu|gelu_erf|gelu_tanh|silu|sigmoid|tanh(y)                 -> linear(x, W [, b]) {f, k, act}
// when y is used only by that node. Rules chain (an einsum, its bias add, then an activation become one linear).
// Only for inputs with more than kMinRows rows: smaller (decode) products are left to the linear_group pass,
// which needs them plain, and their outputs are too small for a second pass to cost anything. The fused node
// keeps the value of the node it replaces. Results equal the unfused graph up to rounding (the epilogue adds the
// bias and applies the activation with bias_act's arithmetic; an f32 einsum and the linear op both run sgemm).
#include "draft.h"
#include "einsum_util.h"
#include "tl/kernels.h"
#include "tl/passes.h"

namespace tl {
namespace {

using passes_detail::Draft;

constexpr int64_t kMinRows = 4;  // linear_group's limit (tl::qgemm's GEMV path, m <= 4)

// The product a node computes, when it is one the rules can extend.
struct Product {
  bool ok = false;
  Value x, w;
  std::optional<Value> bias;
  WeightFormat format = WeightFormat::f32;
};

Product product_of(const Draft& d, const std::vector<int>& prod, const Node& n) {
  Product p;
  if (n.inputs.size() < 2) return p;
  const ValueType& xt = d.type(n.inputs[0]);
  if (xt.dtype != DType::f32 || xt.shape.empty() || xt.shape.back() == 0) return p;
  if (shape_numel(xt.shape) / xt.shape.back() <= kMinRows) return p;
  if (n.kind == OpKind::linear) {
    const LinearAttrs& a = std::get<LinearAttrs>(n.attrs);
    if (a.act) return p;
    p.format = a.format;
    if (n.inputs.size() > 2) p.bias = n.inputs[2];
  } else if (n.kind == OpKind::einsum) {
    const passes_detail::LinearForm lf = passes_detail::node_linear_form(d, prod, n);
    if (!lf.ok || lf.transposed) return p;
  } else {
    return p;
  }
  p.ok = true;
  p.x = n.inputs[0];
  p.w = n.inputs[1];
  return p;
}

// b can be the linear op's bias for outputs of type `out`: a float vector of the last dim.
bool is_bias_for(const Draft& d, Value b, const ValueType& out) {
  const ValueType& bt = d.type(b);
  return is_float(bt.dtype) && bt.shape.size() == 1 && !out.shape.empty() && bt.shape[0] == out.shape.back();
}

}  // namespace

bool fuse_linear_epilogues(Graph& g, const PassOptions&) {
  using namespace passes_detail;
  Draft d = to_draft(g);
  const std::vector<int> uses = use_counts(d);
  const std::vector<bool> is_out = output_mask(d);
  const std::vector<int> prod = producers(d);
  std::vector<int> consumer(d.infos.size(), -1);  // the last node reading each value
  for (size_t i = 0; i < d.nodes.size(); ++i)
    for (Value v : d.nodes[i].inputs) consumer[size_t(v.id)] = int(i);
  std::vector<bool> dead(d.nodes.size(), false);
  bool changed = false;
  // In node order, so a product rewritten into its consumer is met again there and may take the next step.
  for (size_t i = 0; i < d.nodes.size(); ++i) {
    const Node& n = d.nodes[i];
    const Product p = product_of(d, prod, n);
    const Value y = n.output;
    if (!p.ok || uses[size_t(y.id)] != 1 || is_out[size_t(y.id)] || consumer[size_t(y.id)] < 0) continue;
    Node& c = d.nodes[size_t(consumer[size_t(y.id)])];
    const ValueType& yt = d.type(y);
    const ValueType& ct = d.type(c.output);
    if (ct.dtype != DType::f32 || ct.shape != yt.shape) continue;
    std::optional<Value> bias = p.bias;
    std::optional<UnaryOp> act;
    if (c.kind == OpKind::binary && std::get<BinaryAttrs>(c.attrs).op == BinaryOp::add && !bias) {
      const Value other = c.inputs[0] == y ? c.inputs[1] : c.inputs[0];
      if (other == y || !is_bias_for(d, other, yt)) continue;
      bias = other;
    } else if (c.kind == OpKind::bias_act && c.inputs[0] == y && !bias) {
      if (!is_bias_for(d, c.inputs[1], yt)) continue;
      bias = c.inputs[1];
      act = std::get<BiasActAttrs>(c.attrs).act;
    } else if (c.kind == OpKind::unary && kernels::is_bias_activation(std::get<UnaryAttrs>(c.attrs).op)) {
      act = std::get<UnaryAttrs>(c.attrs).op;
    } else {
      continue;
    }
    std::vector<Value> in{p.x, p.w};
    if (bias) in.push_back(*bias);
    c = Node{OpKind::linear, LinearAttrs{p.format, d.type(p.x).shape.back(), act},
             std::move(in), c.output};
    dead[i] = changed = true;
  }
  if (!changed) return false;
  d.drop_nodes(dead);
  g = from_draft(d);
  return true;
}

}  // namespace tl
