// The typed linear op: every weight format against NumPy (scripts/gen_linear_fixtures.py: y = x . dequant(W)^T
// + b in float64), the kernel against its reference (tl::qgemm_naive), shape/dtype inference errors, and the
// text/JSON forms.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "tl/graph.h"
#include "tl/kernels.h"
#include "tl/npy.h"
#include "tl/ops.h"
#include "tl/quant.h"
#include "tl/threading.h"

#include "../error_of.h"

using namespace tl;

namespace {

using tl::test::error_of;

const std::string kDir = std::string(TL_FIXTURE_DIR) + "/linear/";

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  const auto x = a.to_f64_vector(), y = b.to_f64_vector();
  double m = 0;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) m = std::max(m, std::abs(x[i] - y[i]));
  return m;
}

// The fixture's raw bytes u8 [n, row_bytes] as the format's storage tensor.
Tensor stored(const Tensor& raw, WeightFormat f, int64_t k) {
  const DType dt = weight_storage_dtype(f);
  if (dt == DType::u8) return raw;
  Tensor t = Tensor::empty({raw.size(0), k}, dt);
  EXPECT_EQ(t.nbytes(), raw.nbytes());
  std::memcpy(t.raw_data(), raw.raw_data(), raw.nbytes());
  return t;
}

}  // namespace

TEST(LinearOp, EveryFormatMatchesNumPy) {
  const Tensor x = read_npy(kDir + "x.npy");    // [2, 3, 64]
  const Tensor w = read_npy(kDir + "w.npy");    // [24, 64]
  const Tensor b = read_npy(kDir + "b.npy");    // [24]
  const Tensor xk = read_npy(kDir + "xk.npy");  // [5, 256]
  for (WeightFormat f : all_weight_formats()) {
    SCOPED_TRACE(weight_format_name(f));
    const bool kq = weight_format_block(f) == 256;
    const Tensor& xi = kq ? xk : x;
    const int64_t k = xi.size(-1);
    const Tensor raw = read_npy(kDir + "w_" + weight_format_name(f) + ".npy");
    const Tensor want = read_npy(kDir + "y_" + weight_format_name(f) + ".npy");
    const Tensor q = stored(raw, f, k);
    EXPECT_EQ(check_weight_storage(q, f, k, "w"), raw.size(0));
    // Our quantiser gives the gguf package's bytes exactly (where it produces the format).
    if (can_quantize(f) && f != WeightFormat::f32) {
      const Tensor mine = quantize_weight(w, f);
      ASSERT_EQ(mine.nbytes(), raw.nbytes());
      EXPECT_EQ(std::memcmp(mine.raw_data(), raw.raw_data(), raw.nbytes()), 0);
    }
    std::optional<Tensor> bias;
    if (!kq) bias = b;
    const Tensor y = kernels::linear(xi, q, bias, f, k);
    const Tensor r = ref::linear(xi, q, bias, f, k);
    // f32 accumulation over k <= 256 products against float64: within 2e-6 of the largest |y| (at least 2e-5);
    // measured 1.2e-6 for |y| <= 5 (k = 64) and 4.6e-5 for the k-quants' |y| ~ 100 (k = 256).
    const double d_np = max_abs_diff(y, want), d_ref = max_abs_diff(r, want);
    double ymax = 0;
    for (double v : want.to_f64_vector()) ymax = std::max(ymax, std::abs(v));
    EXPECT_LE(d_np, std::max(2e-5, 2e-6 * ymax));
    EXPECT_LE(d_ref, 1e-5);  // the reference sums in double: only the final f32 rounding differs
    std::printf("[linear] %-5s kernel vs NumPy %.2e, reference vs NumPy %.2e\n", weight_format_name(f), d_np, d_ref);
  }
}

