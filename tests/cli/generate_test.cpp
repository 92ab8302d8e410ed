// `tlt generate` end to end on the tiny LLaMA fixture (tests/fixtures/models/llama, scripts/gen_model_fixtures.py):
// the greedy ids on stdout equal Hugging Face's greedy continuation (greedy.npy) with and without the KV cache;
// sampling flags and non-generative models are refused with a message.
#include <gtest/gtest.h>

#include "cli_util.h"

#include <sstream>
#include <string>

#include "tl/npy.h"

namespace {

using tl::cli_test::run_tlt;

const std::string kLlama = std::string(TL_FIXTURE_DIR) + "/models/llama";

std::string ids_csv(const tl::Tensor& t) {
  tl::Tensor c = t.to(tl::DType::i64);
  std::ostringstream o;
  for (int64_t i = 0; i < c.numel(); ++i) o << (i ? "," : "") << c.data<int64_t>()[i];
  return o.str();
}

TEST(CliGenerate, GreedyIdsEqualTransformers) {
  const std::string prompt = ids_csv(tl::read_npy(kLlama + "/prompt.npy"));
  const std::string expected = ids_csv(tl::read_npy(kLlama + "/greedy.npy"));
  for (const char* extra : {"", " --no-cache"}) {
    auto r = run_tlt("generate " + kLlama + " --tokens " + prompt + " -n 32" + extra);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find(expected + "\n"), std::string::npos) << r.out;
  }
}

TEST(CliGenerate, RefusesWhatItCannotDo) {
  auto r = run_tlt("generate " + kLlama + " --tokens 1,2 --temp 0.7");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("sampling is not implemented yet"), std::string::npos) << r.out;
  r = run_tlt("generate " + std::string(TL_FIXTURE_DIR) + "/models/bert --tokens 1,2");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("bert is not a generative model"), std::string::npos) << r.out;
  r = run_tlt("generate " + kLlama + " --tokens 1,x");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("\"x\" in \"1,x\" is not an integer id"), std::string::npos) << r.out;
  r = run_tlt("generate " + kLlama + " --tokens 1,2 -n -3");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("-n must be >= 0"), std::string::npos) << r.out;
}

}  // namespace
