// LLaMA-architecture GGUF files as models: llama.* metadata -> the config.json the LLaMA family reads,
// llama.cpp tensor names -> Hugging Face names, Q/K rows put back in HF order, weights dequantised to f32.
//
// llama.cpp's converter (convert_hf_to_gguf.py, LlamaModel.permute) reorders the rows of q_proj and k_proj
// within each head so that its RoPE kernel can rotate adjacent pairs: HF row h*hd + half*hd/2 + i is stored
// as GGUF row h*hd + 2*i + half. We invert that here (as transformers' TensorProcessor does), so the HF
// "rotate half" RoPE of src/models/llama.cpp sees the original weights.
#include "common.h"
#include "tl/models/gguf_model.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <set>
#include <sstream>

#include "tl/error.h"

namespace tl::models {

namespace {

constexpr int64_t kMaxLayers = 4096;  // far above any released LLaMA; a guard against absurd metadata

std::string key(const std::string& k) {
  return "llama." + k;
}

// Sizes are bounded so that products of two (h * hd, vocab * d) cannot overflow int64.
constexpr int64_t kMaxSize = int64_t(1) << 31;

int64_t positive(const io::GgufFile& f, const std::string& k) {
  const int64_t v = f.get_int(k);
  if (v <= 0 || v > kMaxSize)
    TL_THROW(ValueError, "[gguf-model] ", f.path(), ": \"", k, "\" must be in [1, 2^31], got ", v);
  return v;
}
int64_t positive(const io::GgufFile& f, const std::string& k, int64_t def) {
  return f.has(k) ? positive(f, k) : def;
}

// Largest N + 1 over tensors named "blk.N.*" (0 when none); names with a malformed N are reported later as
// unexpected tensors.
int64_t blocks_in_tensors(const io::GgufFile& f) {
  int64_t n = 0;
  for (const auto& t : f.tensors()) {
    if (t.name.rfind("blk.", 0) != 0) continue;
    const size_t dot = t.name.find('.', 4);
    if (dot == std::string::npos || dot == 4 || dot - 4 > 6) continue;
    int64_t i = 0;
    bool ok = true;
    for (size_t c = 4; c < dot; ++c) {
      if (!std::isdigit(static_cast<unsigned char>(t.name[c])))
        ok = false;
      else
        i = i * 10 + (t.name[c] - '0');
    }
    if (ok) n = std::max(n, i + 1);
  }
  return n;
}

// One tensor the llama graph needs: its GGUF name, HF name, row-major shape and whether its rows are the
// RoPE-interleaved q/k layout (with the head count to undo it).
struct Expected {
  std::string gguf, hf;
  Shape shape;
  int64_t permute_heads = 0;
  bool linear = false;  // used only as a linear layer's weight (may stay in its GGML format)
};

std::vector<Expected> expected_tensors(const io::HfConfig& c) {
  const int64_t vocab = c.get_int("vocab_size"), d = c.get_int("hidden_size"),
                ff = c.get_int("intermediate_size");
  const int64_t h = c.get_int("num_attention_heads"), kv = c.get_int("num_key_value_heads");
  const int64_t hd = c.get_int("head_dim"), layers = c.get_int("num_hidden_layers");
  std::vector<Expected> e;
  e.push_back({"token_embd.weight", "model.embed_tokens.weight", {vocab, d}, 0});
  for (int64_t i = 0; i < layers; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".", l = "model.layers." + std::to_string(i) + ".";
    e.push_back({b + "attn_norm.weight", l + "input_layernorm.weight", {d}, 0});
    e.push_back({b + "attn_q.weight", l + "self_attn.q_proj.weight", {h * hd, d}, h, true});
    e.push_back({b + "attn_k.weight", l + "self_attn.k_proj.weight", {kv * hd, d}, kv, true});
    e.push_back({b + "attn_v.weight", l + "self_attn.v_proj.weight", {kv * hd, d}, 0, true});
    e.push_back({b + "attn_output.weight", l + "self_attn.o_proj.weight", {d, h * hd}, 0, true});
    e.push_back({b + "ffn_norm.weight", l + "post_attention_layernorm.weight", {d}, 0});
    e.push_back({b + "ffn_gate.weight", l + "mlp.gate_proj.weight", {ff, d}, 0, true});
    e.push_back({b + "ffn_up.weight", l + "mlp.up_proj.weight", {ff, d}, 0, true});
    e.push_back({b + "ffn_down.weight", l + "mlp.down_proj.weight", {d, ff}, 0, true});
  }
  e.push_back({"output_norm.weight", "model.norm.weight", {d}, 0});
  if (!c.get_bool("tie_word_embeddings")) e.push_back({"output.weight", "lm_head.weight", {vocab, d}, 0, true});
  return e;
}

// w [heads*hd, cols] in llama.cpp's interleaved row order -> HF order (see the file comment). Rows move
// whole, so this works for any storage (f32, f16, or rows of quantised blocks).
Tensor unpermute_rows(const Tensor& w, int64_t heads) {
  const int64_t rows = w.size(0), hd = rows / heads;
  Tensor src = w.contiguous();
  Tensor out = Tensor::empty(w.shape(), w.dtype());
  const size_t row_bytes = src.nbytes() / size_t(std::max<int64_t>(rows, 1));
  const auto* s = static_cast<const uint8_t*>(src.raw_data());
  auto* o = static_cast<uint8_t*>(out.raw_data());
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < hd / 2; ++i)
      for (int64_t half = 0; half < 2; ++half)
        std::memcpy(o + size_t(h * hd + half * (hd / 2) + i) * row_bytes, s + size_t(h * hd + 2 * i + half) * row_bytes,
                    row_bytes);
  return out;
}

}  // namespace

