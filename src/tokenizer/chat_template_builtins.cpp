// Builtins of the chat-template subset: filters, tests, global functions (raise_exception, namespace, range),
// the str and dict methods templates call, and jinja2's attribute/item lookup (sandboxed getattr, then item).
#include <algorithm>
#include <cmath>
#include <set>

#include "chat_template_internal.h"
#include "internal.h"

namespace tl::tok::jinja {
namespace {

const std::set<std::string, std::less<>> kFilters = {
    "trim", "length", "count", "upper", "lower", "capitalize", "title", "tojson", "default", "d", "string", "int",
    "float", "first", "last", "join", "list", "reverse", "replace", "items", "abs", "safe", "selectattr",
    "rejectattr", "map"};
const std::set<std::string, std::less<>> kTests = {
    "defined", "undefined", "none", "boolean", "true", "false", "integer", "float", "number", "string", "mapping",
    "iterable", "sequence", "callable", "odd", "even", "divisibleby", "eq", "equalto", "==", "ne", "!=", "lt", "<",
    "le", "<=", "gt", ">", "ge", ">=", "in", "lessthan", "greaterthan"};
const std::set<std::string, std::less<>> kStrMethods = {"strip", "lstrip", "rstrip", "upper", "lower", "title",
                                                        "capitalize", "startswith", "endswith", "split",
                                                        "replace", "join"};
const std::set<std::string, std::less<>> kDictMethods = {"items", "keys", "values", "get"};

const Value& arg(const CallArgs& a, size_t i, const char* name, const Value& dflt) {
  for (const auto& kv : a.kw)
    if (kv.first == name) return kv.second;
  return i < a.pos.size() ? a.pos[i] : dflt;
}
void check_args(const CallArgs& a, size_t max_pos, std::initializer_list<const char*> kw, const std::string& what) {
  if (a.pos.size() > max_pos)
    throw ValueError(detail::cat(what, " takes at most ", max_pos, " positional arguments, got ", a.pos.size()));
  for (const auto& kv : a.kw)
    if (std::find_if(kw.begin(), kw.end(), [&](const char* k) { return kv.first == k; }) == kw.end())
      throw ValueError(what + " got an unexpected keyword argument '" + kv.first + "'");
}
const std::string& need_str(const Value& v, const std::string& what) {
  if (v.undefined()) undefined_error(v);
  if (!v.is_str()) throw ValueError(what + " needs a string, got " + type_name(v));
  return v.str();
}
int64_t need_int(const Value& v, const std::string& what) {
  if (v.undefined()) undefined_error(v);
  if (!v.is_int()) throw ValueError(what + " needs an integer, got " + type_name(v));
  return v.as_int();
}
Value str_value(std::string s, Budget& b) {
  b.bytes(s.size());
  return Value(std::move(s));
}

std::vector<Value> chars_of(const std::string& s) {
  std::vector<Value> out;
  for (char32_t c : to_u32(s)) {
    std::string one;
    append_utf8(one, c);
    out.emplace_back(std::move(one));
  }
  return out;
}

std::string py_replace(const std::string& s, const std::string& old, const std::string& rep, int64_t count,
                       Budget& b) {
  if (count < 0) count = INT64_MAX;
  std::string out;
  if (old.empty()) {  // Python inserts `rep` before every character and at the end
    std::vector<Value> cs = chars_of(s);
    int64_t n = 0;
    for (const auto& c : cs) {
      if (n++ < count) out += rep;
      out += c.str();
      b.bytes(rep.size());
    }
    if (n < count) out += rep;
    return out;
  }
  size_t pos = 0;
  int64_t n = 0;
  while (n < count) {
    size_t f = s.find(old, pos);
    if (f == std::string::npos) break;
    out.append(s, pos, f - pos);
    out += rep;
    b.bytes(rep.size() + f - pos);
    pos = f + old.size();
    ++n;
  }
  out.append(s, pos, std::string::npos);
  return out;
}

std::vector<Value> py_split(const std::string& s, const Value& sep, int64_t maxsplit) {
  std::vector<Value> out;
  if (maxsplit < 0) maxsplit = INT64_MAX;
  if (sep.none() || sep.undefined()) {  // runs of whitespace, no empty strings
    std::u32string u = to_u32(s);
    size_t i = 0;
    int64_t n = 0;
    while (i < u.size()) {
      while (i < u.size() && is_py_space(u[i])) ++i;
      if (i >= u.size()) break;
      if (n++ >= maxsplit) {
        size_t e = u.size();
        while (e > i && is_py_space(u[e - 1])) --e;
        out.emplace_back(to_utf8(std::u32string_view(u).substr(i, e - i)));
        break;
      }
      size_t j = i;
      while (j < u.size() && !is_py_space(u[j])) ++j;
      out.emplace_back(to_utf8(std::u32string_view(u).substr(i, j - i)));
      i = j;
    }
    return out;
  }
  const std::string& d = need_str(sep, "str.split(sep)");
  if (d.empty()) throw ValueError("str.split: empty separator");
  size_t pos = 0;
  int64_t n = 0;
  for (;;) {
    size_t f = n < maxsplit ? s.find(d, pos) : std::string::npos;
    if (f == std::string::npos) break;
    out.emplace_back(s.substr(pos, f - pos));
    pos = f + d.size();
    ++n;
  }
  out.emplace_back(s.substr(pos));
  return out;
}

bool prefix_test(const std::string& s, const Value& p, bool start) {
  auto one = [&](const std::string& x) {
    return x.size() <= s.size() && (start ? s.compare(0, x.size(), x) == 0
                                          : s.compare(s.size() - x.size(), x.size(), x) == 0);
  };
  if (auto* l = p.list()) {
    for (const auto& v : l->items)
      if (one(need_str(v, start ? "str.startswith" : "str.endswith"))) return true;
    return false;
  }
  return one(need_str(p, start ? "str.startswith" : "str.endswith"));
}

Value str_method(const std::string& name, const std::string& s, const CallArgs& a, Budget& b) {
  const Value none(nullptr);
  std::string what = "str." + name + "()";
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    check_args(a, 1, {"chars"}, what);
    const Value& c = arg(a, 0, "chars", none);
    std::u32string chars;
    if (!c.none()) chars = to_u32(need_str(c, what));
    return str_value(py_strip(s, name != "rstrip", name != "lstrip", c.none() ? nullptr : &chars), b);
  }
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
    check_args(a, 0, {}, what);
    return str_value(name == "upper" ? py_upper(s) : name == "lower" ? py_lower(s)
                     : name == "title" ? py_title(s) : py_capitalize(s), b);
  }
  if (name == "startswith" || name == "endswith") {
    check_args(a, 1, {}, what);
    if (a.pos.empty()) throw ValueError(what + " needs an argument");
    return prefix_test(s, a.pos[0], name == "startswith");
  }
  if (name == "split") {
    check_args(a, 2, {"sep", "maxsplit"}, what);
    const Value minus1(int64_t(-1));
    auto parts = py_split(s, arg(a, 0, "sep", none), need_int(arg(a, 1, "maxsplit", minus1), what));
    b.bytes(s.size());
    return make_list(std::move(parts));
  }
  if (name == "replace") {
    check_args(a, 3, {"count"}, what);
    if (a.pos.size() < 2) throw ValueError(what + " needs old and new");
    const Value minus1(int64_t(-1));
    return str_value(py_replace(s, need_str(a.pos[0], what), need_str(a.pos[1], what),
                                need_int(arg(a, 2, "count", minus1), what), b), b);
  }
  if (name == "join") {
    check_args(a, 1, {}, what);
    if (a.pos.empty()) throw ValueError(what + " needs an iterable");
    std::string out;
    bool first = true;
    for (const auto& v : iterate(a.pos[0])) {
      if (!first) out += s;
      first = false;
      out += need_str(v, what);
      b.bytes(s.size() + out.size() / 16);
    }
    return str_value(std::move(out), b);
  }
  throw ValueError("method str." + name + "() is not supported in this subset");
}

