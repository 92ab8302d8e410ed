// Shared glue for the libFuzzer targets (fuzz/fuzz_*.cpp, built with -DTL_FUZZ=ON by scripts/fuzz.sh).
// A target feeds the bytes to one parser; every tl::Error is an expected rejection. Anything else (a crash, a
// sanitizer report, a std:: exception that is not a tl::Error, a leak, a timeout) is a finding.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tl/error.h"

namespace tl::fuzz {

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Runs f(); swallows tl::Error (the clear-error path). Other exceptions escape and abort the run, which
// libFuzzer reports with the input that caused them.
template <class F>
void expect_clean(F&& f) {
  try {
    f();
  } catch (const tl::Error&) {
  }
}

}  // namespace tl::fuzz
