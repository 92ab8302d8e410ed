// `tlt bench` on the tiny fixture models (tests/fixtures/models): the output format and the JSON fields that
// scripts/bench_models_peers.py reads, the KV-cache byte count, and errors. Speed is not asserted.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <map>
#include <fstream>
#include <sstream>
#include <string>

#include "cli_util.h"
#include "tl/io/hf_config.h"
#include "tl/io/safetensors.h"
#include "tl/json.h"
#include "tl/models.h"

namespace {

using tl::cli_test::run_tlt;

const std::string kModels = std::string(TL_FIXTURE_DIR) + "/models";

// The JSON object line of `out` (stdout and stderr are merged by run_tlt).
tl::json::Value json_of(const std::string& out) {
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line[0] == '{') return tl::json::parse(line);
  ADD_FAILURE() << "no JSON line in: " << out;
  return tl::json::parse("{}");
}

void expect_positive(const tl::json::Value& j, const char* key) {
  ASSERT_NE(j.find(key), nullptr) << key;
  EXPECT_GT(j.as_object().at(key).as_double(), 0) << key;
}

TEST(CliBench, PromptJson) {
  auto r = run_tlt("bench prompt " + kModels + "/llama --tokens 8 --reps 2 --threads 1 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = json_of(r.out);
  EXPECT_EQ(j.as_object().at("bench").as_string(), "prompt");
  EXPECT_EQ(j.as_object().at("tokens").as_int(), 8);
  EXPECT_EQ(j.as_object().at("threads").as_int(), 1);
  EXPECT_EQ(j.as_object().at("reps").as_int(), 2);
  for (const char* k : {"tok_s", "best_s", "median_s", "first_s", "peak_rss_bytes", "weight_bytes", "rss_bar_bytes",
                        "rss_over_bar"})
    expect_positive(j, k);
  EXPECT_LE(j.as_object().at("best_s").as_double(), j.as_object().at("median_s").as_double());
  // Generation's prefill: the cache holds the 8 prompt positions and the one new token (2 layers x K and V x 2 KV
  // heads x 12 x 9 positions, f32); only the last position's logits.
  EXPECT_EQ(j.as_object().at("logits").as_string(), "last");
  EXPECT_EQ(j.as_object().at("kv_bytes").as_int(), 2 * 2 * 2 * 12 * 9 * 4);
  // The fixture: vocab 199, d 48, 2 layers, 4 heads x 12, 2 KV heads, FFN 88, untied head; f32.
  const int64_t params = 199 * 48 * 2 + 48 + 2 * (2 * 48 + 48 * 48 * 2 + 48 * 24 * 2 + 3 * 48 * 88);
  EXPECT_EQ(j.as_object().at("weight_bytes").as_int(), params * 4);
  // --all-logits: Model::forward, no cache.
  auto f = run_tlt("bench prompt " + kModels + "/llama --tokens 8 --reps 1 --threads 1 --json --all-logits");
  ASSERT_EQ(f.code, 0) << f.out;
  const auto jf = json_of(f.out);
  EXPECT_EQ(jf.as_object().at("logits").as_string(), "all");
  EXPECT_EQ(jf.as_object().at("kv_bytes").as_int(), 0);
  expect_positive(jf, "tok_s");
}

TEST(CliBench, DecodeJsonAndKvBytes) {
  for (int ctx : {0, 4}) {
    auto r = run_tlt("bench decode " + kModels + "/llama --context " + std::to_string(ctx) +
                     " --tokens 3 --reps 1 --json");
    ASSERT_EQ(r.code, 0) << r.out;
    const auto j = json_of(r.out);
    EXPECT_EQ(j.as_object().at("bench").as_string(), "decode");
    EXPECT_EQ(j.as_object().at("context").as_int(), ctx);
    EXPECT_EQ(j.as_object().at("tokens").as_int(), 3);
    expect_positive(j, "tok_s");
    expect_positive(j, "peak_rss_bytes");
    // The cache holds at least the prompt (at least one token) and the 3 + 1 new ones (the prompt step's too).
    const int64_t positions = j.as_object().at("kv_positions").as_int();
    EXPECT_GE(positions, (ctx ? ctx : 1) + 4);
    // 2 layers x (K, V) x 2 KV heads x head_dim 12 x positions x 4 bytes.
    EXPECT_EQ(j.as_object().at("kv_bytes").as_int(), 2 * 2 * 2 * 12 * positions * 4);
    expect_positive(j, "prefill_s");
  }
}

// Prompt and decode report the activation precision of q8_0 / q4_0 decode products: int8 by default (as tlt
// generate), f32 with --f32-activations.
TEST(CliBench, ActivationPrecisionIsReported) {
  const std::string tiny = std::string(TL_FIXTURE_DIR) + "/gguf_write/tiny_llama";
  for (const char* what : {"prompt", "decode"}) {
    const std::string cmd =
        std::string("bench ") + what + " " + tiny + " --tokens 3 --reps 1 --json --weight-format q8_0";
    auto d = run_tlt(cmd);
    ASSERT_EQ(d.code, 0) << d.out;
    EXPECT_EQ(json_of(d.out).as_object().at("activations").as_string(), "int8") << what;
    auto f = run_tlt(cmd + " --f32-activations");
    ASSERT_EQ(f.code, 0) << f.out;
    EXPECT_EQ(json_of(f.out).as_object().at("activations").as_string(), "f32") << what;
  }
}

// --profile: per op kind the calls over the timed runs only (not the warm-up), seconds within the timed total.
TEST(CliBench, ProfileCountsTheTimedRunsOps) {
  auto r = run_tlt("bench decode " + kModels + "/llama --tokens 3 --reps 2 --threads 1 --json --profile");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = json_of(r.out);
  const double timed = j.as_object().at("profile_timed_s").as_double();
  EXPECT_GT(timed, 0);
  ASSERT_NE(j.find("profile"), nullptr);
  double sum = 0;
  std::map<std::string, int64_t> calls;
  for (const auto& e : j.as_object().at("profile").as_array()) {
    calls[e.as_object().at("op").as_string()] = e.as_object().at("calls").as_int();
    sum += e.as_object().at("seconds").as_double();
  }
  EXPECT_LE(sum, timed * 1.01);
  // The fixture has 2 layers, each with an rms_norm before attention and one before the MLP, and a final norm;
  // each timed generate() runs the graph 4 times (the one-token prompt step and 3 steps): 2 x 4 x 5 norms and
  // 2 x 4 x 2 attentions (the warm-up run not counted).
  EXPECT_EQ(calls["rms_norm"], 40) << r.out;
  EXPECT_EQ(calls["attention"], 16) << r.out;
  // Text form: a table ending with the time outside the graph.
  auto t = run_tlt("bench prompt " + kModels + "/llama --tokens 4 --reps 1 --threads 1 --profile");
  ASSERT_EQ(t.code, 0) << t.out;
  for (const char* k : {"us per call", "rms_norm", "(outside the graph)"})
    EXPECT_NE(t.out.find(k), std::string::npos) << k << " in\n" << t.out;
  auto g = run_tlt("bench graph --preset llama-2-7b --profile");
  EXPECT_NE(g.code, 0);
  EXPECT_NE(g.out.find("--profile"), std::string::npos) << g.out;
}

TEST(CliBench, EmbedText) {
  auto r = run_tlt("bench embed " + kModels + "/bert --batch 2 --seq 5 --reps 1");
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* k : {"bench            embed", "batch            2", "seq              5", "seq_s", "tok_s",
                        "peak_rss_bytes", "rss_over_bar"})
    EXPECT_NE(r.out.find(k), std::string::npos) << k << " in\n" << r.out;
}

