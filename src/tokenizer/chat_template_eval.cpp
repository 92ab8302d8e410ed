// The chat-template renderer: walks the AST with jinja2's scoping (a for-loop body gets a fresh scope each
// iteration, so {% set %} inside a loop does not leak out of it or into the next iteration; namespace()
// attributes do) and Python operator semantics (64-bit integers: overflow is an error, not a bignum).
#include <cmath>

#include "chat_template_internal.h"
#include "internal.h"

namespace tl::tok::jinja {
namespace {

struct RenderError : ValueError {
  using ValueError::ValueError;
};

enum class Flow { Normal, Break, Continue };

class Renderer {
 public:
  explicit Renderer(const Source& src) : src_(src) {}

  std::string run(const std::vector<std::unique_ptr<Stmt>>& body,
                  const std::vector<std::pair<std::string, Value>>& vars) {
    scopes_.emplace_back();
    for (const char* g : {"raise_exception", "namespace", "range", "strftime_now"})
      scopes_.back().emplace_back(g, Value(std::make_shared<const Func>(Func{g, Value()})));
    scopes_.emplace_back(vars);
    scopes_.emplace_back();  // the template's own top-level assignments
    std::string out;
    try {
      exec_body(body, out);
    } catch (const RenderError&) {
      throw;
    } catch (const ValueError& e) {
      throw RenderError(src_.where(pos_) + ": " + e.what());
    }
    return out;
  }

 private:
  using Scope = std::vector<std::pair<std::string, Value>>;
  const Source& src_;
  std::vector<Scope> scopes_;
  Budget budget_;
  size_t pos_ = 0;  // the node being evaluated, for error messages

  const Value* lookup(const std::string& name) const {
    for (auto s = scopes_.rbegin(); s != scopes_.rend(); ++s)
      for (auto it = s->rbegin(); it != s->rend(); ++it)
        if (it->first == name) return &it->second;
    return nullptr;
  }
  void assign(const std::string& name, Value v) {
    for (auto& kv : scopes_.back())
      if (kv.first == name) {
        kv.second = std::move(v);
        return;
      }
    scopes_.back().emplace_back(name, std::move(v));
  }
  void assign_targets(const std::vector<std::string>& targets, const Value& v) {
    if (targets.size() == 1) {
      assign(targets[0], v);
      return;
    }
    std::vector<Value> items = iterate(v);
    if (items.size() != targets.size())
      throw ValueError(detail::cat("cannot unpack ", items.size(), " values into ", targets.size(), " names"));
    for (size_t i = 0; i < items.size(); ++i) assign(targets[i], items[i]);
  }

  void emit(std::string& out, std::string_view s) {
    out += s;
    if (int64_t(out.size()) > Budget::kMaxOutput)
      throw ValueError(detail::cat("render output exceeded ", Budget::kMaxOutput >> 20, " MiB"));
  }

  Flow exec_body(const std::vector<std::unique_ptr<Stmt>>& body, std::string& out) {
    for (const auto& s : body) {
      Flow f = exec(*s, out);
      if (f != Flow::Normal) return f;
    }
    return Flow::Normal;
  }

  Flow exec(const Stmt& s, std::string& out) {
    budget_.step();
    pos_ = s.pos;
    switch (s.kind) {
      case SK::Text: emit(out, s.text); return Flow::Normal;
      case SK::Output: {
        Value v = eval(*s.expr);
        if (v.func()) throw ValueError("cannot print the function '" + v.func()->name + "'");
        emit(out, to_str(v));
        return Flow::Normal;
      }
      case SK::If:
        for (const auto& [cond, body] : s.branches)
          if (truthy(eval(*cond))) return exec_body(body, out);
        return exec_body(s.else_body, out);
      case SK::For: return exec_for(s, out);
      case SK::Set: assign_targets(s.targets, eval(*s.expr)); return Flow::Normal;
      case SK::SetNs: {
        const Value* target = lookup(s.targets[0]);
        Namespace* ns = target ? target->ns() : nullptr;
        if (!ns) throw ValueError("cannot assign attribute '" + s.targets[1] + "' on '" + s.targets[0] + "': not a namespace()");
        Value v = eval(*s.expr);
        if (v.ns()) throw ValueError("a namespace() cannot be stored inside a namespace in this subset");
        if (value_depth(v) + 1 > kMaxValueDepth) throw ValueError("value nested too deep for a namespace attribute");
        for (auto& kv : ns->attrs)
          if (kv.first == s.targets[1]) {
            kv.second = std::move(v);
            return Flow::Normal;
          }
        ns->attrs.emplace_back(s.targets[1], std::move(v));
        return Flow::Normal;
      }
      case SK::SetBlock: {
        std::string text;
        Flow f = exec_body(s.body, text);
        Value v(std::move(text));
        for (const auto& fe : s.filters) v = apply_filter(*fe, v);
        pos_ = s.pos;
        assign(s.targets[0], std::move(v));
        return f;
      }
      case SK::Break: return Flow::Break;
      case SK::Continue: return Flow::Continue;
      case SK::Body: return exec_body(s.body, out);
    }
    return Flow::Normal;
  }

