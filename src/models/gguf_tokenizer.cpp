// GGUF-embedded vocabularies (tokenizer.ggml.*) as tokenizer.json documents for tl::tok::Tokenizer.
//
// transformers converts a "llama"-architecture GGUF vocabulary with GGUFLlamaConverter; for a byte-level
// ("gpt2") vocabulary that is: BPE(vocab, merges, unk_token, fuse_unk, byte_fallback), an empty normalizer,
// ByteLevel(use_regex) as pre-tokenizer whatever tokenizer.ggml.pre says, the CONTROL tokens (token_type 3)
// as special added tokens, a TemplateProcessing that prepends the BOS token (LlamaTokenizerFast's
// add_bos_token defaults to true and the GGUF flag is not read), and the decoder ByteFallback, Fuse,
// Replace("▁", " "), ByteLevel, plus Strip(" ", 1, 0) unless tokenizer.ggml.add_space_prefix is false.
// The llama_cpp mode swaps in the pre-tokenizer llama.cpp (llama-vocab.cpp) uses for tokenizer.ggml.pre,
// honours add_bos/add_eos, and matches the tokens llama.cpp matches in text (CONTROL, UNKNOWN, USER_DEFINED).
#include <algorithm>
#include <filesystem>
#include <unordered_map>

#include "tl/error.h"
#include "tl/models/gguf_model.h"

namespace tl::models {

namespace {

constexpr int32_t kUnknown = 2, kControl = 3, kUserDefined = 4;  // tokenizer.ggml.token_type

// Llama-3's split regex, as in its tokenizer.json and llama.cpp's LLAMA_VOCAB_PRE_TYPE_LLAMA3.
const char* kLlama3Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

json::Value obj(std::initializer_list<std::pair<const char*, json::Value>> kv) {
  json::Object o;
  for (const auto& [k, v] : kv) o.set(k, v);
  return json::Value(std::move(o));
}

json::Value byte_level(bool use_regex) {
  return obj({{"type", "ByteLevel"},
              {"add_prefix_space", false},
              {"trim_offsets", false},
              {"use_regex", use_regex}});
}

json::Value llama_cpp_pre_tokenizer(const std::string& path, const std::string& pre) {
  if (pre.empty() || pre == "default" || pre == "gpt2" || pre == "gpt-2") return byte_level(true);
  if (pre == "smollm")  // llama.cpp: "\\p{N}" then GPT-2's regex; SmolLM's tokenizer.json: Digits + ByteLevel
    return obj({{"type", "Sequence"},
                {"pretokenizers",
                 json::Array{obj({{"type", "Digits"}, {"individual_digits", true}}), byte_level(true)}}});
  if (pre == "llama-bpe" || pre == "llama3")
    return obj({{"type", "Sequence"},
                {"pretokenizers", json::Array{obj({{"type", "Split"},
                                                   {"pattern", obj({{"Regex", kLlama3Regex}})},
                                                   {"behavior", "Isolated"},
                                                   {"invert", false}}),
                                              byte_level(false)}}});
  TL_THROW(ValueError, "[gguf-tokenizer] ", path, ": tokenizer.ggml.pre = \"", pre,
           "\" is not supported in llama_cpp mode (supported: default, gpt2, smollm, llama-bpe, llama3)");
}

json::Value added_token(int64_t id, const std::string& content, bool special) {
  return obj({{"id", id},
              {"content", content},
              {"single_word", false},
              {"lstrip", false},
              {"rstrip", false},
              {"normalized", false},
              {"special", special}});
}

// SentencePiece vocabularies often carry no merges: like transformers' GGUFTokenizerSkeleton, every split of
// every token into two vocabulary tokens (at code-point boundaries) becomes a merge ranked by the score of
// the whole token (highest first; ties keep vocabulary order, splits of one token ordered by the parts'
// scores).
std::vector<std::pair<std::string, std::string>> merges_from_scores(const io::GgufVocab& v) {
  std::unordered_map<std::string, float> score;  // a repeated token: first position, last score (a dict)
  std::vector<const std::string*> order;
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    auto [it, fresh] = score.insert_or_assign(v.tokens[i], v.scores[i]);
    if (fresh) order.push_back(&it->first);
  }
  struct M {
    std::string l, r;
    float s;
  };
  std::vector<M> all;
  for (const std::string* t : order) {
    std::vector<M> local;
    for (size_t cut = 1; cut < t->size(); ++cut) {
      if ((static_cast<unsigned char>((*t)[cut]) & 0xC0) == 0x80) continue;  // inside a UTF-8 sequence
      std::string l = t->substr(0, cut), r = t->substr(cut);
      if (score.count(l) && score.count(r)) local.push_back({std::move(l), std::move(r), score.at(*t)});
    }
    std::stable_sort(local.begin(), local.end(), [&](const M& a, const M& b) {
      const float al = score.at(a.l), bl = score.at(b.l);
      return al != bl ? al > bl : score.at(a.r) > score.at(b.r);
    });
    for (M& m : local) all.push_back(std::move(m));
  }
  std::stable_sort(all.begin(), all.end(), [](const M& a, const M& b) { return a.s > b.s; });
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(all.size());
  for (M& m : all) out.emplace_back(std::move(m.l), std::move(m.r));
  return out;
}

}  // namespace

