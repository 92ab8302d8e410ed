// Flash attention kernel: against PyTorch's scaled_dot_product_attention (fixtures from
// scripts/gen_attention_fixtures.py), against the naive double reference over a table of odd sizes, layouts,
// dtypes, GQA groupings, masks and tile sizes, the skipped-tile counts (sliding window is O(n*w)) and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "kernel_test_util.h"
#include "tl/error.h"
#include "tl/json.h"
#include "tl/npy.h"

#include "../error_of.h"

namespace tl::test {
namespace {


std::string attn_dir() { return std::string(TL_FIXTURE_DIR) + "/attention/"; }
Tensor attn_fx(const std::string& name) { return read_npy(attn_dir() + name + ".npy"); }

json::Value manifest() {
  std::ifstream f(attn_dir() + "manifest.json");
  std::stringstream ss;
  ss << f.rdbuf();
  return json::parse(ss.str());
}

AttentionPattern pattern_of(const std::string& s) {
  if (s == "strided") return AttentionPattern::strided;
  if (s == "local") return AttentionPattern::local;
  if (s == "global_local") return AttentionPattern::global_local;
  if (s == "block_sparse") return AttentionPattern::block_sparse;
  return AttentionPattern::none;
}

AttentionSpec spec_from(const json::Value& e) {
  AttentionSpec s;
  s.scale = float(e.as_object().at("scale").as_double());
  s.causal = e.as_object().at("causal").as_bool();
  s.window = e.as_object().at("window").as_int();
  if (const json::Value* p = e.find("pattern")) s.sparse.pattern = pattern_of(p->as_string());
  if (const json::Value* p = e.find("span")) s.sparse.span = p->as_int();
  if (const json::Value* p = e.find("n_global")) s.sparse.n_global = p->as_int();
  if (const json::Value* p = e.find("block_q")) s.sparse.block_q = p->as_int();
  if (const json::Value* p = e.find("block_k")) s.sparse.block_k = p->as_int();
  if (const json::Value* p = e.find("layout"))
    for (const json::Value& x : p->as_array()) s.sparse.layout.push_back(uint8_t(x.as_int()));
  return s;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  auto x = a.to_f64_vector(), y = b.to_f64_vector();
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::abs(x[i] - y[i]));
  return m;
}

// Every PyTorch SDPA case, with the default tiles and with odd small tiles (many partial tiles and tails).
TEST(AttentionKernel, MatchesTorchSdpa) {
  const json::Value m = manifest();
  ASSERT_GE(m.as_object().at("sdpa").as_array().size(), 14u);
  double worst = 0;
  for (const json::Value& e : m.as_object().at("sdpa").as_array()) {
    const std::string name = e.as_object().at("name").as_string();
    AttentionSpec spec = spec_from(e);
    Tensor q = attn_fx(name + "_q"), k = attn_fx(name + "_k"), v = attn_fx(name + "_v"), want = attn_fx(name + "_out");
    std::optional<Tensor> bias;
    if (e.as_object().at("bias").as_bool()) bias = attn_fx(name + "_bias");
    for (int64_t tile : {0, 3, 4}) {
      spec.tile_q = tile;
      spec.tile_k = tile == 3 ? 5 : tile;
      Tensor got = kernels::attention(q, k, v, bias, spec);
      // fp32 accumulation over <= 13 keys of O(1) values: 1e-5 relative with a 1e-6 absolute floor.
      EXPECT_TRUE(all_close(got, want, 1e-5, 1e-6)) << name << " tile " << tile;
      worst = std::max(worst, max_abs_diff(got, want));
    }
    EXPECT_TRUE(all_close(ref::attention(q, k, v, bias, spec), want, 1e-6, 1e-7)) << name << " (reference)";
  }
  std::printf("[attention] max |flash - torch sdpa| over all fixture cases: %.3g\n", worst);
}

// KV-cache decoding: the first sp keys/values of each torch case sit in a longer cache buffer (a strided view,
// as KvCache hands out) and the rest come as k/v; the result must equal torch's on the whole sequence.
TEST(AttentionKernel, PastKeysReadInPlaceMatchTorchSdpa) {
  const json::Value m = manifest();
  int cases = 0;
  for (const json::Value& e : m.as_object().at("sdpa").as_array()) {
    const std::string name = e.as_object().at("name").as_string();
    AttentionSpec spec = spec_from(e);
    const Tensor q = attn_fx(name + "_q"), k = attn_fx(name + "_k"), v = attn_fx(name + "_v");
    const Tensor want = attn_fx(name + "_out");
    std::optional<Tensor> bias;
    if (e.as_object().at("bias").as_bool()) bias = attn_fx(name + "_bias");
    const int64_t sk = k.size(2);
    for (int64_t sp : {int64_t(1), sk / 2, sk - 1}) {
      if (sp < 1 || sp >= sk) continue;
      // cache [b, hkv, sp + 3, d]: the first sp slots hold the past; the view skips the 3 spare slots.
      Shape cs = k.shape(), vs = v.shape();
      cs[2] = vs[2] = 3;
      // The spare slots hold NaN: reading one would show in the result.
      const float nan = std::numeric_limits<float>::quiet_NaN();
      const Tensor ck = kernels::concat({k.slice(2, 0, sp), Tensor::full(cs, nan)}, 2);
      const Tensor cv = kernels::concat({v.slice(2, 0, sp), Tensor::full(vs, nan)}, 2);
      const kernels::AttentionPast past{ck.slice(2, 0, sp), cv.slice(2, 0, sp)};
      const Tensor kn = k.slice(2, sp, sk), vn = v.slice(2, sp, sk);
      for (int64_t tile : {0, 3}) {
        spec.tile_q = tile;
        spec.tile_k = tile == 3 ? 2 : 0;  // key tiles that straddle nothing: each run is tiled on its own
        const Tensor got = kernels::attention(q, kn, vn, bias, spec, &past);
        EXPECT_TRUE(all_close(got, want, 1e-5, 1e-6)) << name << " sp " << sp << " tile " << tile;
      }
      EXPECT_TRUE(all_close(ref::attention(q, kn, vn, bias, spec, &past), want, 1e-6, 1e-7)) << name << " (reference)";
      ++cases;
    }
  }
  EXPECT_GE(cases, 20);
  // Past shapes that do not match k / v are refused by name.
  const Tensor q = Tensor::zeros({1, 4, 1, 8}), k = Tensor::zeros({1, 2, 1, 8}), v = Tensor::zeros({1, 2, 1, 6});
  const kernels::AttentionPast bad_k{Tensor::zeros({1, 1, 5, 8}), Tensor::zeros({1, 2, 5, 6})};
  std::string e = error_of<ShapeError>([&] { kernels::attention(q, k, v, std::nullopt, {}, &bad_k); });
  EXPECT_NE(e.find("past keys"), std::string::npos) << e;
  const kernels::AttentionPast bad_v{Tensor::zeros({1, 2, 5, 8}), Tensor::zeros({1, 2, 4, 6})};
  e = error_of<ShapeError>([&] { kernels::attention(q, k, v, std::nullopt, {}, &bad_v); });
  EXPECT_NE(e.find("past values"), std::string::npos) << e;
}

struct Case {
  int64_t b, h, hkv, sq, sk, d, dv;
  bool causal;
  int64_t window;
  AttentionPattern pattern;
  Shape bias;  // empty: none
  int64_t tile_q, tile_k;
  DType dtype;
  Layout layout;
};

AttentionSparse sparse_for(AttentionPattern p, int64_t sk, uint32_t seed) {
  AttentionSparse s;
  s.pattern = p;
  if (p == AttentionPattern::strided) s.span = 5;
  if (p == AttentionPattern::local) s.span = 16;
  if (p == AttentionPattern::global_local) s.span = 7, s.n_global = 3;
  if (p == AttentionPattern::block_sparse) {
    s.block_q = 8;
    s.block_k = 16;
    const int64_t r = (sk + 7) / 8, c = (sk + 15) / 16;
    std::mt19937 rng(seed);
    for (int64_t i = 0; i < r * c; ++i) s.layout.push_back(uint8_t(rng() % 3 != 0));
  }
  return s;
}

// The flash kernel against the dense double reference: odd sizes, tails in both tile dims, GQA, decode,
// views (transposed [b, s, h, d] storage; strided rows), f16/bf16 inputs, every pattern, broadcast biases.
TEST(AttentionKernel, MatchesReferenceTable) {
  using P = AttentionPattern;
  const Case cases[] = {
      {1, 1, 1, 1, 1, 1, 1, false, 0, P::none, {}, 0, 0, DType::f32, Layout::contiguous},
      {2, 3, 3, 17, 17, 5, 7, false, 0, P::none, {}, 0, 0, DType::f32, Layout::contiguous},
      {1, 4, 2, 70, 70, 16, 16, true, 0, P::none, {}, 0, 0, DType::f32, Layout::transposed},
      {2, 6, 3, 33, 65, 8, 8, true, 0, P::none, {2, 1, 33, 65}, 16, 8, DType::f32, Layout::strided},
      {1, 4, 1, 1, 100, 32, 32, true, 0, P::none, {}, 0, 0, DType::f32, Layout::contiguous},  // decode, MQA
      {1, 2, 2, 130, 130, 8, 8, true, 24, P::none, {}, 32, 16, DType::f32, Layout::contiguous},
      {1, 2, 1, 90, 90, 8, 4, false, 20, P::none, {1, 2, 1, 90}, 16, 16, DType::f32, Layout::contiguous},
      {1, 2, 2, 77, 77, 8, 8, true, 0, P::strided, {}, 8, 8, DType::f32, Layout::contiguous},
      {1, 2, 2, 77, 77, 8, 8, false, 0, P::local, {}, 16, 16, DType::f32, Layout::contiguous},
      {1, 2, 2, 77, 77, 8, 8, false, 0, P::global_local, {}, 8, 16, DType::f32, Layout::contiguous},
      {2, 2, 1, 50, 50, 8, 8, true, 0, P::block_sparse, {}, 8, 16, DType::f32, Layout::contiguous},
      {1, 2, 2, 40, 50, 8, 8, false, 0, P::block_sparse, {40, 50}, 0, 0, DType::f32, Layout::contiguous},
      {1, 3, 3, 20, 20, 12, 12, true, 0, P::none, {}, 0, 0, DType::f16, Layout::contiguous},
      {1, 3, 1, 20, 31, 12, 12, true, 0, P::none, {3, 20, 31}, 0, 0, DType::bf16, Layout::transposed},
      {0, 2, 2, 5, 5, 4, 4, false, 0, P::none, {}, 0, 0, DType::f32, Layout::contiguous},  // empty batch
  };
  uint32_t seed = 11;
  for (const Case& c : cases) {
    // transposed: stored [b, s, h, d] and viewed as [b, h, s, d]; strided: every other element of wider rows.
    auto make = [&](int64_t h, int64_t s, int64_t d) {
      if (c.layout == Layout::transposed)
        return rand_tensor({c.b, s, h, d}, c.dtype, seed++).permute({0, 2, 1, 3});
      if (c.layout == Layout::strided) return rand_tensor({c.b, h, 2 * s, d}, c.dtype, seed++).slice(2, 0, 2 * s, 2);
      return rand_tensor({c.b, h, s, d}, c.dtype, seed++);
    };
    Tensor q = make(c.h, c.sq, c.d), k = make(c.hkv, c.sk, c.d), v = make(c.hkv, c.sk, c.dv);
    std::optional<Tensor> bias;
    if (!c.bias.empty()) bias = rand_tensor(c.bias, DType::f32, seed++);
    AttentionSpec spec;
    spec.scale = 1.0f / std::sqrt(float(c.d));
    spec.causal = c.causal;
    spec.window = c.window;
    spec.sparse = sparse_for(c.pattern, c.sk, seed++);
    spec.tile_q = c.tile_q;
    spec.tile_k = c.tile_k;
    Tensor got = kernels::attention(q, k, v, bias, spec);
    // fp32 GEMMs and an online softmax over <= 130 keys against double: 2e-5 relative, 2e-6 absolute.
    EXPECT_TRUE(all_close(got, ref::attention(q, k, v, bias, spec), 2e-5, 2e-6))
        << c.b << "x" << c.h << "/" << c.hkv << " sq " << c.sq << " sk " << c.sk << " pattern " << int(c.pattern)
        << " " << dtype_name(c.dtype) << " " << layout_name(c.layout);
  }
}

// A row whose keys are all hidden gives zeros, never NaN (the softmax convention).
TEST(AttentionKernel, FullyHiddenRowsAreZero) {
  Tensor q = rand_tensor({1, 1, 4, 3}, DType::f32, 1), k = rand_tensor({1, 1, 4, 3}, DType::f32, 2);
  Tensor v = rand_tensor({1, 1, 4, 3}, DType::f32, 3);
  Tensor bias = Tensor::zeros({4, 4});
  for (int64_t j = 0; j < 4; ++j) {
    const int64_t idx[2] = {1, j};
    bias.set(idx, -std::numeric_limits<double>::infinity());
  }
  AttentionSpec spec;
  Tensor got = kernels::attention(q, k, v, bias, spec);
  for (int64_t c = 0; c < 3; ++c) EXPECT_EQ(got.get({0, 0, 1, c}), 0.0);
  EXPECT_TRUE(all_close(got, ref::attention(q, k, v, bias, spec), 1e-5, 1e-6));
}

// A causal + left-padding mask given as a bias (what generation's prefill passes): tiles the bias hides
// entirely are skipped, with the result of the double reference over the same bias and of the causal flag.
TEST(AttentionKernel, BiasHiddenTilesMatchReference) {
  const int64_t n = 70, pad = 9;
  Tensor q = rand_tensor({1, 4, n, 8}, DType::f32, 21), k = rand_tensor({1, 2, n, 8}, DType::f32, 22);
  Tensor v = rand_tensor({1, 2, n, 8}, DType::f32, 23);
  Tensor causal_bias = Tensor::zeros({1, 1, n, n}), padded_bias = Tensor::zeros({1, 1, n, n});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const int64_t idx[4] = {0, 0, i, j};
      if (j > i) causal_bias.set(idx, -std::numeric_limits<double>::infinity());
      if (j > i || j < pad) padded_bias.set(idx, -std::numeric_limits<double>::infinity());
    }
  AttentionSpec spec, flag;
  spec.scale = flag.scale = 1.0f / std::sqrt(8.0f);
  flag.causal = true;
  for (int64_t tile : {0, 8, 5}) {
    spec.tile_q = spec.tile_k = flag.tile_q = flag.tile_k = tile;
    Tensor got = kernels::attention(q, k, v, causal_bias, spec);
    EXPECT_TRUE(all_close(got, ref::attention(q, k, v, causal_bias, spec), 2e-5, 2e-6)) << tile;
    EXPECT_TRUE(all_close(got, kernels::attention(q, k, v, std::nullopt, flag), 1e-6, 1e-7)) << tile;
    Tensor padded = kernels::attention(q, k, v, padded_bias, spec);
    EXPECT_TRUE(all_close(padded, ref::attention(q, k, v, padded_bias, spec), 2e-5, 2e-6)) << tile;
  }
  // A NaN value in a key tile the bias hides is never read, as with the causal flag.
  spec.tile_q = spec.tile_k = 8;
  Tensor v_nan = v.contiguous();
  const int64_t at[4] = {0, 0, n - 1, 0};
  v_nan.set(at, std::numeric_limits<double>::quiet_NaN());
  Tensor got = kernels::attention(q, k, v_nan, causal_bias, spec);
  const int64_t first_rows[4] = {0, 0, 0, 0};
  EXPECT_FALSE(std::isnan(got.get(first_rows)));
  EXPECT_TRUE(std::isnan(got.get({0, 0, n - 1, 0})));  // the last row sees that key
}

