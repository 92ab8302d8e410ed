// TLExpr constructors: each checks its operands (kinds, variable domains) and throws a typed error naming the
// operand, the expected and the actual; free-variable order; printing.
#include <cmath>
#include <sstream>

#include "tl/error.h"
#include "tl/tlexpr.h"
#include "tlexpr_internal.h"

namespace tl::tlexpr {

std::string_view semantics_name(Semantics s) {
  switch (s) {
    case Semantics::boolean: return "boolean";
    case Semantics::godel: return "godel";
    case Semantics::product: return "product";
    case Semantics::lukasiewicz: return "lukasiewicz";
    case Semantics::soft: return "soft";
  }
  return "?";
}

ExprKind Expr::kind() const { return n_->kind; }

bool Expr::is_numeric() const {
  switch (n_->kind) {
    case ExprKind::pred: return n_->pred_numeric;
    case ExprKind::number: case ExprKind::index: case ExprKind::add: case ExprKind::sub: case ExprKind::mul:
    case ExprKind::div: case ExprKind::count: case ExprKind::sum:
      return true;
    case ExprKind::ite: return n_->kids[1].is_numeric();
    default: return false;
  }
}

namespace detail {

void add_var(std::vector<Var>& vars, const Var& v) {
  for (const Var& w : vars) {
    if (w.name == v.name) {
      if (w.size != v.size)
        TL_THROW(ValueError, "[tlexpr] variable '", v.name, "' has domain size ", v.size, " here but ", w.size,
                 " elsewhere");
      return;
    }
  }
  vars.push_back(v);
}

std::vector<Var> term_vars(const std::vector<Term>& ts) {
  std::vector<Var> out;
  for (const Term& t : ts)
    if (auto* v = std::get_if<Var>(&t.v)) add_var(out, *v);
  return out;
}

// Free variables; also checks that every occurrence (free or bound) of a name has one domain size, via `all`.
static std::vector<Var> collect(const Expr& e, std::vector<Var>& all) {
  const ExprNode& n = e.node();
  switch (n.kind) {
    case ExprKind::pred:
    case ExprKind::compare:
      if (n.kids.empty()) {
        auto vs = term_vars(n.args);
        for (const Var& v : vs) add_var(all, v);
        return vs;
      }
      break;
    case ExprKind::index:
      add_var(all, n.var);
      return {n.var};
    case ExprKind::exists: case ExprKind::forall: case ExprKind::count: case ExprKind::sum: {
      add_var(all, n.var);
      auto body = collect(n.kids[0], all);
      std::vector<Var> out;
      for (const Var& v : body)
        if (v.name != n.var.name) out.push_back(v);
      return out;
    }
    default: break;
  }
  std::vector<Var> out;
  for (const Expr& k : n.kids)
    for (const Var& v : collect(k, all)) add_var(out, v);
  return out;
}

}  // namespace detail

std::vector<Var> Expr::free_vars() const {
  std::vector<Var> all;
  return detail::collect(*this, all);
}

namespace {

void check_var(const Var& x, const char* where) {
  if (x.name.empty()) TL_THROW(ValueError, "[tlexpr] ", where, ": variable name is empty");
  if (x.size < 1)
    TL_THROW(ValueError, "[tlexpr] ", where, ": variable '", x.name, "' has domain size ", x.size,
             ", expected >= 1");
}

ExprNode nd(ExprKind k, std::vector<Expr> kids) {
  ExprNode n;
  n.kind = k;
  n.kids = std::move(kids);
  return n;
}

Expr make(ExprNode n) {
  Expr e(std::make_shared<const ExprNode>(std::move(n)));
  (void)e.free_vars();  // throws when one name has two domain sizes
  return e;
}

void need_truth(const Expr& e, const char* op, int i) {
  if (e.is_numeric())
    TL_THROW(ValueError, "[tlexpr] ", op, " operand ", i, " must be a truth value, got numeric expression ", e.str());
}

Expr logic2(ExprKind k, const char* op, const Expr& a, const Expr& b) {
  need_truth(a, op, 0);
  need_truth(b, op, 1);
  return make(nd(k, {a, b}));
}

Expr bind(ExprKind k, const char* op, const Var& x, const Expr& body, bool truth_body) {
  check_var(x, op);
  if (truth_body) need_truth(body, op, 0);
  ExprNode n = nd(k, {body});
  n.var = x;
  return make(std::move(n));
}

void check_term(const Term& t, const char* op) {
  if (auto* v = std::get_if<Var>(&t.v)) check_var(*v, op);
}

}  // namespace

Expr Predicate::operator()(std::vector<Term> args) const {
  if (name.empty()) TL_THROW(ValueError, "[tlexpr] predicate name is empty");
  if (!is_valid_value_name(name))
    TL_THROW(ValueError, "[tlexpr] predicate name '", name, "' is not a valid graph value name");
  if (args.size() != shape.size())
    TL_THROW(ShapeError, "[tlexpr] predicate ", name, " has ", shape.size(), " dims (shape ", shape_str(shape),
             ") but is applied to ", args.size(), " arguments");
  for (size_t i = 0; i < args.size(); ++i) {
    if (auto* v = std::get_if<Var>(&args[i].v)) {
      check_var(*v, "predicate argument");
      if (v->size != shape[i])
        TL_THROW(ShapeError, "[tlexpr] predicate ", name, " argument ", i, " (variable '", v->name,
                 "') has domain size ", v->size, " but dim ", i, " of the predicate is ", shape[i]);
    } else {
      int64_t c = std::get<int64_t>(args[i].v);
      if (c < 0 || c >= shape[i])
        TL_THROW(ValueError, "[tlexpr] predicate ", name, " argument ", i, " is the constant ", c,
                 ", expected an index in [0, ", shape[i], ")");
    }
  }
  ExprNode n = nd(ExprKind::pred, {});
  n.pred_name = name;
  n.pred_shape = shape;
  n.pred_numeric = numeric;
  n.args = std::move(args);
  return make(std::move(n));
}

Expr truth(double v) {
  if (!(v >= 0.0 && v <= 1.0)) TL_THROW(ValueError, "[tlexpr] truth value ", v, " is outside [0, 1]");
  ExprNode n = nd(ExprKind::truth, {});
  n.value = v;
  return make(std::move(n));
}

Expr operator!(const Expr& a) {
  need_truth(a, "NOT", 0);
  return make(nd(ExprKind::not_, {a}));
}
Expr operator&&(const Expr& a, const Expr& b) { return logic2(ExprKind::and_, "AND", a, b); }
Expr operator||(const Expr& a, const Expr& b) { return logic2(ExprKind::or_, "OR", a, b); }
Expr implies(const Expr& a, const Expr& b) { return logic2(ExprKind::implies, "IMPLIES", a, b); }
Expr exists(const Var& x, const Expr& body) { return bind(ExprKind::exists, "EXISTS", x, body, true); }
Expr forall(const Var& x, const Expr& body) { return bind(ExprKind::forall, "FORALL", x, body, true); }
Expr count(const Var& x, const Expr& body) { return bind(ExprKind::count, "COUNT", x, body, true); }
Expr sum(const Var& x, const Expr& body) { return bind(ExprKind::sum, "SUM", x, body, false); }

Expr compare(CmpOp op, const Term& a, const Term& b) {
  check_term(a, "compare");
  check_term(b, "compare");
  ExprNode n = nd(ExprKind::compare, {});
  n.cmp = op;
  n.args = {a, b};
  return make(std::move(n));
}

Expr compare(CmpOp op, const Expr& a, const Expr& b) {
  ExprNode n = nd(ExprKind::compare, {a, b});
  n.cmp = op;
  return make(std::move(n));
}

Expr number(double v) {
  if (!std::isfinite(v)) TL_THROW(ValueError, "[tlexpr] number ", v, " is not finite");
  ExprNode n = nd(ExprKind::number, {});
  n.value = v;
  return make(std::move(n));
}

Expr index(const Var& x) {
  check_var(x, "index");
  ExprNode n = nd(ExprKind::index, {});
  n.var = x;
  return make(std::move(n));
}

Expr operator+(const Expr& a, const Expr& b) { return make(nd(ExprKind::add, {a, b})); }
Expr operator-(const Expr& a, const Expr& b) { return make(nd(ExprKind::sub, {a, b})); }
Expr operator*(const Expr& a, const Expr& b) { return make(nd(ExprKind::mul, {a, b})); }
Expr operator/(const Expr& a, const Expr& b) { return make(nd(ExprKind::div, {a, b})); }

Expr if_then_else(const Expr& c, const Expr& a, const Expr& b) {
  need_truth(c, "IF condition", 0);
  if (a.is_numeric() != b.is_numeric())
    TL_THROW(ValueError, "[tlexpr] IF branches must both be truth values or both numeric, got ",
             a.is_numeric() ? "numeric" : "truth", " and ", b.is_numeric() ? "numeric" : "truth");
  return make(nd(ExprKind::ite, {c, a, b}));
}

Expr weighted(double weight, const Expr& body) {
  if (!(weight >= 0.0 && weight <= 1.0))
    TL_THROW(ValueError, "[tlexpr] rule weight ", weight, " is outside [0, 1]");
  need_truth(body, "WEIGHTED", 0);
  ExprNode n = nd(ExprKind::weighted, {body});
  n.value = weight;
  return make(std::move(n));
}

// ---- Printing ------------------------------------------------------------------------------------------------
namespace {
std::string term_str(const Term& t) {
  if (auto* v = std::get_if<Var>(&t.v)) return v->name;
  return std::to_string(std::get<int64_t>(t.v));
}
const char* cmp_str(CmpOp op) {
  switch (op) {
    case CmpOp::eq: return "==";
    case CmpOp::ne: return "!=";
    case CmpOp::lt: return "<";
    case CmpOp::le: return "<=";
    case CmpOp::gt: return ">";
    case CmpOp::ge: return ">=";
  }
  return "?";
}
}  // namespace

std::string Expr::str() const {
  const ExprNode& n = *n_;
  std::ostringstream os;
  auto k = [&](int i) { return n.kids[size_t(i)].str(); };
  auto bin = [&](const char* op) { os << "(" << k(0) << " " << op << " " << k(1) << ")"; };
  switch (n.kind) {
    case ExprKind::pred:
      os << n.pred_name << "(";
      for (size_t i = 0; i < n.args.size(); ++i) os << (i ? ", " : "") << term_str(n.args[i]);
      os << ")";
      break;
    case ExprKind::truth: os << n.value; break;
    case ExprKind::not_: os << "!" << k(0); break;
    case ExprKind::and_: bin("&"); break;
    case ExprKind::or_: bin("|"); break;
    case ExprKind::implies: bin("->"); break;
    case ExprKind::exists: os << "exists " << n.var.name << ". " << k(0); break;
    case ExprKind::forall: os << "forall " << n.var.name << ". " << k(0); break;
    case ExprKind::compare:
      if (n.kids.empty()) os << "(" << term_str(n.args[0]) << " " << cmp_str(n.cmp) << " " << term_str(n.args[1]) << ")";
      else bin(cmp_str(n.cmp));
      break;
    case ExprKind::number: os << n.value; break;
    case ExprKind::index: os << "#" << n.var.name; break;
    case ExprKind::add: bin("+"); break;
    case ExprKind::sub: bin("-"); break;
    case ExprKind::mul: bin("*"); break;
    case ExprKind::div: bin("/"); break;
    case ExprKind::count: os << "count " << n.var.name << ". " << k(0); break;
    case ExprKind::sum: os << "sum " << n.var.name << ". " << k(0); break;
    case ExprKind::ite: os << "(if " << k(0) << " then " << k(1) << " else " << k(2) << ")"; break;
    case ExprKind::weighted: os << n.value << " :: " << k(0); break;
  }
  return os.str();
}

}  // namespace tl::tlexpr
