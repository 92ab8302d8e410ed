// The strict JSON parser (graph JSON, safetensors headers, config.json, tokenizer.json all go through it).
// Parse, and if it parses, print and re-parse: the printer's output must parse back to an equal document.
#include "fuzz_common.h"
#include "tl/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tl::fuzz::expect_clean([&] {
    tl::json::Value v = tl::json::parse(tl::fuzz::as_text(data, size));
    std::string again = tl::json::dump(v);
    if (!(tl::json::parse(again) == v)) __builtin_trap();
  });
  return 0;
}
