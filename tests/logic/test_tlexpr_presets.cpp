// TLExpr semantics presets: truth tables of every connective and every quantifier, checked exhaustively on
// small domains against formulas written out here (independent of src/logic), for both the compiled graph and
// the brute-force reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "tl/tlexpr.h"

using namespace tl;
using namespace tl::tlexpr;

namespace {

const float kT = 0.2f;  // soft preset temperature used throughout

std::vector<Preset> all_presets() {
  return {Preset::boolean(), Preset::godel(), Preset::product(), Preset::lukasiewicz(), Preset::soft(kT)};
}
std::string pname(const Preset& p) { return std::string(semantics_name(p.kind)); }

// Truth-value grids: {0, 1} for boolean, quarters otherwise.
std::vector<double> grid(const Preset& p) {
  if (p.kind == Semantics::boolean) return {0.0, 1.0};
  return {0.0, 0.25, 0.5, 0.75, 1.0};
}

double soft2(double a, double b, double sign) {  // softmax_T-weighted average of two values
  double wa = std::exp(sign * a / kT), wb = std::exp(sign * b / kT);
  return (wa * a + wb * b) / (wa + wb);
}

double want_and(const Preset& p, double a, double b) {
  switch (p.kind) {
    case Semantics::boolean: return (a == 1.0 && b == 1.0) ? 1.0 : 0.0;
    case Semantics::godel: return std::min(a, b);
    case Semantics::product: return a * b;
    case Semantics::lukasiewicz: return std::max(0.0, a + b - 1.0);
    case Semantics::soft: return soft2(a, b, -1.0);
  }
  return NAN;
}
double want_or(const Preset& p, double a, double b) {
  switch (p.kind) {
    case Semantics::boolean: return (a == 1.0 || b == 1.0) ? 1.0 : 0.0;
    case Semantics::godel: return std::max(a, b);
    case Semantics::product: return a + b - a * b;
    case Semantics::lukasiewicz: return std::min(1.0, a + b);
    case Semantics::soft: return soft2(a, b, 1.0);
  }
  return NAN;
}
double want_implies(const Preset& p, double a, double b) {
  switch (p.kind) {
    case Semantics::boolean: return (a == 0.0 || b == 1.0) ? 1.0 : 0.0;
    case Semantics::godel: return a <= b ? 1.0 : b;
    case Semantics::product: return 1.0 - a + a * b;
    case Semantics::lukasiewicz: return std::min(1.0, 1.0 - a + b);
    case Semantics::soft: return soft2(1.0 - a, b, 1.0);
  }
  return NAN;
}
double want_quant(const Preset& p, bool exist, const std::vector<double>& xs) {
  double mx = *std::max_element(xs.begin(), xs.end()), mn = *std::min_element(xs.begin(), xs.end());
  double sum = 0, prod = 1, prod1 = 1;
  for (double x : xs) sum += x, prod *= x, prod1 *= 1.0 - x;
  double n = double(xs.size());
  switch (p.kind) {
    case Semantics::boolean: case Semantics::godel: return exist ? mx : mn;
    case Semantics::product: return exist ? 1.0 - prod1 : prod;
    case Semantics::lukasiewicz: return exist ? std::min(1.0, sum) : std::max(0.0, sum - (n - 1.0));
    case Semantics::soft: {
      double s = exist ? 1.0 : -1.0, num = 0, den = 0;
      for (double x : xs) num += std::exp(s * x / kT) * x, den += std::exp(s * x / kT);
      return num / den;
    }
  }
  return NAN;
}

Tensor vec(const std::vector<double>& v) {
  Tensor t = Tensor::empty({int64_t(v.size())});
  for (size_t i = 0; i < v.size(); ++i) t.data<float>()[i] = float(v[i]);
  return t;
}

// Checks got[i, j] == want(a[i], b[j]) for the compiled graph and the reference. Tolerance: 1e-5 absolute,
// f32 rounding of a few operations on values in [0, 1] (the soft preset's exp/sigmoid included); the reference
// computes in double but returns f32, hence 1e-7.
void check_table(const char* what, const Preset& p, const Expr& e, const std::vector<double>& a,
                 const std::vector<double>& b, const std::function<double(double, double)>& want) {
  std::map<std::string, Tensor> in{{"A", vec(a)}, {"B", vec(b)}};
  Tensor got = evaluate(e, p, in);  // [x, y]
  Tensor ref = eval_reference(e, p, in);
  ASSERT_EQ(got.shape(), (Shape{int64_t(a.size()), int64_t(b.size())})) << what;
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t j = 0; j < b.size(); ++j) {
      double w = want(a[i], b[j]);
      EXPECT_NEAR(got.get({int64_t(i), int64_t(j)}), w, 1e-5) << what << " " << pname(p) << " a=" << a[i] << " b=" << b[j];
      EXPECT_NEAR(ref.get({int64_t(i), int64_t(j)}), w, 1e-7) << what << " ref " << pname(p) << " a=" << a[i] << " b=" << b[j];
    }
}

}  // namespace

