// Gradient (activation) checkpointing as a plan over a forward graph: which activations the backward pass
// keeps from the forward pass and which it recomputes, with the memory and the extra FLOPs that implies.
//
// Memory model (all in bytes, numel * dtype size):
// - An activation is a value defined by a compute node (inputs, params and constants are not; view ops —
//   reshape, transpose, slice — alias their input and cost 0 bytes and 0 FLOPs, so they are never counted).
// - Without checkpointing the backward pass needs every activation, all alive at its start:
//   baseline_bytes = sum of all activations.
// - With a plan, kept activations (and graph outputs, always kept) stay alive: kept_bytes. Recomputed ones are
//   regenerated during backward one recompute segment at a time — a segment is a connected group of
//   recomputed activations (connected through the graph's edges); it is recomputed from kept values and freed
//   once its part of the backward is done. Peak = kept_bytes + the largest segment's bytes.
// - recompute_flops = the forward FLOPs of every recomputed activation's node, each once. FLOPs per node:
//   einsum as its contraction plan counts them (2 per multiply-add); elementwise, cast, bias_act: 1 per output
//   element; reduce: 1 per input element; softmax, norms: 5 per element; moe and attention by their GEMMs;
//   copies (concat, gather, repeat): 0.
#pragma once
#include <cstdint>
#include <vector>

#include "tl/graph.h"

namespace tl::nn {

enum class CheckpointStrategy {
  none,       // keep everything (the baseline)
  uniform,    // keep every k-th layer boundary (Chen et al. 2016); everything else is recomputed
  selective,  // recompute the activations made by the listed op kinds, keep the rest (Korthikanti et al. 2022)
  budget,     // greedily recompute the activations cheapest to recompute per byte until peak <= budget_bytes
};

struct CheckpointConfig {
  CheckpointStrategy strategy = CheckpointStrategy::none;
  int64_t every_k = 1;                // uniform
  std::vector<Value> layer_outputs;   // uniform: each layer's output (the residual stream), in order
  std::vector<OpKind> recompute_ops;  // selective
  int64_t budget_bytes = 0;           // budget

  CheckpointConfig& set_strategy(CheckpointStrategy s) { strategy = s; return *this; }
  CheckpointConfig& set_every_k(int64_t k) { every_k = k; return *this; }
  CheckpointConfig& set_layer_outputs(std::vector<Value> v) { layer_outputs = std::move(v); return *this; }
  CheckpointConfig& set_recompute_ops(std::vector<OpKind> v) { recompute_ops = std::move(v); return *this; }
  CheckpointConfig& set_budget_bytes(int64_t b) { budget_bytes = b; return *this; }
  void validate() const;  // ValueError naming the field, expected and actual
};

struct CheckpointPlan {
  std::vector<Value> kept;        // activations kept from the forward pass (graph outputs included)
  std::vector<Value> recomputed;  // activations recomputed in the backward pass
  int64_t baseline_bytes = 0;     // every activation kept
  int64_t kept_bytes = 0;
  int64_t largest_segment_bytes = 0;
  int64_t peak_bytes = 0;         // kept_bytes + largest_segment_bytes
  int64_t forward_flops = 0;      // all activations' nodes
  int64_t recompute_flops = 0;
  std::string describe(const Graph& g) const;
};

// Throws ValueError when the config does not fit the graph (a layer output that is not an activation of g,
// a budget below the smallest peak the greedy search reaches — the message names both).
CheckpointPlan plan_checkpointing(const Graph& g, const CheckpointConfig& cfg);

// The FLOPs and bytes the model above assigns to one node / value (exposed for tests and tools).
int64_t node_flops(const Graph& g, const Node& n);
int64_t value_bytes(const Graph& g, Value v);

}  // namespace tl::nn
