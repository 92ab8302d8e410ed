// Pairwise float contraction lowered to (batched) GEMM with as few copies as the layout allows.
//
// Labels are classified as batch (both operands and the result), K (both, summed), M (left only) and N (right
// only). Each group must act as one strided dim of its operand (its dims merge: stride[i] = stride[i+1] *
// size[i+1]); then the left operand is an [M, K] matrix (or [K, M], passed transposed) with a leading dim, the
// right one [K, N] (or [N, K] transposed), and the result [M, N] with unit column stride. We try both operand
// roles (C or C^T) and K orders taken from either operand, and copy an operand only when no choice avoids it.
// Batch labels never force a copy: the longest run that merges in all three tensors becomes sgemm_batched's
// batch, the rest is looped over.
#include <algorithm>

#include "einsum/einsum_internal.h"
#include "tl/gemm.h"

namespace tl::einsum_detail {

namespace {

struct Groups {
  std::vector<int> batch, m, k, n;
};

bool has(const std::vector<int>& v, int l) { return std::find(v.begin(), v.end(), l) != v.end(); }

Groups classify(const std::vector<int>& la, const std::vector<int>& lb, const std::vector<int>& result) {
  Groups g;
  for (int l : la) {
    if (has(lb, l)) (has(result, l) ? g.batch : g.k).push_back(l);
    else g.m.push_back(l);
  }
  for (int l : lb)
    if (!has(la, l)) g.n.push_back(l);
  return g;
}

int64_t extent(const std::vector<int>& g, const std::vector<int64_t>& size) {
  int64_t e = 1;
  for (int l : g) e *= size[l];
  return e;
}

// Stride of `g` (in this order) merged into one dim of `it`; -1 when its dims don't merge; 0 when empty.
int64_t merged_stride(const Item& it, const std::vector<int>& g, const std::vector<int64_t>& size) {
  if (g.empty()) return 0;
  for (size_t i = 0; i + 1 < g.size(); ++i)
    if (it.stride(g[i]) != it.stride(g[i + 1]) * size[g[i + 1]]) return -1;
  return it.stride(g.back());
}

struct Mat {
  bool ok = false, trans = false;
  int64_t ld = 0;
};

// A rows x cols matrix with row stride rs and column stride cs as a BLAS operand (row-major, op = N or T).
Mat as_matrix(int64_t rows, int64_t cols, int64_t rs, int64_t cs) {
  if (rs < 0 || cs < 0) return {};
  const int64_t r1 = std::max<int64_t>(rows, 1), c1 = std::max<int64_t>(cols, 1);
  {  // as is: unit column stride, leading dim = row stride >= cols
    int64_t r = rows <= 1 ? c1 : rs, c = cols <= 1 ? 1 : cs;
    if (c == 1 && r >= c1) return {true, false, r};
  }
  {  // transposed storage: unit row stride, leading dim = column stride >= rows
    int64_t r = rows <= 1 ? 1 : rs, c = cols <= 1 ? r1 : cs;
    if (r == 1 && c >= r1) return {true, true, c};
  }
  return {};
}

std::vector<int> by_stride(std::vector<int> g, const Item& it) {
  std::stable_sort(g.begin(), g.end(), [&](int x, int y) { return it.stride(x) > it.stride(y); });
  return g;
}

// A contiguous copy of `it` with dims in the order `labels`.
Item relayout(const Item& it, const std::vector<int>& labels) {
  std::vector<int> perm;
  for (int l : labels) perm.push_back(int(std::find(it.labels.begin(), it.labels.end(), l) - it.labels.begin()));
  Item r{it.t.permute(perm).clone(), labels};
  stats().bytes_copied += int64_t(r.t.nbytes());
  return r;
}

Item fresh(const std::vector<int>& labels, const std::vector<int64_t>& size) {
  Shape sh;
  for (int l : labels) sh.push_back(size[l]);
  return Item{Tensor::empty(sh, DType::f32), labels};
}

}  // namespace

bool pair_uses_gemm(const std::vector<int>& a, const std::vector<int>& b, const std::vector<int>& result,
                    const std::vector<int64_t>& size, std::vector<int>* batch, std::vector<int>* m,
                    std::vector<int>* k, std::vector<int>* n) {
  Groups g = classify(a, b, result);
  if (batch) *batch = g.batch;
  if (m) *m = g.m;
  if (k) *k = g.k;
  if (n) *n = g.n;
  // GEMM needs a summed label and a real matrix on one side; batched dot products and Hadamard/outer products
  // are better served by the loop kernel.
  return !g.k.empty() && (extent(g.m, size) > 1 || extent(g.n, size) > 1);
}

Item contract_pair_f32(const Item& a, const Item& b, const std::vector<int>& result, const Item* target,
                       const std::vector<int64_t>& size) {
  for (const Item* it : {&a, &b})
    for (int l : it->labels)
      TL_CHECK(has(result, l) || (has(a.labels, l) && has(b.labels, l)), "label ", l, " must be summed out first");
  if (!pair_uses_gemm(a.labels, b.labels, result, size, nullptr, nullptr, nullptr, nullptr)) {
    ++stats().loop_steps;
    if (target) {
      loop_contract<float>({&a, &b}, *target, size);
      return *target;
    }
    Item r = fresh(result, size);
    loop_contract<float>({&a, &b}, r, size);
    return r;
  }

  // Pick roles and group orders that need the fewest copied bytes.
  struct Choice {
    bool swap = false;
    Groups g;
    bool left_ok = false, right_ok = false, c_ok = false;
    int64_t cost = -1;
  } best;
  const int64_t result_bytes = extent(result, size) * 4;
  for (int swap = 0; swap < 2; ++swap) {
    const Item& L = swap ? b : a;
    const Item& R = swap ? a : b;
    Groups g0 = classify(L.labels, R.labels, result);
    g0.batch = by_stride(g0.batch, target ? *target : L);
    g0.m = by_stride(g0.m, target ? *target : L);
    g0.n = by_stride(g0.n, target ? *target : R);
    const int64_t em = extent(g0.m, size), en = extent(g0.n, size), ek = extent(g0.k, size);
    for (int korder = 0; korder < 2; ++korder) {
      Groups g = g0;
      g.k = by_stride(g.k, korder == 0 ? L : R);
      Choice c{bool(swap), g};
      c.left_ok = as_matrix(em, ek, merged_stride(L, g.m, size), merged_stride(L, g.k, size)).ok;
      c.right_ok = as_matrix(ek, en, merged_stride(R, g.k, size), merged_stride(R, g.n, size)).ok;
      if (target) {
        Mat mc = as_matrix(em, en, merged_stride(*target, g.m, size), merged_stride(*target, g.n, size));
        c.c_ok = mc.ok && !mc.trans;
      } else {
        c.c_ok = true;
      }
      c.cost = (c.left_ok ? 0 : int64_t(L.t.nbytes())) + (c.right_ok ? 0 : int64_t(R.t.nbytes())) +
               (c.c_ok ? 0 : result_bytes);
      if (best.cost < 0 || c.cost < best.cost) best = std::move(c);
      if (best.cost == 0) break;  // nothing to copy: no better choice exists
    }
    if (best.cost == 0) break;
  }

  const Groups& g = best.g;
  auto cat = [](std::vector<int> x, const std::vector<int>& y, const std::vector<int>& z) {
    x.insert(x.end(), y.begin(), y.end());
    x.insert(x.end(), z.begin(), z.end());
    return x;
  };
  Item l_copy, r_copy, c_fresh;
  const Item* lp = best.swap ? &b : &a;
  const Item* rp = best.swap ? &a : &b;
  if (!best.left_ok) lp = &(l_copy = relayout(*lp, cat(g.batch, g.m, g.k)));
  if (!best.right_ok) rp = &(r_copy = relayout(*rp, cat(g.batch, g.k, g.n)));
  const Item* cp = target && best.c_ok ? target : &(c_fresh = fresh(cat(g.batch, g.m, g.n), size));
  const Item& L = *lp;
  const Item& R = *rp;
  const Item& C = *cp;

  const int64_t em = extent(g.m, size), en = extent(g.n, size), ek = extent(g.k, size);
  Mat ml = as_matrix(em, ek, merged_stride(L, g.m, size), merged_stride(L, g.k, size));
  Mat mr = as_matrix(ek, en, merged_stride(R, g.k, size), merged_stride(R, g.n, size));
  Mat mc = as_matrix(em, en, merged_stride(C, g.m, size), merged_stride(C, g.n, size));
  TL_CHECK(ml.ok && mr.ok && mc.ok && !mc.trans, "GEMM operands after relayout");

  // Longest suffix of the batch labels that merges in L, R and C: sgemm_batched's batch; loop over the rest.
  // The batched outputs must not interleave (sgemm_batched writes them concurrently): an output whose batch
  // dim sits inside its matrix (e.g. "...->ib" with b the batch) is looped over instead.
  size_t t = 0;
  while (t < g.batch.size()) {
    std::vector<int> suf(g.batch.begin() + t, g.batch.end());
    const int64_t sc_suf = merged_stride(C, suf, size);
    if (merged_stride(L, suf, size) >= 0 && merged_stride(R, suf, size) >= 0 && sc_suf >= 0 &&
        (extent(suf, size) <= 1 || sc_suf >= (em - 1) * mc.ld + en))
      break;
    ++t;
  }
  const std::vector<int> outer(g.batch.begin(), g.batch.begin() + t), inner(g.batch.begin() + t, g.batch.end());
  const int64_t nb = extent(inner, size);
  const int64_t sl = merged_stride(L, inner, size), sr = merged_stride(R, inner, size), sc = merged_stride(C, inner, size);

  const float* pl = static_cast<const float*>(L.t.raw_data());
  const float* pr = static_cast<const float*>(R.t.raw_data());
  float* pc = static_cast<float*>(C.t.raw_data());
  std::vector<int64_t> idx(outer.size(), 0);
  int64_t ol = 0, orr = 0, oc = 0;
  while (true) {
    sgemm_batched(nb, ml.trans, mr.trans, em, en, ek, 1.0f, pl + ol, ml.ld, sl, pr + orr, mr.ld, sr, 0.0f, pc + oc,
                  mc.ld, sc);
    ++stats().gemm_calls;
    int d = int(outer.size()) - 1;
    for (; d >= 0; --d) {
      const int l = outer[d];
      ++idx[d];
      ol += L.stride(l);
      orr += R.stride(l);
      oc += C.stride(l);
      if (idx[d] < size[l]) break;
      ol -= idx[d] * L.stride(l);
      orr -= idx[d] * R.stride(l);
      oc -= idx[d] * C.stride(l);
      idx[d] = 0;
    }
    if (d < 0) break;
  }

  if (target && !best.c_ok) {  // drain the fresh result into the target layout
    loop_contract<float>({&C}, *target, size);
    stats().bytes_copied += int64_t(C.t.nbytes());
    return *target;
  }
  return C;
}

}  // namespace tl::einsum_detail