// linear {act}: the bias and the activation run as the product's epilogue (tl::GemmEpilogue) on both the blocked
// path (x's 6 rows) and the GEMV path (1 and 4 rows), 1 and 2 threads. Against torch (float64, the fixture), and
// bit for bit against the unfused kernels (linear without bias, then bias_act), whose arithmetic it reuses.
TEST(LinearOp, ActivationEpilogueMatchesTorchAndTheUnfusedKernels) {
  const Tensor x = read_npy(kDir + "x.npy");  // [2, 3, 64]
  const Tensor b = read_npy(kDir + "b.npy");  // [24]
  const std::pair<const char*, UnaryOp> acts[] = {{"relu", UnaryOp::relu},         {"gelu_erf", UnaryOp::gelu_erf},
                                                  {"gelu_tanh", UnaryOp::gelu_tanh}, {"silu", UnaryOp::silu},
                                                  {"sigmoid", UnaryOp::sigmoid},   {"tanh", UnaryOp::tanh}};
  const int saved = num_threads();
  for (WeightFormat f : {WeightFormat::f32, WeightFormat::q8_0}) {
    const Tensor q = stored(read_npy(kDir + "w_" + weight_format_name(f) + ".npy"), f, 64);
    for (const auto& [name, act] : acts) {
      SCOPED_TRACE(std::string(weight_format_name(f)) + " " + name);
      const Tensor want = read_npy(kDir + "y_" + weight_format_name(f) + "_" + name + ".npy");  // [2, 3, 24]
      for (int threads : {1, 2}) {
        set_num_threads(threads);
        const Tensor y = kernels::linear(x, q, b, f, 64, act);
        // As the plain linear's tolerance (k = 64, |y| <= 5): the activations are within 1e-6 of torch's.
        EXPECT_LE(max_abs_diff(y, want), 2e-5);
        const Tensor unfused = kernels::bias_act(kernels::linear(x, q, std::nullopt, f, 64), b, act);
        EXPECT_EQ(std::memcmp(y.raw_data(), unfused.raw_data(), y.nbytes()), 0);
        for (int64_t rows : {1, 4}) {  // the GEMV path
          const Tensor xs = x.reshape({6, 64}).slice(0, 0, rows);
          const Tensor ys = kernels::linear(xs, q, b, f, 64, act);
          const Tensor us = kernels::bias_act(kernels::linear(xs, q, std::nullopt, f, 64), b, act);
          EXPECT_EQ(std::memcmp(ys.raw_data(), us.raw_data(), ys.nbytes()), 0) << rows << " rows";
        }
      }
      // No bias: act(x W^T) alone.
      const Tensor nb = kernels::linear(x, q, std::nullopt, f, 64, act);
      const Tensor nb_ref = kernels::unary(act, kernels::linear(x, q, std::nullopt, f, 64));
      EXPECT_LE(max_abs_diff(nb, nb_ref), 1e-6);
    }
  }
  set_num_threads(saved);
  const Tensor w = read_npy(kDir + "w.npy");
  const std::string e = error_of<ValueError>([&] { kernels::linear(x, w, b, WeightFormat::f32, 64, UnaryOp::exp); });
  EXPECT_NE(e.find("exp is not an activation"), std::string::npos) << e;
}

TEST(LinearOp, StridedInputAndManyRows) {
  // A transposed view as x and m = 70 rows (the packed-panel path of qgemm) agree with the reference.
  const Tensor w = read_npy(kDir + "w.npy");  // [24, 64]
  Tensor big = Tensor::empty({64, 70});
  for (int64_t i = 0; i < big.numel(); ++i) big.data<float>()[i] = float(std::sin(0.37 * double(i)));
  const Tensor x = big.transpose(0, 1);  // [70, 64], strided
  for (WeightFormat f : {WeightFormat::f32, WeightFormat::bf16, WeightFormat::q8_0, WeightFormat::q4_1}) {
    const Tensor q = quantize_weight(w, f);
    const double d = max_abs_diff(kernels::linear(x, q, std::nullopt, f, 64), ref::linear(x, q, std::nullopt, f, 64));
    EXPECT_LE(d, 2e-5) << weight_format_name(f);  // f32 vs double accumulation over 64 terms
  }
}

