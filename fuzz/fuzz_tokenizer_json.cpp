// tokenizer.json loader: every component's options are validated; a tokenizer that loads must encode and
// decode a fixed mixed-script text without crashing.
#include <string>

#include "fuzz_common.h"
#include "tl/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tl::fuzz::expect_clean([&] {
    tl::tok::Tokenizer t = tl::tok::Tokenizer::from_json(tl::fuzz::as_text(data, size), "<fuzz>");
    std::vector<int32_t> ids = t.encode("Hello, wörld! 東京 123 <s>  \t x²");
    (void)t.decode(ids, true);
  });
  return 0;
}
