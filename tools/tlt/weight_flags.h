// --weight-format F, --keep-quantized and --int8-activations, shared by tlt forward / generate / bench / graph: how a model's
// linear weights are held in memory (include/tl/quant.h, Model::quantize, GGUF keep_quantized).
#pragma once
#include <vector>

#include "args.h"
#include "tl/models.h"

namespace tlt {

// The two flags' specs, to append to a command's own.
std::vector<FlagSpec> weight_flag_specs();
// `base` with the two flags appended.
std::vector<FlagSpec> with_weight_flags(std::vector<FlagSpec> base);
// LoadOptions from the flags (ValueError naming the flag and the valid formats on a bad name); also applies
// --int8-activations (tl::set_activation_precision, process-wide).
tl::models::LoadOptions weight_load_options(const Args& a);

}  // namespace tlt
