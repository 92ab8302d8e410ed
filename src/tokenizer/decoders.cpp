// Decoders (tokenizers/src/decoders): ByteLevel, ByteFallback, Fuse, Metaspace, Strip, Replace, WordPiece,
// BPEDecoder, Sequence; plus GPT-2's byte <-> character table they share with the ByteLevel pre-tokenizer.
#include <array>

#include "internal.h"

namespace tl::tok {

namespace {
struct ByteTable {
  std::array<std::string, 256> b2c;
  std::unordered_map<char32_t, int> c2b;
  ByteTable() {
    std::array<bool, 256> direct{};
    for (int b = '!'; b <= '~'; ++b) direct[size_t(b)] = true;
    for (int b = 0xA1; b <= 0xAC; ++b) direct[size_t(b)] = true;
    for (int b = 0xAE; b <= 0xFF; ++b) direct[size_t(b)] = true;
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      char32_t c = direct[size_t(b)] ? char32_t(b) : char32_t(256 + n++);
      append_utf8(b2c[size_t(b)], c);
      c2b[c] = b;
    }
  }
};
const ByteTable& table() {
  static const ByteTable t;
  return t;
}
}  // namespace

const std::string& byte_to_char_utf8(uint8_t b) { return table().b2c[b]; }
int byte_of_char(char32_t c) {
  auto it = table().c2b.find(c);
  return it == table().c2b.end() ? -1 : it->second;
}

namespace {

struct ByteLevelDec : Decoder {
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string bytes;
    for (const auto& t : tokens) {
      std::u32string u = to_u32(t);
      std::string mine;
      bool all = true;
      for (char32_t c : u) {
        int b = byte_of_char(c);
        if (b < 0) {
          all = false;
          break;
        }
        mine.push_back(char(b));
      }
      bytes += all ? mine : t;
    }
    tokens.assign(1, utf8_lossy(bytes));
  }
};

struct ByteFallbackDec : Decoder {
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    std::string pending;
    auto flush = [&] {
      if (pending.empty()) return;
      std::string tmp = pending;
      bool ok = true;
      try {
        check_utf8(tmp, "bytes");
      } catch (const ValueError&) {
        ok = false;
      }
      if (ok) out.push_back(tmp);
      else
        for (size_t i = 0; i < pending.size(); ++i) out.emplace_back("\xEF\xBF\xBD");
      pending.clear();
    };
    auto hexv = [](char ch) -> int {
      if (ch >= '0' && ch <= '9') return ch - '0';
      if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
      if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
      return -1;
    };
    for (auto& t : tokens) {
      int byte = -1;
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>') {
        int h = hexv(t[3]), l = hexv(t[4]);
        if (h >= 0 && l >= 0) byte = h * 16 + l;
      }
      if (byte >= 0) {
        pending.push_back(char(byte));
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    tokens = std::move(out);
  }
};

struct FuseDec : Decoder {
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string all;
    for (const auto& t : tokens) all += t;
    tokens.assign(1, all);
  }
};

struct MetaspaceDec : Decoder {
  char32_t rep = 0x2581;
  bool prepend = true;  // prepend_scheme != never
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::u32string u = to_u32(tokens[i]), o;
      for (char32_t c : u) {
        if (c == rep) {
          if (!(i == 0 && prepend)) o.push_back(' ');
        } else {
          o.push_back(c);
        }
      }
      tokens[i] = to_utf8(o);
    }
  }
};

struct StripDec : Decoder {
  char32_t content;
  size_t start, stop;
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (auto& t : tokens) {
      std::u32string u = to_u32(t);
      size_t b = 0;
      for (size_t i = 0; i < start && i < u.size() && u[i] == content; ++i) b = i + 1;
      size_t e = u.size();
      for (size_t i = 0; i < stop && i < u.size(); ++i) {
        size_t idx = u.size() - i - 1;
        if (u[idx] != content) break;
        e = idx;
      }
      t = e > b ? to_utf8(u.substr(b, e - b)) : std::string();
    }
  }
};

struct ReplaceDec : Decoder {
  std::unique_ptr<Regex> re;
  std::string content;
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (auto& t : tokens) {
      std::string o;
      for (auto [s, e, is] : regex_matches(*re, t, false)) o += is ? content : t.substr(s, e - s);
      t = std::move(o);
    }
  }
};

