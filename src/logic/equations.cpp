// Compiles tensor equations to one graph. Each product of factors becomes one multi-operand einsum that keeps
// only the left-hand side's indices (the others are summed, or reduced with max/min/mean for max=/min=/avg=);
// sums, function calls and divisions then work on "canonical" values whose axes are a subset of the left-hand
// side's indices in its order, broadcast against each other by inserting size-1 axes.
#include "equations.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "tl/error.h"

namespace tl::logic {

namespace {

// A compiled sub-expression: a folded scalar, or a graph value whose axes are `labels` (label ids).
struct CV {
  bool is_const = false;
  double c = 0;
  Value v;
  std::vector<int> labels;
};

struct Defined {
  Value v;
  Loc loc;
  bool declared = false;  // input/param (cannot be assigned)
};

class EquationCompiler {
 public:
  explicit EquationCompiler(const ProgramAst& p) : p_(p), g_("tl_program") {}

  Graph run() {
    for (const auto& d : p_.dims) {
      if (dims_.count(d.name))
        TL_THROW(ValueError, where(p_.source, d.loc), "dimension '", d.name, "' declared twice");
      dims_[d.name] = d.value;
    }
    for (const auto& c : p_.consts) {
      if (dims_.count(c.name) || consts_.count(c.name))
        TL_THROW(ValueError, where(p_.source, c.loc), "'", c.name, "' declared twice (as a dim or const)");
      if (!c.typed) consts_[c.name] = c.value;
    }
    for (const auto& d : p_.decls) declare(d);
    for (const auto& c : p_.consts)
      if (c.typed) declare_const(c);
    for (const auto& e : p_.equations) equation(e);
    if (p_.tensor_outputs.empty()) {
      for (const auto& name : defined_order_) g_.output(tensors_.at(name).v, name);
    } else {
      for (const auto& o : p_.tensor_outputs) {
        auto it = tensors_.find(o.name);
        if (it == tensors_.end())
          TL_THROW(ValueError, where(p_.source, o.loc), "output '", o.name, "' is not a declared or defined tensor");
        g_.output(it->second.v, o.name);
      }
    }
    return std::move(g_);
  }

 private:
  void declare(const TensorDecl& d) {
    if (tensors_.count(d.name))
      TL_THROW(ValueError, where(p_.source, d.loc), "tensor '", d.name, "' declared twice");
    if (!is_valid_value_name(d.name))
      TL_THROW(ValueError, where(p_.source, d.loc), "bad tensor name '", d.name, "'");
    Shape shape;
    for (const auto& s : d.shape) {
      if (s.name.empty()) {
        shape.push_back(s.value);
        continue;
      }
      auto it = dims_.find(s.name);
      if (it == dims_.end())
        TL_THROW(ValueError, where(p_.source, s.loc), "undefined dimension '", s.name, "' in the shape of '",
                 d.name, "' (declare it with: dim ", s.name, " = SIZE)");
      shape.push_back(it->second);
    }
    DType dt = d.dtype.empty() ? DType::f32 : dtype_from_name(d.dtype);
    Value v = d.is_param ? g_.param(d.name, dt, shape) : g_.input(d.name, dt, shape);
    tensors_[d.name] = Defined{v, d.loc, true};
  }

  void declare_const(const ConstDecl& c) {
    if (tensors_.count(c.name))
      TL_THROW(ValueError, where(p_.source, c.loc), "tensor '", c.name, "' declared twice");
    if (!is_valid_value_name(c.name))
      TL_THROW(ValueError, where(p_.source, c.loc), "bad tensor name '", c.name, "'");
    tensors_[c.name] = Defined{g_.constant(const_tensor(c, p_.source), c.name), c.loc, true};
  }