  Flow exec_for(const Stmt& s, std::string& out) {
    Value seq = eval(*s.expr);
    budget_.bytes(size_t(shallow_size(seq)));
    std::vector<Value> items = iterate(seq);
    if (s.cond) {  // {% for x in xs if cond %}: filtered before the loop, so loop.length counts what is kept
      std::vector<Value> kept;
      for (const auto& it : items) {
        budget_.iteration();
        scopes_.emplace_back();
        assign_targets(s.targets, it);
        bool ok = truthy(eval(*s.cond));
        scopes_.pop_back();
        if (ok) kept.push_back(it);
      }
      items = std::move(kept);
    }
    auto all = make_list(std::move(items));
    for (size_t i = 0; i < all->items.size(); ++i) {
      budget_.iteration();
      scopes_.emplace_back();
      assign("loop", Value(std::make_shared<const Loop>(Loop{all, int64_t(i)})));
      assign_targets(s.targets, all->items[i]);
      Flow f = exec_body(s.body, out);
      scopes_.pop_back();
      if (f == Flow::Break) break;
    }
    if (all->items.empty()) return exec_body(s.else_body, out);
    return Flow::Normal;
  }

  CallArgs eval_args(const Expr& e, size_t first) {
    CallArgs a;
    size_t nkw = e.kwnames.size(), npos = e.args.size() - nkw;
    for (size_t i = first; i < npos; ++i) a.pos.push_back(eval(*e.args[i]));
    for (size_t i = 0; i < nkw; ++i) a.kw.emplace_back(e.kwnames[i], eval(*e.args[npos + i]));
    return a;
  }

  Value apply_filter(const Expr& e, const Value& target) {
    CallArgs a = eval_args(e, 1);
    pos_ = e.pos;
    // One pass over the value (length of a str, join, first...); filters that walk the whole tree pay for it.
    bool deep = e.name == "selectattr" || e.name == "rejectattr" || e.name == "tojson" || e.name == "string" ||
                e.name == "join" || e.name == "map";
    budget_.bytes(size_t(deep ? value_weight(target) : shallow_size(target)));
    for (const auto& x : a.pos) budget_.bytes(size_t(value_weight(x)));
    return call_filter(e.name, target, a, budget_);
  }

  static void need_defined(const Value& v) {
    if (v.undefined()) undefined_error(v);
  }

