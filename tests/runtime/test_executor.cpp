// The executor against direct kernel composition (MLP, attention), against NumPy (fixture block), and its
// input checking. Tolerances: the executor calls the very same kernels as the direct composition, so results
// agree to float rounding of identical operation order (checked at 1e-6 absolute on O(1) values); NumPy
// computes in float64, so f32 results are checked at 1e-4 absolute on O(1) values.
#include <gtest/gtest.h>

#include <cmath>

#include "../ir/every_op_graph.h"
#include "../kernels/kernel_test_util.h"
#include "runtime_test_util.h"
#include "tl/einsum.h"
#include "tl/kernels.h"
#include "tl/npy.h"
#include "tl/runtime.h"
#include "tl/threading.h"

using namespace tl;
using rt_test::max_abs_diff;
using rt_test::randn;
using rt_test::same_bits;

namespace {

// x -> relu(x @ w1 + b1) @ w2 + b2 -> softmax
Graph mlp_graph(int64_t n, int64_t d, int64_t h, int64_t o) {
  Graph g("mlp");
  Value x = g.input("x", {n, d});        // [batch, in]
  Value w1 = g.param("w1", {d, h});      // [in, hidden]
  Value b1 = g.param("b1", {h});         // [hidden]
  Value w2 = g.param("w2", {h, o});      // [hidden, out]
  Value b2 = g.param("b2", {o});         // [out]
  Value hid = g.unary(UnaryOp::relu, g.add(g.einsum("nd,dh->nh", {x, w1}), b1));  // [batch, hidden]
  g.add(g.einsum("nh,ho->no", {hid, w2}), b2, "logits");  // a dead value: computed, never used
  g.output(g.softmax(g.add(g.einsum("nh,ho->no", {hid, w2}), b2), -1), "probs");
  g.output(hid, "hidden");
  return g;
}

}  // namespace

TEST(Executor, MlpMatchesDirectKernelCalls) {
  const int64_t n = 5, d = 7, h = 13, o = 3;  // odd sizes
  Graph g = mlp_graph(n, d, h, o);
  Tensor x = randn({n, d}, 1), w1 = randn({d, h}, 2), b1 = randn({h}, 3), w2 = randn({h, o}, 4), b2 = randn({o}, 5);
  Executor ex(g);
  ex.bind_param("w1", w1);
  ex.bind_param("b1", b1);
  ex.bind_param("w2", w2);
  auto out = ex.run({{"x", x}, {"b2", b2}});
  // The same computation by hand.
  Tensor hid = kernels::unary(UnaryOp::relu, kernels::binary(BinaryOp::add, einsum("nd,dh->nh", {x, w1}), b1));
  Tensor probs = kernels::softmax(kernels::binary(BinaryOp::add, einsum("nh,ho->no", {hid, w2}), b2), -1);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_LE(max_abs_diff(out["hidden"], hid), 1e-6);
  EXPECT_LE(max_abs_diff(out["probs"], probs), 1e-6);
  // And against the double-precision references.
  Tensor hid_ref = ref::unary(UnaryOp::relu, ref::binary(BinaryOp::add, einsum_naive("nd,dh->nh", {x, w1}), b1));
  EXPECT_LE(max_abs_diff(out["hidden"], hid_ref), 1e-4);
}

