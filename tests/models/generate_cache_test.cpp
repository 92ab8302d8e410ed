// The generation loop on the tiny decoder fixtures (scripts/gen_model_fixtures.py, transformers 4.57.1):
// KV-cache greedy ids equal the recomputed ones and transformers' (GPT-2 included), batched rows equal their
// solo runs (greedy and sampled), stop tokens and stop strings, streaming text, and the capacity: LLaMA stops
// when full, Mistral's sliding window rolls through 10,000 tokens.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "model_test_util.h"
#include "tl/error.h"
#include "tl/models/generate.h"

namespace tl::models::test {
namespace {

const char* kFamilies[] = {"llama", "mistral", "mixtral", "gpt2"};

// Greedy margins in the fixtures are >= 1e-3 (checked by the fixture script), so ids must match exactly.
TEST(GenerateCache, GreedyCacheEqualsRecomputeEqualsTransformers) {
  for (const char* fam : kFamilies) {
    SCOPED_TRACE(fam);
    auto m = load_model(fixture_dir(fam));
    ASSERT_TRUE(m->has_kv_cache());
    const std::vector<int64_t> prompt = as_ids(fixture(fam, "prompt"));
    const std::vector<int64_t> want = as_ids(fixture(fam, "greedy"));
    GenerationConfig c;
    c.max_new_tokens = 32;
    GenerationStats st;
    auto r = generate(*m, {prompt}, c, nullptr, {}, &st);
    EXPECT_TRUE(st.batched);
    EXPECT_EQ(r.at(0).ids, want);
    EXPECT_EQ(r.at(0).reason, StopReason::max_new_tokens);
    c.use_cache = false;
    EXPECT_EQ(generate(*m, {prompt}, c, nullptr, {}, &st).at(0).ids, want);
    EXPECT_FALSE(st.batched);
  }
}

// T5: the encoder once, the decoder's self-attention cached (a graph per step); same ids as recomputing and
// as transformers (prompt = encoder input, decoding from decoder_start_token_id).
TEST(GenerateCache, T5CachedDecoderEqualsRecomputeAndTransformers) {
  auto m = load_model(fixture_dir("t5"));
  ASSERT_TRUE(m->is_encoder_decoder());
  const std::vector<int64_t> prompt = as_ids(fixture("t5", "prompt"));
  const std::vector<int64_t> want = as_ids(fixture("t5", "greedy"));
  GenerationConfig c;
  c.max_new_tokens = 32;
  EXPECT_EQ(generate(*m, {prompt}, c).at(0).ids, want);
  c.use_cache = false;
  EXPECT_EQ(generate(*m, {prompt}, c).at(0).ids, want);
  c.greedy = false;  // sampled: the two paths draw the same ids
  c.temperature = 1.5f;
  c.seed = 9;
  c.max_new_tokens = 12;
  const auto slow = generate(*m, {prompt}, c).at(0).ids;
  c.use_cache = true;
  EXPECT_EQ(generate(*m, {prompt, {prompt[0], prompt[1]}}, c).at(0).ids, slow);
}

// Left padding, the key padding mask and per-row positions: each row of a batch of prompts of different
// lengths gives exactly its solo run, greedy and sampled.
TEST(GenerateCache, BatchRowsEqualSoloRuns) {
  for (const char* fam : kFamilies) {
    SCOPED_TRACE(fam);
    auto m = load_model(fixture_dir(fam));
    const std::vector<int64_t> p0 = as_ids(fixture(fam, "prompt"));
    const std::vector<int64_t> p1 = {p0[2], p0[0], p0[4]};
    const std::vector<int64_t> p2 = {p0[5], p0[1], p0[3], p0[0], p0[2], p0[4], p0[1], p0[5], p0[3]};
    for (bool greedy : {true, false}) {
      GenerationConfig c;
      c.max_new_tokens = 12;
      c.greedy = greedy;
      c.temperature = 0.9f;
      c.top_k = 40;
      c.top_p = 0.95f;
      c.repetition_penalty = greedy ? 1.0f : 1.1f;  // greedy: comparable with transformers' plain greedy ids
      c.seed = 11;
      GenerationStats st;
      auto batch = generate(*m, {p0, p1, p2}, c, nullptr, {}, &st);
      EXPECT_TRUE(st.batched);
      ASSERT_EQ(batch.size(), 3u);
      const std::vector<std::vector<int64_t>> ps = {p0, p1, p2};
      for (size_t i = 0; i < 3; ++i)
        EXPECT_EQ(batch[i].ids, generate(*m, {ps[i]}, c).at(0).ids) << "row " << i << " greedy " << greedy;
      if (greedy) {
        const std::vector<int64_t> want = as_ids(fixture(fam, "greedy"));
        EXPECT_EQ(batch[0].ids, std::vector<int64_t>(want.begin(), want.begin() + 12));
      }
    }
  }
}

TEST(GenerateCache, SampledIdsDependOnlyOnTheSeed) {
  auto m = load_model(fixture_dir("llama"));
  const std::vector<int64_t> prompt = as_ids(fixture("llama", "prompt"));
  GenerationConfig c;
  c.greedy = false;
  c.max_new_tokens = 24;
  c.temperature = 1.3f;
  c.seed = 5;
  const auto a = generate(*m, {prompt}, c).at(0).ids, b = generate(*m, {prompt}, c).at(0).ids;
  c.seed = 6;
  const auto d = generate(*m, {prompt}, c).at(0).ids;
  EXPECT_EQ(a, b);
  EXPECT_NE(a, d);
  c.use_cache = false;  // the recomputed path draws the same ids
  c.seed = 5;
  EXPECT_EQ(generate(*m, {prompt}, c).at(0).ids, a);
}

TEST(GenerateCache, StopTokenEndsTheRowAndIsKept) {
  auto m = load_model(fixture_dir("llama"));
  const std::vector<int64_t> prompt = as_ids(fixture("llama", "prompt"));
  const std::vector<int64_t> want = as_ids(fixture("llama", "greedy"));  // holds eos (2) at index 9
  GenerationConfig c;
  c.max_new_tokens = 32;
  c.stop_ids = eos_ids(m->config(), fixture_dir("llama"));
  ASSERT_EQ(c.stop_ids, std::vector<int64_t>{2});
  auto r = generate(*m, {prompt}, c).at(0);
  EXPECT_EQ(r.reason, StopReason::stop_token);
  EXPECT_EQ(r.ids, std::vector<int64_t>(want.begin(), want.begin() + 10));
  // In a batch the other row goes on.
  auto b = generate(*m, {prompt, {want[0], want[1], want[2]}}, c);
  EXPECT_EQ(b[0].ids, r.ids);
  EXPECT_EQ(b[1].ids, generate(*m, {{want[0], want[1], want[2]}}, c).at(0).ids);
}

const tok::Tokenizer& gpt2_tokenizer() {  // loaded once: parsing the 50k vocabulary takes ~0.25 s
  static const tok::Tokenizer t =
      tok::Tokenizer::from_file(std::string(TL_FIXTURE_DIR) + "/tokenizer/gpt2.json.gz");
  return t;
}

// The GPT-2 fixture's ids (< 173) are GPT-2 byte tokens, many of them bytes >= 0x80, so its output exercises
// partial UTF-8 sequences.
TEST(GenerateCache, StopStringTrimsTextAndStreamsOnlyWhatIsKept) {
  auto m = load_model(fixture_dir("gpt2"));
  const tok::Tokenizer& tok = gpt2_tokenizer();
  const std::vector<int64_t> prompt = as_ids(fixture("gpt2", "prompt"));
  GenerationConfig c;
  c.max_new_tokens = 32;
  std::string streamed;
  auto full =
      generate(*m, {prompt}, c, &tok, [&](int, int64_t, const std::string& p) { streamed += p; }).at(0);
  EXPECT_EQ(streamed, full.text);
  std::vector<int32_t> ids32(full.ids.begin(), full.ids.end());
  EXPECT_EQ(full.text, tok.decode(ids32, true));
  // A stop string from the middle of the text: the text ends right before its first occurrence.
  ASSERT_GT(full.text.size(), 12u);
  const std::string stop = full.text.substr(full.text.size() / 2, 2);
  c.stop_strings = {stop, "never appears \x01"};
  streamed.clear();
  auto cut =
      generate(*m, {prompt}, c, &tok, [&](int, int64_t, const std::string& p) { streamed += p; }).at(0);
  EXPECT_EQ(cut.reason, StopReason::stop_string);
  EXPECT_EQ(cut.text, full.text.substr(0, full.text.find(stop)));
  EXPECT_EQ(streamed, cut.text);
  EXPECT_LT(cut.ids.size(), full.ids.size());
  EXPECT_EQ(cut.ids, std::vector<int64_t>(full.ids.begin(), full.ids.begin() + ptrdiff_t(cut.ids.size())));
}

TEST(GenerateCache, TextStreamReleasesOnlyCompleteUtf8) {
  const tok::Tokenizer& tok = gpt2_tokenizer();
  const std::string text =
      "h\xC3\xA9llo \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E ok \xF0\x9F\x99\x82!";  // héllo 日本語 ok 🙂!
  const std::vector<int32_t> ids = tok.encode(text);
  ASSERT_GT(ids.size(), 6u);
  TextStream s(tok);
  std::string out;
  for (int32_t id : ids) {
    const std::string piece = s.push(id);
    EXPECT_EQ(piece.find("\xEF\xBF\xBD"), std::string::npos) << "a partial character was released";
    out += piece;
  }
  out += s.finish();
  EXPECT_EQ(out, text);
  // A stop string spanning tokens: held back until decided, then cut.
  TextStream t(tok, {"ok \xF0\x9F"});
  out.clear();
  for (int32_t id : ids) out += t.push(id);
  out += t.finish();
  EXPECT_TRUE(t.stopped());
  EXPECT_EQ(out, "h\xC3\xA9llo \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E ");
}

long rss_kib() {
  std::ifstream f("/proc/self/statm");
  long size = 0, resident = 0;
  f >> size >> resident;
  return resident * 4;  // pages of 4 KiB
}

// Capacity: LLaMA (no window) stops cleanly when prompt + new tokens reach the capacity; Mistral (window 5)
// rolls its ring of 5 slots through 10,000 tokens. Resident memory is printed (not asserted: other processes
// and the allocator make it noisy); docs/generation.md records the numbers.
TEST(GenerateCache, CapacityStopsOrRolls) {
  {
    auto m = load_model(fixture_dir("llama"));
    const std::vector<int64_t> prompt = as_ids(fixture("llama", "prompt"));
    GenerationConfig c;
    c.max_new_tokens = 10000;
    c.capacity = 40;
    GenerationStats st;
    auto r = generate(*m, {prompt}, c, nullptr, {}, &st).at(0);
    EXPECT_EQ(r.reason, StopReason::context_full);
    EXPECT_EQ(r.ids.size(), 40u - prompt.size());
    EXPECT_EQ(st.capacity, 40);
    c.capacity = 0;  // automatic: capped at max_position_embeddings (128)
    r = generate(*m, {prompt}, c, nullptr, {}, &st).at(0);
    EXPECT_EQ(r.reason, StopReason::context_full);
    EXPECT_EQ(r.ids.size(), 128u - prompt.size());
    EXPECT_EQ(std::vector<int64_t>(r.ids.begin(), r.ids.begin() + 32), as_ids(fixture("llama", "greedy")));
    c.capacity = 129;
    EXPECT_THROW(generate(*m, {prompt}, c), ValueError);
  }
  {
    auto m = load_model(fixture_dir("mistral"));
    const std::vector<int64_t> prompt = as_ids(fixture("mistral", "prompt"));
    GenerationConfig c;
    c.max_new_tokens = 200;
    GenerationStats st;
    auto warm = generate(*m, {prompt}, c, nullptr, {}, &st).at(0);  // compiles the step graphs
    EXPECT_EQ(st.capacity, 5);
    // The fixture's 32 greedy tokens already run past the window (6 + 32 > 5): the ring must agree.
    EXPECT_EQ(std::vector<int64_t>(warm.ids.begin(), warm.ids.begin() + 32),
              as_ids(fixture("mistral", "greedy")));
    const long before = rss_kib();
#ifdef __SANITIZE_ADDRESS__
    const int n_tokens = 1000;  // ~10x slower under ASan+UBSan; the Release run covers 10,000
#else
    const int n_tokens = 10000;
#endif
    c.max_new_tokens = n_tokens;
    auto r = generate(*m, {prompt}, c, nullptr, {}, &st).at(0);
    const long after = rss_kib();
    EXPECT_EQ(r.reason, StopReason::max_new_tokens);
    EXPECT_EQ(r.ids.size(), size_t(n_tokens));
    EXPECT_EQ(std::vector<int64_t>(r.ids.begin(), r.ids.begin() + 200), warm.ids);
    std::printf(
        "[generate] mistral %d tokens, ring of %lld slots: %.0f tok/s, RSS %ld KiB before, %ld KiB after\n",
        n_tokens, (long long)st.capacity, st.decode_s > 0 ? (n_tokens - 1) / st.decode_s : 0.0, before,
        after);
  }
}

TEST(GenerateCache, EosIdsPreferGenerationConfig) {
  namespace fs = std::filesystem;
  auto m = load_model(fixture_dir("llama"));
  EXPECT_EQ(eos_ids(m->config()), std::vector<int64_t>{2});
  const fs::path d = fs::temp_directory_path() / ("tl_gen_eos_" + std::to_string(::getpid()));
  fs::create_directories(d);
  std::ofstream(d / "generation_config.json") << R"({"eos_token_id": [5, 7], "bos_token_id": 1})";
  EXPECT_EQ(eos_ids(m->config(), d.string()), (std::vector<int64_t>{5, 7}));
  std::ofstream(d / "generation_config.json") << R"({"bos_token_id": 1})";
  EXPECT_EQ(eos_ids(m->config(), d.string()), std::vector<int64_t>{2});  // falls back to config.json
  fs::remove_all(d);
}

TEST(GenerateCache, ErrorsNameTheProblem) {
  auto m = load_model(fixture_dir("llama"));
  GenerationConfig c;
  auto msg = [&](const std::vector<std::vector<int64_t>>& ps, const GenerationConfig& cfg) -> std::string {
    try {
      generate(*m, ps, cfg);
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(msg({{1, 2}, {}}, c).find("prompt 1 is empty"), std::string::npos);
  EXPECT_NE(msg({{1, 500}}, c).find("id 500 is outside [0, 199)"), std::string::npos);
  EXPECT_NE(msg({}, c).find("no prompts"), std::string::npos);
  GenerationConfig s = c;
  s.stop_strings = {"x"};
  EXPECT_NE(msg({{1, 2}}, s).find("stop strings need a tokenizer"), std::string::npos);
  GenerationConfig t = c;
  t.top_p = 2.0f;
  EXPECT_NE(msg({{1, 2}}, t).find("top_p = 2"), std::string::npos);
  auto bert = load_model(fixture_dir("bert"));
  EXPECT_THROW(generate(*bert, {{1, 2}}, c), ValueError);
}

}  // namespace
}  // namespace tl::models::test
