// `tlt inspect` end to end (the tlt built beside this test): help, text and JSON output, unknown preset.
#include <gtest/gtest.h>

#include "cli_util.h"

#include <array>
#include <cstdio>
#include <string>
#include <sys/wait.h>

#include "tl/json.h"

namespace {

using tl::cli_test::Result;
using tl::cli_test::run_tlt;

TEST(CliInspect, Help) {
  Result r = run_tlt("inspect --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("usage: tlt inspect"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("mixtral-8x7b"), std::string::npos) << r.out;
}

TEST(CliInspect, TextShowsArchitectureAndCounts) {
  Result r = run_tlt("inspect --preset llama-2-7b");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("6,738,415,616"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rms_norm"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rope"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("swiglu"), std::string::npos) << r.out;
}

TEST(CliInspect, Json) {
  Result r = run_tlt("inspect --preset mixtral-8x7b --json --context 4096");
  ASSERT_EQ(r.code, 0) << r.out;
  tl::json::Value j = tl::json::parse(r.out);
  EXPECT_EQ(j.find("calculators")->find("params")->as_int(), 46702792704LL);
  EXPECT_EQ(j.find("calculators")->find("active_params")->as_int(), 12879925248LL);
  EXPECT_EQ(j.find("calculators")->find("context")->as_int(), 4096);
  EXPECT_EQ(j.find("moe")->find("top_k")->as_int(), 2);
}

TEST(CliInspect, UnknownPresetListsKnown) {
  Result r = run_tlt("inspect --preset gpt-5");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("gpt-5"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bert-base"), std::string::npos) << r.out;
  Result m = run_tlt("inspect");
  EXPECT_EQ(m.code, 1);
  EXPECT_NE(m.out.find("--preset"), std::string::npos) << m.out;
  Result c = run_tlt("inspect --preset gpt2 --context 0");
  EXPECT_EQ(c.code, 1);
}

}  // namespace
