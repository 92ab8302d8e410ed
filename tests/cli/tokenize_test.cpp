// `tlt tokenize` end to end: ids for a fixture tokenizer equal tokenizers' (from parity.json), decode, flags,
// and errors (exit code 1, one line naming the problem).
#include <gtest/gtest.h>

#include "cli_util.h"

#include <array>
#include <cstdio>
#include <string>
#include <sys/wait.h>

namespace {

using tl::cli_test::Result;
Result run(const std::string& args) { return tl::cli_test::run_tlt(args); }

const std::string kTok = std::string(TL_FIXTURE_DIR) + "/tokenizer/";

}  // namespace

TEST(CliTokenize, EncodeDecodeAndFlags) {
  Result h = run("tokenize --help");
  EXPECT_EQ(h.code, 0);
  EXPECT_NE(h.out.find("usage: tlt tokenize"), std::string::npos) << h.out;
  // Ids from tokenizers 0.22.2 (parity.json, corpus[0] for gpt2 and minilm).
  Result g = run("tokenize " + kTok + "gpt2.json.gz --text 'Hello world! This is a test.'");
  ASSERT_EQ(g.code, 0) << g.out;
  EXPECT_EQ(g.out, "15496,995,0,770,318,257,1332,13\n");
  Result m = run("tokenize " + kTok + "minilm.json.gz --text 'Hello world! This is a test.' --no-pad");
  EXPECT_EQ(m.out, "101,7592,2088,999,2023,2003,1037,3231,1012,102\n");
  Result ns = run("tokenize " + kTok + "minilm.json.gz --text 'Hello world!' --no-pad --no-special");
  EXPECT_EQ(ns.out, "7592,2088,999\n");
  Result padded = run("tokenize " + kTok + "minilm.json.gz --text 'Hello' --count");
  EXPECT_EQ(padded.out, "128\n");  // the file pads to a fixed 128
  Result t = run("tokenize " + kTok + "gpt2.json.gz --text 'Hello world' --tokens");
  EXPECT_EQ(t.out, "15496\tHello\n995\t\xC4\xA0world\n");
  Result d = run("tokenize " + kTok + "gpt2.json.gz --decode 15496,995,50256");
  EXPECT_EQ(d.out, "Hello world<|endoftext|>\n");
  Result ds = run("tokenize " + kTok + "gpt2.json.gz --decode 15496,995,50256 --skip-special");
  EXPECT_EQ(ds.out, "Hello world\n");
}

TEST(CliTokenize, ErrorsExitOne) {
  Result bad = run("tokenize " + kTok + "gpt2.json.gz --text \"$(printf '\\377\\376')\"");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("not valid UTF-8"), std::string::npos) << bad.out;
  Result missing = run("tokenize /nonexistent/tok.json --text hi");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.out.find("/nonexistent/tok.json"), std::string::npos) << missing.out;
  Result ids = run("tokenize " + kTok + "gpt2.json.gz --decode 1,-2");
  EXPECT_EQ(ids.code, 1);
  EXPECT_NE(ids.out.find("--decode"), std::string::npos) << ids.out;
  Result none = run("tokenize " + kTok + "gpt2.json.gz");
  EXPECT_EQ(none.code, 1);
  EXPECT_NE(none.out.find("exactly one of --text, --file, --decode"), std::string::npos) << none.out;
}
