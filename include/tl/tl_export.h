// Graph IR -> .tl program: every node of a graph written as one tensor equation, so a model built by the C++
// builders (tl::models) reads as tensor logic and runs again through `tlt run`.
//
//   std::string src = tl::logic::to_tl(model->build_graph(batch), {.header = {"llama, batch 1 x seq 8"}});
//   auto prog = tl::logic::Program::parse(src);        // compiles back to a graph computing the same numbers
//
// The forms it writes (the language is described in examples/README.md, "Whole models"):
//   input ids: i64[1, 8]                                     graph inputs, with their dtype
//   param model.layers.0.self_attn.q_proj.weight[64, 64]     weights by their checkpoint names
//   const c0: f32[8, 4] = [...]                              tensor constants (row-major, exact floats)
//   layers.0.self_attn.q_proj[b, s, o] = X[b, s, i] W[o, i]  einsums as index equations (the spec's letters)
//   Y[i, j] = X[i, j] + B[j] / silu(X[i, j]) / max(A[i], 0)  elementwise ops whose operands broadcast
//                                                            by name (otherwise an op call)
//   P[i, j, k.] = softmax(S[i, j, k])                        softmax without a mask
//   O[i, j, k, l] = attention(Q, K, V, causal=true, scale=0.25)   every other op: a call of the graph op on
//                                                            whole tensors, attributes that differ from the
//                                                            op's defaults as keyword arguments
//   output logits, hidden                                    the graph's outputs
// Intermediate values are named from the weights they consume (model.layers.0.mlp.up_proj.weight ->
// layers.0.mlp.up_proj, then layers.0.mlp.silu, ...).
#pragma once
#include <string>
#include <vector>

#include "tl/graph.h"

namespace tl::logic {

struct ExportOptions {
  std::vector<std::string> header;  // comment lines written first (without the leading "# ")
};

// The program for `g` (which should verify()). Throws ValueError naming the node, its op and the value when a
// value cannot be written in .tl (a name that is not a dotted identifier, an op with no .tl form).
std::string to_tl(const Graph& g, const ExportOptions& opt = {});

// True when `name` can be written as a .tl tensor name: dot-separated parts of letters, digits and '_', the
// first part starting with a letter or '_'.
bool is_tl_name(const std::string& name);

}  // namespace tl::logic
