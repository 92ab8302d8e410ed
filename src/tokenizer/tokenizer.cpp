// The Tokenizer: loads tokenizer.json (optionally gzip-compressed) and runs the pipeline of
// tokenizers' TokenizerImpl::encode: added tokens split out of the raw text, normalizer on the rest, added
// tokens split out of the normalized text, pre-tokenizer, model, truncation, post-processor, padding.
#include "tl/tokenizer.h"

#include <zlib.h>

#include <fstream>
#include <sstream>

#include "added_vocab.h"
#include "internal.h"

namespace tl::tok {

struct Tokenizer::Impl {
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre;
  std::unique_ptr<Model> model;
  std::unique_ptr<PostProcessor> post;
  std::unique_ptr<Decoder> decoder;
  AddedVocab added;
  bool truncate = false, trunc_left = false;
  size_t max_length = 0;
  bool pad = false, pad_left = false;
  size_t pad_fixed = 0, pad_multiple = 0;  // pad_fixed 0: BatchLongest (a single sequence is its own longest)
  int32_t pad_id = 0;

  std::vector<int32_t> encode(std::string_view text, const EncodeOptions& opt) const;
};

namespace {

void parse_truncation(Tokenizer::Impl& t, const json::Value& v, const Ctx& c) {
  if (!v.is_object()) TL_THROW(ParseError, c.path, ": expected an object or null");
  check_keys(v, {"max_length", "strategy", "stride", "direction"}, c);
  int64_t ml = opt_int(v, "max_length", 512, c);
  if (ml < 0) TL_THROW(ValueError, c.at("max_length").path, ": expected >= 0, got ", ml);
  t.max_length = size_t(ml);
  if (const json::Value* s = opt(v, "strategy")) {
    if (!s->is_string() || (s->as_string() != "LongestFirst" && s->as_string() != "OnlyFirst"))
      unsupported(c.at("strategy"), "truncation strategy " + json::dump(*s) + " for a single sequence");
  }
  if (const json::Value* d = opt(v, "direction")) {
    if (!d->is_string() || (d->as_string() != "Right" && d->as_string() != "Left"))
      TL_THROW(ParseError, c.at("direction").path, ": expected \"Right\" or \"Left\"");
    t.trunc_left = d->as_string() == "Left";
  }
  t.truncate = true;
}

void parse_padding(Tokenizer::Impl& t, const json::Value& v, const Ctx& c) {
  if (!v.is_object()) TL_THROW(ParseError, c.path, ": expected an object or null");
  check_keys(v, {"strategy", "direction", "pad_to_multiple_of", "pad_id", "pad_type_id", "pad_token"}, c);
  const json::Value& s = req(v, "strategy", c);
  if (s.is_string() && s.as_string() == "BatchLongest") {
    t.pad_fixed = 0;
  } else if (s.is_object() && s.find("Fixed") && s.find("Fixed")->is_int() && s.find("Fixed")->as_int() >= 0) {
    t.pad_fixed = size_t(s.find("Fixed")->as_int());
  } else {
    TL_THROW(ParseError, c.at("strategy").path, ": expected \"BatchLongest\" or {\"Fixed\": n}");
  }
  if (const json::Value* d = opt(v, "direction")) {
    if (!d->is_string() || (d->as_string() != "Right" && d->as_string() != "Left"))
      TL_THROW(ParseError, c.at("direction").path, ": expected \"Right\" or \"Left\"");
    t.pad_left = d->as_string() == "Left";
  }
  int64_t m = opt_int(v, "pad_to_multiple_of", 0, c);
  if (m < 0) TL_THROW(ValueError, c.at("pad_to_multiple_of").path, ": expected >= 0");
  t.pad_multiple = size_t(m);
  int64_t id = opt_int(v, "pad_id", 0, c);
  if (id < 0 || id > INT32_MAX) TL_THROW(ValueError, c.at("pad_id").path, ": id ", id, " out of range");
  t.pad_id = int32_t(id);
  t.pad = true;
}

void parse_added(Tokenizer::Impl& t, const json::Value& root, const Ctx& c) {
  const json::Value* arr = opt(root, "added_tokens");
  if (!arr) return;
  const Ctx& ac = c;
  if (!arr->is_array()) TL_THROW(ParseError, ac.path, ": expected an array, got ", json::type_name(arr->type()));
  int64_t next_id = int64_t(t.model->vocab_size());
  for (size_t i = 0; i < arr->as_array().size(); ++i) {
    const json::Value& e = arr->as_array()[i];
    Ctx ec = ac.idx(i);
    check_keys(e, {"id", "content", "single_word", "lstrip", "rstrip", "normalized", "special"}, ec);
    AddedToken tok;
    tok.content = req_str(e, "content", ec);
    const json::Value& idv = req(e, "id", ec);
    if (!idv.is_int()) TL_THROW(ParseError, ec.at("id").path, ": expected an integer, got ", json::type_name(idv.type()));
    tok.special = opt_bool(e, "special", false, ec);
    tok.normalized = opt_bool(e, "normalized", !tok.special, ec);
    tok.lstrip = opt_bool(e, "lstrip", false, ec);
    tok.rstrip = opt_bool(e, "rstrip", false, ec);
    tok.single_word = opt_bool(e, "single_word", false, ec);
    if (tok.content.empty()) continue;  // tokenizers ignores empty added tokens
    if (t.added.by_content(tok.content))
      TL_THROW(ValueError, ec.at("content").path, ": \"", tok.content, "\" is listed twice");
    // tokenizers gives an added token its vocabulary id, or the next free id after the vocabulary; it only
    // warns when the file says otherwise. We refuse, so a file never silently means something else.
    int64_t want = t.model->token_to_id(tok.content);
    if (want < 0) want = next_id++;
    if (idv.as_int() != want)
      TL_THROW(ValueError, ec.at("id").path, ": \"", tok.content, "\" has id ", idv.as_int(), " but tokenizers would assign ", want);
    tok.id = int32_t(want);
    tok.pattern = tok.content;
    if (tok.normalized && t.normalizer) t.normalizer->normalize(tok.pattern);
    t.added.add(std::move(tok));
  }
  t.added.build();
}

}  // namespace

std::vector<int32_t> Tokenizer::Impl::encode(std::string_view text, const EncodeOptions& opt) const {
  check_utf8(text, "input text");
  std::string raw(text);
  // 1. added tokens matched on the raw text; 2. normalize the rest and match normalized added tokens.
  std::vector<Split> first, splits;
  added.split(raw, false, true, first);
  for (auto& sp : first) {
    if (sp.id >= 0) {
      splits.push_back(std::move(sp));
      continue;
    }
    if (normalizer) normalizer->normalize(sp.text);
    added.split(sp.text, true, sp.at_start, splits);
  }
  if (pre) pre->pre_tokenize(splits);
  std::vector<int32_t> ids;
  for (const auto& sp : splits) {
    if (sp.id >= 0) ids.push_back(sp.id);
    else model->tokenize(sp.text, ids);
  }
  if (opt.truncate_and_pad && truncate) {
    size_t n_added = post && opt.add_special_tokens ? post->added_tokens() : 0;
    if (max_length < n_added)
      TL_THROW(ValueError, "[tokenizer] truncation.max_length ", max_length, " is smaller than the ", n_added,
               " special tokens the post-processor adds");
    size_t keep = max_length - n_added;
    if (ids.size() > keep) {
      if (trunc_left) ids.erase(ids.begin(), ids.end() - std::ptrdiff_t(keep));
      else ids.resize(keep);
    }
  }
  if (post) post->process(ids, opt.add_special_tokens);
  if (opt.truncate_and_pad && pad) {
    size_t target = pad_fixed ? pad_fixed : ids.size();
    if (pad_multiple > 0 && target % pad_multiple) target += pad_multiple - target % pad_multiple;
    if (ids.size() < target) {
      if (pad_left) ids.insert(ids.begin(), target - ids.size(), pad_id);
      else ids.resize(target, pad_id);
    }
  }
  return ids;
}

std::string read_maybe_gzip(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) TL_THROW(IoError, "[tokenizer] cannot open \"", path, "\"");
  std::ostringstream ss;
  ss << f.rdbuf();
  std::string data = ss.str();
  if (data.size() < 2 || static_cast<unsigned char>(data[0]) != 0x1F || static_cast<unsigned char>(data[1]) != 0x8B) return data;
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) TL_THROW(IoError, "[tokenizer] zlib init failed for \"", path, "\"");
  constexpr size_t kMax = size_t(1) << 30;
  std::string out;
  zs.next_in = reinterpret_cast<Bytef*>(data.data());
  zs.avail_in = uInt(data.size());
  char buf[1 << 16];
  int r;
  do {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    r = inflate(&zs, Z_NO_FLUSH);
    if (r != Z_OK && r != Z_STREAM_END) {
      inflateEnd(&zs);
      TL_THROW(IoError, "[tokenizer] \"", path, "\": corrupt gzip data (zlib error ", r, ")");
    }
    out.append(buf, sizeof buf - zs.avail_out);
    if (out.size() > kMax) {
      inflateEnd(&zs);
      TL_THROW(IoError, "[tokenizer] \"", path, "\": decompressed size exceeds 1 GiB");
    }
    if (r != Z_STREAM_END && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      TL_THROW(IoError, "[tokenizer] \"", path, "\": truncated gzip data");
    }
  } while (r != Z_STREAM_END);
  inflateEnd(&zs);
  return out;
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_file(const std::string& path) {
  std::string name = path;
  size_t slash = name.find_last_of('/');
  if (slash != std::string::npos) name = name.substr(slash + 1);
  return from_json(read_maybe_gzip(path), name);
}

