// Shared by the test binaries: the message of the exception a call throws, for asserting on error text.
#pragma once
#include <string>

namespace tl::test {

// The message of the exception f throws as E, or "(no exception)" when it throws nothing.
template <class E, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "(no exception)";
}

}  // namespace tl::test
