// Sources: graph inputs, parameters (bound by name at run time) and constants (a tensor held in the graph).
#include <cmath>
#include <cstring>

#include "ir/op_util.h"

namespace tl::ir {

namespace {

template <OpKind K, class A>
OpDef source_def(const char* name) {
  OpDef d{};
  d.kind = K;
  d.attrs_index = attrs_index_of<A>();
  d.family = name;
  d.min_inputs = d.max_inputs = 0;
  d.op_name = [](const Attrs&) { return std::string(K == OpKind::input ? "input" : "param"); };
  d.attrs_for_name = [](std::string_view n) -> std::optional<Attrs> {
    if (n == (K == OpKind::input ? "input" : "param")) return Attrs(A{});
    return std::nullopt;
  };
  d.infer = nullptr;  // the declared type is the type
  d.attrs_to_json = [](const Attrs&) { return json::Object(); };
  d.attrs_from_json = [](Attrs base, const json::Object& o, const ValueType&) {
    AttrReader(o, K == OpKind::input ? "input" : "param").done();
    return base;
  };
  return d;
}

// Constants up to this many elements print as a readable list of numbers; larger ones (and floats that are
// not finite, whose NaN payloads must survive) print as hex of the little-endian bytes.
constexpr int64_t kMaxListElements = 64;

bool list_encodable(const Tensor& t) {
  if (t.numel() > kMaxListElements) return false;
  if (!is_float(t.dtype())) return true;
  for (float f : t.to_f32_vector())
    if (!std::isfinite(f)) return false;
  return true;
}

json::Object constant_to_json(const Attrs& a) {
  const Tensor& t = get<ConstantAttrs>(a).value;
  json::Object o;
  if (list_encodable(t)) {
    json::Array vals;
    switch (t.dtype()) {
      case DType::f32:
      case DType::f16:
      case DType::bf16:
        for (float f : t.to_f32_vector()) vals.push_back(float_to_json(f));
        break;
      case DType::i32:
        for (int64_t i = 0; i < t.numel(); ++i) vals.push_back(json::Value(int64_t(t.data<int32_t>()[i])));
        break;
      case DType::i64:
        for (int64_t i = 0; i < t.numel(); ++i) vals.push_back(json::Value(t.data<int64_t>()[i]));
        break;
      case DType::boolean:
        for (int64_t i = 0; i < t.numel(); ++i) vals.push_back(json::Value(t.data<bool>()[i]));
        break;
      case DType::u8:
        for (int64_t i = 0; i < t.numel(); ++i) vals.push_back(json::Value(int64_t(t.data<uint8_t>()[i])));
        break;
    }
    o.insert("values", json::Value(std::move(vals)));
  } else {
    static const char* hex = "0123456789abcdef";
    std::string s;
    const auto* p = static_cast<const uint8_t*>(t.raw_data());
    s.reserve(t.nbytes() * 2);
    for (size_t i = 0; i < t.nbytes(); ++i) {
      s += hex[p[i] >> 4];
      s += hex[p[i] & 15];
    }
    o.insert("hex", json::Value(std::move(s)));
  }
  return o;
}

Attrs constant_from_json(Attrs, const json::Object& o, const ValueType& out) {
  AttrReader r(o, "constant");
  if (r.has("values") == r.has("hex")) TL_THROW(ValueError, "[constant] needs exactly one of the attributes 'values' or 'hex'");
  // Check the data's size against the declared type before allocating (a hostile file may declare a huge one).
  int64_t numel = 0;
  try {
    numel = shape_numel(out.shape);
  } catch (const Error& e) {
    TL_THROW(ValueError, "[constant] bad type ", type_str(out), ": ", e.what());
  }
  const size_t want_digits = size_t(numel) * dtype_size(out.dtype) * 2;
  if (r.has("hex") && r.str("hex").size() != want_digits)
    TL_THROW(ValueError, "[constant] attribute 'hex' has ", r.str("hex").size(), " hex digits, expected ", want_digits,
             " for ", type_str(out));
  if (r.has("values") && r.get("values").is_array() && int64_t(r.get("values").as_array().size()) != numel)
    TL_THROW(ValueError, "[constant] attribute 'values' has ", r.get("values").as_array().size(), " entries, expected ",
             numel, " for ", type_str(out));
  Tensor t = Tensor::zeros(out.shape, out.dtype);
  if (r.has("hex")) {
    const std::string& s = r.str("hex");
    auto nib = [&](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      TL_THROW(ValueError, "[constant] attribute 'hex' contains '", c, "', expected a hex digit");
    };
    auto* p = static_cast<uint8_t*>(t.raw_data());
    for (size_t i = 0; i < t.nbytes(); ++i) p[i] = uint8_t(nib(s[2 * i]) << 4 | nib(s[2 * i + 1]));
  } else {
    const json::Value& v = r.get("values");
    if (!v.is_array()) r.bad("values", "an array", v);
    const json::Array& a = v.as_array();
    if (int64_t(a.size()) != t.numel())
      TL_THROW(ValueError, "[constant] attribute 'values' has ", a.size(), " entries, expected ", t.numel(), " for ",
               type_str(out));
    for (size_t i = 0; i < a.size(); ++i) {
      const json::Value& e = a[i];
      switch (out.dtype) {
        case DType::f32:
        case DType::f16:
        case DType::bf16: {
          if (!e.is_number()) r.bad("values", "an array of numbers", e);
          float f = float(e.as_double());
          if (out.dtype == DType::f32)
            t.data<float>()[i] = f;
          else if (out.dtype == DType::f16)
            t.data_u16()[i] = f32_to_f16(f);
          else
            t.data_u16()[i] = f32_to_bf16(f);
          break;
        }
        case DType::i32: {
          if (!e.is_int() || e.as_int() < INT32_MIN || e.as_int() > INT32_MAX)
            r.bad("values", "an array of 32-bit integers", e);
          t.data<int32_t>()[i] = int32_t(e.as_int());
          break;
        }
        case DType::i64:
          if (!e.is_int()) r.bad("values", "an array of integers", e);
          t.data<int64_t>()[i] = e.as_int();
          break;
        case DType::boolean:
          if (!e.is_bool()) r.bad("values", "an array of true/false", e);
          t.data<bool>()[i] = e.as_bool();
          break;
        case DType::u8:
          if (!e.is_int() || e.as_int() < 0 || e.as_int() > 255) r.bad("values", "an array of integers 0..255", e);
          t.data<uint8_t>()[i] = uint8_t(e.as_int());
          break;
      }
    }
  }
  r.done();
  return ConstantAttrs{t};
}

}  // namespace

const OpDef& input_op() {
  static const OpDef d = source_def<OpKind::input, InputAttrs>("input");
  return d;
}
const OpDef& param_op() {
  static const OpDef d = source_def<OpKind::param, ParamAttrs>("param");
  return d;
}

const OpDef& constant_op() {
  static const OpDef d = [] {
    OpDef d{};
    d.kind = OpKind::constant;
    d.attrs_index = attrs_index_of<ConstantAttrs>();
    d.family = "constant";
    d.min_inputs = d.max_inputs = 0;
    d.op_name = [](const Attrs&) { return std::string("constant"); };
    d.attrs_for_name = [](std::string_view n) -> std::optional<Attrs> {
      if (n == "constant") return Attrs(ConstantAttrs{});
      return std::nullopt;
    };
    d.infer = [](const Attrs& a, std::span<const ValueType>) {
      const Tensor& t = get<ConstantAttrs>(a).value;
      if (t.rank() == 0 && t.numel() == 0) TL_THROW(ValueError, "[constant] has no value");
      return ValueType{t.dtype(), t.shape()};
    };
    d.attrs_to_json = constant_to_json;
    d.attrs_from_json = constant_from_json;
    return d;
  }();
  return d;
}

}  // namespace tl::ir

namespace tl {
bool ConstantAttrs::operator==(const ConstantAttrs& o) const {
  // A default-constructed Tensor (no value) has rank 0 and no elements.
  bool a_none = value.rank() == 0 && value.numel() == 0, b_none = o.value.rank() == 0 && o.value.numel() == 0;
  if (a_none || b_none) return a_none == b_none;
  if (value.dtype() != o.value.dtype() || value.shape() != o.value.shape()) return false;
  Tensor a = value.contiguous(), b = o.value.contiguous();
  return a.nbytes() == 0 || std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0;
}
}  // namespace tl