  // `op(A, B, key=value)` on whole tensors (bare names): an op of the graph IR, not an index expression.
  bool is_op_call(const Expr& e) const {
    if (e.kind != ExprKind::call) return false;
    if (!e.kwargs.empty()) return true;
    if (!is_equation_function(e.name) && is_registered_op(e.name)) return true;
    if (e.args.empty()) return false;
    for (const auto& a : e.args)
      if (a->kind != ExprKind::name || !tensors_.count(a->name)) return false;
    return true;
  }

  // Y[i, j, k] = op(A, B, key=value): the left-hand side's indices name the output's axes.
  void op_equation(const Equation& eq) {
    const Expr& e = *eq.rhs;
    const std::string at = where(p_.source, e.loc);
    OpCall oc = resolve_op_call(e, p_.source);
    std::vector<Value> ins;
    for (size_t i = 0; i < e.args.size(); ++i) {
      const Expr& a = *e.args[i];
      if (a.kind != ExprKind::name)
        TL_THROW(ParseError, where(p_.source, a.loc), "op '", e.name, "': argument ", i,
                 " must be a whole tensor (a bare name such as X, not an expression or X[i, j])");
      auto it = tensors_.find(a.name);
      if (it == tensors_.end())
        TL_THROW(ParseError, where(p_.source, a.loc), "op '", e.name, "': argument ", i, " '", a.name,
                 "' is not a declared or defined tensor");
      ins.push_back(it->second.v);
    }
    if (eq.accum != Accum::assign || eq.norm_axis >= 0)
      TL_THROW(ParseError, where(p_.source, eq.loc), "op call '", e.name,
               "' must be assigned with '=' and no normalisation dot");
    if (tensors_.count(eq.lhs))
      TL_THROW(ValueError, where(p_.source, eq.loc), "'", eq.lhs,
               "' is already defined; an op call defines a new tensor");
    if (!is_valid_value_name(eq.lhs))
      TL_THROW(ValueError, where(p_.source, eq.loc), "bad tensor name '", eq.lhs, "'");
    Value v;
    try {
      v = g_.add_op(oc.kind, oc.attrs, ins);
    } catch (const ShapeError& x) {
      TL_THROW(ShapeError, at, "op '", e.name, "': ", x.what());
    } catch (const ValueError& x) {
      TL_THROW(ValueError, at, "op '", e.name, "': ", x.what());
    }
    const Shape& s = g_.shape(v);
    if (s.size() != eq.lhs_index.size())
      TL_THROW(ShapeError, where(p_.source, eq.loc), "op '", e.name, "' gives ", s.size(), " dims ", shape_str(s),
               " but '", eq.lhs, "' is indexed with ", eq.lhs_index.size());
    for (size_t i = 0; i < eq.lhs_index.size(); ++i)
      for (size_t j = 0; j < i; ++j)
        if (eq.lhs_index[i].label == eq.lhs_index[j].label)
          TL_THROW(ValueError, where(p_.source, eq.lhs_index[i].loc), "index '", eq.lhs_index[i].label,
                   "' repeated on the left-hand side of '", eq.lhs, "'");
    tensors_[eq.lhs] = Defined{v, eq.loc, false};
    defined_order_.push_back(eq.lhs);
  }

  // ---- Per-equation label table
  int label_id(const IndexTerm& t) {
    for (size_t i = 0; i < names_.size(); ++i)
      if (names_[i] == t.label) return int(i);
    if (names_.size() >= 52)
      TL_THROW(ValueError, where(p_.source, t.loc), "too many distinct indices in one equation (at most 52)");
    names_.push_back(t.label);
    sizes_.push_back(-1);
    size_from_.push_back("");
    return int(names_.size()) - 1;
  }
  static char letter(int id) { return id < 26 ? char('a' + id) : char('A' + id - 26); }

