// Loading: weight names and shapes checked against the graph (missing / unexpected / mis-shaped reported by
// name with both shapes), config fields that change the math refused by name, and the safetensors round trip.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "model_test_util.h"
#include "tl/error.h"
#include "tl/io/safetensors.h"

namespace tl::models::test {
namespace {

namespace fs = std::filesystem;

std::map<std::string, Tensor> fixture_weights(const std::string& family) {
  const auto ck = io::SafetensorsCheckpoint::open(fixture_dir(family) + "/model.safetensors");
  std::map<std::string, Tensor> w;
  for (const auto& n : ck.names()) w.emplace(n, ck.load(n, io::Convert::to_f32));
  return w;
}
io::HfConfig fixture_config(const std::string& family) {
  return io::HfConfig::load(fixture_dir(family));
}

// The config with one field replaced (or added) by `json_value`.
io::HfConfig config_with(const std::string& family, const std::string& key, const std::string& json_value) {
  json::Value root = fixture_config(family).json();
  root.as_object().set(key, json::parse(json_value));
  return io::HfConfig(root, family + "/config.json (edited)");
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

TEST(ModelLoader, ExpectedWeightsAreExactlyTheCheckpoint) {
  for (const std::string fam : {"llama", "mistral", "mixtral", "gpt2", "bert", "vit", "t5"}) {
    auto m = load_model(fixture_dir(fam));
    const auto w = fixture_weights(fam);
    const auto spec = m->expected_weights();
    ASSERT_EQ(spec.size(), w.size()) << fam;
    for (const auto& s : spec) {
      ASSERT_TRUE(w.count(s.name)) << fam << ": " << s.name;
      EXPECT_EQ(w.at(s.name).shape(), s.shape) << s.name;
    }
    EXPECT_EQ(m->parameter_count(), [&] {
      int64_t n = 0;
      for (auto& [k, t] : w) n += t.numel();
      return n;
    }());
  }
}

TEST(ModelLoader, MissingExtraAndMisshapedWeightsAreNamed) {
  auto w = fixture_weights("llama");
  w.erase("model.layers.1.mlp.up_proj.weight");
  w.emplace("model.layers.1.mlp.extra.weight", Tensor::zeros({3}));
  const std::string msg = message_of<ValueError>([&] { make_model(fixture_config("llama"), w); });
  EXPECT_NE(msg.find("missing weight \"model.layers.1.mlp.up_proj.weight\" (expected shape [88, 48])"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("unexpected weight \"model.layers.1.mlp.extra.weight\" with shape [3]"),
            std::string::npos)
      << msg;

  auto w2 = fixture_weights("llama");
  w2["model.layers.0.self_attn.k_proj.weight"] = Tensor::zeros({48, 48});
  const std::string msg2 = message_of<ShapeError>([&] { make_model(fixture_config("llama"), w2); });
  EXPECT_NE(
      msg2.find("weight \"model.layers.0.self_attn.k_proj.weight\": expected shape [24, 48], got [48, 48]"),
      std::string::npos)
      << msg2;
}

TEST(ModelLoader, MathChangingConfigFieldsAreRefused) {
  auto w = fixture_weights("llama");
  auto refuse = [&](const std::string& fam, const std::string& key, const std::string& val,
                    const std::string& needle) {
    const std::string msg =
        message_of<ValueError>([&] { make_model(config_with(fam, key, val), fixture_weights(fam)); });
    EXPECT_NE(msg.find(needle), std::string::npos) << key << ": " << msg;
  };
  refuse("llama", "rope_scaling", R"({"rope_type": "longrope", "factor": 2.0})",
         "\"longrope\" is not supported");
  refuse("llama", "hidden_act", R"("quick_gelu")", "\"hidden_act\" = \"quick_gelu\" is not supported");
  refuse("llama", "sliding_window", "4", "\"sliding_window\"");
  refuse("llama", "partial_rotary_factor", "0.5", "partial_rotary_factor");
  refuse("gpt2", "scale_attn_by_inverse_layer_idx", "true", "scale_attn_by_inverse_layer_idx");
  refuse("bert", "position_embedding_type", R"("relative_key")", "\"relative_key\" is not supported");
  refuse("t5", "feed_forward_proj", R"("gated-swish")", "feed_forward_proj");
  refuse("llama", "model_type", R"("falcon")", "\"falcon\" is not supported");
  // Supported scalings load (their frequencies are nn::rope's, tested there).
  EXPECT_NO_THROW(
      make_model(config_with("llama", "rope_scaling", R"({"rope_type": "linear", "factor": 2.0})"), w));
}

TEST(ModelLoader, BadInputsAreRefused) {
  auto m = load_model(fixture_dir("llama"));
  Batch b;
  b.ids = Tensor::from_vector<int64_t>({1, 3}, {1, 199, 2});
  EXPECT_THROW(m->forward(b), ValueError);  // id 199 >= vocab 199
  b.ids = Tensor::from_vector<int64_t>({3}, {1, 2, 3});
  EXPECT_THROW(m->forward(b), ShapeError);
  b.ids = Tensor::zeros({1, 2});
  EXPECT_THROW(m->forward(b), ValueError);  // f32 ids
  EXPECT_THROW(m->generate_greedy({}, 3), ValueError);
  EXPECT_THROW(load_model(fixture_dir("does_not_exist")), IoError);
}

// save() writes the weights with their HF names; loading the copy gives the same tensors and logits.
TEST(ModelLoader, SafetensorsRoundTrip) {
  const fs::path dir = fs::temp_directory_path() / ("tl_models_roundtrip_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (const std::string fam : {"gpt2", "t5"}) {
    auto m = load_model(fixture_dir(fam));
    fs::copy_file(fixture_dir(fam) + "/config.json", dir / "config.json",
                  fs::copy_options::overwrite_existing);
    m->save((dir / "model.safetensors").string());
    auto m2 = load_model(dir.string());
    ASSERT_EQ(m2->weights().size(), m->weights().size());
    for (const auto& [name, t] : m->weights())
      EXPECT_EQ(max_abs_diff(m2->weights().at(name), t), 0.0) << name;
    // Same names and shapes as the Hugging Face file, so transformers loads the copy too.
    EXPECT_EQ(io::SafetensorsCheckpoint::open((dir / "model.safetensors").string()).names(),
              io::SafetensorsCheckpoint::open(fixture_dir(fam) + "/model.safetensors").names());
  }
  fs::remove_all(dir);
}

// A checkpoint split over two shards with model.safetensors.index.json loads like the single file.
TEST(ModelLoader, ShardedCheckpoint) {
  const fs::path dir = fs::temp_directory_path() / ("tl_models_sharded_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::copy_file(fixture_dir("llama") + "/config.json", dir / "config.json",
                fs::copy_options::overwrite_existing);
  io::NamedTensors a, b;
  std::string index = R"({"metadata": {}, "weight_map": {)";
  bool first = true;
  for (const auto& [name, t] : fixture_weights("llama")) {
    const bool in_a = name.find("layers.1.") == std::string::npos;
    (in_a ? a : b).emplace_back(name, t);
    index += std::string(first ? "" : ", ") + "\"" + name + "\": \"" +
             (in_a ? "a.safetensors" : "b.safetensors") + "\"";
    first = false;
  }
  index += "}}";
  io::save_safetensors((dir / "a.safetensors").string(), a);
  io::save_safetensors((dir / "b.safetensors").string(), b);
  { std::ofstream(dir / "model.safetensors.index.json") << index; }
  auto m = load_model(dir.string());
  Batch bt;
  bt.ids = fixture("llama", "ids");
  EXPECT_LE(max_abs_diff(m->forward(bt).at("logits"), fixture("llama", "logits")), 1e-4);
  fs::remove_all(dir);
}

TEST(ModelLoader, ExecutorsAreCachedPerShape) {
  auto m = load_model(fixture_dir("gpt2"));
  Batch b;
  b.ids = Tensor::from_vector<int64_t>({1, 3}, {1, 2, 3});
  const Tensor a = m->forward(b).at("logits");
  m->forward(b);
  EXPECT_EQ(m->compiled_shapes(), 1u);
  b.ids = Tensor::from_vector<int64_t>({1, 4}, {1, 2, 3, 4});
  const Tensor c = m->forward(b).at("logits");
  EXPECT_EQ(m->compiled_shapes(), 2u);
  // Causal: the first three positions do not depend on the fourth token.
  EXPECT_LE(max_abs_diff(c.slice(1, 0, 3).contiguous(), a), 1e-5);
}

}  // namespace
}  // namespace tl::models::test