// Tiles hidden by the masks are never computed: sliding window work grows as n * w, causal is about half.
TEST(AttentionKernel, SkipsHiddenTiles) {
  AttentionSpec spec;
  spec.causal = true;
  spec.window = 256;
  for (int64_t n : {1024, 2048, 4096}) {
    auto [done, skipped] = kernels::attention_tile_counts(n, n, spec);
    const int64_t tiles = (n / 64) * (n / 64);
    EXPECT_EQ(done + skipped, tiles);
    // Each 64-row tile sees keys in (p - 256, p]: at most 256/64 + 1 = 5 key tiles.
    EXPECT_LE(done, (n / 64) * 5) << n;
  }
  AttentionSpec causal;
  causal.causal = true;
  auto [cd, cs] = kernels::attention_tile_counts(1024, 1024, causal);
  EXPECT_EQ(cd, 16 * 17 / 2);  // lower triangle including the diagonal tiles
  EXPECT_EQ(cs, 16 * 15 / 2);
  AttentionSpec local;
  local.sparse.pattern = AttentionPattern::local;
  local.sparse.span = 128;
  EXPECT_EQ(kernels::attention_tile_counts(1024, 1024, local).first, 8 * 4);  // 2x2 tiles per 128-block
}

TEST(AttentionKernel, ErrorsNameTheOperand) {
  Tensor q = Tensor::zeros({1, 4, 5, 8}), k = Tensor::zeros({1, 3, 5, 8}), v = Tensor::zeros({1, 3, 5, 8});
  AttentionSpec spec;
  try {
    kernels::attention(q, k, v, std::nullopt, spec);
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("input 1 (k)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("kv_heads dividing 4"), std::string::npos) << e.what();
  }
  Tensor k2 = Tensor::zeros({1, 2, 5, 8}), v2 = Tensor::zeros({1, 2, 6, 8});
  EXPECT_THROW(kernels::attention(q, k2, v2, std::nullopt, spec), ShapeError);
  AttentionSpec causal = spec;
  causal.causal = true;
  EXPECT_THROW(kernels::attention(Tensor::zeros({1, 4, 6, 8}), k2, Tensor::zeros({1, 2, 5, 8}), std::nullopt, causal),
               ShapeError);  // sq > sk with a position mask (unmasked attention allows it: NnAttention test)
  EXPECT_THROW(kernels::attention(q, k2, Tensor::zeros({1, 2, 5, 8}), Tensor::zeros({2, 1, 5, 5}), spec),
               ShapeError);  // bias batch 2 vs 1
  EXPECT_THROW(kernels::attention(Tensor::zeros({4, 5, 8}), k2, v2, std::nullopt, spec), ShapeError);
  AttentionSpec bad;
  bad.sparse.pattern = AttentionPattern::strided;
  try {
    kernels::attention(q, k2, Tensor::zeros({1, 2, 5, 8}), std::nullopt, bad);
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("span > 0"), std::string::npos) << e.what();
  }
  bad.sparse.pattern = AttentionPattern::block_sparse;
  bad.sparse.block_q = bad.sparse.block_k = 2;
  bad.sparse.layout = {1, 1, 1};
  try {
    kernels::attention(q, k2, Tensor::zeros({1, 2, 5, 8}), std::nullopt, bad);
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("expected 3 x 3 = 9"), std::string::npos) << e.what();
  }
  AttentionSpec neg;
  neg.window = -1;
  EXPECT_THROW(kernels::attention(q, k2, Tensor::zeros({1, 2, 5, 8}), std::nullopt, neg), ValueError);
}

}  // namespace
}  // namespace tl::test
