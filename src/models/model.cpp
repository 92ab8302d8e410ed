// The family-independent part of a model: loading (config + safetensors), weight checking by name and shape,
// the per-shape executor cache, greedy decoding (through generate.cpp), saving, and sentence-embedding pooling.
#include <algorithm>
#include <cmath>
#include <cstring>
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
#include "tl/passes.h"

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

namespace {
// In-features of a stored weight: its row holds k weights in weight_row_bytes(f, k) bytes (or k elements).
int64_t stored_in_features(const Tensor& t, WeightFormat f) {
  if (weight_storage_dtype(f) != DType::u8) return t.size(1);
  const int64_t block = weight_format_block(f);
  return t.size(1) / weight_row_bytes(f, block) * block;
}
}  // namespace

int64_t Model::parameter_count() const {
  int64_t n = 0;
  for (const auto& [name, t] : weights_) {
    auto f = formats_.find(name);
    n += f == formats_.end() ? t.numel() : t.size(0) * stored_in_features(t, f->second);
  }
  return n;
}

int64_t Model::weight_bytes() const {
  int64_t n = 0;
  for (const auto& [name, t] : weights_) n += int64_t(t.nbytes());
  for (const auto& [name, t] : copies_) n += int64_t(t.nbytes());
  return n;
}

std::map<std::string, Tensor> Model::f32_weights() const {
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : weights_) {
    auto f = formats_.find(name);
    if (f == formats_.end()) {
      out.emplace(name, t);
      continue;
    }
    Tensor w = dequantize_weight(t, f->second, stored_in_features(t, f->second));  // [out, in]
    out.emplace(name, transposed_.count(name) ? w.transpose(0, 1).contiguous() : w);
  }
  return out;
}

namespace {
// A fresh copy of `t` made a few MB at a time, handing each copied piece to `done_with` as it goes: when `t`
// views a mapped file, its pages are dropped while the copy grows, so the two never sit in memory together
// (a tied 49k x 576 f32 embedding would otherwise add its 113 MB to the load's peak).
Tensor copy_releasing(const Tensor& t, const std::function<void(const Tensor&)>& done_with) {
  if (!done_with || !t.is_contiguous() || t.rank() == 0 || t.shape()[0] == 0) {
    Tensor c = t.clone();
    if (done_with) done_with(t);
    return c;
  }
  Tensor c = Tensor::empty(t.shape(), t.dtype());
  const int64_t rows = t.shape()[0];
  const size_t row_bytes = t.nbytes() / size_t(rows);
  const int64_t step = std::max<int64_t>(1, int64_t((size_t(4) << 20) / std::max<size_t>(row_bytes, 1)));
  auto* dst = static_cast<uint8_t*>(c.raw_data());
  const auto* src = static_cast<const uint8_t*>(t.raw_data());
  for (int64_t r = 0; r < rows; r += step) {
    const int64_t e = std::min(rows, r + step);
    std::memcpy(dst + size_t(r) * row_bytes, src + size_t(r) * row_bytes, size_t(e - r) * row_bytes);
    done_with(t.slice(0, r, e));
  }
  done_with(t);  // the pages straddling the pieces' edges
  return c;
}
}  // namespace

void Model::quantize(WeightFormat f, const QuantizePolicy& p) { quantize_with(f, p, nullptr); }

