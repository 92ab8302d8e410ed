// Models (tokenizers/src/models): BPE (merges by rank with a priority queue, byte_fallback, fuse_unk,
// ignore_merges, unk_token, continuing_subword_prefix, end_of_word_suffix) and WordPiece (greedy longest
// match with the ## prefix, max_input_chars_per_word) and WordLevel; Unigram lives in unigram.cpp. BPE
// dropout is refused: it is random by design.
#include <atomic>
#include <cstdio>
#include <queue>

#include "internal.h"

namespace tl::tok {

namespace {

struct Vocab {
  StrMap<int32_t> to_id;
  std::vector<std::string> to_tok;
  std::vector<bool> present;

  void load(const json::Value& model, const Ctx& c) {
    const json::Value& v = req(model, "vocab", c);
    Ctx vc = c.at("vocab");
    if (!v.is_object()) TL_THROW(ParseError, vc.path, ": expected an object {token: id}, got ", json::type_name(v.type()));
    const auto& obj = v.as_object();
    const int64_t limit = int64_t(obj.size()) * 2 + 1024;  // ids are dense in practice; refuse absurd ones
    to_id.reserve(obj.size() * 2);
    for (const auto& m : obj) {
      if (!m.value.is_int())
        TL_THROW(ParseError, vc.path, "[\"", m.key, "\"]: expected an integer id, got ", json::type_name(m.value.type()));
      int64_t id = m.value.as_int();
      if (id < 0 || id >= limit)
        TL_THROW(ValueError, vc.path, "[\"", m.key, "\"]: id ", id, " out of range [0, ", limit, ")");
      if (size_t(id) >= to_tok.size()) {
        to_tok.resize(size_t(id) + 1);
        present.resize(size_t(id) + 1, false);
      }
      if (present[size_t(id)])
        TL_THROW(ValueError, vc.path, "[\"", m.key, "\"]: id ", id, " already used by \"", to_tok[size_t(id)], "\"");
      present[size_t(id)] = true;
      to_tok[size_t(id)] = m.key;
      to_id.emplace(m.key, int32_t(id));
    }
  }
  int32_t get(std::string_view t) const {
    auto it = to_id.find(t);
    return it == to_id.end() ? -1 : it->second;
  }
  const std::string* tok(int32_t id) const {
    return id >= 0 && size_t(id) < to_tok.size() && present[size_t(id)] ? &to_tok[size_t(id)] : nullptr;
  }
};

struct BPE : Model {
  Vocab vocab;
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges;  // (left, right) -> (rank, new id)
  std::string unk_token, prefix, suffix;
  int32_t unk_id = -1;
  bool has_unk = false, fuse_unk = false, byte_fallback = false, ignore_merges = false;
  int32_t byte_ids[256];

  static uint64_t key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }

  struct Sym {
    int32_t c;
    int32_t prev, next;
    size_t len;
  };
  struct Merge {
    size_t pos;
    int32_t rank, new_id;
    bool operator<(const Merge& o) const {  // priority_queue pops the largest: lowest rank, then lowest pos
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };

