// Post-processors (tokenizers/src/processors) for a single sequence: TemplateProcessing, BertProcessing,
// RobertaProcessing, ByteLevel (ids unchanged; its options only move offsets) and Sequence.
#include "internal.h"

namespace tl::tok {

namespace {

struct Template : PostProcessor {
  // Each piece: special-token ids to insert, or empty with is_seq for the sequence itself.
  struct Piece {
    bool is_seq;
    std::vector<int32_t> ids;
  };
  std::vector<Piece> single;
  size_t added_tokens() const override {
    size_t n = 0;
    for (const auto& p : single) n += p.ids.size();
    return n;
  }
  void process(std::vector<int32_t>& ids, bool add_special) const override {
    if (!add_special) return;
    std::vector<int32_t> out;
    for (const auto& p : single) {
      if (p.is_seq) out.insert(out.end(), ids.begin(), ids.end());
      else out.insert(out.end(), p.ids.begin(), p.ids.end());
    }
    ids = std::move(out);
  }
};

// cls + sequence + sep (Bert and Roberta agree for a single sequence).
struct ClsSep : PostProcessor {
  int32_t cls = 0, sep = 0;
  size_t added_tokens() const override { return 2; }
  void process(std::vector<int32_t>& ids, bool add_special) const override {
    if (!add_special) return;
    ids.insert(ids.begin(), cls);
    ids.push_back(sep);
  }
};

struct Identity : PostProcessor {
  size_t added_tokens() const override { return 0; }
  void process(std::vector<int32_t>&, bool) const override {}
};

struct SeqPost : PostProcessor {
  std::vector<std::unique_ptr<PostProcessor>> items;
  size_t added_tokens() const override {
    size_t n = 0;
    for (const auto& p : items) n += p->added_tokens();
    return n;
  }
  void process(std::vector<int32_t>& ids, bool add_special) const override {
    for (const auto& p : items) p->process(ids, add_special);
  }
};

int32_t token_pair(const json::Value& v, std::string_view key, const Ctx& c) {
  const json::Value& p = req(v, key, c);
  Ctx pc = c.at(key);
  if (!p.is_array() || p.as_array().size() != 2 || !p.as_array()[0].is_string() || !p.as_array()[1].is_int())
    TL_THROW(ParseError, pc.path, ": expected [token, id]");
  int64_t id = p.as_array()[1].as_int();
  if (id < 0 || id > INT32_MAX) TL_THROW(ValueError, pc.path, ": id ", id, " out of range");
  return int32_t(id);
}

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const json::Value& v, const Ctx& c) {
  std::string t = type_of(v, c);
  if (t == "TemplateProcessing") {
    check_keys(v, {"single", "pair", "special_tokens"}, c);
    const json::Value& st = req(v, "special_tokens", c);
    if (!st.is_object()) TL_THROW(ParseError, c.at("special_tokens").path, ": expected an object");
    auto tp = std::make_unique<Template>();
    const auto& single = req_arr(v, "single", c);
    for (size_t i = 0; i < single.size(); ++i) {
      Ctx pc = c.at("single").idx(i);
      const json::Value& p = single[i];
      if (const json::Value* s = p.find("Sequence")) {
        std::string id = req_str(*s, "id", pc.at("Sequence"));
        if (id != "A") TL_THROW(ValueError, pc.path, ": the single template may only name sequence A, got ", id);
        tp->single.push_back({true, {}});
      } else if (const json::Value* s = p.find("SpecialToken")) {
        std::string id = req_str(*s, "id", pc.at("SpecialToken"));
        const json::Value* tok = st.find(id);
        if (!tok) TL_THROW(ValueError, pc.path, ": special token \"", id, "\" is missing from special_tokens");
        Template::Piece piece{false, {}};
        Ctx tc = c.at("special_tokens").at(id);
        for (const auto& x : req_arr(*tok, "ids", tc)) {
          if (!x.is_int() || x.as_int() < 0 || x.as_int() > INT32_MAX)
            TL_THROW(ValueError, tc.path, ".ids: expected non-negative integer ids");
          piece.ids.push_back(int32_t(x.as_int()));
        }
        tp->single.push_back(std::move(piece));
      } else {
        TL_THROW(ParseError, pc.path, ": expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
      }
    }
    return tp;
  }
  if (t == "BertProcessing" || t == "RobertaProcessing") {
    auto p = std::make_unique<ClsSep>();
    p->cls = token_pair(v, "cls", c);
    p->sep = token_pair(v, "sep", c);
    return p;
  }
  if (t == "ByteLevel") return std::make_unique<Identity>();
  if (t == "Sequence") {
    const auto& arr = req_arr(v, "processors", c);
    auto s = std::make_unique<SeqPost>();
    for (size_t i = 0; i < arr.size(); ++i) s->items.push_back(make_post_processor(arr[i], c.at("processors").idx(i)));
    return s;
  }
  unsupported(c, "post-processor type \"" + t + "\" (supported: TemplateProcessing, BertProcessing, "
                 "RobertaProcessing, ByteLevel, Sequence)");
}

}  // namespace tl::tok
