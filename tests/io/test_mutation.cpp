// Mutation check of the hostile-file rules: thousands of corrupted copies of the valid fixtures (random
// byte flips, random truncations) are opened and fully read. Each must either load or throw a tl::Error -
// never crash, hang or read outside the mapping (the ASan build checks the last part).
#include <gtest/gtest.h>

#include <random>

#include "io_test_util.h"
#include "tl/io/gguf.h"
#include "tl/io/safetensors.h"

namespace tl::test {
namespace {

// Opens and reads everything; returns true when the file loaded, false on a tl::Error.
bool read_all_safetensors(std::shared_ptr<const io::MappedFile> m) {
  try {
    io::SafetensorsFile f = io::SafetensorsFile::from_mapping(std::move(m));
    for (const auto& t : f.tensors()) {
      f.load(t.name, io::Convert::to_f32);
      if (io::st_to_dtype(t.dtype)) f.load(t.name);
    }
    return true;
  } catch (const Error&) {
    return false;
  }
}
bool read_all_gguf(std::shared_ptr<const io::MappedFile> m) {
  try {
    io::GgufFile g = io::GgufFile::from_mapping(std::move(m));
    for (const auto& t : g.tensors())
      if (io::ggml_can_dequantize(t.type)) g.dequantize(t.name);
    g.vocab();
    return true;
  } catch (const Error&) {
    return false;
  }
}

template <class Read>
void mutate(const std::string& fixture, int rounds, Read read) {
  const std::string orig = read_bytes(io_fixture(fixture));
  ASSERT_TRUE(read(io::MappedFile::open(io_fixture(fixture))));
  std::mt19937 rng(12345);
  int loaded = 0;
  for (int r = 0; r < rounds; ++r) {
    std::string b = orig;
    if (r % 4 == 0) {
      b.resize(rng() % b.size());
    } else {
      int flips = 1 + int(rng() % 4);
      for (int i = 0; i < flips; ++i) {
        // Most flips land in the header/metadata, where the parsing happens.
        size_t limit = (r % 2) ? std::min<size_t>(b.size(), 512) : b.size();
        b[rng() % limit] = char(rng() % 256);
      }
    }
    loaded += read(io::MappedFile::from_buffer(std::move(b), "mutated-" + fixture));
  }
  std::printf("%s: %d of %d mutated copies still loaded, the rest threw tl::Error\n", fixture.c_str(), loaded, rounds);
}

TEST(Mutation, SafetensorsNeverCrash) {
  mutate("st_all_dtypes.safetensors", 1500, read_all_safetensors);
  mutate("st_roundtrip.safetensors", 500, read_all_safetensors);
}

TEST(Mutation, GgufNeverCrash) {
  mutate("gguf_types.gguf", 1500, read_all_gguf);
  mutate("smollm2_excerpt.gguf", 500, read_all_gguf);
}

}  // namespace
}  // namespace tl::test
