// Contraction-order quality against opt_einsum (paths.txt from scripts/gen_einsum_fixtures.py), the memory
// budget, plan inspection and caching. FLOPs use opt_einsum's convention (see include/tl/einsum.h), so the
// numbers compare directly.
#include <algorithm>
#include <cstdio>

#include "einsum_test_util.h"

using namespace tl;
using namespace einsum_test;

namespace {

struct PathCase {
  std::string name, spec, strategy;
  std::vector<Shape> shapes;
  double opt_flops, greedy_flops, opt_largest;
};

std::vector<PathCase> load_paths() {
  std::vector<PathCase> r;
  for (const auto& row : read_manifest("paths.txt")) {
    PathCase c{row.at(0), row.at(1), row.at(3), {}, std::stod(row.at(4)), std::stod(row.at(5)), std::stod(row.at(6))};
    for (const std::string& s : split(row.at(2), ';')) {
      Shape sh;
      for (const std::string& d : split(s, 'x')) sh.push_back(std::stoll(d));
      c.shapes.push_back(sh);
    }
    r.push_back(c);
  }
  return r;
}

}  // namespace

// Prints the table the README quotes and checks: our optimal order costs exactly opt_einsum's optimal FLOPs
// ('dp' reference for the 10-operand chain: ours must not be worse), and our greedy is within 1.25x of
// opt_einsum's greedy (same heuristic; tie-breaking may differ) and within 3x of the optimum.
TEST(EinsumPaths, MatchesOptEinsum) {
  auto cases = load_paths();
  ASSERT_GE(cases.size(), 5u);
  std::printf("%-12s %-28s %14s %14s %14s %14s\n", "network", "", "ours optimal", "opt_einsum opt", "ours greedy",
              "opt_einsum grd");
  for (const PathCase& c : cases) {
    SCOPED_TRACE(c.name + " \"" + c.spec + "\"");
    EinsumOptions opt;
    opt.strategy = EinsumStrategy::optimal;
    EinsumPlan p = einsum_plan(c.spec, c.shapes, opt);
    EinsumOptions gopt;
    gopt.strategy = EinsumStrategy::greedy;
    EinsumPlan g = einsum_plan(c.spec, c.shapes, gopt);
    std::printf("%-12s %-28s %14.0f %14.0f %14.0f %14.0f\n", c.name.c_str(), c.spec.substr(0, 28).c_str(), p.flops,
                c.opt_flops, g.flops, c.greedy_flops);
    EXPECT_EQ(p.strategy, "optimal");
    if (c.strategy == "optimal") {
      EXPECT_EQ(p.flops, c.opt_flops);
    } else {
      EXPECT_LE(p.flops, c.opt_flops);
    }
    EXPECT_EQ(g.strategy, "greedy");
    EXPECT_LE(g.flops, 1.25 * c.greedy_flops);
    EXPECT_LE(g.flops, 3.0 * p.flops);
    EXPECT_GE(g.flops, p.flops);
    EXPECT_EQ(p.path.size(), c.shapes.size() - 1);
  }
}

// The chosen orders also compute the right numbers (the naive reference is the judge). Dims are capped at 5
// so the naive loop over all labels stays small; the networks keep their structure.
TEST(EinsumPaths, PlannedOrdersComputeCorrectly) {
  auto cases = load_paths();
  for (PathCase c : cases) {
    if (c.name == "chain10") continue;
    for (Shape& s : c.shapes)
      for (int64_t& d : s) d = std::min<int64_t>(d, 2 + d % 4);
    SCOPED_TRACE(c.name);
    std::vector<Tensor> ops;
    uint32_t seed = 1;
    for (const Shape& s : c.shapes) {
      Tensor t = Tensor::empty(s);
      for (int64_t i = 0; i < t.numel(); ++i) {
        seed = seed * 1664525u + 1013904223u;
        t.data<float>()[i] = float(seed >> 8) / float(1 << 24) - 0.5f;
      }
      ops.push_back(t);
    }
    Tensor got = einsum(c.spec, ops);
    expect_close(got, einsum_naive(c.spec, ops), reduction_length(c.spec, c.shapes), "planned order");
  }
}

TEST(EinsumPaths, AutomaticUsesOptimalForFewAndGreedyForMany) {
  EXPECT_EQ(einsum_plan("ij,jk", {{2, 3}, {3, 4}}).strategy, "pair");
  EXPECT_EQ(einsum_plan("ij->i", {{2, 3}}).strategy, "single");
  EXPECT_EQ(einsum_plan("ab,bc,cd->ad", {{2, 3}, {3, 4}, {4, 5}}).strategy, "optimal");
  std::string spec;
  std::vector<Shape> shapes;
  for (int i = 0; i < 12; ++i) {
    spec += std::string(i ? "," : "") + char('a' + i) + char('a' + i + 1);
    shapes.push_back({3 + i % 4, 3 + (i + 1) % 4});
  }
  spec += "->am";
  EinsumPlan p = einsum_plan(spec, shapes);
  EXPECT_EQ(p.strategy, "greedy");
  EXPECT_EQ(p.path.size(), 11u);
  EinsumOptions o;
  o.optimal_max_operands = 12;
  EXPECT_EQ(einsum_plan(spec, shapes, o).strategy, "optimal");
  EXPECT_LE(einsum_plan(spec, shapes, o).flops, p.flops);
}

