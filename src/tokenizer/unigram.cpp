// Unigram model (tokenizers/src/models/unigram, encode_optimized): Viterbi over the byte lattice of
// vocabulary pieces found by a prefix trie; a character no piece starts with costs min_score - 10 as <unk>;
// consecutive unknowns are fused; a piece missing from the vocabulary falls back to <0xNN> bytes when
// byte_fallback is on. Sampling (alpha / nbest) is not part of tokenizer.json and is not needed here.
#include <cstdio>
#include <limits>

#include "internal.h"

namespace tl::tok {

namespace {

struct Unigram : Model {
  std::vector<std::string> pieces;
  std::vector<double> scores;
  StrMap<int32_t> to_id;
  int32_t unk_id = -1;
  bool byte_fallback = false;
  double min_score = std::numeric_limits<double>::infinity();
  // Byte trie: node -> sorted (byte, child); piece id at a node or -1.
  struct Node {
    int32_t id = -1;
    std::vector<std::pair<uint8_t, int32_t>> kids;
  };
  std::vector<Node> trie{Node{}};

  void insert(const std::string& s, int32_t id) {
    int32_t n = 0;
    for (unsigned char b : s) {
      auto& kids = trie[size_t(n)].kids;
      auto it = std::lower_bound(kids.begin(), kids.end(), std::make_pair(uint8_t(b), INT32_MIN));
      if (it != kids.end() && it->first == b) {
        n = it->second;
      } else {
        int32_t child = int32_t(trie.size());
        kids.insert(it, {uint8_t(b), child});
        trie.emplace_back();
        n = child;
      }
    }
    if (trie[size_t(n)].id < 0) trie[size_t(n)].id = id;
  }

  int32_t need_unk() const {
    if (unk_id < 0) TL_THROW(ValueError, "[tokenizer] Unigram: an unknown piece was met but the model has no unk_id");
    return unk_id;
  }

  void tokenize(const std::string& s, std::vector<int32_t>& out) const override {
    if (s.empty()) return;
    const double unk_score = min_score - 10.0;
    struct Best {
      int32_t id = 0;
      double score = 0.0;
      int64_t start = -1;
    };
    std::vector<Best> best(s.size() + 1);
    for (size_t at = 0; at < s.size();) {
      double here = best[at].score;
      size_t mblen = std::min(utf8_len(static_cast<unsigned char>(s[at])), s.size() - at);
      bool single = false;
      int32_t n = 0;
      for (size_t k = at; k < s.size(); ++k) {
        const auto& kids = trie[size_t(n)].kids;
        auto it = std::lower_bound(kids.begin(), kids.end(), std::make_pair(uint8_t(s[k]), INT32_MIN));
        if (it == kids.end() || it->first != uint8_t(s[k])) break;
        n = it->second;
        int32_t id = trie[size_t(n)].id;
        if (id < 0) continue;
        size_t end = k + 1;
        double cand = scores[size_t(id)] + here;
        Best& t = best[end];
        if (t.start < 0 || cand > t.score) t = Best{id, cand, int64_t(at)};
        if (end - at == mblen) single = true;
      }
      if (!single) {
        Best& t = best[at + mblen];
        double cand = unk_score + here;
        if (t.start < 0 || cand > t.score) t = Best{need_unk(), cand, int64_t(at)};
      }
      at += mblen;
    }
    // Back-track, fusing runs of unknowns into one piece.
    std::vector<std::string> pieces_out;
    std::string fused;
    bool in_unk = false;
    for (size_t end = s.size(); end > 0;) {
      const Best& b = best[end];
      size_t start = size_t(b.start);
      std::string piece = s.substr(start, end - start);
      if (unk_id >= 0 && b.id == unk_id) {
        fused = piece + fused;
        in_unk = true;
      } else {
        if (in_unk) pieces_out.push_back(std::move(fused)), fused.clear(), in_unk = false;
        pieces_out.push_back(std::move(piece));
      }
      end = start;
    }
    if (in_unk) pieces_out.push_back(std::move(fused));
    for (auto it = pieces_out.rbegin(); it != pieces_out.rend(); ++it) {
      auto f = to_id.find(*it);
      if (f != to_id.end()) {
        out.push_back(f->second);
        continue;
      }
      if (byte_fallback) {
        std::vector<int32_t> bytes;
        for (unsigned char ch : *it) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "<0x%02X>", ch);
          auto bf = to_id.find(std::string_view(buf));
          if (bf == to_id.end()) break;
          bytes.push_back(bf->second);
        }
        if (bytes.size() == it->size()) {
          out.insert(out.end(), bytes.begin(), bytes.end());
          continue;
        }
      }
      out.push_back(need_unk());
    }
  }
  int32_t token_to_id(std::string_view t) const override {
    auto it = to_id.find(t);
    return it == to_id.end() ? -1 : it->second;
  }
  const std::string* id_to_token(int32_t id) const override {
    return id >= 0 && size_t(id) < pieces.size() ? &pieces[size_t(id)] : nullptr;
  }
  size_t vocab_size() const override { return pieces.size(); }
  const char* type() const override { return "Unigram"; }
};

}  // namespace

std::unique_ptr<Model> make_unigram(const json::Value& v, const Ctx& c) {
  check_keys(v, {"unk_id", "byte_fallback", "vocab"}, c);
  auto m = std::make_unique<Unigram>();
  const auto& vocab = req_arr(v, "vocab", c);
  for (size_t i = 0; i < vocab.size(); ++i) {
    Ctx ec = c.at("vocab").idx(i);
    const json::Value& e = vocab[i];
    if (!e.is_array() || e.as_array().size() != 2 || !e.as_array()[0].is_string() || !e.as_array()[1].is_number())
      TL_THROW(ParseError, ec.path, ": expected [piece, score]");
    const std::string& p = e.as_array()[0].as_string();
    double score = e.as_array()[1].as_double();
    m->pieces.push_back(p);
    m->scores.push_back(score);
    m->to_id[p] = int32_t(i);  // a repeated piece maps to its last id, as tokenizers' map does
    if (!p.empty()) m->insert(p, int32_t(i));
    m->min_score = std::min(m->min_score, score);
  }
  if (const json::Value* u = opt(v, "unk_id")) {
    if (!u->is_int()) TL_THROW(ParseError, c.at("unk_id").path, ": expected an integer or null");
    if (u->as_int() < 0 || size_t(u->as_int()) >= vocab.size())
      TL_THROW(ValueError, c.at("unk_id").path, ": id ", u->as_int(), " out of range [0, ", vocab.size(), ")");
    m->unk_id = int32_t(u->as_int());
  }
  m->byte_fallback = opt_bool(v, "byte_fallback", false, c);
  return m;
}

}  // namespace tl::tok
