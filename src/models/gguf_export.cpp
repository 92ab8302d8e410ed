// Models written as GGUF (HF LLaMA directories and GGUF files re-quantised) or safetensors; see
// include/tl/models/gguf_export.h. Weights are produced lazily while the file is written, so at most one
// tensor is held in f32 at a time beyond the mapped source.
#include "tl/models/gguf_export.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>

#include "tl/error.h"
#include "tl/io/hf_config.h"
#include "tl/io/safetensors.h"
#include "tl/models/gguf_model.h"
#include "tl/tokenizer.h"

namespace tl::models {

namespace fs = std::filesystem;

namespace {

constexpr int32_t kNormal = 1, kControl = 3, kUserDefined = 4, kUnused = 5;  // tokenizer.ggml.token_type

// HF q/k rows (head, half, i) -> llama.cpp's (head, i, half): GGUF row h*hd + 2*i + half holds HF row
// h*hd + half*hd/2 + i (gguf_model.cpp's unpermute_rows is the inverse).
Tensor permute_rows(const Tensor& w, int64_t heads) {
  const Tensor src = w.contiguous();  // [heads*hd, cols]
  const int64_t rows = src.size(0), cols = src.numel() / std::max<int64_t>(rows, 1), hd = rows / heads;
  Tensor out = Tensor::empty(src.shape(), DType::f32);
  const float* s = src.data<float>();
  float* o = out.data<float>();
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < hd / 2; ++i)
      for (int64_t half = 0; half < 2; ++half)
        std::memcpy(o + (h * hd + 2 * i + half) * cols, s + (h * hd + half * (hd / 2) + i) * cols,
                    size_t(cols) * sizeof(float));
  return out;
}

std::vector<uint8_t> bytes_of(const Tensor& t) {
  const Tensor c = t.contiguous();
  const auto* p = static_cast<const uint8_t*>(c.raw_data());
  return std::vector<uint8_t>(p, p + c.nbytes());
}

// The stored bytes of f32 `w` (any rank; 2-D shape [rows, cols] for quantize_weight) in format f.
std::vector<uint8_t> encode(const Tensor& w, WeightFormat f) {
  if (f == WeightFormat::f32) return bytes_of(w);
  const int64_t cols = w.shape().back();
  const Tensor w2 = w.contiguous().reshape({w.numel() / cols, cols});
  return bytes_of(quantize_weight(w2, f));
}

void count(QuantizeStats* st, io::GgmlType t) {
  if (!st) return;
  ++st->type_counts[io::ggml_type_name(t)];
  ++st->tensors;
}

// Adds a tensor whose f32 value `load` produces, stored in the format the rule picks.
void add_weight(io::GgufWriter& w, const std::string& name, const Shape& shape, WeightFormat requested,
                bool has_output, std::function<Tensor()> load, QuantizeStats* st) {
  const WeightFormat f = gguf_tensor_format(name, shape, requested, has_output);
  if (st && shape.size() >= 2 && f != requested && f == WeightFormat::f16)
    st->notes.push_back(name + ": rows of " + std::to_string(shape.back()) + " are not a multiple of " +
                        std::to_string(weight_format_block(requested)) + ", written as F16");
  const io::GgmlType t = ggml_type_of(f);
  w.add_tensor_lazy(name, t, shape, [load = std::move(load), f] { return encode(load(), f); });
  count(st, t);
}

json::Value read_json(const fs::path& p) {
  return json::parse(tok::read_maybe_gzip(p.string()));
}

const json::Value* member(const json::Value& v, std::string_view k) {
  const json::Value* m = v.find(k);
  return m && !m->is_null() ? m : nullptr;
}

std::string type_of(const json::Value* v) {
  const json::Value* t = v ? v->find("type") : nullptr;
  return t && t->is_string() ? t->as_string() : "";
}

bool byte_level_regex(const json::Value& p) {
  const json::Value* r = p.find("use_regex");
  return type_of(&p) == "ByteLevel" && (!r || r->as_bool());
}

// tokenizer.ggml.pre (llama.cpp's name for the pre-tokenizer) from tokenizer.json's pre_tokenizer shape.
std::string llama_cpp_pre(const json::Value& doc, const std::string& where) {
  const json::Value* p = member(doc, "pre_tokenizer");
  const std::string t = type_of(p);
  if (p && byte_level_regex(*p)) return "gpt-2";  // GPT-2's split regex
  if (t == "Sequence") {
    const json::Value* list = member(*p, "pretokenizers");
    if (list && list->is_array()) {
      const json::Array& a = list->as_array();
      if (a.size() == 2 && type_of(&a[0]) == "Digits" && byte_level_regex(a[1])) {
        const json::Value* ind = a[0].find("individual_digits");
        if (ind && ind->as_bool()) return "smollm";
      }
      if (a.size() == 2 && type_of(&a[0]) == "Split" && type_of(&a[1]) == "ByteLevel" && !byte_level_regex(a[1])) {
        const json::Value* pat = a[0].find("pattern");
        const json::Value* re = pat ? pat->find("Regex") : nullptr;
        if (re && re->is_string() && re->as_string().find("\\p{N}{1,3}") != std::string::npos) return "llama-bpe";
      }
    }
  }
  TL_THROW(ValueError, "[gguf-export] ", where, ": pre_tokenizer of type \"", t.empty() ? "none" : t,
           "\" has no llama.cpp name (supported: ByteLevel with its regex -> gpt-2, Digits(individual) + ByteLevel "
           "-> smollm, Split(Llama-3 regex) + ByteLevel -> llama-bpe)");
}

std::optional<std::string> token_content(const json::Value* v) {
  if (!v) return std::nullopt;
  if (v->is_string()) return v->as_string();
  if (const json::Value* c = v->is_object() ? v->find("content") : nullptr; c && c->is_string()) return c->as_string();
  return std::nullopt;
}

}  // namespace

