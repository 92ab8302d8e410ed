// Compiles a TLExpr to the graph IR. Each subexpression becomes one value whose axes are its free variables in
// order; operands of binary connectives are aligned to the union of their variables (transpose + size-1 dims)
// and broadcast by the elementwise ops; quantifiers and aggregates reduce the axis of their variable.
#include <algorithm>
#include <cmath>

#include "tl/error.h"
#include "tl/runtime.h"
#include "tl/tlexpr.h"
#include "tlexpr_internal.h"

namespace tl::tlexpr {
namespace {

struct CV {
  Value v;
  std::vector<Var> vars;  // the axes of v, in order
};

int find_var(const std::vector<Var>& vs, const std::string& name) {
  for (size_t i = 0; i < vs.size(); ++i)
    if (vs[i].name == name) return int(i);
  return -1;
}

class Compiler {
 public:
  Compiler(Graph& g, const Preset& p, std::map<std::string, Value> inputs) : g_(g), p_(p), inputs_(std::move(inputs)) {}

  CV run(const Expr& e) {
    const ExprNode& n = e.node();
    auto k = [&](int i) { return run(n.kids[size_t(i)]); };
    switch (n.kind) {
      case ExprKind::pred: return pred(n);
      case ExprKind::truth: return {leaf(scalar(n.value)), {}};
      case ExprKind::not_: return negate(k(0));
      case ExprKind::and_: return and2(k(0), k(1));
      case ExprKind::or_: return or2(k(0), k(1));
      case ExprKind::implies: return implies2(k(0), k(1));
      case ExprKind::exists: return quant(true, n.var, k(0));
      case ExprKind::forall: return quant(false, n.var, k(0));
      case ExprKind::compare:
        if (n.kids.empty()) return index_compare(n);
        return numeric_compare(n.cmp, k(0), k(1));
      case ExprKind::number: return {scalar(n.value), {}};
      case ExprKind::index: return index_values(n.var);
      case ExprKind::add: return bin(BinaryOp::add, k(0), k(1));
      case ExprKind::sub: return bin(BinaryOp::sub, k(0), k(1));
      case ExprKind::mul: return bin(BinaryOp::mul, k(0), k(1));
      case ExprKind::div: return bin(BinaryOp::div, k(0), k(1));
      case ExprKind::count: case ExprKind::sum: return reduce(ReduceOp::sum, n.var, k(0));
      case ExprKind::ite: {
        CV c = k(0), a = k(1), b = k(2);
        return bin(BinaryOp::add, bin(BinaryOp::mul, c, a), bin(BinaryOp::mul, negate(c), b));
      }
      case ExprKind::weighted: return and2({leaf(scalar(n.value)), {}}, k(0));
    }
    TL_THROW(InternalError, "[tlexpr] unknown expression kind");
  }

 private:
  Value scalar(double v) { return g_.constant(Tensor::scalar(float(v))); }
  Value leaf(Value v) {  // boolean: threshold at 0.5, step(v - 0.5), so the preset is exact Datalog
    if (p_.kind != Semantics::boolean) return v;
    return g_.unary(UnaryOp::step, g_.sub(v, scalar(0.5)));
  }
  CV clip(CV a) {
    return {g_.binary(BinaryOp::min, g_.binary(BinaryOp::max, a.v, scalar(0.0)), scalar(1.0)), a.vars};
  }

  // Transposes a's axes into the order of `target` (a superset) and inserts size-1 dims for missing variables.
  Value align(const CV& a, const std::vector<Var>& target) {
    if (a.vars.empty()) return a.v;  // scalars broadcast as they are
    std::vector<int> perm;
    for (const Var& t : target) {
      int i = find_var(a.vars, t.name);
      if (i >= 0) perm.push_back(i);
    }
    Value v = a.v;
    bool identity = true;
    for (size_t i = 0; i < perm.size(); ++i) identity = identity && perm[i] == int(i);
    if (!identity) v = g_.transpose(v, perm);
    if (a.vars.size() == target.size()) return v;
    Shape shape;
    for (const Var& t : target) shape.push_back(find_var(a.vars, t.name) >= 0 ? t.size : 1);
    return g_.reshape(v, shape);
  }
  static std::vector<Var> unite(const std::vector<Var>& a, const std::vector<Var>& b) {
    std::vector<Var> u = a;
    for (const Var& v : b)
      if (find_var(u, v.name) < 0) u.push_back(v);
    return u;
  }
  CV bin(BinaryOp op, const CV& a, const CV& b) {
    std::vector<Var> u = unite(a.vars, b.vars);
    return {g_.binary(op, align(a, u), align(b, u)), u};
  }
  CV unary(UnaryOp op, const CV& a) { return {g_.unary(op, a.v), a.vars}; }
  CV with_scalar(BinaryOp op, const CV& a, double s) { return {g_.binary(op, a.v, scalar(s)), a.vars}; }
  CV scalar_with(BinaryOp op, double s, const CV& a) { return {g_.binary(op, scalar(s), a.v), a.vars}; }

