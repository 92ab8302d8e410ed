// KV cache: prefill then one-token decode steps give the same outputs as recomputing the whole sequence
// (MHA and GQA, plain and fused, causal and sliding window, two stacked layers), capacity and shape errors,
// reset. Also prints what rebuilding the per-step graph costs (docs/attention.md).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <random>

#include "tl/error.h"
#include "tl/nn/kv_cache.h"
#include "tl/runtime.h"

namespace tl::nn {
namespace {

Tensor randn(Shape s, uint32_t seed, float scale = 1.0f) {
  Tensor t = Tensor::empty(s);
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

std::map<std::string, Tensor> params_for(const AttentionConfig& c, const std::string& prefix, uint32_t seed) {
  std::map<std::string, Tensor> p;
  const int64_t H = c.n_heads, K = c.kv_heads(), D = c.hd(), M = c.d_model;
  const float s = 1.0f / std::sqrt(float(M));
  p[prefix + ".q_proj.weight"] = randn({H * D, M}, seed++, s);
  p[prefix + ".k_proj.weight"] = randn({K * D, M}, seed++, s);
  p[prefix + ".v_proj.weight"] = randn({K * D, M}, seed++, s);
  p[prefix + ".o_proj.weight"] = randn({M, H * D}, seed++, s);
  p[prefix + ".q_proj.bias"] = randn({H * D}, seed++, 0.1f);
  p[prefix + ".k_proj.bias"] = randn({K * D}, seed++, 0.1f);
  p[prefix + ".v_proj.bias"] = randn({K * D}, seed++, 0.1f);
  p[prefix + ".o_proj.bias"] = randn({M}, seed++, 0.1f);
  return p;
}

double max_abs(const Tensor& a, const Tensor& b) {
  auto x = a.to_f64_vector(), y = b.to_f64_vector();
  EXPECT_EQ(x.size(), y.size());
  double m = 0;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) m = std::max(m, std::abs(x[i] - y[i]));
  return m;
}

// Two stacked attention layers (residual in between) so the second layer's cache holds derived keys.
void decode_matches_full(const AttentionConfig& cfg, int64_t prefill, int64_t steps) {
  const int64_t B = 2, T = prefill + steps, M = cfg.d_model;
  const std::string pre[2] = {"layers.0.attn", "layers.1.attn"};
  std::map<std::string, Tensor> params = params_for(cfg, pre[0], 10);
  for (auto& [k, v] : params_for(cfg, pre[1], 50)) params[k] = v;
  Tensor xt = randn({B, T, M}, 7);
  // Full recomputation over T tokens.
  Graph full;
  Value x = full.input("x", {B, T, M});
  Value h = full.add(x, attention(full, cfg, x, pre[0]));
  full.output(attention(full, cfg, h, pre[1]), "y");
  auto in = params;
  in["x"] = xt;
  Tensor want = run_graph(full, in).at("y");  // [b, T, d]

  KvCache cache({2, B, cfg.kv_heads(), cfg.hd(), T});
  double worst = 0, build_us = 0;
  int64_t pos = 0;
  while (pos < T) {
    const int64_t n = pos == 0 ? prefill : 1;
    const auto t0 = std::chrono::steady_clock::now();
    Graph g;
    Value xs = g.input("x", {B, n, M});  // [b, n, d]
    CachedAttention a0 = cached_attention(g, cfg, xs, pre[0], cache.length(0));
    Value hs = g.add(xs, a0.out);
    g.output(cached_attention(g, cfg, hs, pre[1], cache.length(1)).out, "y");
    Executor ex(g);
    if (pos > 0) build_us += std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    auto step_in = params;
    step_in["x"] = xt.slice(1, pos, pos + n);
    cache.bind(0, pre[0], step_in);
    cache.bind(1, pre[1], step_in);
    auto out = ex.run(step_in);
    cache.append_from(0, pre[0], out);
    cache.append_from(1, pre[1], out);
    worst = std::max(worst, max_abs(out.at("y"), want.slice(1, pos, pos + n).contiguous()));
    pos += n;
  }
  EXPECT_EQ(cache.length(0), T);
  EXPECT_EQ(cache.length(1), T);
  // Same arithmetic in a different grouping (the cache concat splits the key axis): fp32 rounding only.
  EXPECT_LT(worst, 2e-5) << "impl " << int(cfg.impl) << " window " << cfg.window;
  std::printf("[kv_cache] %s h=%lld kv=%lld window=%lld: max |decode - full| = %.3g; per-step graph build + "
              "executor setup %.0f us (2 layers)\n",
              cfg.impl == AttentionImpl::fused ? "fused" : "plain", (long long)cfg.n_heads, (long long)cfg.kv_heads(),
              (long long)cfg.window, worst, build_us / double(steps));
}

TEST(NnKvCache, DecodeMatchesFullRecompute) {
  for (AttentionImpl impl : {AttentionImpl::plain, AttentionImpl::fused}) {
    decode_matches_full(AttentionConfig().with_d_model(20).with_heads(5).with_causal().with_impl(impl), 5, 4);
    decode_matches_full(AttentionConfig().with_d_model(24).with_heads(6, 2).with_causal().with_impl(impl), 6, 5);
    decode_matches_full(
        AttentionConfig().with_d_model(24).with_heads(6, 1).with_causal().with_window(3).with_impl(impl), 4, 5);
  }
}

TEST(NnKvCache, CapacityCheckedBeforeWriting) {
  KvCache c({1, 1, 2, 4, 6});
  c.append(0, randn({1, 2, 4, 4}, 1), randn({1, 2, 4, 4}, 2));
  EXPECT_EQ(c.length(), 4);
  try {
    c.append(0, randn({1, 2, 3, 4}, 3), randn({1, 2, 3, 4}, 4));
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("layer 0: cannot append 3 tokens to 4 of capacity 6"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(c.length(), 4);  // nothing written
  EXPECT_THROW(c.append(0, randn({1, 3, 1, 4}, 5), randn({1, 3, 1, 4}, 6)), ShapeError);  // wrong kv heads
  EXPECT_THROW(c.append(0, randn({1, 2, 1, 4}, 5), randn({1, 2, 2, 4}, 6)), ShapeError);  // n differs
  EXPECT_THROW(c.keys(1), ValueError);
  EXPECT_THROW(KvCache({1, 1, 2, 4, 0}), ValueError);
  // Stored values come back exactly (views of the buffers).
  Tensor k2 = randn({1, 2, 2, 4}, 7), v2 = randn({1, 2, 2, 4}, 8);
  c.append(0, k2, v2);
  EXPECT_EQ(c.keys(0).slice(2, 4, 6).contiguous().to_f32_vector(), k2.to_f32_vector());
  EXPECT_EQ(c.values(0).slice(2, 4, 6).contiguous().to_f32_vector(), v2.to_f32_vector());
  c.reset();
  EXPECT_EQ(c.length(), 0);
  EXPECT_EQ(c.keys(0).shape(), (Shape{1, 2, 0, 4}));
  std::map<std::string, Tensor> out;
  EXPECT_THROW(c.append_from(0, "l", out), ValueError);
}

}  // namespace
}  // namespace tl::nn
