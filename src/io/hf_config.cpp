// Hugging Face config.json through typed getters whose errors name the file, the field, the expected type
// and the actual value.
#include "tl/io/hf_config.h"

#include <filesystem>

#include "tl/error.h"
#include "tl/io/mmap.h"

namespace tl::io {

namespace {
std::string describe(const json::Value& v) {
  std::string s = json::dump(v);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return std::string(json::type_name(v.type())) + " " + s;
}
}  // namespace

HfConfig::HfConfig(json::Value root, std::string name, std::string prefix)
    : root_(std::move(root)), name_(std::move(name)), prefix_(std::move(prefix)) {
  if (!root_.is_object())
    TL_THROW(ValueError, "[config] ", name_, prefix_.empty() ? "" : ": \"" + prefix_.substr(0, prefix_.size() - 1) + "\"",
             ": expected a JSON object, got ", describe(root_));
}

HfConfig HfConfig::load(const std::string& path) {
  std::string p = path;
  std::error_code ec;
  if (std::filesystem::is_directory(p, ec)) p = (std::filesystem::path(p) / "config.json").string();
  std::string text = read_text_file(p);
  return parse(text, p);
}

HfConfig HfConfig::parse(std::string_view text, const std::string& name) {
  json::Value v;
  try {
    v = json::parse(text);
  } catch (const ParseError& e) {
    TL_THROW(ParseError, "[config] ", name, ": ", e.what());
  }
  return HfConfig(std::move(v), name);
}

std::string HfConfig::field(std::string_view key) const { return "\"" + prefix_ + std::string(key) + "\""; }

void HfConfig::type_error(std::string_view key, const char* expected, const json::Value& got) const {
  TL_THROW(ValueError, "[config] ", name_, ": ", field(key), ": expected ", expected, ", got ", describe(got));
}

const json::Value* HfConfig::find(std::string_view key) const { return root_.find(key); }
bool HfConfig::has(std::string_view key) const {
  const json::Value* v = find(key);
  return v && !v->is_null();
}
const json::Value& HfConfig::get(std::string_view key) const {
  const json::Value* v = find(key);
  if (!v) TL_THROW(ValueError, "[config] ", name_, ": ", field(key), ": required field is missing");
  return *v;
}

int64_t HfConfig::get_int(std::string_view key) const {
  const json::Value& v = get(key);
  if (!v.is_int()) type_error(key, "an integer", v);
  return v.as_int();
}
int64_t HfConfig::get_int(std::string_view key, int64_t def) const { return has(key) ? get_int(key) : def; }
std::optional<int64_t> HfConfig::opt_int(std::string_view key) const {
  return has(key) ? std::optional<int64_t>(get_int(key)) : std::nullopt;
}
int64_t HfConfig::get_positive_int(std::string_view key) const {
  const json::Value& v = get(key);
  if (!v.is_int() || v.as_int() <= 0) type_error(key, "a positive integer", v);
  return v.as_int();
}
int64_t HfConfig::get_positive_int(std::string_view key, int64_t def) const { return has(key) ? get_positive_int(key) : def; }

double HfConfig::get_double(std::string_view key) const {
  const json::Value& v = get(key);
  if (!v.is_number()) type_error(key, "a number", v);
  return v.as_double();
}
double HfConfig::get_double(std::string_view key, double def) const { return has(key) ? get_double(key) : def; }
std::optional<double> HfConfig::opt_double(std::string_view key) const {
  return has(key) ? std::optional<double>(get_double(key)) : std::nullopt;
}

bool HfConfig::get_bool(std::string_view key) const {
  const json::Value& v = get(key);
  if (!v.is_bool()) type_error(key, "a bool", v);
  return v.as_bool();
}
bool HfConfig::get_bool(std::string_view key, bool def) const { return has(key) ? get_bool(key) : def; }

std::string HfConfig::get_string(std::string_view key) const {
  const json::Value& v = get(key);
  if (!v.is_string()) type_error(key, "a string", v);
  return v.as_string();
}
std::string HfConfig::get_string(std::string_view key, const std::string& def) const { return has(key) ? get_string(key) : def; }
std::optional<std::string> HfConfig::opt_string(std::string_view key) const {
  return has(key) ? std::optional<std::string>(get_string(key)) : std::nullopt;
}

std::vector<int64_t> HfConfig::get_int_array(std::string_view key) const {
  const json::Value& v = get(key);
  if (!v.is_array()) type_error(key, "an array of integers", v);
  std::vector<int64_t> r;
  for (const json::Value& e : v.as_array()) {
    if (!e.is_int()) type_error(key, "an array of integers", v);
    r.push_back(e.as_int());
  }
  return r;
}
std::vector<std::string> HfConfig::get_string_array(std::string_view key) const {
  const json::Value& v = get(key);
  if (!v.is_array()) type_error(key, "an array of strings", v);
  std::vector<std::string> r;
  for (const json::Value& e : v.as_array()) {
    if (!e.is_string()) type_error(key, "an array of strings", v);
    r.push_back(e.as_string());
  }
  return r;
}
std::vector<int64_t> HfConfig::get_int_or_int_array(std::string_view key) const {
  if (!has(key)) return {};
  const json::Value& v = get(key);
  if (v.is_int()) return {v.as_int()};
  if (!v.is_array()) type_error(key, "an integer or an array of integers", v);
  return get_int_array(key);
}

HfConfig HfConfig::get_object(std::string_view key) const {
  const json::Value& v = get(key);
  if (!v.is_object()) type_error(key, "an object", v);
  return HfConfig(v, name_, prefix_ + std::string(key) + ".");
}
std::optional<HfConfig> HfConfig::opt_object(std::string_view key) const {
  return has(key) ? std::optional<HfConfig>(get_object(key)) : std::nullopt;
}

}  // namespace tl::io