  Value arith(EK k, const Value& a, const Value& b) {
    need_defined(a);
    need_defined(b);
    const char* sym = k == EK::Add ? "+" : k == EK::Sub ? "-" : k == EK::Mul ? "*" : k == EK::Div ? "/"
                      : k == EK::FloorDiv ? "//" : k == EK::Mod ? "%" : "**";
    auto type_err = [&]() -> Value {
      throw ValueError(std::string("unsupported operand type(s) for ") + sym + ": '" + type_name(a) + "' and '" +
                       type_name(b) + "'");
    };
    auto overflow = [&]() -> Value {
      throw ValueError(std::string("integer overflow in '") + sym + "' (64-bit integers in this subset)");
    };
    if (k == EK::Add) {
      if (a.is_str() && b.is_str()) {
        budget_.bytes(a.str().size() + b.str().size());
        return a.str() + b.str();
      }
      if (a.list() && b.list() && a.list()->tuple == b.list()->tuple) {
        std::vector<Value> v = a.list()->items;
        v.insert(v.end(), b.list()->items.begin(), b.list()->items.end());
        budget_.bytes(v.size() * sizeof(Value));
        return make_list(std::move(v), a.list()->tuple);
      }
    }
    if (k == EK::Mul && (((a.is_str() || a.list()) && b.is_int()) || ((b.is_str() || b.list()) && a.is_int()))) {
      const Value& seq = a.is_int() ? b : a;
      int64_t n = std::max<int64_t>(0, (a.is_int() ? a : b).as_int());
      size_t unit = seq.is_str() ? seq.str().size() : seq.list()->items.size() * sizeof(Value);
      if (unit && n > Budget::kMaxWork / int64_t(unit)) throw ValueError("sequence repetition too large");
      budget_.bytes(unit * size_t(n));
      if (seq.is_str()) {
        std::string r;
        for (int64_t i = 0; i < n; ++i) r += seq.str();
        return r;
      }
      std::vector<Value> v;
      for (int64_t i = 0; i < n; ++i) v.insert(v.end(), seq.list()->items.begin(), seq.list()->items.end());
      return make_list(std::move(v), seq.list()->tuple);
    }
    if (k == EK::Mod && a.is_str()) throw ValueError("string % formatting is not supported in this subset");
    bool an = a.is_int() || a.is_float(), bn = b.is_int() || b.is_float();
    if (!an || !bn) return type_err();
    if (!a.is_float() && !b.is_float() && k != EK::Div) {
      int64_t x = a.as_int(), y = b.as_int(), r = 0;
      switch (k) {
        case EK::Add: if (__builtin_add_overflow(x, y, &r)) return overflow(); return r;
        case EK::Sub: if (__builtin_sub_overflow(x, y, &r)) return overflow(); return r;
        case EK::Mul: if (__builtin_mul_overflow(x, y, &r)) return overflow(); return r;
        case EK::FloorDiv:
        case EK::Mod: {
          if (y == 0) throw ValueError("integer division or modulo by zero");
          if (x == INT64_MIN && y == -1) return k == EK::Mod ? Value(int64_t(0)) : overflow();
          int64_t q = x / y, m = x % y;
          if (m != 0 && ((m < 0) != (y < 0))) {
            --q;
            m += y;
          }
          return k == EK::Mod ? m : q;
        }
        case EK::Pow: {
          if (y < 0) return std::pow(double(x), double(y));
          r = 1;
          for (int64_t base = x, e = y; e > 0; e >>= 1) {
            if ((e & 1) && __builtin_mul_overflow(r, base, &r)) return overflow();
            if (e > 1 && __builtin_mul_overflow(base, base, &base)) return overflow();
          }
          return r;
        }
        default: break;
      }
    }
    double x = a.is_float() ? std::get<double>(a.v) : double(a.as_int());
    double y = b.is_float() ? std::get<double>(b.v) : double(b.as_int());
    switch (k) {
      case EK::Add: return x + y;
      case EK::Sub: return x - y;
      case EK::Mul: return x * y;
      case EK::Div:
        if (y == 0) throw ValueError("division by zero");
        return x / y;
      case EK::FloorDiv:
        if (y == 0) throw ValueError("float floor division by zero");
        return std::floor(x / y);
      case EK::Mod: {
        if (y == 0) throw ValueError("float modulo by zero");
        double m = std::fmod(x, y);
        if (m != 0 && ((m < 0) != (y < 0))) m += y;
        return m;
      }
      case EK::Pow: {
        double r = std::pow(x, y);
        if (std::isnan(r) && !std::isnan(x) && !std::isnan(y)) throw ValueError("pow(): result is not a real number");
        return r;
      }
      default: return type_err();
    }
  }

  bool compare(const std::string& op, const Value& a, const Value& b) {
    budget_.bytes(size_t(value_weight(a) + value_weight(b)));  // deep equality / `in` may touch everything
    if (op == "==") return equal(a, b);
    if (op == "!=") return !equal(a, b);
    if (op == "in") return contains(b, a);
    if (op == "not in") return !contains(b, a);
    need_defined(a);
    need_defined(b);
    if (op == "<") return less(a, b);
    if (op == ">") return less(b, a);
    if (op == "<=") return !less(b, a);
    return !less(a, b);  // >=
  }

