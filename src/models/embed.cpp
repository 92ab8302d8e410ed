// Sentence-transformers pipelines: the directory layout (modules.json and each module's config), the
// tokenization sentence-transformers' Transformer module does (strip, optional lowercase, truncation to
// max_seq_length keeping the special tokens), pooling, Dense and Normalize. The transformer itself is any
// family load_model() reads whose forward gives "hidden".
#include "tl/models/embed.h"

#include <unicode/uchar.h>
#include <unicode/ustring.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <optional>

#include "tl/error.h"
#include "tl/io/hf_config.h"
#include "tl/io/safetensors.h"
#include "tl/json.h"

namespace tl::models {

namespace fs = std::filesystem;

namespace {

// (config key, mode) in sentence-transformers' concatenation order.
const std::pair<const char*, PoolingMode> kModes[] = {
    {"pooling_mode_cls_token", PoolingMode::cls},
    {"pooling_mode_max_tokens", PoolingMode::max},
    {"pooling_mode_mean_tokens", PoolingMode::mean},
    {"pooling_mode_mean_sqrt_len_tokens", PoolingMode::mean_sqrt_len},
    {"pooling_mode_weightedmean_tokens", PoolingMode::weighted_mean},
    {"pooling_mode_lasttoken", PoolingMode::last_token},
};

std::string module_kind(const std::string& type) {
  const size_t dot = type.rfind('.');
  return dot == std::string::npos ? type : type.substr(dot + 1);
}

std::vector<PoolingMode> read_pooling(const std::string& path, int64_t& dim) {
  const io::HfConfig c = io::HfConfig::load(path);
  dim = c.get_int("word_embedding_dimension", 0);
  std::vector<PoolingMode> modes;
  for (const auto& m : c.json().as_object()) {
    const std::string& k = m.key;
    if (k == "word_embedding_dimension" || k == "include_prompt") continue;
    bool known = false;
    for (const auto& [key, mode] : kModes) known |= k == key;
    if (!known)
      TL_THROW(ValueError, "[embed] ", path, ": \"", k, "\" is not supported (supported: ",
               "pooling_mode_cls_token, pooling_mode_max_tokens, pooling_mode_mean_tokens, ",
               "pooling_mode_mean_sqrt_len_tokens, pooling_mode_weightedmean_tokens, pooling_mode_lasttoken, ",
               "include_prompt, word_embedding_dimension)");
  }
  for (const auto& [key, mode] : kModes)
    if (c.get_bool(key, false)) modes.push_back(mode);
  if (modes.empty())
    TL_THROW(ValueError, "[embed] ", path, ": no pooling mode is true; expected at least one pooling_mode_*");
  return modes;
}

DenseLayer read_dense(const fs::path& d, const std::string& name) {
  const io::HfConfig c = io::HfConfig::load((d / "config.json").string());
  DenseLayer l;
  l.name = name;
  const int64_t in = c.get_positive_int("in_features"), out = c.get_positive_int("out_features");
  const bool bias = c.get_bool("bias", true);
  const std::string act = c.get_string("activation_function", "torch.nn.modules.activation.Tanh");
  if (act == "torch.nn.modules.activation.Tanh")
    l.tanh = true;
  else if (act != "torch.nn.modules.linear.Identity")
    TL_THROW(ValueError, "[embed] ", (d / "config.json").string(), ": activation_function \"", act,
             "\" is not supported (supported: torch.nn.modules.activation.Tanh, torch.nn.modules.linear.Identity)");
  const fs::path st = d / "model.safetensors";
  if (!fs::exists(st)) {
    if (fs::exists(d / "pytorch_model.bin"))
      TL_THROW(IoError, "[embed] ", (d / "pytorch_model.bin").string(),
               ": PyTorch pickle weights are not read; expected model.safetensors (re-save the model with "
               "safe_serialization=True)");
    TL_THROW(IoError, "[embed] ", d.string(), ": no model.safetensors for the Dense module");
  }
  const io::SafetensorsCheckpoint ck = io::SafetensorsCheckpoint::open(st.string());
  for (const auto& n : ck.names())
    if (n != "linear.weight" && n != "linear.bias")
      TL_THROW(ValueError, "[embed] ", st.string(), ": unexpected tensor \"", n,
               "\"; expected linear.weight", bias ? " and linear.bias" : "");
  if (!ck.contains("linear.weight"))
    TL_THROW(ValueError, "[embed] ", st.string(), ": missing tensor \"linear.weight\"");
  l.weight = ck.load("linear.weight", io::Convert::to_f32).contiguous();
  if (l.weight.shape() != Shape{out, in})
    TL_THROW(ShapeError, "[embed] ", st.string(), ": linear.weight has shape ", shape_str(l.weight.shape()),
             ", expected [out_features, in_features] = ", shape_str(Shape{out, in}));
  if (bias != ck.contains("linear.bias"))
    TL_THROW(ValueError, "[embed] ", st.string(), ": config says bias = ", bias ? "true" : "false",
             " but linear.bias is ", bias ? "missing" : "present");
  if (bias) {
    l.bias = ck.load("linear.bias", io::Convert::to_f32).contiguous();
    if (l.bias.shape() != Shape{out})
      TL_THROW(ShapeError, "[embed] ", st.string(), ": linear.bias has shape ", shape_str(l.bias.shape()),
               ", expected ", shape_str(Shape{out}));
  }
  return l;
}

// max_seq_length as sentence-transformers picks it: sentence_bert_config.json, else the smaller of the
// model's max_position_embeddings and the tokenizer's model_max_length.
void read_transformer_config(const fs::path& d, EmbedConfig& cfg) {
  const fs::path sb = d / "sentence_bert_config.json";
  std::optional<int64_t> max_len;
  if (fs::exists(sb)) {
    const io::HfConfig c = io::HfConfig::load(sb.string());
    for (const auto& m : c.json().as_object())
      if (m.key != "max_seq_length" && m.key != "do_lower_case")
        TL_THROW(ValueError, "[embed] ", sb.string(), ": \"", m.key,
                 "\" is not supported (supported: max_seq_length, do_lower_case)");
    if (c.has("max_seq_length") && !c.get("max_seq_length").is_null())
      max_len = c.get_positive_int("max_seq_length");
    cfg.do_lower_case = c.get_bool("do_lower_case", false);
  }
  if (!max_len) {
    const io::HfConfig mc = io::HfConfig::load((d / "config.json").string());
    int64_t m = mc.get_int("max_position_embeddings", mc.get_int("n_positions", INT64_MAX));
    const fs::path tc = d / "tokenizer_config.json";
    if (fs::exists(tc)) {
      const io::HfConfig t = io::HfConfig::load(tc.string());
      if (const json::Value* v = t.find("model_max_length"); v && v->is_int()) m = std::min(m, v->as_int());
    }
    if (m == INT64_MAX || m <= 0)
      TL_THROW(ValueError, "[embed] ", d.string(),
               ": no max_seq_length (sentence_bert_config.json), max_position_embeddings or model_max_length");
    max_len = m;
  }
  cfg.max_seq_length = *max_len;
}

// Python's str.strip(): Unicode White_Space plus the information separators U+001C..U+001F.
bool py_space(UChar32 c) { return u_isUWhiteSpace(c) || (c >= 0x1c && c <= 0x1f); }

std::string py_strip(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const int32_t n = static_cast<int32_t>(s.size());
  int32_t b = 0, e = n;
  while (b < n) {
    int32_t i = b;
    UChar32 c;
    U8_NEXT(p, i, n, c);
    if (c < 0 || !py_space(c)) break;
    b = i;
  }
  while (e > b) {
    int32_t i = e;
    UChar32 c;
    U8_PREV(p, 0, i, c);
    if (c < 0 || !py_space(c)) break;
    e = i;
  }
  return std::string(s.substr(size_t(b), size_t(e - b)));
}

// Python's str.lower() (full Unicode case mapping, final sigma in context) through ICU's root locale.
std::string py_lower(const std::string& s) {
  UErrorCode e = U_ZERO_ERROR;
  int32_t n16 = 0;
  u_strFromUTF8(nullptr, 0, &n16, s.data(), int32_t(s.size()), &e);
  if (e != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(e))
    TL_THROW(ValueError, "[embed] text is not valid UTF-8 (", u_errorName(e), ")");
  e = U_ZERO_ERROR;
  std::u16string a(size_t(n16), u'\0');
  u_strFromUTF8(a.data(), n16, nullptr, s.data(), int32_t(s.size()), &e);
  if (U_FAILURE(e)) TL_THROW(ValueError, "[embed] text is not valid UTF-8 (", u_errorName(e), ")");
  std::u16string low(size_t(n16) * 3 + 1, u'\0');
  const int32_t nl = u_strToLower(low.data(), int32_t(low.size()), a.data(), n16, "", &e);
  if (U_FAILURE(e)) TL_THROW(InternalError, "[embed] ICU lowercasing failed: ", u_errorName(e));
  int32_t n8 = 0;
  u_strToUTF8(nullptr, 0, &n8, low.data(), nl, &e);
  e = U_ZERO_ERROR;
  std::string out(size_t(n8), '\0');
  u_strToUTF8(out.data(), n8, nullptr, low.data(), nl, &e);
  if (U_FAILURE(e)) TL_THROW(InternalError, "[embed] ICU UTF-8 conversion failed: ", u_errorName(e));
  return out;
}

}  // namespace

std::string pooling_mode_name(PoolingMode m) {
  for (const auto& [key, mode] : kModes)
    if (mode == m) return key;
  return "?";
}

EmbedConfig read_embed_config(const std::string& dir) {
  const fs::path root(dir);
  if (!fs::is_directory(root)) TL_THROW(IoError, "[embed] ", dir, ": not a directory");
  EmbedConfig cfg;
  const fs::path mj = root / "modules.json";
  if (!fs::exists(mj)) {
    cfg.fallback = true;
    cfg.transformer_dir = root.string();
    cfg.pooling = {PoolingMode::mean};
    read_transformer_config(root, cfg);
    return cfg;
  }
  const json::Value doc = json::parse(tok::read_maybe_gzip(mj.string()));
  if (!doc.is_array() || doc.as_array().empty())
    TL_THROW(ParseError, "[embed] ", mj.string(), ": expected a non-empty JSON array of modules");
  bool have_transformer = false, have_pooling = false;
  for (size_t i = 0; i < doc.as_array().size(); ++i) {
    const json::Value& m = doc.as_array()[i];
    const json::Value* t = m.is_object() ? m.as_object().find("type") : nullptr;
    const json::Value* p = m.is_object() ? m.as_object().find("path") : nullptr;
    if (!t || !t->is_string() || !p || !p->is_string())
      TL_THROW(ParseError, "[embed] ", mj.string(), ": module [", i, "] needs string fields \"type\" and \"path\"");
    const std::string kind = module_kind(t->as_string());
    const fs::path d = root / p->as_string();
    const std::string where = mj.string() + ": module [" + std::to_string(i) + "] " + t->as_string();
    if (kind == "Transformer") {
      if (i != 0) TL_THROW(ValueError, "[embed] ", where, ": the Transformer must be the first module");
      have_transformer = true;
      cfg.transformer_dir = d.string();
      read_transformer_config(d, cfg);
    } else if (kind == "Pooling") {
      if (!have_transformer || have_pooling || !cfg.steps.empty())
        TL_THROW(ValueError, "[embed] ", where, ": expected one Pooling module right after the Transformer");
      have_pooling = true;
      cfg.pooling = read_pooling((d / "config.json").string(), cfg.pooling_dim);
    } else if (kind == "Dense" || kind == "Normalize") {
      if (!have_pooling)
        TL_THROW(ValueError, "[embed] ", where, ": ", kind, " before a Pooling module is not supported");
      PostStep s;
      s.kind = kind == "Dense" ? PostStep::dense : PostStep::normalize;
      if (kind == "Dense") s.layer = read_dense(d, p->as_string());
      cfg.steps.push_back(std::move(s));
    } else {
      TL_THROW(ValueError, "[embed] ", where, ": module type \"", t->as_string(),
               "\" is not supported (supported: Transformer, Pooling, Dense, Normalize)");
    }
  }
  if (!have_transformer || !have_pooling)
    TL_THROW(ValueError, "[embed] ", mj.string(), ": expected a Transformer and a Pooling module, got ",
             have_transformer ? "no Pooling" : "no Transformer");
  return cfg;
}

Tensor pool_tokens(const Tensor& hidden, const Tensor& mask, const std::vector<PoolingMode>& modes) {
  if (hidden.rank() != 3 || hidden.dtype() != DType::f32)
    TL_THROW(ShapeError, "[embed] hidden must be f32 [batch, seq, d], got ", dtype_name(hidden.dtype()),
             shape_str(hidden.shape()));
  const int64_t b = hidden.size(0), s = hidden.size(1), d = hidden.size(2);
  if (mask.defined() && mask.shape() != Shape{b, s})
    TL_THROW(ShapeError, "[embed] mask must be [batch, seq] = ", shape_str(Shape{b, s}), ", got ",
             shape_str(mask.shape()));
  if (modes.empty()) TL_THROW(ValueError, "[embed] no pooling mode given");
  const Tensor h = hidden.contiguous();
  const std::vector<double> m =
      mask.defined() ? mask.to_f64_vector() : std::vector<double>(size_t(b * s), 1.0);
  const int64_t w = d * int64_t(modes.size());
  Tensor out = Tensor::empty({b, w});  // [batch, d * modes]
  const float* hp = h.data<float>();
  float* op = out.data<float>();
  std::vector<double> acc(static_cast<size_t>(d));
  for (int64_t i = 0; i < b; ++i) {
    const float* hi = hp + i * s * d;  // [seq, d]
    const double* mi = m.data() + i * s;
    for (size_t k = 0; k < modes.size(); ++k) {
      float* o = op + i * w + int64_t(k) * d;
      switch (modes[k]) {
        case PoolingMode::cls:  // the first token, padding or not
          std::copy(hi, hi + d, o);
          break;
        case PoolingMode::max:  // padding counts as -1e9, as sentence-transformers sets it
          for (int64_t j = 0; j < d; ++j) {
            float best = -INFINITY;
            for (int64_t t = 0; t < s; ++t) best = std::max(best, mi[t] != 0 ? hi[t * d + j] : -1e9f);
            o[j] = best;
          }
          break;
        case PoolingMode::mean:
        case PoolingMode::mean_sqrt_len:
        case PoolingMode::weighted_mean: {
          // Weighted mean: token t (0-based) weighs t + 1, padding 0; the token count is clamped at 1e-9.
          const bool weighted = modes[k] == PoolingMode::weighted_mean;
          std::fill(acc.begin(), acc.end(), 0.0);
          double count = 0;
          for (int64_t t = 0; t < s; ++t) {
            const double wt = mi[t] != 0 ? (weighted ? double(t + 1) : 1.0) : 0.0;
            if (wt == 0) continue;
            count += wt;
            for (int64_t j = 0; j < d; ++j) acc[size_t(j)] += wt * hi[t * d + j];
          }
          count = std::max(count, 1e-9);
          const double div = modes[k] == PoolingMode::mean_sqrt_len ? std::sqrt(count) : count;
          for (int64_t j = 0; j < d; ++j) o[j] = float(acc[size_t(j)] / div);
          break;
        }
        case PoolingMode::last_token: {  // the last real token; the last position when none is real
          int64_t last = s - 1;
          for (int64_t t = s - 1; t >= 0; --t)
            if (mi[t] != 0) {
              last = t;
              break;
            }
          std::copy(hi + last * d, hi + last * d + d, o);
          break;
        }
      }
    }
  }
  return out;
}

Tensor apply_dense(const DenseLayer& l, const Tensor& x) {
  const int64_t out = l.weight.size(0), in = l.weight.size(1);
  if (x.rank() != 2 || x.size(1) != in || x.dtype() != DType::f32)
    TL_THROW(ShapeError, "[embed] ", l.name, ": input must be f32 [batch, ", in, "], got ", dtype_name(x.dtype()),
             shape_str(x.shape()));
  const Tensor xc = x.contiguous();
  const int64_t b = x.size(0);
  Tensor y = Tensor::empty({b, out});  // [batch, out]
  const float* xp = xc.data<float>();
  const float* wp = l.weight.data<float>();
  const float* bp = l.bias.defined() ? l.bias.data<float>() : nullptr;
  float* yp = y.data<float>();
  for (int64_t i = 0; i < b; ++i)
    for (int64_t o = 0; o < out; ++o) {
      double a = bp ? bp[o] : 0.0;
      for (int64_t j = 0; j < in; ++j) a += double(xp[i * in + j]) * wp[o * in + j];
      yp[i * out + o] = float(l.tanh ? std::tanh(a) : a);
    }
  return y;
}

Tensor l2_normalize(const Tensor& x) {
  if (x.rank() != 2 || x.dtype() != DType::f32)
    TL_THROW(ShapeError, "[embed] normalize: input must be f32 [batch, d], got ", dtype_name(x.dtype()),
             shape_str(x.shape()));
  Tensor y = x.contiguous().clone();
  const int64_t b = y.size(0), d = y.size(1);
  float* p = y.data<float>();
  for (int64_t i = 0; i < b; ++i) {
    double sq = 0;
    for (int64_t j = 0; j < d; ++j) sq += double(p[i * d + j]) * p[i * d + j];
    const double n = std::max(std::sqrt(sq), 1e-12);
    for (int64_t j = 0; j < d; ++j) p[i * d + j] = float(p[i * d + j] / n);
  }
  return y;
}

EmbeddingModel::EmbeddingModel(EmbedConfig cfg, std::unique_ptr<Model> m, tok::Tokenizer tok)
    : cfg_(std::move(cfg)), model_(std::move(m)), tok_(std::move(tok)) {}
EmbeddingModel::EmbeddingModel(EmbeddingModel&&) noexcept = default;
EmbeddingModel& EmbeddingModel::operator=(EmbeddingModel&&) noexcept = default;
EmbeddingModel::~EmbeddingModel() = default;

EmbeddingModel EmbeddingModel::load(const std::string& dir) {
  EmbedConfig cfg = read_embed_config(dir);
  std::unique_ptr<Model> m = load_model(cfg.transformer_dir);
  const std::string fam = m->family();
  if (fam != "bert" && fam != "gpt2" && fam != "llama" && fam != "mistral" && fam != "mixtral")
    TL_THROW(ValueError, "[embed] ", dir, ": a ", fam,
             " transformer is not supported as a sentence-transformers module (supported: bert, gpt2, llama, "
             "mistral, mixtral)");
  const fs::path tj = fs::path(cfg.transformer_dir) / "tokenizer.json";
  if (!fs::exists(tj)) TL_THROW(IoError, "[embed] ", tj.string(), ": missing (the tokenizer is required)");
  tok::Tokenizer tok = tok::Tokenizer::from_file(tj.string());
  EmbeddingModel e(std::move(cfg), std::move(m), std::move(tok));
  // The width after each stage, checked against the modules' configs.
  Batch one;
  one.ids = Tensor::zeros({1, 1}, DType::i64);
  const Graph g = e.model_->build_graph(one);
  int64_t hidden = -1;
  for (const auto& o : g.outputs())
    if (o.name == "hidden") hidden = g.shape(o.value).back();
  if (hidden <= 0) TL_THROW(ValueError, "[embed] ", dir, ": the ", fam, " model has no \"hidden\" output");
  if (e.cfg_.pooling_dim != 0 && e.cfg_.pooling_dim != hidden)
    TL_THROW(ShapeError, "[embed] ", dir, ": Pooling word_embedding_dimension = ", e.cfg_.pooling_dim,
             " but the transformer's hidden size is ", hidden);
  int64_t w = hidden * int64_t(e.cfg_.pooling.size());
  for (const auto& s : e.cfg_.steps) {
    if (s.kind != PostStep::dense) continue;
    if (s.layer.weight.size(1) != w)
      TL_THROW(ShapeError, "[embed] ", s.layer.name, ": in_features = ", s.layer.weight.size(1),
               " but the embedding before it has ", w, " dimensions");
    w = s.layer.weight.size(0);
  }
  e.dim_ = w;
  if (e.cfg_.fallback)
    e.note_ = "no modules.json in " + dir +
              ": using Transformer + mean pooling without normalisation, as sentence-transformers does";
  return e;
}

std::vector<int32_t> EmbeddingModel::tokenize(std::string_view text) const {
  std::string t = py_strip(text);
  if (cfg_.do_lower_case) t = py_lower(t);
  tok::EncodeOptions with;
  with.truncate_and_pad = false;  // the file's own truncation/padding are overridden, as transformers does
  std::vector<int32_t> full = tok_.encode(t, with);
  if (int64_t(full.size()) <= cfg_.max_seq_length) return full;
  // Truncate the content, keep the special tokens: find the content inside the templated sequence.
  tok::EncodeOptions bare = with;
  bare.add_special_tokens = false;
  const std::vector<int32_t> c = tok_.encode(t, bare);
  const int64_t k = int64_t(full.size()) - int64_t(c.size());  // special tokens the template adds
  if (k < 0 || k >= cfg_.max_seq_length)
    TL_THROW(ValueError, "[embed] max_seq_length = ", cfg_.max_seq_length, " leaves no room for content next to ",
             k, " special tokens");
  for (int64_t p = 0; p <= k; ++p) {
    if (!std::equal(c.begin(), c.end(), full.begin() + p)) continue;
    std::vector<int32_t> r(full.begin(), full.begin() + p);
    r.insert(r.end(), c.begin(), c.begin() + (cfg_.max_seq_length - k));
    r.insert(r.end(), full.begin() + p + int64_t(c.size()), full.end());
    return r;
  }
  TL_THROW(ValueError, "[embed] cannot truncate: the post-processor does not keep the content as one run of ids");
}

Tensor EmbeddingModel::encode(const std::vector<std::string>& texts, int64_t batch_size) {
  if (batch_size <= 0) TL_THROW(ValueError, "[embed] batch size = ", batch_size, " must be positive");
  const int64_t n = int64_t(texts.size());
  Tensor out = Tensor::empty({n, dim_});  // [n, dim]
  std::vector<std::vector<int32_t>> ids(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    ids[i] = tokenize(texts[i]);
    if (ids[i].empty())  // possible only for a tokenizer without special tokens
      TL_THROW(ValueError, "[embed] text ", i, " gives no tokens; expected at least one");
  }
  // Longest first, as sentence-transformers orders them, so each batch pads little.
  std::vector<size_t> order(texts.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ids[a].size() > ids[b].size(); });
  const bool use_mask = model_->family() == "bert";  // causal families: right padding cannot reach real tokens
  for (int64_t s0 = 0; s0 < n; s0 += batch_size) {
    const int64_t nb = std::min(batch_size, n - s0);
    const int64_t len = int64_t(ids[order[size_t(s0)]].size());
    Batch b;
    b.ids = Tensor::zeros({nb, len}, DType::i64);  // [nb, len], padded with id 0
    Tensor mask = Tensor::zeros({nb, len});        // [nb, len]
    for (int64_t r = 0; r < nb; ++r) {
      const auto& row = ids[order[size_t(s0 + r)]];
      for (size_t t = 0; t < row.size(); ++t) {
        b.ids.data<int64_t>()[r * len + int64_t(t)] = row[t];
        mask.data<float>()[r * len + int64_t(t)] = 1.0f;
      }
    }
    if (use_mask) b.mask = mask;
    Tensor e = pool_tokens(model_->forward(b).at("hidden"), mask, cfg_.pooling);  // [nb, d * modes]
    for (const auto& s : cfg_.steps) e = s.kind == PostStep::dense ? apply_dense(s.layer, e) : l2_normalize(e);
    const float* ep = e.data<float>();
    for (int64_t r = 0; r < nb; ++r)
      std::copy(ep + r * dim_, ep + (r + 1) * dim_, out.data<float>() + int64_t(order[size_t(s0 + r)]) * dim_);
  }
  return out;
}

}  // namespace tl::models