Tokenizer Tokenizer::from_json(std::string_view text, const std::string& name) {
  json::Value root;
  try {
    root = json::parse(text);
  } catch (const ParseError& e) {
    TL_THROW(ParseError, name, ": ", e.what());
  }
  return from_document(root, name);
}

Tokenizer Tokenizer::from_document(const json::Value& root, const std::string& name) {
  if (!root.is_object()) TL_THROW(ParseError, name, ": expected a JSON object at the top, got ", json::type_name(root.type()));
  auto field = [&](std::string_view k) { return Ctx{name + ": " + std::string(k)}; };
  auto impl = std::make_unique<Impl>();
  for (const auto& m : root.as_object()) {
    static const char* kKnown[] = {"version", "truncation", "padding", "added_tokens", "normalizer",
                                   "pre_tokenizer", "model", "post_processor", "decoder"};
    bool ok = false;
    for (const char* k : kKnown) ok = ok || m.key == k;
    if (!ok) TL_THROW(ValueError, name, ": top-level field \"", m.key, "\" is not supported");
  }
  if (const json::Value* v = opt(root, "normalizer")) impl->normalizer = make_normalizer(*v, field("normalizer"));
  if (const json::Value* v = opt(root, "pre_tokenizer")) impl->pre = make_pre_tokenizer(*v, field("pre_tokenizer"));
  impl->model = make_model(req(root, "model", Ctx{name}), field("model"));
  if (const json::Value* v = opt(root, "post_processor")) impl->post = make_post_processor(*v, field("post_processor"));
  if (const json::Value* v = opt(root, "decoder")) impl->decoder = make_decoder(*v, field("decoder"));
  if (const json::Value* v = opt(root, "truncation")) parse_truncation(*impl, *v, field("truncation"));
  if (const json::Value* v = opt(root, "padding")) parse_padding(*impl, *v, field("padding"));
  parse_added(*impl, root, field("added_tokens"));
  return Tokenizer(std::move(impl));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, const EncodeOptions& opt) const {
  return impl_->encode(text, opt);
}

