// Graph IR -> .tl source (include/tl/tl_export.h). Two passes: the first picks each node's form (index
// equation, elementwise expression, softmax, op call) and which constants need a declaration (a finite f32
// scalar used only inside expressions is written inline as a literal); the second prints.
#include "tl/tl_export.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "equations.h"
#include "tl/error.h"
#include "tl/ops.h"

namespace tl::logic {

bool is_tl_name(const std::string& n) {
  if (n.empty() || !(std::isalpha(static_cast<unsigned char>(n[0])) || n[0] == '_')) return false;
  bool part_start = true;
  for (char c : n) {
    if (c == '.') {
      if (part_start) return false;
      part_start = true;
      continue;
    }
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
    part_start = false;
  }
  return !part_start;
}

namespace {

// A float written so that the .tl reader (strtod, then float) gives back the same bits: the shortest form
// when it round-trips through double, else 9 significant digits (always exact for a float).
std::string float_text(float f) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f < 0 ? "-inf" : "inf";
  char buf[48];
  auto r = std::to_chars(buf, buf + sizeof buf, f);
  std::string s(buf, r.ptr);
  if (float(std::strtod(s.c_str(), nullptr)) != f) {
    std::snprintf(buf, sizeof buf, "%.9g", double(f));
    s = buf;
  }
  return s;
}

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

std::string shape_text(const Shape& s) {
  std::vector<std::string> d;
  for (int64_t x : s) d.push_back(std::to_string(x));
  return "[" + join(d) + "]";
}

// Index labels for an op's axes: i, j, k, ... (then a, b, ...).
std::vector<std::string> axis_labels(size_t rank) {
  static const char* pool = "ijklmnopqrstuvwxyzabcdefgh";
  std::vector<std::string> out;
  for (size_t i = 0; i < rank; ++i) out.push_back(i < 26 ? std::string(1, pool[i]) : "x" + std::to_string(i));
  return out;
}

std::string indexed(const std::string& name, const std::vector<std::string>& labels) {
  return name + "[" + join(labels) + "]";
}

bool is_ident(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return s != "true" && s != "false" && s != "inf" && s != "nan";
}

// A keyword argument's value in .tl: numbers and lists as in JSON, identifiers bare, other strings quoted.
std::string kw_text(const json::Value& v) {
  if (v.is_string()) return is_ident(v.as_string()) ? v.as_string() : "\"" + v.as_string() + "\"";
  return json::dump(v);
}

enum class Form { source, constant, einsum, elementwise, softmax, call };

class Exporter {
 public:
  Exporter(const Graph& g, const ExportOptions& opt) : g_(g), opt_(opt) {}

  std::string run() {
    name_values();
    for (size_t i = 0; i < g_.nodes().size(); ++i) plan(i);
    return print();
  }

 private:
  // ---- Names
  [[noreturn]] void fail(size_t node, const std::string& why) const {
    const Node& n = g_.nodes()[node];
    TL_THROW(ValueError, "[to_tl] node ", node, " (", node_op_name(n), ") defining '", g_.info(n.output).name,
             "': ", why);
  }

  std::string unique(const std::string& base) {
    std::string n = base;
    for (int k = 2; used_.count(n); ++k) n = base + "." + std::to_string(k);
    used_.insert(n);
    return n;
  }

  static std::string strip_param(std::string n) {
    for (const char* p : {"model.", "transformer."})
      if (n.rfind(p, 0) == 0 && n.size() > std::string(p).size()) {
        n = n.substr(std::string(p).size());
        break;
      }
    for (const char* s : {".weight", ".bias"}) {
      std::string suf = s;
      if (n.size() > suf.size() && n.compare(n.size() - suf.size(), suf.size(), suf) == 0)
        return n.substr(0, n.size() - suf.size());
    }
    return n;
  }
  static std::string parent(const std::string& n) {
    auto p = n.rfind('.');
    return p == std::string::npos ? "" : n.substr(0, p);
  }

