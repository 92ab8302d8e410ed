// Hugging Face config.json, read through typed getters. Errors are ValueError naming the file, the field,
// the expected and the actual, e.g. `[config] m/config.json: "num_attention_heads": expected a positive
// integer, got 0`. A JSON null counts as absent for the getters that take a default (HF writes
// "sliding_window": null for "not used"). Nested objects (rope_scaling, text_config) are HfConfigs too.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tl/json.h"

namespace tl::io {

class HfConfig {
 public:
  // Reads and parses a file (IoError if unreadable, ParseError with line:column if not JSON, ValueError if
  // not an object). `path` may be a directory holding config.json.
  static HfConfig load(const std::string& path);
  // Parses text; `name` names it in errors.
  static HfConfig parse(std::string_view text, const std::string& name = "<config>");
  HfConfig(json::Value root, std::string name, std::string prefix = "");

  const std::string& name() const { return name_; }
  const json::Value& json() const { return root_; }
  // Present and not null.
  bool has(std::string_view key) const;
  // nullptr when absent (null values are returned).
  const json::Value* find(std::string_view key) const;
  const json::Value& get(std::string_view key) const;  // ValueError when absent

  int64_t get_int(std::string_view key) const;  // JSON integer only (2.0 is refused)
  int64_t get_int(std::string_view key, int64_t def) const;
  std::optional<int64_t> opt_int(std::string_view key) const;
  // > 0, for sizes and counts.
  int64_t get_positive_int(std::string_view key) const;
  int64_t get_positive_int(std::string_view key, int64_t def) const;
  double get_double(std::string_view key) const;  // integer or number
  double get_double(std::string_view key, double def) const;
  std::optional<double> opt_double(std::string_view key) const;
  bool get_bool(std::string_view key) const;
  bool get_bool(std::string_view key, bool def) const;
  std::string get_string(std::string_view key) const;
  std::string get_string(std::string_view key, const std::string& def) const;
  std::optional<std::string> opt_string(std::string_view key) const;
  std::vector<int64_t> get_int_array(std::string_view key) const;
  std::vector<std::string> get_string_array(std::string_view key) const;
  // An int or an array of ints (e.g. "eos_token_id": 2 or [2, 3]); empty when absent or null.
  std::vector<int64_t> get_int_or_int_array(std::string_view key) const;
  // Nested object (ValueError if absent or not an object); opt_object: nullopt when absent or null.
  HfConfig get_object(std::string_view key) const;
  std::optional<HfConfig> opt_object(std::string_view key) const;

 private:
  [[noreturn]] void type_error(std::string_view key, const char* expected, const json::Value& got) const;
  std::string field(std::string_view key) const;

  json::Value root_;
  std::string name_;
  std::string prefix_;  // "rope_scaling." for nested objects, for messages
};

}  // namespace tl::io
