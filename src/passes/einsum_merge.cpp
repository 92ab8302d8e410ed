// Einsum chain merging: in  t = einsum("ij,jk->ik", a, b); y = einsum("ik,kl->il", t, c)  with t used only by
// y (and not a graph output), y becomes einsum("ij,jk,kl->il", a, b, c). The inner einsum's output labels
// take the outer operand's labels (a repeated outer label takes the diagonal, which is what the inner sum
// restricted to equal indices gives); its summed labels get letters unused in the outer spec.
#include "einsum_util.h"
#include "tl/einsum.h"
#include "tl/passes.h"

namespace tl {
namespace {

using namespace passes_detail;

constexpr std::string_view kLetters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

// The merged terms for substituting `inner` for operand `pos` of `outer`, or nullopt when letters run out.
std::optional<EinsumTerms> substitute(const EinsumTerms& outer, size_t pos, const EinsumTerms& inner) {
  std::string used;
  for (const std::string& s : outer.inputs) used += s;
  used += outer.output;
  std::string map(128, '\0');  // inner label -> merged label
  for (size_t k = 0; k < inner.output.size(); ++k) map[size_t(inner.output[k])] = outer.inputs[pos][k];
  for (const std::string& s : inner.inputs)
    for (char c : s) {
      if (map[size_t(c)]) continue;
      size_t f = kLetters.find_first_not_of(used);
      if (f == std::string_view::npos) return std::nullopt;
      map[size_t(c)] = kLetters[f];
      used += kLetters[f];
    }
  EinsumTerms m;
  m.output = outer.output;
  for (size_t i = 0; i < outer.inputs.size(); ++i) {
    if (i != pos) {
      m.inputs.push_back(outer.inputs[i]);
      continue;
    }
    for (const std::string& s : inner.inputs) {
      std::string r;
      for (char c : s) r += map[size_t(c)];
      m.inputs.push_back(r);
    }
  }
  return m;
}

}  // namespace

bool merge_einsum_chains(Graph& g, const PassOptions&) {
  Draft d = to_draft(g);
  std::vector<bool> is_out = output_mask(d);
  std::vector<int> uses = use_counts(d);
  std::vector<int> prod = producers(d);
  std::vector<bool> dead(d.nodes.size(), false);
  bool changed = false;
  for (size_t e = 0; e < d.nodes.size(); ++e) {
    Node& outer = d.nodes[e];
    if (outer.kind != OpKind::einsum) continue;
    bool merged = true;
    while (merged) {  // an operand merged in may expose further einsum operands
      merged = false;
      if (!all_float_inputs(d, outer)) break;
      std::optional<EinsumTerms> ot = einsum_terms(d, outer);
      if (!ot) break;
      for (size_t pos = 0; pos < outer.inputs.size() && !merged; ++pos) {
        Value t = outer.inputs[pos];
        int p = prod[size_t(t.id)];
        if (p < 0 || dead[size_t(p)] || d.nodes[size_t(p)].kind != OpKind::einsum) continue;
        if (uses[size_t(t.id)] != 1 || is_out[size_t(t.id)]) continue;
        const Node& inner = d.nodes[size_t(p)];
        if (!all_float_inputs(d, inner)) continue;
        std::optional<EinsumTerms> it = einsum_terms(d, inner);
        if (!it) continue;
        std::optional<EinsumTerms> m = substitute(*ot, pos, *it);
        if (!m) continue;
        std::vector<Value> ins(outer.inputs.begin(), outer.inputs.begin() + std::ptrdiff_t(pos));
        ins.insert(ins.end(), inner.inputs.begin(), inner.inputs.end());
        ins.insert(ins.end(), outer.inputs.begin() + std::ptrdiff_t(pos) + 1, outer.inputs.end());
        std::vector<Shape> shapes;
        for (Value v : ins) shapes.push_back(d.type(v).shape);
        std::string spec = join_terms(*m);
        try {  // belt and braces: the merged einsum must type exactly as the outer one did
          if (einsum_output_shape(spec, shapes) != d.type(outer.output).shape) continue;
        } catch (const Error&) {
          continue;
        }
        outer.inputs = std::move(ins);
        std::get<EinsumAttrs>(outer.attrs).spec = spec;
        dead[size_t(p)] = true;
        merged = changed = true;
      }
    }
  }
  if (!changed) return false;
  d.drop_nodes(dead);
  g = from_draft(d);
  return true;
}

}  // namespace tl
