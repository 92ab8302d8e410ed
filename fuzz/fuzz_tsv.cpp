// TSV facts: parse, format, parse again (must give the same tuples).
#include "fuzz_common.h"
#include "tl/logic.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tl::fuzz::expect_clean([&] {
    auto tuples = tl::logic::parse_tsv(tl::fuzz::as_text(data, size), "<fuzz>");
    auto again = tl::logic::parse_tsv(tl::logic::format_tsv(tuples), "<fuzz2>");
    if (again != tuples) __builtin_trap();
  });
  return 0;
}
