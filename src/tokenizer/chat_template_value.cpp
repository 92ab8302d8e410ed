// Values of the chat-template subset with the Python semantics jinja2 inherits: str()/repr() text, truthiness,
// equality and ordering, `in`, json.dumps(ensure_ascii=False) for the tojson filter, and str methods on
// Unicode text (whitespace = str.isspace(), case mapping through ICU's full mappings).
#include <unicode/uchar.h>
#include <unicode/ustring.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "chat_template_internal.h"
#include "internal.h"

namespace tl::tok::jinja {

const Value* Dict::find(std::string_view k) const {
  for (const auto& [key, v] : items)
    if (key == k) return &v;
  return nullptr;
}

int value_depth(const Value& v) {
  if (auto* l = v.list()) return l->depth;
  if (auto* d = v.dict()) return d->depth;
  if (auto* n = v.ns()) {
    int m = 0;
    for (const auto& a : n->attrs) m = std::max(m, value_depth(a.second));
    return m + 1;
  }
  if (auto* l = v.loop()) return l->items->depth + 1;
  if (auto* f = v.func()) return value_depth(f->self) + 1;
  return 0;
}

int64_t value_weight(const Value& v) {
  if (v.is_str()) return int64_t(v.str().size()) + 1;
  if (auto* l = v.list()) return l->weight;
  if (auto* d = v.dict()) return d->weight;
  return 1;
}

int64_t print_weight(const Value& v) {
  if (const auto* ns = v.ns()) {
    int64_t w = 1;
    for (const auto& [name, value] : ns->attrs)
      w = std::min<int64_t>(w + int64_t(name.size()) + value_weight(value), int64_t(1) << 50);
    return w;
  }
  return value_weight(v);
}

int64_t shallow_size(const Value& v) {
  if (v.is_str()) return int64_t(v.str().size());
  if (auto* l = v.list()) return int64_t(l->items.size());
  if (auto* d = v.dict()) return int64_t(d->items.size());
  return 0;
}

static void check_child(const Value& v, int& depth, int64_t& weight) {
  if (v.ns()) throw ValueError("a namespace() cannot be stored inside a list, dict or namespace in this subset");
  depth = std::max(depth, value_depth(v) + 1);
  if (depth > kMaxValueDepth)
    throw ValueError(detail::cat("value nested deeper than ", kMaxValueDepth, " levels"));
  weight = std::min<int64_t>(weight + value_weight(v), int64_t(1) << 50);
}

std::shared_ptr<const List> make_list(std::vector<Value> items, bool tuple) {
  auto l = std::make_shared<List>();
  for (const auto& v : items) check_child(v, l->depth, l->weight);
  l->items = std::move(items);
  l->tuple = tuple;
  return l;
}

std::shared_ptr<const Dict> make_dict(std::vector<std::pair<std::string, Value>> items) {
  auto d = std::make_shared<Dict>();
  for (const auto& kv : items) check_child(kv.second, d->depth, d->weight);
  // Later duplicates replace earlier values in place, as a Python dict literal does.
  for (auto& kv : items) {
    bool found = false;
    for (auto& e : d->items)
      if (e.first == kv.first) {
        e.second = std::move(kv.second);
        found = true;
        break;
      }
    if (!found) d->items.push_back(std::move(kv));
  }
  return d;
}

const char* type_name(const Value& v) {
  switch (v.v.index()) {
    case 0: return "undefined";
    case 1: return "NoneType";
    case 2: return "bool";
    case 3: return "int";
    case 4: return "float";
    case 5: return "str";
    case 6: return v.list()->tuple ? "tuple" : "list";
    case 7: return "dict";
    case 8: return "Namespace";
    case 9: return "LoopContext";
    default: return "function";
  }
}

bool truthy(const Value& v) {
  switch (v.v.index()) {
    case 0:
    case 1: return false;
    case 2: return std::get<2>(v.v);
    case 3: return std::get<3>(v.v) != 0;
    case 4: return std::get<4>(v.v) != 0.0;
    case 5: return !v.str().empty();
    case 6: return !v.list()->items.empty();
    case 7: return !v.dict()->items.empty();
    default: return true;
  }
}

std::string format_float(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, r.ptr);  // shortest round-trip digits: "-1.2345e+02"
  std::string sign;
  if (sci[0] == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  size_t e = sci.find('e');
  std::string digits;
  for (size_t i = 0; i < e; ++i)
    if (sci[i] != '.') digits += sci[i];
  int exp10 = std::stoi(sci.substr(e + 1));
  int decpt = exp10 + 1;  // value = 0.DIGITS x 10^decpt
  int n = int(digits.size());
  std::string out;
  if (decpt <= -4 || decpt > 16) {  // Python's repr switches to exponent form here
    out = digits.substr(0, 1);
    if (n > 1) out += "." + digits.substr(1);
    int x = decpt - 1;
    out += x < 0 ? "e-" : "e+";
    std::string xs = std::to_string(std::abs(x));
    if (xs.size() < 2) xs = "0" + xs;
    out += xs;
  } else if (decpt <= 0) {
    out = "0." + std::string(size_t(-decpt), '0') + digits;
  } else if (decpt < n) {
    out = digits.substr(0, size_t(decpt)) + "." + digits.substr(size_t(decpt));
  } else {
    out = digits + std::string(size_t(decpt - n), '0') + ".0";
  }
  return sign + out;
}

static bool py_printable(char32_t c) {
  if (c == ' ') return true;
  switch (u_charType(UChar32(c))) {
    case U_CONTROL_CHAR:
    case U_FORMAT_CHAR:
    case U_SURROGATE:
    case U_PRIVATE_USE_CHAR:
    case U_UNASSIGNED:
    case U_LINE_SEPARATOR:
    case U_PARAGRAPH_SEPARATOR:
    case U_SPACE_SEPARATOR: return false;
    default: return true;
  }
}

std::string repr_str(std::string_view s) {
  bool has_single = s.find('\'') != std::string_view::npos, has_double = s.find('"') != std::string_view::npos;
  char q = has_single && !has_double ? '"' : '\'';
  std::string out;
  out.reserve(s.size() + 2);
  out += q;
  char buf[16];
  static const char kHex[] = "0123456789abcdef";
  // Python's repr: printable characters as they are, the quote and the backslash escaped, \t \n \r, other
  // controls and unprintable code points as \xNN / \uNNNN / \UNNNNNNNN. Runs of plain ASCII are copied in
  // one go and only non-ASCII runs are decoded (a template can make a string of megabytes reach here).
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size()) {
      const auto c = static_cast<unsigned char>(s[j]);
      if (c < 0x20 || c >= 0x7f || c == static_cast<unsigned char>(q) || c == '\\') break;
      ++j;
    }
    out.append(s.data() + i, j - i);
    if (j == s.size()) break;
    const auto c = static_cast<unsigned char>(s[j]);
    if (c < 0x80) {
      if (c == static_cast<unsigned char>(q) || c == '\\') {
        out += '\\';
        out += char(c);
      } else if (c == '\t') {
        out += "\\t";
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\r') {
        out += "\\r";
      } else {  // other controls and DEL
        const char e[4] = {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
        out.append(e, 4);
      }
      i = j + 1;
      continue;
    }
    size_t k = j;  // the run of non-ASCII bytes (a UTF-8 sequence never contains an ASCII byte)
    while (k < s.size() && static_cast<unsigned char>(s[k]) >= 0x80) ++k;
    for (char32_t u : to_u32(s.substr(j, k - j))) {
      if (!py_printable(u)) {
        if (u < 0x100) std::snprintf(buf, sizeof buf, "\\x%02x", unsigned(u));
        else if (u < 0x10000) std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(u));
        else std::snprintf(buf, sizeof buf, "\\U%08x", unsigned(u));
        out += buf;
      } else {
        append_utf8(out, u);
      }
    }
    i = k;
  }
  out += q;
  return out;
}

