// Fused mixture-of-experts kernel. Routing is computed once from the router logits (one GEMM, a softmax per
// token), giving each expert a list of (token, weight); each expert then gathers its tokens into a dense
// [n_e, d] block and runs w1 / w3 / w2 as three tl::sgemm calls on those rows only, so the work is
// proportional to the routed tokens, not T * E. Expert outputs are scattered back in expert order (fixed, so
// results are deterministic for any thread count).
#include <algorithm>
#include <bit>
#include <cmath>
#include <numeric>

#include "tl/error.h"
#include "tl/gemm.h"
#include "tl/kernels.h"
#include "tl/threading.h"

namespace tl {

bool MoeParams::operator==(const MoeParams& o) const {
  return routing == o.routing && top_k == o.top_k && normalize == o.normalize &&
         std::bit_cast<uint32_t>(capacity_factor) == std::bit_cast<uint32_t>(o.capacity_factor) && act == o.act &&
         gated == o.gated;
}

std::string_view moe_routing_name(MoeRouting r) {
  switch (r) {
    case MoeRouting::top_k: return "top_k";
    case MoeRouting::switch_top1: return "switch_top1";
    case MoeRouting::expert_choice: return "expert_choice";
    case MoeRouting::dense: return "dense";
  }
  return "?";
}

std::optional<MoeRouting> moe_routing_from_name(std::string_view n) {
  for (MoeRouting r : {MoeRouting::top_k, MoeRouting::switch_top1, MoeRouting::expert_choice, MoeRouting::dense})
    if (moe_routing_name(r) == n) return r;
  return std::nullopt;
}

int64_t moe_capacity(const MoeParams& p, int64_t tokens, int64_t experts) {
  const double c = std::ceil(double(p.capacity_factor) * double(tokens) / double(experts));
  return std::clamp<int64_t>(int64_t(c), 1, std::max<int64_t>(tokens, 1));
}

}  // namespace tl

namespace tl::kernels {

namespace {

float act_f(UnaryOp a, float x) {
  switch (a) {
    case UnaryOp::silu: return x / (1.0f + std::exp(-x));
    case UnaryOp::relu: return x > 0 ? x : 0.0f;
    case UnaryOp::gelu_erf: return 0.5f * x * std::erfc(-x * float(M_SQRT1_2));
    case UnaryOp::gelu_tanh: {
      const float u = 0.7978845608f * (x + 0.044715f * x * x * x);
      return 0.5f * x * (1.0f + std::tanh(u));
    }
    default: break;
  }
  TL_THROW(ValueError, "[moe] act ", op_name(a), " is not an expert activation");
}

// The tensor as contiguous f32 without a copy when it already is (Tensor::to always copies).
Tensor f32_contiguous(const Tensor& t) { return t.dtype() == DType::f32 ? t.contiguous() : t.to(DType::f32); }

struct Route {
  std::vector<std::vector<int64_t>> tokens;  // per expert
  std::vector<std::vector<float>> weights;
};

// probs: [T, E] row-major softmax probabilities. Ties go to the lower index (stable sorts).
Route route(const std::vector<float>& probs, int64_t T, int64_t E, const MoeParams& p) {
  Route r;
  r.tokens.resize(size_t(E));
  r.weights.resize(size_t(E));
  std::vector<int64_t> idx(static_cast<size_t>(E));
  switch (p.routing) {
    case MoeRouting::top_k:
      for (int64_t t = 0; t < T; ++t) {
        const float* pr = &probs[size_t(t * E)];
        std::iota(idx.begin(), idx.end(), 0);
        std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return pr[a] > pr[b]; });
        float sum = 0;
        for (int64_t j = 0; j < p.top_k; ++j) sum += pr[idx[size_t(j)]];
        for (int64_t j = 0; j < p.top_k; ++j) {
          const int64_t e = idx[size_t(j)];
          r.tokens[size_t(e)].push_back(t);
          r.weights[size_t(e)].push_back(p.normalize ? pr[e] / sum : pr[e]);
        }
      }
      break;
    case MoeRouting::switch_top1: {
      const int64_t cap = moe_capacity(p, T, E);
      for (int64_t t = 0; t < T; ++t) {
        const float* pr = &probs[size_t(t * E)];
        const int64_t e = std::max_element(pr, pr + E) - pr;
        if (int64_t(r.tokens[size_t(e)].size()) >= cap) continue;  // over capacity: dropped
        r.tokens[size_t(e)].push_back(t);
        r.weights[size_t(e)].push_back(pr[e]);
      }
      break;
    }
    case MoeRouting::expert_choice: {
      const int64_t cap = moe_capacity(p, T, E);
      std::vector<int64_t> tok(static_cast<size_t>(T));
      for (int64_t e = 0; e < E; ++e) {
        std::iota(tok.begin(), tok.end(), 0);
        std::stable_sort(tok.begin(), tok.end(),
                         [&](int64_t a, int64_t b) { return probs[size_t(a * E + e)] > probs[size_t(b * E + e)]; });
        std::vector<int64_t> chosen(tok.begin(), tok.begin() + cap);
        std::sort(chosen.begin(), chosen.end());  // token order: contiguous gathers
        for (int64_t t : chosen) {
          r.tokens[size_t(e)].push_back(t);
          r.weights[size_t(e)].push_back(probs[size_t(t * E + e)]);
        }
      }
      break;
    }
    case MoeRouting::dense:
      for (int64_t e = 0; e < E; ++e)
        for (int64_t t = 0; t < T; ++t) {
          r.tokens[size_t(e)].push_back(t);
          r.weights[size_t(e)].push_back(probs[size_t(t * E + e)]);
        }
      break;
  }
  return r;
}

}  // namespace

