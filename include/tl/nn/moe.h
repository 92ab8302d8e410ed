// Mixture-of-experts FFN blocks. One fused graph node (OpKind::moe) routes tokens and runs each expert only on
// the tokens routed to it (src/runtime/cpu/kernels/moe.cpp). Routings (MoeRouting, include/tl/kernels.h):
//   top_k          Mixtral's MixtralSparseMoeBlock: softmax over the router logits, top-k experts, weights
//                  renormalised to sum 1 (normalize = false keeps the raw probabilities, as GShard does not)
//   switch_top1    Switch Transformer: top-1 with weight = router probability; each expert takes at most
//                  ceil(capacity_factor * tokens / experts) tokens in token order, later ones are dropped
//                  (output 0, so a residual connection carries them through unchanged)
//   expert_choice  Zhou et al. 2022: each expert picks its top-C tokens by router probability, same C
//   dense          soft MoE over all experts: y = sum_e p_e(x) expert_e(x)
// Parameters use Mixtral's HF names: "<prefix>.gate.weight" [E, d], "<prefix>.experts.<e>.w1.weight" [f, d],
// "...w3.weight" [f, d] (gated experts only), "...w2.weight" [d, f]. With prefix "block_sparse_moe" under
// "model.layers.<i>" they bind to a Mixtral checkpoint as is.
#pragma once
#include <cstdint>
#include <string>

#include "tl/graph.h"
#include "tl/kernels.h"

namespace tl::nn {

struct MoeConfig {
  int64_t d_model = 0, d_ff = 0, n_experts = 0;
  MoeParams p;  // routing, top_k, normalize, capacity_factor, act, gated

  MoeConfig& set_d_model(int64_t v) { d_model = v; return *this; }
  MoeConfig& set_d_ff(int64_t v) { d_ff = v; return *this; }
  MoeConfig& set_n_experts(int64_t v) { n_experts = v; return *this; }
  MoeConfig& set_routing(MoeRouting r) { p.routing = r; return *this; }
  MoeConfig& set_top_k(int64_t k) { p.top_k = k; return *this; }
  MoeConfig& set_normalize(bool v) { p.normalize = v; return *this; }
  MoeConfig& set_capacity_factor(float v) { p.capacity_factor = v; return *this; }
  MoeConfig& set_act(UnaryOp a) { p.act = a; return *this; }
  MoeConfig& set_gated(bool v) { p.gated = v; return *this; }
  // Throws ValueError "[moe] <field> = <actual>, expected <...>".
  void validate() const;
};

struct MoeOut {
  Value y;              // [..., d_model]
  Value router_logits;  // [..., n_experts] (for the load-balancing loss)
};

// x: [..., d_model]. Throws ShapeError when x's last dim is not d_model.
MoeOut moe_block(Graph& g, Value x, const std::string& prefix, const MoeConfig& cfg);

// Switch Transformer's auxiliary load-balancing loss from router logits [..., E]:
//   loss = E * sum_i f_i * P_i,  f_i = fraction of tokens whose top-1 expert is i,
//                                P_i = mean router probability of expert i over the tokens.
// Returns a scalar value (f32[]). It equals 1 for perfectly uniform routing.
Value load_balancing_loss(Graph& g, Value router_logits);

}  // namespace tl::nn
