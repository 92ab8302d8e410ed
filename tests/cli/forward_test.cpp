// `tlt forward` end to end on the tiny model fixtures (tests/fixtures/models, scripts/gen_model_fixtures.py):
// the written .npy equals Hugging Face's logits within 1e-4, and bad arguments fail with a message.
#include <gtest/gtest.h>

#include "cli_util.h"
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "tl/npy.h"

namespace {

using tl::cli_test::Result;
using tl::cli_test::run_tlt;

std::string models() {
  return std::string(TL_FIXTURE_DIR) + "/models/";
}
std::string tmp(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("tlt_forward_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

// The fixture's ids as "--tokens a,b,c" flags, one per row.
std::string tokens_flags(const tl::Tensor& ids) {
  std::string s;
  for (int64_t b = 0; b < ids.size(0); ++b) {
    s += " --tokens ";
    for (int64_t t = 0; t < ids.size(1); ++t) s += (t ? "," : "") + std::to_string(int64_t(ids.get({b, t})));
  }
  return s;
}

double max_abs_diff(const tl::Tensor& a, const tl::Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  if (a.shape() != b.shape()) return INFINITY;
  const auto x = a.to_f64_vector(), y = b.to_f64_vector();
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::abs(x[i] - y[i]));
  return m;
}

// Tolerance 1e-4: fp32 on both sides (see tests/models/decoder_parity_test.cpp).
TEST(CliForward, LlamaLogitsAndHiddenMatchTransformers) {
  const std::string out = tmp("llama.npy");
  const tl::Tensor ids = tl::read_npy(models() + "llama/ids.npy");
  Result r = run_tlt("forward " + models() + "llama" + tokens_flags(ids) + " -o " + out);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_LE(max_abs_diff(tl::read_npy(out), tl::read_npy(models() + "llama/logits.npy")), 1e-4);
  r = run_tlt("forward " + models() + "llama" + tokens_flags(ids) + " --output hidden -o " + out);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_LE(max_abs_diff(tl::read_npy(out), tl::read_npy(models() + "llama/hidden.npy")), 1e-4);
  std::filesystem::remove(out);
}

TEST(CliForward, T5AndVit) {
  const std::string out = tmp("t5.npy");
  const tl::Tensor ids = tl::read_npy(models() + "t5/ids.npy"),
                   dec = tl::read_npy(models() + "t5/decoder_ids.npy");
  std::string dflags = tokens_flags(dec);
  for (size_t p = dflags.find("--tokens"); p != std::string::npos; p = dflags.find("--tokens", p + 20))
    dflags.replace(p, 8, "--decoder-tokens");
  Result r = run_tlt("forward " + models() + "t5" + tokens_flags(ids) + dflags + " -o " + out);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_LE(max_abs_diff(tl::read_npy(out), tl::read_npy(models() + "t5/logits.npy")), 1e-4);
  r = run_tlt("forward " + models() + "vit --pixels " + models() + "vit/pixels.npy -o " + out);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_LE(max_abs_diff(tl::read_npy(out), tl::read_npy(models() + "vit/logits.npy")), 1e-4);
  std::filesystem::remove(out);
}

TEST(CliForward, ErrorsNameTheProblem) {
  Result r = run_tlt("forward " + models() + "llama --tokens 1,x,3 -o " + tmp("e.npy"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("\"x\""), std::string::npos) << r.out;
  r = run_tlt("forward " + models() + "llama --tokens 1,2,999 -o " + tmp("e.npy"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("999"), std::string::npos) << r.out;
  r = run_tlt("forward " + models() + "llama --tokens 1,2 --tokens 3 -o " + tmp("e.npy"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("equal length"), std::string::npos) << r.out;
  r = run_tlt("forward --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("usage: tlt forward"), std::string::npos) << r.out;
}

}  // namespace