  void name_values() {
    const auto& nodes = g_.nodes();
    names_.assign(g_.values().size(), "");
    scope_.assign(g_.values().size(), "");
    // Sources keep their names (inputs and weights are bound by them).
    for (size_t i = 0; i < nodes.size(); ++i) {
      const Node& n = nodes[i];
      if (n.kind != OpKind::input && n.kind != OpKind::param) continue;
      const std::string& nm = g_.info(n.output).name;
      if (!is_tl_name(nm))
        fail(i, "the name is not a dotted identifier (letters, digits, '_' separated by '.'), so it cannot be "
                "written in .tl");
      if (!used_.insert(nm).second) fail(i, "the name is used twice");
      names_[size_t(n.output.id)] = nm;
    }
    // Graph outputs name the value they return (the first output of each value).
    for (const GraphOutput& o : g_.outputs()) {
      size_t id = size_t(o.value.id);
      if (!names_[id].empty() || !is_tl_name(o.name) || used_.count(o.name)) continue;
      names_[id] = o.name;
      used_.insert(o.name);
    }
    for (size_t i = 0; i < nodes.size(); ++i) {
      const Node& n = nodes[i];
      size_t id = size_t(n.output.id);
      if (n.kind == OpKind::input || n.kind == OpKind::param) continue;
      if (n.kind == OpKind::constant) continue;  // named after their first consumer, below
      std::string own, scope;
      for (Value v : n.inputs) {
        const Node* src = producer(v);
        if (src && src->kind == OpKind::param) {
          own = strip_param(g_.info(v).name);
          scope = parent(own);
          break;
        }
      }
      if (own.empty())
        for (Value v : n.inputs)
          if (!scope_[size_t(v.id)].empty()) {
            scope = scope_[size_t(v.id)];
            break;
          }
      scope_[id] = scope;
      if (!names_[id].empty()) continue;
      std::string base = !own.empty() ? own : (scope.empty() ? "" : scope + ".") + node_op_name(n);
      if (!is_tl_name(base)) base = "t";
      names_[id] = unique(base);
    }
    // Constants: "<scope of the first consumer>.const" (or const, const.2, ...).
    for (size_t i = 0; i < nodes.size(); ++i)
      for (Value v : nodes[i].inputs) {
        const Node* src = producer(v);
        if (!src || src->kind != OpKind::constant || !names_[size_t(v.id)].empty()) continue;
        const std::string& sc = scope_[size_t(nodes[i].output.id)];
        names_[size_t(v.id)] = unique(sc.empty() ? "const" : sc + ".const");
      }
    for (const Node& n : nodes)
      if (names_[size_t(n.output.id)].empty()) names_[size_t(n.output.id)] = unique("const");
  }

  const Node* producer(Value v) {
    if (producer_.empty()) {
      producer_.assign(g_.values().size(), -1);
      for (size_t i = 0; i < g_.nodes().size(); ++i) producer_[size_t(g_.nodes()[i].output.id)] = int(i);
    }
    int p = producer_[size_t(v.id)];
    return p < 0 ? nullptr : &g_.nodes()[size_t(p)];
  }

  // ---- Forms
  bool inline_scalar(Value v) {
    const Node* p = producer(v);
    if (!p || p->kind != OpKind::constant) return false;
    const Tensor& t = std::get<ConstantAttrs>(p->attrs).value;
    return t.dtype() == DType::f32 && t.rank() == 0 && std::isfinite(t.to_f32_vector()[0]);
  }

  // The labels of operand `v` broadcast against an output with `out` labels and shape `os`, or false when the
  // operand broadcasts a size-1 axis (which index notation cannot say).
  bool operand_labels(Value v, const std::vector<std::string>& out, const Shape& os, std::vector<std::string>& ls) {
    const Shape& s = g_.shape(v);
    if (s.size() > os.size() || g_.dtype(v) != DType::f32) return false;
    size_t off = os.size() - s.size();
    ls.clear();
    for (size_t k = 0; k < s.size(); ++k) {
      if (s[k] != os[off + k]) return false;
      ls.push_back(out[off + k]);
    }
    return true;
  }

  std::string operand(Value v, const std::vector<std::string>& ls) {
    if (inline_scalar(v)) {
      const Node* p = producer(v);
      std::string t = float_text(std::get<ConstantAttrs>(p->attrs).value.to_f32_vector()[0]);
      return t[0] == '-' ? "(" + t + ")" : t;
    }
    use(v);
    return indexed(names_[size_t(v.id)], ls);
  }
  void use(Value v) { declared_.insert(v.id); }

