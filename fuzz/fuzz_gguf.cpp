// GGUF reader: header, metadata, tensor infos and alignment validated against the (fuzzed) file size; then the
// vocabulary and every tensor that can be dequantised.
#include <string>

#include "fuzz_common.h"
#include "tl/io/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tl::fuzz::expect_clean([&] {
    auto map = tl::io::MappedFile::from_buffer(std::string(reinterpret_cast<const char*>(data), size), "<fuzz>");
    tl::io::GgufFile f = tl::io::GgufFile::from_mapping(map);
    (void)f.vocab();
    for (const auto& t : f.tensors()) {
      if (t.numel() > (1 << 20)) continue;  // keep one input under the time limit
      tl::fuzz::expect_clean([&] { (void)f.dequantize(t.name); });
    }
  });
  return 0;
}