void Model::quantize_with(WeightFormat f, const QuantizePolicy& p,
                          const std::function<void(const Tensor&)>& done_with) {
  if (f == WeightFormat::f32) return;
  if (!formats_.empty() || !copies_.empty())
    TL_THROW(ValueError, "[", family(), "] quantize(", weight_format_name(f), "): the weights are already stored ",
             "in reduced formats (e.g. \"", formats_.empty() ? copies_.begin()->first : formats_.begin()->first,
             "\" as ", weight_format_name(formats_.empty() ? copy_formats_.begin()->second : formats_.begin()->second),
             "); quantise a model loaded with f32 weights");
  if (!can_quantize(f))
    TL_THROW(ValueError, "[", family(), "] quantize: format ", weight_format_name(f),
             " cannot be produced from f32 weights (it only comes from GGUF files; use q8_0, q4_0, q4_1, f16 or bf16)");
  const bool four_bit = f == WeightFormat::q4_0 || f == WeightFormat::q4_1;
  const WeightFormat head = p.lm_head ? *p.lm_head : (four_bit ? WeightFormat::q8_0 : f);
  const std::set<std::string> keep(p.keep_f32.begin(), p.keep_f32.end());
  std::map<std::string, WeightFormat> formats;
  std::set<std::string> transposed;
  std::map<std::string, Tensor> stored, copies;
  std::map<std::string, WeightFormat> copy_formats;
  for (const LinearWeight& lw : linear_weights(build_graph(example_batch()), /*include_shared=*/p.tied_head)) {
    if (keep.count(lw.name)) continue;
    const WeightFormat wf = lw.name == "lm_head.weight" || lw.shared ? head : f;
    if (wf == WeightFormat::f32) continue;
    if (!can_quantize(wf))
      TL_THROW(ValueError, "[", family(), "] quantize: the LM head format ", weight_format_name(wf),
               " cannot be produced from f32 weights");
    if (lw.in_features % weight_format_block(wf) != 0) {
      if (p.strict)
        TL_THROW(ShapeError, "[", family(), "] quantize: weight \"", lw.name, "\" has ", lw.in_features,
                 " in-features, which ", weight_format_name(wf), " cannot store (a multiple of ",
                 weight_format_block(wf), " is needed)");
      continue;  // stays f32
    }
    const Tensor& w = weights_.at(lw.name);  // [out, in], or [in, out] when transposed
    if (lw.shared) {  // the f32 weight stays for its other uses; the linear uses read the copy
      copies.emplace(linear_copy_name(lw.name), quantize_weight(lw.transposed ? w.transpose(0, 1) : w, wf));
      copy_formats[lw.name] = wf;
      continue;
    }
    stored.emplace(lw.name, quantize_weight(lw.transposed ? w.transpose(0, 1) : w, wf));
    if (done_with) done_with(w);
    formats[lw.name] = wf;
    if (lw.transposed) transposed.insert(lw.name);
  }
  // Swap in the stored weights (dropping the f32 ones), then copy the f32 weights that still view a mapped
  // file so the mapping (the whole f32 checkpoint) is released.
  for (auto& [name, t] : stored) weights_[name] = std::move(t);
  stored.clear();
  if (!formats.empty())
    for (auto& [name, t] : weights_)
      if (!formats.count(name)) t = copy_releasing(t, done_with);
  formats_ = std::move(formats);
  transposed_ = std::move(transposed);
  copies_ = std::move(copies);
  copy_formats_ = std::move(copy_formats);
  executors_.clear();
}

void Model::set_linear_copy(const std::string& name, Tensor stored, WeightFormat f) {
  for (const LinearWeight& lw : linear_weights(build_graph(example_batch()), /*include_shared=*/true)) {
    if (lw.name != name) continue;
    if (!lw.shared)
      TL_THROW(ValueError, "[", family(), "] set_linear_copy: weight \"", name, "\" is used only as a linear ",
               "weight; store it itself (quantize, or a stored format when loading) instead of a copy");
    const int64_t n = check_weight_storage(stored, f, lw.in_features,
                                           "linear copy of \"" + name + "\" (" + weight_format_name(f) + ")");
    if (n != lw.out_features)
      TL_THROW(ShapeError, "[", family(), "] set_linear_copy: the copy of \"", name, "\" has ", n,
               " rows, expected ", lw.out_features);
    copies_[linear_copy_name(name)] = std::move(stored);
    copy_formats_[name] = f;
    executors_.clear();
    return;
  }
  TL_THROW(ValueError, "[", family(), "] set_linear_copy: \"", name, "\" is not a weight that the ", family(),
           " graph uses both as a linear layer's weight and otherwise (a tied embedding/LM head)");
}

