// NaN and +/-inf in inputs propagate as IEEE 754 arithmetic says (NaN * x = NaN, inf * 0 = NaN, inf - inf =
// NaN) through einsum/matmul, softmax, layer_norm, rms_norm, the nonlinearities and attention, and never crash.
// One documented exception: a softmax row whose entries are all -inf (fully masked) is all zeros, not NaN, in
// softmax, scaled_masked_softmax, the flash attention kernel and its reference alike (so the plain
// einsum-softmax-einsum attention and the fused op agree on fully masked rows).
// Fixtures: scripts/gen_robust_fixtures.py (NumPy float64 from the float32 inputs; the nonlinearities from
// torch.nn.functional in float64).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "kernel_test_util.h"
#include "tl/einsum.h"
#include "tl/npy.h"

namespace tl::test {
namespace {

void put(const Tensor& t, std::initializer_list<int64_t> idx, double v) {
  t.set(std::span<const int64_t>(idx.begin(), idx.size()), v);
}

Tensor rx(const std::string& name) { return read_npy(std::string(TL_FIXTURE_DIR) + "/robust/" + name + ".npy"); }

// all_close demands NaN where the reference has NaN and the same infinity where it has one; finite entries
// within the tolerance stated at each call.
#define EXPECT_IEEE_CLOSE(got, want, rtol, atol)                         \
  do {                                                                   \
    auto r_ = all_close((got), (want), (rtol), (atol));                  \
    EXPECT_TRUE(r_);                                                     \
    std::printf("[%s] %s\n", ::testing::UnitTest::GetInstance()->current_test_info()->name(), r_.message()); \
  } while (0)

// Finite entries: float32 sums of <= 5 products of values in [-2, 2] against float64, so 1e-5 relative.
TEST(NanInf, MatmulAndEinsumPropagate) {
  const Tensor a = rx("mm_a"), b = rx("mm_b");
  EXPECT_IEEE_CLOSE(einsum("ij,jk->ik", {a, b}), rx("mm_out"), 1e-5, 1e-6);
  EXPECT_IEEE_CLOSE(einsum("bij,jk->bik", {rx("bmm_a"), b}), rx("bmm_out"), 1e-5, 1e-6);
  // A transposed view goes through another GEMM layout; a single row goes through the GEMV path.
  EXPECT_IEEE_CLOSE(einsum("ji,jk->ik", {a.transpose(0, 1).contiguous(), b}), rx("mm_out"), 1e-5, 1e-6);
  for (int64_t r = 0; r < 4; ++r)
    EXPECT_IEEE_CLOSE(einsum("ij,jk->ik", {a.slice(0, r, r + 1), b}), rx("mm_out").slice(0, r, r + 1), 1e-5,
                      1e-6);
  const Tensor a_rev = rx("bmm_a").slice(0, 1, 2).reshape({4, 5});  // a with its rows reversed
  EXPECT_IEEE_CLOSE(einsum("ij,ij->i", {a, a_rev}), rx("dot_out"), 1e-5, 1e-6);
}

// Finite entries: exp/divide in float32 against float64, 1e-6 relative plus 1e-7 absolute for tiny values.
TEST(NanInf, SoftmaxNanRowsAndFullyMaskedZeros) {
  const Tensor x = rx("softmax_x");  // [7, 19]
  EXPECT_IEEE_CLOSE(kernels::softmax(x, -1), rx("softmax_out"), 1e-6, 1e-7);
  EXPECT_IEEE_CLOSE(ref::softmax(x, -1, std::nullopt), rx("softmax_out"), 1e-6, 1e-7);
  EXPECT_IEEE_CLOSE(kernels::scaled_masked_softmax(x, 1.0f), rx("softmax_out"), 1e-6, 1e-7);
  // The same rows as an additive -inf mask on zeros: row 4 (all masked) gives zeros.
  const Tensor out = kernels::softmax(x, -1);
  for (int64_t j = 0; j < 19; ++j) EXPECT_EQ(out.get({4, j}), 0.0) << j;
  // Along axis 0 (strided rows) too: the transposed input must give the transposed result.
  EXPECT_IEEE_CLOSE(kernels::softmax(x.transpose(0, 1), 0), rx("softmax_out").transpose(0, 1).contiguous(), 1e-6,
                    1e-7);
}

// Finite rows: float32 mean/variance over 19 values against float64, 1e-5 relative + 1e-5 absolute.
TEST(NanInf, NormsPropagate) {
  const Tensor x = rx("norm_x"), g = rx("norm_gamma"), b = rx("norm_beta");
  EXPECT_IEEE_CLOSE(kernels::layer_norm(x, g, b, 1, 1e-5f), rx("layer_norm_out"), 1e-5, 1e-5);
  EXPECT_IEEE_CLOSE(ref::layer_norm(x, g, b, 1, 1e-5f), rx("layer_norm_out"), 1e-5, 1e-5);
  EXPECT_IEEE_CLOSE(kernels::rms_norm(x, g, 1, 1e-5f), rx("rms_norm_out"), 1e-5, 1e-5);
  EXPECT_IEEE_CLOSE(ref::rms_norm(x, g, 1, 1e-5f), rx("rms_norm_out"), 1e-5, 1e-5);
}

// Against torch float64 on NaN, +-inf, +-0, saturating and denormal inputs. 1e-6 relative + 1e-6 absolute:
// the SIMD exp/erf/tanh approximations are good to a few ulp (tests/kernels/test_vec_math.cpp).
TEST(NanInf, NonlinearitiesFollowTorch) {
  const Tensor x = rx("unary_x");
  const std::pair<UnaryOp, const char*> ops[] = {
      {UnaryOp::gelu_erf, "unary_gelu_erf"}, {UnaryOp::gelu_tanh, "unary_gelu_tanh"}, {UnaryOp::silu, "unary_silu"},
      {UnaryOp::sigmoid, "unary_sigmoid"},   {UnaryOp::tanh, "unary_tanh"},           {UnaryOp::relu, "unary_relu"},
      {UnaryOp::exp, "unary_exp"}};
  for (const auto& [op, name] : ops) {
    SCOPED_TRACE(name);
    EXPECT_IEEE_CLOSE(kernels::unary(op, x), rx(name), 1e-6, 1e-6);
    EXPECT_IEEE_CLOSE(ref::unary(op, x), rx(name), 1e-6, 1e-6);
  }
}

// The plain attention path as nn::sdpa builds it: scores einsum, scaled masked softmax, values einsum.
Tensor plain_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& bias, float scale) {
  const Tensor s = einsum("bhid,bhjd->bhij", {q, k});             // [b, h, sq, sk]
  const Tensor p = kernels::scaled_masked_softmax(s, scale, bias);  // [b, h, sq, sk]
  return einsum("bhij,bhjd->bhid", {p, v});                        // [b, h, sq, dv]
}

// Finite rows: float32 over 8-dim dot products and 7 keys against float64, 1e-5 relative + 1e-6 absolute.
TEST(NanInf, AttentionPlainFusedAndReferenceAgree) {
  const Tensor q = rx("attn_q"), k = rx("attn_k"), v = rx("attn_v"), bias = rx("attn_bias"), want = rx("attn_out");
  AttentionSpec spec;
  spec.scale = float(1.0 / std::sqrt(8.0));
  EXPECT_IEEE_CLOSE(plain_attention(q, k, v, bias, spec.scale), want, 1e-5, 1e-6);
  EXPECT_IEEE_CLOSE(ref::attention(q, k, v, bias, spec), want, 1e-5, 1e-6);
  EXPECT_IEEE_CLOSE(kernels::attention(q, k, v, bias, spec), want, 1e-5, 1e-6);
  // Small tiles: the NaN, the +inf score and the masked rows land in different tiles of the online softmax.
  for (auto [tq, tk] : {std::pair<int64_t, int64_t>{1, 1}, {2, 3}, {4, 2}}) {
    spec.tile_q = tq;
    spec.tile_k = tk;
    SCOPED_TRACE("tile " + std::to_string(tq) + "x" + std::to_string(tk));
    EXPECT_IEEE_CLOSE(kernels::attention(q, k, v, bias, spec), want, 1e-5, 1e-6);
  }
}

// Rows hidden entirely by position (a block_sparse layout with an empty block row, AND causal) are zeros in
// the fused kernel (whose tiles for them are skipped), its reference and the plain path with the same dense
// mask.
TEST(NanInf, FullyMaskedRowsAreZerosEverywhere) {
  const Tensor q = rand_tensor({1, 1, 6, 4}, DType::f32, 1), k = rand_tensor({1, 1, 6, 4}, DType::f32, 2),
               v = rand_tensor({1, 1, 6, 4}, DType::f32, 3);
  AttentionSpec spec;
  spec.scale = 0.5f;
  spec.causal = true;
  spec.sparse.pattern = AttentionPattern::block_sparse;
  spec.sparse.block_q = spec.sparse.block_k = 2;
  spec.sparse.layout = {1, 0, 0,   // queries 0-1 see keys 0-1
                        0, 0, 0,   // queries 2-3 see nothing
                        1, 1, 1};  // queries 4-5 see keys 0-5 (causally)
  Tensor mask = Tensor::zeros({1, 1, 6, 6}, DType::f32);  // the same visibility as an additive mask
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < 6; ++j)
      if (!attention_visible(spec, 6, i, j)) put(mask, {0, 0, i, j}, -std::numeric_limits<double>::infinity());
  const Tensor fused = kernels::attention(q, k, v, std::nullopt, spec);
  const Tensor reference = ref::attention(q, k, v, std::nullopt, spec);
  const Tensor plain = plain_attention(q, k, v, mask, spec.scale);
  spec.tile_q = spec.tile_k = 2;
  const Tensor tiled = kernels::attention(q, k, v, std::nullopt, spec);
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t d = 0; d < 4; ++d) {
      const double f = fused.get({0, 0, i, d});
      if (i == 2 || i == 3) EXPECT_EQ(f, 0.0) << i;  // fully masked
      else EXPECT_NE(f, 0.0) << i;
    }
  EXPECT_IEEE_CLOSE(tiled, fused, 1e-6, 1e-6);
  EXPECT_IEEE_CLOSE(reference, fused, 1e-5, 1e-6);
  EXPECT_IEEE_CLOSE(plain, fused, 1e-5, 1e-6);
}