// Lists may share sublists (x = [x, x]), so a small value can print exponentially large: refuse by weight.
static void check_printable(const Value& v) {
  if (value_weight(v) > Budget::kMaxOutput)
    throw ValueError(detail::cat("value too large to print (over ", Budget::kMaxOutput >> 20, " MiB)"));
}

std::string repr(const Value& v) {
  if (v.is_str()) return repr_str(v.str());
  if (v.undefined()) return "Undefined";
  check_printable(v);
  if (auto* l = v.list()) {
    std::string out = l->tuple ? "(" : "[";
    for (size_t i = 0; i < l->items.size(); ++i) out += (i ? ", " : "") + repr(l->items[i]);
    if (l->tuple && l->items.size() == 1) out += ",";
    return out + (l->tuple ? ")" : "]");
  }
  if (auto* d = v.dict()) {
    std::string out = "{";
    for (size_t i = 0; i < d->items.size(); ++i)
      out += (i ? ", " : "") + repr_str(d->items[i].first) + ": " + repr(d->items[i].second);
    return out + "}";
  }
  return to_str(v);
}

std::string to_str(const Value& v) {
  switch (v.v.index()) {
    case 0: return "";
    case 1: return "None";
    case 2: return std::get<2>(v.v) ? "True" : "False";
    case 3: return std::to_string(std::get<3>(v.v));
    case 4: return format_float(std::get<4>(v.v));
    case 5: return v.str();
    case 6:
    case 7: return repr(v);
    case 8: {
      std::string out = "<Namespace {";
      const auto& a = v.ns()->attrs;
      for (size_t i = 0; i < a.size(); ++i) out += (i ? ", " : "") + repr_str(a[i].first) + ": " + repr(a[i].second);
      return out + "}>";
    }
    case 9: {
      const Loop* l = v.loop();
      return detail::cat("<LoopContext ", l->index0 + 1, "/", l->items->items.size(), ">");
    }
    default: throw ValueError("cannot print the function '" + v.func()->name + "' (call it with ())");
  }
}