JsonOptions json_opts(const CallArgs& a) {
  check_args(a, 4, {"ensure_ascii", "indent", "separators", "sort_keys"}, "tojson");
  const Value f(false), none(nullptr);
  JsonOptions o;
  o.ensure_ascii = truthy(arg(a, 0, "ensure_ascii", f));
  const Value& ind = arg(a, 1, "indent", none);
  if (!ind.none()) {
    o.indent = int(std::clamp<int64_t>(need_int(ind, "tojson(indent)"), 0, 64));
  }
  if (!arg(a, 2, "separators", none).none()) throw ValueError("tojson(separators=...) is not supported");
  o.sort_keys = truthy(arg(a, 3, "sort_keys", f));
  return o;
}

}  // namespace

[[noreturn]] void undefined_error(const Value& v) {
  throw ValueError("'" + std::get<Undefined>(v.v).name + "' is undefined");
}

bool known_filter(std::string_view name) { return kFilters.count(name) > 0; }
bool known_test(std::string_view name) { return kTests.count(name) > 0; }

std::vector<Value> iterate(const Value& v) {
  if (v.undefined()) return {};
  if (auto* l = v.list()) return l->items;
  if (auto* d = v.dict()) {
    std::vector<Value> keys;
    for (const auto& kv : d->items) keys.emplace_back(kv.first);
    return keys;
  }
  if (v.is_str()) return chars_of(v.str());
  throw ValueError(std::string("'") + type_name(v) + "' object is not iterable");
}

