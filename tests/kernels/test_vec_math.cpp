// Accuracy of the vector transcendental functions, in ulp of the f32 result, against f64 libm evaluated at the
// same f32 inputs. Prints the measured maxima; the bounds are what the kernels promise.
#include <cstring>
#include <functional>
#include <limits>

#include "kernel_test_util.h"

namespace tl {
namespace {

int64_t ulp_diff(float a, float b) {
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  if (ia < 0) ia = int32_t(0x80000000u - uint32_t(ia));  // map to a monotonic integer line
  if (ib < 0) ib = int32_t(0x80000000u - uint32_t(ib));
  return std::abs(int64_t(ia) - int64_t(ib));
}

struct UlpCase {
  UnaryOp op;
  double lo, hi;
  int64_t max_ulp;
  std::function<double(double)> f;
};

TEST(VecMath, UlpErrorAgainstLibm) {
  const double rt2 = std::sqrt(2.0), c = std::sqrt(2.0 / M_PI);
  const UlpCase cases[] = {
      {UnaryOp::exp, -87.0, 88.0, 2, [](double x) { return std::exp(x); }},
      {UnaryOp::log, 1e-30, 1e30, 2, [](double x) { return std::log(x); }},
      {UnaryOp::tanh, -10.0, 10.0, 3, [](double x) { return std::tanh(x); }},
      {UnaryOp::sigmoid, -80.0, 80.0, 3, [](double x) { return 1.0 / (1.0 + std::exp(-x)); }},
      {UnaryOp::silu, -20.0, 80.0, 3, [](double x) { return x / (1.0 + std::exp(-x)); }},
      // erfc fit error (1.2e-7 relative) plus f32 evaluation; the range stops where |y| falls below 1e-7.
      {UnaryOp::gelu_erf, -5.0, 10.0, 6, [&](double x) { return 0.5 * x * std::erfc(-x / rt2); }},
      // The f32 rounding of the exponent argument -2u (a few ulp) is amplified by |2u| (8.4 at x = -3); the
      // tanh form is itself only a 1e-3 approximation of gelu, so this is not refined further.
      {UnaryOp::gelu_tanh, -3.0, 10.0, 20,
       [&](double x) { return x / (1.0 + std::exp(-2.0 * c * (x + 0.044715 * x * x * x))); }},
  };
  for (const auto& k : cases) {
    const int n = 200001;
    std::vector<float> xs;
    xs.reserve(n);
    for (int i = 0; i < n; ++i) {
      double t = double(i) / (n - 1);
      // log ranges sweep exponents; the others sweep linearly.
      xs.push_back(k.op == UnaryOp::log ? float(std::exp(std::log(k.lo) + t * (std::log(k.hi) - std::log(k.lo))))
                                        : float(k.lo + t * (k.hi - k.lo)));
    }
    Tensor x = Tensor::from_vector<float>({n}, xs);
    Tensor y = kernels::unary(k.op, x);
    const float* yp = y.data<float>();
    int64_t worst = 0;
    float worst_x = 0;
    for (int i = 0; i < n; ++i) {
      int64_t d = ulp_diff(yp[i], float(k.f(double(xs[size_t(i)]))));
      if (d > worst) worst = d, worst_x = xs[size_t(i)];
    }
    std::printf("[vec_math] %-10s max error %lld ulp (at x = %.9g) over [%g, %g]\n", std::string(op_name(k.op)).c_str(),
                (long long)worst, double(worst_x), k.lo, k.hi);
    EXPECT_LE(worst, k.max_ulp) << op_name(k.op) << " at x = " << worst_x;
  }
}

}  // namespace
}  // namespace tl
