// Helpers for the .tl tests: fixture paths, error-message checks.
#pragma once
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "tl/error.h"

namespace tl_logic_test {

inline std::string fixture(const std::string& rel) {
  return std::string(TL_FIXTURE_DIR) + "/logic/" + rel;
}
inline std::string example(const std::string& rel) {
  return std::string(TL_SOURCE_DIR) + "/examples/" + rel;
}

inline std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Runs f, expects an exception of type E whose message contains every one of `parts`.
template <class E>
void expect_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "expected an exception";
  } catch (const E& e) {
    std::string msg = e.what();
    for (const auto& p : parts)
      EXPECT_NE(msg.find(p), std::string::npos) << "message: " << msg << "\nmissing: " << p;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

}  // namespace tl_logic_test
