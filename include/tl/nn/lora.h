// LoRA (Hu et al. 2021) on linear projections, with PEFT's parameter names and scaling:
//   y = x W^T + b + (alpha / r) * (x A^T) B^T,   A = "<prefix>.lora_A.weight" [r, in],
//                                                B = "<prefix>.lora_B.weight" [out, r].
// Merging folds the update into the base weight, W' = W + (alpha / r) B A, so a merged graph (plain linear)
// and an unmerged one give the same outputs; unmerging subtracts it again.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tl/graph.h"

namespace tl::nn {

struct LoraConfig {
  int64_t rank = 8;
  float alpha = 16.0f;
  // Which linears get an adapter, by module name (the prefix passed to the linear): a pattern without '*'
  // matches the name itself or any name ending in "." + pattern ("q_proj" matches "layers.0.attn.q_proj");
  // '*' matches any run of characters ("layers.*.mlp.fc1"). Empty: no module.
  std::vector<std::string> target_modules;

  LoraConfig& set_rank(int64_t r) { rank = r; return *this; }
  LoraConfig& set_alpha(float a) { alpha = a; return *this; }
  LoraConfig& set_target_modules(std::vector<std::string> t) { target_modules = std::move(t); return *this; }
  float scale() const { return alpha / float(rank); }
  bool targets(const std::string& module) const;
  void validate() const;  // ValueError naming the field, expected and actual
};

// Whether `name` matches `pattern` under the rules above.
bool lora_pattern_matches(const std::string& pattern, const std::string& name);

// x: [..., in] -> [..., out]: the base linear plus the adapter (always, whatever target_modules says).
Value lora_linear(Graph& g, Value x, const std::string& prefix, int64_t in, int64_t out, bool bias,
                  const LoraConfig& cfg);
// lora_linear when cfg targets `prefix`, else nn::linear.
Value linear_maybe_lora(Graph& g, Value x, const std::string& prefix, int64_t in, int64_t out, bool bias,
                        const LoraConfig& cfg);

// W + scale * B A and W - scale * B A (w [out, in], a [r, in], b [out, r]; f32 results). ShapeError on
// mismatched shapes.
Tensor lora_merge(const Tensor& w, const Tensor& a, const Tensor& b, float scale);
Tensor lora_unmerge(const Tensor& w, const Tensor& a, const Tensor& b, float scale);

// On a name -> tensor map: for every "<m>.lora_A.weight" / "<m>.lora_B.weight" pair, folds the update into
// "<m>.weight" and removes the pair (merge), or the reverse given the adapters (unmerge leaves them in).
// Returns the merged module names. ValueError when a pair is incomplete or the base weight is missing.
std::vector<std::string> merge_lora_weights(std::map<std::string, Tensor>& weights, const LoraConfig& cfg);
void unmerge_lora_weights(std::map<std::string, Tensor>& weights, const std::map<std::string, Tensor>& adapters,
                          const LoraConfig& cfg);

}  // namespace tl::nn