io::GgmlType ggml_type_of(WeightFormat f) {
  switch (f) {
    case WeightFormat::f32: return io::GgmlType::F32;
    case WeightFormat::f16: return io::GgmlType::F16;
    case WeightFormat::bf16: return io::GgmlType::BF16;
    case WeightFormat::q8_0: return io::GgmlType::Q8_0;
    case WeightFormat::q4_0: return io::GgmlType::Q4_0;
    case WeightFormat::q4_1: return io::GgmlType::Q4_1;
    case WeightFormat::q4_k: return io::GgmlType::Q4_K;
    case WeightFormat::q6_k: return io::GgmlType::Q6_K;
  }
  TL_THROW(ValueError, "[gguf-export] unknown weight format ", int(f));
}

uint32_t llama_file_type(WeightFormat f) {
  switch (f) {
    case WeightFormat::f32: return 0;
    case WeightFormat::f16: return 1;
    case WeightFormat::q4_0: return 2;
    case WeightFormat::q4_1: return 3;
    case WeightFormat::q8_0: return 7;
    case WeightFormat::bf16: return 32;
    default: break;
  }
  TL_THROW(ValueError, "[gguf-export] format ", weight_format_name(f),
           " cannot be written (quantisable: f32, f16, bf16, q8_0, q4_0, q4_1)");
}

WeightFormat gguf_tensor_format(const std::string& name, const Shape& shape, WeightFormat requested,
                                bool has_output) {
  if (shape.size() < 2) return WeightFormat::f32;
  WeightFormat f = requested;
  const bool is_output = name == "output.weight" || (!has_output && name == "token_embd.weight");
  if (is_output && (f == WeightFormat::q4_0 || f == WeightFormat::q4_1)) f = WeightFormat::q8_0;
  if (shape.back() % weight_format_block(f) != 0) f = WeightFormat::f16;
  return f;
}

