// `tlt quantize` end to end (the tlt built beside this test): the summary line, the file it writes, and the
// errors the command itself reports (unknown type listing the valid ones, block type to safetensors, an
// architecture GGUF export does not support, an unwritable path). The numerical checks are in
// tests/models/quantize_test.cpp.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "cli_util.h"

namespace {

using tl::cli_test::Result;
using tl::cli_test::run_tlt;
namespace fs = std::filesystem;

std::string tiny() {
  return std::string(TL_FIXTURE_DIR) + "/gguf_write/tiny_llama";
}

struct Tmp {
  fs::path dir = fs::temp_directory_path() / ("tl_cli_quant_" + std::to_string(::getpid()));
  Tmp() { fs::create_directories(dir); }
  ~Tmp() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

TEST(CliQuantize, Help) {
  Result r = run_tlt("quantize --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("usage: tlt quantize MODEL --type TYPE -o OUT"), std::string::npos) << r.out;
}

TEST(CliQuantize, WritesGgufAndPrintsSummary) {
  Tmp t;
  const std::string out = (t.dir / "tiny-q4_1.gguf").string();
  Result r = run_tlt("quantize " + tiny() + " --type q4_1 -o " + out);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("21 tensors (F32 5, Q4_1 15, Q8_0 1)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("MB ->"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(out));
  Result g = run_tlt("quantize " + out + " --type f16 -o " + (t.dir / "back.safetensors").string());
  EXPECT_EQ(g.code, 0) << g.out;
  EXPECT_NE(g.out.find("F16 16"), std::string::npos) << g.out;
}

TEST(CliQuantize, Errors) {
  Tmp t;
  const std::string out = (t.dir / "x.gguf").string();
  Result r = run_tlt("quantize " + tiny() + " --type q5_k -o " + out);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("--type \"q5_k\" is not a valid type (valid: q8_0, q4_0, q4_1, bf16, f16, f32)"),
            std::string::npos)
      << r.out;
  r = run_tlt("quantize " + tiny() + " --type q8_0 -o " + (t.dir / "x.safetensors").string());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("block format"), std::string::npos) << r.out;
  r = run_tlt("quantize " + std::string(TL_FIXTURE_DIR) + "/models/bert --type f16 -o " + out);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("model_type \"bert\" cannot be written as GGUF (supported: llama"), std::string::npos) << r.out;
  r = run_tlt("quantize " + tiny() + " --type f16 -o " + (t.dir / "missing" / "x.gguf").string());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("cannot open for writing"), std::string::npos) << r.out;
  r = run_tlt("quantize " + tiny() + " -o " + out);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("missing --type"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
