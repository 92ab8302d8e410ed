// Normalizers (tokenizers/src/normalizers): NFC/NFD/NFKC/NFKD, Lowercase, StripAccents, Strip, Replace,
// Prepend, BertNormalizer, Sequence. Each works on the whole string; offsets are not tracked.
#include "internal.h"

namespace tl::tok {

namespace {

struct UnicodeForm : Normalizer {
  NormForm f;
  explicit UnicodeForm(NormForm f) : f(f) {}
  void normalize(std::string& s) const override { s = normalize_form(s, f); }
};

struct Lowercase : Normalizer {
  void normalize(std::string& s) const override { s = lowercase(s); }
};

// Removes combining marks (Mn, Mc, Me) without decomposing first, as tokenizers' StripAccents does.
struct StripAccents : Normalizer {
  void normalize(std::string& s) const override {
    std::u32string u = to_u32(s), o;
    for (char32_t c : u)
      if (!is_combining_mark(c)) o.push_back(c);
    s = to_utf8(o);
  }
};

struct Strip : Normalizer {
  bool left, right;
  Strip(bool l, bool r) : left(l), right(r) {}
  void normalize(std::string& s) const override {
    std::u32string u = to_u32(s);
    size_t b = 0, e = u.size();
    if (left)
      while (b < e && is_whitespace(u[b])) ++b;
    if (right)
      while (e > b && is_whitespace(u[e - 1])) --e;
    s = to_utf8(u.substr(b, e - b));
  }
};

struct Replace : Normalizer {
  std::unique_ptr<Regex> re;
  std::string content;
  void normalize(std::string& s) const override {
    std::vector<std::pair<size_t, size_t>> m;
    re->find_all(s, m);
    if (m.empty()) return;
    std::string out;
    size_t prev = 0;
    for (auto [b, e] : m) {
      out.append(s, prev, b - prev);
      out += content;
      prev = e;
    }
    out.append(s, prev, std::string::npos);
    s = std::move(out);
  }
};

struct Prepend : Normalizer {
  std::string prefix;
  void normalize(std::string& s) const override {
    if (!s.empty()) s = prefix + s;
  }
};

bool bert_is_whitespace(char32_t c) { return c == '\t' || c == '\n' || c == '\r' || is_whitespace(c); }
bool bert_is_control(char32_t c) { return c != '\t' && c != '\n' && c != '\r' && is_other(c); }
bool is_chinese_char(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

struct Bert : Normalizer {
  bool clean_text, chinese, strip_accents, lower;
  void normalize(std::string& s) const override {
    std::u32string u = to_u32(s), o;
    o.reserve(u.size());
    for (char32_t c : u) {
      if (clean_text) {
        if (c == 0 || c == 0xFFFD || bert_is_control(c)) continue;
        if (bert_is_whitespace(c)) c = ' ';
      }
      if (chinese && is_chinese_char(c)) {
        o.push_back(' ');
        o.push_back(c);
        o.push_back(' ');
      } else {
        o.push_back(c);
      }
    }
    s = to_utf8(o);
    if (strip_accents) {
      std::u32string d = to_u32(normalize_form(s, NormForm::NFD)), k;
      for (char32_t c : d)
        if (!is_mark_nonspacing(c)) k.push_back(c);
      s = to_utf8(k);
    }
    if (lower) s = lowercase(s);
  }
};

// ByteLevel normalizer: every byte becomes its GPT-2 printable character.
struct ByteLevelNorm : Normalizer {
  void normalize(std::string& s) const override {
    std::string o;
    o.reserve(s.size() * 2);
    for (unsigned char b : s) o += byte_to_char_utf8(b);
    s = std::move(o);
  }
};

struct Seq : Normalizer {
  std::vector<std::unique_ptr<Normalizer>> items;
  void normalize(std::string& s) const override {
    for (const auto& n : items) n->normalize(s);
  }
};

// Replace/Split patterns: {"String": "..."} or {"Regex": "..."}.
std::unique_ptr<Regex> make_pattern(const json::Value& v, const Ctx& c) {
  const json::Value& p = req(v, "pattern", c);
  Ctx pc = c.at("pattern");
  if (!p.is_object()) TL_THROW(ParseError, pc.path, ": expected an object {\"String\"|\"Regex\": ...}, got ", json::type_name(p.type()));
  if (const json::Value* s = p.find("String")) {
    if (!s->is_string()) TL_THROW(ParseError, pc.path, ".String: expected a string");
    return std::make_unique<Regex>(Regex::escape(s->as_string()), pc.path);
  }
  if (const json::Value* r = p.find("Regex")) {
    if (!r->is_string()) TL_THROW(ParseError, pc.path, ".Regex: expected a string");
    return std::make_unique<Regex>(r->as_string(), pc.path);
  }
  TL_THROW(ParseError, pc.path, ": expected a \"String\" or \"Regex\" member");
}

}  // namespace

std::unique_ptr<Regex> make_pattern_regex(const json::Value& v, const Ctx& c) { return make_pattern(v, c); }

std::unique_ptr<Normalizer> make_normalizer(const json::Value& v, const Ctx& c) {
  std::string t = type_of(v, c);
  if (t == "NFC") return std::make_unique<UnicodeForm>(NormForm::NFC);
  if (t == "NFD") return std::make_unique<UnicodeForm>(NormForm::NFD);
  if (t == "NFKC") return std::make_unique<UnicodeForm>(NormForm::NFKC);
  if (t == "NFKD") return std::make_unique<UnicodeForm>(NormForm::NFKD);
  if (t == "Lowercase") return std::make_unique<Lowercase>();
  if (t == "ByteLevel") return std::make_unique<ByteLevelNorm>();
  if (t == "StripAccents") return std::make_unique<StripAccents>();
  if (t == "Strip") {
    check_keys(v, {"strip_left", "strip_right"}, c);
    return std::make_unique<Strip>(opt_bool(v, "strip_left", true, c), opt_bool(v, "strip_right", true, c));
  }
  if (t == "Replace") {
    check_keys(v, {"pattern", "content"}, c);
    auto r = std::make_unique<Replace>();
    r->re = make_pattern(v, c);
    r->content = req_str(v, "content", c);
    return r;
  }
  if (t == "Prepend") {
    check_keys(v, {"prepend"}, c);
    auto p = std::make_unique<Prepend>();
    p->prefix = req_str(v, "prepend", c);
    return p;
  }
  if (t == "BertNormalizer") {
    check_keys(v, {"clean_text", "handle_chinese_chars", "strip_accents", "lowercase"}, c);
    auto b = std::make_unique<Bert>();
    b->clean_text = opt_bool(v, "clean_text", true, c);
    b->chinese = opt_bool(v, "handle_chinese_chars", true, c);
    b->lower = opt_bool(v, "lowercase", true, c);
    b->strip_accents = opt_bool(v, "strip_accents", b->lower, c);  // null means "follow lowercase"
    return b;
  }
  if (t == "Sequence") {
    const auto& arr = req_arr(v, "normalizers", c);
    auto s = std::make_unique<Seq>();
    for (size_t i = 0; i < arr.size(); ++i) s->items.push_back(make_normalizer(arr[i], c.at("normalizers").idx(i)));
    return s;
  }
  unsupported(c, "normalizer type \"" + t + "\" (supported: NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, Strip, "
                 "Replace, Prepend, BertNormalizer, ByteLevel, Sequence)");
}

}  // namespace tl::tok