void add_hf_vocab(const std::string& dir, int64_t vocab_size, const json::Value& config, io::GgufWriter& w) {
  const fs::path tj = fs::path(dir) / "tokenizer.json";
  std::error_code ec;
  if (!fs::is_regular_file(tj, ec))
    TL_THROW(ValueError, "[gguf-export] ", dir, ": no tokenizer.json (a GGUF for llama.cpp needs the vocabulary)");
  const std::string where = tj.string();
  const json::Value doc = read_json(tj);
  const json::Value* model = member(doc, "model");
  if (type_of(model) != "BPE")
    TL_THROW(ValueError, "[gguf-export] ", where, ": model.type \"", type_of(model),
             "\" is not supported (supported: BPE with a ByteLevel pre-tokenizer -> tokenizer.ggml.model gpt2)");
  const std::string pre = llama_cpp_pre(doc, where);

  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  std::vector<bool> set;
  auto put = [&](int64_t id, const std::string& t, int32_t type) {
    if (id < 0 || id >= vocab_size)
      TL_THROW(ValueError, "[gguf-export] ", where, ": token \"", t, "\" has id ", id, ", outside the config's vocab_size ",
               vocab_size);
    if (size_t(id) >= tokens.size()) {
      tokens.resize(size_t(id) + 1);
      types.resize(size_t(id) + 1, kUnused);
      set.resize(size_t(id) + 1, false);
    }
    tokens[size_t(id)] = t;
    types[size_t(id)] = type;
    set[size_t(id)] = true;
  };
  const json::Value* vocab = member(*model, "vocab");
  if (!vocab || !vocab->is_object()) TL_THROW(ValueError, "[gguf-export] ", where, ": model.vocab is not an object");
  for (const auto& m : vocab->as_object()) put(m.value.as_int(), m.key, kNormal);
  if (const json::Value* added = member(doc, "added_tokens"); added && added->is_array())
    for (const json::Value& a : added->as_array()) {
      const json::Value* sp = a.find("special");
      const json::Value* id = a.find("id");
      const json::Value* content = a.find("content");
      if (!id || !content || !id->is_int() || !content->is_string())
        TL_THROW(ValueError, "[gguf-export] ", where, ": an added_tokens entry lacks an integer id or a string content");
      put(id->as_int(), content->as_string(), sp && sp->as_bool() ? kControl : kUserDefined);
    }
  for (int64_t i = 0; i < vocab_size; ++i)  // llama.cpp's converter pads with [PAD<i>] (UNUSED)
    if (size_t(i) >= set.size() || !set[size_t(i)]) put(i, "[PAD" + std::to_string(i) + "]", kUnused);

  std::vector<std::string> merges;
  if (const json::Value* ms = member(*model, "merges"); ms && ms->is_array())
    for (const json::Value& m : ms->as_array()) {
      if (m.is_string())
        merges.push_back(m.as_string());
      else
        merges.push_back(m.as_array().at(0).as_string() + " " + m.as_array().at(1).as_string());
    }

  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", pre);
  w.set_array("tokenizer.ggml.tokens", io::gguf_string_array(tokens));
  w.set_array("tokenizer.ggml.token_type", io::gguf_i32_array(types));
  if (!merges.empty()) w.set_array("tokenizer.ggml.merges", io::gguf_string_array(merges));

  // Special ids: tokenizer_config.json's token contents first (as llama.cpp's SpecialVocab), config.json's
  // ids otherwise.
  json::Value tc;
  if (fs::is_regular_file(fs::path(dir) / "tokenizer_config.json", ec)) tc = read_json(fs::path(dir) / "tokenizer_config.json");
  auto id_of = [&](const std::string& t) -> std::optional<int64_t> {
    for (size_t i = 0; i < tokens.size(); ++i)
      if (tokens[i] == t) return int64_t(i);
    return std::nullopt;
  };
  const std::pair<const char*, const char*> kIds[] = {{"bos", "tokenizer.ggml.bos_token_id"},
                                                      {"eos", "tokenizer.ggml.eos_token_id"},
                                                      {"unk", "tokenizer.ggml.unknown_token_id"},
                                                      {"pad", "tokenizer.ggml.padding_token_id"}};
  for (const auto& [which, key] : kIds) {
    std::optional<int64_t> id;
    if (auto c = token_content(member(tc, std::string(which) + "_token"))) id = id_of(*c);
    if (!id) {
      const json::Value* v = member(config, std::string(which) + "_token_id");
      if (v && v->is_array() && !v->as_array().empty()) v = &v->as_array()[0];
      if (v && v->is_int()) id = v->as_int();
    }
    if (!id && std::string(which) == "unk")
      if (auto c = token_content(member(*model, "unk_token"))) id = id_of(*c);
    if (id) w.set_u32(key, uint32_t(*id));
  }
  // add_bos_token: whether the post-processor's template starts with a special token.
  bool add_bos = false;
  if (const json::Value* pp = member(doc, "post_processor"); type_of(pp) == "TemplateProcessing") {
    const json::Value* single = member(*pp, "single");
    if (single && single->is_array() && !single->as_array().empty())
      add_bos = single->as_array()[0].find("SpecialToken") != nullptr;
  }
  if (const json::Value* b = member(tc, "add_bos_token"); b && b->is_bool()) add_bos = b->as_bool();
  w.set_bool("tokenizer.ggml.add_bos_token", add_bos);
  std::string chat;
  if (const json::Value* ct = member(tc, "chat_template"); ct && ct->is_string()) chat = ct->as_string();
  if (chat.empty() && fs::is_regular_file(fs::path(dir) / "chat_template.jinja", ec)) {
    std::ifstream f(fs::path(dir) / "chat_template.jinja", std::ios::binary);
    chat.assign(std::istreambuf_iterator<char>(f), {});
  }
  if (!chat.empty()) w.set_string("tokenizer.chat_template", chat);
}

