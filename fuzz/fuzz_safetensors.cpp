// safetensors reader: header parse + validation against the (fuzzed) file size, then every tensor loaded both
// as stored and converted to f32, so the data paths are exercised too.
#include <string>

#include "fuzz_common.h"
#include "tl/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tl::fuzz::expect_clean([&] {
    auto map = tl::io::MappedFile::from_buffer(std::string(reinterpret_cast<const char*>(data), size), "<fuzz>");
    tl::io::SafetensorsFile f = tl::io::SafetensorsFile::from_mapping(map);
    for (const std::string& n : f.names()) {
      (void)f.load(n, tl::io::Convert::keep);
      (void)f.load(n, tl::io::Convert::to_f32);
    }
  });
  return 0;
}
