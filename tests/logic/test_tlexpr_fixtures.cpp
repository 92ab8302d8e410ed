// TLExpr against an outside reference: NumPy computes every preset independently
// (scripts/gen_tlexpr_fixtures.py -> tests/fixtures/tlexpr/).
#include <gtest/gtest.h>

#include <cmath>

#include "tl/npy.h"
#include "tl/tlexpr.h"

using namespace tl;
using namespace tl::tlexpr;

namespace {
std::string fx(const std::string& name) { return std::string(TL_FIXTURE_DIR) + "/tlexpr/" + name + ".npy"; }
}  // namespace

TEST(TLExprFixtures, MatchesNumPy) {
  Var x{"x", 3}, y{"y", 4}, z{"z", 2};
  Predicate P{"P", {3, 4}}, Q{"Q", {4, 2}}, R{"R", {3}};
  std::map<std::string, Tensor> in{{"P", read_npy(fx("P"))}, {"Q", read_npy(fx("Q"))}, {"R", read_npy(fx("R"))}};
  const Expr es[] = {
      exists(y, P(x, y) && Q(y, z)),                 // [x, z]
      forall(x, implies(R(x), P(x, y))),             // [y]
      exists(x, forall(y, P(x, y) || !R(x))),        // []
  };
  for (const Preset& p : {Preset::boolean(), Preset::godel(), Preset::product(), Preset::lukasiewicz(),
                          Preset::soft(0.25f)}) {
    for (int k = 0; k < 3; ++k) {
      std::string name = std::string(semantics_name(p.kind)) + "_e" + std::to_string(k + 1);
      Tensor want = read_npy(fx(name));
      Tensor got = evaluate(es[k], p, in).contiguous();
      ASSERT_EQ(got.shape(), want.shape()) << name;
      double max_abs_diff = 0;
      for (int64_t i = 0; i < got.numel(); ++i)
        max_abs_diff = std::max(max_abs_diff, std::fabs(double(got.data<float>()[i]) - want.data<float>()[i]));
      // f32 graph vs NumPy float64 rounded to f32: a few ulps of values in [0, 1].
      EXPECT_LE(max_abs_diff, 1e-5) << name;
    }
  }
}