// tojson's string form: JSON escapes as tl::json writes them; with ensure_ascii (Python's default) every
// non-ASCII character becomes \uXXXX (a surrogate pair above the BMP).
static void json_str(std::string& out, std::string_view s, bool ensure_ascii) {
  if (!ensure_ascii) return json::dump_string(out, s);
  std::string quoted;
  json::dump_string(quoted, s);  // escaping touches ASCII only, so the non-ASCII characters pass through
  char buf[16];
  for (char32_t c : to_u32(quoted)) {
    if (c < 0x80) {
      out += char(c);
    } else if (c < 0x10000) {
      std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(c));
      out += buf;
    } else {
      unsigned v = unsigned(c) - 0x10000;
      std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
      out += buf;
    }
  }
}

static void json_rec(std::string& out, const Value& v, const JsonOptions& opt, int level) {
  auto newline = [&](int lv) {
    out += '\n';
    out.append(size_t(opt.indent) * size_t(lv), ' ');
  };
  const char* item_sep = opt.indent >= 0 ? "," : ", ";
  switch (v.v.index()) {
    case 1: out += "null"; return;
    case 2: out += std::get<2>(v.v) ? "true" : "false"; return;
    case 3: out += std::to_string(std::get<3>(v.v)); return;
    case 4: {
      double d = std::get<4>(v.v);
      out += std::isnan(d) ? "NaN" : std::isinf(d) ? (d < 0 ? "-Infinity" : "Infinity") : format_float(d);
      return;
    }
    case 5: json_str(out, v.str(), opt.ensure_ascii); return;
    case 6: {
      const auto& items = v.list()->items;
      if (items.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += item_sep;
        if (opt.indent >= 0) newline(level + 1);
        json_rec(out, items[i], opt, level + 1);
      }
      if (opt.indent >= 0) newline(level);
      out += ']';
      return;
    }
    case 7: {
      std::vector<const std::pair<std::string, Value>*> items;
      for (const auto& kv : v.dict()->items) items.push_back(&kv);
      if (opt.sort_keys)
        std::stable_sort(items.begin(), items.end(), [](auto* a, auto* b) { return a->first < b->first; });
      if (items.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += item_sep;
        if (opt.indent >= 0) newline(level + 1);
        json_str(out, items[i]->first, opt.ensure_ascii);
        out += ": ";
        json_rec(out, items[i]->second, opt, level + 1);
      }
      if (opt.indent >= 0) newline(level);
      out += '}';
      return;
    }
    default:
      throw ValueError(std::string("tojson: Object of type ") + type_name(v) + " is not JSON serializable");
  }
}

std::string to_json(const Value& v, const JsonOptions& opt) {
  check_printable(v);
  std::string out;
  json_rec(out, v, opt, 0);
  return out;
}

bool equal(const Value& a, const Value& b) {
  bool an = a.is_int() || a.is_float(), bn = b.is_int() || b.is_float();
  if (an && bn) {
    if (a.is_float() || b.is_float()) {
      double x = a.is_float() ? std::get<4>(a.v) : double(a.as_int());
      double y = b.is_float() ? std::get<4>(b.v) : double(b.as_int());
      return x == y;
    }
    return a.as_int() == b.as_int();
  }
  if (a.v.index() != b.v.index()) return false;
  switch (a.v.index()) {
    case 0:
    case 1: return true;
    case 5: return a.str() == b.str();
    case 6: {
      const auto &x = a.list()->items, &y = b.list()->items;
      if (a.list()->tuple != b.list()->tuple || x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i)
        if (!equal(x[i], y[i])) return false;
      return true;
    }
    case 7: {
      const auto &x = a.dict()->items, &y = b.dict()->items;
      if (x.size() != y.size()) return false;
      for (const auto& kv : x) {
        const Value* o = b.dict()->find(kv.first);
        if (!o || !equal(kv.second, *o)) return false;
      }
      return true;
    }
    case 8: return a.ns() == b.ns();
    case 9: return a.loop() == b.loop();
    default: return a.func() == b.func();
  }
}