Value get_attr(const Value& obj, const std::string& name) {
  if (obj.undefined()) undefined_error(obj);
  if (obj.is_str() && kStrMethods.count(name)) return std::make_shared<const Func>(Func{"str." + name, obj});
  if (auto* d = obj.dict()) {
    if (kDictMethods.count(name)) return std::make_shared<const Func>(Func{"dict." + name, obj});
    if (const Value* v = d->find(name)) return *v;
  }
  if (auto* n = obj.ns()) {
    for (const auto& kv : n->attrs)
      if (kv.first == name) return kv.second;
  }
  if (auto* l = obj.loop()) {
    int64_t n = int64_t(l->items->items.size()), i = l->index0;
    if (name == "index") return i + 1;
    if (name == "index0") return i;
    if (name == "revindex") return n - i;
    if (name == "revindex0") return n - i - 1;
    if (name == "first") return i == 0;
    if (name == "last") return i == n - 1;
    if (name == "length") return n;
    if (name == "depth") return int64_t(1);
    if (name == "depth0") return int64_t(0);
    if (name == "previtem" && i > 0) return l->items->items[size_t(i - 1)];
    if (name == "nextitem" && i + 1 < n) return l->items->items[size_t(i + 1)];
    if (name == "cycle") return std::make_shared<const Func>(Func{"loop.cycle", obj});
  }
  return Undefined{name};
}