  // Walks the right-hand side: every tensor defined, ranks right, index sizes consistent.
  void check(const Expr& e) {
    if (is_op_call(e))
      TL_THROW(ParseError, where(p_.source, e.loc), "op call '", e.name,
               "(...)' works on whole tensors and must be the whole right-hand side of its equation");
    switch (e.kind) {
      case ExprKind::ref: {
        auto it = tensors_.find(e.name);
        if (it == tensors_.end())
          TL_THROW(ValueError, where(p_.source, e.loc), "undefined tensor '", e.name,
                   "' (declare it with input/param or define it by an earlier equation)");
        const Shape& s = g_.shape(it->second.v);
        if (s.size() != e.index.size())
          TL_THROW(ShapeError, where(p_.source, e.loc), "tensor '", e.name, "' has ", s.size(), " dims ",
                   shape_str(s), " but is indexed with ", e.index.size());
        for (size_t i = 0; i < s.size(); ++i) {
          int id = label_id(e.index[i]);
          int64_t n = slice_of(e, i, s[i]).size;
          std::string from = detail::cat(e.name, " dim ", i, e.index[i].slice ? " (sliced)" : "");
          if (sizes_[id] < 0) {
            sizes_[id] = n;
            size_from_[id] = from;
          } else if (sizes_[id] != n) {
            TL_THROW(ShapeError, where(p_.source, e.index[i].loc), "index '", names_[id], "' has size ",
                     sizes_[id], " from ", size_from_[id], " but size ", n, " from ", from);
          }
        }
        break;
      }
      case ExprKind::name:
        if (!dims_.count(e.name) && !consts_.count(e.name))
          TL_THROW(ValueError, where(p_.source, e.loc), "undefined name '", e.name,
                   "' (a scalar must be a declared dim or const; a tensor needs its indices, e.g. ", e.name,
                   "[i])");
        break;
      case ExprKind::product:
        for (const auto& f : e.factors) check(*f.expr);
        break;
      default:
        for (const auto& a : e.args) check(*a);
    }
  }

  void equation(const Equation& eq) {
    if (is_op_call(*eq.rhs)) return op_equation(eq);
    names_.clear();
    sizes_.clear();
    size_from_.clear();
    cur_ = &eq;
    check(*eq.rhs);
    // A tensor that already has an equation fixes its indices' sizes (so `S[i] += 1` works).
    if (auto prev = tensors_.find(eq.lhs); prev != tensors_.end() && !prev->second.declared) {
      const Shape& s = g_.shape(prev->second.v);
      if (s.size() != eq.lhs_index.size())
        TL_THROW(ShapeError, where(p_.source, eq.loc), "'", eq.lhs, "' has ", s.size(), " dims ",
                 shape_str(s), " from its earlier equation at line ", prev->second.loc.line,
                 " but is indexed with ", eq.lhs_index.size());
      for (size_t i = 0; i < s.size(); ++i) {
        int id = label_id(eq.lhs_index[i]);
        if (sizes_[id] < 0) {
          sizes_[id] = s[i];
          size_from_[id] = detail::cat(eq.lhs, " dim ", i);
        }
      }
    }
    lhs_.clear();
    for (const auto& t : eq.lhs_index) {
      int id = label_id(t);
      if (std::count(lhs_.begin(), lhs_.end(), id))
        TL_THROW(ValueError, where(p_.source, t.loc), "index '", t.label,
                 "' repeated on the left-hand side of '", eq.lhs, "'");
      if (sizes_[id] < 0)
        TL_THROW(ShapeError, where(p_.source, t.loc), "index '", t.label, "' of '", eq.lhs,
                 "' does not appear on the right-hand side, so its size is unknown");
      lhs_.push_back(id);
    }
    proj_ = eq.accum == Accum::max   ? ReduceOp::max
            : eq.accum == Accum::min ? ReduceOp::min
            : eq.accum == Accum::avg ? ReduceOp::mean
                                     : ReduceOp::sum;
    CV r = canonical(*eq.rhs);
    Value v = materialize(r, lhs_);
    auto it = tensors_.find(eq.lhs);
    if (it == tensors_.end()) {
      if (!is_valid_value_name(eq.lhs))
        TL_THROW(ValueError, where(p_.source, eq.loc), "bad tensor name '", eq.lhs, "'");
      tensors_[eq.lhs] = Defined{v, eq.loc, false};
      defined_order_.push_back(eq.lhs);
      return;
    }
    Defined& d = it->second;
    if (d.declared)
      TL_THROW(ValueError, where(p_.source, eq.loc), "cannot assign to '", eq.lhs,
               "': it is a declared input/param");
    if (g_.shape(d.v) != g_.shape(v))
      TL_THROW(ShapeError, where(p_.source, eq.loc), "'", eq.lhs, "' has shape ", shape_str(g_.shape(v)),
               " here but ", shape_str(g_.shape(d.v)), " in its earlier equation at line ", d.loc.line);
    BinaryOp combine = eq.accum == Accum::max   ? BinaryOp::max
                       : eq.accum == Accum::min ? BinaryOp::min
                                                : BinaryOp::add;
    d.v = g_.binary(combine, d.v, v);
  }

