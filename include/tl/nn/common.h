// Conventions shared by every transformer component (src/nn/*):
// - A component is a function or small struct that adds its equations to a caller's Graph and returns typed
//   handles (tl::Value, or a struct of them), never positional indices.
// - Its config is a struct with builder-style setters and validate(), which throws tl::ValueError naming the
//   field, the expected and the actual (e.g. "[attention] d_model = 10 is not divisible by n_heads = 4").
// - Parameters are graph params named "<prefix>.<name>" with PyTorch layouts and, where one exists, the Hugging
//   Face name, so checkpoints bind by name: nn.Linear -> "<prefix>.weight" [out, in], "<prefix>.bias" [out].
// - Activations are f32, laid out [batch, seq, d_model]; shape comments on every tensor variable.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "tl/graph.h"

namespace tl::nn {

// "<prefix>.<name>", or just <name> when prefix is empty.
std::string join_name(const std::string& prefix, const std::string& name);

// y = x W^T (+ b), as torch.nn.Linear: params "<prefix>.weight" [out, in] and "<prefix>.bias" [out].
// x: [..., in] -> y: [..., out]. Throws ShapeError when x's last dim is not `in`.
Value linear(Graph& g, Value x, const std::string& prefix, int64_t in, int64_t out, bool bias = true);
// Same with an existing weight value [out, in] (tied or shared weights) and optional bias [out].
Value linear_with(Graph& g, Value x, Value weight, std::optional<Value> bias = std::nullopt);

}  // namespace tl::nn
