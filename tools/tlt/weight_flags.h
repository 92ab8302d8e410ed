// --weight-format F, --keep-quantized, --int8-activations and --f32-activations, shared by tlt forward / generate
// / bench / graph / perplexity: how a model's linear weights are held in memory (include/tl/quant.h,
// Model::quantize, GGUF keep_quantized) and how q8_0 / q4_0 decode products treat the activations.
#pragma once
#include <vector>

#include "args.h"
#include "tl/models.h"

namespace tlt {

// The flags' specs, to append to a command's own.
std::vector<FlagSpec> weight_flag_specs();
// `base` with the flags appended.
std::vector<FlagSpec> with_weight_flags(std::vector<FlagSpec> base);
// LoadOptions from the flags (ValueError naming the flag and the valid formats on a bad name); also sets the
// activation precision of q8_0 / q4_0 decode products (tl::set_activation_precision, process-wide): int8 with
// --int8-activations, or by default when `int8_by_default` (generate, bench: llama.cpp's arithmetic and speed)
// unless --f32-activations.
tl::models::LoadOptions weight_load_options(const Args& a, bool int8_by_default = false);

}  // namespace tlt
