// The fused attention op:
//   attention(q, k, v [, bias] [, past_k, past_v]) {scale, causal, window, pattern, span, n_global,
//                                layout_block_q, layout_block_k, layout, block_q, block_k [, past]}
// q [b,h,sq,d], k [b,hkv,sk,d], v [b,hkv,sk,dv], bias broadcastable to [b,h,sq,sk] -> [b,h,sq,dv] f32.
// With past = true the last two inputs are cached keys/values [b,hkv,sp,d|dv] that come before k/v (sk counts
// them too).
// The kernel is flash attention (src/runtime/cpu/kernels/attention.cpp); semantics in include/tl/nn/attention.h.
#include <bit>
#include <cmath>
#include <tuple>

#include "ir/op_util.h"
#include "tl/kernels.h"

namespace tl {
bool AttentionAttrs::operator==(const AttentionAttrs& o) const {
  return std::bit_cast<uint32_t>(scale) == std::bit_cast<uint32_t>(o.scale) && causal == o.causal &&
         window == o.window && sparse == o.sparse && block_q == o.block_q && block_k == o.block_k && past == o.past;
}
}  // namespace tl

namespace tl::ir {

namespace {

const char* pattern_name(AttentionPattern p) {
  switch (p) {
    case AttentionPattern::none: return "none";
    case AttentionPattern::strided: return "strided";
    case AttentionPattern::local: return "local";
    case AttentionPattern::block_sparse: return "block_sparse";
    case AttentionPattern::global_local: return "global_local";
  }
  return "?";
}

AttentionPattern pattern_from_name(const std::string& s) {
  for (AttentionPattern p : {AttentionPattern::none, AttentionPattern::strided, AttentionPattern::local,
                             AttentionPattern::block_sparse, AttentionPattern::global_local})
    if (s == pattern_name(p)) return p;
  TL_THROW(ValueError, "[attention] attribute 'pattern' = \"", s,
           "\" is not a pattern (expected none, strided, local, block_sparse or global_local)");
}

AttentionSpec spec_of(const AttentionAttrs& a) {
  AttentionSpec s;
  s.scale = a.scale;
  s.causal = a.causal;
  s.window = a.window;
  s.sparse = a.sparse;
  s.tile_q = a.block_q;
  s.tile_k = a.block_k;
  return s;
}

OpDef make_attention() {
  OpDef d{};
  d.kind = OpKind::attention;
  d.attrs_index = attrs_index_of<AttentionAttrs>();
  d.family = "attention";
  d.min_inputs = 3;
  d.max_inputs = 6;
  d.op_name = [](const Attrs&) { return std::string("attention"); };
  d.attrs_for_name = [](std::string_view n) -> std::optional<Attrs> {
    if (n == "attention") return Attrs(AttentionAttrs{});
    return std::nullopt;
  };
  d.infer = [](const Attrs& a, std::span<const ValueType> in) {
    const char* op = "attention";
    const auto& at = get<AttentionAttrs>(a);
    if (!std::isfinite(at.scale)) TL_THROW(ValueError, "[", op, "] attribute 'scale' = ", at.scale, " must be finite");
    if (at.block_q < 0 || at.block_k < 0)
      TL_THROW(ValueError, "[", op, "] attributes 'block_q' / 'block_k' must be >= 0 (0 = default), got ", at.block_q,
               " / ", at.block_k);
    const size_t n_plain = at.past ? in.size() - 2 : in.size();  // q, k, v [, bias]
    if (at.past ? in.size() < 5 : in.size() > 4)
      TL_THROW(ValueError, "[", op, "] expected ", at.past ? "q, k, v, [bias,] past_k, past_v (5 or 6" : "q, k, v [, bias] (3 or 4",
               " inputs), got ", in.size());
    for (size_t i = 0; i < in.size(); ++i) require_float(in[i], i, op);
    std::optional<Shape> bias;
    if (n_plain == 4) bias = in[3].shape;
    const AttentionSpec spec = spec_of(at);
    Shape ks = in[1].shape, vs = in[2].shape;
    if (at.past) std::tie(ks, vs) = kernels::attention_kv_shapes(ks, vs, in[n_plain].shape, in[n_plain + 1].shape, op);
    Shape out = kernels::attention_shape(in[0].shape, ks, vs, bias, op, &spec);
    check_attention_spec(spec, ks[2], op);
    return ValueType{DType::f32, out};
  };
  d.attrs_to_json = [](const Attrs& a) {
    const auto& at = get<AttentionAttrs>(a);
    json::Object o;
    o.insert("scale", float_to_json(at.scale));
    o.insert("causal", json::Value(at.causal));
    o.insert("window", json::Value(at.window));
    o.insert("pattern", json::Value(std::string(pattern_name(at.sparse.pattern))));
    o.insert("span", json::Value(at.sparse.span));
    o.insert("n_global", json::Value(at.sparse.n_global));
    o.insert("layout_block_q", json::Value(at.sparse.block_q));
    o.insert("layout_block_k", json::Value(at.sparse.block_k));
    o.insert("layout", int_list_to_json(at.sparse.layout));
    o.insert("block_q", json::Value(at.block_q));
    o.insert("block_k", json::Value(at.block_k));
    if (at.past) o.insert("past", json::Value(true));  // written only when set: older graphs stay unchanged
    return o;
  };
  d.attrs_from_json = [](Attrs, const json::Object& o, const ValueType&) {
    AttrReader r(o, "attention");
    AttentionAttrs at;
    at.scale = r.f32("scale");
    at.causal = r.boolean("causal");
    at.window = r.i64("window");
    at.sparse.pattern = pattern_from_name(r.str("pattern"));
    at.sparse.span = r.i64("span");
    at.sparse.n_global = r.i64("n_global");
    at.sparse.block_q = r.i64("layout_block_q");
    at.sparse.block_k = r.i64("layout_block_k");
    for (int64_t x : r.i64_list("layout")) {
      if (x != 0 && x != 1) TL_THROW(ValueError, "[attention] attribute 'layout' entries must be 0 or 1, got ", x);
      at.sparse.layout.push_back(uint8_t(x));
    }
    at.block_q = r.i64("block_q");
    at.block_k = r.i64("block_k");
    if (r.has("past")) at.past = r.boolean("past");
    r.done();
    return Attrs(at);
  };
  d.kernel = [](const Attrs& a, std::span<const Tensor> in, const Tensor& out) {
    const auto& at = get<AttentionAttrs>(a);
    const size_t n_plain = at.past ? in.size() - 2 : in.size();
    const std::optional<Tensor> bias = n_plain == 4 ? std::optional<Tensor>(in[3]) : std::nullopt;
    if (!at.past) return kernels::attention_into(in[0], in[1], in[2], bias, spec_of(at), out);
    const kernels::AttentionPast past{in[n_plain], in[n_plain + 1]};
    kernels::attention_into(in[0], in[1], in[2], bias, spec_of(at), out, &past);
  };
  return d;
}

}  // namespace

const OpDef& attention_op() {
  static const OpDef d = make_attention();
  return d;
}

}  // namespace tl::ir