TEST(Executor, AttentionBlockMatchesDirectKernelCalls) {
  const int64_t B = 2, S = 5, D = 6, H = 2, HD = D / H;
  Graph g("attn");
  Value x = g.input("x", {B, S, D});              // [batch, seq, dim]
  Value wq = g.param("wq", {D, D}), wk = g.param("wk", {D, D}), wv = g.param("wv", {D, D});
  Value gamma = g.param("gamma", {D});
  Tensor causal = Tensor::zeros({S, S});
  for (int64_t i = 0; i < S; ++i)
    for (int64_t j = i + 1; j < S; ++j) causal.set(std::vector<int64_t>{i, j}, -INFINITY);
  Value mask = g.constant(causal, "mask");        // [seq, seq]
  Value hn = g.rms_norm(x, gamma, 1, 1e-6f);      // [batch, seq, dim]
  auto heads = [&](Value w) {                     // [batch, heads, seq, head_dim]
    return g.transpose(g.reshape(g.einsum("bsd,de->bse", {hn, w}), {B, S, H, HD}), {0, 2, 1, 3});
  };
  Value q = heads(wq), k = heads(wk), v = heads(wv);
  Value scores = g.einsum("bhqd,bhkd->bhqk", {q, k});               // [batch, heads, seq, seq]
  Value p = g.softmax(scores, -1, mask);
  Value ctx = g.einsum("bhqk,bhkd->bhqd", {p, v});                  // [batch, heads, seq, head_dim]
  Value merged = g.reshape(g.transpose(ctx, {0, 2, 1, 3}), {B, S, D});  // non-contiguous -> reshape copies
  Value y = g.add(x, merged, "y");
  g.output(y);
  g.output(g.slice(p, 2, 1, 5, 2), "p_rows");  // an output that is a view

  Tensor tx = randn({B, S, D}, 10), twq = randn({D, D}, 11, 0.5f), twk = randn({D, D}, 12, 0.5f),
         twv = randn({D, D}, 13, 0.5f), tg = randn({D}, 14);
  auto out = Executor(g).run({{"x", tx}, {"wq", twq}, {"wk", twk}, {"wv", twv}, {"gamma", tg}});

  Tensor thn = kernels::rms_norm(tx, tg, 1, 1e-6f);
  auto theads = [&](const Tensor& w) { return einsum("bsd,de->bse", {thn, w}).reshape({B, S, H, HD}).permute({0, 2, 1, 3}); };
  Tensor tq = theads(twq), tk = theads(twk), tv = theads(twv);
  Tensor tp = kernels::softmax(einsum("bhqd,bhkd->bhqk", {tq, tk}), -1, causal);
  Tensor tctx = einsum("bhqk,bhkd->bhqd", {tp, tv});
  Tensor ty = kernels::binary(BinaryOp::add, tx, tctx.permute({0, 2, 1, 3}).contiguous().reshape({B, S, D}));
  EXPECT_LE(max_abs_diff(out["y"], ty), 1e-6);
  EXPECT_LE(max_abs_diff(out["p_rows"], tp.slice(2, 1, 5, 2)), 1e-6);
  EXPECT_TRUE(out["p_rows"].is_contiguous());
}

TEST(Executor, FixtureBlockMatchesNumPy) {
  // Graph text and data written by scripts/gen_runtime_fixtures.py; expected values from NumPy (float64).
  const std::string dir = std::string(TL_FIXTURE_DIR) + "/runtime/";
  Graph g = load_graph(dir + "block.tlg");
  Executor ex(g);
  std::map<std::string, Tensor> in;
  for (Value v : g.inputs()) in[g.info(v).name] = read_npy(dir + "block_in_" + g.info(v).name + ".npy");
  for (Value v : g.params()) ex.bind_param(g.info(v).name, read_npy(dir + "block_in_" + g.info(v).name + ".npy"));
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    auto out = ex.run(in);
    for (const char* name : {"y", "pooled", "probs"}) {
      Tensor want = read_npy(dir + "block_out_" + std::string(name) + ".npy");
      double diff = max_abs_diff(out.at(name), want);
      EXPECT_LE(diff, 1e-4) << name << " threads=" << threads;
    }
  }
  set_num_threads(2);
  EXPECT_LT(ex.memory_plan().arena_bytes, ex.memory_plan().naive_bytes) << ex.memory_plan().describe();
}

TEST(Executor, RunningTwiceGivesIdenticalResults) {
  Graph g = test_graphs::every_op_graph();
  Executor ex(g);
  std::map<std::string, Tensor> in = {{"x", randn({2, 3, 4}, 7)},
                                      {"idx", Tensor::from_vector<int64_t>({2}, {2, -3})},
                                      {"w", randn({4, 5}, 8)},
                                      {"gamma", randn({4}, 9)},
                                      {"beta", randn({4}, 10)}};
  auto a = ex.run(in);
  auto b = ex.run(in);
  ASSERT_EQ(a.size(), g.outputs().size());
  for (const auto& [name, t] : a) EXPECT_TRUE(same_bits(t, b.at(name))) << name;
  // Outputs are the caller's: the next run does not overwrite them.
  Tensor keep = a.at("cc").clone();
  ex.run({{"x", randn({2, 3, 4}, 99)}, {"idx", in["idx"]}, {"w", in["w"]}, {"gamma", in["gamma"]}, {"beta", in["beta"]}});
  EXPECT_TRUE(same_bits(a.at("cc"), keep));
}