  // One equation per node; `lines_[i]` is empty for sources and constants.
  void plan(size_t i) {
    const Node& n = g_.nodes()[i];
    const std::string& y = names_[size_t(n.output.id)];
    const Shape& os = g_.shape(n.output);
    const DType odt = g_.dtype(n.output);
    std::string line;
    switch (n.kind) {
      case OpKind::input:
      case OpKind::param:
      case OpKind::constant:
        lines_.push_back("");
        return;
      case OpKind::einsum:
        line = einsum_line(i);
        break;
      case OpKind::unary:
      case OpKind::binary:
        if (odt == DType::f32) line = elementwise_line(n, y, os);
        break;
      case OpKind::softmax:
        if (n.inputs.size() == 1 && odt == DType::f32) {
          int r = int(os.size()), ax = std::get<SoftmaxAttrs>(n.attrs).axis;
          if (ax < 0) ax += r;
          auto ls = axis_labels(os.size());
          std::vector<std::string> lhs = ls;
          lhs[size_t(ax)] += ".";
          use(n.inputs[0]);
          line = indexed(y, lhs) + " = softmax(" + indexed(names_[size_t(n.inputs[0].id)], ls) + ")";
        }
        break;
      default:
        break;
    }
    if (line.empty()) line = call_line(i);
    lines_.push_back(line);
  }

