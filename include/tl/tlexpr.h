// TLExpr: a C++ expression API for many-valued logic that compiles to the graph IR (include/tl/graph.h).
//
// A predicate is a tensor over the domains of its arguments; an expression's free variables (in order of first
// appearance, left to right) are the axes of its result. Connectives of expressions with different free
// variables broadcast by aligning axes by variable; EXISTS / FORALL reduce the axis of their variable.
//
//   using namespace tl::tlexpr;
//   Var x{"x", 3}, y{"y", 3};
//   Predicate parent{"Parent", {3, 3}};
//   Expr e = exists(y, parent(x, y) && parent(y, 2));        // free vars: [x]
//   Compiled c = compile(e, Preset::godel());                 // c.free_vars = {x}, one graph input "Parent"
//   Tensor t = evaluate(e, Preset::godel(), {{"Parent", p}}); // [3]
//
// Semantics presets, each applied to every connective and quantifier (truth values stay in [0, 1]):
//   preset       AND              OR               NOT    IMPLIES a->b           EXISTS            FORALL
//   boolean      a&b              a|b              !a     !a|b                   any               all
//   godel        min(a,b)         max(a,b)         1-a    1 if a<=b else b       max               min
//   product      ab               a+b-ab           1-a    1-a+ab (Reichenbach)   1-prod(1-a)       prod(a)
//   lukasiewicz  max(0,a+b-1)     min(1,a+b)       1-a    min(1,1-a+b)           min(1,sum a)      max(0,sum a-(n-1))
//   soft(T)      softmin_T(a,b)   softmax_T(a,b)   1-a    softmax_T(1-a,b)       sum softmax(a/T)a sum softmax(-a/T)a
// boolean thresholds every truth-valued predicate at 0.5 so it is exact Datalog on any input. The product
// preset's implication is Reichenbach's (= NOT a OR b under the product OR): smooth, no division. soft(T)
// uses softmax-weighted averages (a convex combination, so it stays in [min, max] of its arguments and tends
// to Gödel's AND/OR/EXISTS/FORALL as T -> 0; its IMPLIES = NOT a OR b tends to max(1-a, b)); results are
// clipped to [0, 1] against rounding.
//
// Beyond connectives: comparisons of index terms (x == y, x < 2), numeric expressions (index(x), numbers,
// numeric predicates, + - * /), if-then-else (c*a + (1-c)*b, exact under boolean), count/sum aggregates and
// weighted rules (weight AND body under the preset).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "tl/graph.h"
#include "tl/tensor.h"

namespace tl::tlexpr {

enum class Semantics { boolean, godel, product, lukasiewicz, soft };
std::string_view semantics_name(Semantics s);

struct Preset {
  Semantics kind = Semantics::godel;
  float temperature = 0.1f;  // soft only; must be > 0
  static Preset boolean() { return {Semantics::boolean}; }
  static Preset godel() { return {Semantics::godel}; }
  static Preset product() { return {Semantics::product}; }
  static Preset lukasiewicz() { return {Semantics::lukasiewicz}; }
  static Preset soft(float t) { return {Semantics::soft, t}; }
};

// A logic variable ranging over {0, ..., size-1}. Variables are identified by name.
struct Var {
  std::string name;
  int64_t size = 0;
};

// A predicate argument: a variable or a constant domain index.
struct Term {
  std::variant<Var, int64_t> v;
  Term(Var x) : v(std::move(x)) {}  // NOLINT(implicit)
  Term(int64_t c) : v(c) {}          // NOLINT(implicit)
  Term(int c) : v(int64_t(c)) {}     // NOLINT(implicit)
};

class Expr;

// A named tensor input. Truth-valued predicates hold values in [0, 1]; numeric ones (functions such as
// Age(x)) hold any number and may only be used in numeric expressions.
struct Predicate {
  std::string name;
  Shape shape;
  bool numeric = false;
  Expr operator()(std::vector<Term> args) const;
  template <typename... Ts>
  Expr operator()(Ts... args) const;
};

enum class ExprKind {
  pred, truth, not_, and_, or_, implies, exists, forall,    // logic
  compare,                                                  // index or numeric comparison -> {0, 1}
  number, index, add, sub, mul, div, count, sum,            // numeric
  ite, weighted,
};
enum class CmpOp { eq, ne, lt, le, gt, ge };

struct ExprNode;

// An immutable expression tree node handle (cheap to copy; subtrees are shared).
class Expr {
 public:
  explicit Expr(std::shared_ptr<const ExprNode> n) : n_(std::move(n)) {}
  const ExprNode& node() const { return *n_; }
  ExprKind kind() const;
  bool is_numeric() const;  // numeric (any real) rather than a truth value in [0, 1]
  // Free variables in order of first appearance (left to right); the axes of the result.
  std::vector<Var> free_vars() const;
  std::string str() const;  // e.g. "exists y. (Parent(x, y) & Parent(y, 2))"

