// Elementwise fusion: chains of elementwise ops become one fused op that reads its input once.
//   relu|gelu_erf|gelu_tanh|silu|sigmoid|tanh(add(x, b))  -> bias_act(x, b) {act}
//       when the add's result is used only by the activation, x is f32 of the add's output shape, and b is a
//       float of shape [last] or [1,..,1,last] (either add operand order).
//   softmax(mul(x, c) [, mask], axis = last)           -> scaled_masked_softmax(x [, mask]) {scale = c}
//       when the mul's result is used only by the softmax, c is a one-element float constant that does not
//       change x's shape, and x is a float of the mul's output shape.
// The fused node keeps the value name of the node it replaces (the activation / softmax); the add / mul is
// dropped. Results equal the unfused graph up to rounding (the fused kernels compute in f32 too).
#include <cmath>

#include "draft.h"
#include "tl/kernels.h"
#include "tl/passes.h"

namespace tl {
namespace {

using passes_detail::Draft;

// b has shape [last] or [1,..,1,last] and rank <= x's rank.
bool is_bias_shape(const Shape& b, const Shape& x) {
  if (b.empty() || x.empty() || b.size() > x.size() || b.back() != x.back()) return false;
  for (size_t i = 0; i + 1 < b.size(); ++i)
    if (b[i] != 1) return false;
  return true;
}

// The value of v if it is a one-element finite float constant.
std::optional<float> scalar_constant(const Draft& d, const std::vector<int>& prod, Value v) {
  const int p = prod[size_t(v.id)];
  if (p < 0 || d.nodes[size_t(p)].kind != OpKind::constant) return std::nullopt;
  const Tensor& t = std::get<ConstantAttrs>(d.nodes[size_t(p)].attrs).value;
  if (!is_float(t.dtype()) || t.numel() != 1) return std::nullopt;
  const float c = float(t.to_f64_vector()[0]);  // f16/bf16 -> f32 is exact, as the mul kernel converts
  if (!std::isfinite(c)) return std::nullopt;
  return c;
}

}  // namespace

bool elementwise_fusion(Graph& g, const PassOptions&) {
  using namespace passes_detail;
  Draft d = to_draft(g);
  const std::vector<int> uses = use_counts(d);
  const std::vector<int> prod = producers(d);
  std::vector<bool> dead(d.nodes.size(), false);
  bool changed = false;
  // The single-use producer node of v with the given kind (not yet fused away), or -1.
  auto sole_producer = [&](Value v, OpKind kind) {
    const int p = prod[size_t(v.id)];
    if (p < 0 || dead[size_t(p)] || d.nodes[size_t(p)].kind != kind || uses[size_t(v.id)] != 1) return -1;
    return p;
  };
  for (Node& n : d.nodes) {
    if (n.kind == OpKind::unary && kernels::is_bias_activation(std::get<UnaryAttrs>(n.attrs).op)) {
      const int p = sole_producer(n.inputs[0], OpKind::binary);
      if (p < 0) continue;
      const Node& add = d.nodes[size_t(p)];
      if (std::get<BinaryAttrs>(add.attrs).op != BinaryOp::add) continue;
      const ValueType& sum = d.type(add.output);
      for (int k = 0; k < 2; ++k) {
        Value x = add.inputs[size_t(k)], b = add.inputs[size_t(1 - k)];
        if (d.type(x).dtype != DType::f32 || d.type(x).shape != sum.shape || !is_float(d.type(b).dtype) ||
            !is_bias_shape(d.type(b).shape, sum.shape))
          continue;
        const UnaryOp act = std::get<UnaryAttrs>(n.attrs).op;
        n = Node{OpKind::bias_act, BiasActAttrs{act}, {x, b}, n.output};
        dead[size_t(p)] = changed = true;
        break;
      }
    } else if (n.kind == OpKind::softmax) {
      const ValueType& in = d.type(n.inputs[0]);
      const int rank = int(in.shape.size());
      const int axis = std::get<SoftmaxAttrs>(n.attrs).axis;
      if (rank == 0 || (axis != -1 && axis != rank - 1)) continue;
      const int p = sole_producer(n.inputs[0], OpKind::binary);
      if (p < 0) continue;
      const Node& mul = d.nodes[size_t(p)];
      if (std::get<BinaryAttrs>(mul.attrs).op != BinaryOp::mul) continue;
      for (int k = 0; k < 2; ++k) {
        Value x = mul.inputs[size_t(k)];
        std::optional<float> c = scalar_constant(d, prod, mul.inputs[size_t(1 - k)]);
        if (!c || !is_float(d.type(x).dtype) || d.type(x).shape != in.shape) continue;
        std::vector<Value> inputs{x};
        if (n.inputs.size() == 2) inputs.push_back(n.inputs[1]);
        n = Node{OpKind::scaled_masked_softmax, ScaledMaskedSoftmaxAttrs{*c}, std::move(inputs), n.output};
        dead[size_t(p)] = changed = true;
        break;
      }
    }
  }
  if (!changed) return false;
  d.drop_nodes(dead);
  g = from_draft(d);
  return true;
}

}  // namespace tl
