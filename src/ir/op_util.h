// Helpers shared by the op definitions (src/ir/ops_*.cpp): attribute reading with typed errors, axis
// normalisation, float <-> JSON conversion. Internal to tl_ir.
#pragma once
#include <charconv>
#include <set>
#include <string>
#include <vector>

#include "tl/error.h"
#include "tl/ops.h"

namespace tl::ir {

// Reads typed fields of an attribute object; every key must be read exactly once (unknown keys are errors).
class AttrReader {
 public:
  AttrReader(const json::Object& o, const char* op) : o_(o), op_(op) {}
  const json::Value& get(const char* key) {
    const json::Value* v = o_.find(key);
    if (!v) TL_THROW(ValueError, "[", op_, "] missing attribute '", key, "'");
    used_.insert(key);
    return *v;
  }
  bool has(const char* key) const { return o_.contains(key); }
  int64_t i64(const char* key) {
    const json::Value& v = get(key);
    if (!v.is_int()) bad(key, "an integer", v);
    return v.as_int();
  }
  int i32(const char* key) {
    int64_t v = i64(key);
    if (v < -(int64_t(1) << 31) || v >= (int64_t(1) << 31))
      TL_THROW(ValueError, "[", op_, "] attribute '", key, "' = ", v, " does not fit in 32 bits");
    return int(v);
  }
  bool boolean(const char* key) {
    const json::Value& v = get(key);
    if (!v.is_bool()) bad(key, "true or false", v);
    return v.as_bool();
  }
  float f32(const char* key) {
    const json::Value& v = get(key);
    if (!v.is_number()) bad(key, "a number", v);
    return float(v.as_double());
  }
  const std::string& str(const char* key) {
    const json::Value& v = get(key);
    if (!v.is_string()) bad(key, "a string", v);
    return v.as_string();
  }
  std::vector<int64_t> i64_list(const char* key) {
    const json::Value& v = get(key);
    if (!v.is_array()) bad(key, "an array of integers", v);
    std::vector<int64_t> r;
    for (const json::Value& e : v.as_array()) {
      if (!e.is_int()) bad(key, "an array of integers", e);
      r.push_back(e.as_int());
    }
    return r;
  }
  std::vector<int> int_list(const char* key) {
    std::vector<int> r;
    for (int64_t x : i64_list(key)) {
      if (x < -(int64_t(1) << 31) || x >= (int64_t(1) << 31))
        TL_THROW(ValueError, "[", op_, "] attribute '", key, "' entry ", x, " does not fit in 32 bits");
      r.push_back(int(x));
    }
    return r;
  }
  // Throws on keys that were never read.
  void done() const {
    for (const json::Member& m : o_)
      if (!used_.count(m.key)) TL_THROW(ValueError, "[", op_, "] unknown attribute '", m.key, "'");
  }
  [[noreturn]] void bad(const char* key, const char* want, const json::Value& got) const {
    TL_THROW(ValueError, "[", op_, "] attribute '", key, "' must be ", want, ", got ",
             got.is_string() ? "\"" + got.as_string() + "\"" : json::dump(got));
  }

 private:
  const json::Object& o_;
  const char* op_;
  std::set<std::string> used_;
};

// A float as the JSON double whose shortest decimal form is the float's shortest form (so 1e-5f prints as
// 1e-05, not 9.99999974737875e-06), which converts back to the identical float.
inline json::Value float_to_json(float f) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, f);
  double d = 0;
  std::from_chars(buf, r.ptr, d);
  return json::Value(d);
}

template <class T>
json::Value int_list_to_json(const std::vector<T>& xs) {
  json::Array a;
  for (T x : xs) a.push_back(json::Value(int64_t(x)));
  return json::Value(std::move(a));
}

// `axis` in [-rank, rank) normalised to [0, rank); throws ValueError naming op, what and the valid range.
inline int norm_axis(int axis, int rank, const char* op, const char* what = "axis") {
  if (axis < -rank || axis >= rank) {
    if (rank == 0) TL_THROW(ValueError, "[", op, "] ", what, " ", axis, " is invalid for a rank-0 input");
    TL_THROW(ValueError, "[", op, "] ", what, " ", axis, " is out of range for rank ", rank, " (valid ", -rank,
             "..", rank - 1, ")");
  }
  return axis < 0 ? axis + rank : axis;
}

// Requires a float dtype for input `index`.
inline void require_float(const ValueType& t, size_t index, const char* op) {
  if (!is_float(t.dtype))
    TL_THROW(ValueError, "[", op, "] input ", index, " has dtype ", dtype_name(t.dtype),
             ", expected a float dtype (f32, f16, bf16)");
}

// Attributes of type A from the variant (the registry guarantees the kind matches).
template <class A>
const A& get(const Attrs& a) {
  const A* p = std::get_if<A>(&a);
  TL_CHECK(p != nullptr, "attribute struct does not match the op kind");
  return *p;
}

// Op families, one per function (defined in ops_*.cpp).
const OpDef& input_op();
const OpDef& param_op();
const OpDef& constant_op();
const OpDef& einsum_op();
const OpDef& unary_op();
const OpDef& binary_op();
const OpDef& where_op();
const OpDef& cast_op();
const OpDef& reduce_op();
const OpDef& softmax_op();
const OpDef& layer_norm_op();
const OpDef& rms_norm_op();
const OpDef& reshape_op();
const OpDef& transpose_op();
const OpDef& concat_op();
const OpDef& slice_op();
const OpDef& gather_op();
const OpDef& repeat_op();
const OpDef& bias_act_op();
const OpDef& scaled_masked_softmax_op();

// LinearAttrs in the text/JSON forms ({"format", "in"}), shared by linear and linear_group (ops_linear.cpp).
json::Object linear_attrs_to_json(const Attrs& a);
Attrs linear_attrs_from_json(const json::Object& o, const char* op);

}  // namespace tl::ir
