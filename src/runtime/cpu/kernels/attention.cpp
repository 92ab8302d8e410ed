// Flash attention on the CPU. Work items are (batch, head, query tile); each keeps its running row maxima m,
// row sums l and an output accumulator for tile_q rows, and walks the key tiles: S = scale * Q K^T (one
// single-threaded GEMM), + bias, hidden entries -> -inf, online softmax update (rescale by exp(m_old - m_new)),
// acc += P V (GEMM). Extra memory is O(tile_q * (d + tile_k + dv)) per thread, never O(sq * sk). Before a key
// tile is touched, its (query tile, key tile) rectangle is classified from the position intervals alone as
// hidden (skipped: causal, sliding window, sparse pattern), fully visible (no per-element mask) or partial, so
// a sliding window of w costs O(sq * w) and causal about half of dense. A tile the bias hides entirely (-inf)
// is skipped too, so a causal or padding mask given as a bias costs what the flags cost.
#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <vector>

#include "runtime/cpu/kernels/common.h"
#include "runtime/cpu/kernels/vec_math.h"
#include "tl/gemm.h"
#include "tl/kernels.h"
#include "tl/threading.h"

namespace tl {

namespace {
int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int64_t iabs(int64_t a) { return a < 0 ? -a : a; }
}  // namespace

void check_attention_spec(const AttentionSpec& s, int64_t sk, const char* op) {
  if (s.window < 0) TL_THROW(ValueError, "[", op, "] window = ", s.window, " must be >= 0 (0 = no window)");
  if (s.tile_q < 0 || s.tile_k < 0)
    TL_THROW(ValueError, "[", op, "] tile sizes must be >= 0 (0 = default), got ", s.tile_q, " x ", s.tile_k);
  const AttentionSparse& p = s.sparse;
  switch (p.pattern) {
    case AttentionPattern::none: break;
    case AttentionPattern::strided:
    case AttentionPattern::local:
      if (p.span <= 0)
        TL_THROW(ValueError, "[", op, "] sparse pattern ", p.pattern == AttentionPattern::strided ? "strided" : "local",
                 " needs span > 0, got ", p.span);
      break;
    case AttentionPattern::global_local:
      if (p.span < 0 || p.n_global < 0)
        TL_THROW(ValueError, "[", op, "] sparse pattern global_local needs span >= 0 and n_global >= 0, got span = ",
                 p.span, ", n_global = ", p.n_global);
      break;
    case AttentionPattern::block_sparse: {
      if (p.block_q <= 0 || p.block_k <= 0)
        TL_THROW(ValueError, "[", op, "] sparse pattern block_sparse needs layout block sizes > 0, got ", p.block_q,
                 " x ", p.block_k);
      const int64_t rows = ceil_div(sk, p.block_q), cols = ceil_div(sk, p.block_k);
      if (int64_t(p.layout.size()) != rows * cols)
        TL_THROW(ValueError, "[", op, "] block_sparse layout has ", p.layout.size(), " entries, expected ", rows, " x ",
                 cols, " = ", rows * cols, " (ceil(sk / block) for sk = ", sk, ")");
      break;
    }
    default: TL_THROW(ValueError, "[", op, "] sparse pattern ", int(p.pattern), " is not a known pattern");
  }
}

bool attention_visible(const AttentionSpec& s, int64_t sk, int64_t p, int64_t j) {
  const int64_t d = p - j;
  if (s.causal && d < 0) return false;
  if (s.window > 0 && (d >= s.window || (!s.causal && -d >= s.window))) return false;
  const AttentionSparse& sp = s.sparse;
  switch (sp.pattern) {
    case AttentionPattern::none: return true;
    case AttentionPattern::strided: return iabs(d) < sp.span || d % sp.span == 0;
    case AttentionPattern::local: return p / sp.span == j / sp.span;
    case AttentionPattern::global_local: return j < sp.n_global || p < sp.n_global || iabs(d) < sp.span;
    case AttentionPattern::block_sparse:
      return sp.layout[size_t((p / sp.block_q) * ceil_div(sk, sp.block_k) + j / sp.block_k)] != 0;
  }
  return false;
}

namespace kernels {

namespace {

enum class TileVis { hidden, partial, full };

// Visibility of the rectangle p in [p0, p1], j in [j0, j1] (inclusive), from intervals only. "partial" may be
// returned for a rectangle that is in fact fully visible or hidden (it is then masked element by element).
TileVis classify(const AttentionSpec& s, int64_t sk, int64_t p0, int64_t p1, int64_t j0, int64_t j1) {
  int64_t lo = p0 - j1, hi = p1 - j0;  // the differences d = p - j this rectangle holds (all of them)
  const int64_t dlo = lo, dhi = hi;
  if (s.causal) lo = std::max<int64_t>(lo, 0);
  if (s.window > 0) {
    hi = std::min<int64_t>(hi, s.window - 1);
    if (!s.causal) lo = std::max<int64_t>(lo, 1 - s.window);
  }
  if (lo > hi) return TileVis::hidden;
  const bool dense_full = lo == dlo && hi == dhi;  // causal and window hold for every pair
  const AttentionSparse& sp = s.sparse;
  switch (sp.pattern) {
    case AttentionPattern::none: return dense_full ? TileVis::full : TileVis::partial;
    case AttentionPattern::strided: {
      const bool near = lo < sp.span && hi > -sp.span;
      const bool multiple = floor_div(hi, sp.span) * sp.span >= lo;
      return near || multiple ? TileVis::partial : TileVis::hidden;
    }
    case AttentionPattern::local: {
      const bool meet = p0 / sp.span <= j1 / sp.span && j0 / sp.span <= p1 / sp.span;
      if (!meet) return TileVis::hidden;
      return dense_full && p0 / sp.span == p1 / sp.span && j0 / sp.span == j1 / sp.span ? TileVis::full
                                                                                          : TileVis::partial;
    }
    case AttentionPattern::global_local: {
      if (j0 < sp.n_global || p0 < sp.n_global) return TileVis::partial;
      return lo < sp.span && hi > -sp.span ? TileVis::partial : TileVis::hidden;
    }
    case AttentionPattern::block_sparse: {
      const int64_t cols = ceil_div(sk, sp.block_k);
      bool any = false, all = true;
      for (int64_t r = p0 / sp.block_q; r <= p1 / sp.block_q; ++r)
        for (int64_t c = j0 / sp.block_k; c <= j1 / sp.block_k; ++c) {
          const bool on = sp.layout[size_t(r * cols + c)] != 0;
          any = any || on;
          all = all && on;
        }
      if (!any) return TileVis::hidden;
      return all && dense_full ? TileVis::full : TileVis::partial;
    }
  }
  return TileVis::partial;
}

constexpr int64_t kTileQ = 64, kTileK = 64;
// Short query tiles (decoding) meet many keys: longer key tiles keep the GEMM calls few. With no position mask
// (encoders: nothing to skip) 128-key tiles halve the GEMM calls and online-softmax rescales per query tile:
// MiniLM's attention (32 x 128 tokens, head dim 32) took 10% less time (tlt bench embed --profile); causal
// prefill keeps 64, which skips more of the hidden half.
int64_t default_tile_k(int64_t tile_rows, const AttentionSpec& s) {
  if (tile_rows <= 16) return 256;
  const bool dense = !s.causal && s.window == 0 && s.sparse.pattern == AttentionPattern::none;
  return dense ? 2 * kTileK : kTileK;
}

namespace sv = tl::simd;

// NaN when the row holds a NaN (max_raw alone would skip it and a row of NaN scores would look hidden).
float row_max(const float* x, int64_t n) {
  sv::V m = sv::set1(-std::numeric_limits<float>::infinity());
  unsigned nan = 0;
  int64_t c = 0;
  for (; c + sv::kLanes <= n; c += sv::kLanes) {
    const sv::V v = sv::load(x + c);
    nan |= sv::mask_bits(sv::unord(v, v));
    m = sv::max_raw(v, m);
  }
  float r = sv::hmax_raw(m);
  for (; c < n; ++c) {
    nan |= std::isnan(x[c]);
    r = std::max(r, x[c]);
  }
  return nan ? std::numeric_limits<float>::quiet_NaN() : r;
}

// x[c] = exp(x[c] - shift) in place (-inf -> 0); returns the sum.
float exp_shift_sum(float* x, int64_t n, float shift) {
  const sv::V sh = sv::set1(shift);
  sv::V acc = sv::set1(0.0f);
  int64_t c = 0;
  for (; c + sv::kLanes <= n; c += sv::kLanes) {
    const sv::V e = sv::exp(sv::sub(sv::load(x + c), sh));
    sv::store(x + c, e);
    acc = sv::add(acc, e);
  }
  float sum = sv::hsum(acc);
  if (c < n) {
    const int rem = int(n - c);
    alignas(64) float t[sv::kLanes];
    sv::store(t, sv::exp(sv::sub(sv::loadn(x + c, rem), sh)));
    for (int i = 0; i < rem; ++i) sum += (x[c + i] = t[i]);
  }
  return sum;
}

// Decoding (rows <= kSmallRows): direct loops read each key / value row once for all rows; the GEMM would
// pack operands of a few rows on every call.
constexpr int64_t kSmallRows = 4;

float dot(const float* a, const float* b, int64_t n) {
  sv::V acc = sv::set1(0.0f);
  int64_t c = 0;
  for (; c + sv::kLanes <= n; c += sv::kLanes) acc = sv::fma(sv::load(a + c), sv::load(b + c), acc);
  float r = sv::hsum(acc);
  for (; c < n; ++c) r += a[c] * b[c];
  return r;
}

// s[r, c] = scale * q[r, :] . k[c, :]   (q [rows, d], k rows ldk apart)
void small_scores(int64_t rows, int64_t cols, int64_t d, float scale, const float* q, const float* k, int64_t ldk,
                  float* s) {
  for (int64_t c = 0; c < cols; ++c)
    for (int64_t r = 0; r < rows; ++r) s[r * cols + c] = scale * dot(q + r * d, k + c * ldk, d);
}

// acc[r, :] += sum_c p[r, c] v[c, :]   (v rows ldv apart)
void small_pv(int64_t rows, int64_t cols, int64_t dv, const float* p, const float* v, int64_t ldv, float* acc) {
  for (int64_t c = 0; c < cols; ++c) {
    const float* vr = v + c * ldv;
    for (int64_t r = 0; r < rows; ++r) {
      const float w = p[r * cols + c];  // 0 for hidden keys: 0 * NaN values still give NaN, as the GEMM does
      float* ar = acc + r * dv;
      const sv::V wv = sv::set1(w);
      int64_t e = 0;
      for (; e + sv::kLanes <= dv; e += sv::kLanes) sv::store(ar + e, sv::fma(wv, sv::load(vr + e), sv::load(ar + e)));
      for (; e < dv; ++e) ar[e] += w * vr[e];
    }
  }
}

// True when the bias is -inf over the whole tile (rows x [j0, j0 + cols)): the tile is skipped as a hidden one
// (a decoder's causal or padding mask given as a bias costs what the causal flag costs). Such keys and values
// are never read, so a NaN there does not reach the output, as with the position masks. Stops at the first
// visible entry, so a visible tile costs one read.
bool bias_hides_tile(const float* bd, const Shape& bstr, int64_t b, const int64_t* rh, const int64_t* ri, int64_t rows,
                     int64_t j0, int64_t cols) {
  const float ninf = -std::numeric_limits<float>::infinity();
  for (int64_t r = 0; r < rows; ++r) {
    const float* bp = bd + b * bstr[0] + rh[r] * bstr[1] + ri[r] * bstr[2] + j0 * bstr[3];
    for (int64_t c = 0; c < cols; ++c)
      if (bp[c * bstr[3]] != ninf) return false;
  }
  return true;
}

}  // namespace

Shape attention_shape(const Shape& q, const Shape& k, const Shape& v, const std::optional<Shape>& bias,
                      const char* op, const AttentionSpec* spec) {
  auto need4 = [&](const Shape& s, const char* what, const char* layout) {
    if (s.size() != 4)
      TL_THROW(ShapeError, "[", op, "] ", what, " must be ", layout, " (rank 4), got ", shape_str(s));
  };
  need4(q, "input 0 (q)", "[batch, heads, sq, head_dim]");
  need4(k, "input 1 (k)", "[batch, kv_heads, sk, head_dim]");
  need4(v, "input 2 (v)", "[batch, kv_heads, sk, v_dim]");
  if (k[0] != q[0] || k[3] != q[3] || k[1] < 1 || q[1] % k[1] != 0)
    TL_THROW(ShapeError, "[", op, "] input 1 (k) has shape ", shape_str(k), ", expected [", q[0],
             ", kv_heads dividing ", q[1], ", sk, ", q[3], "] to match q's ", shape_str(q));
  if (v[0] != k[0] || v[1] != k[1] || v[2] != k[2])
    TL_THROW(ShapeError, "[", op, "] input 2 (v) has shape ", shape_str(v), ", expected [", k[0], ", ", k[1], ", ",
             k[2], ", v_dim] to match k's ", shape_str(k));
  const bool by_position = !spec || spec->causal || spec->window > 0 || spec->sparse.pattern != AttentionPattern::none;
  if (q[2] > k[2] && by_position)
    TL_THROW(ShapeError, "[", op, "] q has sq = ", q[2], " queries but k has only sk = ", k[2],
             " keys; expected sq <= sk (query i sits at position sk - sq + i)");
  const Shape scores{q[0], q[1], q[2], k[2]};
  if (bias) {
    Shape b;
    try {
      b = bias->size() <= 4 ? broadcast_shapes(*bias, scores, op) : Shape{};
    } catch (const ShapeError&) {
      b.clear();
    }
    if (b != scores)
      TL_THROW(ShapeError, "[", op, "] input 3 (bias) has shape ", shape_str(*bias),
               ", expected a shape that broadcasts to the scores' ", shape_str(scores));
  }
  return {q[0], q[1], q[2], v[3]};
}

std::pair<int64_t, int64_t> attention_tile_counts(int64_t sq, int64_t sk, const AttentionSpec& spec) {
  const int64_t tq = spec.tile_q > 0 ? spec.tile_q : kTileQ;
  const int64_t tk = spec.tile_k > 0 ? spec.tile_k : default_tile_k(std::min(tq, sq), spec);
  int64_t done = 0, skipped = 0;
  for (int64_t i0 = 0; i0 < sq; i0 += tq)
    for (int64_t j0 = 0; j0 < sk; j0 += tk) {
      const int64_t p0 = sk - sq + i0, p1 = sk - sq + std::min(i0 + tq, sq) - 1;
      if (classify(spec, sk, p0, p1, j0, std::min(j0 + tk, sk) - 1) == TileVis::hidden)
        ++skipped;
      else
        ++done;
    }
  return {done, skipped};
}

std::pair<Shape, Shape> attention_kv_shapes(const Shape& k, const Shape& v, const Shape& pk, const Shape& pv,
                                            const char* op) {
  if (k.size() != 4 || v.size() != 4)
    TL_THROW(ShapeError, "[", op, "] k and v must be rank 4, got ", shape_str(k), " and ", shape_str(v));
  if (pk.size() != 4 || pk[0] != k[0] || pk[1] != k[1] || pk[3] != k[3])
    TL_THROW(ShapeError, "[", op, "] past keys have shape ", shape_str(pk), ", expected [", k[0], ", ", k[1],
             ", past, ", k[3], "] to match k's ", shape_str(k));
  if (pv.size() != 4 || pv[0] != v[0] || pv[1] != v[1] || pv[2] != pk[2] || pv[3] != v[3])
    TL_THROW(ShapeError, "[", op, "] past values have shape ", shape_str(pv), ", expected [", v[0], ", ", v[1], ", ",
             pk[2], ", ", v[3], "] to match v's ", shape_str(v), " and the past keys");
  return {Shape{k[0], k[1], pk[2] + k[2], k[3]}, Shape{v[0], v[1], pk[2] + v[2], v[3]}};
}

namespace {
// A run of keys/values in one tensor: keys j0 .. j0 + len - 1 (a cache's past, or the new ones).
struct KvRun {
  const float* k;
  const float* v;
  Shape ks, vs;  // strides
  int64_t j0, len;
};
}  // namespace

void attention_into(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in, const std::optional<Tensor>& bias_in,
                    const AttentionSpec& spec, const Tensor& out, const AttentionPast* past) {
  const char* op = "attention";
  detail::check_defined(op, "q", q_in);
  detail::check_defined(op, "k", k_in);
  detail::check_defined(op, "v", v_in);
  if (bias_in) detail::check_defined(op, "bias", *bias_in);
  if (past) {
    detail::check_defined(op, "past keys", past->k);
    detail::check_defined(op, "past values", past->v);
  }
  std::optional<Shape> bshape;
  if (bias_in) bshape = bias_in->shape();
  Shape kshape = k_in.shape(), vshape = v_in.shape();
  if (past) std::tie(kshape, vshape) = attention_kv_shapes(kshape, vshape, past->k.shape(), past->v.shape(), op);
  const Shape oshape = attention_shape(q_in.shape(), kshape, vshape, bshape, op, &spec);
  detail::check_out(op, out, oshape, DType::f32);
  const int64_t B = oshape[0], H = oshape[1], SQ = oshape[2], DV = oshape[3];
  const int64_t HKV = kshape[1], SK = kshape[2], D = q_in.shape()[3];
  check_attention_spec(spec, SK, op);
  if (out.numel() == 0) return;
  // Rows must be unit-stride f32 for the GEMMs; anything else is converted once (O(n), not O(n^2)).
  auto rows_f32 = [](const Tensor& t) {
    if (t.dtype() == DType::f32 && (t.shape()[3] <= 1 || t.strides()[3] == 1)) return t;
    return t.to(DType::f32).contiguous();
  };
  const Tensor q = rows_f32(q_in), k = rows_f32(k_in), v = rows_f32(v_in);
  Tensor pk, pv;
  std::vector<KvRun> runs;
  if (past && past->k.shape()[2] > 0) {
    pk = rows_f32(past->k);
    pv = rows_f32(past->v);
    runs.push_back({pk.data<float>(), pv.data<float>(), pk.strides(), pv.strides(), 0, pk.shape()[2]});
  }
  const int64_t sp = runs.empty() ? 0 : runs[0].len;
  if (k.shape()[2] > 0) runs.push_back({k.data<float>(), v.data<float>(), k.strides(), v.strides(), sp, k.shape()[2]});
  std::optional<Tensor> bias;
  Shape bstr;
  if (bias_in) {
    bias = bias_in->dtype() == DType::f32 ? *bias_in : bias_in->to(DType::f32);
    bstr = detail::broadcast_strides(*bias, {B, H, SQ, SK});
  }
  const int64_t group = H / HKV;
  // Work items hold tile rows of one kv head. Few queries (decoding): the whole group's rows in one item, so
  // each key tile is read once for the group and the GEMMs have group * sq rows; else one head's query tile.
  const bool packed = spec.tile_q == 0 && group > 1 && group * SQ <= kTileQ;
  const int64_t row_span = packed ? group * SQ : SQ;  // rows per (b, item head)
  const int64_t tq = packed ? row_span : std::min(spec.tile_q > 0 ? spec.tile_q : kTileQ, SQ);
  const int64_t tk = std::min(spec.tile_k > 0 ? spec.tile_k : default_tile_k(tq, spec), std::max<int64_t>(SK, 1));
  const int64_t nqt = ceil_div(row_span, tq);
  const int64_t heads = packed ? HKV : H;
  const int64_t items = B * heads * nqt;
  const float* qd = q.data<float>();
  const float* bd = bias ? bias->data<float>() : nullptr;
  float* od = out.data<float>();
  const Shape& qs = q.strides();
  const float ninf = -std::numeric_limits<float>::infinity();
  const int nt = num_threads();
  // Dynamic scheduling: with causal masks later query tiles cost more than earlier ones.
#pragma omp parallel num_threads(nt) if (items > 1 && nt > 1)
  {
    std::vector<float> qt(static_cast<size_t>(tq * D)), s(static_cast<size_t>(tq * tk)),
        acc(static_cast<size_t>(tq * DV)), m(static_cast<size_t>(tq)), l(static_cast<size_t>(tq));
    std::vector<int64_t> rh(static_cast<size_t>(tq)), ri(static_cast<size_t>(tq));  // each row's head and query
#pragma omp for schedule(dynamic, 1)
    for (int64_t it = 0; it < items; ++it) {
      const int64_t qtile = it % nqt, hh = (it / nqt) % heads, b = it / (nqt * heads);
      const int64_t hk = packed ? hh : hh / group;
      const int64_t i0 = qtile * tq, rows = std::min(tq, row_span - i0);
      int64_t imin = SQ, imax = -1;
      for (int64_t r = 0; r < rows; ++r) {
        rh[size_t(r)] = packed ? hk * group + (i0 + r) / SQ : hh;
        ri[size_t(r)] = packed ? (i0 + r) % SQ : i0 + r;
        imin = std::min(imin, ri[size_t(r)]);
        imax = std::max(imax, ri[size_t(r)]);
        const float* src = qd + b * qs[0] + rh[size_t(r)] * qs[1] + ri[size_t(r)] * qs[2];
        std::copy(src, src + D, qt.data() + r * D);
      }
      // The rows' positions span [p0, p1] (a superset when packed rows of several heads repeat positions).
      const int64_t p0 = SK - SQ + imin, p1 = SK - SQ + imax;
      std::fill(acc.begin(), acc.begin() + rows * DV, 0.0f);
      std::fill(m.begin(), m.end(), ninf);
      std::fill(l.begin(), l.end(), 0.0f);
      for (const KvRun& run : runs) {
        const float* kb = run.k + b * run.ks[0] + hk * run.ks[1];
        const float* vb = run.v + b * run.vs[0] + hk * run.vs[1];
        for (int64_t jl = 0; jl < run.len; jl += tk) {
          const int64_t j0 = run.j0 + jl, cols = std::min(tk, run.len - jl);
          const TileVis vis = classify(spec, SK, p0, p1, j0, j0 + cols - 1);
          if (vis == TileVis::hidden || (bd && bias_hides_tile(bd, bstr, b, rh.data(), ri.data(), rows, j0, cols)))
            continue;
          // S = scale * Q K^T   [rows, cols]
          if (rows <= kSmallRows)
            small_scores(rows, cols, D, spec.scale, qt.data(), kb + jl * run.ks[2], run.ks[2], s.data());
          else
            sgemm(false, true, rows, cols, D, spec.scale, qt.data(), std::max<int64_t>(D, 1), kb + jl * run.ks[2],
                  std::max<int64_t>(run.ks[2], std::max<int64_t>(D, 1)), 0.0f, s.data(), cols);
          if (bd)
            for (int64_t r = 0; r < rows; ++r) {
              const float* bp = bd + b * bstr[0] + rh[size_t(r)] * bstr[1] + ri[size_t(r)] * bstr[2] + j0 * bstr[3];
              float* sr = s.data() + r * cols;
              for (int64_t c = 0; c < cols; ++c) sr[c] += bp[c * bstr[3]];
            }
          if (vis == TileVis::partial)
            for (int64_t r = 0; r < rows; ++r)
              for (int64_t c = 0; c < cols; ++c)
                if (!attention_visible(spec, SK, SK - SQ + ri[size_t(r)], j0 + c)) s[size_t(r * cols + c)] = ninf;
          // Online softmax: new maxima, rescale what was accumulated, exponentiate this tile.
          for (int64_t r = 0; r < rows; ++r) {
            float* sr = s.data() + r * cols;
            const float mt = row_max(sr, cols);
            if (mt == ninf) {  // nothing visible in this row of the tile
              std::fill(sr, sr + cols, 0.0f);
              continue;
            }
            if (std::isnan(mt)) {  // a NaN score: the row is NaN, as softmax makes it (l stays NaN from here on)
              l[size_t(r)] = mt;
              std::fill(sr, sr + cols, 0.0f);
              continue;
            }
            const float mn = std::max(m[size_t(r)], mt);
            const float corr = m[size_t(r)] == ninf ? 0.0f : std::exp(m[size_t(r)] - mn);
            const float sum = exp_shift_sum(sr, cols, mn);
            l[size_t(r)] = l[size_t(r)] * corr + sum;
            m[size_t(r)] = mn;
            if (corr != 1.0f) {
              float* ar = acc.data() + r * DV;
              for (int64_t c = 0; c < DV; ++c) ar[c] *= corr;
            }
          }
          // acc += P V   [rows, DV]
          if (rows <= kSmallRows)
            small_pv(rows, cols, DV, s.data(), vb + jl * run.vs[2], run.vs[2], acc.data());
          else
            sgemm(false, false, rows, DV, cols, 1.0f, s.data(), cols, vb + jl * run.vs[2],
                  std::max<int64_t>(run.vs[2], std::max<int64_t>(DV, 1)), 1.0f, acc.data(), std::max<int64_t>(DV, 1));
        }
      }
      for (int64_t r = 0; r < rows; ++r) {
        float* dst = od + ((b * H + rh[size_t(r)]) * SQ + ri[size_t(r)]) * DV;
        // l == 0: fully hidden row -> zeros. l NaN (a NaN or +inf score) -> NaN, as the plain softmax gives.
        const bool hidden = l[size_t(r)] == 0.0f;
        const float inv = hidden ? 0.0f : 1.0f / l[size_t(r)];
        const float* ar = acc.data() + r * DV;
        for (int64_t c = 0; c < DV; ++c) dst[c] = hidden ? 0.0f : ar[c] * inv;
      }
    }
  }
}

Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, const std::optional<Tensor>& bias,
                 const AttentionSpec& spec, const AttentionPast* past) {
  std::optional<Shape> bs;
  if (bias) bs = bias->shape();
  Shape ks = k.shape(), vs = v.shape();
  if (past) std::tie(ks, vs) = attention_kv_shapes(ks, vs, past->k.shape(), past->v.shape(), "attention");
  Tensor out = Tensor::empty(attention_shape(q.shape(), ks, vs, bs, "attention", &spec), DType::f32);
  attention_into(q, k, v, bias, spec, out, past);
  return out;
}

}  // namespace kernels
}  // namespace tl
