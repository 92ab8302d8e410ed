// Checkpointing plans on a 3-layer chain whose accounting is done by hand (model: include/tl/nn/checkpointing.h).
// Graph: x [4, 8] -> e_i = h_{i-1} W_i (einsum, [4, 8] f32 = 128 bytes, 2*4*8*8 = 512 FLOPs)
//                 -> r_i = relu(e_i) (128 bytes, 32 FLOPs); output r_3. Baseline 6 * 128 = 768 bytes.
#include <gtest/gtest.h>

#include <algorithm>

#include "tl/error.h"
#include "tl/nn/checkpointing.h"

namespace tl::nn {
namespace {

struct Chain {
  Graph g;
  std::vector<Value> e, r;
  Chain() {
    Value h = g.input("x", {4, 8});
    for (int i = 1; i <= 3; ++i) {
      Value w = g.param("w" + std::to_string(i), {8, 8});
      e.push_back(g.einsum("ij,jk->ik", {h, w}, "e" + std::to_string(i)));
      h = g.unary(UnaryOp::relu, e.back(), "r" + std::to_string(i));
      r.push_back(h);
    }
    Value v = g.reshape(h, {32}, "flat");  // a view: free, aliases r3
    g.output(v, "y");
  }
  std::vector<std::string> names(const std::vector<Value>& vs) const {
    std::vector<std::string> n;
    for (Value v : vs) n.push_back(g.info(v).name);
    std::sort(n.begin(), n.end());
    return n;
  }
};

using Names = std::vector<std::string>;

TEST(Checkpoint, CostModel) {
  Chain c;
  EXPECT_EQ(node_flops(c.g, c.g.nodes()[2]), 2 * 4 * 8 * 8);  // node 2 = e1 (after x, w1)
  EXPECT_EQ(value_bytes(c.g, c.e[0]), 128);
  CheckpointPlan p = plan_checkpointing(c.g, CheckpointConfig());
  EXPECT_EQ(p.baseline_bytes, 768);
  EXPECT_EQ(p.peak_bytes, 768);
  EXPECT_EQ(p.forward_flops, 3 * (512 + 32));
  EXPECT_EQ(p.recompute_flops, 0);
  EXPECT_TRUE(p.recomputed.empty());
}

// k = 1: keep r1, r2, r3; e1, e2, e3 are recomputed, each its own segment (its input is kept).
// k = 2: keep r2 and the output r3; {e1, r1, e2} is one segment (384), {e3} another.
TEST(Checkpoint, UniformEveryK) {
  Chain c;
  auto cfg = CheckpointConfig().set_strategy(CheckpointStrategy::uniform).set_layer_outputs(c.r);
  CheckpointPlan p1 = plan_checkpointing(c.g, cfg.set_every_k(1));
  EXPECT_EQ(c.names(p1.kept), (Names{"r1", "r2", "r3"}));
  EXPECT_EQ(p1.kept_bytes, 384);
  EXPECT_EQ(p1.largest_segment_bytes, 128);
  EXPECT_EQ(p1.peak_bytes, 512);
  EXPECT_EQ(p1.recompute_flops, 3 * 512);
  CheckpointPlan p2 = plan_checkpointing(c.g, cfg.set_every_k(2));
  EXPECT_EQ(c.names(p2.kept), (Names{"r2", "r3"}));
  EXPECT_EQ(c.names(p2.recomputed), (Names{"e1", "e2", "e3", "r1"}));
  EXPECT_EQ(p2.kept_bytes, 256);
  EXPECT_EQ(p2.largest_segment_bytes, 384);
  EXPECT_EQ(p2.peak_bytes, 640);
  EXPECT_EQ(p2.recompute_flops, 3 * 512 + 32);
}

// Recompute the cheap relus (r3 is the output: kept): kept e1..e3 + r3 = 512, segments r1 | r2 of 128.
TEST(Checkpoint, SelectiveByOp) {
  Chain c;
  CheckpointPlan p = plan_checkpointing(
      c.g, CheckpointConfig().set_strategy(CheckpointStrategy::selective).set_recompute_ops({OpKind::unary}));
  EXPECT_EQ(c.names(p.recomputed), (Names{"r1", "r2"}));
  EXPECT_EQ(p.kept_bytes, 512);
  EXPECT_EQ(p.peak_bytes, 640);
  EXPECT_EQ(p.recompute_flops, 64);
}

// Budget 600: candidates by FLOPs/byte: r1, r2 (0.25), then e1, e2, e3 (4).
//   r1 -> peak 640 + 128 = 768 (accepted, not worse); r2 -> 512 + 128 = 640; e1 -> 384 + {e1,r1} 256 = 640;
//   e2 would join {e1,r1,e2,r2} = 512 + 256 kept = 768 > 640: rejected; e3 -> kept {e2, r3} 256 + 256 = 512.
TEST(Checkpoint, DynamicBudget) {
  Chain c;
  auto cfg = CheckpointConfig().set_strategy(CheckpointStrategy::budget);
  CheckpointPlan p = plan_checkpointing(c.g, cfg.set_budget_bytes(600));
  EXPECT_EQ(c.names(p.kept), (Names{"e2", "r3"}));
  EXPECT_EQ(p.peak_bytes, 512);
  EXPECT_EQ(p.recompute_flops, 2 * 512 + 2 * 32);
  CheckpointPlan q = plan_checkpointing(c.g, cfg.set_budget_bytes(800));  // already fits: nothing recomputed
  EXPECT_TRUE(q.recomputed.empty());
  try {
    plan_checkpointing(c.g, cfg.set_budget_bytes(100));
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("512"), std::string::npos) << e.what();
  }
  EXPECT_NE(p.describe(c.g).find("peak 512"), std::string::npos);
}

TEST(Checkpoint, Errors) {
  Chain c;
  EXPECT_THROW(plan_checkpointing(c.g, CheckpointConfig().set_strategy(CheckpointStrategy::uniform)), ValueError);
  EXPECT_THROW(plan_checkpointing(c.g, CheckpointConfig()
                                           .set_strategy(CheckpointStrategy::uniform)
                                           .set_layer_outputs(c.r)
                                           .set_every_k(0)),
               ValueError);
  EXPECT_THROW(plan_checkpointing(c.g, CheckpointConfig()
                                           .set_strategy(CheckpointStrategy::uniform)
                                           .set_layer_outputs({*c.g.find("x")})),
               ValueError);
  EXPECT_THROW(plan_checkpointing(c.g, CheckpointConfig().set_strategy(CheckpointStrategy::budget)), ValueError);
}

}  // namespace
}  // namespace tl::nn
