// Op calls and tensor constants in .tl equations: `O[b, h, s, d] = attention(Q, K, V, causal=true,
// scale=0.125)` calls a registered graph op (include/tl/ops.h) on whole tensors, its keyword arguments
// converted to the op's typed attributes by the op's own attribute codec; `const C: f32[2] = [1, 2]` declares
// a tensor constant. Every problem is a ParseError naming line:column, the op, the attribute, the expected
// and the actual.
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <set>

#include "equations.h"
#include "tl/error.h"
#include "tl/ops.h"

namespace tl::logic {

namespace {

// What the equation language itself means by these names (src/logic/equations.cpp, call()).
const std::set<std::string>& equation_functions() {
  static const std::set<std::string> f = {"relu",  "sigmoid", "tanh",      "exp",        "log",      "sqrt",
                                          "rsqrt", "abs",     "neg",       "gelu",       "gelu_erf", "gelu_tanh",
                                          "silu",  "step",    "softmax",   "layer_norm", "rms_norm", "lnorm",
                                          "max",   "min",     "pow"};
  return f;
}

// Attributes an op call must spell out: their defaults would be arbitrary (an empty shape, scale 1, ...).
const std::map<std::string, std::vector<std::string>>& required_attrs() {
  static const std::map<std::string, std::vector<std::string>> r = {
      {"einsum", {"spec"}},
      {"cast", {"to"}},
      {"reshape", {"shape"}},
      {"transpose", {"perm"}},
      {"slice", {"axis", "start", "stop"}},
      {"concat", {"axis"}},
      {"gather", {"axis"}},
      {"repeat", {"repeats", "axis"}},
      {"layer_norm", {"eps"}},
      {"rms_norm", {"eps"}},
      {"attention", {"scale"}},
      {"scaled_masked_softmax", {"scale"}},
      {"moe", {"top_k"}},
      {"linear", {"format", "in"}},
      {"linear_group", {"format", "in"}},
  };
  return r;
}

// Attributes an op call may give that the op's default form leaves out (absent means this default).
const std::map<std::string, json::Object>& optional_attrs() {
  static const std::map<std::string, json::Object> o = [] {
    std::map<std::string, json::Object> m;
    m["linear"].insert("act", json::Value("none"));  // the epilogue activation (LinearAttrs::act)
    return m;
  }();
  return o;
}

bool is_float_text(const std::string& t) {
  return t.find_first_of(".eE") != std::string::npos || t.find("inf") != std::string::npos ||
         t.find("nan") != std::string::npos;
}

double to_double(const std::string& t) {
  if (t == "inf") return std::numeric_limits<double>::infinity();
  if (t == "-inf") return -std::numeric_limits<double>::infinity();
  if (t == "nan" || t == "-nan") return std::numeric_limits<double>::quiet_NaN();
  return std::strtod(t.c_str(), nullptr);
}

const char* json_kind(const json::Value& v) {
  if (v.is_bool()) return "true or false";
  if (v.is_int()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a name or \"string\"";
  if (v.is_array()) return "a list of integers";
  return "a value";
}

std::string shown(const KwValue& v) {
  switch (v.kind) {
    case KwValue::boolean:
      return v.flag ? "true" : "false";
    case KwValue::string:
      return "\"" + v.text + "\"";
    case KwValue::list: {
      std::string s = "[";
      for (size_t i = 0; i < v.items.size(); ++i) s += (i ? ", " : "") + v.items[i];
      return s + "]";
    }
    default:
      return v.text;
  }
}

json::Value kw_to_json(const KwValue& v, const std::string& at, const std::string& what) {
  auto integer = [&](const std::string& t) -> json::Value {
    if (is_float_text(t)) return json::Value(to_double(t));
    errno = 0;
    long long x = std::strtoll(t.c_str(), nullptr, 10);
    if (errno != 0) TL_THROW(ParseError, at, what, " = ", t, " is out of the 64-bit integer range");
    return json::Value(int64_t(x));
  };
  switch (v.kind) {
    case KwValue::boolean:
      return json::Value(v.flag);
    case KwValue::string:
      return json::Value(v.text);
    case KwValue::list: {
      json::Array a;
      for (const auto& t : v.items) a.push_back(integer(t));
      return json::Value(std::move(a));
    }
    default:
      return integer(v.text);
  }
}

}  // namespace

bool is_equation_function(const std::string& name) {
  return equation_functions().count(name) > 0;
}

bool is_registered_op(const std::string& name) {
  return name != "input" && name != "param" && name != "constant" && op_by_name(name).has_value();
}

OpCall resolve_op_call(const Expr& call, const std::string& source) {
  const std::string at = where(source, call.loc);
  const std::string& op = call.name;
  if (op == "input" || op == "param" || op == "constant")
    TL_THROW(ParseError, at, "'", op, "' is not callable: declare it (input X: f32[...], param W[...], const C: ",
             "f32[...] = [...])");
  auto found = op_by_name(op);
  if (!found) {
    std::string families;
    for (int k = 0; k < kNumOpKinds; ++k) {
      const char* f = op_def(OpKind(k)).family;
      if (families.find(f) == std::string::npos) families += std::string(families.empty() ? "" : ", ") + f;
    }
    TL_THROW(ParseError, at, "unknown op '", op, "' in an op call (op families: ", families,
             "; unary/binary/reduce ops go by their own names: relu, add, reduce_sum, ...)");
  }
  const OpDef& def = *found->first;
  // Start from the op's defaults, so a call spells out only what differs.
  json::Object attrs = def.attrs_to_json(found->second);
  if (auto o = optional_attrs().find(op); o != optional_attrs().end())
    for (const json::Member& m : o->second)
      if (!attrs.contains(m.key)) attrs.insert(m.key, m.value);
  std::set<std::string> given;
  for (const KwArg& k : call.kwargs) {
    const std::string kat = where(source, k.loc);
    if (!given.insert(k.name).second)
      TL_THROW(ParseError, kat, "op '", op, "': attribute '", k.name, "' given twice");
    json::Value* slot = attrs.find(k.name);
    if (!slot) {
      std::string known;
      for (const json::Member& m : attrs) known += (known.empty() ? "" : ", ") + m.key;
      TL_THROW(ParseError, kat, "op '", op, "': unknown attribute '", k.name, "' (expected one of: ",
               known.empty() ? "none, the op has no attributes" : known, ")");
    }
    json::Value v = kw_to_json(k.value, kat, "op '" + op + "': attribute '" + k.name + "'");
    // Type check against the default's kind (integers are numbers too).
    bool ok = slot->is_bool()     ? v.is_bool()
              : slot->is_int()    ? v.is_int()
              : slot->is_number() ? v.is_number()
              : slot->is_string() ? v.is_string()
              : slot->is_array()  ? v.is_array()
                                  : true;
    if (!ok)
      TL_THROW(ParseError, kat, "op '", op, "': attribute '", k.name, "' must be ", json_kind(*slot), ", got ",
               shown(k.value));
    *slot = std::move(v);
  }
  if (auto r = required_attrs().find(op); r != required_attrs().end())
    for (const std::string& key : r->second)
      if (!given.count(key))
        TL_THROW(ParseError, at, "op '", op, "': missing attribute '", key, "' (", json_kind(*attrs.find(key)),
                 ", e.g. ", key, "=", json::dump(*attrs.find(key)), ")");
  try {
    return OpCall{def.kind, def.attrs_from_json(found->second, attrs, ValueType{})};
  } catch (const ValueError& e) {
    TL_THROW(ParseError, at, "op '", op, "': ", e.what());
  }
}

Tensor const_tensor(const ConstDecl& c, const std::string& source) {
  const std::string at = where(source, c.loc);
  DType dt = dtype_from_name(c.dtype == "bool" ? "bool" : c.dtype);
  Shape shape(c.shape.begin(), c.shape.end());
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d > 0 && n > (int64_t(1) << 40) / d)
      TL_THROW(ParseError, at, "const '", c.name, "': shape ", shape_str(shape), " is too large");
    n *= d;
  }
  if (int64_t(c.values.size()) != n)
    TL_THROW(ParseError, at, "const '", c.name, "': shape ", shape_str(shape), " needs ", n, " values, got ",
             c.values.size());
  Tensor t = Tensor::zeros(shape, dt == DType::f16 || dt == DType::bf16 ? DType::f32 : dt);
  for (int64_t i = 0; i < n; ++i) {
    const KwValue& v = c.values[size_t(i)];
    const std::string vat = where(source, v.loc);
    switch (t.dtype()) {
      case DType::boolean:
        if (v.kind != KwValue::boolean)
          TL_THROW(ParseError, vat, "const '", c.name, "' (bool): value ", i, " must be true or false, got ", shown(v));
        t.data<bool>()[i] = v.flag;
        break;
      case DType::i32:
      case DType::i64:
      case DType::u8: {
        if (v.kind != KwValue::number || is_float_text(v.text))
          TL_THROW(ParseError, vat, "const '", c.name, "' (", c.dtype, "): value ", i, " must be an integer, got ",
                   shown(v));
        errno = 0;
        long long x = std::strtoll(v.text.c_str(), nullptr, 10);
        bool fits = errno == 0 && (t.dtype() == DType::i64 ||
                                   (t.dtype() == DType::u8 && x >= 0 && x <= 255) ||
                                   (t.dtype() == DType::i32 && x >= std::numeric_limits<int32_t>::min() &&
                                    x <= std::numeric_limits<int32_t>::max()));
        if (!fits) TL_THROW(ParseError, vat, "const '", c.name, "' (", c.dtype, "): value ", v.text, " is out of range");
        if (t.dtype() == DType::i64)
          t.data<int64_t>()[i] = x;
        else if (t.dtype() == DType::u8)
          t.data<uint8_t>()[i] = uint8_t(x);
        else
          t.data<int32_t>()[i] = int32_t(x);
        break;
      }
      default:
        if (v.kind != KwValue::number)
          TL_THROW(ParseError, vat, "const '", c.name, "' (", c.dtype, "): value ", i, " must be a number, got ",
                   shown(v));
        t.data<float>()[i] = float(to_double(v.text));
    }
  }
  return t.dtype() == dt ? t : t.to(dt);
}

}  // namespace tl::logic