void Model::bind_weights(std::map<std::string, Tensor> w, const std::vector<std::string>& ignorable,
                         const std::map<std::string, WeightFormat>& formats) {
  const std::vector<WeightSpec> want = expected_weights();
  // Stored weights: their [out, in] shape from the storage, checked against the graph's linear uses.
  std::map<std::string, LinearWeight> linear;
  if (!formats.empty())
    for (const LinearWeight& lw : linear_weights(build_graph(example_batch()))) linear.emplace(lw.name, lw);
  std::map<std::string, Shape> stored_shape;
  for (const auto& [name, f] : formats) {
    auto it = w.find(name);
    if (it == w.end()) continue;  // reported as missing below
    auto lw = linear.find(name);
    if (lw == linear.end())
      TL_THROW(ValueError, "[", family(), "] ", config_.name(), ": weight \"", name, "\" is given as ",
               weight_format_name(f), " but the ", family(),
               " graph does not use it only as a linear layer's weight (tied or other uses need f32)");
    const int64_t k = lw->second.in_features;
    const int64_t n = check_weight_storage(it->second, f, k, "weight \"" + name + "\" (" + weight_format_name(f) + ")");
    stored_shape[name] = lw->second.transposed ? Shape{k, n} : Shape{n, k};
    if (lw->second.transposed) transposed_.insert(name);
  }
  std::vector<std::string> problems;
  bool only_shapes = true;
  std::set<std::string> expected_names;
  for (const WeightSpec& s : want) {
    expected_names.insert(s.name);
    auto it = w.find(s.name);
    if (it == w.end()) {
      problems.push_back("missing weight \"" + s.name + "\" (expected shape " + shape_str(s.shape) + ")");
      only_shapes = false;
    } else if ((stored_shape.count(s.name) ? stored_shape.at(s.name) : it->second.shape()) != s.shape) {
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
    if (t.dtype() != DType::f32 && !formats.count(name)) t = t.to(DType::f32);
  weights_ = std::move(w);
  copies_.clear();
  copy_formats_.clear();
  for (const auto& [name, f] : formats)
    if (weights_.count(name)) formats_[name] = f;
  executors_.clear();
}

Executor& Model::executor_for(const std::string& key, const std::function<Graph()>& build) {
  auto it = executors_.find(key);
  if (it != executors_.end()) return *it->second;
  Graph g = build();
  apply_weight_formats(g, formats_, copy_formats_);  // stored weights: their einsums become linear ops (passes.h)
  // The optimiser's full level (CSE, folding, einsum chain merge/split, bias+activation and softmax fusion):
  // model outputs stay within the parity tests' tolerances (tests/models) and it costs a few ms per graph.
  optimize(g, OptLevel::full);
  auto ex = std::make_unique<Executor>(g);
  for (Value v : g.params()) {
    const std::string& name = g.info(v).name;
    auto c = copies_.find(name);
    ex->bind_param(name, c != copies_.end() ? c->second : weights_.at(name));
  }
  // Keep the cache bounded: generation visits one shape per length.
  if (executors_.size() >= 64) executors_.clear();
  return *executors_.emplace(key, std::move(ex)).first->second;
}

Graph Model::build_decode_graph(int64_t, int64_t, int64_t, bool) const {
  TL_THROW(ValueError, "[", family(), "] has no KV-cache decoding");
}
Executor& Model::decode_executor(int64_t batch, int64_t n, int64_t past, bool last_logits) {
  return executor_for("decode:" + std::to_string(batch) + ":" + std::to_string(n) + ":" + std::to_string(past) +
                          (last_logits ? ":last" : ""),
                      [&] { return build_decode_graph(batch, n, past, last_logits); });
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
  for (const auto& [name, f] : formats_)
    if (weight_storage_dtype(f) == DType::u8)
      TL_THROW(ValueError, "[", family(), "] save ", path, ": weight \"", name, "\" is stored as ",
               weight_format_name(f), ", which safetensors cannot hold; write a GGUF with `tlt quantize` (or save ",
               "the f32 model before quantising)");
  io::NamedTensors ts;
  for (const auto& [name, t] : weights_)
    ts.emplace_back(name, transposed_.count(name) ? t.transpose(0, 1).contiguous() : t);
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

std::unique_ptr<Model> make_model(const io::HfConfig& config, std::map<std::string, Tensor> weights,
                                  const std::map<std::string, WeightFormat>& formats) {
  weights = canonical_names(config.get_string("model_type"), std::move(weights));
  detail::WeightNames names;
  for (const auto& kv : weights) names.push_back(kv.first);
  std::unique_ptr<Model> m = make_empty(config, names);
  m->bind_weights(std::move(weights), kIgnorable, formats);
  return m;
}

std::vector<WeightSpec> expected_weights(const io::HfConfig& config) {
  return make_empty(config, {})->expected_weights();
}

namespace {
using Mappings = std::vector<std::shared_ptr<const io::MappedFile>>;
std::unique_ptr<Model> load_directory(const std::string& dir, Mappings* maps);
}  // namespace

std::unique_ptr<Model> load_model(const std::string& dir, const LoadOptions& opt) {
  namespace fs = std::filesystem;
  std::unique_ptr<Model> m;
  if (is_gguf_path(dir) && !fs::is_directory(dir)) {
    m = load_gguf_model(dir, GgufLoadOptions{opt.keep_quantized});
    if (opt.weight_format && m->weight_formats().empty()) m->quantize(*opt.weight_format, opt.policy);
    return m;
  }
  if (!opt.weight_format) return load_model(dir);
  // Safetensors: f32 weights are views of the mapping; each one's pages are dropped once it is stored (the
  // mapping stays alive while any view of it does, so the spans stay valid throughout).
  Mappings maps;
  m = load_directory(dir, &maps);
  m->quantize_with(*opt.weight_format, opt.policy, [&](const Tensor& t) {
    const std::span<const uint8_t> bytes(static_cast<const uint8_t*>(t.raw_data()), t.nbytes());
    for (const auto& f : maps) f->drop_resident(bytes);  // only the mapping holding it acts
  });
  return m;
}

std::unique_ptr<Model> load_model(const std::string& dir) {
  namespace fs = std::filesystem;
  if (is_gguf_path(dir) && !fs::is_directory(dir)) return load_gguf_model(dir);  // src/models/gguf_model.cpp
  return load_directory(dir, nullptr);
}

namespace {
std::unique_ptr<Model> load_directory(const std::string& dir, Mappings* maps) {
  namespace fs = std::filesystem;
  const io::HfConfig config = io::HfConfig::load(dir);
  std::string weights_path = dir;
  if (fs::is_directory(dir) && !fs::exists(fs::path(dir) / "model.safetensors") &&
      !fs::exists(fs::path(dir) / "model.safetensors.index.json"))
    TL_THROW(IoError, "[model] ", dir,
             ": no model.safetensors or model.safetensors.index.json in the directory");
  const io::SafetensorsCheckpoint ck = io::SafetensorsCheckpoint::open(weights_path);
  if (maps)
    for (const io::SafetensorsFile& f : ck.files()) maps->push_back(f.mapping());
  std::map<std::string, Tensor> w;
  for (const std::string& n : ck.names()) {
    Tensor t = ck.load(n, io::Convert::to_f32);
    // A converted (bf16, f16, ...) or realigned entry is a copy: its file pages need not stay resident beside it.
    const io::SafetensorsFile& f = ck.file_of(n);
    detail::drop_if_copied(*f.mapping(), f.raw(n), t);
    w.emplace(n, std::move(t));
  }
  return make_model(config, std::move(w));
}
}  // namespace

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