  // Position of each label in the left-hand side (for canonical order); labels not there sort last.
  int lhs_pos(int id) const {
    for (size_t i = 0; i < lhs_.size(); ++i)
      if (lhs_[i] == id) return int(i);
    return -1;
  }
  bool in_lhs(int id) const { return lhs_pos(id) >= 0; }

  Value scalar(double c) { return g_.constant(Tensor::scalar(float(c))); }

  // A value with exactly the axes `want` (canonical labels), broadcasting with size-1 axes / zeros.
  Value materialize(const CV& x, const std::vector<int>& want) {
    Shape full;
    for (int id : want) full.push_back(sizes_[id]);
    if (x.is_const) return g_.constant(Tensor::full(full, x.c));
    if (x.labels == want) return x.v;
    Value r = align(x, want);
    return g_.add(r, g_.constant(Tensor::zeros(full)));
  }

  // Reshapes a canonical value so it broadcasts against `to` (a canonical superset of its labels).
  Value align(const CV& x, const std::vector<int>& to) {
    if (x.labels == to) return x.v;
    // Trailing axes broadcast as they are (NumPy aligns from the right): no reshape needed.
    if (x.labels.size() <= to.size() && std::equal(x.labels.begin(), x.labels.end(), to.end() - x.labels.size()))
      return x.v;
    Shape s;
    for (int id : to) s.push_back(std::count(x.labels.begin(), x.labels.end(), id) ? sizes_[id] : 1);
    return g_.reshape(x.v, s);
  }

  std::vector<int> union_canonical(const std::vector<int>& a, const std::vector<int>& b) const {
    std::vector<int> u;
    for (int id : lhs_)
      if (std::count(a.begin(), a.end(), id) || std::count(b.begin(), b.end(), id)) u.push_back(id);
    return u;
  }

  CV binary(BinaryOp op, const CV& a, const CV& b) {
    if (a.is_const && b.is_const) {
      double r = 0;
      switch (op) {
        case BinaryOp::add:
          r = a.c + b.c;
          break;
        case BinaryOp::sub:
          r = a.c - b.c;
          break;
        case BinaryOp::mul:
          r = a.c * b.c;
          break;
        case BinaryOp::div:
          r = a.c / b.c;
          break;
        case BinaryOp::max:
          r = std::max(a.c, b.c);
          break;
        case BinaryOp::min:
          r = std::min(a.c, b.c);
          break;
        case BinaryOp::pow:
          r = std::pow(a.c, b.c);
          break;
        default:
          TL_CHECK(false, "unexpected binary op");
      }
      return CV{true, r, {}, {}};
    }
    CV out;
    out.labels = union_canonical(a.labels, b.labels);
    Value va = a.is_const ? scalar(a.c) : align(a, out.labels);
    Value vb = b.is_const ? scalar(b.c) : align(b, out.labels);
    out.v = g_.binary(op, va, vb);
    return out;
  }

