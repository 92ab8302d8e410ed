// A small JSON library: a DOM that keeps object insertion order and keeps integers (int64) distinct from
// doubles, a strict RFC 8259 parser and a printer. Used for graph JSON, safetensors headers, config.json and
// tokenizer.json, so the parser treats every input as hostile:
//  - it never reads past the buffer; errors are tl::ParseError with "line:column" and what was found;
//  - nesting deeper than ParseOptions::max_depth (256) is refused;
//  - strings must be valid UTF-8 (invalid bytes are an error, never replaced), control characters must be
//    escaped, \u escapes must form valid surrogate pairs;
//  - duplicate object keys are an error (the RFC leaves them undefined; refusing avoids silent overrides);
//  - integers that fit int64 are kept as integers, others (and any number with '.', 'e') are doubles; a
//    number outside the double range is an error.
#pragma once
#include <concepts>
#include <cstdint>
#include <type_traits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace tl::json {

enum class Type { null, boolean, integer, number, string, array, object };
const char* type_name(Type t);  // "null", "bool", "integer", "number", "string", "array", "object"

class Value;
struct Member;

// An object: members in insertion order, with a hash index for O(1) lookup on large objects.
class Object {
 public:
  Object();
  Object(const Object& o);
  Object(Object&&) noexcept;
  Object& operator=(const Object& o);
  Object& operator=(Object&&) noexcept;
  ~Object();

  size_t size() const;
  bool empty() const { return size() == 0; }
  // nullptr when absent.
  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  // Throws ValueError naming the key when absent.
  const Value& at(std::string_view key) const;
  // Inserts or replaces (keeping the original position on replace).
  void set(std::string key, Value v);
  // Appends without checking for duplicates; returns false (and does nothing) if the key exists.
  bool insert(std::string key, Value v);
  const std::vector<Member>& members() const;
  std::vector<Member>::const_iterator begin() const;
  std::vector<Member>::const_iterator end() const;
  bool operator==(const Object& o) const;  // order-sensitive

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

using Array = std::vector<Value>;

class Value {
 public:
  Value() = default;  // null
  Value(std::nullptr_t) {}
  Value(bool b) : v_(b) {}
  // Any integer type (int, int64_t, size_t, ...); unsigned values above INT64_MAX throw ValueError.
  template <std::integral T>
    requires(!std::same_as<T, bool>)
  Value(T v) : v_(to_int64(v)) {}
  Value(double v) : v_(v) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(std::string_view s) : v_(std::string(s)) {}
  Value(Array a) : v_(std::move(a)) {}
  Value(Object o) : v_(std::move(o)) {}

  Type type() const { return Type(v_.index()); }
  bool is_null() const { return type() == Type::null; }
  bool is_bool() const { return type() == Type::boolean; }
  bool is_int() const { return type() == Type::integer; }
  bool is_double() const { return type() == Type::number; }
  bool is_number() const { return is_int() || is_double(); }
  bool is_string() const { return type() == Type::string; }
  bool is_array() const { return type() == Type::array; }
  bool is_object() const { return type() == Type::object; }

  // Typed access; a wrong type throws ValueError "expected <type>, got <type>".
  bool as_bool() const;
  int64_t as_int() const;
  double as_double() const;  // integers convert
  const std::string& as_string() const;
  const Array& as_array() const;
  Array& as_array();
  const Object& as_object() const;
  Object& as_object();

  // Object member lookup (nullptr if absent or not an object).
  const Value* find(std::string_view key) const { return is_object() ? as_object().find(key) : nullptr; }

  bool operator==(const Value& o) const { return v_ == o.v_; }

 private:
  template <class T>
  static int64_t to_int64(T v) {
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(int64_t))
      if (v > T(INT64_MAX)) throw_out_of_range(uint64_t(v));
    return int64_t(v);
  }
  [[noreturn]] static void throw_out_of_range(uint64_t v);

  std::variant<std::monostate, bool, int64_t, double, std::string, Array, Object> v_;
};

struct Member {
  std::string key;
  Value value;
  bool operator==(const Member& o) const { return key == o.key && value == o.value; }
};

struct ParseOptions {
  int max_depth = 256;
  // Position of text[0] in a larger document, so errors in an embedded value point at the right place.
  int first_line = 1, first_column = 1;
};

// Parses one complete document (surrounding whitespace allowed, nothing else).
Value parse(std::string_view text, const ParseOptions& opt = {});
// Parses one value at the start of `text` (leading whitespace skipped) and sets `consumed` to the number of
// characters used; trailing text is left for the caller.
Value parse_prefix(std::string_view text, size_t& consumed, const ParseOptions& opt = {});

// indent < 0: compact one line; indent >= 0: pretty, `indent` spaces per level. Doubles print in the
// shortest form that parses back bit-identical, always with a '.' or exponent so they stay doubles; NaN and
// infinities are not JSON and throw ValueError.
std::string dump(const Value& v, int indent = -1);
// Appends a quoted, escaped JSON string.
void dump_string(std::string& out, std::string_view s);
// Shortest text for a double that parses back identical and reads as a JSON number with '.' or exponent.
std::string format_double(double d);

}  // namespace tl::json
