#include "tl/json.h"

#include <charconv>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "tl/error.h"

namespace tl::json {

const char* type_name(Type t) {
  switch (t) {
    case Type::null: return "null";
    case Type::boolean: return "bool";
    case Type::integer: return "integer";
    case Type::number: return "number";
    case Type::string: return "string";
    case Type::array: return "array";
    case Type::object: return "object";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------------------
// Object

namespace {
constexpr size_t kIndexThreshold = 12;  // below this a linear scan beats hashing
}

struct Object::Impl {
  std::vector<Member> members;
  // Open-addressing index, built once size passes kIndexThreshold: each slot holds
  // (upper 32 bits of the key's hash) << 32 | (member index + 1); 0 marks an empty slot. Power-of-two size,
  // at most half full. Far more cache-friendly than a node-based map on 100k-entry vocabularies.
  std::vector<uint64_t> table;

  static uint64_t hash(std::string_view k) { return std::hash<std::string_view>()(k); }
  void place(size_t i) {
    uint64_t h = hash(members[i].key);
    size_t mask = table.size() - 1;
    size_t p = size_t(h) & mask;
    while (table[p]) p = (p + 1) & mask;
    table[p] = (h >> 32) << 32 | uint64_t(i + 1);
  }
  void grow() {
    size_t cap = 64;
    while (cap < members.size() * 2) cap *= 2;
    table.assign(cap, 0);
    for (size_t i = 0; i < members.size(); ++i) place(i);
  }
  // Called after members.push_back.
  void indexed_append() {
    size_t n = members.size();
    if (n <= kIndexThreshold) return;
    if (table.empty() || n * 2 > table.size())
      grow();
    else
      place(n - 1);
  }
  long lookup(std::string_view key) const {
    if (table.empty()) {
      for (size_t i = 0; i < members.size(); ++i)
        if (members[i].key == key) return long(i);
      return -1;
    }
    uint64_t h = hash(key);
    uint64_t tag = h >> 32;
    size_t mask = table.size() - 1;
    for (size_t p = size_t(h) & mask;; p = (p + 1) & mask) {
      uint64_t e = table[p];
      if (!e) return -1;
      if ((e >> 32) == tag) {
        size_t i = size_t(e & 0xffffffffu) - 1;
        if (members[i].key == key) return long(i);
      }
    }
  }
};

Object::Object() : impl_(std::make_unique<Impl>()) {}
Object::Object(const Object& o) : impl_(std::make_unique<Impl>(*o.impl_)) {}
Object::Object(Object&& o) noexcept : impl_(std::move(o.impl_)) {}
Object& Object::operator=(const Object& o) {
  if (this != &o) impl_ = std::make_unique<Impl>(*o.impl_);
  return *this;
}
Object& Object::operator=(Object&& o) noexcept {
  impl_ = std::move(o.impl_);
  return *this;
}
Object::~Object() = default;

size_t Object::size() const { return impl_ ? impl_->members.size() : 0; }
const Value* Object::find(std::string_view key) const {
  if (!impl_) return nullptr;
  long i = impl_->lookup(key);
  return i < 0 ? nullptr : &impl_->members[size_t(i)].value;
}
Value* Object::find(std::string_view key) {
  if (!impl_) return nullptr;
  long i = impl_->lookup(key);
  return i < 0 ? nullptr : &impl_->members[size_t(i)].value;
}
const Value& Object::at(std::string_view key) const {
  const Value* v = find(key);
  if (!v) TL_THROW(ValueError, "[json] object has no key \"", key, "\"");
  return *v;
}
bool Object::insert(std::string key, Value v) {
  if (!impl_) impl_ = std::make_unique<Impl>();
  if (impl_->lookup(key) >= 0) return false;
  impl_->members.push_back(Member{std::move(key), std::move(v)});
  impl_->indexed_append();
  return true;
}
void Object::set(std::string key, Value v) {
  if (Value* p = find(key)) {
    *p = std::move(v);
    return;
  }
  insert(std::move(key), std::move(v));
}
const std::vector<Member>& Object::members() const {
  static const std::vector<Member> kEmpty;
  return impl_ ? impl_->members : kEmpty;
}
std::vector<Member>::const_iterator Object::begin() const { return members().begin(); }
std::vector<Member>::const_iterator Object::end() const { return members().end(); }
bool Object::operator==(const Object& o) const { return members() == o.members(); }

// ---------------------------------------------------------------------------------------------------------
// Value accessors

namespace {
[[noreturn]] void wrong_type(Type want, Type got) {
  TL_THROW(ValueError, "[json] expected ", type_name(want), ", got ", type_name(got));
}
}  // namespace

void Value::throw_out_of_range(uint64_t v) {
  TL_THROW(ValueError, "[json] integer ", v, " does not fit in int64");
}

bool Value::as_bool() const {
  if (!is_bool()) wrong_type(Type::boolean, type());
  return std::get<bool>(v_);
}
int64_t Value::as_int() const {
  if (!is_int()) wrong_type(Type::integer, type());
  return std::get<int64_t>(v_);
}
double Value::as_double() const {
  if (is_int()) return double(std::get<int64_t>(v_));
  if (!is_double()) wrong_type(Type::number, type());
  return std::get<double>(v_);
}
const std::string& Value::as_string() const {
  if (!is_string()) wrong_type(Type::string, type());
  return std::get<std::string>(v_);
}
const Array& Value::as_array() const {
  if (!is_array()) wrong_type(Type::array, type());
  return std::get<Array>(v_);
}
Array& Value::as_array() {
  if (!is_array()) wrong_type(Type::array, type());
  return std::get<Array>(v_);
}
const Object& Value::as_object() const {
  if (!is_object()) wrong_type(Type::object, type());
  return std::get<Object>(v_);
}
Object& Value::as_object() {
  if (!is_object()) wrong_type(Type::object, type());
  return std::get<Object>(v_);
}

// ---------------------------------------------------------------------------------------------------------
// Parser

namespace {

class Parser {
 public:
  Parser(std::string_view text, const ParseOptions& opt) : s_(text), opt_(opt) {}

  Value value(int depth) {
    skip_ws();
    if (p_ >= s_.size()) fail("unexpected end of input, expected a value");
    char c = s_[p_];
    switch (c) {
      case '{': return object(depth + 1);
      case '[': return array(depth + 1);
      case '"': {
        std::string str;
        string(str);
        return Value(std::move(str));
      }
      case 't': literal("true"); return Value(true);
      case 'f': literal("false"); return Value(false);
      case 'n': literal("null"); return Value();
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return number();
        fail("unexpected ", describe(p_), ", expected a value");
    }
  }

  void skip_ws() {
    while (p_ < s_.size()) {
      char c = s_[p_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
        ++p_;
      else
        break;
    }
  }
  size_t pos() const { return p_; }
  bool at_end() const { return p_ >= s_.size(); }

  template <class... A>
  [[noreturn]] void fail(const A&... a) { fail_at(p_, a...); }

  template <class... A>
  [[noreturn]] void fail_at(size_t at, const A&... a) {
    int line = opt_.first_line, col = opt_.first_column;
    for (size_t i = 0; i < at && i < s_.size(); ++i) {
      if (s_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    TL_THROW(ParseError, "[json] ", line, ":", col, ": ", a...);
  }

  // The token at `at` for messages: a quoted character or "end of input".
  std::string describe(size_t at) const {
    if (at >= s_.size()) return "end of input";
    unsigned char c = static_cast<unsigned char>(s_[at]);
    if (c < 0x20 || c >= 0x7f) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "byte 0x%02x", c);
      return buf;
    }
    return std::string("'") + char(c) + "'";
  }

 private:
  void check_depth(int depth) {
    if (depth > opt_.max_depth) fail("nesting deeper than the limit of ", opt_.max_depth, " levels");
  }

  void literal(const char* word) {
    size_t n = std::strlen(word);
    if (s_.size() - p_ < n || s_.compare(p_, n, word) != 0) {
      size_t e = p_;
      while (e < s_.size() && e - p_ < 16 && std::isalnum(static_cast<unsigned char>(s_[e]))) ++e;
      fail("invalid literal '", s_.substr(p_, std::max<size_t>(e - p_, 1)), "', expected ", word);
    }
    p_ += n;
  }

  Value object(int depth) {
    check_depth(depth);
    ++p_;  // '{'
    Object obj;
    skip_ws();
    if (p_ < s_.size() && s_[p_] == '}') {
      ++p_;
      return Value(std::move(obj));
    }
    while (true) {
      skip_ws();
      if (p_ >= s_.size() || s_[p_] != '"') fail("expected a string key, found ", describe(p_));
      size_t key_at = p_;
      std::string key;
      string(key);
      skip_ws();
      if (p_ >= s_.size() || s_[p_] != ':') fail("expected ':' after object key, found ", describe(p_));
      ++p_;
      Value v = value(depth);
      if (!obj.insert(std::move(key), std::move(v))) {
        p_ = key_at;  // the key was moved away: read it again for the message
        std::string dup;
        string(dup);
        fail_at(key_at, "duplicate object key \"", dup, "\"");
      }
      skip_ws();
      if (p_ >= s_.size()) fail("unexpected end of input inside an object, expected ',' or '}'");
      if (s_[p_] == ',') {
        ++p_;
        continue;
      }
      if (s_[p_] == '}') {
        ++p_;
        return Value(std::move(obj));
      }
      fail("expected ',' or '}' in object, found ", describe(p_));
    }
  }

  Value array(int depth) {
    check_depth(depth);
    ++p_;  // '['
    Array arr;
    skip_ws();
    if (p_ < s_.size() && s_[p_] == ']') {
      ++p_;
      return Value(std::move(arr));
    }
    while (true) {
      arr.push_back(value(depth));
      skip_ws();
      if (p_ >= s_.size()) fail("unexpected end of input inside an array, expected ',' or ']'");
      if (s_[p_] == ',') {
        ++p_;
        continue;
      }
      if (s_[p_] == ']') {
        ++p_;
        return Value(std::move(arr));
      }
      fail("expected ',' or ']' in array, found ", describe(p_));
    }
  }

  Value number() {
    size_t start = p_;
    bool is_int = true;
    if (s_[p_] == '-') ++p_;
    if (p_ >= s_.size() || !isdigit(s_[p_])) fail("invalid number: expected a digit after '-', found ", describe(p_));
    if (s_[p_] == '0') {
      ++p_;
      if (p_ < s_.size() && isdigit(s_[p_])) fail_at(start, "invalid number: leading zero");
    } else {
      while (p_ < s_.size() && isdigit(s_[p_])) ++p_;
    }
    if (p_ < s_.size() && s_[p_] == '.') {
      is_int = false;
      ++p_;
      if (p_ >= s_.size() || !isdigit(s_[p_])) fail("invalid number: expected a digit after '.', found ", describe(p_));
      while (p_ < s_.size() && isdigit(s_[p_])) ++p_;
    }
    if (p_ < s_.size() && (s_[p_] == 'e' || s_[p_] == 'E')) {
      is_int = false;
      ++p_;
      if (p_ < s_.size() && (s_[p_] == '+' || s_[p_] == '-')) ++p_;
      if (p_ >= s_.size() || !isdigit(s_[p_]))
        fail("invalid number: expected a digit in the exponent, found ", describe(p_));
      while (p_ < s_.size() && isdigit(s_[p_])) ++p_;
    }
    const char* b = s_.data() + start;
    const char* e = s_.data() + p_;
    if (is_int) {
      int64_t v = 0;
      auto r = std::from_chars(b, e, v);
      if (r.ec == std::errc() && r.ptr == e) return Value(v);
      // Too large for int64: keep it as a double (RFC 8259 leaves the range to the implementation).
    }
    double d = 0;
    auto r = std::from_chars(b, e, d);
    if (r.ec == std::errc::result_out_of_range) {
      // from_chars reports underflow as out of range too; only overflow is an error (underflow rounds to 0).
      double probe = std::strtod(std::string(b, e).c_str(), nullptr);
      if (std::isinf(probe)) fail_at(start, "number ", std::string_view(b, size_t(e - b)), " is outside the double range");
      d = probe;
    } else if (r.ec != std::errc() || r.ptr != e) {
      fail_at(start, "invalid number '", std::string_view(b, size_t(e - b)), "'");
    }
    return Value(d);
  }

  static bool isdigit(char c) { return c >= '0' && c <= '9'; }

  unsigned hex4() {
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      if (p_ + size_t(i) >= s_.size()) fail_at(p_ + size_t(i), "truncated \\u escape: expected 4 hex digits");
      char c = s_[p_ + size_t(i)];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= unsigned(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= unsigned(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= unsigned(c - 'A' + 10);
      else
        fail_at(p_ + size_t(i), "invalid \\u escape: expected a hex digit, found ", describe(p_ + size_t(i)));
    }
    p_ += 4;
    return v;
  }

  static void put_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xC0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += char(0xE0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xF0 | (cp >> 18));
      out += char(0x80 | ((cp >> 12) & 0x3F));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    }
  }

  // Validates one UTF-8 sequence starting at p_ (a byte >= 0x80) and returns its length.
  size_t utf8_seq() {
    auto byte = [&](size_t i) -> unsigned { return static_cast<unsigned char>(s_[p_ + i]); };
    unsigned c = byte(0);
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      if (c == 0xE0) lo = 0xA0;  // no overlongs
      if (c == 0xED) hi = 0x9F;  // no UTF-16 surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;  // <= U+10FFFF
    } else {
      fail("invalid UTF-8 in string: ", describe(p_), " cannot start a character");
    }
    if (s_.size() - p_ < n) fail("invalid UTF-8 in string: truncated ", n, "-byte sequence");
    for (size_t i = 1; i < n; ++i) {
      unsigned b = byte(i);
      unsigned l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
      if (b < l || b > h) fail_at(p_ + i, "invalid UTF-8 in string: bad continuation ", describe(p_ + i));
    }
    return n;
  }

  void string(std::string& out) {
    size_t open = p_;
    ++p_;  // opening quote
    while (true) {
      // Fast path: copy a run of plain ASCII.
      size_t run = p_;
      while (run < s_.size()) {
        unsigned char c = static_cast<unsigned char>(s_[run]);
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
        ++run;
      }
      out.append(s_.data() + p_, run - p_);
      p_ = run;
      if (p_ >= s_.size()) fail_at(open, "unterminated string");
      unsigned char c = static_cast<unsigned char>(s_[p_]);
      if (c == '"') {
        ++p_;
        return;
      }
      if (c < 0x20) fail("unescaped control character ", describe(p_), " in string");
      if (c >= 0x80) {
        size_t n = utf8_seq();
        out.append(s_.data() + p_, n);
        p_ += n;
        continue;
      }
      // Escape.
      size_t esc = p_;
      ++p_;
      if (p_ >= s_.size()) fail_at(open, "unterminated string");
      char e = s_[p_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (s_.size() - p_ < 2 || s_[p_] != '\\' || s_[p_ + 1] != 'u')
              fail_at(esc, "unpaired surrogate \\u", std::string(s_.substr(esc + 2, 4)),
                      ": a high surrogate must be followed by a \\u low surrogate");
            p_ += 2;
            uint32_t lo = hex4();
            if (lo < 0xDC00 || lo > 0xDFFF)
              fail_at(esc, "unpaired surrogate \\u", std::string(s_.substr(esc + 2, 4)),
                      ": followed by \\u", std::string(s_.substr(p_ - 4, 4)), " which is not a low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail_at(esc, "unpaired low surrogate \\u", std::string(s_.substr(esc + 2, 4)));
          }
          put_utf8(out, cp);
          break;
        }
        default:
          fail_at(esc, "invalid escape '\\", describe(p_ - 1).substr(1, 1), "' in string");
      }
    }
  }

  std::string_view s_;
  const ParseOptions& opt_;
  size_t p_ = 0;
};

}  // namespace

Value parse(std::string_view text, const ParseOptions& opt) {
  Parser p(text, opt);
  Value v = p.value(0);
  p.skip_ws();
  if (!p.at_end()) p.fail("unexpected ", p.describe(p.pos()), " after the JSON value");
  return v;
}

Value parse_prefix(std::string_view text, size_t& consumed, const ParseOptions& opt) {
  Parser p(text, opt);
  Value v = p.value(0);
  consumed = p.pos();
  return v;
}

// ---------------------------------------------------------------------------------------------------------
// Printer

std::string format_double(double d) {
  if (!std::isfinite(d)) TL_THROW(ValueError, "[json] cannot print ", d, ": NaN and infinities are not JSON numbers");
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d);  // shortest round-trip form
  std::string s(buf, r.ptr);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // keep it a double when read back
  return s;
}