Shape moe_shape(const Shape& x, const Shape& router, std::span<const Shape> experts, const MoeParams& p,
                const char* op) {
  if (x.empty()) TL_THROW(ShapeError, "[", op, "] input 0 (x) must have rank >= 1, got shape []");
  const int64_t d = x.back();
  if (router.size() != 2 || router[1] != d || router[0] < 1)
    TL_THROW(ShapeError, "[", op, "] input 1 (router weight) has shape ", shape_str(router), ", expected [E, ", d,
             "] with E >= 1");
  const int64_t E = router[0];
  const int64_t per = p.gated ? 3 : 2;
  if (int64_t(experts.size()) != E * per)
    TL_THROW(ValueError, "[", op, "] expected ", E * per, " expert weights (", E, " experts x ", per,
             p.gated ? ": w1, w3, w2" : ": w1, w2", "), got ", experts.size());
  if (p.routing == MoeRouting::top_k && (p.top_k < 1 || p.top_k > E))
    TL_THROW(ValueError, "[", op, "] top_k = ", p.top_k, ", expected 1..", E, " (the number of experts)");
  if ((p.routing == MoeRouting::switch_top1 || p.routing == MoeRouting::expert_choice) &&
      !(p.capacity_factor > 0 && std::isfinite(p.capacity_factor)))
    TL_THROW(ValueError, "[", op, "] capacity_factor = ", p.capacity_factor, ", expected a finite value > 0");
  if (p.act != UnaryOp::silu && p.act != UnaryOp::relu && p.act != UnaryOp::gelu_erf && p.act != UnaryOp::gelu_tanh)
    TL_THROW(ValueError, "[", op, "] act = ", op_name(p.act), ", expected silu, relu, gelu_erf or gelu_tanh");
  const int64_t f = experts[0].size() == 2 ? experts[0][0] : -1;
  for (int64_t e = 0; e < E; ++e)
    for (int64_t j = 0; j < per; ++j) {
      const Shape& s = experts[size_t(e * per + j)];
      const bool down = j == per - 1;
      const Shape want = down ? Shape{d, f} : Shape{f, d};
      if (f < 1 || s != want)
        TL_THROW(ShapeError, "[", op, "] expert ", e, " weight ", down ? "w2" : (j == 0 ? "w1" : "w3"),
                 " (input ", 2 + e * per + j, ") has shape ", shape_str(s), ", expected ", shape_str(want));
    }
  return x;
}