bool less(const Value& a, const Value& b) {
  bool an = a.is_int() || a.is_float(), bn = b.is_int() || b.is_float();
  if (an && bn) {
    if (a.is_float() || b.is_float()) {
      double x = a.is_float() ? std::get<4>(a.v) : double(a.as_int());
      double y = b.is_float() ? std::get<4>(b.v) : double(b.as_int());
      return x < y;
    }
    return a.as_int() < b.as_int();
  }
  if (a.is_str() && b.is_str()) return a.str() < b.str();  // UTF-8 byte order == code point order
  if (a.list() && b.list() && a.list()->tuple == b.list()->tuple) {
    const auto &x = a.list()->items, &y = b.list()->items;
    for (size_t i = 0; i < x.size() && i < y.size(); ++i)
      if (!equal(x[i], y[i])) return less(x[i], y[i]);
    return x.size() < y.size();
  }
  throw ValueError(std::string("'<' not supported between instances of '") + type_name(a) + "' and '" +
                   type_name(b) + "'");
}

bool contains(const Value& c, const Value& item) {
  if (c.is_str()) {
    if (!item.is_str())
      throw ValueError(std::string("'in <string>' requires string as left operand, not ") + type_name(item));
    return c.str().find(item.str()) != std::string::npos;
  }
  if (auto* l = c.list()) {
    for (const auto& v : l->items)
      if (equal(v, item)) return true;
    return false;
  }
  if (auto* d = c.dict()) return item.is_str() && d->find(item.str()) != nullptr;
  if (c.undefined()) return false;  // jinja2's Undefined iterates as empty
  throw ValueError(std::string("argument of type '") + type_name(c) + "' is not iterable");
}

bool is_py_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
         c == 0x3000;
}

std::string py_strip(std::string_view s, bool left, bool right, const std::u32string* chars) {
  std::u32string u = to_u32(s);
  auto strip = [&](char32_t c) { return chars ? chars->find(c) != std::u32string::npos : is_py_space(c); };
  size_t b = 0, e = u.size();
  if (left)
    while (b < e && strip(u[b])) ++b;
  if (right)
    while (e > b && strip(u[e - 1])) --e;
  return to_utf8(std::u32string_view(u).substr(b, e - b));
}

static std::string icu_case(std::string_view s, bool upper) {
  if (s.empty()) return "";
  UErrorCode st = U_ZERO_ERROR;
  int32_t n16 = 0;
  u_strFromUTF8(nullptr, 0, &n16, s.data(), int32_t(s.size()), &st);
  std::u16string in(size_t(n16), u'\0');
  st = U_ZERO_ERROR;
  u_strFromUTF8(reinterpret_cast<UChar*>(in.data()), n16, nullptr, s.data(), int32_t(s.size()), &st);
  std::u16string out(in.size() * 3 + 4, u'\0');
  st = U_ZERO_ERROR;
  auto conv = upper ? u_strToUpper : u_strToLower;
  int32_t m = conv(reinterpret_cast<UChar*>(out.data()), int32_t(out.size()),
                   reinterpret_cast<const UChar*>(in.data()), int32_t(in.size()), "", &st);
  if (U_FAILURE(st)) throw ValueError("upper/lower: ICU case mapping failed");
  std::string r(size_t(m) * 3 + 4, '\0');
  int32_t n8 = 0;
  st = U_ZERO_ERROR;
  u_strToUTF8(r.data(), int32_t(r.size()), &n8, reinterpret_cast<const UChar*>(out.data()), m, &st);
  if (U_FAILURE(st)) throw ValueError("upper/lower: ICU conversion failed");
  r.resize(size_t(n8));
  return r;
}

std::string py_upper(std::string_view s) { return icu_case(s, true); }
std::string py_lower(std::string_view s) { return icu_case(s, false); }

static bool cased(char32_t c) {
  auto t = u_charType(UChar32(c));
  return t == U_UPPERCASE_LETTER || t == U_LOWERCASE_LETTER || t == U_TITLECASE_LETTER;
}

std::string py_title(std::string_view s) {
  std::string out;
  bool prev_cased = false;
  for (char32_t c : to_u32(s)) {
    append_utf8(out, char32_t(prev_cased ? u_tolower(UChar32(c)) : u_totitle(UChar32(c))));
    prev_cased = cased(c);
  }
  return out;
}

std::string py_capitalize(std::string_view s) {
  std::string out;
  bool first = true;
  for (char32_t c : to_u32(s)) {
    append_utf8(out, char32_t(first ? u_totitle(UChar32(c)) : u_tolower(UChar32(c))));
    first = false;
  }
  return out;
}

size_t py_len(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

}  // namespace tl::tok::jinja