void dump_string(std::string& out, std::string_view s) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

namespace {
void dump_rec(std::string& out, const Value& v, int indent, int level) {
  auto newline = [&](int lv) {
    if (indent < 0) return;
    out += '\n';
    out.append(size_t(indent * lv), ' ');
  };
  switch (v.type()) {
    case Type::null: out += "null"; break;
    case Type::boolean: out += v.as_bool() ? "true" : "false"; break;
    case Type::integer: {
      char buf[32];
      auto r = std::to_chars(buf, buf + sizeof buf, v.as_int());
      out.append(buf, r.ptr);
      break;
    }
    case Type::number: out += format_double(v.as_double()); break;
    case Type::string: dump_string(out, v.as_string()); break;
    case Type::array: {
      const Array& a = v.as_array();
      // Pretty mode keeps arrays of scalars on one line ("shape": [2, 3, 4]).
      bool flat = indent >= 0;
      for (const Value& e : a) flat = flat && !e.is_array() && !e.is_object();
      out += '[';
      for (size_t i = 0; i < a.size(); ++i) {
        if (i) out += flat ? ", " : ",";
        if (!flat) newline(level + 1);
        dump_rec(out, a[i], indent, level + 1);
      }
      if (!a.empty() && !flat) newline(level);
      out += ']';
      break;
    }
    case Type::object: {
      const Object& o = v.as_object();
      out += '{';
      size_t i = 0;
      for (const Member& m : o) {
        if (i++) out += ',';
        newline(level + 1);
        dump_string(out, m.key);
        out += indent < 0 ? ":" : ": ";
        dump_rec(out, m.value, indent, level + 1);
      }
      if (!o.empty()) newline(level);
      out += '}';
      break;
    }
  }
}
}  // namespace

std::string dump(const Value& v, int indent) {
  std::string out;
  dump_rec(out, v, indent, 0);
  return out;
}

}  // namespace tl::json
