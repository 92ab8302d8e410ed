// The family-independent part of a model: loading (config + safetensors), weight checking by name and shape,
// the per-shape executor cache, greedy decoding (through generate.cpp), saving, and sentence-embedding pooling.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>

#include "common.h"
#include "tl/error.h"
#include "tl/io/safetensors.h"
#include "tl/models.h"
#include "tl/models/embed.h"
#include "tl/models/generate.h"
#include "tl/models/gguf_model.h"
#include "tl/nn/kv_cache.h"

namespace tl::models {

Model::~Model() = default;

namespace detail {

nn::Activation activation(const io::HfConfig& c, const std::string& key, const std::string& def) {
  const std::string a = c.get_string(key, def);
  if (a == "gelu") return nn::Activation::gelu_erf;
  if (a == "gelu_new" || a == "gelu_pytorch_tanh") return nn::Activation::gelu_tanh;
  if (a == "relu") return nn::Activation::relu;
  if (a == "silu" || a == "swish") return nn::Activation::silu;
  TL_THROW(ValueError, "[config] ", c.name(), ": \"", key, "\" = \"", a,
           "\" is not supported (supported: gelu, gelu_new, gelu_pytorch_tanh, relu, silu, swish)");
}

void require_absent(const io::HfConfig& c, const std::string& family, const std::string& key,
                    const std::string& why) {
  if (c.has(key))
    TL_THROW(ValueError, "[", family, "] ", c.name(), ": \"", key, "\" = ", json::dump(c.get(key)),
             " is not supported (", why, "); expected it absent or null");
}

void require_bool(const io::HfConfig& c, const std::string& family, const std::string& key, bool want,
                  bool def, const std::string& why) {
  const bool v = c.get_bool(key, def);
  if (v != want)
    TL_THROW(ValueError, "[", family, "] ", c.name(), ": \"", key, "\" = ", v ? "true" : "false",
             " is not supported (", why, "); expected ", want ? "true" : "false");
}

void require_string(const io::HfConfig& c, const std::string& family, const std::string& key,
                    const std::vector<std::string>& allowed, const std::string& def) {
  const std::string v = c.get_string(key, def);
  if (std::find(allowed.begin(), allowed.end(), v) != allowed.end()) return;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  TL_THROW(ValueError, "[", family, "] ", c.name(), ": \"", key, "\" = \"", v,
           "\" is not supported (supported: ", list, ")");
}

Value split_heads(Graph& g, Value x, int64_t heads, int64_t head_dim) {
  const Shape s = g.shape(x);                             // [b, s, h*hd]
  Value r = g.reshape(x, {s[0], s[1], heads, head_dim});  // [b, s, h, hd]
  return g.transpose(r, {0, 2, 1, 3});                    // [b, h, s, hd]
}

Value merge_heads(Graph& g, Value y) {
  const Shape s = g.shape(y);                      // [b, h, s, hd]
  Value t = g.transpose(y, {0, 2, 1, 3});          // [b, s, h, hd]
  return g.reshape(t, {s[0], s[2], s[1] * s[3]});  // [b, s, h*hd]
}

std::string shape_key(const Batch& b) {
  std::string k;
  auto add = [&](const char* n, const Tensor& t) {
    if (t.defined()) k += std::string(n) + shape_str(t.shape()) + ";";
  };
  add("ids", b.ids);
  add("mask", b.mask);
  add("type_ids", b.type_ids);
  add("decoder_ids", b.decoder_ids);
  add("pixels", b.pixels);
  return k;
}

Tensor ids_as_i64(const Tensor& ids) {
  if (ids.dtype() == DType::i64) return ids.contiguous();
  if (ids.dtype() == DType::i32) return ids.to(DType::i64);
  TL_THROW(ValueError, "[model] token ids must be i64 or i32, got ", dtype_name(ids.dtype()));
}

}  // namespace detail

void Model::check_ids(const Tensor& ids, int64_t vocab, const char* what) {
  if (!ids.defined()) TL_THROW(ValueError, "[model] ", what, " are required");
  if (ids.rank() != 2 || ids.size(0) < 1 || ids.size(1) < 1)
    TL_THROW(ShapeError, "[model] ", what, " must be [batch, seq] with batch, seq >= 1, got ",
             shape_str(ids.shape()));
  if (ids.dtype() != DType::i64 && ids.dtype() != DType::i32)
    TL_THROW(ValueError, "[model] ", what, " must be i64 or i32, got ", dtype_name(ids.dtype()));
  const Tensor c = detail::ids_as_i64(ids);
  const int64_t* p = c.data<int64_t>();
  for (int64_t i = 0; i < c.numel(); ++i)
    if (p[i] < 0 || p[i] >= vocab)
      TL_THROW(ValueError, "[model] ", what, ": id ", p[i], " at flat index ", i, " is outside [0, ", vocab,
               ") (the vocabulary size)");
}

Batch Model::example_batch() const {
  Batch b;
  b.ids = Tensor::zeros({1, 1}, DType::i64);
  return b;
}

std::vector<WeightSpec> Model::expected_weights() const {
  const Batch b = example_batch();
  const Graph g = build_graph(b);
  std::vector<WeightSpec> out;
  for (Value v : g.params()) out.push_back({g.info(v).name, g.shape(v)});
  std::sort(out.begin(), out.end(), [](const WeightSpec& a, const WeightSpec& b) { return a.name < b.name; });
  return out;
}

int64_t Model::parameter_count() const {
  int64_t n = 0;
  for (const auto& [name, t] : weights_) n += t.numel();
  return n;
}

void Model::bind_weights(std::map<std::string, Tensor> w, const std::vector<std::string>& ignorable) {
  const std::vector<WeightSpec> want = expected_weights();
  std::vector<std::string> problems;
  bool only_shapes = true;
  std::set<std::string> expected_names;
  for (const WeightSpec& s : want) {
    expected_names.insert(s.name);
    auto it = w.find(s.name);
    if (it == w.end()) {
      problems.push_back("missing weight \"" + s.name + "\" (expected shape " + shape_str(s.shape) + ")");
      only_shapes = false;
    } else if (it->second.shape() != s.shape) {
      problems.push_back("weight \"" + s.name + "\": expected shape " + shape_str(s.shape) + ", got " +
                         shape_str(it->second.shape()));
    }
  }
  for (auto it = w.begin(); it != w.end();) {
    if (expected_names.count(it->first)) {
      ++it;
      continue;
    }
    const bool ignore = std::any_of(ignorable.begin(), ignorable.end(), [&](const std::string& suffix) {
      return it->first.size() >= suffix.size() &&
             it->first.compare(it->first.size() - suffix.size(), suffix.size(), suffix) == 0;
    });
    if (!ignore) {
      problems.push_back("unexpected weight \"" + it->first + "\" with shape " +
                         shape_str(it->second.shape()) + " (the " + family() + " graph does not use it)");
      only_shapes = false;
    }
    it = w.erase(it);
  }
  if (!problems.empty()) {
    std::ostringstream os;
    os << "[" << family() << "] " << config_.name() << ": the checkpoint does not match the model ("
       << problems.size() << " problem" << (problems.size() == 1 ? "" : "s") << "):";
    const size_t shown = std::min<size_t>(problems.size(), 20);
    for (size_t i = 0; i < shown; ++i) os << "\n  " << problems[i];
    if (shown < problems.size()) os << "\n  ... and " << problems.size() - shown << " more";
    if (only_shapes) throw ShapeError(os.str());
    throw ValueError(os.str());
  }
  for (auto& [name, t] : w)
    if (t.dtype() != DType::f32) t = t.to(DType::f32);
  weights_ = std::move(w);
  executors_.clear();
}

Executor& Model::executor_for(const std::string& key, const std::function<Graph()>& build) {
  auto it = executors_.find(key);
  if (it != executors_.end()) return *it->second;
  Graph g = build();
  auto ex = std::make_unique<Executor>(g);
  for (Value v : g.params()) ex->bind_param(g.info(v).name, weights_.at(g.info(v).name));
  // Keep the cache bounded: generation visits one shape per length.
  if (executors_.size() >= 64) executors_.clear();
  return *executors_.emplace(key, std::move(ex)).first->second;
}

Graph Model::build_decode_graph(int64_t, int64_t, int64_t) const {
  TL_THROW(ValueError, "[", family(), "] has no KV-cache decoding");
}
Executor& Model::decode_executor(int64_t batch, int64_t n, int64_t past) {
  return executor_for("decode:" + std::to_string(batch) + ":" + std::to_string(n) + ":" + std::to_string(past),
                      [&] { return build_decode_graph(batch, n, past); });
}
Graph Model::build_encoder_graph(int64_t, int64_t) const {
  TL_THROW(ValueError, "[", family(), "] is not an encoder-decoder model");
}
Graph Model::build_decoder_step_graph(int64_t, int64_t, int64_t, int64_t) const {
  TL_THROW(ValueError, "[", family(), "] is not an encoder-decoder model");
}
Graph Model::build_step_graph(const Batch&, int64_t) const {
  TL_THROW(ValueError, "[", family(), "] has no KV-cache decoding");
}
Model::KvSpec Model::kv_spec() const {
  TL_THROW(ValueError, "[", family(), "] has no KV-cache decoding");
}

std::map<std::string, Tensor> Model::forward(const Batch& b) {
  check_batch(b);
  Executor& ex = executor_for(detail::shape_key(b), [&] { return build_graph(b); });
  std::map<std::string, Tensor> in;
  const Graph& g = ex.graph();
  if (b.ids.defined() && g.find("ids")) in["ids"] = detail::ids_as_i64(b.ids);
  if (g.find("mask"))
    in["mask"] = b.mask.defined() ? b.mask.to(DType::f32) : Tensor::full(b.ids.shape(), 1.0);
  if (g.find("type_ids"))
    in["type_ids"] =
        b.type_ids.defined() ? detail::ids_as_i64(b.type_ids) : Tensor::zeros(b.ids.shape(), DType::i64);
  if (g.find("decoder_ids")) in["decoder_ids"] = detail::ids_as_i64(b.decoder_ids);
  if (g.find("pixels")) in["pixels"] = b.pixels.contiguous();
  return ex.run(in);
}

std::vector<int64_t> Model::generate_greedy(const std::vector<int64_t>& prompt, int n_new, bool use_cache) {
  if (!can_generate())
    TL_THROW(ValueError, "[", family(), "] this model has no language-model head to generate with");
  if (prompt.empty()) TL_THROW(ValueError, "[", family(), "] generate: the prompt is empty");
  if (n_new < 0) TL_THROW(ValueError, "[", family(), "] generate: n_new must be >= 0, got ", n_new);
  GenerationConfig c;  // greedy, no stop ids: exactly n_new tokens
  c.max_new_tokens = n_new;
  c.use_cache = use_cache;
  return generate(*this, {prompt}, c).at(0).ids;
}

void Model::save(const std::string& path) const {
  io::NamedTensors ts;
  for (const auto& [name, t] : weights_) ts.emplace_back(name, t);
  io::save_safetensors(path, ts, {{"format", "pt"}});
}

std::vector<std::string> supported_model_types() {
  return {"bert", "gpt2", "llama", "mistral", "mixtral", "t5", "vit"};
}

namespace {
std::unique_ptr<Model> make_empty(const io::HfConfig& config, const detail::WeightNames& names) {
  const std::string type = config.get_string("model_type");
  if (type == "bert") return detail::make_bert(config, names);
  if (type == "gpt2") return detail::make_gpt2(config, names);
  if (type == "llama" || type == "mistral") return detail::make_llama(config, names);
  if (type == "mixtral") return detail::make_mixtral(config, names);
  if (type == "vit") return detail::make_vit(config, names);
  if (type == "t5") return detail::make_t5(config, names);
  std::string list;
  for (const auto& t : supported_model_types()) list += (list.empty() ? "" : ", ") + t;
  TL_THROW(ValueError, "[model] ", config.name(), ": \"model_type\" = \"", type,
           "\" is not supported (supported: ", list, ")");
}

// Renames checkpoint entries to the names the family's graph uses: Hugging Face saves BertModel bare but
// BertFor* under "bert." (the task heads are dropped), and GPT2Model bare but GPT2LMHeadModel under
// "transformer.".
std::map<std::string, Tensor> canonical_names(const std::string& type, std::map<std::string, Tensor> w) {
  auto any_start = [&](const std::string& p) {
    return std::any_of(w.begin(), w.end(), [&](const auto& kv) { return kv.first.rfind(p, 0) == 0; });
  };
  std::map<std::string, Tensor> out;
  if (type == "bert" && any_start("bert.")) {
    for (auto& [k, v] : w)
      if (k.rfind("bert.", 0) == 0)
        out.emplace(k.substr(5), std::move(v));
      else if (k.rfind("cls.", 0) != 0)
        out.emplace(k, std::move(v));  // left for the extra-weight check
    return out;
  }
  if (type == "gpt2" && !any_start("transformer.")) {
    for (auto& [k, v] : w) out.emplace(k == "lm_head.weight" ? k : "transformer." + k, std::move(v));
    return out;
  }
  return w;
}

// Checkpoint entries that are buffers, not weights, in some HF versions' files.
const std::vector<std::string> kIgnorable = {
    "embeddings.position_ids", "rotary_emb.inv_freq",         "attn.bias",
    "attn.masked_bias",        "encoder.embed_tokens.weight", "decoder.embed_tokens.weight"};
}  // namespace

std::unique_ptr<Model> make_model(const io::HfConfig& config, std::map<std::string, Tensor> weights) {
  weights = canonical_names(config.get_string("model_type"), std::move(weights));
  detail::WeightNames names;
  for (const auto& kv : weights) names.push_back(kv.first);
  std::unique_ptr<Model> m = make_empty(config, names);
  m->bind_weights(std::move(weights), kIgnorable);
  return m;
}

std::unique_ptr<Model> load_model(const std::string& dir) {
  namespace fs = std::filesystem;
  if (is_gguf_path(dir) && !fs::is_directory(dir)) return load_gguf_model(dir);  // src/models/gguf_model.cpp
  const io::HfConfig config = io::HfConfig::load(dir);
  std::string weights_path = dir;
  if (fs::is_directory(dir) && !fs::exists(fs::path(dir) / "model.safetensors") &&
      !fs::exists(fs::path(dir) / "model.safetensors.index.json"))
    TL_THROW(IoError, "[model] ", dir,
             ": no model.safetensors or model.safetensors.index.json in the directory");
  const io::SafetensorsCheckpoint ck = io::SafetensorsCheckpoint::open(weights_path);
  std::map<std::string, Tensor> w;
  for (const std::string& n : ck.names()) w.emplace(n, ck.load(n, io::Convert::to_f32));
  return make_model(config, std::move(w));
}

Tensor mean_pool_normalize(const Tensor& hidden, const Tensor& mask) {
  // The sentence-transformers pipeline's mean + Normalize modules (src/models/embed.cpp) own the arithmetic.
  return l2_normalize(pool_tokens(hidden, mask, {PoolingMode::mean}));
}

Tensor sentence_embeddings(Model& m, const Tensor& ids, const Tensor& mask) {
  Batch b;
  b.ids = ids;
  b.mask = mask;
  return mean_pool_normalize(m.forward(b).at("hidden"), mask);
}

}  // namespace tl::models