Value get_item(const Value& obj, const Value& key) {
  if (obj.undefined()) undefined_error(obj);
  if (key.is_int() && (obj.list() || obj.is_str())) {
    int64_t i = key.as_int();
    if (auto* l = obj.list()) {
      int64_t n = int64_t(l->items.size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return Undefined{"[" + std::to_string(key.as_int()) + "]"};
      return l->items[size_t(i)];
    }
    std::u32string u = to_u32(obj.str());
    int64_t n = int64_t(u.size());
    if (i < 0) i += n;
    if (i < 0 || i >= n) return Undefined{"[" + std::to_string(key.as_int()) + "]"};
    std::string one;
    append_utf8(one, u[size_t(i)]);
    return one;
  }
  if (key.is_str()) {
    if (auto* d = obj.dict())
      if (const Value* v = d->find(key.str())) return *v;
    return get_attr(obj, key.str());  // jinja2 falls back to the attribute
  }
  // jinja2's getitem turns TypeError/LookupError into an undefined value (1[0], none['x'], a list by a str).
  return Undefined{"[" + repr(key) + "]"};
}

Value slice(const Value& obj, const Value* start, const Value* stop, const Value* step) {
  if (obj.undefined()) undefined_error(obj);
  std::vector<Value> items;
  const List* l = obj.list();
  if (l) items = l->items;
  else if (obj.is_str()) items = chars_of(obj.str());
  else throw ValueError(std::string("'") + type_name(obj) + "' object is not subscriptable");  // jinja2 slices raw
  int64_t n = int64_t(items.size());
  auto get = [&](const Value* v, int64_t dflt) {
    if (!v || v->none()) return dflt;
    return need_int(*v, "slice index");
  };
  int64_t st = get(step, 1);
  if (st == 0) throw ValueError("slice step cannot be zero");
  if (st == INT64_MIN) st = -INT64_MAX;
  // PySlice_AdjustIndices
  auto adjust = [&](int64_t v, bool is_start) {
    if (v < 0) {
      v = v < -n ? (st < 0 ? -1 : 0) : v + n;
    } else if (v >= n) {
      v = st < 0 ? n - 1 : n;
    }
    (void)is_start;
    return v;
  };
  int64_t a = start && !start->none() ? adjust(get(start, 0), true) : (st < 0 ? n - 1 : 0);
  int64_t z = stop && !stop->none() ? adjust(get(stop, 0), false) : (st < 0 ? -1 : n);
  std::vector<Value> out;
  for (int64_t i = a; st > 0 ? i < z : i > z; i += st) out.push_back(items[size_t(i)]);
  if (l) return make_list(std::move(out), l->tuple);
  std::string s;
  for (const auto& c : out) s += c.str();
  return s;
}

bool call_test(const std::string& name, const Value& v, const CallArgs& a) {
  const Value none(nullptr);
  static const std::set<std::string, std::less<>> one_arg = {"divisibleby", "eq", "equalto", "==", "ne", "!=", "lt",
                                                             "<", "le", "<=", "gt", ">", "ge", ">=", "in",
                                                             "lessthan", "greaterthan"};
  size_t nargs = a.pos.size() + a.kw.size();
  if (nargs != (one_arg.count(name) ? 1u : 0u))
    throw ValueError(detail::cat("test '", name, "' takes ", one_arg.count(name) ? 1 : 0, " arguments, got ", nargs));
  const Value& x = arg(a, 0, "other", none);
  if (name == "defined") return !v.undefined();
  if (name == "undefined") return v.undefined();
  if (name == "none") return v.none();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && std::get<bool>(v.v);
  if (name == "false") return v.is_bool() && !std::get<bool>(v.v);
  if (name == "integer") return v.is_int() && !v.is_bool();
  if (name == "float") return v.is_float();
  if (name == "number") return v.is_int() || v.is_float();
  if (name == "string") return v.is_str();
  if (name == "mapping") return v.dict() != nullptr;
  if (name == "iterable") return v.is_str() || v.list() || v.dict() || v.undefined();
  if (name == "sequence") return v.is_str() || v.list() || v.dict() || v.undefined();
  if (name == "callable") return v.func() != nullptr;
  if (name == "odd" || name == "even") {  // value % 2 == 1 (odd) / == 0 (even), floats included
    if (v.is_float()) {
      double m = std::fmod(std::get<double>(v.v), 2.0);
      if (m < 0) m += 2.0;
      return name == "odd" ? m == 1.0 : m == 0.0;
    }
    int64_t i = need_int(v, "test '" + name + "'");
    return ((i % 2) != 0) == (name == "odd");
  }
  if (name == "divisibleby") {
    int64_t d = need_int(x, "test 'divisibleby'");
    if (d == 0) throw ValueError("divisibleby(0): integer division or modulo by zero");
    if (d == -1) return true;
    return need_int(v, "test 'divisibleby'") % d == 0;
  }
  if (name == "eq" || name == "equalto" || name == "==") return equal(v, x);
  if (name == "ne" || name == "!=") return !equal(v, x);
  if (name == "lt" || name == "<" || name == "lessthan") return less(v, x);
  if (name == "le" || name == "<=") return !less(x, v);
  if (name == "gt" || name == ">" || name == "greaterthan") return less(x, v);
  if (name == "ge" || name == ">=") return !less(v, x);
  if (name == "in") return contains(x, v);
  throw ValueError("unknown test '" + name + "'");
}

Value call_filter(const std::string& name, const Value& t, const CallArgs& a, Budget& b) {
  const Value none(nullptr), empty{std::string()}, f(false);
  std::string what = "filter '" + name + "'";
  if (name == "default" || name == "d") {
    check_args(a, 2, {"default_value", "boolean"}, what);
    bool use = t.undefined() || (truthy(arg(a, 1, "boolean", f)) && !truthy(t));
    return use ? arg(a, 0, "default_value", empty) : t;
  }
  if (name == "tojson") {
    if (t.undefined()) throw ValueError("tojson: Object of type Undefined is not JSON serializable");
    return str_value(to_json(t, json_opts(a)), b);
  }
  if (name == "length" || name == "count") {
    check_args(a, 0, {}, what);
    if (t.undefined()) return int64_t(0);
    if (t.is_str()) return int64_t(py_len(t.str()));
    if (auto* l = t.list()) return int64_t(l->items.size());
    if (auto* d = t.dict()) return int64_t(d->items.size());
    throw ValueError(std::string("object of type '") + type_name(t) + "' has no len()");
  }
  if (name == "string" || name == "safe") {
    check_args(a, 0, {}, what);
    return str_value(to_str(t), b);
  }
  if (name == "trim" || name == "upper" || name == "lower" || name == "capitalize" || name == "title") {
    std::string s = to_str(t);
    if (name == "trim") {
      check_args(a, 1, {"chars"}, what);
      return str_method("strip", s, a, b);
    }
    check_args(a, 0, {}, what);
    return str_method(name, s, a, b);
  }
  if (name == "first" || name == "last") {
    check_args(a, 0, {}, what);
    std::vector<Value> items = iterate(t);
    if (items.empty()) return Undefined{name + "()"};
    return name == "first" ? items.front() : items.back();
  }
  if (name == "list" || name == "reverse") {
    check_args(a, 0, {}, what);
    std::vector<Value> items = iterate(t);
    if (name == "reverse") {
      std::reverse(items.begin(), items.end());
      if (t.is_str()) {
        std::string s;
        for (const auto& c : items) s += c.str();
        return str_value(std::move(s), b);
      }
    }
    return make_list(std::move(items));
  }
  if (name == "join") {
    check_args(a, 2, {"d", "attribute"}, what);
    const Value& attr = arg(a, 1, "attribute", none);
    std::string sep = to_str(arg(a, 0, "d", empty)), out;
    bool first = true;
    for (const auto& v : iterate(t)) {
      if (!first) out += sep;
      first = false;
      out += to_str(attr.none() ? v : get_item(v, attr));
      b.bytes(sep.size() + out.size() / 16);
    }
    return str_value(std::move(out), b);
  }
  if (name == "items") {
    check_args(a, 0, {}, what);
    if (t.undefined()) return make_list({});
    const Dict* d = t.dict();
    if (!d) throw ValueError(std::string("filter 'items' needs a mapping, got ") + type_name(t));
    std::vector<Value> out;
    for (const auto& kv : d->items) out.emplace_back(make_list({Value(kv.first), kv.second}, true));
    return make_list(std::move(out));
  }
  if (name == "replace") {
    check_args(a, 3, {"count"}, what);
    if (a.pos.size() < 2) throw ValueError("filter 'replace' needs old and new");
    const Value minus1(int64_t(-1));
    return str_value(py_replace(to_str(t), to_str(a.pos[0]), to_str(a.pos[1]),
                                need_int(arg(a, 2, "count", minus1), what), b), b);
  }
  if (name == "abs") {
    check_args(a, 0, {}, what);
    if (t.is_float()) return std::fabs(std::get<double>(t.v));
    int64_t i = need_int(t, what);
    if (i == INT64_MIN) throw ValueError("abs: integer overflow (64-bit integers in this subset)");
    return i < 0 ? -i : i;
  }
  if (name == "int") {
    check_args(a, 2, {"default", "base"}, what);
    const Value zero(int64_t(0));
    if (t.is_int()) return t.as_int();
    if (t.is_float() && std::isfinite(std::get<double>(t.v)) && std::fabs(std::get<double>(t.v)) < 9.2e18)
      return int64_t(std::get<double>(t.v));
    if (t.is_str()) {
      std::string s = py_strip(t.str(), true, true);
      char* end = nullptr;
      errno = 0;
      long long v = std::strtoll(s.c_str(), &end, 10);
      if (!s.empty() && end == s.c_str() + s.size() && errno == 0) return int64_t(v);
      double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && end == s.c_str() + s.size() && std::isfinite(d) && std::fabs(d) < 9.2e18) return int64_t(d);
    }
    return arg(a, 0, "default", zero);
  }
  if (name == "float") {
    check_args(a, 1, {"default"}, what);
    const Value zero(0.0);
    if (t.is_int()) return double(t.as_int());
    if (t.is_float()) return t;
    if (t.is_str()) {
      std::string s = py_strip(t.str(), true, true);
      char* end = nullptr;
      double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && end == s.c_str() + s.size()) return d;
    }
    return arg(a, 0, "default", zero);
  }
  if (name == "selectattr" || name == "rejectattr") {
    if (a.pos.empty() || !a.kw.empty()) throw ValueError(what + " takes (attribute[, test[, argument]])");
    const std::string& attr = need_str(a.pos[0], what);
    std::string test = a.pos.size() > 1 ? need_str(a.pos[1], what) : "";
    if (!test.empty() && !known_test(test)) throw ValueError(what + ": unknown test '" + test + "'");
    CallArgs targ;
    targ.pos.assign(a.pos.begin() + std::min<size_t>(2, a.pos.size()), a.pos.end());
    std::vector<Value> out;
    for (const auto& v : iterate(t)) {
      Value x = get_attr(v, attr);
      bool ok = test.empty() ? truthy(x) : call_test(test, x, targ);
      if (ok == (name == "selectattr")) out.push_back(v);
    }
    return make_list(std::move(out));
  }
  if (name == "map") {
    check_args(a, 0, {"attribute", "default"}, what);
    const Value& attr = arg(a, 99, "attribute", none);
    if (attr.none()) throw ValueError("filter 'map' supports only map(attribute='name') in this subset");
    std::vector<Value> out;
    for (const auto& v : iterate(t)) {
      Value x = get_attr(v, need_str(attr, what));
      out.push_back(x.undefined() ? arg(a, 99, "default", x) : x);
    }
    return make_list(std::move(out));
  }
  throw ValueError("unknown filter '" + name + "'");
}