void moe_into(const Tensor& x, const Tensor& router, std::span<const Tensor> experts, const MoeParams& p,
              const Tensor& out) {
  std::vector<Shape> es;
  for (const Tensor& w : experts) es.push_back(w.shape());
  moe_shape(x.shape(), router.shape(), es, p);
  TL_CHECK(out.shape() == x.shape() && out.dtype() == DType::f32 && out.is_contiguous(), "moe output");
  const int64_t d = x.shape().back(), T = x.numel() / std::max<int64_t>(d, 1), E = router.size(0);
  const int64_t per = p.gated ? 3 : 2, f = experts[0].size(0);
  float* y = out.data<float>();  // [T, d]
  std::fill(y, y + T * d, 0.0f);
  if (T == 0 || d == 0) return;
  const Tensor xc = f32_contiguous(x);  // [T, d]
  const Tensor rc = f32_contiguous(router);
  const float* xp = xc.data<float>();
  std::vector<float> probs(size_t(T * E));  // [T, E]
  sgemm(false, true, T, E, d, 1.0f, xp, d, rc.data<float>(), d, 0.0f, probs.data(), E);
  for (int64_t t = 0; t < T; ++t) {
    float* r = &probs[size_t(t * E)];
    const float m = *std::max_element(r, r + E);
    float s = 0;
    for (int64_t e = 0; e < E; ++e) s += (r[e] = std::exp(r[e] - m));
    for (int64_t e = 0; e < E; ++e) r[e] /= s;
  }
  const Route rt = route(probs, T, E, p);
  std::vector<float> xe, h1, h3, ye;
  for (int64_t e = 0; e < E; ++e) {
    const auto& toks = rt.tokens[size_t(e)];
    const int64_t n = int64_t(toks.size());
    if (n == 0) continue;
    xe.resize(size_t(n * d));  // [n, d]
    for (int64_t i = 0; i < n; ++i) std::copy_n(xp + toks[size_t(i)] * d, d, &xe[size_t(i * d)]);
    const Tensor w1 = f32_contiguous(experts[size_t(e * per)]);  // [f, d]
    const Tensor w2 = f32_contiguous(experts[size_t(e * per + per - 1)]);  // [d, f]
    h1.resize(size_t(n * f));  // [n, f]
    sgemm(false, true, n, f, d, 1.0f, xe.data(), d, w1.data<float>(), d, 0.0f, h1.data(), f);
    if (p.gated) {
      const Tensor w3 = f32_contiguous(experts[size_t(e * per + 1)]);  // [f, d]
      h3.resize(size_t(n * f));
      sgemm(false, true, n, f, d, 1.0f, xe.data(), d, w3.data<float>(), d, 0.0f, h3.data(), f);
      parallel_for(n * f, 4096, [&](int64_t b, int64_t e2) {
        for (int64_t i = b; i < e2; ++i) h1[size_t(i)] = act_f(p.act, h1[size_t(i)]) * h3[size_t(i)];
      });
    } else {
      parallel_for(n * f, 4096, [&](int64_t b, int64_t e2) {
        for (int64_t i = b; i < e2; ++i) h1[size_t(i)] = act_f(p.act, h1[size_t(i)]);
      });
    }
    ye.resize(size_t(n * d));  // [n, d]
    sgemm(false, true, n, d, f, 1.0f, h1.data(), f, w2.data<float>(), f, 0.0f, ye.data(), d);
    const auto& ws = rt.weights[size_t(e)];
    // An expert lists each token at most once, so its rows are disjoint: safe to split over threads.
    parallel_for(n, std::max<int64_t>(1, 4096 / d), [&](int64_t b, int64_t e2) {
      for (int64_t i = b; i < e2; ++i) {
        float* yr = y + toks[size_t(i)] * d;
        const float* src = &ye[size_t(i * d)];
        const float w = ws[size_t(i)];
        for (int64_t c = 0; c < d; ++c) yr[c] += w * src[c];
      }
    });
  }
}

Tensor moe(const Tensor& x, const Tensor& router, std::span<const Tensor> experts, const MoeParams& p) {
  Tensor out = Tensor::empty(x.shape(), DType::f32);
  moe_into(x, router, experts, p, out);
  return out;
}

}  // namespace tl::kernels