// A NaN in one value vector that every query sees: that output dimension is NaN in every row, the others
// finite, in all three implementations. (A NaN value at a key some row does NOT see is not covered: the plain
// path and the reference multiply it by the zero weight, 0 * NaN = NaN, while the fused kernel skips tiles it
// hides entirely. Documented in the README robustness notes.)
TEST(NanInf, NanValueVectorPropagates) {
  const Tensor q = rand_tensor({1, 2, 5, 4}, DType::f32, 7), k = rand_tensor({1, 2, 5, 4}, DType::f32, 8);
  Tensor v = rand_tensor({1, 2, 5, 3}, DType::f32, 9);
  put(v, {0, 1, 2, 1}, std::numeric_limits<double>::quiet_NaN());
  AttentionSpec spec;
  spec.scale = 0.5f;
  const Tensor fused = kernels::attention(q, k, v, std::nullopt, spec);
  const Tensor plain = plain_attention(q, k, v, Tensor::zeros({1, 1, 1, 1}, DType::f32), 0.5f);
  EXPECT_IEEE_CLOSE(plain, fused, 1e-5, 1e-6);
  EXPECT_IEEE_CLOSE(ref::attention(q, k, v, std::nullopt, spec), fused, 1e-5, 1e-6);
  for (int64_t i = 0; i < 5; ++i) {
    EXPECT_TRUE(std::isnan(fused.get({0, 1, i, 1}))) << i;
    EXPECT_TRUE(std::isfinite(fused.get({0, 1, i, 0}))) << i;
    EXPECT_TRUE(std::isfinite(fused.get({0, 0, i, 1}))) << i;
  }
}

