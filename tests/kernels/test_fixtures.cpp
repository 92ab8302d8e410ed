// Outside reference: NumPy (float64, gelu via math.erf) and PyTorch (float64 torch.nn.functional) results
// written by scripts/gen_kernel_fixtures.py into tests/fixtures/kernels/. Each check prints max_abs_diff.
#include "kernel_test_util.h"
#include "tl/npy.h"

namespace tl {
namespace {

Tensor fx(const std::string& name) { return read_npy(std::string(TL_FIXTURE_DIR) + "/kernels/" + name + ".npy"); }

void check(const std::string& what, const Tensor& got, const Tensor& want, double rtol, double atol) {
  auto r = test::all_close(got, want, rtol, atol);
  EXPECT_TRUE(r) << what;
  if (r) std::printf("[fixture] %-22s %s (rtol %g, atol %g)\n", what.c_str(), r.message(), rtol, atol);
}

struct UnaryFixture {
  const char* name;
  UnaryOp op;
  double rtol, atol;  // expected values are f64 results rounded to f32, so add half an ulp to the kernel's bound
};

TEST(Fixtures, NumpyUnary) {
  const UnaryFixture cases[] = {
      {"exp", UnaryOp::exp, 1e-6, 0},           {"log", UnaryOp::log, 1e-6, 0},
      {"tanh", UnaryOp::tanh, 1e-6, 0},         {"sigmoid", UnaryOp::sigmoid, 1e-6, 0},
      {"silu", UnaryOp::silu, 2e-6, 1e-9},      {"gelu_erf", UnaryOp::gelu_erf, 2e-6, 1e-9},
      {"gelu_tanh", UnaryOp::gelu_tanh, 3e-6, 1e-9}, {"rsqrt", UnaryOp::rsqrt, 3e-7, 0},
  };
  for (const auto& c : cases) {
    std::string n = std::string("unary_") + c.name;
    check(n, kernels::unary(c.op, fx(n + "_x")), fx(n + "_y"), c.rtol, c.atol);
  }
}

TEST(Fixtures, NumpyBinary) {
  check("add (broadcast)", kernels::binary(BinaryOp::add, fx("binary_add_a"), fx("binary_add_b")), fx("binary_add_y"),
        1.2e-7, 0);
  check("pow", kernels::binary(BinaryOp::pow, fx("binary_pow_a"), fx("binary_pow_b")), fx("binary_pow_y"), 3e-7, 0);
  check("maximum (NaN)", kernels::binary(BinaryOp::max, fx("binary_max_a"), fx("binary_max_b")), fx("binary_max_y"), 0, 0);
  check("floor_divide i32", kernels::binary(BinaryOp::div, fx("binary_floordiv_a"), fx("binary_floordiv_b")),
        fx("binary_floordiv_y"), 0, 0);
}

TEST(Fixtures, NumpyReduce) {
  Tensor x = fx("reduce_x");  // [3, 17, 5]
  check("sum axes (0,2) keepdims", kernels::reduce(ReduceOp::sum, x, {0, 2}, true), fx("reduce_sum_02_keep_y"), 1e-6, 1e-5);
  check("mean axis 1", kernels::reduce(ReduceOp::mean, x, {1}, false), fx("reduce_mean_1_y"), 1e-6, 1e-6);
  check("max all", kernels::reduce(ReduceOp::max, x, {}, false), fx("reduce_max_all_y"), 0, 0);
  check("logsumexp axis -1", kernels::reduce(ReduceOp::logsumexp, x, {-1}, false), fx("reduce_logsumexp_last_y"), 1e-6, 1e-6);
}

TEST(Fixtures, NumpySoftmaxNorms) {
  // softmax: [2, 3, 6, 6] scores + causal [6, 6] mask whose row 4 is fully masked (zeros expected).
  check("softmax causal mask", kernels::softmax(fx("softmax_x"), -1, fx("softmax_mask")), fx("softmax_y"), 1e-6, 1e-9);
  Tensor x = fx("norm_x");  // [4, 3, 40]
  check("layer_norm affine", kernels::layer_norm(x, fx("norm_gamma"), fx("norm_beta"), 1, 1e-5f), fx("layer_norm_y"),
        2e-6, 1e-6);
  check("layer_norm 2 dims", kernels::layer_norm(x, std::nullopt, std::nullopt, 2, 1e-5f), fx("layer_norm2_y"), 2e-6, 1e-6);
  check("rms_norm", kernels::rms_norm(x, fx("norm_gamma"), 1, 1e-6f), fx("rms_norm_y"), 2e-6, 1e-6);
}

TEST(Fixtures, NumpyLayout) {
  Tensor t = fx("layout_x");  // [5, 4, 3]
  check("take axis 1", kernels::gather(t, fx("layout_idx"), 1), fx("take_axis1_y"), 0, 0);
  check("repeat axis 2", kernels::repeat(t, 3, 2), fx("repeat_axis2_y"), 0, 0);
  check("concat axis 0", kernels::concat({t, t.slice(0, 0, 2)}, 0), fx("concat_axis0_y"), 0, 0);
}

TEST(Fixtures, Torch) {
  Tensor x = fx("torch_x");  // [5, 37]
  check("torch gelu", kernels::unary(UnaryOp::gelu_erf, x), fx("torch_gelu_y"), 2e-6, 1e-9);
  check("torch gelu tanh", kernels::unary(UnaryOp::gelu_tanh, x), fx("torch_gelu_tanh_y"), 3e-6, 1e-9);
  check("torch silu", kernels::unary(UnaryOp::silu, x), fx("torch_silu_y"), 2e-6, 1e-9);
  check("torch softmax dim 0", kernels::softmax(x, 0), fx("torch_softmax0_y"), 1e-6, 1e-9);
  check("torch layer_norm", kernels::layer_norm(x, fx("torch_gamma"), fx("torch_beta"), 1, 1e-5f),
        fx("torch_layer_norm_y"), 2e-6, 1e-6);
  check("torch rms_norm", kernels::rms_norm(x, fx("torch_gamma"), 1, 1e-6f), fx("torch_rms_norm_y"), 2e-6, 1e-6);
  check("torch logsumexp", kernels::reduce(ReduceOp::logsumexp, x, {1}, false), fx("torch_logsumexp_y"), 1e-6, 1e-6);
}

}  // namespace
}  // namespace tl
