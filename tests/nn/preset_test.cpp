// Presets and calculators: parameter counts equal those of the Hugging Face classes (param_counts.json, made by
// scripts/gen_moe_fixtures.py on the meta device) and the published numbers; FLOPs, KV cache, activation
// memory and MoE active parameters checked against hand computations.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tl/error.h"
#include "tl/json.h"
#include "tl/nn/presets.h"

namespace tl::nn {
namespace {

json::Value read_counts() {
  std::ifstream f(std::string(TL_FIXTURE_DIR) + "/moe/param_counts.json");
  std::stringstream ss;
  ss << f.rdbuf();
  return json::parse(ss.str());
}

// Exact: integer counts.
TEST(Presets, PublishedCounts) {
  EXPECT_EQ(param_count(preset("bert-base")).total, 109482240);
  EXPECT_EQ(param_count(preset("gpt2")).total, 124439808);
  EXPECT_EQ(param_count(preset("llama-2-7b")).total, 6738415616);
  EXPECT_EQ(param_count(preset("mistral-7b")).total, 7241732096);
  EXPECT_EQ(param_count(preset("mixtral-8x7b")).total, 46702792704);
  EXPECT_EQ(param_count(preset("llama-2-70b")).total, 68976648192);
  EXPECT_EQ(param_count(preset("t5-small")).total, 60506624);
}

TEST(Presets, EveryCountEqualsTransformers) {
  json::Value counts = read_counts();
  int checked = 0;
  for (const auto& p : all_presets()) {
    const json::Value* c = counts.find(p.name);
    if (!c) {
      EXPECT_EQ(p.name, "gshard-base-8") << "only the GShard variant has no HF class";
      continue;
    }
    EXPECT_EQ(param_count(p).total, c->as_int()) << p.name;
    ++checked;
  }
  EXPECT_EQ(checked, 29);
}

TEST(Presets, ArchitectureFacts) {
  const auto& l = preset("llama-2-7b");
  EXPECT_EQ(l.norm, NormType::rms_norm);
  EXPECT_EQ(l.pos, PosKind::rope);
  EXPECT_EQ(l.mlp, MlpKind::swiglu);
  EXPECT_TRUE(l.causal);
  EXPECT_EQ(preset("llama-2-70b").n_kv_heads, 8);
  EXPECT_EQ(preset("falcon-40b").n_kv_heads, 8);
  EXPECT_TRUE(preset("falcon-40b").parallel_block);
  EXPECT_EQ(preset("mistral-7b").sliding_window, 4096);
  EXPECT_FALSE(preset("bert-base").causal);
  EXPECT_EQ(preset("t5-v1_1-base").mlp, MlpKind::gated_gelu);
  EXPECT_FALSE(preset("t5-v1_1-base").tied_embeddings);
  EXPECT_EQ(preset("mixtral-8x7b").moe.top_k, 2);
  EXPECT_EQ(preset("switch-base-8").moe.routing, Routing::switch_top1);
}

TEST(Presets, UnknownNameListsKnownOnes) {
  try {
    preset("llama-9");
    FAIL();
  } catch (const ValueError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("llama-9"), std::string::npos) << m;
    EXPECT_NE(m.find("mixtral-8x7b"), std::string::npos) << m;
  }
}

// Mixtral: 2 of 8 experts per token; active = total - 32 layers * 6 experts * 3*4096*14336 = 12,879,925,248
// (Mistral AI's published "12.9B active").
TEST(Calculators, MoeActiveParams) {
  ParamCount c = param_count(preset("mixtral-8x7b"));
  EXPECT_EQ(c.per_expert, 3LL * 4096 * 14336);
  EXPECT_EQ(c.moe_layers, 32);
  EXPECT_EQ(c.active, 12879925248LL);
  ParamCount s = param_count(preset("switch-base-8"));
  EXPECT_EQ(s.moe_layers, 12);  // 6 of 12 encoder + 6 of 12 decoder layers
  EXPECT_EQ(s.active, s.total - 12 * 7 * (2LL * 768 * 3072));
  EXPECT_EQ(param_count(preset("gpt2")).active, param_count(preset("gpt2")).total);
  // GShard-style top-2 on the Switch backbone: same weights, twice the active experts.
  ParamCount gs = param_count(preset("gshard-base-8"));
  EXPECT_EQ(gs.total, s.total);
  EXPECT_EQ(gs.active, s.active + 12 * (2LL * 768 * 3072));
}

// Llama-2-7b, 16-bit: 2 (K,V) * 32 layers * 32 kv heads * 128 * 2 bytes = 524,288 bytes per token;
// Llama-2-70b's 8 KV heads: 2 * 80 * 8 * 128 * 2 = 327,680; Mistral's window caps the cache at 4096 tokens.
TEST(Calculators, KvCache) {
  EXPECT_EQ(kv_cache_bytes_per_token(preset("llama-2-7b")), 524288);
  EXPECT_EQ(kv_cache_bytes_per_token(preset("llama-2-70b")), 327680);
  EXPECT_EQ(kv_cache_bytes(preset("llama-2-7b"), 1000), 524288000);
  const auto& m = preset("mistral-7b");
  EXPECT_EQ(kv_cache_bytes(m, 8192), 4096 * kv_cache_bytes_per_token(m));
  EXPECT_EQ(kv_cache_bytes_per_token(preset("bert-base")), 0);
  EXPECT_EQ(kv_cache_bytes_per_token(preset("t5-small"), 4), 2 * 6 * 8 * 64 * 4);
  EXPECT_THROW(kv_cache_bytes_per_token(preset("gpt2"), 0), ValueError);
}

// GPT-2: matmul params = total - wte (50257*768) - wpe (1024*768) + tied head (50257*768)
//      = 124,439,808 - 786,432 = 123,653,376; attention 4 * 12 layers * 768 * n.
TEST(Calculators, ForwardFlops) {
  const auto& g = preset("gpt2");
  EXPECT_EQ(forward_flops_per_token(g, 1), 2 * 123653376LL + 4 * 12 * 768);
  EXPECT_EQ(forward_flops_per_token(g, 1024) - forward_flops_per_token(g, 1), 4LL * 12 * 768 * 1023);
  // Llama-2-7b: untied head already in the params; lookup = 32000*4096.
  const auto& l = preset("llama-2-7b");
  EXPECT_EQ(forward_flops_per_token(l, 4096), 2 * (6738415616LL - 32000LL * 4096) + 4LL * 32 * 4096 * 4096);
  // Mistral's sliding window: keys stop growing at 4096.
  const auto& m = preset("mistral-7b");
  EXPECT_EQ(forward_flops_per_token(m, 8192), forward_flops_per_token(m, 4096));
  // Mixtral: only the active experts.
  const auto& x = preset("mixtral-8x7b");
  EXPECT_EQ(forward_flops_per_token(x, 1), 2 * (12879925248LL - 32000LL * 4096) + 4 * 32 * 4096);
  // T5 (tied head): the embedding is a lookup once and the head's matmul once, so 2 * total; attention in
  // 6 encoder + 2 * 6 decoder (self + cross) layers over 8 heads x 64.
  const auto& t = preset("t5-small");
  EXPECT_EQ(forward_flops_per_token(t, 512), 2 * 60506624LL + 4LL * 18 * 8 * 64 * 512);
  EXPECT_THROW(forward_flops_per_token(g, 0), ValueError);
}

// Korthikanti et al.: GPT-2, s = 1024, b = 1: 12 * (1024*768*34 + 5*12*1024^2) bytes.
TEST(Calculators, ActivationMemory) {
  EXPECT_EQ(activation_bytes(preset("gpt2"), 1024, 1), 12LL * (1024 * 768 * 34 + 5LL * 12 * 1024 * 1024));
  EXPECT_EQ(activation_bytes(preset("gpt2"), 1024, 4), 4 * activation_bytes(preset("gpt2"), 1024, 1));
  EXPECT_THROW(activation_bytes(preset("gpt2"), 0, 1), ValueError);
}

TEST(Calculators, DescribeMentionsTheNumbers) {
  std::string t = describe(preset("mixtral-8x7b"), 4096);
  EXPECT_NE(t.find("46,702,792,704"), std::string::npos) << t;
  EXPECT_NE(t.find("12,879,925,248"), std::string::npos) << t;
  json::Value j = json::parse(describe_json(preset("llama-2-70b"), 4096));
  EXPECT_EQ(j.find("calculators")->find("params")->as_int(), 68976648192LL);
  EXPECT_EQ(j.find("n_kv_heads")->as_int(), 8);
}

}  // namespace
}  // namespace tl::nn