  // A single tensor reference or product: one einsum keeping the left-hand side's indices.
  CV product(const std::vector<const Expr*>& factors, const std::vector<const Expr*>& divisors, Loc loc) {
    double c = 1;
    std::vector<Value> ops;
    std::vector<std::vector<int>> labels;
    for (const Expr* f : factors) {
      if (f->kind == ExprKind::ref) {
        ops.push_back(shifted(*f));
        std::vector<int> ls;
        for (const auto& t : f->index) ls.push_back(label_id(t));
        labels.push_back(ls);
        continue;
      }
      CV x = canonical(*f);
      if (x.is_const) {
        c *= x.c;
      } else {
        ops.push_back(x.v);
        labels.push_back(x.labels);
      }
    }
    CV r;
    if (ops.empty()) {
      r = CV{true, c, {}, {}};
    } else {
      std::vector<int> all;  // every label, left-hand side order first
      for (int id : lhs_)
        for (const auto& ls : labels)
          if (std::count(ls.begin(), ls.end(), id) && !std::count(all.begin(), all.end(), id))
            all.push_back(id);
      std::vector<int> kept = all;
      for (const auto& ls : labels)
        for (int id : ls)
          if (!std::count(all.begin(), all.end(), id)) all.push_back(id);
      bool sum = proj_ == ReduceOp::sum || all.size() == kept.size();
      const std::vector<int>& out = sum ? kept : all;
      // Two factors and nothing summed: an elementwise product (broadcast by name) is a `mul`, not an einsum.
      auto canonical_order = [&](const std::vector<int>& ls) {
        for (size_t i = 0; i < ls.size(); ++i)
          if (lhs_pos(ls[i]) < 0 || (i && lhs_pos(ls[i]) <= lhs_pos(ls[i - 1]))) return false;
        return true;
      };
      if (ops.size() == 2 && all.size() == kept.size() && canonical_order(labels[0]) && canonical_order(labels[1])) {
        r = binary(BinaryOp::mul, CV{false, 0, ops[0], labels[0]}, CV{false, 0, ops[1], labels[1]});
      } else if (ops.size() == 1 && labels[0] == out) {
        r.v = ops[0];
      } else {
        std::string spec;
        for (size_t i = 0; i < ops.size(); ++i) {
          if (i) spec += ',';
          for (int id : labels[i]) spec += letter(id);
        }
        spec += "->";
        for (int id : out) spec += letter(id);
        r.v = g_.einsum(spec, ops);
      }
      if (!sum) {
        std::vector<int> axes;
        for (size_t i = kept.size(); i < all.size(); ++i) axes.push_back(int(i));
        r.v = g_.reduce(proj_, r.v, axes);
      }
      r.labels = kept;
      if (c != 1) r = binary(BinaryOp::mul, r, CV{true, c, {}, {}});
    }
    for (const Expr* d : divisors) r = binary(BinaryOp::div, r, canonical(*d));
    (void)loc;
    return r;
  }

  // The NumPy slice `start:stop:step` of an axis of size n, resolved (negative bounds count from the end,
  // then clamp to [0, n]); a plain index is the whole axis. An empty slice is an error.
  struct AxisSlice {
    int64_t start = 0, stop = 0, step = 1, size = 0;
  };
  AxisSlice slice_of(const Expr& ref, size_t axis, int64_t n) const {
    const IndexTerm& t = ref.index[axis];
    if (!t.slice) return AxisSlice{0, n, 1, n};
    auto resolve = [n](bool has, long long v, int64_t dflt) {
      if (!has) return dflt;
      int64_t x = v < 0 ? v + n : v;
      return std::clamp<int64_t>(x, 0, n);
    };
    AxisSlice s;
    s.start = resolve(t.has_start, t.start, 0);
    s.stop = resolve(t.has_stop, t.stop, n);
    s.step = t.step;
    s.size = s.stop > s.start ? (s.stop - s.start + s.step - 1) / s.step : 0;
    if (s.size == 0)
      TL_THROW(ShapeError, where(p_.source, t.loc), "slice of index '", t.label, "' selects nothing from ",
               ref.name, " dim ", axis, " of size ", n);
    return s;
  }