  CV negate(const CV& a) { return scalar_with(BinaryOp::sub, 1.0, a); }

  // softmax_T-weighted pair: b + sigmoid(sign*(a-b)/T) * (a-b); sign +1 -> soft max, -1 -> soft min.
  CV soft_pair(const CV& a, const CV& b, double sign) {
    CV d = bin(BinaryOp::sub, a, b);
    CV w = unary(UnaryOp::sigmoid, with_scalar(BinaryOp::mul, d, sign / p_.temperature));
    return clip(bin(BinaryOp::add, bin(BinaryOp::mul, w, d), b));  // axes: union(a, b) in that order
  }

  CV and2(const CV& a, const CV& b) {
    switch (p_.kind) {
      case Semantics::boolean: case Semantics::godel: return bin(BinaryOp::min, a, b);
      case Semantics::product: return bin(BinaryOp::mul, a, b);
      case Semantics::lukasiewicz:  // max(0, a + b - 1)
        return with_scalar(BinaryOp::max, with_scalar(BinaryOp::sub, bin(BinaryOp::add, a, b), 1.0), 0.0);
      case Semantics::soft: return soft_pair(a, b, -1.0);
    }
    TL_THROW(InternalError, "[tlexpr] unknown preset");
  }
  CV or2(const CV& a, const CV& b) {
    switch (p_.kind) {
      case Semantics::boolean: case Semantics::godel: return bin(BinaryOp::max, a, b);
      case Semantics::product:  // a + b - ab
        return bin(BinaryOp::sub, bin(BinaryOp::add, a, b), bin(BinaryOp::mul, a, b));
      case Semantics::lukasiewicz: return with_scalar(BinaryOp::min, bin(BinaryOp::add, a, b), 1.0);
      case Semantics::soft: return soft_pair(a, b, 1.0);
    }
    TL_THROW(InternalError, "[tlexpr] unknown preset");
  }
  CV implies2(const CV& a, const CV& b) {
    switch (p_.kind) {
      case Semantics::boolean: return bin(BinaryOp::max, negate(a), b);
      case Semantics::godel: {  // 1 if a <= b else b
        CV le = bin(BinaryOp::le, a, b);
        CV ab = bin(BinaryOp::add, with_scalar(BinaryOp::mul, a, 0.0), b);  // b over the union of axes
        return {g_.where(le.v, scalar(1.0), ab.v), ab.vars};
      }
      case Semantics::product:  // Reichenbach: 1 - a + ab
        return bin(BinaryOp::add, negate(a), bin(BinaryOp::mul, a, b));
      case Semantics::lukasiewicz:  // min(1, 1 - a + b)
        return with_scalar(BinaryOp::min, bin(BinaryOp::add, negate(a), b), 1.0);
      case Semantics::soft: return or2(negate(a), b);
    }
    TL_THROW(InternalError, "[tlexpr] unknown preset");
  }

  // Gives `body` an axis for x if it lacks one (a quantifier over a variable the body does not mention).
  CV with_axis(const Var& x, CV body) {
    if (find_var(body.vars, x.name) >= 0) return body;
    CV zeros{g_.constant(Tensor::zeros({x.size})), {x}};
    return bin(BinaryOp::add, body, zeros);
  }
  CV reduce(ReduceOp op, const Var& x, CV body) {
    body = with_axis(x, std::move(body));
    int axis = find_var(body.vars, x.name);
    std::vector<Var> rest = body.vars;
    rest.erase(rest.begin() + axis);
    return {g_.reduce(op, body.v, {axis}), rest};
  }
  CV quant(bool exist, const Var& x, CV body) {
    body = with_axis(x, std::move(body));
    double n = double(x.size);
    switch (p_.kind) {
      case Semantics::boolean: case Semantics::godel:
        return reduce(exist ? ReduceOp::max : ReduceOp::min, x, body);
      case Semantics::product:  // exists: 1 - prod(1 - a); forall: prod(a)
        return exist ? negate(reduce(ReduceOp::prod, x, negate(body))) : reduce(ReduceOp::prod, x, body);
      case Semantics::lukasiewicz: {  // exists: min(1, sum a); forall: max(0, sum a - (n - 1))
        CV s = reduce(ReduceOp::sum, x, body);
        return exist ? with_scalar(BinaryOp::min, s, 1.0)
                     : with_scalar(BinaryOp::max, with_scalar(BinaryOp::sub, s, n - 1.0), 0.0);
      }
      case Semantics::soft: {  // sum softmax(+-a/T) * a over x
        int axis = find_var(body.vars, x.name);
        CV scaled = with_scalar(BinaryOp::mul, body, (exist ? 1.0 : -1.0) / p_.temperature);
        CV w{g_.softmax(scaled.v, axis), body.vars};
        return clip(reduce(ReduceOp::sum, x, bin(BinaryOp::mul, w, body)));
      }
    }
    TL_THROW(InternalError, "[tlexpr] unknown preset");
  }

