// Naive mixture of experts in double: router probabilities, routing (same rules and tie-breaking as the fast
// kernel: the lower index wins), then every routed (token, expert) pair's FFN with plain loops. Shapes are
// checked by the fast kernel's moe_shape, which the tests call first.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "tl/error.h"
#include "tl/kernels.h"

namespace tl::ref {

namespace {

double act_d(UnaryOp a, double x) {
  switch (a) {
    case UnaryOp::silu: return x / (1.0 + std::exp(-x));
    case UnaryOp::relu: return x > 0 ? x : 0.0;
    case UnaryOp::gelu_erf: return 0.5 * x * std::erfc(-x / std::sqrt(2.0));
    case UnaryOp::gelu_tanh: return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
    default: break;
  }
  TL_THROW(ValueError, "[moe] act ", op_name(a), " is not an expert activation");
}

std::vector<double> row_major(const Tensor& t) { return t.contiguous().to_f64_vector(); }

}  // namespace

Tensor moe(const Tensor& x, const Tensor& router, std::span<const Tensor> experts, const MoeParams& p) {
  std::vector<Shape> es;
  for (const Tensor& w : experts) es.push_back(w.shape());
  kernels::moe_shape(x.shape(), router.shape(), es, p, "moe ref");
  const int64_t d = x.shape().back(), T = x.numel() / std::max<int64_t>(d, 1), E = router.size(0);
  const int64_t per = p.gated ? 3 : 2, f = experts[0].size(0);
  const std::vector<double> X = row_major(x), R = row_major(router);
  std::vector<double> P(size_t(T * E));  // [T, E] router probabilities
  for (int64_t t = 0; t < T; ++t) {
    double m = -INFINITY;
    for (int64_t e = 0; e < E; ++e) {
      double s = 0;
      for (int64_t c = 0; c < d; ++c) s += X[size_t(t * d + c)] * R[size_t(e * d + c)];
      P[size_t(t * E + e)] = s;
      m = std::max(m, s);
    }
    double z = 0;
    for (int64_t e = 0; e < E; ++e) z += (P[size_t(t * E + e)] = std::exp(P[size_t(t * E + e)] - m));
    for (int64_t e = 0; e < E; ++e) P[size_t(t * E + e)] /= z;
  }
  // W[t][e]: the weight of expert e for token t (0 = not routed).
  std::vector<double> W(size_t(T * E), 0.0);
  const int64_t cap = moe_capacity(p, T, E);
  if (p.routing == MoeRouting::top_k) {
    for (int64_t t = 0; t < T; ++t) {
      std::vector<int64_t> idx(static_cast<size_t>(E));
      std::iota(idx.begin(), idx.end(), 0);
      std::stable_sort(idx.begin(), idx.end(),
                       [&](int64_t a, int64_t b) { return P[size_t(t * E + a)] > P[size_t(t * E + b)]; });
      double s = 0;
      for (int64_t j = 0; j < p.top_k; ++j) s += P[size_t(t * E + idx[size_t(j)])];
      for (int64_t j = 0; j < p.top_k; ++j) {
        const int64_t e = idx[size_t(j)];
        W[size_t(t * E + e)] = p.normalize ? P[size_t(t * E + e)] / s : P[size_t(t * E + e)];
      }
    }
  } else if (p.routing == MoeRouting::switch_top1) {
    std::vector<int64_t> load(size_t(E), 0);
    for (int64_t t = 0; t < T; ++t) {
      int64_t best = 0;
      for (int64_t e = 1; e < E; ++e)
        if (P[size_t(t * E + e)] > P[size_t(t * E + best)]) best = e;
      if (load[size_t(best)]++ < cap) W[size_t(t * E + best)] = P[size_t(t * E + best)];
    }
  } else if (p.routing == MoeRouting::expert_choice) {
    for (int64_t e = 0; e < E; ++e) {
      std::vector<int64_t> tok(static_cast<size_t>(T));
      std::iota(tok.begin(), tok.end(), 0);
      std::stable_sort(tok.begin(), tok.end(),
                       [&](int64_t a, int64_t b) { return P[size_t(a * E + e)] > P[size_t(b * E + e)]; });
      for (int64_t j = 0; j < cap; ++j) W[size_t(tok[size_t(j)] * E + e)] = P[size_t(tok[size_t(j)] * E + e)];
    }
  } else {
    W = P;
  }
  std::vector<double> Y(size_t(T * d), 0.0);
  std::vector<double> h(static_cast<size_t>(f));
  for (int64_t e = 0; e < E; ++e) {
    const std::vector<double> w1 = row_major(experts[size_t(e * per)]);
    const std::vector<double> w2 = row_major(experts[size_t(e * per + per - 1)]);
    const std::vector<double> w3 = p.gated ? row_major(experts[size_t(e * per + 1)]) : std::vector<double>();
    for (int64_t t = 0; t < T; ++t) {
      const double w = W[size_t(t * E + e)];
      if (w == 0.0) continue;
      for (int64_t i = 0; i < f; ++i) {
        double a = 0, b = 0;
        for (int64_t c = 0; c < d; ++c) {
          a += w1[size_t(i * d + c)] * X[size_t(t * d + c)];
          if (p.gated) b += w3[size_t(i * d + c)] * X[size_t(t * d + c)];
        }
        h[size_t(i)] = p.gated ? act_d(p.act, a) * b : act_d(p.act, a);
      }
      for (int64_t c = 0; c < d; ++c) {
        double s = 0;
        for (int64_t i = 0; i < f; ++i) s += w2[size_t(c * f + i)] * h[size_t(i)];
        Y[size_t(t * d + c)] += w * s;
      }
    }
  }
  Tensor out = Tensor::empty(x.shape(), DType::f32);
  float* o = out.data<float>();
  for (size_t i = 0; i < Y.size(); ++i) o[i] = float(Y[i]);
  return out;
}

}  // namespace tl::ref