  std::string einsum_line(size_t i) {
    const Node& n = g_.nodes()[i];
    std::string spec = expand_ellipsis(n);
    if (spec.empty()) return "";  // broadcasting ellipsis dims: written as an op call
    std::string lhs_spec = spec, out_spec;
    auto arrow = spec.find("->");
    if (arrow != std::string::npos) {
      lhs_spec = spec.substr(0, arrow);
      out_spec = spec.substr(arrow + 2);
    } else {  // implicit output: the labels used once, sorted
      std::map<char, int> count;
      for (char c : spec)
        if (std::isalpha(static_cast<unsigned char>(c))) ++count[c];
      for (auto [c, k] : count)
        if (k == 1) out_spec += c;
    }
    std::vector<std::string> ops;
    size_t start = 0, k = 0;
    std::vector<std::string> factors;
    while (true) {
      size_t comma = lhs_spec.find(',', start);
      std::string sub = lhs_spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (k >= n.inputs.size()) return "";
      std::vector<std::string> ls;
      for (char c : sub)
        if (c != ' ') ls.push_back(std::string(1, c));
      if (ls.size() != g_.shape(n.inputs[k]).size()) return "";
      use(n.inputs[k]);
      factors.push_back(indexed(names_[size_t(n.inputs[k].id)], ls));
      ++k;
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (k != n.inputs.size()) return "";
    std::vector<std::string> out;
    for (char c : out_spec)
      if (c != ' ') out.push_back(std::string(1, c));
    return indexed(names_[size_t(n.output.id)], out) + " = " + join(factors, " ");
  }

  // "...i,oi->...o" with named letters for the ellipsis dims ("bsi,oi->bso"), or "" when the operands'
  // ellipsis dims differ (NumPy broadcasting, which index notation cannot say).
  std::string expand_ellipsis(const Node& n) {
    const std::string& spec = std::get<EinsumAttrs>(n.attrs).spec;
    if (spec.find("...") == std::string::npos) return spec;
    std::vector<std::string> parts;
    std::string lhs = spec, out;
    const auto arrow = spec.find("->");
    if (arrow == std::string::npos) return "";
    lhs = spec.substr(0, arrow);
    out = spec.substr(arrow + 2);
    for (size_t start = 0;;) {
      size_t c = lhs.find(',', start);
      parts.push_back(lhs.substr(start, c == std::string::npos ? std::string::npos : c - start));
      if (c == std::string::npos) break;
      start = c + 1;
    }
    if (parts.size() != n.inputs.size()) return "";
    // The ellipsis dims of each operand, right-aligned; all operands that have them must agree.
    std::vector<int64_t> ell;
    bool have = false;
    for (size_t k = 0; k < parts.size(); ++k) {
      auto e = parts[k].find("...");
      if (e == std::string::npos) continue;
      const Shape& s = g_.shape(n.inputs[k]);
      int64_t named = int64_t(parts[k].size()) - 3;
      if (int64_t(s.size()) < named) return "";
      std::vector<int64_t> dims(s.begin() + e, s.begin() + e + (int64_t(s.size()) - named));
      if (have && dims != ell) return "";
      ell = dims;
      have = true;
    }
    std::string fresh;
    for (char c : std::string("bstuvwxyzacdefghjklmnpqr"))
      if (spec.find(c) == std::string::npos && fresh.size() < ell.size()) fresh += c;
    if (fresh.size() < ell.size()) return "";
    auto expand = [&](std::string p) {
      auto e = p.find("...");
      return e == std::string::npos ? p : p.substr(0, e) + fresh + p.substr(e + 3);
    };
    std::string r;
    for (size_t k = 0; k < parts.size(); ++k) r += (k ? "," : "") + expand(parts[k]);
    return r + "->" + expand(out);
  }

  std::string elementwise_line(const Node& n, const std::string& y, const Shape& os) {
    auto out = axis_labels(os.size());
    std::vector<std::string> args;
    for (Value v : n.inputs) {
      std::vector<std::string> ls;
      if (!inline_scalar(v) && !operand_labels(v, out, os, ls)) return "";
      args.push_back("");
    }
    // Only now mark uses (a rejected form must not force declarations).
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      std::vector<std::string> ls;
      operand_labels(n.inputs[k], out, os, ls);
      args[k] = operand(n.inputs[k], ls);
    }
    std::string rhs;
    if (n.kind == OpKind::unary) {
      UnaryOp op = std::get<UnaryAttrs>(n.attrs).op;
      if (op == UnaryOp::logical_not) return "";
      if (op == UnaryOp::neg) {
        rhs = "-" + args[0];
      } else {
        std::string f = op == UnaryOp::gelu_erf ? "gelu" : std::string(tl::op_name(op));
        rhs = f + "(" + args[0] + ")";
      }
    } else {
      BinaryOp op = std::get<BinaryAttrs>(n.attrs).op;
      switch (op) {
        case BinaryOp::add:
          rhs = args[0] + " + " + args[1];
          break;
        case BinaryOp::sub:
          rhs = args[0] + " - " + args[1];
          break;
        case BinaryOp::mul:
          rhs = args[0] + " * " + args[1];
          break;
        case BinaryOp::div:
          rhs = args[0] + " / " + args[1];
          break;
        case BinaryOp::max:
        case BinaryOp::min:
        case BinaryOp::pow:
          rhs = std::string(tl::op_name(op)) + "(" + args[0] + ", " + args[1] + ")";
          break;
        default:
          return "";
      }
    }
    return indexed(y, out) + " = " + rhs;
  }

  std::string call_line(size_t i) {
    const Node& n = g_.nodes()[i];
    const OpDef& d = op_def(n.kind);
    const std::string op = d.op_name(n.attrs);
    auto base = op_by_name(op);
    if (!base || !is_registered_op(op)) fail(i, "the op has no .tl form");
    std::vector<std::string> args;
    for (Value v : n.inputs) {
      use(v);
      args.push_back(names_[size_t(v.id)]);
    }
    json::Object attrs = d.attrs_to_json(n.attrs);
    json::Object defaults = d.attrs_to_json(base->second);
    std::set<std::string> required;
    // Attributes the reader insists on are always written (see required_attrs in equations_ops.cpp): write
    // every attribute that differs from its default, plus those whose defaults are not meaningful.
    for (const char* k : {"spec", "to", "shape", "perm", "axis", "start", "stop", "repeats", "eps", "scale", "top_k",
                          "format", "in"})
      required.insert(k);
    for (const json::Member& m : attrs) {
      const json::Value* dv = defaults.find(m.key);
      if (dv && json::dump(*dv) == json::dump(m.value) && !required.count(m.key)) continue;
      args.push_back(m.key + "=" + kw_text(m.value));
    }
    return indexed(names_[size_t(n.output.id)], axis_labels(g_.shape(n.output).size())) + " = " + op + "(" +
           join(args) + ")";
  }

