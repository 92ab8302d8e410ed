// Text through real tokenizers (GPT-2 byte-level BPE, Llama-3 regex + BPE, MiniLM WordPiece, the 32k
// SentencePiece-style BPE): arbitrary bytes must give ids or a clear invalid-UTF-8 error, and the ids must decode.
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz_common.h"
#include "tl/tokenizer.h"

namespace {
const std::vector<tl::tok::Tokenizer>& tokenizers() {
  static const std::vector<tl::tok::Tokenizer> t = [] {
    std::vector<tl::tok::Tokenizer> v;
    // TL_FUZZ_TOKENIZER_DIR: where the fixture tokenizers are when the binary runs away from its source tree.
    const char* env = std::getenv("TL_FUZZ_TOKENIZER_DIR");
    std::string dir = env ? std::string(env) + "/" : std::string(TL_SOURCE_DIR "/tests/fixtures/tokenizer/");
    for (const char* f : {"gpt2.json.gz", "llama3.json.gz", "minilm.json.gz", "sp-bpe-32k.json.gz"})
      v.push_back(tl::tok::Tokenizer::from_file(dir + f));
    return v;
  }();
  return t;
}
}  // namespace

// Loading (the 9 MB Llama-3 file takes seconds under ASan) happens here, outside the per-input time limit.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)tokenizers();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  const auto& toks = tokenizers();
  const tl::tok::Tokenizer& t = toks[size % toks.size()];
  tl::fuzz::expect_clean([&] {
    std::vector<int32_t> ids = t.encode(tl::fuzz::as_text(data, size));
    (void)t.decode(ids, false);
  });
  return 0;
}
