// Weight formats: linear-layer einsums whose weight is kept in a storage format (include/tl/quant.h) become
// typed `linear` ops reading that storage directly.
//   einsum "P i,o i->P o" (x, W)            -> linear(x, W') {format, in = k}
//   einsum "P i,i o->P o" (x, W)            -> linear(x, W') (W [k, n]; W' stores W^T, GPT-2's Conv1D)
//   add(einsum(...), b [n]) / add(b, ...)   -> linear(x, W', b)  (when the einsum result has no other use)
// P is any run of labels or "..." (nn::linear writes "...i,oi->...o"). W' is the same param with the format's
// storage type; the model binds the stored tensor under the param's name (Model::quantize).
#include <algorithm>
#include <sstream>

#include "draft.h"
#include "einsum_util.h"
#include "tl/error.h"
#include "tl/ops.h"
#include "tl/passes.h"
#include "tl/quant.h"

namespace tl {
namespace {

using passes_detail::Draft;
using passes_detail::LinearForm;
using passes_detail::node_linear_form;

// Per value id: the nodes using it (a node once per input slot).
std::vector<std::vector<int>> consumers(const Draft& d) {
  std::vector<std::vector<int>> c(d.infos.size());
  for (size_t i = 0; i < d.nodes.size(); ++i)
    for (Value v : d.nodes[i].inputs) c[size_t(v.id)].push_back(int(i));
  return c;
}

// Why param value `w` is not a linear weight ("" when every use is one).
std::string non_linear_use(const Draft& d, const std::vector<int>& prod, const std::vector<std::vector<int>>& cons,
                           const std::vector<bool>& is_out, Value w) {
  if (is_out[size_t(w.id)]) return "it is a graph output";
  for (int i : cons[size_t(w.id)]) {
    const Node& n = d.nodes[size_t(i)];
    if (!node_linear_form(d, prod, n).ok || n.inputs[1] != w)
      return "node " + std::to_string(i) + " (" + node_op_name(n) + ") uses it" +
             (n.kind == OpKind::einsum ? " in einsum \"" + std::get<EinsumAttrs>(n.attrs).spec + "\"" : "") +
             ", which is not a linear layer's weight";
  }
  return "";
}

// The nodes using param `w` as a linear layer's weight.
std::vector<int> linear_uses(const Draft& d, const std::vector<int>& prod, const std::vector<std::vector<int>>& cons,
                             Value w) {
  std::vector<int> out;
  for (int i : cons[size_t(w.id)]) {
    const Node& n = d.nodes[size_t(i)];
    if (node_linear_form(d, prod, n).ok && n.inputs[1] == w && out.end() == std::find(out.begin(), out.end(), i))
      out.push_back(i);
  }
  return out;
}

}  // namespace

std::string linear_copy_name(const std::string& param) { return param + ".linear_copy"; }

std::vector<LinearWeight> linear_weights(const Graph& g, bool include_shared) {
  const Draft d = passes_detail::to_draft(g);
  const std::vector<int> prod = passes_detail::producers(d);
  const std::vector<bool> is_out = passes_detail::output_mask(d);
  const auto cons = consumers(d);
  std::vector<LinearWeight> out;
  for (const Node& n : d.nodes) {
    if (n.kind != OpKind::param) continue;
    const Value w = n.output;
    const ValueType& t = d.type(w);
    if (t.dtype != DType::f32 || t.shape.size() != 2 || cons[size_t(w.id)].empty()) continue;
    const bool shared = !non_linear_use(d, prod, cons, is_out, w).empty();
    const std::vector<int> uses = linear_uses(d, prod, cons, w);
    if ((shared && !include_shared) || uses.empty()) continue;
    const bool tr = node_linear_form(d, prod, d.nodes[size_t(uses[0])]).transposed;
    bool same = true;  // a weight used both ways would need two layouts
    for (int i : uses) same = same && node_linear_form(d, prod, d.nodes[size_t(i)]).transposed == tr;
    if (!same) continue;
    out.push_back({d.infos[size_t(w.id)].name, tr ? t.shape[0] : t.shape[1], tr ? t.shape[1] : t.shape[0], tr, shared});
  }
  return out;
}

namespace {

// The storage type of an [n, k] weight in format f.
ValueType stored_type(WeightFormat f, int64_t nout, int64_t kin) {
  const DType sd = weight_storage_dtype(f);
  return ValueType{sd, {nout, sd == DType::u8 ? weight_row_bytes(f, kin) : kin}};
}

void check_block(const std::string& name, WeightFormat f, int64_t kin) {
  const int64_t block = weight_format_block(f);
  if (kin % block != 0)
    TL_THROW(ShapeError, "[weight_formats] param '", name, "' has ", kin, " in-features, which format ",
             weight_format_name(f), " cannot store (a multiple of its block size ", block, " is needed)");
}

}  // namespace

bool apply_weight_formats(Graph& g, const std::map<std::string, WeightFormat>& formats,
                          const std::map<std::string, WeightFormat>& linear_copies) {
  if (formats.empty() && linear_copies.empty()) return false;
  Draft d = passes_detail::to_draft(g);
  const std::vector<int> prod = passes_detail::producers(d);
  const std::vector<bool> is_out = passes_detail::output_mask(d);
  const std::vector<int> uses = passes_detail::use_counts(d);
  const auto cons = consumers(d);
  // The params to rewrite: their format, and whether the einsums read them transposed.
  std::map<int32_t, std::pair<WeightFormat, bool>> targets;
  for (const Node& n : d.nodes) {
    if (n.kind != OpKind::param) continue;
    const std::string& name = d.infos[size_t(n.output.id)].name;
    auto f = formats.find(name);
    if (f == formats.end()) continue;
    const ValueType& t = d.type(n.output);
    if (t.dtype != DType::f32 || t.shape.size() != 2)
      TL_THROW(ValueError, "[weight_formats] param '", name, "' has type ", type_str(t), ", expected a 2-D f32 ",
               "[out, in] weight to store as ", weight_format_name(f->second));
    if (std::string why = non_linear_use(d, prod, cons, is_out, n.output); !why.empty())
      TL_THROW(ValueError, "[weight_formats] param '", name, "' cannot be stored as ", weight_format_name(f->second),
               ": ", why, " (a weight with other uses, e.g. tied embeddings, must stay f32)");
    bool tr = false;
    for (size_t k = 0; k < cons[size_t(n.output.id)].size(); ++k) {
      const bool t_k = node_linear_form(d, prod, d.nodes[size_t(cons[size_t(n.output.id)][k])]).transposed;
      if (k > 0 && t_k != tr)
        TL_THROW(ValueError, "[weight_formats] param '", name,
                 "' is used both as an [out, in] and an [in, out] weight; it cannot have one stored layout");
      tr = t_k;
    }
    const int64_t kin = tr ? t.shape[0] : t.shape[1], nout = tr ? t.shape[1] : t.shape[0];
    check_block(name, f->second, kin);
    d.infos[size_t(n.output.id)].type = stored_type(f->second, nout, kin);
    targets[n.output.id] = {f->second, tr};
  }
  // Shared params: a new param (the stored copy) takes over their linear uses; the f32 param keeps the rest.
  std::vector<Node> copy_params;
  for (const Node& n : d.nodes) {
    if (n.kind != OpKind::param) continue;
    const std::string name = d.infos[size_t(n.output.id)].name;
    auto f = linear_copies.find(name);
    if (f == linear_copies.end()) continue;
    if (formats.count(name))
      TL_THROW(ValueError, "[weight_formats] param '", name, "' is named both as a stored weight and as one with a ",
               "stored copy for its linear uses");
    const ValueType t = d.type(n.output);
    const std::vector<int> lin = linear_uses(d, prod, cons, n.output);
    if (t.dtype != DType::f32 || t.shape.size() != 2 || lin.empty())
      TL_THROW(ValueError, "[weight_formats] param '", name, "' (", type_str(t), ") has no use as a linear layer's ",
               "weight, so a ", weight_format_name(f->second), " copy of it would serve nothing");
    const bool tr = node_linear_form(d, prod, d.nodes[size_t(lin[0])]).transposed;
    for (int i : lin)
      if (node_linear_form(d, prod, d.nodes[size_t(i)]).transposed != tr)
        TL_THROW(ValueError, "[weight_formats] param '", name,
                 "' is used both as an [out, in] and an [in, out] weight; one stored copy cannot serve both");
    const int64_t kin = tr ? t.shape[0] : t.shape[1], nout = tr ? t.shape[1] : t.shape[0];
    check_block(name, f->second, kin);
    const std::string copy = linear_copy_name(name);
    for (const ValueInfo& vi : d.infos)
      if (vi.name == copy)
        TL_THROW(ValueError, "[weight_formats] the graph already has a value named '", copy,
                 "', the name of param '", name, "'s stored copy");
    d.infos.push_back(ValueInfo{copy, stored_type(f->second, nout, kin)});
    const Value cv{int32_t(d.infos.size() - 1)};
    copy_params.push_back(Node{OpKind::param, ParamAttrs{}, {}, cv});
    for (int i : lin) d.nodes[size_t(i)].inputs[1] = cv;
    targets[cv.id] = {f->second, tr};
  }
  if (targets.empty()) return false;
  std::vector<bool> dead(d.nodes.size(), false);
  for (size_t i = 0; i < d.nodes.size(); ++i) {
    Node& n = d.nodes[i];
    if (n.kind != OpKind::einsum || n.inputs.size() != 2) continue;
    auto t = targets.find(n.inputs[1].id);
    if (t == targets.end()) continue;
    const Value x = n.inputs[0], w = n.inputs[1];
    const LinearAttrs attrs{t->second.first, d.type(x).shape.back(), std::nullopt};
    const int64_t nout = d.type(w).shape[0];
    // Fold a following bias add: the einsum result used once, by add(y, b) or add(b, y) with b a param [n].
    const Value y = n.output;
    if (uses[size_t(y.id)] == 1 && !is_out[size_t(y.id)] && cons[size_t(y.id)].size() == 1) {
      Node& a = d.nodes[size_t(cons[size_t(y.id)][0])];
      if (a.kind == OpKind::binary && std::get<BinaryAttrs>(a.attrs).op == BinaryOp::add && a.inputs.size() == 2 &&
          a.inputs[0] != a.inputs[1]) {
        const Value b = a.inputs[0] == y ? a.inputs[1] : a.inputs[0];
        const int pb = prod[size_t(b.id)];
        if (pb >= 0 && d.nodes[size_t(pb)].kind == OpKind::param && is_float(d.type(b).dtype) &&
            d.type(b).shape == Shape{nout} && d.type(a.output).shape == d.type(y).shape) {
          a = Node{OpKind::linear, attrs, {x, w, b}, a.output};
          dead[i] = true;
          continue;
        }
      }
    }
    n = Node{OpKind::linear, attrs, {x, w}, y};
  }
  d.drop_nodes(dead);
  d.nodes.insert(d.nodes.begin(), copy_params.begin(), copy_params.end());
  g = passes_detail::from_draft(d);
  return true;
}

}  // namespace tl