io::GgufWriter gguf_from_hf(const std::string& dir, WeightFormat f, QuantizeStats* st) {
  const io::HfConfig c = io::HfConfig::load(dir);
  const std::string where = c.name();
  const std::string mt = c.get_string("model_type", "");
  if (mt != "llama")
    TL_THROW(ValueError, "[gguf-export] ", where, ": model_type \"", mt,
             "\" cannot be written as GGUF (supported: llama; other families have no llama.cpp mapping here)");
  if (c.get_bool("attention_bias", false) || c.get_bool("mlp_bias", false))
    TL_THROW(ValueError, "[gguf-export] ", where, ": attention_bias / mlp_bias are not supported by this export");
  if (c.get_string("hidden_act", "silu") != "silu")
    TL_THROW(ValueError, "[gguf-export] ", where, ": hidden_act \"", c.get_string("hidden_act"),
             "\" is not supported (llama.cpp's llama uses silu)");
  const int64_t d = c.get_positive_int("hidden_size"), heads = c.get_positive_int("num_attention_heads");
  const int64_t kv = c.get_positive_int("num_key_value_heads", heads), layers = c.get_positive_int("num_hidden_layers");
  const int64_t ff = c.get_positive_int("intermediate_size"), vocab = c.get_positive_int("vocab_size");
  const int64_t hd = c.get_positive_int("head_dim", d / heads);
  if (hd % 2 != 0) TL_THROW(ValueError, "[gguf-export] ", where, ": head size ", hd, " is odd (RoPE rotates pairs)");
  const bool tied = c.get_bool("tie_word_embeddings", false);
  const uint32_t ftype = llama_file_type(f);

  io::GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_string("general.name", fs::path(dir).filename().empty() ? fs::path(dir).parent_path().filename().string()
                                                                  : fs::path(dir).filename().string());
  w.set_u32("llama.context_length", uint32_t(c.get_positive_int("max_position_embeddings", 2048)));
  w.set_u32("llama.embedding_length", uint32_t(d));
  w.set_u32("llama.block_count", uint32_t(layers));
  w.set_u32("llama.feed_forward_length", uint32_t(ff));
  w.set_u32("llama.attention.head_count", uint32_t(heads));
  w.set_u32("llama.attention.head_count_kv", uint32_t(kv));
  w.set_u32("llama.rope.dimension_count", uint32_t(hd));
  w.set_f32("llama.rope.freq_base", float(c.get_double("rope_theta", 10000.0)));
  w.set_f32("llama.attention.layer_norm_rms_epsilon", float(c.get_double("rms_norm_eps", 1e-6)));
  w.set_u32("llama.vocab_size", uint32_t(vocab));
  if (hd != d / heads) {
    w.set_u32("llama.attention.key_length", uint32_t(hd));
    w.set_u32("llama.attention.value_length", uint32_t(hd));
  }
  if (auto rs = c.opt_object("rope_scaling")) {
    const std::string t = rs->get_string("rope_type", rs->get_string("type", ""));
    if (t != "linear")
      TL_THROW(ValueError, "[gguf-export] ", where, ": rope_scaling type \"", t, "\" is not supported (supported: linear)");
    w.set_string("llama.rope.scaling.type", "linear");
    w.set_f32("llama.rope.scaling.factor", float(rs->get_double("factor")));
  }
  w.set_u32("general.file_type", ftype);
  w.set_u32("general.quantization_version", 2);
  add_hf_vocab(dir, vocab, c.json(), w);

  auto ck = std::make_shared<io::SafetensorsCheckpoint>(io::SafetensorsCheckpoint::open(dir));
  std::set<std::string> used;
  auto add = [&](const std::string& gname, const std::string& hf, const Shape& shape, int64_t permute_heads) {
    if (!ck->contains(hf))
      TL_THROW(ValueError, "[gguf-export] ", dir, ": missing weight \"", hf, "\" (expected shape ", shape_str(shape), ")");
    const io::StTensorInfo& info = ck->info(hf);
    if (info.shape != shape)
      TL_THROW(ShapeError, "[gguf-export] ", dir, ": weight \"", hf, "\": expected shape ", shape_str(shape), ", got ",
               shape_str(info.shape));
    used.insert(hf);
    if (st) st->bytes_in += info.nbytes();
    add_weight(w, gname, shape, f, !tied, [ck, hf, permute_heads] {
      Tensor t = ck->load(hf, io::Convert::to_f32);
      return permute_heads > 0 ? permute_rows(t, permute_heads) : t;
    }, st);
  };
  add("token_embd.weight", "model.embed_tokens.weight", {vocab, d}, 0);
  for (int64_t i = 0; i < layers; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".", l = "model.layers." + std::to_string(i) + ".";
    add(b + "attn_norm.weight", l + "input_layernorm.weight", {d}, 0);
    add(b + "attn_q.weight", l + "self_attn.q_proj.weight", {heads * hd, d}, heads);
    add(b + "attn_k.weight", l + "self_attn.k_proj.weight", {kv * hd, d}, kv);
    add(b + "attn_v.weight", l + "self_attn.v_proj.weight", {kv * hd, d}, 0);
    add(b + "attn_output.weight", l + "self_attn.o_proj.weight", {d, heads * hd}, 0);
    add(b + "ffn_norm.weight", l + "post_attention_layernorm.weight", {d}, 0);
    add(b + "ffn_gate.weight", l + "mlp.gate_proj.weight", {ff, d}, 0);
    add(b + "ffn_up.weight", l + "mlp.up_proj.weight", {ff, d}, 0);
    add(b + "ffn_down.weight", l + "mlp.down_proj.weight", {d, ff}, 0);
  }
  add("output_norm.weight", "model.norm.weight", {d}, 0);
  if (!tied) add("output.weight", "lm_head.weight", {vocab, d}, 0);
  for (const std::string& n : ck->names())
    if (!used.count(n) && n.find("rotary_emb.inv_freq") == std::string::npos)
      TL_THROW(ValueError, "[gguf-export] ", dir, ": unexpected weight \"", n, "\" (the llama GGUF mapping has no place for it)");
  return w;
}

