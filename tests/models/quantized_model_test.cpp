// Models with linear weights kept in reduced formats (Model::quantize, GGUF keep_quantized): each format's
// model equals the same model built from its dequantised f32 weights (the quantisation error lives in the
// weights, not in the kernels), KV-cache generation works, the f32 copies are dropped, and misuse is refused
// by name. The tiny fixtures' sizes (48, 88, ...) are not multiples of the 32-weight blocks, so the configs
// below reuse the fixture families with sizes that are (weights: seeded normal draws).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <random>

#include "model_test_util.h"
#include "tl/io/gguf.h"
#include "tl/logic.h"
#include "tl/models/gguf_model.h"
#include "tl/passes.h"
#include "tl/tl_export.h"

#include "../error_of.h"

using namespace tl;
using namespace tl::models;
using tl::models::test::max_abs_diff;

namespace {

using tl::test::error_of;

// The fixture family's config.json with block-friendly sizes.
io::HfConfig block_config(const std::string& family) {
  json::Value root = io::HfConfig::load(tl::models::test::fixture_dir(family)).json();
  json::Object& o = root.as_object();
  if (family == "gpt2") {
    o.set("n_embd", 64);
    o.set("n_head", 4);
  } else {
    o.set("hidden_size", 64);
    o.set("intermediate_size", 128);
    o.set("num_attention_heads", 4);
    o.set("num_key_value_heads", 2);
    if (o.find("head_dim")) o.set("head_dim", 16);
  }
  return io::HfConfig(std::move(root), family + "(64-wide)");
}

std::unique_ptr<Model> random_model(const std::string& family, uint32_t seed = 1) {
  const io::HfConfig c = block_config(family);
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::map<std::string, Tensor> w;
  for (const WeightSpec& s : expected_weights(c)) {
    Tensor t = Tensor::empty(s.shape);
    const bool norm = s.shape.size() == 1 && (s.name.find("norm") != std::string::npos ||
                                              s.name.find("ln_") != std::string::npos);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = norm ? 1.0f + 0.1f * nd(rng) : 0.08f * nd(rng);
    w.emplace(s.name, t);
  }
  return make_model(c, std::move(w));
}

Batch batch(const Tensor& ids) {
  Batch b;
  b.ids = ids;
  return b;
}

Tensor ids(std::vector<int64_t> v) {
  const int64_t n = int64_t(v.size());
  return Tensor::from_vector<int64_t>({1, n}, v);
}

}  // namespace

TEST(QuantizedModel, EachFormatEqualsTheModelOnItsDequantisedWeights) {
  const Tensor prompt = ids({1, 5, 9, 2, 7, 3, 11});
  for (const std::string family : {"llama", "mistral", "gpt2"}) {
    auto f32 = random_model(family);
    const Tensor base = f32->forward(batch(prompt)).at("logits");  // [1, 7, vocab]
    for (WeightFormat f : {WeightFormat::f16, WeightFormat::bf16, WeightFormat::q8_0, WeightFormat::q4_0,
                           WeightFormat::q4_1}) {
      SCOPED_TRACE(family + " " + weight_format_name(f));
      auto q = random_model(family);
      QuantizePolicy pol;
      pol.tied_head = false;  // TiedHeadReadsItsStoredCopy covers the copy
      q->quantize(f, pol);
      ASSERT_FALSE(q->weight_formats().empty());
      EXPECT_TRUE(q->linear_copies().empty());
      // Tied embeddings (GPT-2's wte) and norms stay f32.
      for (const auto& [name, wf] : q->weight_formats()) {
        EXPECT_EQ(name.find("wte"), std::string::npos) << name;
        EXPECT_EQ(name.find("embed"), std::string::npos) << name;
      }
      EXPECT_EQ(q->parameter_count(), f32->parameter_count());
      EXPECT_LT(q->weight_bytes(), f32->weight_bytes());
      const Tensor got = q->forward(batch(prompt)).at("logits");
      auto deq = make_model(q->config(), q->f32_weights());
      const Tensor want = deq->forward(batch(prompt)).at("logits");
      // Same dequantised weights, f32 products summed in another order (qgemm vs the einsum GEMM): rounding only.
      const double d = max_abs_diff(got, want);
      EXPECT_LE(d, 1e-5);
      const double vs_f32 = max_abs_diff(got, base);
      std::printf("[quantized] %-7s %-5s vs dequantised-f32 model %.2e, vs the f32 model %.2e (%.1f%% of the "
                  "weight bytes)\n",
                  family.c_str(), weight_format_name(f), d, vs_f32,
                  100.0 * double(q->weight_bytes()) / double(f32->weight_bytes()));
      // The untied LM head stays q8_0 by default for 4-bit formats.
      if ((f == WeightFormat::q4_0 || f == WeightFormat::q4_1) && q->weight_formats().count("lm_head.weight")) {
        EXPECT_EQ(q->weight_formats().at("lm_head.weight"), WeightFormat::q8_0);
      }
    }
  }
}