Value call_func(const Func& fn, const CallArgs& a, Budget& b) {
  const std::string& n = fn.name;
  if (n == "raise_exception") {
    if (a.pos.size() != 1 || !a.kw.empty()) throw ValueError("raise_exception takes one message argument");
    throw ValueError("raise_exception: " + to_str(a.pos[0]));
  }
  if (n == "strftime_now")
    throw ValueError("strftime_now() is not supported: it makes the render depend on the clock");
  if (n == "namespace") {
    auto ns = std::make_shared<Namespace>();
    auto put = [&](const std::string& k, const Value& v) {
      if (v.ns()) throw ValueError("a namespace() cannot be stored inside a namespace in this subset");
      for (auto& kv : ns->attrs)
        if (kv.first == k) {
          kv.second = v;
          return;
        }
      ns->attrs.emplace_back(k, v);
    };
    if (a.pos.size() > 1) throw ValueError("namespace() takes at most one positional argument (a dict)");
    if (!a.pos.empty()) {
      const Dict* d = a.pos[0].dict();
      if (!d) throw ValueError(std::string("namespace() positional argument must be a dict, got ") + type_name(a.pos[0]));
      for (const auto& kv : d->items) put(kv.first, kv.second);
    }
    for (const auto& kv : a.kw) put(kv.first, kv.second);
    if (value_depth(Value(ns)) > kMaxValueDepth) throw ValueError("namespace() value nested too deep");
    return ns;
  }
  if (n == "range") {
    if (!a.kw.empty() || a.pos.empty() || a.pos.size() > 3) throw ValueError("range() takes 1 to 3 integers");
    int64_t lo = 0, hi, st = 1;
    if (a.pos.size() == 1) {
      hi = need_int(a.pos[0], "range()");
    } else {
      lo = need_int(a.pos[0], "range()");
      hi = need_int(a.pos[1], "range()");
      if (a.pos.size() == 3) st = need_int(a.pos[2], "range()");
    }
    if (st == 0) throw ValueError("range() arg 3 must not be zero");
    std::vector<Value> out;
    for (int64_t i = lo; st > 0 ? i < hi : i > hi; i += st) {
      if (out.size() >= size_t(Budget::kMaxIterations))
        throw ValueError(detail::cat("range() longer than ", Budget::kMaxIterations, " items"));
      out.emplace_back(i);
      if ((st > 0 && i > INT64_MAX - st) || (st < 0 && i < INT64_MIN - st)) break;
    }
    b.bytes(out.size() * sizeof(Value));
    return make_list(std::move(out));
  }
  if (n == "loop.cycle") {
    if (a.pos.empty() || !a.kw.empty()) throw ValueError("loop.cycle() needs at least one positional argument");
    return a.pos[size_t(fn.self.loop()->index0 % int64_t(a.pos.size()))];
  }
  if (n.rfind("str.", 0) == 0) return str_method(n.substr(4), fn.self.str(), a, b);
  if (n.rfind("dict.", 0) == 0) {
    const Dict* d = fn.self.dict();
    std::string m = n.substr(5);
    if (m == "get") {
      if (a.pos.empty() || a.pos.size() > 2 || !a.kw.empty()) throw ValueError("dict.get() takes key[, default]");
      const Value* v = a.pos[0].is_str() ? d->find(a.pos[0].str()) : nullptr;
      return v ? *v : a.pos.size() > 1 ? a.pos[1] : Value(nullptr);
    }
    if (!a.pos.empty() || !a.kw.empty()) throw ValueError("dict." + m + "() takes no arguments");
    std::vector<Value> out;
    for (const auto& kv : d->items)
      out.push_back(m == "keys" ? Value(kv.first) : m == "values" ? kv.second
                                                                   : Value(make_list({Value(kv.first), kv.second}, true)));
    return make_list(std::move(out));
  }
  throw ValueError("'" + n + "' is not callable");
}

}  // namespace tl::tok::jinja