TEST(Executor, ArenaReuseGivesTheSameBitsAsOneBufferPerValue) {
  Graph g = test_graphs::every_op_graph();
  std::map<std::string, Tensor> in = {{"x", randn({2, 3, 4}, 17)},
                                      {"idx", Tensor::from_vector<int64_t>({2}, {0, 2})},
                                      {"w", randn({4, 5}, 18)},
                                      {"gamma", randn({4}, 19)},
                                      {"beta", randn({4}, 20)}};
  Executor reuse(g), naive(g, ExecutorOptions{false});
  auto a = reuse.run(in), b = naive.run(in);
  for (const auto& [name, t] : a) EXPECT_TRUE(same_bits(t, b.at(name))) << name;
  EXPECT_LT(reuse.memory_plan().arena_bytes, naive.memory_plan().arena_bytes);
  EXPECT_EQ(naive.memory_plan().arena_bytes, naive.memory_plan().naive_bytes);
  // Views (reshape of contiguous data, transpose, slice) get no buffer of their own.
  for (const BufferSlot& s : reuse.memory_plan().slots) {
    for (const Node& n : g.nodes()) {
      if (n.output != s.value) continue;
      EXPECT_NE(n.kind, OpKind::transpose) << g.info(s.value).name;
      EXPECT_NE(n.kind, OpKind::slice) << g.info(s.value).name;
      EXPECT_NE(n.kind, OpKind::reshape) << g.info(s.value).name;
    }
  }
}