  // ---- Printing
  std::string const_decl(const Node& n) {
    const Tensor& t = std::get<ConstantAttrs>(n.attrs).value;
    std::string s = "const " + names_[size_t(n.output.id)] + ": " + dtype_name(t.dtype()) + shape_text(t.shape()) +
                    " = [";
    const int64_t count = t.numel();
    const int64_t row = t.rank() > 0 ? std::max<int64_t>(t.shape().back(), 1) : 1;
    const bool wrap = count > 16;
    Tensor c = t.contiguous();
    std::vector<float> f;
    if (is_float(t.dtype())) f = c.to_f32_vector();
    for (int64_t k = 0; k < count; ++k) {
      if (k) s += ",";
      if (wrap && k % row == 0) s += "\n    ";
      else if (k) s += " ";
      switch (t.dtype()) {
        case DType::boolean:
          s += c.data<bool>()[k] ? "true" : "false";
          break;
        case DType::i32:
          s += std::to_string(c.data<int32_t>()[k]);
          break;
        case DType::i64:
          s += std::to_string(c.data<int64_t>()[k]);
          break;
        case DType::u8:
          s += std::to_string(int(c.data<uint8_t>()[k]));
          break;
        default:
          s += float_text(f[size_t(k)]);
      }
    }
    return s + (wrap ? "\n]" : "]");
  }

  std::string print() {
    std::string s;
    for (const auto& h : opt_.header) s += "# " + h + "\n";
    s += "# " + std::to_string(g_.nodes().size()) + " graph nodes; written by tl::logic::to_tl (tlt graph MODEL --tl)\n";
    std::string ins, params, consts, eqs;
    for (size_t i = 0; i < g_.nodes().size(); ++i) {
      const Node& n = g_.nodes()[i];
      const std::string& nm = names_[size_t(n.output.id)];
      const ValueType& t = g_.type(n.output);
      if (n.kind == OpKind::input) {
        ins += "input " + nm + ": " + dtype_name(t.dtype) + shape_text(t.shape) + "\n";
      } else if (n.kind == OpKind::param) {
        params += "param " + nm + (t.dtype == DType::f32 ? "" : std::string(": ") + dtype_name(t.dtype)) +
                  shape_text(t.shape) + "\n";
      } else if (n.kind == OpKind::constant) {
        if (declared_.count(n.output.id)) consts += const_decl(n) + "\n";
      } else {
        eqs += lines_[i] + "\n";
      }
    }
    // Outputs that are not their value's own name (a source, or a value returned twice): an identity equation.
    std::vector<std::string> outs;
    for (const GraphOutput& o : g_.outputs()) {
      const std::string& nm = names_[size_t(o.value.id)];
      if (o.name == nm) {
        outs.push_back(nm);
        continue;
      }
      if (!is_tl_name(o.name) || used_.count(o.name))
        TL_THROW(ValueError, "[to_tl] output '", o.name, "' cannot be written in .tl (not a dotted identifier, or ",
                 "its name is taken)");
      used_.insert(o.name);
      auto ls = axis_labels(g_.shape(o.value).size());
      eqs += indexed(o.name, ls) + " = " + indexed(nm, ls) + "\n";
      outs.push_back(o.name);
    }
    if (!ins.empty()) s += "\n# inputs\n" + ins;
    if (!params.empty()) s += "\n# weights, by their checkpoint names\n" + params;
    if (!consts.empty()) s += "\n# constants\n" + consts;
    s += "\n# equations, one per graph node\n" + eqs;
    s += "\noutput " + join(outs) + "\n";
    return s;
  }

  const Graph& g_;
  const ExportOptions& opt_;
  std::vector<std::string> names_, scope_;
  std::set<std::string> used_;
  std::vector<int> producer_;
  std::set<int32_t> declared_;  // constants referenced by name
  std::vector<std::string> lines_;
};

}  // namespace

std::string to_tl(const Graph& g, const ExportOptions& opt) {
  return Exporter(g, opt).run();
}

}  // namespace tl::logic