TEST(EinsumPaths, TwoOperandsNeverSearch) {
  EinsumPlan p = einsum_plan("bhqd,bhkd->bhqk", {{1, 2, 5, 4}, {1, 2, 6, 4}});
  ASSERT_EQ(p.path.size(), 1u);
  EXPECT_EQ(p.path[0], (std::vector<int>{0, 1}));
  ASSERT_EQ(p.steps.size(), 1u);
  EXPECT_EQ(p.steps[0].spec, "hqd,hkd->hqk");  // the size-1 batch dim b is dropped before lowering
  EXPECT_TRUE(p.steps[0].gemm);
  EXPECT_EQ(p.steps[0].gemm_shape, "batch [h] [q, d] x [d, k]");
  EXPECT_EQ(p.flops, 2.0 * 2 * 5 * 6 * 4);
}

TEST(EinsumPaths, MemoryLimitBoundsIntermediates) {
  // "ab,bc,cd->ad": contracting (ab,bc) first makes [a, c] = 400 elements; (bc,cd) first makes [b, d] = 4.
  const std::string spec = "ab,bc,cd->ad";
  const std::vector<Shape> shapes = {{20, 2}, {2, 20}, {20, 2}};
  EinsumPlan free = einsum_plan(spec, shapes);
  EXPECT_EQ(free.largest_intermediate, 40);  // the output [a, d]
  EinsumOptions o;
  o.memory_limit = 10;
  EinsumPlan tight = einsum_plan(spec, shapes, o);
  EXPECT_LE(tight.steps[0].result_size, 10);
  // Nothing fits under 3 elements: the remaining operands are contracted in one loop, no intermediate.
  o.memory_limit = 3;
  EinsumPlan fb = einsum_plan(spec, shapes, o);
  EXPECT_NE(fb.strategy.find("memory fallback"), std::string::npos) << fb.strategy;
  ASSERT_EQ(fb.path.size(), 1u);
  EXPECT_EQ(fb.path[0].size(), 3u);
  EXPECT_EQ(fb.steps.back().kind, EinsumStep::Kind::loop);
  EXPECT_EQ(fb.flops, fb.naive_flops);
  // ...and all three compute the same result.
  std::vector<Tensor> ops;
  for (const Shape& s : shapes) {
    Tensor t = Tensor::empty(s);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = float((i * 7) % 11) / 11.0f - 0.5f;
    ops.push_back(t);
  }
  Tensor want = einsum_naive(spec, ops);
  for (const EinsumPlan* p : {&free, &tight, &fb}) {
    Tensor out = Tensor::empty(p->output_shape);
    einsum_execute(*p, ops, out);
    expect_close(out, want, 2 * 20, p->strategy);
  }
}

TEST(EinsumPaths, DescribeShowsPathFlopsAndSteps) {
  EinsumPlan p = einsum_plan("ij,jk,kl->il", {{2, 3}, {3, 4}, {4, 5}});
  std::string d = p.describe();
  std::printf("%s", d.c_str());
  EXPECT_NE(d.find("strategy optimal"), std::string::npos);
  EXPECT_NE(d.find("flops"), std::string::npos);
  EXPECT_NE(d.find("largest intermediate"), std::string::npos);
  EXPECT_NE(d.find("path: (0, 1) (0, 1)"), std::string::npos);
  EXPECT_NE(d.find("gemm"), std::string::npos);
  EXPECT_EQ(p.flops, 2.0 * 2 * 3 * 4 + 2.0 * 2 * 4 * 5);  // (ij,jk) then (ik,kl)
  EXPECT_EQ(p.largest_intermediate, 10);

  EinsumPlan r = einsum_plan("iij,jk->ik", {{3, 3, 4}, {4, 5}});
  EXPECT_EQ(r.steps.size(), 1u);  // the diagonal is a view, nothing is summed out first
  EinsumPlan s = einsum_plan("ijk,jl->il", {{3, 4, 5}, {4, 2}});
  ASSERT_EQ(s.steps.size(), 2u);
  EXPECT_EQ(s.steps[0].kind, EinsumStep::Kind::reduce);
  EXPECT_EQ(s.steps[0].spec, "ijk->ij");
  EXPECT_EQ(s.steps[1].spec, "ij,jl->il");
  // Ellipsis dims are named with unused letters in step specs.
  EinsumPlan e = einsum_plan("...ij,...jk->...ik", {{2, 3, 4}, {2, 4, 5}});
  EXPECT_EQ(e.spec, "...ij,...jk->...ik");
  EXPECT_EQ(e.steps[0].spec, "zij,zjk->zik");
}

TEST(EinsumPaths, PlansAreCached) {
  EinsumPlan a = einsum_plan("ab,bc,cd->ad", {{2, 3}, {3, 4}, {4, 5}});
  EinsumPlan b = einsum_plan("ab,bc,cd->ad", {{2, 3}, {3, 4}, {4, 5}});
  EXPECT_EQ(a.compiled.get(), b.compiled.get());
  EinsumPlan c = einsum_plan("ab,bc,cd->ad", {{2, 3}, {3, 4}, {4, 6}});
  EXPECT_NE(a.compiled.get(), c.compiled.get());
  EinsumOptions o;
  o.strategy = EinsumStrategy::greedy;
  EXPECT_NE(a.compiled.get(), einsum_plan("ab,bc,cd->ad", {{2, 3}, {3, 4}, {4, 5}}, o).compiled.get());
}