// Without NaN values, the plain path and the fused kernel agree on every row, the fully masked ones included.
TEST(NanInf, PlainAndFusedAgreeOnFullyMaskedRows) {
  const Tensor q = rand_tensor({2, 2, 5, 4}, DType::f32, 4), k = rand_tensor({2, 2, 5, 4}, DType::f32, 5),
               v = rand_tensor({2, 2, 5, 3}, DType::f32, 6);
  Tensor bias = Tensor::zeros({2, 2, 5, 5}, DType::f32);
  for (int64_t j = 0; j < 5; ++j) {
    put(bias, {0, 1, 2, j}, -std::numeric_limits<double>::infinity());
    put(bias, {1, 0, 4, j}, -std::numeric_limits<double>::infinity());
  }
  AttentionSpec spec;
  spec.scale = 0.5f;
  const Tensor fused = kernels::attention(q, k, v, bias, spec), plain = plain_attention(q, k, v, bias, 0.5f);
  EXPECT_IEEE_CLOSE(plain, fused, 1e-5, 1e-6);
  for (int64_t d = 0; d < 3; ++d) {
    EXPECT_EQ(fused.get({0, 1, 2, d}), 0.0);
    EXPECT_EQ(plain.get({1, 0, 4, d}), 0.0);
  }
}

}  // namespace
}  // namespace tl::test