struct WordPieceDec : Decoder {
  std::string prefix = "##";
  bool cleanup = true;
  static void replace_all(std::string& s, std::string_view from, std::string_view to) {
    std::string o;
    size_t p = 0;
    for (size_t f; (f = s.find(from, p)) != std::string::npos; p = f + from.size()) {
      o.append(s, p, f - p);
      o += to;
    }
    o.append(s, p, std::string::npos);
    s = std::move(o);
  }
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      if (i != 0) {
        if (t.compare(0, prefix.size(), prefix) == 0) t = t.substr(prefix.size());
        else t = " " + t;
      }
      if (cleanup) {
        replace_all(t, " .", ".");
        replace_all(t, " ?", "?");
        replace_all(t, " !", "!");
        replace_all(t, " ,", ",");
        replace_all(t, " ' ", "'");
        replace_all(t, " n't", "n't");
        replace_all(t, " 'm", "'m");
        replace_all(t, " do not", " don't");
        replace_all(t, " 's", "'s");
        replace_all(t, " 've", "'ve");
        replace_all(t, " 're", "'re");
      }
    }
  }
};

// BPEDecoder: the end-of-word suffix becomes a space (none after the last token).
struct BpeDec : Decoder {
  std::string suffix = "</w>";
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      std::string rep = i + 1 == tokens.size() ? "" : " ";
      WordPieceDec::replace_all(t, suffix, rep);
    }
  }
};

struct SeqDec : Decoder {
  std::vector<std::unique_ptr<Decoder>> items;
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& d : items) d->decode_chain(tokens);
  }
};

}  // namespace

std::unique_ptr<Decoder> make_decoder(const json::Value& v, const Ctx& c) {
  std::string t = type_of(v, c);
  if (t == "ByteLevel") return std::make_unique<ByteLevelDec>();  // its options only affect offsets
  if (t == "ByteFallback") return std::make_unique<ByteFallbackDec>();
  if (t == "Fuse") return std::make_unique<FuseDec>();
  if (t == "Metaspace") {
    check_keys(v, {"replacement", "add_prefix_space", "prepend_scheme", "split", "str_rep"}, c);
    auto d = std::make_unique<MetaspaceDec>();
    d->rep = single_char(req_str(v, "replacement", c), c.at("replacement"));
    std::string scheme = "always";
    if (const json::Value* p = opt(v, "prepend_scheme")) scheme = p->as_string();
    if (scheme != "first" && scheme != "never" && scheme != "always")
      TL_THROW(ParseError, c.at("prepend_scheme").path, ": expected first, never or always, got \"", scheme, "\"");
    if (const json::Value* a = opt(v, "add_prefix_space"); a && a->is_bool() && !a->as_bool()) scheme = "never";
    d->prepend = scheme != "never";
    return d;
  }
  if (t == "Strip") {
    check_keys(v, {"content", "start", "stop"}, c);
    auto d = std::make_unique<StripDec>();
    d->content = single_char(req_str(v, "content", c), c.at("content"));
    int64_t a = opt_int(v, "start", 0, c), b = opt_int(v, "stop", 0, c);
    if (a < 0 || b < 0) TL_THROW(ValueError, c.path, ": start/stop must be >= 0, got ", a, "/", b);
    d->start = size_t(a);
    d->stop = size_t(b);
    return d;
  }
  if (t == "Replace") {
    check_keys(v, {"pattern", "content"}, c);
    auto d = std::make_unique<ReplaceDec>();
    d->re = make_pattern_regex(v, c);
    d->content = req_str(v, "content", c);
    return d;
  }
  if (t == "WordPiece") {
    check_keys(v, {"prefix", "cleanup"}, c);
    auto d = std::make_unique<WordPieceDec>();
    if (const json::Value* p = opt(v, "prefix")) d->prefix = p->as_string();
    d->cleanup = opt_bool(v, "cleanup", true, c);
    return d;
  }
  if (t == "BPEDecoder") {
    check_keys(v, {"suffix"}, c);
    auto d = std::make_unique<BpeDec>();
    if (const json::Value* p = opt(v, "suffix")) d->suffix = p->as_string();
    return d;
  }
  if (t == "Sequence") {
    const auto& arr = req_arr(v, "decoders", c);
    auto s = std::make_unique<SeqDec>();
    for (size_t i = 0; i < arr.size(); ++i) s->items.push_back(make_decoder(arr[i], c.at("decoders").idx(i)));
    return s;
  }
  unsupported(c, "decoder type \"" + t + "\" (supported: ByteLevel, ByteFallback, Fuse, Metaspace, Strip, Replace, "
                 "WordPiece, BPEDecoder, Sequence)");
}

}  // namespace tl::tok
