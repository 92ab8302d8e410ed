// `tlt run` end to end (the tlt built beside this test, TLT_BINARY): exit codes, one-line errors, TSV and
// .npy outputs against the fixtures of tests/fixtures/logic.
#include <gtest/gtest.h>

#include "cli_util.h"
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "../logic/logic_test_util.h"
#include "tl/logic.h"
#include "tl/npy.h"

namespace fs = std::filesystem;
using tl_logic_test::example;
using tl_logic_test::fixture;
using tl_logic_test::read_text;

namespace {

using tl::cli_test::Result;
Result run(const std::string& args) { return tl::cli_test::run_tlt("run " + args); }

std::string tmp(const std::string& name) {
  return (fs::temp_directory_path() / ("tl_logic_cli_" + std::to_string(getpid()) + "_" + name)).string();
}

class TltRun : public ::testing::Test {};

TEST_F(TltRun, QueryAndTsvOutputMatchReference) {
  std::string out = tmp("anc.tsv");
  Result r = run(example("ancestors.tl") + " --output Ancestor=" + out);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(read_text(out), read_text(fixture("dl_ancestors/Ancestor.tsv")));
  r = run(example("unreachable.tl") + " --facts Edge=" + example("edges.tsv") + " --query Unreached");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(read_text(fixture("dl_unreachable_tsv/Unreached.tsv"))), std::string::npos) << r.out;
  fs::remove(out);
}

// Every optimisation level gives the NumPy result (the passes must not change the numbers).
TEST_F(TltRun, NpyInputsAndOutputs) {
  std::string d = fixture("eq_attention/");
  for (const char* level : {"none", "basic", "full"}) {
    std::string out = tmp("attn.npy");
    Result r = run(example("attention.tl") + " --input Query=" + d + "in_Query.npy --input Key=" + d +
                   "in_Key.npy -i Val=" + d + "in_Val.npy --output=Attn=" + out + " --opt " + level);
    ASSERT_EQ(r.code, 0) << level << ": " << r.out;
    auto got = tl::read_npy(out).to_f64_vector(), want = tl::read_npy(d + "out_Attn.npy").to_f64_vector();
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_NEAR(got[i], want[i], 2e-5 + 2e-5 * std::fabs(want[i])) << level;  // as test_equations
    fs::remove(out);
  }
}

// The transformer block of examples/ through `tlt run`: parameters bound by name with -i, or from a
// safetensors file with --weights; the output against the PyTorch reference (tests/logic/test_tl_block.cpp).
TEST_F(TltRun, TransformerBlockWithInputsOrWeights) {
  std::string d = std::string(TL_FIXTURE_DIR) + "/tl_block/odd/";
  std::string params;
  for (const char* p : {"Wq", "Bq", "Wk", "Bk", "Wv", "Bv", "Wo", "Bo", "Ln1W", "Ln1B", "W1", "B1", "W2",
                        "B2", "Ln2W", "Ln2B"})
    params += std::string(" -i ") + p + "=" + d + "in_" + p + ".npy";
  for (const std::string& bind : {params, " --weights " + d + "weights.safetensors"}) {
    std::string out = tmp("y.npy");
    Result r = run(example("transformer_block.tl") + " -i X=" + d + "in_X.npy" + bind + " -o Y=" + out);
    ASSERT_EQ(r.code, 0) << r.out;
    auto got = tl::read_npy(out).to_f64_vector(), want = tl::read_npy(d + "out_Y.npy").to_f64_vector();
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5);  // the bound
    fs::remove(out);
  }
  // A weights file with none of the program's params.
  Result r = run(example("transformer_block.tl") + " -i X=" + d + "in_X.npy --weights " + d +
                 "../unrelated.safetensors");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("none of the program's params (16 declared) is in the file"), std::string::npos)
      << r.out;
}

// `.input` / `.output` with --facts-dir / --output-dir, and the round cap from the command line.
TEST_F(TltRun, DeclaredInputsAndOutputDir) {
  std::string dir = tmp("outdir");
  Result r = run(example("paths.tl") + " -F " + example("facts") + " -D " + dir);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(read_text(dir + "/Hops.tsv"), "a\t3\nb\t3\nc\t3\nd\t3\ne\t4\n");
  std::string path = read_text(dir + "/Path.tsv");
  EXPECT_EQ(std::count(path.begin(), path.end(), '\n'), 16);
  // Without --output-dir the .output relations are printed; --facts overrides the facts dir for Edge.
  r = run(example("paths.tl") + " --facts Edge=" + example("edges.tsv"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("# Path:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("# Hops:"), std::string::npos) << r.out;
  r = run(example("paths.tl") + " -F /nonexistent_dir");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("'.input Edge': cannot find '/nonexistent_dir/Edge.tsv'"), std::string::npos) << r.out;
  r = run(example("paths.tl") + " -F " + example("facts") + " --max-rounds 1");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("fixpoint not reached after 1 rounds"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

TEST_F(TltRun, ErrorsAreOneLineAndExitOne) {
  struct Case {
    std::string args, expect;
  } cases[] = {
      {"/nonexistent.tl", "cannot read program file '/nonexistent.tl'"},
      {example("ancestors.tl") + " --query Nope", "no relation named 'Nope'"},
      {example("ancestors.tl") + " --output Ancestor=x.txt", "expected a .npy or .tsv file name"},
      {example("ancestors.tl") + " --input X", "expects NAME=FILE, got 'X'"},
      {example("ancestors.tl") + " --bogus", "unknown option '--bogus'"},
      {example("mlp.tl"), "missing"},
      {example("ancestors.tl") + " --facts Parent=" + fixture("dl_unreachable/Node.tsv"), "1 columns"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args);
    Result r = run(c.args);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find(c.expect), std::string::npos) << r.out;
    EXPECT_EQ(r.out.rfind("tlt run: error: ", 0), 0u) << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  }
}

}  // namespace