json::Value gguf_tokenizer_json(const io::GgufFile& f, GgufPreTokenizer mode) {
  const std::string& path = f.path();
  const io::GgufVocab v = f.vocab();
  if (v.tokens.empty())
    TL_THROW(ValueError, "[gguf-tokenizer] ", path,
             ": no vocabulary (tokenizer.ggml.tokens is absent or empty)");
  if (v.model != "gpt2" && v.model != "llama")
    TL_THROW(ValueError, "[gguf-tokenizer] ", path, ": tokenizer.ggml.model = \"", v.model,
             "\" is not supported (supported: gpt2 (byte-level BPE), llama (SentencePiece BPE))");
  const bool llama_cpp = mode == GgufPreTokenizer::llama_cpp;
  const bool spm = v.model == "llama";
  if (spm && v.merges.empty() && v.scores.size() != v.tokens.size())
    TL_THROW(ValueError, "[gguf-tokenizer] ", path,
             ": a \"llama\" vocabulary needs tokenizer.ggml.merges or tokenizer.ggml.scores (has neither)");
  const int64_t n = int64_t(v.tokens.size());

  json::Object vocab;
  for (int64_t i = 0; i < n; ++i) vocab.set(v.tokens[size_t(i)], i);  // a repeated token keeps the last id
  json::Array merges;
  merges.reserve(v.merges.size());
  if (spm && v.merges.empty())
    for (auto& [l, r] : merges_from_scores(v)) merges.push_back(json::Array{json::Value(l), json::Value(r)});
  for (size_t i = 0; i < v.merges.size(); ++i) {
    const std::string& m = v.merges[i];
    const size_t sp = m.find(' ');
    if (sp == std::string::npos || sp == 0 || sp + 1 == m.size() || m.find(' ', sp + 1) != std::string::npos)
      TL_THROW(ValueError, "[gguf-tokenizer] ", path, ": tokenizer.ggml.merges[", i, "] = \"", m,
               "\": expected two tokens separated by one space");
    merges.push_back(json::Array{json::Value(m.substr(0, sp)), json::Value(m.substr(sp + 1))});
  }
  json::Value unk = v.unk_id ? json::Value(v.tokens[size_t(*v.unk_id)]) : json::Value();
  json::Value model =
      obj({{"type", "BPE"},
           {"dropout", json::Value()},
           {"unk_token", unk},
           {"continuing_subword_prefix", json::Value()},
           {"end_of_word_suffix", json::Value()},
           {"fuse_unk", true},
           {"byte_fallback", true},
           {"ignore_merges", llama_cpp && !spm && (v.pre == "llama-bpe" || v.pre == "llama3")}});
  model.as_object().set("vocab", std::move(vocab));
  model.as_object().set("merges", std::move(merges));

  json::Array added;
  if (v.token_type.empty()) {  // transformers: unk, bos, eos as specials
    std::vector<int64_t> ids;
    for (const auto& id : {v.unk_id, v.bos_id, v.eos_id})
      if (id && std::find(ids.begin(), ids.end(), *id) == ids.end()) ids.push_back(*id);
    for (int64_t id : ids) added.push_back(added_token(id, v.tokens[size_t(id)], true));
  } else {
    // transformers adds the CONTROL tokens, then LlamaTokenizerFast registers its unk and bos tokens as
    // special too; llama.cpp matches CONTROL, UNKNOWN and USER_DEFINED tokens in text.
    for (int64_t i = 0; i < n; ++i) {
      const int32_t t = v.token_type[size_t(i)];
      const bool named = !llama_cpp && ((v.unk_id && *v.unk_id == i) || (v.bos_id && *v.bos_id == i));
      if (t == kControl || named || (llama_cpp && t == kUnknown))
        added.push_back(added_token(i, v.tokens[size_t(i)], true));
      else if (llama_cpp && t == kUserDefined)
        added.push_back(added_token(i, v.tokens[size_t(i)], false));
    }
  }

  // Post-processor: BOS (and EOS) around sequence A.
  const bool add_bos =
      v.bos_id && (llama_cpp ? v.add_bos.value_or(spm || v.pre == "llama-bpe" || v.pre == "llama3") : true);
  const bool add_eos = llama_cpp && v.eos_id && v.add_eos.value_or(false);
  json::Array single;
  json::Object specials;
  auto special_piece = [&](int64_t id) {
    const std::string& t = v.tokens[size_t(id)];
    single.push_back(obj({{"SpecialToken", obj({{"id", t}, {"type_id", 0}})}}));
    specials.set(
        t, obj({{"id", t}, {"ids", json::Array{json::Value(id)}}, {"tokens", json::Array{json::Value(t)}}}));
  };
  if (add_bos) special_piece(*v.bos_id);
  single.push_back(obj({{"Sequence", obj({{"id", "A"}, {"type_id", 0}})}}));
  if (add_eos) special_piece(*v.eos_id);

  const char* kSpace = "\xe2\x96\x81";  // U+2581, SentencePiece's space
  const bool prefix_space = v.add_space_prefix.value_or(true);
  json::Array dec{obj({{"type", "ByteFallback"}}), obj({{"type", "Fuse"}}),
                  obj({{"type", "Replace"}, {"pattern", obj({{"String", kSpace}})}, {"content", " "}})};
  if (!spm)
    dec.push_back(obj(
        {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}));
  if ((spm || !llama_cpp) && prefix_space)
    dec.push_back(obj({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}));
  // SentencePiece (transformers' legacy LlamaConverter): spaces become U+2581, one is prepended, no
  // splitting.
  json::Array norms;
  if (spm && prefix_space) norms.push_back(obj({{"type", "Prepend"}, {"prepend", kSpace}}));
  if (spm)
    norms.push_back(obj({{"type", "Replace"}, {"pattern", obj({{"String", " "}})}, {"content", kSpace}}));

  json::Object doc;
  doc.set("version", "1.0");
  doc.set("added_tokens", std::move(added));
  doc.set("normalizer", obj({{"type", "Sequence"}, {"normalizers", std::move(norms)}}));
  if (!spm) doc.set("pre_tokenizer", llama_cpp ? llama_cpp_pre_tokenizer(path, v.pre) : byte_level(true));
  doc.set("post_processor", obj({{"type", "TemplateProcessing"},
                                 {"single", std::move(single)},
                                 {"special_tokens", std::move(specials)}}));
  doc.set("decoder", obj({{"type", "Sequence"}, {"decoders", std::move(dec)}}));
  doc.set("model", std::move(model));
  return json::Value(std::move(doc));
}

tok::Tokenizer gguf_tokenizer(const io::GgufFile& f, GgufPreTokenizer pre) {
  return tok::Tokenizer::from_document(gguf_tokenizer_json(f, pre), f.path() + " (tokenizer.ggml.*)");
}

std::optional<tok::Tokenizer> load_tokenizer(const std::string& model_path, GgufPreTokenizer pre) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (is_gguf_path(model_path) && !fs::is_directory(model_path, ec)) {
    const io::GgufFile f = io::GgufFile::open(model_path);
    if (!f.has("tokenizer.ggml.tokens")) return std::nullopt;
    return gguf_tokenizer(f, pre);
  }
  const fs::path p = fs::path(model_path) / "tokenizer.json";
  if (!fs::is_regular_file(p, ec)) return std::nullopt;
  return tok::Tokenizer::from_file(p.string());
}

}  // namespace tl::models