  CV pred(const ExprNode& n) {
    Value v = inputs_.at(n.pred_name);  // [pred_shape...]
    // Constants: slice out (keeping dims), then drop those dims with one reshape.
    std::vector<Term> var_args;
    Shape kept;
    bool any_const = false;
    for (size_t i = 0; i < n.args.size(); ++i) {
      if (auto* c = std::get_if<int64_t>(&n.args[i].v)) {
        v = g_.slice(v, int(i), *c, *c + 1);
        any_const = true;
      } else {
        var_args.push_back(n.args[i]);
        kept.push_back(n.pred_shape[i]);
      }
    }
    if (any_const) v = g_.reshape(v, kept);
    // Repeated variables (P(x, x)): take the diagonal with an einsum, e.g. "aab->ab".
    std::vector<Var> vars = detail::term_vars(var_args);
    if (vars.size() != var_args.size()) {
      std::string lhs, rhs;
      for (const Term& t : var_args) lhs += char('a' + find_var(vars, std::get<Var>(t.v).name));
      for (size_t i = 0; i < vars.size(); ++i) rhs += char('a' + i);
      v = g_.einsum(lhs + "->" + rhs, {v});
    }
    if (!n.pred_numeric) v = leaf(v);
    return {v, vars};
  }

  CV index_values(const Var& x) {
    Tensor t = Tensor::empty({x.size});  // [x]
    for (int64_t i = 0; i < x.size; ++i) t.data<float>()[i] = float(i);
    return {g_.constant(t), {x}};
  }
  CV index_compare(const ExprNode& n) {
    std::vector<Var> vars = detail::term_vars(n.args);
    Shape shape;
    for (const Var& v : vars) shape.push_back(v.size);
    Tensor t = Tensor::zeros(shape);  // [vars...]: 1 where the comparison holds
    auto at = [&](const Term& term, std::span<const int64_t> idx) -> double {
      if (auto* v = std::get_if<Var>(&term.v)) return double(idx[size_t(find_var(vars, v->name))]);
      return double(std::get<int64_t>(term.v));
    };
    for_each_index(shape, [&](std::span<const int64_t> idx) {
      t.set(idx, detail::compare_values(n.cmp, at(n.args[0], idx), at(n.args[1], idx)) ? 1.0 : 0.0);
    });
    return {g_.constant(t), vars};
  }
  CV numeric_compare(CmpOp op, const CV& a, const CV& b) {
    static constexpr BinaryOp ops[] = {BinaryOp::eq, BinaryOp::ne, BinaryOp::lt,
                                       BinaryOp::le, BinaryOp::gt, BinaryOp::ge};
    CV c = bin(ops[int(op)], a, b);
    return {g_.cast(c.v, DType::f32), c.vars};
  }

  Graph& g_;
  const Preset& p_;
  std::map<std::string, Value> inputs_;
};

}  // namespace

Compiled compile(const Expr& e, const Preset& p) {
  if (p.kind == Semantics::soft && !(p.temperature > 0.0f))
    TL_THROW(ValueError, "[tlexpr] soft preset temperature is ", p.temperature, ", expected > 0");
  Compiled c{Graph("tlexpr"), e.free_vars(), detail::predicates_of(e)};
  // Inputs first, so that no automatic name (%0, %1, ...) can take a predicate's name.
  std::map<std::string, Value> inputs;
  for (const Predicate& q : c.predicates) {
    if (q.name == "result")
      TL_THROW(ValueError, "[tlexpr] predicate name 'result' is reserved for the compiled graph's output");
    inputs[q.name] = c.graph.input(q.name, q.shape);
  }
  Compiler comp(c.graph, p, std::move(inputs));
  CV r = comp.run(e);
  TL_CHECK(r.vars.size() == c.free_vars.size(), "compiled axes disagree with free_vars()");
  for (size_t i = 0; i < r.vars.size(); ++i)
    TL_CHECK(r.vars[i].name == c.free_vars[i].name, "compiled axis order disagrees with free_vars()");
  // A bare input or constant cannot be an output under a second name; copy through an add of 0.
  Value out = c.graph.add(r.v, c.graph.constant(Tensor::scalar(0.0f)), "result");
  c.graph.output(out, "result");
  return c;
}

Tensor evaluate(const Expr& e, const Preset& p, const std::map<std::string, Tensor>& inputs) {
  Compiled c = compile(e, p);
  auto in = detail::checked_inputs(e, inputs);
  return run_graph(c.graph, in).at("result");
}

}  // namespace tl::tlexpr