TEST(CliBench, GraphFromPresetWithoutWeights) {
  auto r = run_tlt("bench graph --preset llama-2-7b --reps 1 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = json_of(r.out);
  EXPECT_EQ(j.as_object().at("preset").as_string(), "llama-2-7b");
  EXPECT_EQ(j.as_object().at("layers").as_int(), 32);
  for (const char* k : {"nodes", "nodes_optimised", "build_ms", "optimise_ms", "plan_ms", "total_ms"})
    expect_positive(j, k);
  EXPECT_LE(j.as_object().at("nodes_optimised").as_int(), j.as_object().at("nodes").as_int());
  EXPECT_EQ(j.as_object().at("weight_bytes").as_int(), int64_t(6738415616) * 4);  // LlamaForCausalLM 7B, f32 (logical)
  // Zero-stride weights: the 27 GB of logical weights are never allocated.
  EXPECT_LT(j.as_object().at("peak_rss_bytes").as_int(), int64_t(2) << 30);
}

// Loading f32 safetensors into a reduced format must not hold an f32 weight twice: the weights that stay f32
// (here a tied 65536 x 256 embedding, 64 MiB, also quantised as the LM head's copy) are copied off the mapping
// piece by piece, each piece's mapped pages dropped as it is copied. Before, the whole mapped embedding stayed
// resident beside its copy, and peak RSS exceeded the weights by the embedding's size plus the runtime's base.
TEST(CliBench, QuantisedLoadHoldsNoWeightTwice) {
#ifdef __SANITIZE_ADDRESS__
  GTEST_SKIP() << "ASan's shadow memory and quarantine make resident memory meaningless";
#endif
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("tl_cli_bench_rss_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    std::ifstream in(kModels + "/llama/config.json");
    std::stringstream ss;
    ss << in.rdbuf();
    auto config = tl::json::parse(ss.str());
    auto& o = config.as_object();
    o.set("vocab_size", tl::json::Value(int64_t(65536)));
    o.set("hidden_size", tl::json::Value(int64_t(256)));
    o.set("head_dim", tl::json::Value(int64_t(64)));
    o.set("num_hidden_layers", tl::json::Value(int64_t(1)));
    o.set("intermediate_size", tl::json::Value(int64_t(512)));
    o.set("tie_word_embeddings", tl::json::Value(true));
    std::ofstream(dir / "config.json") << tl::json::dump(config);
  }
  tl::io::NamedTensors w;
  uint32_t x = 12345;
  for (const auto& spec : tl::models::expected_weights(tl::io::HfConfig::load(dir.string()))) {
    tl::Tensor t = tl::Tensor::empty(spec.shape);
    for (int64_t i = 0; i < t.numel(); ++i) {
      x = x * 1664525u + 1013904223u;  // LCG: cheap values in [-0.05, 0.05)
      t.data<float>()[i] = (float(x >> 8) / float(1 << 24) - 0.5f) * 0.1f;
    }
    w.emplace_back(spec.name, t);
  }
  tl::io::save_safetensors((dir / "model.safetensors").string(), w);
  w.clear();
  auto r = run_tlt("bench decode " + dir.string() + " --weight-format q8_0 --tokens 2 --reps 1 --threads 1 --json");
  std::error_code ec;
  fs::remove_all(dir, ec);
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = json_of(r.out);
  const int64_t weights = j.as_object().at("weight_bytes").as_int(), rss = j.as_object().at("peak_rss_bytes").as_int();
  const int64_t embedding = int64_t(65536) * 256 * 4;
  EXPECT_GT(weights, embedding);  // the f32 embedding, its q8_0 head copy and the layer
  // The runtime's own base (code, libraries, activations) is ~20 MB; the doubled embedding would add 64 MiB.
  EXPECT_LT(rss - weights, embedding * 3 / 4) << "peak RSS " << rss << ", weights " << weights;
}

TEST(CliBench, Errors) {
  auto r = run_tlt("bench nope " + kModels + "/llama");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("unknown workload \"nope\""), std::string::npos) << r.out;
  r = run_tlt("bench graph --preset gpt2");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("not a LLaMA-family decoder"), std::string::npos) << r.out;
  r = run_tlt("bench prompt");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("expected one MODEL directory"), std::string::npos) << r.out;
  r = run_tlt("bench prompt " + kModels + "/llama --tokens 0");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("--tokens must be >= 1, got 0"), std::string::npos) << r.out;
  r = run_tlt("bench decode " + kModels + "/bert");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("no KV-cache decoding"), std::string::npos) << r.out;
  r = run_tlt("bench");
  EXPECT_EQ(r.code, 2);
}

}  // namespace
