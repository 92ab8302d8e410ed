// The linear_group op: every weight format against NumPy (the `linear` fixtures of
// scripts/gen_linear_fixtures.py, y = x . dequant(W)^T + b in float64, with W's rows split into three weights),
// bit-equality with one `linear` per weight, the reference, shape/dtype errors naming the weight's input index,
// and the text/JSON forms.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "tl/graph.h"
#include "tl/kernels.h"
#include "tl/npy.h"
#include "tl/ops.h"
#include "tl/quant.h"

#include "../error_of.h"

using namespace tl;

namespace {

using tl::test::error_of;

const std::string kDir = std::string(TL_FIXTURE_DIR) + "/linear/";

// The fixture's raw bytes u8 [n, row_bytes] as the format's storage tensor.
Tensor stored(const Tensor& raw, WeightFormat f, int64_t k) {
  const DType dt = weight_storage_dtype(f);
  if (dt == DType::u8) return raw;
  Tensor t = Tensor::empty({raw.size(0), k}, dt);
  std::memcpy(t.raw_data(), raw.raw_data(), raw.nbytes());
  return t;
}

}  // namespace

TEST(LinearGroupOp, EveryFormatMatchesNumPyAndOneLinearPerWeight) {
  const Tensor x = read_npy(kDir + "x.npy");    // [2, 3, 64]
  const Tensor b = read_npy(kDir + "b.npy");    // [24]
  const Tensor xk = read_npy(kDir + "xk.npy");  // [5, 256]
  for (WeightFormat f : all_weight_formats()) {
    SCOPED_TRACE(weight_format_name(f));
    const bool kq = weight_format_block(f) == 256;
    const Tensor& xi = kq ? xk : x;
    const int64_t k = xi.size(-1);
    const Tensor q = stored(read_npy(kDir + "w_" + weight_format_name(f) + ".npy"), f, k);  // [24, *]
    Tensor want = read_npy(kDir + "y_" + weight_format_name(f) + ".npy");                   // [..., 24] (+ b)
    if (!kq) want = kernels::binary(BinaryOp::sub, want, b);
    const std::vector<Tensor> parts = {q.slice(0, 0, 10).contiguous(), q.slice(0, 10, 17).contiguous(),
                                       q.slice(0, 17, 24).contiguous()};
    const Tensor y = kernels::linear_group(xi, parts, f, k);
    ASSERT_EQ(y.shape(), want.shape());
    // Same tolerance as LinearOp.EveryFormatMatchesNumPy (f32 accumulation against float64; the bias the
    // fixture added is taken off in f32, one more rounding of |y| <= 5).
    const auto got = y.to_f64_vector(), ref = want.to_f64_vector(), r = ref::linear_group(xi, parts, f, k).to_f64_vector();
    double d = 0, dr = 0, ymax = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      d = std::max(d, std::abs(got[i] - ref[i]));
      dr = std::max(dr, std::abs(r[i] - ref[i]));
      ymax = std::max(ymax, std::abs(ref[i]));
    }
    EXPECT_LE(d, std::max(2e-5, 2e-6 * ymax));
    EXPECT_LE(dr, std::max(1e-5, 1e-6 * ymax));
    // Column block i is `linear` with weight i, bit for bit.
    int64_t off = 0;
    for (const Tensor& w : parts) {
      const Tensor one = kernels::linear(xi, w, std::nullopt, f, k);
      const Tensor mine = y.slice(int(y.shape().size()) - 1, off, off + w.size(0)).contiguous();
      EXPECT_EQ(std::memcmp(one.raw_data(), mine.raw_data(), one.nbytes()), 0) << "weight at column " << off;
      off += w.size(0);
    }
  }
}

TEST(LinearGroupOp, BuilderInfersTheOutputAndFormsRoundTrip) {
  Graph g("grp");
  const int64_t rb = weight_row_bytes(WeightFormat::q4_0, 64);
  Value x = g.input("x", {1, 1, 64});                                                        // [b, s, k]
  Value wq = g.param("wq", DType::u8, {24, rb});                                            // [n_q, 36]
  Value wk = g.param("wk", DType::u8, {8, rb});                                             // [n_k, 36]
  Value y = g.linear_group(x, {wq, wk}, WeightFormat::q4_0, "y");                           // [b, s, 32]
  g.output(g.slice(y, 2, 24, 32, 1, "k"));
  EXPECT_EQ(g.type(y), (ValueType{DType::f32, {1, 1, 32}}));
  EXPECT_TRUE(verify_problems(g).empty());
  const std::string text = to_text(g);
  EXPECT_NE(text.find("linear_group"), std::string::npos) << text;
  EXPECT_NE(text.find("format=\"q4_0\""), std::string::npos) << text;
  EXPECT_EQ(parse_graph_text(text), g);
  EXPECT_EQ(parse_graph_json(to_json(g)), g);
}

TEST(LinearGroupOp, ErrorsNameTheWeightTheExpectedAndTheActual) {
  Graph g;
  Value x = g.input("x", {2, 64});
  Value w0 = g.param("w0", {24, 64});
  Value w1 = g.param("w1", {8, 63});
  Value w2 = g.param("w2", DType::bf16, {8, 64});
  std::string e = error_of<ShapeError>([&] { g.linear_group(x, {w0, w1}, WeightFormat::f32); });
  EXPECT_NE(e.find("input 2"), std::string::npos) << e;
  EXPECT_NE(e.find("[n, 64]"), std::string::npos) << e;
  EXPECT_NE(e.find("[8, 63]"), std::string::npos) << e;
  e = error_of<ValueError>([&] { g.linear_group(x, {w0, w0, w2}, WeightFormat::f32); });
  EXPECT_NE(e.find("input 3"), std::string::npos) << e;
  EXPECT_NE(e.find("dtype bf16, expected f32"), std::string::npos) << e;
  // No weight at all: the arity check names the op.
  e = error_of<ValueError>(
      [&] { g.add_op(OpKind::linear_group, LinearAttrs{WeightFormat::f32, 64, std::nullopt}, {x}); });
  EXPECT_NE(e.find("linear_group"), std::string::npos) << e;
}