bool is_gguf_path(const std::string& path) {
  if (path.size() < 5) return false;
  std::string ext = path.substr(path.size() - 5);
  for (char& ch : ext) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return ext == ".gguf";
}

io::HfConfig gguf_config(const io::GgufFile& f) {
  const std::string& path = f.path();
  const std::string arch = f.get_string("general.architecture");
  if (arch != "llama")
    TL_THROW(ValueError, "[gguf-model] ", path, ": general.architecture = \"", arch,
             "\" is not supported (supported: llama; Mistral and SmolLM GGUFs are written as llama)");
  const int64_t layers = positive(f, key("block_count"));
  const int64_t d = positive(f, key("embedding_length"));
  const int64_t ff = positive(f, key("feed_forward_length"));
  const int64_t heads = positive(f, key("attention.head_count"));
  const int64_t kv = positive(f, key("attention.head_count_kv"), heads);
  if (layers > kMaxLayers)
    TL_THROW(ValueError, "[gguf-model] ", path, ": \"llama.block_count\" = ", layers, " is absurd (limit ",
             kMaxLayers, ")");
  const int64_t in_tensors = blocks_in_tensors(f);
  if (layers != in_tensors)
    TL_THROW(ValueError, "[gguf-model] ", path, ": \"llama.block_count\" = ", layers,
             " but the file holds tensors for ", in_tensors, " blocks (blk.0 .. blk.", in_tensors - 1, ")");
  int64_t hd = 0;
  if (f.has(key("attention.key_length"))) {
    hd = positive(f, key("attention.key_length"));
    const int64_t vl = positive(f, key("attention.value_length"), hd);
    if (vl != hd)
      TL_THROW(ValueError, "[gguf-model] ", path, ": \"llama.attention.value_length\" = ", vl,
               " differs from \"llama.attention.key_length\" = ", hd, " (not supported)");
  } else {
    if (d % heads != 0)
      TL_THROW(ValueError, "[gguf-model] ", path, ": \"llama.embedding_length\" = ", d,
               " is not a multiple of \"llama.attention.head_count\" = ", heads);
    hd = d / heads;
  }
  if (heads % kv != 0)
    TL_THROW(ValueError, "[gguf-model] ", path, ": \"llama.attention.head_count\" = ", heads,
             " is not a multiple of \"llama.attention.head_count_kv\" = ", kv);
  if (hd % 2 != 0)
    TL_THROW(ValueError, "[gguf-model] ", path, ": head size ", hd, " is odd (RoPE rotates pairs)");
  const int64_t rope_dim = positive(f, key("rope.dimension_count"), hd);
  if (rope_dim != hd)
    TL_THROW(ValueError, "[gguf-model] ", path, ": \"llama.rope.dimension_count\" = ", rope_dim,
             " differs from the head size ", hd, " (partial rotary embeddings are not supported)");
  if (f.find_tensor("rope_freqs.weight"))
    TL_THROW(ValueError, "[gguf-model] ", path,
             ": tensor \"rope_freqs.weight\" (per-frequency RoPE factors, Llama-3.1 style) is not supported");
  const double eps = f.get_float(key("attention.layer_norm_rms_epsilon"));
  if (!(eps > 0))
    TL_THROW(ValueError, "[gguf-model] ", path,
             ": \"llama.attention.layer_norm_rms_epsilon\" must be > 0, got ", eps);

  int64_t vocab = 0;
  if (f.has(key("vocab_size"))) {
    vocab = positive(f, key("vocab_size"));
  } else if (f.has("tokenizer.ggml.tokens")) {
    vocab = int64_t(f.get_array("tokenizer.ggml.tokens").values.size());
  } else if (const io::GgufTensorInfo* t = f.find_tensor("token_embd.weight"); t && t->shape.size() == 2) {
    vocab = t->shape[0];
  }
  if (vocab <= 0)
    TL_THROW(ValueError, "[gguf-model] ", path,
             ": no vocabulary size (no llama.vocab_size, tokenizer.ggml.tokens or token_embd.weight)");

  json::Object o;
  o.set("model_type", "llama");
  o.set("architectures", json::Array{json::Value("LlamaForCausalLM")});
  o.set("vocab_size", vocab);
  o.set("hidden_size", d);
  o.set("intermediate_size", ff);
  o.set("num_hidden_layers", layers);
  o.set("num_attention_heads", heads);
  o.set("num_key_value_heads", kv);
  o.set("head_dim", hd);
  o.set("max_position_embeddings", positive(f, key("context_length"), 2048));
  o.set("rms_norm_eps", eps);
  o.set("rope_theta", f.get_float(key("rope.freq_base"), 10000.0));
  o.set("hidden_act", "silu");
  o.set("tie_word_embeddings", f.find_tensor("output.weight") == nullptr);
  if (f.has("tokenizer.ggml.bos_token_id")) o.set("bos_token_id", f.get_int("tokenizer.ggml.bos_token_id"));
  if (f.has("tokenizer.ggml.eos_token_id")) o.set("eos_token_id", f.get_int("tokenizer.ggml.eos_token_id"));

  // RoPE scaling: "linear" (and the older llama.rope.scale_linear) maps to HF's linear scaling; yarn and the
  // rest use llama.cpp parameters we do not reproduce, so they are refused.
  std::string scaling = f.get_string(key("rope.scaling.type"), "none");
  double factor = f.get_float(key("rope.scaling.factor"), 0.0);
  if (f.has(key("rope.scale_linear"))) {
    scaling = scaling == "none" ? "linear" : scaling;
    factor = f.get_float(key("rope.scale_linear"));
  }
  if (scaling == "linear" && factor != 0.0 && factor != 1.0) {
    json::Object s;
    s.set("rope_type", "linear");
    s.set("factor", factor);
    o.set("rope_scaling", std::move(s));
  } else if (scaling != "none" && scaling != "linear") {
    TL_THROW(ValueError, "[gguf-model] ", path, ": \"llama.rope.scaling.type\" = \"", scaling,
             "\" is not supported (supported: none, linear)");
  }
  return io::HfConfig(json::Value(std::move(o)), path);
}

