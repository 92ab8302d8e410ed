// Shared weight-format flags (tools/tlt/weight_flags.h).
#include "weight_flags.h"

#include "tl/error.h"
#include "tl/quant.h"

namespace tlt {

std::vector<FlagSpec> weight_flag_specs() {
  return {
      {{"--weight-format"},
       true,
       "keep the linear weights as f32 (default), f16, bf16, q8_0, q4_0 or q4_1 (4-bit: the LM head stays q8_0); "
       "embeddings, norms and tied weights stay f32"},
      {{"--keep-quantized"},
       false,
       "GGUF: run the file's own weight formats (Q8_0, Q4_0, Q4_1, Q4_K, Q6_K, F16, BF16) instead of "
       "dequantising them to f32"},
      {{"--int8-activations"},
       false,
       "decode with q8_0 / q4_0 weights: round the activations to int8 blocks and use integer dot products "
       "(llama.cpp's arithmetic; faster, slightly less accurate; docs/quantization.md); the default of tlt "
       "generate and tlt bench"},
      {{"--f32-activations"},
       false,
       "decode with q8_0 / q4_0 weights in f32 activations (exact f32 dot products; the default of tlt forward, "
       "graph and perplexity)"},
  };
}

std::vector<FlagSpec> with_weight_flags(std::vector<FlagSpec> base) {
  // Before a trailing --help, so help stays last.
  auto at = base.end();
  if (!base.empty() && base.back().names.back() == "--help") --at;
  const std::vector<FlagSpec> w = weight_flag_specs();
  base.insert(at, w.begin(), w.end());
  return base;
}

tl::models::LoadOptions weight_load_options(const Args& a, bool int8_by_default) {
  tl::models::LoadOptions o;
  o.keep_quantized = a.has("keep-quantized");
  if (a.has("int8-activations") && a.has("f32-activations"))
    TL_THROW(tl::ValueError, "--int8-activations and --f32-activations: give at most one");
  const bool int8 = a.has("int8-activations") || (int8_by_default && !a.has("f32-activations"));
  tl::set_activation_precision(int8 ? tl::ActivationPrecision::int8 : tl::ActivationPrecision::f32);  // process-wide
  if (auto f = a.get("weight-format")) {
    try {
      o.weight_format = tl::weight_format_from_name(*f);
    } catch (const tl::ValueError& e) {
      TL_THROW(tl::ValueError, "--weight-format: ", e.what());
    }
    if (!tl::can_quantize(*o.weight_format))
      TL_THROW(tl::ValueError, "--weight-format ", *f,
               ": this format only comes from GGUF files (use --keep-quantized); expected f32, f16, bf16, q8_0, "
               "q4_0 or q4_1");
  }
  return o;
}

}  // namespace tlt