  // Words repeat a lot in real text, so (like tokenizers) merged words are cached: per thread, keyed by a
  // serial number that is never reused (a pointer could be, by a later model at the same address).
  const uint64_t serial = next_serial();
  static uint64_t next_serial() {
    static std::atomic<uint64_t> n{0};
    return ++n;
  }
  void tokenize(const std::string& w, std::vector<int32_t>& out) const override {
    if (w.empty()) return;
    constexpr size_t kMaxWord = 256, kMaxEntries = 10000;
    thread_local std::unordered_map<uint64_t, StrMap<std::vector<int32_t>>> caches;
    if (w.size() >= kMaxWord) return merge_word(w, out);
    if (caches.size() > 8 && !caches.count(serial)) caches.clear();  // bounds what dead models leave behind
    auto& cache = caches[serial];
    if (auto it = cache.find(std::string_view(w)); it != cache.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
    size_t first = out.size();
    merge_word(w, out);
    if (cache.size() < kMaxEntries) cache.emplace(w, std::vector<int32_t>(out.begin() + std::ptrdiff_t(first), out.end()));
  }
  void merge_word(const std::string& w, std::vector<int32_t>& out) const {
    if (ignore_merges) {
      int32_t id = vocab.get(w);
      if (id >= 0) {
        out.push_back(id);
        return;
      }
    }
    std::vector<Sym> syms;
    syms.reserve(w.size());
    auto add = [&](int32_t id, size_t len) {
      int32_t n = int32_t(syms.size());
      syms.push_back(Sym{id, n - 1, n + 1, len});
    };
    bool unk_pending = false;
    size_t unk_len = 0;
    std::string s;
    for (size_t i = 0; i < w.size();) {
      size_t n = std::min(utf8_len(static_cast<unsigned char>(w[i])), w.size() - i);
      bool first = i == 0, last = i + n == w.size();
      s.assign(w, i, n);
      if (!first && !prefix.empty()) s = prefix + s;
      if (last && !suffix.empty()) s += suffix;
      i += n;
      int32_t id = vocab.get(s);
      if (id >= 0) {
        if (unk_pending) add(unk_id, unk_len), unk_pending = false;
        add(id, n);
        continue;
      }
      if (byte_fallback) {
        bool all = true;
        for (unsigned char b : s) all = all && byte_ids[b] >= 0;
        if (all) {
          for (unsigned char b : s) add(byte_ids[b], 1);
          continue;
        }
      }
      if (has_unk) {
        if (unk_pending && fuse_unk) {
          unk_len += n;
        } else {
          if (unk_pending) add(unk_id, unk_len);
          unk_pending = true;
          unk_len = n;
        }
      }
    }
    if (unk_pending) add(unk_id, unk_len);
    if (!syms.empty()) syms.back().next = -1;

    std::priority_queue<Merge> q;
    for (size_t i = 0; i + 1 < syms.size(); ++i) {
      auto it = merges.find(key(syms[i].c, syms[i + 1].c));
      if (it != merges.end()) q.push(Merge{i, it->second.first, it->second.second});
    }
    while (!q.empty()) {
      Merge top = q.top();
      q.pop();
      Sym& cur = syms[top.pos];
      if (cur.len == 0 || cur.next == -1) continue;
      size_t next_pos = size_t(cur.next);
      Sym right = syms[next_pos];
      auto it = merges.find(key(cur.c, right.c));
      if (it == merges.end() || it->second.second != top.new_id) continue;  // stale entry
      cur.c = top.new_id;
      cur.len += right.len;
      cur.next = right.next;
      syms[next_pos].len = 0;
      if (right.next > -1 && size_t(right.next) < syms.size()) syms[size_t(right.next)].prev = int32_t(top.pos);
      if (cur.prev >= 0) {
        auto pit = merges.find(key(syms[size_t(cur.prev)].c, cur.c));
        if (pit != merges.end()) q.push(Merge{size_t(cur.prev), pit->second.first, pit->second.second});
      }
      if (cur.next >= 0 && size_t(cur.next) < syms.size()) {
        auto nit = merges.find(key(cur.c, syms[size_t(cur.next)].c));
        if (nit != merges.end()) q.push(Merge{top.pos, nit->second.first, nit->second.second});
      }
    }
    for (const auto& sy : syms)
      if (sy.len) out.push_back(sy.c);
  }
  int32_t token_to_id(std::string_view t) const override { return vocab.get(t); }
  const std::string* id_to_token(int32_t id) const override { return vocab.tok(id); }
  size_t vocab_size() const override { return vocab.to_id.size(); }
  const char* type() const override { return "BPE"; }
};

std::unique_ptr<Model> make_bpe(const json::Value& v, const Ctx& c) {
  check_keys(v, {"dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk",
                 "byte_fallback", "ignore_merges", "vocab", "merges"}, c);
  if (const json::Value* d = opt(v, "dropout"); d && !(d->is_number() && d->as_double() == 0.0))
    unsupported(c.at("dropout"), "BPE dropout (random segmentation)");
  auto m = std::make_unique<BPE>();
  m->vocab.load(v, c);
  if (const json::Value* u = opt(v, "unk_token")) {
    if (!u->is_string()) TL_THROW(ParseError, c.at("unk_token").path, ": expected a string or null");
    m->unk_token = u->as_string();
    m->has_unk = true;
    m->unk_id = m->vocab.get(m->unk_token);
    if (m->unk_id < 0) TL_THROW(ValueError, c.at("unk_token").path, ": \"", m->unk_token, "\" is not in the vocabulary");
  }
  if (const json::Value* p = opt(v, "continuing_subword_prefix")) m->prefix = p->as_string();
  if (const json::Value* p = opt(v, "end_of_word_suffix")) m->suffix = p->as_string();
  m->fuse_unk = opt_bool(v, "fuse_unk", false, c);
  m->byte_fallback = opt_bool(v, "byte_fallback", false, c);
  m->ignore_merges = opt_bool(v, "ignore_merges", false, c);
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    m->byte_ids[b] = m->vocab.get(buf);
  }
  const auto& merges = req_arr(v, "merges", c);
  m->merges.reserve(merges.size() * 2);
  for (size_t i = 0; i < merges.size(); ++i) {
    Ctx mc = c.at("merges").idx(i);
    std::string a, b;
    const json::Value& e = merges[i];
    if (e.is_string()) {
      const std::string& s = e.as_string();
      size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
        TL_THROW(ParseError, mc.path, ": expected \"left right\" (one space), got \"", s, "\"");
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else if (e.is_array() && e.as_array().size() == 2 && e.as_array()[0].is_string() && e.as_array()[1].is_string()) {
      a = e.as_array()[0].as_string();
      b = e.as_array()[1].as_string();
    } else {
      TL_THROW(ParseError, mc.path, ": expected a string \"a b\" or a pair [\"a\", \"b\"], got ", json::type_name(e.type()));
    }
    int32_t ia = m->vocab.get(a), ib = m->vocab.get(b);
    if (ia < 0) TL_THROW(ValueError, mc.path, ": token \"", a, "\" is not in the vocabulary");
    if (ib < 0) TL_THROW(ValueError, mc.path, ": token \"", b, "\" is not in the vocabulary");
    // tokenizers drops prefix-length bytes from the right token without checking them; so do we.
    if (b.size() < m->prefix.size())
      TL_THROW(ValueError, mc.path, ": right token \"", b, "\" is shorter than continuing_subword_prefix");
    std::string merged = a + b.substr(m->prefix.size());
    int32_t nid = m->vocab.get(merged);
    if (nid < 0) TL_THROW(ValueError, mc.path, ": merged token \"", merged, "\" is not in the vocabulary");
    m->merges.insert_or_assign(BPE::key(ia, ib), std::make_pair(int32_t(i), nid));  // a repeat overrides, as in tokenizers
  }
  return m;
}

struct WordPiece : Model {
  Vocab vocab;
  std::string unk, prefix = "##";
  int32_t unk_id = -1;
  size_t max_chars = 100;
  void tokenize(const std::string& w, std::vector<int32_t>& out) const override {
    if (w.empty()) return;
    size_t nchars = 0;
    for (unsigned char ch : w) nchars += (ch & 0xC0) != 0x80;
    if (nchars > max_chars) {
      out.push_back(checked_unk());
      return;
    }
    size_t start = 0, first = out.size();
    std::string sub;
    while (start < w.size()) {
      size_t end = w.size();
      int32_t found = -1;
      while (start < end) {
        sub.clear();
        if (start > 0) sub = prefix;
        sub.append(w, start, end - start);
        found = vocab.get(sub);
        if (found >= 0) break;
        --end;  // back up one whole character
        while (end > start && (static_cast<unsigned char>(w[end]) & 0xC0) == 0x80) --end;
      }
      if (found < 0) {
        out.resize(first);
        out.push_back(checked_unk());
        return;
      }
      out.push_back(found);
      start = end;
    }
  }
  int32_t checked_unk() const {
    if (unk_id < 0) TL_THROW(ValueError, "[tokenizer] WordPiece: unk_token \"", unk, "\" is not in the vocabulary");
    return unk_id;
  }
  int32_t token_to_id(std::string_view t) const override { return vocab.get(t); }
  const std::string* id_to_token(int32_t id) const override { return vocab.tok(id); }
  size_t vocab_size() const override { return vocab.to_id.size(); }
  const char* type() const override { return "WordPiece"; }
};

std::unique_ptr<Model> make_wordpiece(const json::Value& v, const Ctx& c) {
  check_keys(v, {"unk_token", "continuing_subword_prefix", "max_input_chars_per_word", "vocab"}, c);
  auto m = std::make_unique<WordPiece>();
  m->vocab.load(v, c);
  m->unk = req_str(v, "unk_token", c);
  m->unk_id = m->vocab.get(m->unk);
  if (const json::Value* p = opt(v, "continuing_subword_prefix")) m->prefix = p->as_string();
  int64_t mc = opt_int(v, "max_input_chars_per_word", 100, c);
  if (mc < 0) TL_THROW(ValueError, c.at("max_input_chars_per_word").path, ": expected >= 0, got ", mc);
  m->max_chars = size_t(mc);
  return m;
}

// WordLevel: the whole pre-token is looked up; otherwise unk_token (an error when that is missing too).
struct WordLevel : Model {
  Vocab vocab;
  std::string unk = "<unk>";
  void tokenize(const std::string& w, std::vector<int32_t>& out) const override {
    if (w.empty()) return;  // tokenizers never hands a model an empty piece
    int32_t id = vocab.get(w);
    if (id < 0) id = vocab.get(unk);
    if (id < 0) TL_THROW(ValueError, "[tokenizer] WordLevel: \"", w, "\" is unknown and unk_token \"", unk, "\" is not in the vocabulary");
    out.push_back(id);
  }
  int32_t token_to_id(std::string_view t) const override { return vocab.get(t); }
  const std::string* id_to_token(int32_t id) const override { return vocab.tok(id); }
  size_t vocab_size() const override { return vocab.to_id.size(); }
  const char* type() const override { return "WordLevel"; }
};

std::unique_ptr<Model> make_wordlevel(const json::Value& v, const Ctx& c) {
  check_keys(v, {"unk_token", "vocab"}, c);
  auto m = std::make_unique<WordLevel>();
  m->vocab.load(v, c);
  if (const json::Value* u = opt(v, "unk_token")) {
    if (!u->is_string()) TL_THROW(ParseError, c.at("unk_token").path, ": expected a string");
    m->unk = u->as_string();
  }
  return m;
}

}  // namespace

std::unique_ptr<Model> make_model(const json::Value& v, const Ctx& c) {
  if (!v.is_object()) TL_THROW(ParseError, c.path, ": expected an object, got ", json::type_name(v.type()));
  std::string t;
  if (const json::Value* tv = opt(v, "type")) {
    if (!tv->is_string()) TL_THROW(ParseError, c.at("type").path, ": expected a string");
    t = tv->as_string();
  } else if (v.find("merges")) {
    t = "BPE";  // tokenizers infers the model from its fields when "type" is absent
  } else {
    TL_THROW(ParseError, c.path, ": missing field \"type\"");
  }
  if (t == "BPE") return make_bpe(v, c);
  if (t == "WordPiece") return make_wordpiece(v, c);
  if (t == "Unigram") return make_unigram(v, c);
  if (t == "WordLevel") return make_wordlevel(v, c);
  unsupported(c, "model type \"" + t + "\" (supported: BPE, WordPiece, WordLevel, Unigram)");
}

}  // namespace tl::tok
