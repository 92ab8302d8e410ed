// The memory plan: buffers whose lifetimes overlap never share bytes (checked on random requests and random
// graphs), reuse actually happens, and the reuse plan computes the same bits as one buffer per value.
#include <gtest/gtest.h>

#include <random>

#include "runtime_test_util.h"
#include "tl/runtime.h"

using namespace tl;

namespace {

// The property every plan must have; returns the first violation or "".
std::string check_plan(const MemoryPlan& p) {
  for (size_t i = 0; i < p.slots.size(); ++i) {
    const BufferSlot& a = p.slots[i];
    if (a.offset % 64 != 0) return "slot " + std::to_string(i) + " is not 64-byte aligned";
    if (a.bytes && a.offset + a.bytes > p.arena_bytes) return "slot " + std::to_string(i) + " ends past the arena";
    for (size_t j = i + 1; j < p.slots.size(); ++j) {
      const BufferSlot& b = p.slots[j];
      bool live_overlap = a.first <= b.last && b.first <= a.last;
      bool mem_overlap = a.offset < b.offset + b.bytes && b.offset < a.offset + a.bytes;
      if (live_overlap && mem_overlap && a.bytes && b.bytes)
        return "slots " + std::to_string(i) + " and " + std::to_string(j) + " are live together and overlap";
    }
  }
  return "";
}

// Lower bound: the most bytes live at any one step.
size_t max_live(const MemoryPlan& p) {
  int end = 0;
  for (const BufferSlot& s : p.slots) end = std::max(end, s.last);
  size_t best = 0;
  for (int t = 0; t <= end; ++t) {
    size_t sum = 0;
    for (const BufferSlot& s : p.slots)
      if (s.first <= t && t <= s.last) sum += s.bytes;
    best = std::max(best, sum);
  }
  return best;
}

}  // namespace

TEST(MemoryPlan, RandomRequestsNeverOverlapWhileLive) {
  std::mt19937 rng(42);
  for (int trial = 0; trial < 200; ++trial) {
    int n = 1 + int(rng() % 40);
    std::vector<BufferSlot> req;
    for (int i = 0; i < n; ++i) {
      int first = int(rng() % 50), len = int(rng() % 12);
      req.push_back(BufferSlot{Value{i}, size_t(rng() % 5000), first, first + len, 0});
    }
    MemoryPlan p = plan_memory(req);
    ASSERT_EQ(check_plan(p), "") << "trial " << trial;
    EXPECT_GE(p.arena_bytes, max_live(p));
    EXPECT_LE(p.arena_bytes, p.naive_bytes);
    MemoryPlan naive = plan_memory(req, false);
    EXPECT_EQ(check_plan(naive), "");
    EXPECT_EQ(naive.arena_bytes, naive.naive_bytes);
  }
  EXPECT_THROW(plan_memory({BufferSlot{Value{0}, 8, 3, 1, 0}}), ValueError);
}

TEST(MemoryPlan, ChainPingPongsBetweenTwoBuffers) {
  Graph g("chain");
  Value v = g.input("x", {64});  // 256 bytes
  for (int i = 0; i < 10; ++i) v = g.unary(i % 2 ? UnaryOp::tanh : UnaryOp::neg, v);
  g.output(v, "y");
  ExecutorOptions no_in_place;
  no_in_place.in_place = false;
  Executor ex(g, no_in_place);
  const MemoryPlan& p = ex.memory_plan();
  EXPECT_EQ(p.slots.size(), 9u);  // the last value is an output: allocated fresh for the caller
  EXPECT_EQ(p.naive_bytes, 9u * 256);
  EXPECT_EQ(p.arena_bytes, 2u * 256) << p.describe();
  EXPECT_EQ(p.describe(), "arena 512 B for 9 buffers (naive 2.2 KiB, 22%)");
}