  Value eval(const Expr& e) {
    budget_.step();
    switch (e.kind) {
      case EK::Literal: return e.literal;
      case EK::Name: {
        const Value* v = lookup(e.name);
        return v ? *v : Value(Undefined{e.name});
      }
      case EK::List:
      case EK::Tuple: {
        std::vector<Value> items;
        for (const auto& a : e.args) items.push_back(eval(*a));
        pos_ = e.pos;
        return make_list(std::move(items), e.kind == EK::Tuple);
      }
      case EK::Dict: {
        std::vector<std::pair<std::string, Value>> items;
        for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
          Value k = eval(*e.args[i]);
          if (!k.is_str()) {
            pos_ = e.args[i]->pos;
            throw ValueError(std::string("dict keys must be strings in this subset, got ") + type_name(k));
          }
          items.emplace_back(k.str(), eval(*e.args[i + 1]));
        }
        pos_ = e.pos;
        return make_dict(std::move(items));
      }
      case EK::GetAttr: {
        Value o = eval(*e.args[0]);
        pos_ = e.pos;
        return get_attr(o, e.name);
      }
      case EK::GetItem: {
        Value o = eval(*e.args[0]);
        Value k = eval(*e.args[1]);
        pos_ = e.pos;
        if (o.is_str()) budget_.bytes(o.str().size());  // code-point indexing decodes the string
        return get_item(o, k);
      }
      case EK::Slice: {
        Value o = eval(*e.args[0]);
        Value parts[3];
        for (int i = 0; i < 3; ++i)
          if (e.has[i]) parts[i] = eval(*e.args[size_t(i) + 1]);
        pos_ = e.pos;
        budget_.bytes(size_t(shallow_size(o)));
        return slice(o, e.has[0] ? &parts[0] : nullptr, e.has[1] ? &parts[1] : nullptr,
                     e.has[2] ? &parts[2] : nullptr);
      }
      case EK::Call: {
        Value f = eval(*e.args[0]);
        CallArgs a = eval_args(e, 1);
        pos_ = e.pos;
        if (f.undefined()) undefined_error(f);
        if (!f.func()) throw ValueError(std::string("'") + type_name(f) + "' object is not callable");
        budget_.bytes(size_t(shallow_size(f.func()->self)));
        for (const auto& x : a.pos) budget_.bytes(size_t(shallow_size(x)));
        return call_func(*f.func(), a, budget_);
      }
      case EK::Filter: return apply_filter(e, eval(*e.args[0]));
      case EK::Test: {
        Value v = eval(*e.args[0]);
        CallArgs a = eval_args(e, 1);
        pos_ = e.pos;
        for (const auto& x : a.pos) budget_.bytes(size_t(value_weight(x) + value_weight(v)));
        return call_test(e.name, v, a) != e.negated;
      }
      case EK::Neg:
      case EK::Pos: {
        Value v = eval(*e.args[0]);
        pos_ = e.pos;
        need_defined(v);
        if (v.is_float()) return e.kind == EK::Neg ? -std::get<double>(v.v) : std::get<double>(v.v);
        if (!v.is_int()) throw ValueError(std::string("bad operand type for unary ") + (e.kind == EK::Neg ? "-" : "+") +
                                          ": '" + type_name(v) + "'");
        if (e.kind == EK::Pos) return v.as_int();
        if (v.as_int() == INT64_MIN) throw ValueError("integer overflow in unary '-'");
        return -v.as_int();
      }
      case EK::Not: return !truthy(eval(*e.args[0]));
      case EK::And: {
        Value a = eval(*e.args[0]);
        return truthy(a) ? eval(*e.args[1]) : a;
      }
      case EK::Or: {
        Value a = eval(*e.args[0]);
        return truthy(a) ? a : eval(*e.args[1]);
      }
      case EK::Concat: {
        Value a = eval(*e.args[0]);
        Value b = eval(*e.args[1]);
        pos_ = e.pos;
        if (a.func() || b.func()) throw ValueError("cannot convert a function to a string");
        auto part = [](const Value& v) { return v.is_str() ? v.str() : to_str(v); };
        // Charged before converting: a list or namespace holding the previous result prints twice its size, so
        // a loop of `s.v = s.v ~ s` doubles the work per pass (seen by the fuzzer: 10 s for one template).
        budget_.bytes(size_t(print_weight(a) + print_weight(b)));
        std::string r = a.is_str() ? std::string(a.str()) : to_str(a);
        if (b.is_str()) r += b.str();
        else r += part(b);
        budget_.bytes(r.size());
        return r;
      }
      case EK::Compare: {
        Value left = eval(*e.args[0]);
        for (size_t i = 0; i < e.cmp_ops.size(); ++i) {
          Value right = eval(*e.args[i + 1]);
          pos_ = e.pos;
          if (!compare(e.cmp_ops[i], left, right)) return false;
          left = std::move(right);
        }
        return true;
      }
      case EK::Cond: {
        if (truthy(eval(*e.args[0]))) return eval(*e.args[1]);
        if (e.args[2]) return eval(*e.args[2]);
        return Undefined{"(if without else)"};
      }
      default: {
        Value a = eval(*e.args[0]);
        Value b = eval(*e.args[1]);
        pos_ = e.pos;
        return arith(e.kind, a, b);
      }
    }
  }
};

}  // namespace
}  // namespace tl::tok::jinja

namespace tl::tok {

std::string render_template(const ChatTemplate::Impl& t, const std::vector<std::pair<std::string, jinja::Value>>& vars) {
  return jinja::Renderer(t.src).run(t.body, vars);
}

}  // namespace tl::tok