io::GgufWriter gguf_requantize(const io::GgufFile& src, WeightFormat f, QuantizeStats* st) {
  io::GgufWriter w;
  for (const auto& [k, v] : src.metadata()) w.set(k, v);
  w.set_u32("general.file_type", llama_file_type(f));
  if (!w.find("general.quantization_version")) w.set_u32("general.quantization_version", 2);
  const bool has_output = src.find_tensor("output.weight") != nullptr;
  for (const io::GgufTensorInfo& t : src.tensors()) {
    if (!io::ggml_can_dequantize(t.type))
      TL_THROW(ValueError, "[gguf-export] ", src.path(), ": tensor \"", t.name, "\" has type ", io::ggml_type_name(t.type),
               ", which cannot be dequantised to re-quantise it");
    if (st) st->bytes_in += t.nbytes;
    const io::GgufFile* s = &src;
    const std::string name = t.name;
    add_weight(w, t.name, t.shape, f, has_output, [s, name] { return s->dequantize(name); }, st);
  }
  return w;
}

QuantizeStats quantize_model(const std::string& model, const std::string& out, WeightFormat f) {
  QuantizeStats st;
  const bool gguf_out = is_gguf_path(out);
  std::string ext = fs::path(out).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return char(std::tolower(ch)); });
  if (!gguf_out && ext != ".safetensors")
    TL_THROW(ValueError, "[quantize] output \"", out, "\": expected a .gguf or .safetensors path");
  if (!can_quantize(f))
    TL_THROW(ValueError, "[quantize] type ", weight_format_name(f),
             " cannot be produced (valid: f32, f16, bf16, q8_0, q4_0, q4_1)");
  const bool src_gguf = is_gguf_path(model) && !fs::is_directory(model);
  if (gguf_out) {
    if (src_gguf) {
      const io::GgufFile src = io::GgufFile::open(model);
      st.bytes_out = gguf_requantize(src, f, &st).write(out);
    } else {
      st.bytes_out = gguf_from_hf(model, f, &st).write(out);
    }
    return st;
  }
  if (weight_storage_dtype(f) == DType::u8)
    TL_THROW(ValueError, "[quantize] output \"", out, "\": safetensors holds only plain dtypes; type ", weight_format_name(f),
             " is a block format (write a .gguf, or pick f32, f16 or bf16)");
  // safetensors: the HF weights (GGUF sources mapped back to HF names, q/k rows un-permuted).
  std::map<std::string, Tensor> weights;
  if (src_gguf) {
    const io::GgufFile src = io::GgufFile::open(model);
    for (const auto& t : src.tensors()) st.bytes_in += t.nbytes;
    weights = gguf_weights(src, gguf_config(src));
  } else {
    const io::SafetensorsCheckpoint ck = io::SafetensorsCheckpoint::open(model);
    for (const std::string& n : ck.names()) {
      st.bytes_in += ck.info(n).nbytes();
      weights.emplace(n, ck.load(n, io::Convert::to_f32));
    }
  }
  io::NamedTensors named;
  for (auto& [n, t] : weights) {
    const WeightFormat tf = t.rank() >= 2 ? f : WeightFormat::f32;
    Tensor q = tf == WeightFormat::f32 ? t : quantize_weight(t.contiguous().reshape({t.numel() / t.shape().back(), t.shape().back()}), tf).reshape(t.shape());
    const char* name = tf == WeightFormat::f32 ? "F32" : tf == WeightFormat::f16 ? "F16" : "BF16";
    ++st.type_counts[name];
    ++st.tensors;
    named.emplace_back(n, std::move(q));
  }
  const std::string tmp = out + ".tmp";
  try {
    io::save_safetensors(tmp, named);
  } catch (const Error&) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
  std::error_code ec;
  fs::rename(tmp, out, ec);
  if (ec) TL_THROW(IoError, "[quantize] ", out, ": cannot rename ", tmp, " into place (", ec.message(), ")");
  st.bytes_out = fs::file_size(out);
  return st;
}

}  // namespace tl::models