namespace {
// Checks the file's tensors against `want`; all problems in one ShapeError / ValueError.
void check_tensors(const io::GgufFile& f, const std::vector<Expected>& want) {
  std::vector<std::string> problems;
  bool only_shapes = true;
  std::set<std::string> names;
  for (const Expected& e : want) {
    names.insert(e.gguf);
    const io::GgufTensorInfo* t = f.find_tensor(e.gguf);
    if (!t) {
      problems.push_back("missing tensor \"" + e.gguf + "\" (expected shape " + shape_str(e.shape) + ")");
      only_shapes = false;
    } else if (t->shape != e.shape) {
      problems.push_back("tensor \"" + e.gguf + "\": expected shape " + shape_str(e.shape) + ", got " +
                         shape_str(t->shape));
    } else if (!io::ggml_can_dequantize(t->type)) {
      problems.push_back("tensor \"" + e.gguf + "\" has type " + io::ggml_type_name(t->type) +
                         ", which cannot be dequantised yet");
      only_shapes = false;
    }
  }
  for (const auto& t : f.tensors())
    if (!names.count(t.name)) {
      problems.push_back("unexpected tensor \"" + t.name + "\" with shape " + shape_str(t.shape) +
                         " (the llama graph does not use it)");
      only_shapes = false;
    }
  if (!problems.empty()) {
    std::ostringstream os;
    os << "[gguf-model] " << f.path() << ": the tensors do not match the llama model (" << problems.size()
       << " problem" << (problems.size() == 1 ? "" : "s") << "):";
    const size_t shown = std::min<size_t>(problems.size(), 20);
    for (size_t i = 0; i < shown; ++i) os << "\n  " << problems[i];
    if (shown < problems.size()) os << "\n  ... and " << problems.size() - shown << " more";
    if (only_shapes) throw ShapeError(os.str());
    throw ValueError(os.str());
  }
}
}  // namespace