std::vector<std::string> Tokenizer::encode_tokens(std::string_view text, const EncodeOptions& opt) const {
  std::vector<std::string> out;
  for (int32_t id : encode(text, opt)) out.push_back(id_to_token(id));
  return out;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  for (int32_t id : ids) {
    if (const AddedToken* a = impl_->added.by_id(id)) {
      if (skip_special_tokens && a->special) continue;
      tokens.push_back(a->content);  // the content as written (0.22.2; later versions may give the normalized form)
      continue;
    }
    const std::string* t = impl_->model->id_to_token(id);
    if (!t) continue;
    if (skip_special_tokens) {
      const AddedToken* a = impl_->added.by_content(*t);
      if (a && a->special) continue;
    }
    tokens.push_back(*t);
  }
  if (impl_->decoder) {
    impl_->decoder->decode_chain(tokens);
    std::string out;
    for (const auto& t : tokens) out += t;
    return out;
  }
  std::string out;
  for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
  return out;
}

int32_t Tokenizer::token_to_id(std::string_view token) const {
  if (const AddedToken* a = impl_->added.by_content(token)) return a->id;
  return impl_->model->token_to_id(token);
}

std::string Tokenizer::id_to_token(int32_t id) const {
  if (const AddedToken* a = impl_->added.by_id(id)) return a->content;
  const std::string* t = impl_->model->id_to_token(id);
  return t ? *t : std::string();
}

size_t Tokenizer::vocab_size() const {
  size_t n = impl_->model->vocab_size();
  for (const auto& a : impl_->added.tokens())
    if (impl_->model->token_to_id(a.content) < 0) ++n;
  return n;
}

bool Tokenizer::is_special(int32_t id) const {
  const AddedToken* a = impl_->added.by_id(id);
  return a && a->special;
}

std::string Tokenizer::model_type() const { return impl_->model->type(); }

}  // namespace tl::tok
