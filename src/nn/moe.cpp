// moe_block: the router logits as an einsum (kept for the load-balancing loss), the block as one fused node.
#include "tl/nn/moe.h"

#include "tl/error.h"
#include "tl/nn/common.h"

namespace tl::nn {

void MoeConfig::validate() const {
  if (d_model <= 0) TL_THROW(ValueError, "[moe] d_model = ", d_model, ", expected > 0");
  if (d_ff <= 0) TL_THROW(ValueError, "[moe] d_ff = ", d_ff, ", expected > 0");
  if (n_experts <= 0) TL_THROW(ValueError, "[moe] n_experts = ", n_experts, ", expected > 0");
  if (p.routing == MoeRouting::top_k && (p.top_k < 1 || p.top_k > n_experts))
    TL_THROW(ValueError, "[moe] top_k = ", p.top_k, ", expected 1..", n_experts, " (n_experts)");
  if ((p.routing == MoeRouting::switch_top1 || p.routing == MoeRouting::expert_choice) &&
      !(p.capacity_factor > 0 && p.capacity_factor < 1e6f))
    TL_THROW(ValueError, "[moe] capacity_factor = ", p.capacity_factor, ", expected a finite value > 0");
  if (p.act != UnaryOp::silu && p.act != UnaryOp::relu && p.act != UnaryOp::gelu_erf && p.act != UnaryOp::gelu_tanh)
    TL_THROW(ValueError, "[moe] act = ", op_name(p.act), ", expected silu, relu, gelu_erf or gelu_tanh");
}

MoeOut moe_block(Graph& g, Value x, const std::string& prefix, const MoeConfig& cfg) {
  cfg.validate();
  const Shape& xs = g.shape(x);  // [..., d]
  if (xs.empty() || xs.back() != cfg.d_model)
    TL_THROW(ShapeError, "[moe] ", prefix, ": input has shape ", shape_str(xs), ", expected last dim ", cfg.d_model,
             " (d_model)");
  Value gate = g.param(join_name(prefix, "gate.weight"), {cfg.n_experts, cfg.d_model});  // [E, d]
  std::vector<Value> in{x, gate};
  for (int64_t e = 0; e < cfg.n_experts; ++e) {
    const std::string ep = join_name(prefix, "experts." + std::to_string(e));
    in.push_back(g.param(ep + ".w1.weight", {cfg.d_ff, cfg.d_model}));                   // [f, d]
    if (cfg.p.gated) in.push_back(g.param(ep + ".w3.weight", {cfg.d_ff, cfg.d_model}));  // [f, d]
    in.push_back(g.param(ep + ".w2.weight", {cfg.d_model, cfg.d_ff}));                   // [d, f]
  }
  MoeOut o;
  o.router_logits = linear_with(g, x, gate);  // [..., E]
  o.y = g.add_op(OpKind::moe, MoeAttrs{cfg.p}, in);  // [..., d]
  return o;
}

Value load_balancing_loss(Graph& g, Value router_logits) {
  const Shape& s = g.shape(router_logits);  // [..., E]
  if (s.empty() || s.back() < 1)
    TL_THROW(ShapeError, "[load_balancing_loss] router logits have shape ", shape_str(s),
             ", expected [..., n_experts] with n_experts >= 1");
  const int64_t E = s.back();
  std::vector<int> token_axes;
  for (int i = 0; i + 1 < int(s.size()); ++i) token_axes.push_back(i);
  Value probs = g.softmax(router_logits, -1);                         // [..., E]
  Value top = g.reduce(ReduceOp::max, probs, {-1}, true);             // [..., 1]
  Value onehot = g.cast(g.binary(BinaryOp::eq, probs, top), DType::f32);  // [..., E] argmax indicator
  Value f = token_axes.empty() ? onehot : g.reduce(ReduceOp::mean, onehot, token_axes);  // [E]
  Value P = token_axes.empty() ? probs : g.reduce(ReduceOp::mean, probs, token_axes);    // [E]
  Value dot = g.reduce(ReduceOp::sum, g.mul(f, P), {});                // []
  return g.mul(dot, g.constant(Tensor::scalar(float(E))));            // []
}

}  // namespace tl::nn
