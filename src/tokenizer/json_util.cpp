// Field access for tokenizer.json that names the full field path in every error.
#include "internal.h"

namespace tl::tok {

const json::Value& req(const json::Value& obj, std::string_view key, const Ctx& c) {
  if (!obj.is_object())
    TL_THROW(ParseError, c.path, ": expected an object, got ", json::type_name(obj.type()));
  const json::Value* v = obj.find(key);
  if (!v) TL_THROW(ParseError, c.path, ": missing field \"", key, "\"");
  return *v;
}

const json::Value* opt(const json::Value& obj, std::string_view key) {
  const json::Value* v = obj.find(key);
  return v && !v->is_null() ? v : nullptr;
}

std::string req_str(const json::Value& obj, std::string_view key, const Ctx& c) {
  const json::Value& v = req(obj, key, c);
  if (!v.is_string())
    TL_THROW(ParseError, c.at(key).path, ": expected a string, got ", json::type_name(v.type()));
  return v.as_string();
}

bool opt_bool(const json::Value& obj, std::string_view key, bool def, const Ctx& c) {
  const json::Value* v = opt(obj, key);
  if (!v) return def;
  if (!v->is_bool()) TL_THROW(ParseError, c.at(key).path, ": expected a bool, got ", json::type_name(v->type()));
  return v->as_bool();
}

int64_t opt_int(const json::Value& obj, std::string_view key, int64_t def, const Ctx& c) {
  const json::Value* v = opt(obj, key);
  if (!v) return def;
  if (!v->is_int()) TL_THROW(ParseError, c.at(key).path, ": expected an integer, got ", json::type_name(v->type()));
  return v->as_int();
}

const json::Array& req_arr(const json::Value& obj, std::string_view key, const Ctx& c) {
  const json::Value& v = req(obj, key, c);
  if (!v.is_array()) TL_THROW(ParseError, c.at(key).path, ": expected an array, got ", json::type_name(v.type()));
  return v.as_array();
}

std::string type_of(const json::Value& v, const Ctx& c) { return req_str(v, "type", c); }

char32_t single_char(const std::string& s, const Ctx& c) {
  std::u32string u = to_u32(s);
  if (u.size() != 1) TL_THROW(ParseError, c.path, ": expected a single character, got \"", s, "\"");
  return u[0];
}

void check_keys(const json::Value& obj, std::initializer_list<std::string_view> known, const Ctx& c) {
  for (const auto& m : obj.as_object()) {
    bool ok = m.key == "type";
    for (auto k : known) ok = ok || m.key == k;
    if (!ok) TL_THROW(ValueError, c.path, ": option \"", m.key, "\" is not supported");
  }
}

void unsupported(const Ctx& c, std::string_view what) {
  TL_THROW(ValueError, c.path, ": ", what, " is not supported by this tokenizer implementation");
}

}  // namespace tl::tok
