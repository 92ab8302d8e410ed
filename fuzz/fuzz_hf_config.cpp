// Hugging Face config.json reader (typed getters on top of the strict JSON parser).
#include "fuzz_common.h"
#include "tl/io/hf_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tl::fuzz::expect_clean([&] {
    tl::io::HfConfig c = tl::io::HfConfig::parse(tl::fuzz::as_text(data, size), "<fuzz>");
    for (const char* k : {"hidden_size", "num_attention_heads", "num_hidden_layers", "vocab_size"})
      tl::fuzz::expect_clean([&] { (void)c.get_positive_int(k); });
  });
  return 0;
}
