// TLExpr compile() against eval_reference(): a table of expressions (broadcasting across different free
// variables, permuted and repeated arguments, constants, nested quantifiers, quantifiers over unused
// variables, if-then-else, weighted rules) for every preset and every domain size 1-4 of each variable, with
// random truth values in [0, 1] ({0, 1} for boolean). Outputs must stay within [0, 1].
#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "tl/tlexpr.h"

using namespace tl;
using namespace tl::tlexpr;

namespace {

struct Dom {
  Var x, y, z;
  Predicate P, Q, R;  // P[x, y], Q[y, z], R[x]
};
struct Case {
  const char* name;
  std::function<Expr(const Dom&)> make;
};

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      {"and_join", [](const Dom& d) { return d.P(d.x, d.y) && d.Q(d.y, d.z); }},
      {"or_broadcast", [](const Dom& d) { return d.R(d.x) || d.Q(d.y, d.z); }},
      {"exists_path", [](const Dom& d) { return exists(d.y, d.P(d.x, d.y) && d.Q(d.y, d.z)); }},
      {"forall_implies", [](const Dom& d) { return forall(d.x, implies(d.R(d.x), d.P(d.x, d.y))); }},
      {"not_order", [](const Dom& d) { return !d.Q(d.y, d.z) || d.R(d.x); }},
      {"exists_forall", [](const Dom& d) { return exists(d.x, forall(d.y, d.P(d.x, d.y))); }},
      {"forall_exists", [](const Dom& d) { return forall(d.z, exists(d.y, d.Q(d.y, d.z) && !d.R(d.x))); }},
      {"constants", [](const Dom& d) { return implies(d.P(d.x, 0), d.Q(0, d.z)); }},
      {"unused_quant_var", [](const Dom& d) { return exists(d.z, d.R(d.x)) && forall(d.z, d.R(d.x)); }},
      {"closed", [](const Dom& d) { return forall(d.x, exists(d.y, d.P(d.x, d.y))); }},
      {"ite", [](const Dom& d) { return if_then_else(d.R(d.x), d.P(d.x, d.y), d.Q(d.y, d.z)); }},
      {"weighted_rules", [](const Dom& d) { return weighted(0.7, d.P(d.x, d.y)) || weighted(0.4, d.R(d.x)); }},
      {"truth_const", [](const Dom& d) { return d.R(d.x) && truth(1.0); }},
      {"compare_guard", [](const Dom& d) { return exists(d.y, compare(CmpOp::lt, d.x, d.y) && d.P(d.x, d.y)); }},
  };
  return c;
}

Tensor random_truth(Shape shape, bool boolean, std::mt19937& rng) {
  Tensor t = Tensor::empty(shape);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = boolean ? float(u(rng) < 0.5f) : u(rng);
  return t;
}

}  // namespace

TEST(TLExprCompile, MatchesReferenceExhaustively) {
  std::mt19937 rng(1234);
  for (const Preset& p : {Preset::boolean(), Preset::godel(), Preset::product(), Preset::lukasiewicz(),
                          Preset::soft(0.25f)}) {
    bool boolean = p.kind == Semantics::boolean;
    for (int64_t nx = 1; nx <= 4; ++nx)
      for (int64_t ny = 1; ny <= 4; ++ny)
        for (int64_t nz = 1; nz <= 4; ++nz) {
          Dom d{{"x", nx}, {"y", ny}, {"z", nz}, {"P", {nx, ny}}, {"Q", {ny, nz}}, {"R", {nx}}};
          std::map<std::string, Tensor> in{{"P", random_truth({nx, ny}, boolean, rng)},
                                           {"Q", random_truth({ny, nz}, boolean, rng)},
                                           {"R", random_truth({nx}, boolean, rng)}};
          for (const Case& c : cases()) {
            Expr e = c.make(d);
            SCOPED_TRACE(std::string(c.name) + " " + std::string(semantics_name(p.kind)) + " sizes " +
                         std::to_string(nx) + "," + std::to_string(ny) + "," + std::to_string(nz));
            Tensor got = evaluate(e, p, in);
            Tensor ref = eval_reference(e, p, in);
            Shape want_shape;
            for (const Var& v : e.free_vars()) want_shape.push_back(v.size);
            ASSERT_EQ(got.shape(), want_shape);
            ASSERT_EQ(ref.shape(), want_shape);
            Tensor g = got.contiguous(), r = ref.contiguous();
            for (int64_t i = 0; i < g.numel(); ++i) {
              float gv = g.data<float>()[i], rv = r.data<float>()[i];
              // f32 graph vs double reference, a handful of operations on values in [0, 1]; boolean is exact.
              if (boolean) {
                ASSERT_EQ(gv, rv) << "at " << i;
              } else {
                ASSERT_NEAR(gv, rv, 2e-5) << "at " << i;
              }
              ASSERT_GE(gv, 0.0f);
              ASSERT_LE(gv, 1.0f);
            }
          }
        }
  }
}

