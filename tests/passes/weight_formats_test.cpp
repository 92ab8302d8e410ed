// apply_weight_formats: linear-form einsums (the spellings nn::linear and the model families produce) become
// typed linear ops on stored weights, biases fold in, the result equals the f32 graph run on the dequantised
// weights, and weights with other uses (tied embeddings) are refused by name.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "pass_test_util.h"
#include "tl/quant.h"

#include "../error_of.h"

using namespace tl;

namespace {

using pass_test::count;

using tl::test::error_of;

Tensor randn(Shape s, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  Tensor t = Tensor::empty(std::move(s));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  const auto x = a.to_f64_vector(), y = b.to_f64_vector();
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::abs(x[i] - y[i]));
  return m;
}

// x [2, 3, 64] -> w1 "...i,oi->...o" + b1 -> relu -> w2 "bsi,oi->bso" -> w3 "...i,io->...o" (GPT-2 Conv1D).
Graph mlp() {
  Graph g("mlp");
  Value x = g.input("x", {2, 3, 64});                                  // [b, s, 64]
  Value w1 = g.param("w1", {96, 64});                                  // [out, in]
  Value b1 = g.param("b1", {96});                                      // [out]
  Value w2 = g.param("w2", {64, 96});                                  // [out, in]
  Value w3 = g.param("w3", {64, 32});                                  // [in, out] (transposed)
  Value h = g.add(g.einsum("...i,oi->...o", {x, w1}), b1, "h");         // [b, s, 96]
  Value r = g.unary(UnaryOp::relu, h, "r");                            // [b, s, 96]
  Value z = g.einsum("bsi,oi->bso", {r, w2}, "z");                     // [b, s, 64]
  g.output(g.einsum("...i,io->...o", {z, w3}, "y"));                   // [b, s, 32]
  return g;
}

}  // namespace

TEST(WeightFormats, FindsLinearWeightsInEachSpelling) {
  const std::vector<LinearWeight> lw = linear_weights(mlp());
  ASSERT_EQ(lw.size(), 3u);
  EXPECT_EQ(lw[0].name, "w1");
  EXPECT_FALSE(lw[0].transposed);
  EXPECT_EQ(lw[0].in_features, 64);
  EXPECT_EQ(lw[0].out_features, 96);
  EXPECT_EQ(lw[1].name, "w2");
  EXPECT_EQ(lw[2].name, "w3");
  EXPECT_TRUE(lw[2].transposed);
  EXPECT_EQ(lw[2].in_features, 64);
  EXPECT_EQ(lw[2].out_features, 32);
}

TEST(WeightFormats, StoredGraphEqualsTheF32GraphOnDequantisedWeights) {
  const Tensor x = randn({2, 3, 64}, 1);
  const std::map<std::string, Tensor> w = {{"w1", randn({96, 64}, 2, 0.2f)},
                                           {"b1", randn({96}, 3)},
                                           {"w2", randn({64, 96}, 4, 0.2f)},
                                           {"w3", randn({64, 32}, 5, 0.2f)}};
  for (WeightFormat f : {WeightFormat::f32, WeightFormat::f16, WeightFormat::bf16, WeightFormat::q8_0,
                         WeightFormat::q4_0, WeightFormat::q4_1}) {
    SCOPED_TRACE(weight_format_name(f));
    Graph g = mlp();
    ASSERT_TRUE(apply_weight_formats(g, {{"w1", f}, {"w2", f}, {"w3", f}, {"not_in_graph", f}}));
    verify(g);
    EXPECT_EQ(count(g, OpKind::linear), 3);
    EXPECT_EQ(count(g, OpKind::einsum), 0);
    EXPECT_EQ(count(g, OpKind::binary), 0);  // the bias add folded into the first linear
    EXPECT_EQ(g.dtype(*g.find("w1")), weight_storage_dtype(f));
    EXPECT_EQ(g.shape(*g.find("w3"))[0], 32);  // stored [out, in]
    // The stored weights, and the f32 graph on exactly their dequantised values.
    std::map<std::string, Tensor> stored = {{"x", x}, {"b1", w.at("b1")}}, deq = stored;
    for (const char* n : {"w1", "w2", "w3"}) {
      const bool tr = std::string(n) == "w3";
      stored[n] = quantize_weight(tr ? w.at(n).transpose(0, 1) : w.at(n), f);
      Tensor d = dequantize_weight(stored[n], f, tr ? 64 : w.at(n).size(1));
      deq[n] = tr ? d.transpose(0, 1).contiguous() : d;
    }
    const Tensor got = run_graph(g, stored).at("y");
    const Tensor want = run_graph(mlp(), deq).at("y");
    // The same products in f32, summed in another order (qgemm vs the einsum's GEMM): rounding only.
    const double d = max_abs_diff(got, want);
    EXPECT_LE(d, 1e-5);
    // The optimiser leaves the linear ops alone and keeps the result.
    Graph opt = g;
    optimize(opt, OptLevel::full);
    EXPECT_EQ(count(opt, OpKind::linear), 3);
    EXPECT_LE(max_abs_diff(run_graph(opt, stored).at("y"), got), 1e-6);
  }
}

