// Pre-tokenizers (tokenizers/src/pre_tokenizers): ByteLevel, Metaspace, Split, BertPreTokenizer, Whitespace,
// WhitespaceSplit, Digits, Punctuation, CharDelimiterSplit, Sequence. The split semantics (which pieces a
// behaviour keeps, that every matching character is its own match, that empty pieces vanish) follow
// NormalizedString::split and Pattern::find_matches exactly.
#include <algorithm>
#include <functional>

#include "internal.h"

namespace tl::tok {

Matches regex_matches(const Regex& re, std::string_view s, bool invert) {
  Matches out;
  if (s.empty()) {
    out.emplace_back(0, 0, false);
    return out;
  }
  std::vector<std::pair<size_t, size_t>> m;
  re.find_all(s, m);
  size_t prev = 0;
  for (auto [b, e] : m) {
    if (prev != b) out.emplace_back(prev, b, invert);
    out.emplace_back(b, e, !invert);
    prev = e;
  }
  if (prev != s.size()) out.emplace_back(prev, s.size(), invert);
  return out;
}

namespace {
// Pattern::find_matches for a character predicate: every matching character is a match of its own.
template <class F>
Matches char_matches(std::string_view s, F pred) {
  Matches out;
  if (s.empty()) {
    out.emplace_back(0, 0, false);
    return out;
  }
  size_t last = 0, i = 0;
  while (i < s.size()) {
    size_t n = std::min(utf8_len(static_cast<unsigned char>(s[i])), s.size() - i);
    char32_t c = to_u32(s.substr(i, n))[0];
    if (pred(c)) {
      if (last < i) out.emplace_back(last, i, false);
      out.emplace_back(i, i + n, true);
      last = i + n;
    }
    i += n;
  }
  if (i > last) out.emplace_back(last, i, false);
  return out;
}
}  // namespace

std::vector<std::pair<size_t, size_t>> apply_behavior(const Matches& m, SplitBehavior b) {
  // (start, end, remove)
  std::vector<std::tuple<size_t, size_t, bool>> acc;
  switch (b) {
    case SplitBehavior::Isolated:
      for (auto [s, e, is] : m) acc.emplace_back(s, e, false);
      break;
    case SplitBehavior::Removed:
      for (auto [s, e, is] : m) acc.emplace_back(s, e, is);
      break;
    case SplitBehavior::Contiguous: {
      bool prev = false;
      for (auto [s, e, is] : m) {
        if (is == prev && !acc.empty()) std::get<1>(acc.back()) = e;
        else acc.emplace_back(s, e, false);
        prev = is;
      }
      break;
    }
    case SplitBehavior::MergedWithPrevious: {
      bool prev = false;
      for (auto [s, e, is] : m) {
        if (is && !prev && !acc.empty()) std::get<1>(acc.back()) = e;
        else acc.emplace_back(s, e, false);
        prev = is;
      }
      break;
    }
    case SplitBehavior::MergedWithNext: {
      bool prev = false;
      for (auto it = m.rbegin(); it != m.rend(); ++it) {
        auto [s, e, is] = *it;
        if (is && !prev && !acc.empty()) std::get<0>(acc.back()) = s;
        else acc.emplace_back(s, e, false);
        prev = is;
      }
      std::reverse(acc.begin(), acc.end());
      break;
    }
  }
  std::vector<std::pair<size_t, size_t>> out;
  for (auto [s, e, rm] : acc)
    if (!rm) out.emplace_back(s, e);
  return out;
}

SplitBehavior parse_behavior(const json::Value& v, const Ctx& c) {
  if (!v.is_string()) TL_THROW(ParseError, c.path, ": expected a string, got ", json::type_name(v.type()));
  const std::string& s = v.as_string();
  if (s == "Removed") return SplitBehavior::Removed;
  if (s == "Isolated") return SplitBehavior::Isolated;
  if (s == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (s == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (s == "Contiguous") return SplitBehavior::Contiguous;
  TL_THROW(ParseError, c.path, ": expected one of Removed, Isolated, MergedWithPrevious, MergedWithNext, "
                               "Contiguous, got \"", s, "\"");
}

namespace {

// Applies fn(text) -> Matches + behaviour to every non-token split, as PreTokenizedString::split does.
template <class F>
void split_all(std::vector<Split>& splits, SplitBehavior b, F matches) {
  std::vector<Split> out;
  out.reserve(splits.size() * 2);
  for (auto& sp : splits) {
    if (sp.id >= 0) {
      out.push_back(std::move(sp));
      continue;
    }
    for (auto [s, e] : apply_behavior(matches(sp.text), b)) {
      if (e <= s) continue;
      out.push_back(Split{sp.text.substr(s, e - s), -1, sp.at_start && s == 0});
    }
  }
  splits = std::move(out);
}

const char* kGpt2Pattern = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

struct ByteLevel : PreTokenizer {
  bool add_prefix_space = true, use_regex = true;
  std::unique_ptr<Regex> re;
  void pre_tokenize(std::vector<Split>& splits) const override {
    for (auto& sp : splits)
      if (sp.id < 0 && add_prefix_space && !sp.text.empty() && sp.text[0] != ' ') sp.text.insert(0, " ");
    if (use_regex) split_all(splits, SplitBehavior::Isolated, [&](std::string_view s) { return regex_matches(*re, s, false); });
    for (auto& sp : splits) {
      if (sp.id >= 0) continue;
      std::string m;
      m.reserve(sp.text.size() * 2);
      for (unsigned char ch : sp.text) m += byte_to_char_utf8(ch);
      sp.text = std::move(m);
    }
  }
};

struct Metaspace : PreTokenizer {
  std::string rep;
  char32_t rep_c = 0x2581;
  enum class Scheme { First, Never, Always } scheme = Scheme::Always;
  bool split = true;
  void pre_tokenize(std::vector<Split>& splits) const override {
    for (auto& sp : splits) {
      if (sp.id >= 0) continue;
      std::string t;
      for (char ch : sp.text) {
        if (ch == ' ') t += rep;
        else t += ch;
      }
      bool starts = t.compare(0, rep.size(), rep) == 0;
      if (!t.empty() && !starts && (scheme == Scheme::Always || (scheme == Scheme::First && sp.at_start))) t = rep + t;
      sp.text = std::move(t);
    }
    if (split)
      split_all(splits, SplitBehavior::MergedWithNext,
                [&](std::string_view s) { return char_matches(s, [&](char32_t c) { return c == rep_c; }); });
  }
};

struct SplitPre : PreTokenizer {
  std::unique_ptr<Regex> re;
  SplitBehavior behavior = SplitBehavior::Isolated;
  bool invert = false;
  void pre_tokenize(std::vector<Split>& splits) const override {
    split_all(splits, behavior, [&](std::string_view s) { return regex_matches(*re, s, invert); });
  }
};

struct BertPre : PreTokenizer {
  void pre_tokenize(std::vector<Split>& splits) const override {
    split_all(splits, SplitBehavior::Removed, [](std::string_view s) { return char_matches(s, is_whitespace); });
    split_all(splits, SplitBehavior::Isolated, [](std::string_view s) {
      return char_matches(s, [](char32_t c) { return is_ascii_punctuation(c) || is_punctuation(c); });
    });
  }
};

// Whitespace: tokenizers uses the Rust regex `\w+|[^\w\s]+`, whose \w (Alphabetic, marks, Nd, Pc,
// Join_Control) differs from Oniguruma's (which also counts e.g. superscript digits), so the two classes are
// scanned here with the Rust definitions.
struct WhitespacePre : PreTokenizer {
  void pre_tokenize(std::vector<Split>& splits) const override {
    split_all(splits, SplitBehavior::Removed, [](std::string_view s) {
      Matches m;
      if (s.empty()) {
        m.emplace_back(0, 0, false);
        return m;
      }
      // classes: 0 whitespace, 1 word, 2 other; runs of 1 or 2 are the kept matches.
      int run = -1;
      size_t run_start = 0, i = 0;
      auto close = [&](size_t end) {
        if (run >= 0) m.emplace_back(run_start, end, run != 0);
      };
      while (i < s.size()) {
        size_t n = std::min(utf8_len(static_cast<unsigned char>(s[i])), s.size() - i);
        char32_t c = to_u32(s.substr(i, n))[0];
        int cls = is_whitespace(c) ? 0 : is_word_char(c) ? 1 : 2;
        if (cls != run || cls == 0) {
          close(i);
          run = cls;
          run_start = i;
        }
        i += n;
      }
      close(i);
      // As Invert(regex) + Removed: the regex matches (word / other runs) are kept, the gaps removed.
      for (auto& [b, e, is] : m) is = !is;
      return m;
    });
  }
};

struct CharSplit : PreTokenizer {
  std::function<bool(char32_t)> pred;
  SplitBehavior behavior;
  CharSplit(std::function<bool(char32_t)> p, SplitBehavior b) : pred(std::move(p)), behavior(b) {}
  void pre_tokenize(std::vector<Split>& splits) const override {
    split_all(splits, behavior, [&](std::string_view s) { return char_matches(s, pred); });
  }
};

struct SeqPre : PreTokenizer {
  std::vector<std::unique_ptr<PreTokenizer>> items;
  void pre_tokenize(std::vector<Split>& splits) const override {
    for (const auto& p : items) p->pre_tokenize(splits);
  }
};

}  // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json::Value& v, const Ctx& c) {
  std::string t = type_of(v, c);
  if (t == "ByteLevel") {
    check_keys(v, {"add_prefix_space", "trim_offsets", "use_regex"}, c);
    auto b = std::make_unique<ByteLevel>();
    b->add_prefix_space = opt_bool(v, "add_prefix_space", true, c);
    b->use_regex = opt_bool(v, "use_regex", true, c);
    if (b->use_regex) b->re = std::make_unique<Regex>(kGpt2Pattern, c.path);
    return b;
  }
  if (t == "Metaspace") {
    check_keys(v, {"replacement", "add_prefix_space", "prepend_scheme", "split", "str_rep"}, c);
    auto m = std::make_unique<Metaspace>();
    m->rep = req_str(v, "replacement", c);
    m->rep_c = single_char(m->rep, c.at("replacement"));
    std::string scheme = "always";
    if (const json::Value* p = opt(v, "prepend_scheme")) {
      if (!p->is_string()) TL_THROW(ParseError, c.at("prepend_scheme").path, ": expected a string");
      scheme = p->as_string();
    }
    if (scheme == "first") m->scheme = Metaspace::Scheme::First;
    else if (scheme == "never") m->scheme = Metaspace::Scheme::Never;
    else if (scheme == "always") m->scheme = Metaspace::Scheme::Always;
    else TL_THROW(ParseError, c.at("prepend_scheme").path, ": expected first, never or always, got \"", scheme, "\"");
    if (const json::Value* a = opt(v, "add_prefix_space"); a && a->is_bool() && !a->as_bool()) {
      if (m->scheme != Metaspace::Scheme::Never)
        TL_THROW(ParseError, c.path, ": add_prefix_space false does not match prepend_scheme \"", scheme, "\"");
      m->scheme = Metaspace::Scheme::Never;
    }
    m->split = opt_bool(v, "split", true, c);
    return m;
  }
  if (t == "Split") {
    check_keys(v, {"pattern", "behavior", "invert"}, c);
    auto s = std::make_unique<SplitPre>();
    s->re = make_pattern_regex(v, c);
    s->behavior = parse_behavior(req(v, "behavior", c), c.at("behavior"));
    s->invert = opt_bool(v, "invert", false, c);
    return s;
  }
  if (t == "BertPreTokenizer") return std::make_unique<BertPre>();
  if (t == "Whitespace") return std::make_unique<WhitespacePre>();
  if (t == "WhitespaceSplit") return std::make_unique<CharSplit>(is_whitespace, SplitBehavior::Removed);
  if (t == "Digits") {
    check_keys(v, {"individual_digits"}, c);
    bool ind = opt_bool(v, "individual_digits", false, c);
    return std::make_unique<CharSplit>(is_numeric, ind ? SplitBehavior::Isolated : SplitBehavior::Contiguous);
  }
  if (t == "Punctuation") {
    check_keys(v, {"behavior"}, c);
    SplitBehavior b = SplitBehavior::Isolated;
    if (const json::Value* bv = opt(v, "behavior")) b = parse_behavior(*bv, c.at("behavior"));
    return std::make_unique<CharSplit>([](char32_t ch) { return is_ascii_punctuation(ch) || is_punctuation(ch); }, b);
  }
  if (t == "CharDelimiterSplit") {
    check_keys(v, {"delimiter"}, c);
    char32_t d = single_char(req_str(v, "delimiter", c), c.at("delimiter"));
    return std::make_unique<CharSplit>([d](char32_t ch) { return ch == d; }, SplitBehavior::Removed);
  }
  if (t == "Sequence") {
    const auto& arr = req_arr(v, "pretokenizers", c);
    auto s = std::make_unique<SeqPre>();
    for (size_t i = 0; i < arr.size(); ++i) s->items.push_back(make_pre_tokenizer(arr[i], c.at("pretokenizers").idx(i)));
    return s;
  }
  unsupported(c, "pre-tokenizer type \"" + t + "\" (supported: ByteLevel, Metaspace, Split, BertPreTokenizer, "
                 "Whitespace, WhitespaceSplit, Digits, Punctuation, CharDelimiterSplit, Sequence)");
}

}  // namespace tl::tok