TEST(QuantizedModel, TiedHeadReadsItsStoredCopy) {
  // GPT-2's wte is the embedding and the LM head: the lookup keeps f32 rows, the head reads a copy in the head's
  // format (q8_0 for 4-bit formats). Reference: the dequantised model's hidden states times the copy's
  // dequantised values, in double.
  const Tensor prompt = ids({1, 5, 9, 2, 7, 3, 11});
  for (WeightFormat f : {WeightFormat::bf16, WeightFormat::q8_0, WeightFormat::q4_0}) {
    SCOPED_TRACE(weight_format_name(f));
    auto q = random_model("gpt2");
    q->quantize(f);
    const WeightFormat head = f == WeightFormat::q4_0 ? WeightFormat::q8_0 : f;
    ASSERT_EQ(q->linear_copy_formats().size(), 1u);
    EXPECT_EQ(q->linear_copy_formats().at("transformer.wte.weight"), head);
    const Tensor& copy = q->linear_copies().at(linear_copy_name("transformer.wte.weight"));
    EXPECT_EQ(q->weights().at("transformer.wte.weight").dtype(), DType::f32);
    const auto out = q->forward(batch(prompt));
    auto deq = make_model(q->config(), q->f32_weights());
    EXPECT_TRUE(deq->linear_copies().empty());
    const Tensor hidden = deq->forward(batch(prompt)).at("hidden").contiguous();  // [1, 7, d]
    EXPECT_LE(max_abs_diff(out.at("hidden"), hidden), 1e-5);
    const int64_t d = hidden.size(2);
    const Tensor w = dequantize_weight(copy, head, d);  // [vocab, d]
    const Tensor got = out.at("logits").contiguous();    // [1, 7, vocab]
    const int64_t vocab = w.size(0);
    double worst = 0;
    for (int64_t s = 0; s < 7; ++s)
      for (int64_t v = 0; v < vocab; ++v) {
        double acc = 0;
        for (int64_t i = 0; i < d; ++i) acc += double(hidden.data<float>()[s * d + i]) * w.data<float>()[v * d + i];
        worst = std::max(worst, std::abs(acc - got.data<float>()[s * vocab + v]));
      }
    EXPECT_LE(worst, 1e-4);  // f32 sums of 64 products of O(1) values
    // The copy costs its bytes: weight_bytes counts it, parameter_count does not.
    int64_t bytes = int64_t(copy.nbytes());
    for (const auto& [name, t] : q->weights()) bytes += int64_t(t.nbytes());
    EXPECT_EQ(q->weight_bytes(), bytes);
    EXPECT_EQ(q->parameter_count(), deq->parameter_count());
    // Generation with the cache takes the same path.
    const std::vector<int64_t> p = {3, 1, 4, 1, 5};
    EXPECT_EQ(q->generate_greedy(p, 8), q->generate_greedy(p, 8, /*use_cache=*/false));
  }
  // set_linear_copy refuses what is not a tied weight, and a copy of the wrong size, by name.
  auto m = random_model("gpt2");
  const Tensor wte = m->weights().at("transformer.wte.weight");  // [vocab, 64]
  std::string e = error_of<ValueError>(
      [&] { m->set_linear_copy("transformer.h.0.mlp.c_fc.weight", quantize_weight(wte, WeightFormat::q8_0),
                               WeightFormat::q8_0); });
  EXPECT_NE(e.find("c_fc.weight"), std::string::npos) << e;
  e = error_of<ValueError>([&] { m->set_linear_copy("nope", wte, WeightFormat::f32); });
  EXPECT_NE(e.find("\"nope\""), std::string::npos) << e;
  const Tensor half = quantize_weight(wte.slice(1, 0, 32).contiguous(), WeightFormat::q8_0);  // 32 of 64 columns
  e = error_of<ShapeError>([&] { m->set_linear_copy("transformer.wte.weight", half, WeightFormat::q8_0); });
  EXPECT_NE(e.find("transformer.wte.weight"), std::string::npos) << e;
}

