#include "einsum_util.h"

#include <cctype>

#include "tl/einsum.h"

namespace tl::passes_detail {

std::optional<EinsumTerms> einsum_terms(const Draft& d, const Node& n) {
  std::vector<Shape> shapes;
  for (Value v : n.inputs) shapes.push_back(d.type(v).shape);
  std::string spec;
  try {
    EinsumOptions one;
    one.strategy = EinsumStrategy::greedy;  // only the normalised spec is wanted: skip the optimal search
    spec = einsum_plan(std::get<EinsumAttrs>(n.attrs).spec, shapes, one).spec;
  } catch (const Error&) {
    return std::nullopt;
  }
  size_t arrow = spec.find("->");
  if (arrow == std::string::npos || spec.find('.') != std::string::npos) return std::nullopt;
  EinsumTerms t;
  t.output = spec.substr(arrow + 2);
  std::string lhs = spec.substr(0, arrow);
  size_t start = 0;
  while (true) {
    size_t comma = lhs.find(',', start);
    t.inputs.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (t.inputs.size() != n.inputs.size()) return std::nullopt;
  for (size_t i = 0; i < t.inputs.size(); ++i)
    if (t.inputs[i].size() != d.type(n.inputs[i]).shape.size()) return std::nullopt;
  return t;
}

std::string join_terms(const EinsumTerms& t) {
  std::string s;
  for (size_t i = 0; i < t.inputs.size(); ++i) s += (i ? "," : "") + t.inputs[i];
  return s + "->" + t.output;
}

bool all_float_inputs(const Draft& d, const Node& n) {
  for (Value v : n.inputs) {
    DType t = d.type(v).dtype;
    if (t != DType::f32 && t != DType::f16 && t != DType::bf16) return false;
  }
  return true;
}

LinearForm linear_form(const std::string& spec) {
  LinearForm f;
  const auto arrow = spec.find("->");
  if (arrow == std::string::npos || spec.find(' ') != std::string::npos) return f;
  const std::string lhs = spec.substr(0, arrow), out = spec.substr(arrow + 2);
  const auto comma = lhs.find(',');
  if (comma == std::string::npos || lhs.find(',', comma + 1) != std::string::npos) return f;
  const std::string a = lhs.substr(0, comma), b = lhs.substr(comma + 1);
  auto letter = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; };
  if (a.empty() || b.size() != 2 || !letter(b[0]) || !letter(b[1]) || b[0] == b[1]) return f;
  const char c = a.back();
  if (!letter(c) || b.find(c) == std::string::npos) return f;
  const char o = b[0] == c ? b[1] : b[0];
  const std::string prefix = a.substr(0, a.size() - 1);
  if (prefix.find(c) != std::string::npos || prefix.find(o) != std::string::npos) return f;
  if (out != prefix + o) return f;
  f.ok = true;
  f.transposed = b[0] == c;
  return f;
}

LinearForm node_linear_form(const Draft& d, const std::vector<int>& prod, const Node& n) {
  if (n.kind != OpKind::einsum || n.inputs.size() != 2) return {};
  LinearForm f = linear_form(std::get<EinsumAttrs>(n.attrs).spec);
  if (!f.ok) return {};
  const Value x = n.inputs[0], w = n.inputs[1];
  const int p = prod[size_t(w.id)];
  if (p < 0 || d.nodes[size_t(p)].kind != OpKind::param || x == w) return {};
  if (d.type(x).dtype != DType::f32 || d.type(w).dtype != DType::f32 || d.type(w).shape.size() != 2) return {};
  return f;
}

}  // namespace tl::passes_detail
