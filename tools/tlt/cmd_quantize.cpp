// tlt quantize MODEL --type TYPE -o OUT: MODEL (a Hugging Face LLaMA directory or a .gguf) rewritten with its
// weights in TYPE, as GGUF (any type; llama.cpp loads it) or safetensors (f32/f16/bf16). The tensor-type rule
// and the HF -> GGUF mapping are in include/tl/models/gguf_export.h.
#include <chrono>
#include <cstdio>

#include "args.h"
#include "commands.h"
#include "tl/error.h"
#include "tl/models/gguf_export.h"

namespace tlt {

namespace {
const std::vector<FlagSpec> kFlags = {
    {{"-t", "--type"}, true, "q8_0, q4_0, q4_1, bf16, f16 or f32"},
    {{"-o", "--output"}, true, "OUT.gguf or OUT.safetensors (safetensors: f32, f16, bf16 only)"},
    {{"-h", "--help"}, false, "show this help"},
};
const char* kValid = "q8_0, q4_0, q4_1, bf16, f16, f32";

std::string mb(uint64_t b) {
  char s[32];
  std::snprintf(s, sizeof s, "%.2f MB", double(b) / 1e6);
  return s;
}
}  // namespace

int cmd_quantize(int argc, char** argv) {
  Args args(argc, argv, 2, kFlags);
  if (args.has("help")) {
    std::printf("usage: tlt quantize MODEL --type TYPE -o OUT\n\n"
                "MODEL: a Hugging Face LLaMA directory (config.json, safetensors, tokenizer.json) or a .gguf.\n"
                "OUT.gguf: llama.cpp's format (names, Q/K permutation, vocabulary and chat template as its\n"
                "converter writes them); a .gguf MODEL keeps its metadata and vocabulary and is re-quantised.\n"
                "Norms stay F32; with q4_0/q4_1 the output projection is Q8_0; rows that are not a multiple of\n"
                "32 fall back to F16. OUT.safetensors: the weights under their Hugging Face names.\n\n%s",
                flags_help(kFlags).c_str());
    return 0;
  }
  if (args.positional().size() != 1)
    TL_THROW(tl::ValueError, "expected one MODEL, got ", args.positional().size(), " arguments (see tlt quantize --help)");
  if (!args.has("type")) TL_THROW(tl::ValueError, "missing --type (one of ", kValid, ")");
  if (!args.has("output")) TL_THROW(tl::ValueError, "missing -o OUT (.gguf or .safetensors)");
  const std::string type = *args.get("type");
  tl::WeightFormat f{};
  try {
    f = tl::weight_format_from_name(type);
  } catch (const tl::ValueError&) {
    TL_THROW(tl::ValueError, "--type \"", type, "\" is not a valid type (valid: ", kValid, ")");
  }
  if (!tl::can_quantize(f))
    TL_THROW(tl::ValueError, "--type \"", type, "\" cannot be produced (valid: ", kValid, ")");
  const std::string out = *args.get("output");
  const auto t0 = std::chrono::steady_clock::now();
  const tl::models::QuantizeStats st = tl::models::quantize_model(args.positional()[0], out, f);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%s: %lld tensors (", out.c_str(), static_cast<long long>(st.tensors));
  bool first = true;
  for (const auto& [name, n] : st.type_counts) {
    std::printf("%s%s %lld", first ? "" : ", ", name.c_str(), static_cast<long long>(n));
    first = false;
  }
  std::printf("); tensors in %s -> file %s; %.2f s\n", mb(st.bytes_in).c_str(), mb(st.bytes_out).c_str(), secs);
  for (const std::string& n : st.notes) std::printf("note: %s\n", n.c_str());
  return 0;
}

}  // namespace tlt
