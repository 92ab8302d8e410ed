// .npy reader: every header field is checked against the buffer before data is read.
#include <span>

#include "fuzz_common.h"
#include "tl/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tl::fuzz::expect_clean([&] {
    tl::Tensor t = tl::parse_npy(std::span<const uint8_t>(data, size), "<fuzz>");
    // A parsed tensor must serialise and parse back to the same shape and dtype.
    std::string bytes = tl::serialize_npy(t);
    tl::Tensor u = tl::parse_npy(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()),
                                                          bytes.size()));
    if (u.shape() != t.shape()) __builtin_trap();
  });
  return 0;
}
