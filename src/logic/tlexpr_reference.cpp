// The brute-force reference for TLExpr: evaluates an expression at every assignment of its free variables by
// recursion in double precision, looping over domains for quantifiers and aggregates. No graph, no kernels.
// compile() is tested against this; the preset formulas below are the definitions (see include/tl/tlexpr.h).
#include <algorithm>
#include <cmath>
#include <optional>
#include <unordered_map>

#include "tl/error.h"
#include "tl/tlexpr.h"
#include "tlexpr_internal.h"

namespace tl::tlexpr {
namespace detail {

bool compare_values(CmpOp op, double a, double b) {
  switch (op) {
    case CmpOp::eq: return a == b;
    case CmpOp::ne: return a != b;
    case CmpOp::lt: return a < b;
    case CmpOp::le: return a <= b;
    case CmpOp::gt: return a > b;
    case CmpOp::ge: return a >= b;
  }
  return false;
}

static void collect_preds(const Expr& e, std::vector<Predicate>& out) {
  const ExprNode& n = e.node();
  if (n.kind == ExprKind::pred) {
    for (const Predicate& p : out) {
      if (p.name != n.pred_name) continue;
      if (p.shape != n.pred_shape || p.numeric != n.pred_numeric)
        TL_THROW(ValueError, "[tlexpr] predicate ", p.name, " is used as ", p.numeric ? "numeric " : "",
                 shape_str(p.shape), " and as ", n.pred_numeric ? "numeric " : "", shape_str(n.pred_shape));
      return;
    }
    out.push_back(Predicate{n.pred_name, n.pred_shape, n.pred_numeric});
  }
  for (const Expr& k : n.kids) collect_preds(k, out);
}

std::vector<Predicate> predicates_of(const Expr& e) {
  std::vector<Predicate> out;
  collect_preds(e, out);
  return out;
}

std::map<std::string, Tensor> checked_inputs(const Expr& e, const std::map<std::string, Tensor>& inputs) {
  std::map<std::string, Tensor> out;
  for (const Predicate& p : predicates_of(e)) {
    auto it = inputs.find(p.name);
    if (it == inputs.end()) TL_THROW(ValueError, "[tlexpr] missing input for predicate ", p.name, shape_str(p.shape));
    const Tensor& t = it->second;
    if (!t.defined()) TL_THROW(ValueError, "[tlexpr] input for predicate ", p.name, " is an undefined tensor");
    if (t.shape() != p.shape)
      TL_THROW(ShapeError, "[tlexpr] input for predicate ", p.name, " has shape ", shape_str(t.shape()), ", expected ",
               shape_str(p.shape));
    Tensor f = t.to(DType::f32).contiguous();
    const float* d = f.data<float>();
    for (int64_t i = 0; i < f.numel(); ++i) {
      bool ok = p.numeric ? std::isfinite(d[i]) : (d[i] >= 0.0f && d[i] <= 1.0f);
      if (!ok)
        TL_THROW(ValueError, "[tlexpr] input for predicate ", p.name, " holds ", d[i], " at flat index ", i,
                 p.numeric ? ", expected a finite number" : ", expected a truth value in [0, 1]");
    }
    out.emplace(p.name, f);
  }
  return out;
}

}  // namespace detail

namespace {

struct RefEval {
  const Preset& p;
  const std::map<std::string, Tensor>& in;
  std::unordered_map<std::string, int64_t> env;  // variable -> index