std::optional<WeightFormat> gguf_weight_format(io::GgmlType t) {
  switch (t) {
    case io::GgmlType::F16: return WeightFormat::f16;
    case io::GgmlType::BF16: return WeightFormat::bf16;
    case io::GgmlType::Q8_0: return WeightFormat::q8_0;
    case io::GgmlType::Q4_0: return WeightFormat::q4_0;
    case io::GgmlType::Q4_1: return WeightFormat::q4_1;
    case io::GgmlType::Q4_K: return WeightFormat::q4_k;
    case io::GgmlType::Q6_K: return WeightFormat::q6_k;
    default: return std::nullopt;
  }
}

namespace {
// Tensor `name` [rows, cols] as format wf's storage: f16/bf16 elements or u8 block rows, a view of the mapping.
Tensor stored_tensor(const io::GgufFile& f, const std::string& name, const Shape& shape, WeightFormat wf) {
  if (weight_storage_dtype(wf) != DType::u8) return f.tensor(name);  // f16 / bf16 [rows, cols]
  io::QuantTensor q = f.quantized(name);  // rows of blocks
  const int64_t rows = shape[0], row_bytes = weight_row_bytes(wf, shape[1]);
  if (int64_t(q.row_bytes) != row_bytes || int64_t(q.data.size()) != rows * row_bytes)
    TL_THROW(ValueError, "[gguf-model] ", f.path(), ": tensor \"", name, "\" (", weight_format_name(wf), ") has ",
             q.data.size(), " bytes, expected ", rows, " rows of ", row_bytes);
  return Tensor::wrap(const_cast<uint8_t*>(q.data.data()), {rows, row_bytes}, DType::u8,
                      std::const_pointer_cast<void>(std::static_pointer_cast<const void>(q.owner)));
}
}  // namespace

std::map<std::string, Tensor> gguf_weights_native(const io::GgufFile& f, const io::HfConfig& config,
                                                  std::map<std::string, WeightFormat>& formats) {
  const std::vector<Expected> want = expected_tensors(config);
  check_tensors(f, want);
  std::map<std::string, Tensor> w;
  for (const Expected& e : want) {
    const io::GgufTensorInfo& info = f.tensor_info(e.gguf);
    const std::optional<WeightFormat> wf = e.linear ? gguf_weight_format(info.type) : std::nullopt;
    Tensor t = wf ? stored_tensor(f, e.gguf, e.shape, *wf) : f.dequantize(e.gguf);  // [rows, cols]
    if (!wf) detail::drop_if_copied(*f.mapping(), f.raw(e.gguf), t);  // dequantised
    if (e.permute_heads > 0) t = unpermute_rows(t, e.permute_heads);
    if (wf) formats[e.hf] = *wf;
    w.emplace(e.hf, std::move(t));
  }
  return w;
}

std::map<std::string, Tensor> gguf_weights(const io::GgufFile& f, const io::HfConfig& config) {
  const std::vector<Expected> want = expected_tensors(config);
  check_tensors(f, want);
  std::map<std::string, Tensor> w;
  for (const Expected& e : want) {
    Tensor t = f.dequantize(e.gguf);  // [rows, cols] f32
    detail::drop_if_copied(*f.mapping(), f.raw(e.gguf), t);  // F32 tensors stay views
    if (e.permute_heads > 0) t = unpermute_rows(t, e.permute_heads);
    w.emplace(e.hf, std::move(t));
  }
  return w;
}

std::unique_ptr<Model> load_gguf_model(const std::string& path, const GgufLoadOptions& opt) {
  const io::GgufFile f = io::GgufFile::open(path);
  const io::HfConfig config = gguf_config(f);
  if (!opt.keep_quantized) return make_model(config, gguf_weights(f, config));
  std::map<std::string, WeightFormat> formats;
  std::map<std::string, Tensor> w = gguf_weights_native(f, config, formats);
  std::unique_ptr<Model> m = make_model(config, std::move(w), formats);
  // A tied head (no output.weight): its product reads token_embd's own blocks, as llama.cpp does, while the
  // lookup keeps the dequantised rows.
  const io::GgufTensorInfo* emb = f.find_tensor("token_embd.weight");
  if (!f.find_tensor("output.weight") && emb && emb->shape.size() == 2)
    if (const std::optional<WeightFormat> wf = gguf_weight_format(emb->type)) {
      m->set_linear_copy("model.embed_tokens.weight", stored_tensor(f, "token_embd.weight", emb->shape, *wf), *wf);
    }
  return m;
}

}  // namespace tl::models