TEST(LinearOp, BuilderInfersTheOutputAndFormsRoundTrip) {
  Graph g("lin");
  Value x = g.input("x", {2, 3, 64});                                                    // [b, s, k]
  Value w = g.param("w", DType::u8, {24, weight_row_bytes(WeightFormat::q8_0, 64)});      // [n, 68]
  Value b = g.param("b", {24});                                                          // [n]
  Value y = g.linear(x, w, b, WeightFormat::q8_0, "y");                                  // [b, s, n]
  g.output(y);
  EXPECT_EQ(g.type(y), (ValueType{DType::f32, {2, 3, 24}}));
  EXPECT_TRUE(verify_problems(g).empty());
  const std::string text = to_text(g);
  EXPECT_NE(text.find("linear"), std::string::npos) << text;
  EXPECT_NE(text.find("format=\"q8_0\""), std::string::npos) << text;
  EXPECT_NE(text.find("in=64"), std::string::npos) << text;
  EXPECT_EQ(parse_graph_text(text), g);
  EXPECT_EQ(parse_graph_json(to_json(g)), g);
  EXPECT_NE(to_dot(g).find("q8_0"), std::string::npos);
  // A bad format name in the text form names the attribute and the valid names.
  std::string bad = text;
  bad.replace(bad.find("\"q8_0\""), 6, "\"q9_0\"");
  const std::string e = error_of<ParseError>([&] { parse_graph_text(bad); });
  EXPECT_NE(e.find("format"), std::string::npos) << e;
  EXPECT_NE(e.find("q9_0"), std::string::npos) << e;
  // The activation attribute: printed only when set, round-trips, and must name an activation.
  Graph h("lin_act");
  Value hx = h.input("x", {5, 64});
  h.output(h.linear(hx, h.param("w", {24, 64}), h.param("b", {24}), WeightFormat::f32, UnaryOp::gelu_erf, "y"));
  const std::string ht = to_text(h);
  EXPECT_NE(ht.find("act=\"gelu_erf\""), std::string::npos) << ht;
  EXPECT_EQ(text.find("act="), std::string::npos) << text;
  EXPECT_EQ(parse_graph_text(ht), h);
  EXPECT_EQ(parse_graph_json(to_json(h)), h);
  std::string bad_act = ht;
  bad_act.replace(bad_act.find("\"gelu_erf\""), 10, "\"exp\"");
  const std::string ea = error_of<ParseError>([&] { parse_graph_text(bad_act); });
  EXPECT_NE(ea.find("'act' = \"exp\" is not an activation"), std::string::npos) << ea;
  const std::string eg = error_of<ValueError>([&] {
    Graph k;
    k.add_op(OpKind::linear_group, LinearAttrs{WeightFormat::f32, 64, UnaryOp::silu},
             {k.input("x", {2, 64}), k.param("w", {8, 64})});
  });
  EXPECT_NE(eg.find("[linear_group] has no 'act' attribute"), std::string::npos) << eg;
}

TEST(LinearOp, ErrorsNameTheFormatTheExpectedAndTheActual) {
  auto build = [](DType wdt, Shape ws, WeightFormat f, Shape xs = {2, 64}, std::optional<Shape> bs = {}) {
    Graph g;
    Value x = g.input("x", xs);
    Value w = g.param("w", wdt, ws);
    std::optional<Value> b;
    if (bs) b = g.param("b", *bs);
    g.linear(x, w, b, f);
  };
  // Storage dtype of the format.
  std::string e = error_of<ValueError>([&] { build(DType::f32, {24, 68}, WeightFormat::q8_0); });
  EXPECT_NE(e.find("expected u8"), std::string::npos) << e;
  EXPECT_NE(e.find("q8_0"), std::string::npos) << e;
  // Row bytes: q4_0 rows of 64 weights are 36 bytes.
  e = error_of<ShapeError>([&] { build(DType::u8, {24, 68}, WeightFormat::q4_0); });
  EXPECT_NE(e.find("[n, 36]"), std::string::npos) << e;
  EXPECT_NE(e.find("[24, 68]"), std::string::npos) << e;
  // k not a multiple of the block.
  e = error_of<ShapeError>([&] { build(DType::u8, {24, 51}, WeightFormat::q8_0, {2, 48}); });
  EXPECT_NE(e.find("in_features = 48"), std::string::npos) << e;
  EXPECT_NE(e.find("32"), std::string::npos) << e;
  // Plain formats: [n, k] of the right dtype.
  e = error_of<ShapeError>([&] { build(DType::bf16, {24, 63}, WeightFormat::bf16); });
  EXPECT_NE(e.find("[n, 64]"), std::string::npos) << e;
  e = error_of<ValueError>([&] { build(DType::f16, {24, 64}, WeightFormat::bf16); });
  EXPECT_NE(e.find("dtype f16, expected bf16"), std::string::npos) << e;
  // Bias [n].
  e = error_of<ShapeError>([&] { build(DType::f32, {24, 64}, WeightFormat::f32, {2, 64}, Shape{23}); });
  EXPECT_NE(e.find("expected [24]"), std::string::npos) << e;
  // x must be f32 with last dim in.
  e = error_of<ValueError>([] {
    Graph g;
    g.linear(g.input("x", DType::i64, {2, 64}), g.param("w", {24, 64}), std::nullopt, WeightFormat::f32);
  });
  EXPECT_NE(e.find("expected f32"), std::string::npos) << e;
  // The attribute 'in' disagreeing with x (a hand-written graph).
  Graph g;
  Value x = g.input("x", {2, 64});
  Value w = g.param("w", {24, 64});
  e = error_of<ShapeError>([&] { g.add_op(OpKind::linear, LinearAttrs{WeightFormat::f32, 32, std::nullopt}, {x, w}); });
  EXPECT_NE(e.find("expected last dim 32"), std::string::npos) << e;
}