  int64_t term(const Term& t) const {
    if (auto* v = std::get_if<Var>(&t.v)) return env.at(v->name);
    return std::get<int64_t>(t.v);
  }
  double leaf(double a) const {  // boolean thresholds truth values: exact Datalog on any input
    return p.kind == Semantics::boolean ? (a > 0.5 ? 1.0 : 0.0) : a;
  }
  static double clip(double a) { return std::min(1.0, std::max(0.0, a)); }
  // softmax_T-weighted average: tends to max (sign = +1) or min (sign = -1) as T -> 0.
  double soft_avg(const std::vector<double>& xs, double sign) const {
    double m = -INFINITY;
    for (double x : xs) m = std::max(m, sign * x / p.temperature);
    double num = 0, den = 0;
    for (double x : xs) {
      double w = std::exp(sign * x / p.temperature - m);
      num += w * x;
      den += w;
    }
    return clip(num / den);
  }
  double and2(double a, double b) const {
    switch (p.kind) {
      case Semantics::boolean: case Semantics::godel: return std::min(a, b);
      case Semantics::product: return a * b;
      case Semantics::lukasiewicz: return std::max(0.0, a + b - 1.0);
      case Semantics::soft: return soft_avg({a, b}, -1.0);
    }
    return 0;
  }
  double or2(double a, double b) const {
    switch (p.kind) {
      case Semantics::boolean: case Semantics::godel: return std::max(a, b);
      case Semantics::product: return a + b - a * b;
      case Semantics::lukasiewicz: return std::min(1.0, a + b);
      case Semantics::soft: return soft_avg({a, b}, 1.0);
    }
    return 0;
  }
  double implies2(double a, double b) const {
    switch (p.kind) {
      case Semantics::boolean: return std::max(1.0 - a, b);
      case Semantics::godel: return a <= b ? 1.0 : b;
      case Semantics::product: return 1.0 - a + a * b;  // Reichenbach
      case Semantics::lukasiewicz: return std::min(1.0, 1.0 - a + b);
      case Semantics::soft: return or2(1.0 - a, b);
    }
    return 0;
  }
  double quant(bool exist, const std::vector<double>& xs) const {
    double n = double(xs.size());
    switch (p.kind) {
      case Semantics::boolean: case Semantics::godel:
        return exist ? *std::max_element(xs.begin(), xs.end()) : *std::min_element(xs.begin(), xs.end());
      case Semantics::product: {
        double r = 1;
        for (double x : xs) r *= exist ? 1.0 - x : x;
        return exist ? 1.0 - r : r;
      }
      case Semantics::lukasiewicz: {
        double s = 0;
        for (double x : xs) s += x;
        return exist ? std::min(1.0, s) : std::max(0.0, s - (n - 1.0));
      }
      case Semantics::soft: return soft_avg(xs, exist ? 1.0 : -1.0);
    }
    return 0;
  }

  std::vector<double> over(const Var& x, const Expr& body) {
    auto saved = env.find(x.name) != env.end() ? std::optional<int64_t>(env[x.name]) : std::nullopt;
    std::vector<double> xs;
    for (int64_t i = 0; i < x.size; ++i) {
      env[x.name] = i;
      xs.push_back(eval(body));
    }
    if (saved) env[x.name] = *saved;
    else env.erase(x.name);
    return xs;
  }

  double eval(const Expr& e) {
    const ExprNode& n = e.node();
    auto k = [&](int i) { return eval(n.kids[size_t(i)]); };
    switch (n.kind) {
      case ExprKind::pred: {
        std::vector<int64_t> idx;
        for (const Term& t : n.args) idx.push_back(term(t));
        double v = in.at(n.pred_name).get(idx);
        return n.pred_numeric ? v : leaf(v);
      }
      case ExprKind::truth: return leaf(n.value);
      case ExprKind::not_: return 1.0 - k(0);
      case ExprKind::and_: return and2(k(0), k(1));
      case ExprKind::or_: return or2(k(0), k(1));
      case ExprKind::implies: return implies2(k(0), k(1));
      case ExprKind::exists: return quant(true, over(n.var, n.kids[0]));
      case ExprKind::forall: return quant(false, over(n.var, n.kids[0]));
      case ExprKind::compare:
        if (n.kids.empty()) return detail::compare_values(n.cmp, double(term(n.args[0])), double(term(n.args[1])));
        return detail::compare_values(n.cmp, k(0), k(1)) ? 1.0 : 0.0;
      case ExprKind::number: return n.value;
      case ExprKind::index: return double(env.at(n.var.name));
      case ExprKind::add: return k(0) + k(1);
      case ExprKind::sub: return k(0) - k(1);
      case ExprKind::mul: return k(0) * k(1);
      case ExprKind::div: return k(0) / k(1);
      case ExprKind::count: case ExprKind::sum: {
        double s = 0;
        for (double x : over(n.var, n.kids[0])) s += x;
        return s;
      }
      case ExprKind::ite: {
        double c = k(0);
        return c * k(1) + (1.0 - c) * k(2);
      }
      case ExprKind::weighted: return and2(leaf(n.value), k(0));
    }
    return 0;
  }
};

}  // namespace

Tensor eval_reference(const Expr& e, const Preset& p, const std::map<std::string, Tensor>& inputs) {
  if (p.kind == Semantics::soft && !(p.temperature > 0.0f))
    TL_THROW(ValueError, "[tlexpr] soft preset temperature is ", p.temperature, ", expected > 0");
  auto in = detail::checked_inputs(e, inputs);
  std::vector<Var> fv = e.free_vars();
  Shape shape;
  for (const Var& v : fv) shape.push_back(v.size);
  Tensor out = Tensor::zeros(shape);
  RefEval ev{p, in, {}};
  for_each_index(out.shape(), [&](std::span<const int64_t> idx) {
    for (size_t i = 0; i < fv.size(); ++i) ev.env[fv[i].name] = idx[i];
    out.set(idx, ev.eval(e));
  });
  return out;
}

}  // namespace tl::tlexpr
