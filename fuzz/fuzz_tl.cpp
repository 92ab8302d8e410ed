// The .tl language: parse and check a program; if it has rules, evaluate them with a small round cap so
// that a slow-but-correct program is not reported as a timeout.
#include "fuzz_common.h"
#include "tl/logic.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  tl::fuzz::expect_clean([&] {
    tl::logic::Program p = tl::logic::Program::parse(tl::fuzz::as_text(data, size), "<fuzz>");
    if (p.has_equations()) tl::verify(p.graph());
    if (p.has_rules_or_facts()) (void)p.evaluate(64);
  });
  return 0;
}