TEST(QuantizedModel, KvCacheGenerationMatchesTheDequantisedModel) {
  for (const std::string family : {"llama", "gpt2"}) {
    auto q = random_model(family);
    QuantizePolicy pol;
    pol.tied_head = false;  // the dequantised model's head is the f32 embedding
    q->quantize(WeightFormat::q8_0, pol);
    auto deq = make_model(q->config(), q->f32_weights());
    const std::vector<int64_t> prompt = {3, 1, 4, 1, 5};
    const auto a = q->generate_greedy(prompt, 12);
    EXPECT_EQ(a, deq->generate_greedy(prompt, 12)) << family;
    EXPECT_EQ(a, q->generate_greedy(prompt, 12, /*use_cache=*/false)) << family;
  }
}

TEST(QuantizedModel, SaveKeepsPlainFormatsAndRefusesBlocks) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("tl_qmodel_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto q = random_model("gpt2");
  QuantizePolicy untied_head;
  untied_head.tied_head = false;  // the reloaded model's head is the f32 wte again
  q->quantize(WeightFormat::bf16, untied_head);
  q->save((dir / "model.safetensors").string());
  fs::copy_file(fs::path(tl::models::test::fixture_dir("gpt2")) / "config.json", dir / "config.json");
  // Reload with the 64-wide config: the bf16 weights come back (as f32) in the checkpoint layout.
  auto back = make_model(q->config(), q->f32_weights());
  const Tensor p = ids({4, 2, 8});
  EXPECT_LE(max_abs_diff(back->forward(batch(p)).at("logits"), q->forward(batch(p)).at("logits")), 1e-5);
  auto q8 = random_model("llama");
  q8->quantize(WeightFormat::q8_0);
  const std::string e = error_of<ValueError>([&] { q8->save((dir / "q8.safetensors").string()); });
  EXPECT_NE(e.find("q8_0"), std::string::npos) << e;
  EXPECT_NE(e.find("tlt quantize"), std::string::npos) << e;
  fs::remove_all(dir);
}

TEST(QuantizedModel, ErrorsNameWhatIsWrong) {
  EXPECT_NE(error_of<ValueError>([] { weight_format_from_name("q5_9"); }).find("q5_9"), std::string::npos);
  auto m = random_model("llama");
  std::string e = error_of<ValueError>([&] { m->quantize(WeightFormat::q4_k); });
  EXPECT_NE(e.find("q4_k"), std::string::npos) << e;
  // The 48-wide fixture: in-features not a multiple of 32 stay f32, or throw when strict.
  auto fx = load_model(tl::models::test::fixture_dir("llama"));
  QuantizePolicy strict;
  strict.strict = true;
  e = error_of<ShapeError>([&] { fx->quantize(WeightFormat::q8_0, strict); });
  EXPECT_NE(e.find("48 in-features"), std::string::npos) << e;
  fx->quantize(WeightFormat::q8_0);
  EXPECT_TRUE(fx->weight_formats().empty());
  m->quantize(WeightFormat::q8_0);
  e = error_of<ValueError>([&] { m->quantize(WeightFormat::q4_0); });
  EXPECT_NE(e.find("already"), std::string::npos) << e;
  // A tied weight given in a stored format.
  auto g = random_model("gpt2");
  std::map<std::string, Tensor> w = g->f32_weights();
  w["transformer.wte.weight"] = quantize_weight(w.at("transformer.wte.weight"), WeightFormat::q8_0);
  e = error_of<ValueError>(
      [&] { make_model(g->config(), w, {{"transformer.wte.weight", WeightFormat::q8_0}}); });
  EXPECT_NE(e.find("transformer.wte.weight"), std::string::npos) << e;
  EXPECT_NE(e.find("tied"), std::string::npos) << e;
}

TEST(QuantizedModel, TinyGgufKeptNativeEqualsTheDequantisedLoad) {
  // tests/fixtures/gguf_models/tiny.gguf holds Q8_0, F16 and F32 tensors (scripts/gen_gguf_model_fixtures.py).
  const std::string path = std::string(TL_FIXTURE_DIR) + "/gguf_models/tiny.gguf";
  auto f32 = load_model(path);
  LoadOptions opt;
  opt.keep_quantized = true;
  auto nat = load_model(path, opt);
  ASSERT_FALSE(nat->weight_formats().empty());
  const Tensor p = read_npy(std::string(TL_FIXTURE_DIR) + "/gguf_models/tiny.prompt.npy");
  Batch b;
  b.ids = p.rank() == 1 ? p.reshape({1, p.size(0)}) : p;
  const double d = max_abs_diff(nat->forward(b).at("logits"), f32->forward(b).at("logits"));
  EXPECT_LE(d, 1e-5);  // the same dequantised values, f32 sums in another order
  std::printf("[quantized] tiny.gguf native (%zu stored weights) vs dequantised load: %.2e\n",
              nat->weight_formats().size(), d);
  EXPECT_LT(nat->weight_bytes(), f32->weight_bytes());
}