// In place (the default): each unary overwrites its dying operand, so the 9 intermediates share one buffer;
// a value still read later (here the first, read again by the final add) is never overwritten.
TEST(MemoryPlan, InPlaceChainSharesOneBuffer) {
  Graph g("chain");
  Value x = g.input("x", {64});  // 256 bytes
  Value v = x;
  for (int i = 0; i < 9; ++i) v = g.unary(i % 2 ? UnaryOp::tanh : UnaryOp::neg, v);
  g.output(g.unary(UnaryOp::exp, v), "y");
  Executor ex(g);
  EXPECT_EQ(ex.memory_plan().describe(), "arena 256 B for 1 buffers (naive 256 B, 100%)");

  Graph h("kept");
  Value a = h.unary(UnaryOp::neg, h.input("x", {64}));
  Value b = h.unary(UnaryOp::tanh, a);           // a is read again below: b gets its own buffer
  Value c = h.binary(BinaryOp::add, b, a);       // the last use of both: c overwrites one of them
  h.output(h.unary(UnaryOp::exp, c), "y");
  Executor he(h);
  EXPECT_EQ(he.memory_plan().arena_bytes, 2u * 256) << he.memory_plan().describe();
  const Tensor in = rt_test::randn({64}, 3);
  auto got = he.run({{"x", in}}).at("y");
  ExecutorOptions naive_opt;
  naive_opt.reuse_memory = false;
  EXPECT_TRUE(rt_test::same_bits(got, Executor(h, naive_opt).run({{"x", in}}).at("y")));
}

TEST(MemoryPlan, RandomGraphsPlanSafelyAndMatchTheNaivePlan) {
  std::mt19937 rng(7);
  const Shape shapes[] = {{3, 4}, {4}, {3, 1}, {1, 4}};
  size_t shared = 0;  // intermediates written over a dying operand, over all trials
  for (int trial = 0; trial < 60; ++trial) {
    Graph g("rand" + std::to_string(trial));
    std::vector<Value> pool;
    std::map<std::string, Tensor> in;
    for (int i = 0; i < 3; ++i) {
      std::string name = "in" + std::to_string(i);
      const Shape& s = shapes[rng() % 4];
      pool.push_back(g.input(name, s));
      in[name] = rt_test::randn(s, uint32_t(trial * 10 + i));
    }
    int nodes = 5 + int(rng() % 25);
    for (int i = 0; i < nodes; ++i) {
      Value a = pool[rng() % pool.size()], b = pool[rng() % pool.size()];
      const Shape& sa = g.shape(a);
      switch (rng() % 10) {
        case 0: pool.push_back(g.unary(UnaryOp::tanh, a)); break;
        case 1:  // broadcasts when the shapes allow; a refused build leaves the graph unchanged
          try {
            pool.push_back(g.binary(rng() % 2 ? BinaryOp::add : BinaryOp::mul, a, b));
          } catch (const ShapeError&) {
          }
          break;
        case 2: pool.push_back(sa.size() == 2 ? g.transpose(a, {1, 0}) : g.unary(UnaryOp::neg, a)); break;
        case 3: pool.push_back(g.reduce(ReduceOp::sum, a, {-1}, true)); break;
        case 4: pool.push_back(g.softmax(a, -1)); break;
        case 5: pool.push_back(sa.size() == 2 ? g.einsum("ij,kj->ik", {a, a}) : g.reshape(a, {1, -1})); break;
        // Row-wise ops that run in place: norms, bias + activation, scaled masked softmax.
        case 6: pool.push_back(g.layer_norm(a, std::nullopt, std::nullopt)); break;
        case 7: pool.push_back(g.rms_norm(a, std::nullopt)); break;
        case 8:
          if (g.shape(b).size() == 1 && g.shape(b)[0] == sa.back())
            pool.push_back(g.bias_act(a, b, UnaryOp::tanh));
          else
            pool.push_back(g.scaled_masked_softmax(a, 0.5f));
          break;
        case 9:
          try {
            pool.push_back(g.scaled_masked_softmax(a, 0.7f, b));
          } catch (const ShapeError&) {
          }
          break;
      }
    }
    // A few outputs, including the last value and a random earlier one.
    g.output(pool.back(), "last");
    g.output(pool[3 + rng() % (pool.size() - 3)], "mid");
    Executor reuse(g), naive(g, ExecutorOptions{false});
    ASSERT_EQ(check_plan(reuse.memory_plan()), "") << to_text(g);
    EXPECT_LE(reuse.memory_plan().arena_bytes, reuse.memory_plan().naive_bytes);
    auto a = reuse.run(in), b = naive.run(in);
    for (const auto& [name, t] : a) EXPECT_TRUE(rt_test::same_bits(t, b.at(name))) << name << "\n" << to_text(g);
    shared += naive.memory_plan().slots.size() - reuse.memory_plan().slots.size();
  }
  EXPECT_GT(shared, 20u);  // the in-place path really ran
}