  // X[p=a:b:c, ...] takes the slice; X[p+c, ...]: along each offset axis, element p reads X[p+c], zero where
  // p+c falls outside (same size).
  Value shifted(const Expr& ref) {
    Value v = tensors_.at(ref.name).v;
    for (size_t ax = 0; ax < ref.index.size(); ++ax) {
      if (ref.index[ax].slice) {
        int64_t n = g_.shape(v)[ax];
        AxisSlice s = slice_of(ref, ax, n);
        if (s.size != n) v = g_.slice(v, int(ax), s.start, s.stop, s.step);
        continue;
      }
      int64_t c = ref.index[ax].offset;
      if (c == 0) continue;
      Shape s = g_.shape(v);
      int64_t n = s[ax], k = std::min<int64_t>(c > 0 ? c : -c, n);
      s[ax] = k;
      Value zeros = g_.constant(Tensor::zeros(s));
      if (k == n) {
        v = zeros;
      } else if (c > 0) {
        v = g_.concat({g_.slice(v, int(ax), k, n), zeros}, int(ax));
      } else {
        v = g_.concat({zeros, g_.slice(v, int(ax), 0, n - k)}, int(ax));
      }
    }
    return v;
  }

  CV call(const Expr& e) {
    const std::string& f = e.name;
    auto nargs = [&](size_t n) {
      if (e.args.size() != n)
        TL_THROW(ValueError, where(p_.source, e.loc), "function '", f, "' takes ", n, " argument",
                 n == 1 ? "" : "s", ", got ", e.args.size());
    };
    if (f == "max" || f == "min" || f == "pow") {
      nargs(2);
      BinaryOp op = f == "max" ? BinaryOp::max : f == "min" ? BinaryOp::min : BinaryOp::pow;
      return binary(op, canonical(*e.args[0]), canonical(*e.args[1]));
    }
    if (f == "softmax" || f == "layer_norm" || f == "rms_norm" || f == "lnorm") {
      nargs(1);
      if (cur_->norm_axis < 0)
        TL_THROW(ValueError, where(p_.source, e.loc), f,
                 " needs a normalised index: mark it with a trailing dot on the "
                 "left-hand side, e.g. ",
                 cur_->lhs, "[p, q.]");
      int nid = lhs_[size_t(cur_->norm_axis)];
      CV x = canonical(*e.args[0]);
      auto pos = std::find(x.labels.begin(), x.labels.end(), nid);
      if (x.is_const || pos == x.labels.end())
        TL_THROW(ShapeError, where(p_.source, e.loc), f, " normalises index '", names_[nid],
                 "' but its argument does not have that index");
      int axis = int(pos - x.labels.begin());
      if (f == "softmax") return CV{false, 0, g_.softmax(x.v, axis), x.labels};
      // Norms work on the last axis: move the normalised one there and back.
      int r = int(x.labels.size());
      std::vector<int> perm;
      for (int i = 0; i < r; ++i)
        if (i != axis) perm.push_back(i);
      perm.push_back(axis);
      Value v = axis == r - 1 ? x.v : g_.transpose(x.v, perm);
      v = f == "rms_norm" ? g_.rms_norm(v, std::nullopt) : g_.layer_norm(v, std::nullopt, std::nullopt);
      if (axis != r - 1) {
        std::vector<int> inv(size_t(r), 0);
        for (int i = 0; i < r; ++i) inv[size_t(perm[size_t(i)])] = i;
        v = g_.transpose(v, inv);
      }
      return CV{false, 0, v, x.labels};
    }
    if (f == "sigmoid" && e.args.size() == 2) {  // sigmoid(x, T) = sigmoid(x / T): temperature T
      CV x = binary(BinaryOp::div, canonical(*e.args[0]), canonical(*e.args[1]));
      if (x.is_const) return CV{true, 1 / (1 + std::exp(-x.c)), {}, {}};
      return CV{false, 0, g_.unary(UnaryOp::sigmoid, x.v), x.labels};
    }
    std::string uname = f == "gelu" ? "gelu_erf" : f;
    auto op = unary_op_from_name(uname);
    if (!op || *op == UnaryOp::logical_not)
      TL_THROW(ValueError, where(p_.source, e.loc), "unknown function '", f,
               "' (known: relu, sigmoid, sigmoid(x, T), tanh, exp, log, sqrt, rsqrt, abs, neg, gelu, "
               "gelu_tanh, silu, step, "
               "softmax, layer_norm, rms_norm, max, min, pow)");
    nargs(1);
    CV x = canonical(*e.args[0]);
    if (x.is_const) {
      double v = x.c;
      switch (*op) {
        case UnaryOp::neg:
          return CV{true, -v, {}, {}};
        case UnaryOp::abs:
          return CV{true, std::fabs(v), {}, {}};
        case UnaryOp::exp:
          return CV{true, std::exp(v), {}, {}};
        case UnaryOp::log:
          return CV{true, std::log(v), {}, {}};
        case UnaryOp::sqrt:
          return CV{true, std::sqrt(v), {}, {}};
        case UnaryOp::rsqrt:
          return CV{true, 1 / std::sqrt(v), {}, {}};
        case UnaryOp::tanh:
          return CV{true, std::tanh(v), {}, {}};
        case UnaryOp::relu:
          return CV{true, v > 0 ? v : 0, {}, {}};
        case UnaryOp::step:
          return CV{true, v > 0 ? 1.0 : 0.0, {}, {}};
        default:
          return CV{false, 0, g_.unary(*op, scalar(v)), {}};
      }
    }
    return CV{false, 0, g_.unary(*op, x.v), x.labels};
  }