TEST(TLExprPresets, TruthTablesOfEveryConnective) {
  for (const Preset& p : all_presets()) {
    std::vector<double> g = grid(p);
    int64_t n = int64_t(g.size());
    Var x{"x", n}, y{"y", n};
    Predicate A{"A", {n}}, B{"B", {n}};
    check_table("AND", p, A(x) && B(y), g, g, [&](double a, double b) { return want_and(p, a, b); });
    check_table("OR", p, A(x) || B(y), g, g, [&](double a, double b) { return want_or(p, a, b); });
    check_table("IMPLIES", p, implies(A(x), B(y)), g, g, [&](double a, double b) { return want_implies(p, a, b); });
    check_table("NOT", p, !A(x) && (B(y) || !B(y)) , g, g, [&](double a, double b) {
      return want_and(p, 1.0 - a, want_or(p, b, 1.0 - b));
    });
  }
}

// Every assignment of P over a domain of size n (all 2^n for boolean, all 3^n over {0, .5, 1} otherwise) is one
// row s of a [rows, n] input; EXISTS / FORALL x reduce each row.
TEST(TLExprPresets, QuantifiersExhaustiveOnSmallDomains) {
  for (const Preset& p : all_presets()) {
    std::vector<double> vals = p.kind == Semantics::boolean ? std::vector<double>{0, 1} : std::vector<double>{0, 0.5, 1};
    for (int64_t n = 1; n <= 4; ++n) {
      int64_t rows = 1;
      for (int64_t i = 0; i < n; ++i) rows *= int64_t(vals.size());
      Tensor P = Tensor::empty({rows, n});  // [rows, n]
      auto assign = std::vector<std::vector<double>>(size_t(rows), std::vector<double>(size_t(n), 0.0));
      for (int64_t r = 0; r < rows; ++r) {
        int64_t code = r;
        for (int64_t i = 0; i < n; ++i, code /= int64_t(vals.size())) {
          assign[size_t(r)][size_t(i)] = vals[size_t(code % int64_t(vals.size()))];
          P.set(std::vector<int64_t>{r, i}, assign[size_t(r)][size_t(i)]);
        }
      }
      Var s{"s", rows}, x{"x", n};
      Predicate Pp{"P", {rows, n}};
      for (bool exist : {true, false}) {
        Expr e = exist ? exists(x, Pp(s, x)) : forall(x, Pp(s, x));
        Tensor got = evaluate(e, p, {{"P", P}});  // [rows]
        Tensor ref = eval_reference(e, p, {{"P", P}});
        ASSERT_EQ(got.shape(), Shape{rows});
        for (int64_t r = 0; r < rows; ++r) {
          double w = want_quant(p, exist, assign[size_t(r)]);
          // f32: a product or sum of at most 4 values in [0, 1], or a softmax over 4.
          EXPECT_NEAR(got.get({r}), w, 2e-6) << pname(p) << (exist ? " exists" : " forall") << " n=" << n << " row " << r;
          EXPECT_NEAR(ref.get({r}), w, 1e-7) << pname(p) << " ref n=" << n << " row " << r;
          if (p.kind == Semantics::boolean) {
            EXPECT_EQ(got.get({r}), w);  // exact
          }
        }
      }
    }
  }
}

// Boolean thresholds at 0.5, so it is exact Datalog even when fed fuzzy values.
TEST(TLExprPresets, BooleanThresholdsFuzzyInputs) {
  Var x{"x", 4};
  Predicate A{"A", {4}};
  Tensor a = vec({0.0, 0.5, 0.51, 1.0});
  Tensor got = evaluate(A(x) || truth(0.2), Preset::boolean(), {{"A", a}});
  EXPECT_EQ(got.get({0}), 0.0);
  EXPECT_EQ(got.get({1}), 0.0);
  EXPECT_EQ(got.get({2}), 1.0);
  EXPECT_EQ(got.get({3}), 1.0);
}

// The soft preset tends to Gödel as T -> 0 (values a quarter apart: weights differ by exp(-0.25/T)).
TEST(TLExprPresets, SoftTendsToGodel) {
  Var x{"x", 5}, y{"y", 5};
  Predicate A{"A", {5}}, B{"B", {5}}, R{"R", {5, 5}};
  std::map<std::string, Tensor> in{{"A", vec({0, .25, .5, .75, 1})}, {"B", vec({1, .75, .25, 0, .5})}};
  Tensor r = Tensor::empty({5, 5});
  for (int64_t i = 0; i < 25; ++i) r.data<float>()[i] = float((i * 7 % 5) * 0.25);
  in["R"] = r;
  // Implication is NOT a OR b, so it tends to Kleene-Dienes max(1-a, b), not to Gödel's residuum.
  Expr kd = implies(A(x), B(y)), kd_godel = !A(x) || B(y);
  for (auto [e, eg] : std::vector<std::pair<Expr, Expr>>{{A(x) && B(y), A(x) && B(y)}, {A(x) || B(y), A(x) || B(y)},
                                                         {kd, kd_godel}, {exists(y, R(x, y)), exists(y, R(x, y))},
                                                         {forall(y, R(x, y)), forall(y, R(x, y))},
                                                         {exists(x, forall(y, R(x, y) && A(y))),
                                                          exists(x, forall(y, R(x, y) && A(y)))}}) {
    Tensor soft = evaluate(e, Preset::soft(0.005f), in), godel = evaluate(eg, Preset::godel(), in);
    ASSERT_EQ(soft.shape(), godel.shape());
    for (int64_t i = 0; i < soft.numel(); ++i)
      EXPECT_NEAR(soft.contiguous().data<float>()[i], godel.contiguous().data<float>()[i], 1e-5) << e.str();
  }
}
