// `tlt inspect` end to end (the tlt built beside this test): help, text and JSON output, unknown preset; and
// `tlt inspect MODEL` on the tiny model directories, whose parameter counts must equal transformers' (the
// counts in tests/fixtures/embed_pipeline/params.tsv, scripts/gen_embed_pipeline_fixtures.py) and whose KV
// bytes are recomputed here from config.json.
#include <gtest/gtest.h>

#include "cli_util.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
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

std::string fixtures() { return std::string(TL_FIXTURE_DIR); }

tl::json::Value config_of(const std::string& dir) {
  std::ifstream f(dir + "/config.json");
  std::stringstream ss;
  ss << f.rdbuf();
  return tl::json::parse(ss.str());
}

TEST(CliInspectModel, ParameterCountsEqualTransformers) {
  std::ifstream f(fixtures() + "/embed_pipeline/params.tsv");
  ASSERT_TRUE(f) << "params.tsv missing";
  int checked = 0;
  for (std::string line; std::getline(f, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream row(line);
    std::string name;
    int64_t hf = 0, st = 0;
    row >> name >> hf >> st;
    std::string dir = fixtures() + "/models/" + name;
    if (!std::ifstream(dir + "/config.json")) dir = fixtures() + "/embed_pipeline/" + name;
    Result r = run_tlt("inspect " + dir + " --json");
    ASSERT_EQ(r.code, 0) << name << ": " << r.out;
    tl::json::Value j = tl::json::parse(r.out);
    EXPECT_EQ(j.find("params")->as_int(), hf) << name;  // exact: model.parameters() in transformers
    EXPECT_EQ(j.find("weight_bytes")->as_int(), 4 * hf) << name;  // bound as f32
    ++checked;
  }
  EXPECT_EQ(checked, 11);
}

// K and V per token in f32: 2 * layers * kv_heads * head_dim * 4, from config.json.
TEST(CliInspectModel, KvCacheBytesFromConfig) {
  for (const char* fam : {"llama", "mistral", "mixtral", "gpt2"}) {
    const std::string dir = fixtures() + "/models/" + fam;
    const tl::json::Value c = config_of(dir);
    auto geti = [&](const char* a, const char* b) {
      const tl::json::Value* v = c.find(a);
      return (v && v->is_int() ? v : c.find(b))->as_int();
    };
    const int64_t layers = geti("num_hidden_layers", "n_layer"), heads = geti("num_attention_heads", "n_head");
    const int64_t d = geti("hidden_size", "n_embd");
    const tl::json::Value* kvh = c.find("num_key_value_heads");
    const int64_t kv_heads = kvh && kvh->is_int() ? kvh->as_int() : heads;
    const tl::json::Value* hd = c.find("head_dim");
    const int64_t head_dim = hd && hd->is_int() ? hd->as_int() : d / heads;
    const int64_t per_token = 2 * layers * kv_heads * head_dim * 4;
    const int64_t max_ctx = geti("max_position_embeddings", "n_positions");
    const tl::json::Value* w = c.find("sliding_window");
    const int64_t kept = w && w->is_int() ? std::min(max_ctx, w->as_int()) : max_ctx;
    Result r = run_tlt(std::string("inspect ") + dir + " --json --context 7");
    ASSERT_EQ(r.code, 0) << fam << ": " << r.out;
    tl::json::Value j = tl::json::parse(r.out);
    const tl::json::Value* kv = j.find("kv_cache");
    ASSERT_TRUE(kv && kv->is_object()) << r.out;
    EXPECT_EQ(kv->find("bytes_per_token")->as_int(), per_token) << fam;
    EXPECT_EQ(kv->find("max_context")->as_int(), max_ctx) << fam;
    EXPECT_EQ(kv->find("bytes_at_max_context")->as_int(), kept * per_token) << fam;
    EXPECT_EQ(kv->find("bytes_at_context")->as_int(), std::min<int64_t>(7, kept) * per_token) << fam;
    EXPECT_EQ(j.find("context")->as_int(), 7);
    // The presets' activation formula: layers * (s*h*34 + 5*a*s^2) for s = 7, batch 1.
    EXPECT_EQ(j.find("activation_bytes")->as_int(), layers * (7 * d * 34 + 5 * heads * 49)) << fam;
  }
}

TEST(CliInspectModel, TextAndEncoders) {
  Result r = run_tlt("inspect " + fixtures() + "/models/llama");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("family       llama"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("parameters   58,512"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("num_key_value_heads="), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bytes per token"), std::string::npos) << r.out;
  Result b = run_tlt("inspect " + fixtures() + "/models/bert --json");
  ASSERT_EQ(b.code, 0) << b.out;
  tl::json::Value j = tl::json::parse(b.out);
  EXPECT_TRUE(j.find("kv_cache")->is_null());  // an encoder keeps no cache
  EXPECT_EQ(j.find("family")->as_string(), "bert");
  EXPECT_EQ(j.find("config")->find("hidden_size")->as_int(),
            config_of(fixtures() + "/models/bert").find("hidden_size")->as_int());
  Result bad = run_tlt("inspect " + fixtures() + "/models/nope");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("nope"), std::string::npos) << bad.out;
  Result both = run_tlt("inspect " + fixtures() + "/models/llama --preset gpt2");
  EXPECT_EQ(both.code, 1);
}

}  // namespace