TEST(WeightFormats, TiedAndOddWeightsAreRefusedByName) {
  // A tied embedding: gathered and used as the LM head.
  Graph g("tied");
  Value ids = g.input("ids", DType::i64, {1, 4});                        // [b, s]
  Value emb = g.param("embed", {100, 64});                               // [vocab, d]
  Value h = g.gather(emb, ids, 0, "h");                                  // [b, s, d]
  g.output(g.einsum("...i,oi->...o", {h, emb}, "logits"));               // [b, s, vocab]
  EXPECT_TRUE(linear_weights(g).empty());
  Graph g2 = g;
  std::string e = error_of<ValueError>([&] { apply_weight_formats(g2, {{"embed", WeightFormat::q8_0}}); });
  EXPECT_NE(e.find("'embed'"), std::string::npos) << e;
  EXPECT_NE(e.find("gather"), std::string::npos) << e;
  EXPECT_NE(e.find("tied"), std::string::npos) << e;
  // In-features that are not a multiple of the block.
  Graph g3("odd");
  Value x = g3.input("x", {2, 48});
  g3.output(g3.einsum("...i,oi->...o", {x, g3.param("w", {8, 48})}, "y"));
  e = error_of<ShapeError>([&] { apply_weight_formats(g3, {{"w", WeightFormat::q4_0}}); });
  EXPECT_NE(e.find("'w'"), std::string::npos) << e;
  EXPECT_NE(e.find("48"), std::string::npos) << e;
  EXPECT_NE(e.find("32"), std::string::npos) << e;
  // An empty map, or names the graph lacks, change nothing.
  Graph g4 = mlp();
  EXPECT_FALSE(apply_weight_formats(g4, {}));
  EXPECT_FALSE(apply_weight_formats(g4, {{"other", WeightFormat::q8_0}}));
  EXPECT_EQ(g4, mlp());
}

TEST(WeightFormats, TiedWeightGetsAStoredCopyForItsLinearUses) {
  // The tied embedding/LM head: the gather keeps the f32 rows, the head reads a stored copy.
  auto tied = [] {
    Graph g("tied");
    Value ids = g.input("ids", DType::i64, {1, 4});           // [b, s]
    Value emb = g.param("embed", {96, 64});                    // [vocab, d]
    Value h = g.gather(emb, ids, 0, "h");                      // [b, s, d]
    g.output(g.einsum("...i,oi->...o", {h, emb}, "logits"));   // [b, s, vocab]
    return g;
  };
  const std::vector<LinearWeight> lw = linear_weights(tied(), /*include_shared=*/true);
  ASSERT_EQ(lw.size(), 1u);
  EXPECT_EQ(lw[0].name, "embed");
  EXPECT_TRUE(lw[0].shared);
  EXPECT_EQ(lw[0].in_features, 64);
  EXPECT_EQ(lw[0].out_features, 96);
  const Tensor ids = Tensor::from_vector<int64_t>({1, 4}, {3, 0, 95, 17});
  const Tensor emb = randn({96, 64}, 7, 0.5f);
  for (WeightFormat f : {WeightFormat::bf16, WeightFormat::q8_0, WeightFormat::q4_0}) {
    SCOPED_TRACE(weight_format_name(f));
    Graph g = tied();
    ASSERT_TRUE(apply_weight_formats(g, {}, {{"embed", f}, {"not_in_graph", f}}));
    verify(g);
    EXPECT_EQ(count(g, OpKind::linear), 1);
    EXPECT_EQ(g.dtype(*g.find("embed")), DType::f32);  // the lookup's rows
    const std::string copy = linear_copy_name("embed");
    ASSERT_TRUE(g.find(copy));
    EXPECT_EQ(g.dtype(*g.find(copy)), weight_storage_dtype(f));
    const Tensor stored = quantize_weight(emb, f);
    const Tensor got = run_graph(g, {{"ids", ids}, {"embed", emb}, {copy, stored}}).at("logits");
    // Reference: the f32 graph with an untied head holding exactly the copy's dequantised values.
    Graph ref("untied");
    Value rid = ref.input("ids", DType::i64, {1, 4});
    Value h = ref.gather(ref.param("embed", {96, 64}), rid, 0, "h");
    ref.output(ref.einsum("...i,oi->...o", {h, ref.param("head", {96, 64})}, "logits"));
    const Tensor want =
        run_graph(ref, {{"ids", ids}, {"embed", emb}, {"head", dequantize_weight(stored, f, 64)}}).at("logits");
    EXPECT_LE(max_abs_diff(got, want), 1e-5);  // same dequantised products, another summation order
  }
  // A copy for a weight with no linear use, or a weight named both ways, is refused by name.
  Graph g("no_linear");
  Value ids2 = g.input("ids", DType::i64, {1, 4});
  g.output(g.gather(g.param("embed", {96, 64}), ids2, 0, "h"));
  std::string e = error_of<ValueError>([&] { apply_weight_formats(g, {}, {{"embed", WeightFormat::q8_0}}); });
  EXPECT_NE(e.find("'embed'"), std::string::npos) << e;
  EXPECT_NE(e.find("no use as a linear"), std::string::npos) << e;
  Graph g2 = mlp();
  e = error_of<ValueError>(
      [&] { apply_weight_formats(g2, {{"w1", WeightFormat::q8_0}}, {{"w1", WeightFormat::q8_0}}); });
  EXPECT_NE(e.find("'w1'"), std::string::npos) << e;
}