TEST(Executor, InputErrorsNameTheTensor) {
  Graph g = mlp_graph(2, 3, 4, 2);
  Executor ex(g);
  std::map<std::string, Tensor> ok = {{"x", randn({2, 3}, 1)}, {"w1", randn({3, 4}, 2)}, {"b1", randn({4}, 3)},
                                      {"w2", randn({4, 2}, 4)}, {"b2", randn({2}, 5)}};
  EXPECT_NO_THROW(ex.run(ok));
  struct Case {
    std::function<void(std::map<std::string, Tensor>&)> edit;
    const char* words;
  } cases[] = {
      {[](auto& m) { m.erase("x"); }, "missing input 'x' (f32[2,3]) of graph 'mlp'"},
      {[](auto& m) { m.erase("w2"); }, "missing parameter 'w2' (f32[4,2])"},
      {[](auto& m) { m["q"] = Tensor::zeros({1}); }, "'q' is not an input or parameter of graph 'mlp' (inputs: x; params: w1, b1, w2, b2)"},
      {[](auto& m) { m["x"] = Tensor::zeros({3, 2}); }, "input 'x' has shape [3, 2], expected [2, 3] (declared f32[2,3])"},
      {[](auto& m) { m["b1"] = Tensor::zeros({4}, DType::i32); }, "parameter 'b1' has dtype i32, expected f32"},
      {[](auto& m) { m["logits"] = Tensor::zeros({2, 2}); }, "'logits' is not an input or parameter"},
  };
  for (const Case& c : cases) {
    std::map<std::string, Tensor> m = ok;
    c.edit(m);
    try {
      ex.run(m);
      ADD_FAILURE() << c.words;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(c.words), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(ex.bind_param("x", randn({2, 3}, 1)), ValueError);  // an input, not a parameter
  EXPECT_THROW(ex.bind_param("w1", randn({4, 3}, 1)), ShapeError);
  // An invalid graph is refused at compile time with the verifier's message.
  Graph bad("bad");
  bad.input("x", {2});
  try {
    Executor e(bad);
    ADD_FAILURE();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("graph 'bad' has no outputs"), std::string::npos);
  }
}

TEST(Executor, NonContiguousInputsAndPassThroughOutputs) {
  Graph g("pt");
  Value x = g.input("x", {3, 2});
  g.output(x, "same");                                    // an input returned as is (copied)
  g.output(g.reshape(x, {6}), "flat");                    // reshape of a possibly non-contiguous input
  Value negt = g.unary(UnaryOp::neg, g.transpose(x, {1, 0}));
  g.output(negt, "negT");
  g.output(negt, "negT_again");  // the same value under two names: two independent tensors
  Tensor base = randn({2, 3}, 3);
  Tensor xt = base.transpose(0, 1);                       // [3, 2] non-contiguous view
  auto out = run_graph(g, {{"x", xt}});
  EXPECT_TRUE(same_bits(out["same"], xt));
  EXPECT_FALSE(out["same"].same_storage(base));
  EXPECT_TRUE(same_bits(out["flat"], xt.contiguous().reshape({6})));
  EXPECT_TRUE(same_bits(out["negT"], kernels::unary(UnaryOp::neg, base)));
  EXPECT_TRUE(same_bits(out["negT_again"], out["negT"]));
  EXPECT_FALSE(out["negT_again"].same_storage(out["negT"]));
}

// run(inputs, into): outputs written into caller views (a slice of a bigger buffer, as the KV cache is), left
// out of the result, with the same bits as the returned outputs; bad names and shapes throw before running.
TEST(Executor, OutputsWrittenIntoCallerViews) {
  Graph g("into");
  Value x = g.input("x", {2, 3, 2, 4});                  // [b, h, n, d]
  Value y = g.unary(UnaryOp::neg, x);                     // [b, h, n, d]
  g.output(g.transpose(y, {1, 0, 2, 3}), "yt");           // a view output [h, b, n, d]
  g.output(g.binary(BinaryOp::mul, x, x), "sq");          // a fresh output [b, h, n, d]
  g.output(x, "x_again");                                 // a source output
  Tensor xin = randn({2, 3, 2, 4}, 7);
  Executor ex(g);
  const auto plain = ex.run({{"x", xin}});
  Tensor cache = Tensor::full({3, 2, 9, 4}, 5.0);          // [h, b, slots, d]: write slots 4..5
  Tensor slot = cache.slice(2, 4, 6);                      // [h, b, 2, d], not contiguous
  ASSERT_FALSE(slot.is_contiguous());
  Tensor sq = Tensor::full({4, 2, 3, 2}, 0.0).permute({3, 2, 1, 0});  // a transposed [2, 3, 2, 4] view
  auto out = ex.run({{"x", xin}}, {{"yt", slot}, {"sq", sq}});
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(out.count("x_again"), 1u);
  EXPECT_TRUE(same_bits(slot, plain.at("yt")));
  EXPECT_TRUE(same_bits(sq, plain.at("sq")));
  // Nothing outside the slice was touched.
  for (int64_t j : {0, 1, 2, 3, 6, 7, 8})
    EXPECT_EQ(cache.slice(2, j, j + 1).to_f64_vector(), std::vector<double>(24, 5.0)) << "slot " << j;
  EXPECT_TRUE(test::throws_with<ValueError>([&] { ex.run({{"x", xin}}, {{"nope", slot}}); },
                                            {"'nope'", "not an output", "yt, sq, x_again"}));
  EXPECT_TRUE(test::throws_with<ShapeError>([&] { ex.run({{"x", xin}}, {{"yt", Tensor::empty({3, 2, 2, 5})}}); },
                                            {"output 'yt'", "[3, 2, 2, 5]", "[3, 2, 2, 4]"}));
  EXPECT_TRUE(test::throws_with<ValueError>(
      [&] { ex.run({{"x", xin}}, {{"yt", Tensor::empty({3, 2, 2, 4}, DType::f16)}}); }, {"output 'yt'", "f16"}));
  // A source output written onto the input it passes through: a copy onto itself, harmless.
  Tensor xcopy = xin.clone();
  ex.run({{"x", xcopy}}, {{"x_again", xcopy}});
  EXPECT_TRUE(same_bits(xcopy, xin));
}

TEST(ExecutorProfile, CountsEveryComputedNodeOfEveryRunWhileOn) {
  // mlp_graph computes 3 einsums, 3 adds, a relu and a softmax a run (the dead value's einsum and add too: the
  // executor runs every node); sources are not ops.
  Graph g = mlp_graph(4, 8, 16, 5);
  Executor ex(g);
  const std::map<std::string, Tensor> in{{"x", randn({4, 8}, 1)},  {"w1", randn({8, 16}, 2)}, {"b1", randn({16}, 3)},
                                         {"w2", randn({16, 5}, 4)}, {"b2", randn({5}, 5)}};
  set_op_profiling(false);
  reset_op_profile();
  ex.run(in);
  EXPECT_TRUE(op_profile().empty()) << "off by default: nothing recorded";
  set_op_profiling(true);
  ex.run(in);
  ex.run(in);
  set_op_profiling(false);
  ex.run(in);  // not counted
  std::map<std::string, int64_t> calls;
  double total = 0, prev = 1e300;
  for (const OpProfileEntry& e : op_profile()) {
    calls[e.op] = e.calls;
    EXPECT_GE(e.seconds, 0.0) << e.op;
    EXPECT_LE(e.seconds, prev) << "sorted by time, most first";
    prev = e.seconds;
    total += e.seconds;
  }
  EXPECT_EQ(calls, (std::map<std::string, int64_t>{{"einsum", 6}, {"add", 6}, {"relu", 2}, {"softmax", 2}}));
  EXPECT_GT(total, 0.0);
  reset_op_profile();
  EXPECT_TRUE(op_profile().empty());
}
