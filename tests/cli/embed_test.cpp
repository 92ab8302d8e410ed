// `tlt embed` end to end on the sentence-transformers fixtures (tests/fixtures/embed_pipeline,
// scripts/gen_embed_pipeline_fixtures.py): the written .npy equals sentence-transformers' encode(), the summary
// prints shape / norms / cosine similarities, the no-modules.json fallback says so, and bad input fails with a
// message.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>

#include "cli_util.h"
#include "tl/npy.h"

namespace {

namespace fs = std::filesystem;
using tl::cli_test::Result;
using tl::cli_test::run_tlt;

std::string pipe(const std::string& name) { return std::string(TL_FIXTURE_DIR) + "/embed_pipeline/" + name; }
std::string tmp(const std::string& name) {
  return (fs::temp_directory_path() / ("tlt_embed_" + std::to_string(::getpid()) + "_" + name)).string();
}

// max |a - b| / max |b|; infinity when the shapes differ.
double rel_diff(const tl::Tensor& a, const tl::Tensor& b) {
  if (a.shape() != b.shape()) return INFINITY;
  const auto x = a.to_f64_vector(), y = b.to_f64_vector();
  double d = 0, m = 0;
  for (size_t i = 0; i < x.size(); ++i) d = std::max(d, std::abs(x[i] - y[i])), m = std::max(m, std::abs(y[i]));
  return d / m;
}

TEST(CliEmbed, Help) {
  Result r = run_tlt("embed --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("usage: tlt embed"), std::string::npos) << r.out;
}

TEST(CliEmbed, FileToNpyMatchesSentenceTransformers) {
  for (const char* d : {"mean_norm", "cls_dense", "max_sqrt", "wmean_last"}) {
    const std::string out = tmp(std::string(d) + ".npy");
    Result r = run_tlt("embed " + pipe(d) + " --file " + pipe("sentences.txt") + " -o " + out + " --batch-size 3");
    ASSERT_EQ(r.code, 0) << r.out;
    const tl::Tensor got = tl::read_npy(out), want = tl::read_npy(pipe(d) + "/expected.npy");
    fs::remove(out);
    const double rel = rel_diff(got, want);
    std::printf("[tlt embed %s] max abs diff / max |x| = %.3g\n", d, rel);
    EXPECT_LE(rel, 2e-6) << d;  // f32 sums in another order (see tests/models/embed_test.cpp)
  }
}

TEST(CliEmbed, SummaryWithoutOutput) {
  Result r = run_tlt("embed " + pipe("mean_norm") +
                     " --text 'The cat sits on the mat.' --text 'the cat sits on the mat' --text 'hello'");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("embeddings [3, 32] f32"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("mean -> Normalize"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("norm 1.000000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cosine similarity"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1.0000"), std::string::npos) << r.out;  // the diagonal
}

TEST(CliEmbed, FallbackWithoutModulesJsonIsNoted) {
  const fs::path d = tmp("fallback");
  fs::remove_all(d);
  fs::copy(pipe("mean_norm"), d, fs::copy_options::recursive);
  fs::remove(d / "modules.json");
  const std::string out = tmp("fallback.npy");
  Result r = run_tlt("embed " + d.string() + " --file " + pipe("sentences.txt") + " -o " + out);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("note: no modules.json"), std::string::npos) << r.out;
  EXPECT_LE(rel_diff(tl::read_npy(out), tl::read_npy(pipe("mean_norm") + "/expected_fallback.npy")), 2e-6);
  fs::remove(out);
  fs::remove_all(d);
}

TEST(CliEmbed, Errors) {
  Result none = run_tlt("embed " + pipe("mean_norm"));
  EXPECT_EQ(none.code, 1);
  EXPECT_NE(none.out.find("--text"), std::string::npos) << none.out;
  Result bs = run_tlt("embed " + pipe("mean_norm") + " --text hi --batch-size 0");
  EXPECT_EQ(bs.code, 1);
  EXPECT_NE(bs.out.find("--batch-size"), std::string::npos) << bs.out;
  Result nodir = run_tlt("embed " + pipe("nope") + " --text hi");
  EXPECT_EQ(nodir.code, 1);
  EXPECT_NE(nodir.out.find("nope"), std::string::npos) << nodir.out;
  Result nofile = run_tlt("embed " + pipe("mean_norm") + " --file " + pipe("nope.txt"));
  EXPECT_EQ(nofile.code, 1);
  EXPECT_NE(nofile.out.find("nope.txt"), std::string::npos) << nofile.out;
  // A BERT directory without a tokenizer.json.
  Result notok = run_tlt("embed " + std::string(TL_FIXTURE_DIR) + "/models/bert --text hi");
  EXPECT_EQ(notok.code, 1);
  EXPECT_NE(notok.out.find("tokenizer.json"), std::string::npos) << notok.out;
  Result two = run_tlt("embed a b --text hi");
  EXPECT_EQ(two.code, 1);
}

}  // namespace
