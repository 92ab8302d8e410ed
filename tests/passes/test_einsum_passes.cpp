// Einsum chain merging and splitting, as before/after IR text, plus numerical equivalence.
#include "pass_test_util.h"

using namespace tl;
using pass_test::after;

namespace {
const char* kChain = R"(graph g {
  input %a: f32[2,3]
  input %b: f32[3,4]
  input %c: f32[4,5]
  %t: f32[2,4] = einsum(%a, %b) {spec="ij,jk->ik"}
  %y: f32[2,5] = einsum(%t, %c) {spec="ij,jk->ik"}
  output %y
}
)";
}  // namespace

TEST(EinsumMerge, RelabelsWithoutClashes) {
  // The outer spec reuses 'j' for another label: the inner summed 'j' is renamed to the first unused letter.
  const char* want = R"(graph g {
  input %a: f32[2,3]
  input %b: f32[3,4]
  input %c: f32[4,5]
  %y: f32[2,5] = einsum(%a, %b, %c) {spec="ia,aj,jk->ik"}
  output %y
}
)";
  EXPECT_EQ(after(kChain, merge_einsum_chains), want);
}

TEST(EinsumSplit, FollowsThePlannersOrder) {
  // [2,3]x[3,4] first costs 48 + 80 FLOPs; [3,4]x[4,5] first costs 120 + 60: the planner contracts a,b first.
  const char* want = R"(graph g {
  input %a: f32[2,3]
  input %b: f32[3,4]
  input %c: f32[4,5]
  %y.c0: f32[2,4] = einsum(%a, %b) {spec="ia,aj->ij"}
  %y: f32[2,5] = einsum(%c, %y.c0) {spec="jk,ij->ik"}
  output %y
}
)";
  Graph g = parse_graph_text(kChain);
  Graph orig = g;
  EXPECT_TRUE(merge_einsum_chains(g));
  EXPECT_TRUE(split_einsums(g));
  verify(g);
  EXPECT_EQ(to_text(g), want);
  pass_test::expect_same_outputs(orig, g, 1e-5, 1e-5);
}

TEST(EinsumSplit, ReordersALongChain) {
  // (a b) c d with a thin last matrix: the planner contracts from the right.
  const char* before = R"(graph g {
  input %a: f32[6,7]
  input %b: f32[7,8]
  input %c: f32[8,9]
  input %d: f32[9,1]
  %ab: f32[6,8] = einsum(%a, %b) {spec="ij,jk->ik"}
  %abc: f32[6,9] = einsum(%ab, %c) {spec="ik,kl->il"}
  %y: f32[6,1] = einsum(%abc, %d) {spec="il,lm->im"}
  output %y
}
)";
  const char* want = R"(graph g {
  input %a: f32[6,7]
  input %b: f32[7,8]
  input %c: f32[8,9]
  input %d: f32[9,1]
  %y: f32[6,1] = einsum(%a, %b, %c, %d) {spec="ia,ab,bl,lm->im"}
  output %y
}
)";
  Graph g = parse_graph_text(before);
  Graph orig = g;
  EXPECT_TRUE(merge_einsum_chains(g));
  EXPECT_EQ(to_text(g), want);
  EXPECT_TRUE(split_einsums(g));
  verify(g);
  // Three pairwise einsums remain, the last one writing %y.
  ASSERT_EQ(g.nodes().size(), 7u);
  for (size_t i = 4; i < 7; ++i) EXPECT_EQ(g.nodes()[i].inputs.size(), 2u);
  EXPECT_EQ(g.info(g.nodes()[6].output).name, "y");
  pass_test::expect_same_outputs(orig, g, 1e-5, 1e-5);
}

TEST(EinsumMerge, DiagonalOfAProduct) {
  // diag(A B): the outer repeated label identifies the inner's two output labels.
  const char* before = R"(graph g {
  input %a: f32[3,4]
  input %b: f32[4,3]
  %t: f32[3,3] = einsum(%a, %b) {spec="ij,jk->ik"}
  %y: f32[3] = einsum(%t) {spec="ii->i"}
  output %y
}
)";
  const char* want = R"(graph g {
  input %a: f32[3,4]
  input %b: f32[4,3]
  %y: f32[3] = einsum(%a, %b) {spec="ia,ai->i"}
  output %y
}
)";
  Graph g = parse_graph_text(before);
  Graph orig = g;
  EXPECT_TRUE(merge_einsum_chains(g));
  EXPECT_EQ(to_text(g), want);
  pass_test::expect_same_outputs(orig, g, 1e-5, 1e-5);
}

TEST(EinsumMerge, LeavesSharedOutputAndIntegerIntermediates) {
  // %t is used twice, %u is a graph output, %v is an integer einsum (its own dtype rules): nothing merges.
  const char* before = R"(graph g {
  input %a: f32[2,3]
  input %b: f32[3,4]
  input %c: f32[4,5]
  input %i: i32[2,3]
  input %j: i32[3,4]
  %t: f32[2,4] = einsum(%a, %b) {spec="ij,jk->ik"}
  %y: f32[2,5] = einsum(%t, %c) {spec="ij,jk->ik"}
  %z: f32[2,4] = relu(%t)
  %u: f32[2,4] = einsum(%a, %b) {spec="ij,jk->ik"}
  %w: f32[2,5] = einsum(%u, %c) {spec="ij,jk->ik"}
  %v: i64[2,4] = einsum(%i, %j) {spec="ij,jk->ik"}
  %x: f32[2,5] = einsum(%v, %c) {spec="ij,jk->ik"}
  output %y
  output %z
  output %u
  output %w
  output %x
}
)";
  EXPECT_EQ(after(before, merge_einsum_chains), before);
}

TEST(EinsumMerge, BroadcastAndBatchLabels) {
  // A batched chain with a size-1 broadcast label: the merged einsum must type and compute the same.
  const char* before = R"(graph g {
  input %x: f32[2,3,4]
  input %w: f32[1,4,5]
  input %v: f32[5,3]
  %t: f32[2,3,5] = einsum(%x, %w) {spec="bij,bjk->bik"}
  %y: f32[2,3,3] = einsum(%t, %v) {spec="bik,kl->bil"}
  output %y
}
)";
  Graph g = parse_graph_text(before);
  Graph orig = g;
  EXPECT_TRUE(merge_einsum_chains(g));
  verify(g);
  EXPECT_EQ(g.nodes().size(), 4u);
  pass_test::expect_same_outputs(orig, g, 1e-5, 1e-5);
  split_einsums(g);  // 3 operands: split back into pairs, still the same numbers
  verify(g);
  pass_test::expect_same_outputs(orig, g, 1e-5, 1e-5);
}

TEST(EinsumSplit, MemoryBudgetFallbackIsLeftWhole) {
  // With a budget no pairwise intermediate fits, the planner falls back to one loop over all operands: the
  // einsum stays as it is (splitting would build the intermediates the budget forbids).
  const char* before = R"(graph g {
  input %a: f32[6,7]
  input %b: f32[7,8]
  input %c: f32[8,9]
  %y: f32[6,9] = einsum(%a, %b, %c) {spec="ij,jk,kl->il"}
  output %y
}
)";
  PassOptions opt;
  opt.einsum.memory_limit = 4;
  Graph g = parse_graph_text(before);
  EXPECT_FALSE(split_einsums(g, opt));
  EXPECT_EQ(to_text(g), before);
  EXPECT_TRUE(split_einsums(g));  // unlimited: split
  EXPECT_EQ(g.nodes().size(), 5u);
}