TEST(QuantizedModel, SmolLM2KeptNativeEqualsTheDequantisedLoad) {
  const char* path = std::getenv("TL_SMOLLM2_GGUF");
  if (!path || !std::filesystem::exists(path)) GTEST_SKIP() << "TL_SMOLLM2_GGUF not set (scripts/fetch_models.sh)";
  auto f32 = load_model(path);
  LoadOptions opt;
  opt.keep_quantized = true;
  auto nat = load_model(path, opt);
  int q41 = 0, q80 = 0;
  for (const auto& [n, f] : nat->weight_formats()) {
    q41 += f == WeightFormat::q4_1;
    q80 += f == WeightFormat::q8_0;
  }
  EXPECT_GT(q41 + q80, 200);  // 30 layers x 7 linear weights
  // The tied head reads the file's Q8_0 token_embd blocks (as llama.cpp does); the lookup keeps f32 rows.
  ASSERT_EQ(nat->linear_copy_formats().count("model.embed_tokens.weight"), 1u);
  EXPECT_EQ(nat->linear_copy_formats().at("model.embed_tokens.weight"), WeightFormat::q8_0);
  const Tensor p = ids({1, 9690, 314, 260, 3062, 28, 1294, 4375, 29, 30, 2});
  const double d = max_abs_diff(nat->forward(batch(p)).at("logits"), f32->forward(batch(p)).at("logits"));
  EXPECT_LE(d, 1e-4);  // 30 layers of f32 sums in another order on logits of magnitude ~20
  std::printf("[quantized] SmolLM2 native (q4_1 %d, q8_0 %d) vs dequantised load: logits max diff %.2e; weights "
              "%.1f MB vs %.1f MB\n",
              q41, q80, d, double(nat->weight_bytes()) / 1e6, double(f32->weight_bytes()) / 1e6);
  const std::vector<int64_t> prompt = {1, 9690, 314, 260, 3062, 28};
  EXPECT_EQ(nat->generate_greedy(prompt, 32), f32->generate_greedy(prompt, 32));
}

TEST(QuantizedModel, ExportsAsTlWithTypedParamsAndCompilesBack) {
  auto q = random_model("llama");
  q->quantize(WeightFormat::q4_0);
  Batch b = batch(ids({1, 2, 3}));
  Graph g = q->build_graph(b);
  ASSERT_TRUE(apply_weight_formats(g, q->weight_formats()));
  const std::string text = logic::to_tl(g);
  EXPECT_NE(text.find("format=q4_0, in=64)"), std::string::npos);
  EXPECT_NE(text.find("format=q8_0, in=64)"), std::string::npos);  // the LM head
  EXPECT_NE(text.find(": u8["), std::string::npos);
  const Graph back = logic::Program::parse(text, "q.tl").graph();
  int linear = 0, back_linear = 0;
  for (const Node& n : g.nodes()) linear += n.kind == OpKind::linear;
  for (const Node& n : back.nodes()) back_linear += n.kind == OpKind::linear;
  EXPECT_EQ(back_linear, linear);
  EXPECT_GT(linear, 0);
}

TEST(QuantizedModel, EveryFixtureFamilyRunsItsLinearLayersInBf16) {
  // The 48-wide fixtures hold no 32-multiple in-features, but bf16 has no blocks: every family's linear
  // weights (BERT, T5, ViT, Mixtral's attention and head; MoE experts stay f32) go through the pass.
  using tl::models::test::fixture;
  for (const std::string family : {"bert", "t5", "vit", "mixtral", "llama", "gpt2"}) {
    SCOPED_TRACE(family);
    auto q = load_model(tl::models::test::fixture_dir(family));
    Batch b;
    if (family == "vit") {
      b.pixels = fixture(family, "pixels");
    } else {
      b.ids = fixture(family, "ids");
      if (family == "bert") b.mask = fixture(family, "mask");
      if (family == "t5") b.decoder_ids = fixture(family, "decoder_ids");
    }
    QuantizePolicy pol;
    pol.tied_head = false;  // GPT-2's tied head: TiedHeadReadsItsStoredCopy
    q->quantize(WeightFormat::bf16, pol);
    EXPECT_GT(q->weight_formats().size(), 0u);
    auto deq = make_model(q->config(), q->f32_weights());
    const std::string out = family == "bert" ? "hidden" : "logits";
    const double d = max_abs_diff(q->forward(b).at(out), deq->forward(b).at(out));
    EXPECT_LE(d, 1e-5);  // same bf16-rounded weights; f32 sums in another order
    std::printf("[quantized] %-7s bf16: %zu stored weights, vs dequantised-f32 model %.2e\n", family.c_str(),
                q->weight_formats().size(), d);
  }
}
