// Helpers for the io tests: fixture paths, a per-test temp directory, little-endian byte builders for
// hand-made hostile files, and an error check that looks for every expected fragment of the message.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "tl/error.h"
#include "tl/npy.h"
#include "tl/tensor.h"

namespace tl::test {

inline std::string io_fixture(const std::string& name) { return std::string(TL_FIXTURE_DIR) + "/io/" + name; }

// A fresh directory under the system temp dir, removed at destruction.
struct TempDir {
  std::filesystem::path dir;
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir = std::filesystem::temp_directory_path() /
          ("tl_io_" + std::to_string(::getpid()) + "_" + (info ? std::string(info->name()) : "x"));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string write(const std::string& name, const std::string& bytes) const {
    std::string p = (dir / name).string();
    std::ofstream f(p, std::ios::binary);
    f.write(bytes.data(), std::streamsize(bytes.size()));
    return p;
  }
};

// Little-endian byte builder.
struct Bytes {
  std::string s;
  template <class T>
  Bytes& put(T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    s.append(b, sizeof(T));
    return *this;
  }
  Bytes& raw(const std::string& x) {
    s += x;
    return *this;
  }
  Bytes& pad_to(size_t n, char c = 0) {
    if (s.size() < n) s.append(n - s.size(), c);
    return *this;
  }
};

// Runs f, expects an exception of type E whose message contains every fragment.
template <class E, class F>
void expect_error(F&& f, std::initializer_list<std::string> fragments) {
  try {
    f();
    ADD_FAILURE() << "expected an exception, none was thrown";
  } catch (const E& e) {
    std::string m = e.what();
    for (const std::string& frag : fragments) EXPECT_NE(m.find(frag), std::string::npos) << "message: " << m << "\nmissing: " << frag;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

// Max |a - b| over all elements (NaN == NaN counts as equal, NaN vs number as infinite); shapes must match.
inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(shape_str(a.shape()), shape_str(b.shape()));
  if (a.shape() != b.shape()) return INFINITY;
  std::vector<double> x = a.to_f64_vector(), y = b.to_f64_vector();
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i]) || std::isnan(y[i])) {
      if (std::isnan(x[i]) != std::isnan(y[i])) return INFINITY;
      continue;
    }
    if (x[i] == y[i]) continue;  // equal infinities
    m = std::max(m, std::fabs(x[i] - y[i]));
  }
  return m;
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// One hostile file: its bytes and the fragments its IoError message must contain.
struct Hostile {
  const char* name;
  std::string bytes;
  std::vector<std::string> fragments;
};

// Writes each case to `tmp` as <name><ext>, opens it with `open`, and checks that it throws an IoError whose
// message names the case's fragments, the file's path and the reader's tag (e.g. "[gguf]").
template <class Open>
void expect_hostile_files(TempDir& tmp, const std::vector<Hostile>& cases, const std::string& ext,
                          const std::string& tag, Open open) {
  for (const Hostile& h : cases) {
    SCOPED_TRACE(h.name);
    std::string path = tmp.write(std::string(h.name) + ext, h.bytes);
    std::vector<std::string> frags = h.fragments;
    frags.push_back(path);
    frags.push_back(tag);
    try {
      open(path);
      ADD_FAILURE() << "no error";
    } catch (const IoError& e) {
      std::string m = e.what();
      for (const std::string& f : frags) EXPECT_NE(m.find(f), std::string::npos) << m << "\nmissing: " << f;
    }
  }
}

}  // namespace tl::test