 private:
  std::shared_ptr<const ExprNode> n_;
};

struct ExprNode {
  ExprKind kind = ExprKind::truth;
  std::vector<Expr> kids;
  std::string pred_name;  // pred
  Shape pred_shape;       // pred
  bool pred_numeric = false;
  std::vector<Term> args;  // pred; compare of two index terms uses args[0], args[1] (kids empty)
  Var var;                 // exists, forall, index, count, sum
  double value = 0;        // truth, number, weighted (the weight)
  CmpOp cmp = CmpOp::eq;   // compare
};

// ---- Constructors (throw ValueError / ShapeError naming the operand, the expected and the actual) ----------
Expr truth(double v);  // a constant truth value in [0, 1]
Expr operator!(const Expr& a);
Expr operator&&(const Expr& a, const Expr& b);
Expr operator||(const Expr& a, const Expr& b);
Expr implies(const Expr& a, const Expr& b);
Expr exists(const Var& x, const Expr& body);
Expr forall(const Var& x, const Expr& body);
// Comparisons of index terms (x == y, x < 2): exact {0, 1}.
Expr compare(CmpOp op, const Term& a, const Term& b);
// Comparisons of numeric expressions: exact {0, 1}.
Expr compare(CmpOp op, const Expr& a, const Expr& b);
// Numeric terms.
Expr number(double v);
Expr index(const Var& x);  // the value of x as a number
Expr operator+(const Expr& a, const Expr& b);
Expr operator-(const Expr& a, const Expr& b);
Expr operator*(const Expr& a, const Expr& b);
Expr operator/(const Expr& a, const Expr& b);
// Aggregates over x: count = sum of the truth degrees of body (exact count under boolean); sum of a numeric body.
Expr count(const Var& x, const Expr& body);
Expr sum(const Var& x, const Expr& body);
// if c then a else b = c*a + (1-c)*b (c a truth value; a, b both truth values or both numeric).
Expr if_then_else(const Expr& c, const Expr& a, const Expr& b);
// A weighted rule body: weight AND body under the preset (weight in [0, 1]); OR several to combine rules.
Expr weighted(double weight, const Expr& body);

// ---- Compilation and evaluation ---------------------------------------------------------------------------
struct Compiled {
  Graph graph;                  // one f32 input per predicate (named like it), one output named "result"
  std::vector<Var> free_vars;   // the axes of "result", in order
  std::vector<Predicate> predicates;  // the graph inputs, in order of first use
};
Compiled compile(const Expr& e, const Preset& p);

// Compiles and runs with the Executor. Inputs are f32 tensors named by predicate; truth-valued ones must hold
// values in [0, 1] (ValueError otherwise). Returns the f32 result over free_vars().
Tensor evaluate(const Expr& e, const Preset& p, const std::map<std::string, Tensor>& inputs);

// Brute force over all assignments in plain C++ (double precision, no graph): the reference for compile().
Tensor eval_reference(const Expr& e, const Preset& p, const std::map<std::string, Tensor>& inputs);

template <typename... Ts>
Expr Predicate::operator()(Ts... args) const {
  return (*this)(std::vector<Term>{Term(args)...});
}

}  // namespace tl::tlexpr