// Boolean preset = Datalog: the transitive step Path(x, z) :- Edge(x, y), Edge(y, z) over {0, 1}.
TEST(TLExprCompile, BooleanIsDatalogJoin) {
  Var x{"x", 3}, y{"y", 3}, z{"z", 3};
  Predicate E{"Edge", {3, 3}};
  Tensor edge = Tensor::zeros({3, 3});  // 0 -> 1 -> 2
  edge.set(std::vector<int64_t>{0, 1}, 1.0);
  edge.set(std::vector<int64_t>{1, 2}, 1.0);
  Tensor path = evaluate(exists(y, E(x, y) && E(y, z)), Preset::boolean(), {{"Edge", edge}});  // [x, z]
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 3; ++j) EXPECT_EQ(path.get({i, j}), (i == 0 && j == 2) ? 1.0 : 0.0);
}

TEST(TLExprCompile, FreeVariableOrderAndGraph) {
  Var x{"x", 2}, y{"y", 3}, z{"z", 4};
  Predicate P{"P", {2, 3}}, Q{"Q", {4, 3}};
  Expr e = exists(y, P(x, y) && Q(z, y));
  auto fv = e.free_vars();
  ASSERT_EQ(fv.size(), 2u);
  EXPECT_EQ(fv[0].name, "x");
  EXPECT_EQ(fv[1].name, "z");
  Compiled c = compile(e, Preset::product());
  EXPECT_NO_THROW(verify(c.graph));
  ASSERT_EQ(c.predicates.size(), 2u);
  EXPECT_EQ(c.predicates[0].name, "P");
  EXPECT_EQ(c.graph.inputs().size(), 2u);
  EXPECT_EQ(c.graph.shape(c.graph.outputs().at(0).value), (Shape{2, 4}));
  EXPECT_EQ(e.str(), "exists y. (P(x, y) & Q(z, y))");
}

// A repeated variable takes the diagonal: P(x, x).
TEST(TLExprCompile, RepeatedVariableIsDiagonal) {
  Var x{"x", 3}, y{"y", 3};
  Predicate P{"P", {3, 3, 3}};
  Tensor p = Tensor::empty({3, 3, 3});
  for (int64_t i = 0; i < 27; ++i) p.data<float>()[i] = float(i) / 26.0f;
  for (const Preset& pr : {Preset::godel(), Preset::soft(0.3f)}) {
    Expr e = P(y, x, y) || P(x, x, x);
    Tensor got = evaluate(e, pr, {{"P", p}}), ref = eval_reference(e, pr, {{"P", p}});  // [y, x]
    ASSERT_EQ(got.shape(), (Shape{3, 3}));
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 3; ++j) EXPECT_NEAR(got.get({i, j}), ref.get({i, j}), 1e-6);
  }
}

// On crisp {0, 1} inputs the t-norm presets all reduce to classical logic: Gödel, product and Łukasiewicz
// equal boolean exactly (ite and weighted rules left out: they are not classical connectives).
TEST(TLExprCompile, CrispInputsGiveClassicalLogic) {
  std::mt19937 rng(99);
  for (int64_t n = 1; n <= 3; ++n) {
    Dom d{{"x", n}, {"y", n + 1}, {"z", 2}, {"P", {n, n + 1}}, {"Q", {n + 1, 2}}, {"R", {n}}};
    std::map<std::string, Tensor> in{{"P", random_truth({n, n + 1}, true, rng)},
                                     {"Q", random_truth({n + 1, 2}, true, rng)},
                                     {"R", random_truth({n}, true, rng)}};
    for (const Case& c : cases()) {
      std::string name = c.name;
      if (name == "ite" || name == "weighted_rules") continue;
      Expr e = c.make(d);
      Tensor want = evaluate(e, Preset::boolean(), in).contiguous();
      for (const Preset& p : {Preset::godel(), Preset::product(), Preset::lukasiewicz()}) {
        Tensor got = evaluate(e, p, in).contiguous();
        for (int64_t i = 0; i < got.numel(); ++i)
          EXPECT_EQ(got.data<float>()[i], want.data<float>()[i]) << name << " " << semantics_name(p.kind) << " n=" << n;
      }
    }
  }
}