  CV canonical(const Expr& e) {
    switch (e.kind) {
      case ExprKind::number:
        return CV{true, e.number, {}, {}};
      case ExprKind::name:
        if (auto c = consts_.find(e.name); c != consts_.end()) return CV{true, c->second, {}, {}};
        return CV{true, double(dims_.at(e.name)), {}, {}};
      case ExprKind::ref:
        return product({&e}, {}, e.loc);
      case ExprKind::product: {
        std::vector<const Expr*> fs, ds;
        for (const auto& f : e.factors) (f.divide ? ds : fs).push_back(f.expr.get());
        return product(fs, ds, e.loc);
      }
      case ExprKind::neg: {
        CV x = canonical(*e.args[0]);
        if (x.is_const) return CV{true, -x.c, {}, {}};
        return CV{false, 0, g_.unary(UnaryOp::neg, x.v), x.labels};
      }
      case ExprKind::add:
        return binary(BinaryOp::add, canonical(*e.args[0]), canonical(*e.args[1]));
      case ExprKind::sub:
        return binary(BinaryOp::sub, canonical(*e.args[0]), canonical(*e.args[1]));
      case ExprKind::call:
        return call(e);
    }
    TL_CHECK(false, "unknown expression kind");
  }

  const ProgramAst& p_;
  Graph g_;
  std::map<std::string, int64_t> dims_;
  std::map<std::string, double> consts_;
  std::map<std::string, Defined> tensors_;
  std::vector<std::string> defined_order_;
  // Current equation
  const Equation* cur_ = nullptr;
  std::vector<std::string> names_;
  std::vector<int64_t> sizes_;
  std::vector<std::string> size_from_;
  std::vector<int> lhs_;
  ReduceOp proj_ = ReduceOp::sum;
};

}  // namespace

Graph compile_equations(const ProgramAst& p) {
  return EquationCompiler(p).run();
}

}  // namespace tl::logic
