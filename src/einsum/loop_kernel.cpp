// The strided loop kernel: out[o] = sum over summed labels of prod_k op_k[o, s], for any number of operands and
// any strides. Runs every einsum step that is not a GEMM: unary reductions/diagonals/transposes, Hadamard and
// outer products, batched dot products, integer and boolean contractions, and the memory-budget fallback.
// Two loop shapes: dot-product style (a summed label innermost, 8 partial sums when contiguous) or rows style
// (the output's innermost label innermost, whole output rows accumulated, e.g. "ij->j"), whichever walks
// smaller strides. Parallel over output elements, or over the outermost summed label when the output is too
// small to split (partial sums combined in a fixed order, so results don't depend on scheduling).
#include <algorithm>
#include <numeric>

#include "einsum/einsum_internal.h"
#include "tl/threading.h"

namespace tl::einsum_detail {

int64_t Item::stride(int label) const {
  for (size_t d = 0; d < labels.size(); ++d)
    if (labels[d] == label) return t.strides()[d];
  return 0;
}

namespace {

// Semiring per compute type: floats accumulate in double, integers in wrapping uint64 (exact, no signed
// overflow UB), booleans are OR-of-ANDs (what Datalog rules compile to).
template <class T> struct Arith;
template <> struct Arith<float> {
  using Acc = double;
  static Acc zero() { return 0.0; }
  static Acc lift(float v) { return v; }
  static Acc mul(Acc a, float b) { return a * double(b); }
  static Acc add(Acc a, Acc b) { return a + b; }
  static float store(Acc a) { return float(a); }
};
template <> struct Arith<int64_t> {
  using Acc = uint64_t;
  static Acc zero() { return 0; }
  static Acc lift(int64_t v) { return uint64_t(v); }
  static Acc mul(Acc a, int64_t b) { return a * uint64_t(b); }
  static Acc add(Acc a, Acc b) { return a + b; }
  static int64_t store(Acc a) { return int64_t(a); }  // modular (C++20)
};
template <> struct Arith<uint8_t> {
  using Acc = uint8_t;
  static Acc zero() { return 0; }
  static Acc lift(uint8_t v) { return v != 0; }
  static Acc mul(Acc a, uint8_t b) { return a & (b != 0); }
  static Acc add(Acc a, Acc b) { return a | b; }
  static uint8_t store(Acc a) { return a; }
};

template <class T>
struct Loop {
  using A = Arith<T>;
  using Acc = typename A::Acc;
  int nops = 0, no = 0, ns = 0, nd = 0;
  std::vector<int64_t> sz;   // [nd]: output dims first, then summed dims
  std::vector<int64_t> st;   // [nops * nd]
  std::vector<int64_t> ost;  // [no]
  std::vector<const T*> base;
  T* obase = nullptr;

  int64_t s(int k, int d) const { return st[size_t(k) * nd + d]; }

  // Innermost run of n elements starting at cur[k] with per-operand stride of dim d.
  Acc tight(const int64_t* cur, int64_t n, int d) const {
    Acc acc = A::zero();
    if (nops <= 2 && s(0, d) == 1 && (nops == 1 || s(1, d) == 1)) {
      // Contiguous: 8 independent partial sums (vectorises; no reassociation flags needed).
      const T* p = base[0] + cur[0];
      const T* q = nops == 2 ? base[1] + cur[1] : nullptr;
      Acc lane[8];
      for (Acc& l : lane) l = A::zero();
      int64_t j = 0;
      if (nops == 1) {
        for (; j + 8 <= n; j += 8)
          for (int u = 0; u < 8; ++u) lane[u] = A::add(lane[u], A::lift(p[j + u]));
        for (; j < n; ++j) acc = A::add(acc, A::lift(p[j]));
      } else {
        for (; j + 8 <= n; j += 8)
          for (int u = 0; u < 8; ++u) lane[u] = A::add(lane[u], A::mul(A::lift(p[j + u]), q[j + u]));
        for (; j < n; ++j) acc = A::add(acc, A::mul(A::lift(p[j]), q[j]));
      }
      for (const Acc& l : lane) acc = A::add(acc, l);
      return acc;
    }
    if (nops == 1) {
      const T* p = base[0] + cur[0];
      const int64_t s0 = s(0, d);
      for (int64_t j = 0; j < n; ++j) acc = A::add(acc, A::lift(p[j * s0]));
    } else if (nops == 2) {
      const T* p = base[0] + cur[0];
      const T* q = base[1] + cur[1];
      const int64_t s0 = s(0, d), s1 = s(1, d);
      for (int64_t j = 0; j < n; ++j) acc = A::add(acc, A::mul(A::lift(p[j * s0]), q[j * s1]));
    } else {
      for (int64_t j = 0; j < n; ++j) {
        Acc prod = A::lift(base[0][cur[0] + j * s(0, d)]);
        for (int k = 1; k < nops; ++k) prod = A::mul(prod, base[k][cur[k] + j * s(k, d)]);
        acc = A::add(acc, prod);
      }
    }
    return acc;
  }

  // Sum over the summed dims, the outermost restricted to [sb, se), from operand offsets `off`.
  Acc reduce(const int64_t* off, int64_t sb, int64_t se, int64_t* cur, int64_t* sidx) const {
    const int first = no, last = nd - 1;
    for (int k = 0; k < nops; ++k) cur[k] = off[k] + sb * s(k, first);
    if (ns == 1) return tight(cur, se - sb, first);
    Acc acc = A::zero();
    std::fill(sidx, sidx + ns - 1, 0);
    while (true) {
      acc = A::add(acc, tight(cur, sz[last], last));
      if (!next_summed(ns - 1, se - sb, sidx, cur)) return acc;
    }
  }

  // Rows mode: the innermost output dim is the innermost loop and whole output rows are accumulated while
  // walking the summed dims (e.g. "ij->j": add rows of a, instead of walking its columns).
  bool rows = false;

  int outer_dims() const { return ns > 0 && !rows ? no : std::max(no - 1, 0); }

  // row[j] (+)= prod_k op_k[cur_k + j * stride_k(d)] for j < n.
  void accumulate_row(Acc* row, const int64_t* cur, int d, int64_t n) const {
    const T* p = base[0] + cur[0];
    const int64_t s0 = s(0, d);
    if (nops == 1) {
      if (s0 == 1)
        for (int64_t j = 0; j < n; ++j) row[j] = A::add(row[j], A::lift(p[j]));
      else
        for (int64_t j = 0; j < n; ++j) row[j] = A::add(row[j], A::lift(p[j * s0]));
      return;
    }
    if (nops == 2) {
      const T* q = base[1] + cur[1];
      const int64_t s1 = s(1, d);
      if (s0 == 1 && s1 == 1) {
        for (int64_t j = 0; j < n; ++j) row[j] = A::add(row[j], A::mul(A::lift(p[j]), q[j]));
      } else if (s0 == 0 && s1 == 1) {
        const Acc v = A::lift(p[0]);
        for (int64_t j = 0; j < n; ++j) row[j] = A::add(row[j], A::mul(v, q[j]));
      } else if (s0 == 1 && s1 == 0) {
        const T v = q[0];
        for (int64_t j = 0; j < n; ++j) row[j] = A::add(row[j], A::mul(A::lift(p[j]), v));
      } else {
        for (int64_t j = 0; j < n; ++j) row[j] = A::add(row[j], A::mul(A::lift(p[j * s0]), q[j * s1]));
      }
      return;
    }
    for (int64_t j = 0; j < n; ++j) {
      Acc prod = A::lift(p[j * s0]);
      for (int k = 1; k < nops; ++k) prod = A::mul(prod, base[k][cur[k] + j * s(k, d)]);
      row[j] = A::add(row[j], prod);
    }
  }

  // Steps the first `count` summed dims (dim no + d; the first one spans `span0`, a slice of it) like an
  // odometer, keeping the operand offsets in `cur` in step. False once every position has been visited.
  bool next_summed(int count, int64_t span0, int64_t* sidx, int64_t* cur) const {
    for (int d = count - 1; d >= 0; --d) {
      const int dim = no + d;
      const int64_t lim = d == 0 ? span0 : sz[dim];
      ++sidx[d];
      for (int k = 0; k < nops; ++k) cur[k] += s(k, dim);
      if (sidx[d] < lim) return true;
      for (int k = 0; k < nops; ++k) cur[k] -= sidx[d] * s(k, dim);
      sidx[d] = 0;
    }
    return false;
  }

  // Positions the operand offsets and the output offset at outer (output) element `o` of `nod` outer dims.
  void seek_outer(int64_t o, int nod, int64_t* idx, int64_t* off, int64_t& ooff) const {
    for (int d = nod - 1; d >= 0; --d) {
      idx[d] = o % sz[d];
      o /= sz[d];
    }
    for (int d = 0; d < nod; ++d) {
      for (int k = 0; k < nops; ++k) off[k] += idx[d] * s(k, d);
      ooff += idx[d] * ost[d];
    }
  }
  // Steps to the next outer element (row-major odometer), keeping the offsets in step.
  void next_outer(int nod, int64_t* idx, int64_t* off, int64_t& ooff) const {
    for (int d = nod - 1; d >= 0; --d) {
      ++idx[d];
      for (int k = 0; k < nops; ++k) off[k] += s(k, d);
      ooff += ost[d];
      if (idx[d] < sz[d]) return;
      for (int k = 0; k < nops; ++k) off[k] -= idx[d] * s(k, d);
      ooff -= idx[d] * ost[d];
      idx[d] = 0;
    }
  }

  void run_rows(int64_t ob, int64_t oe, int64_t sb, int64_t se, Acc* partial) const {
    const int nod = no - 1, d_out = no - 1;
    const int64_t n = sz[d_out], os = ost[d_out];
    std::vector<Acc> row(static_cast<size_t>(n));
    std::vector<int64_t> idx(nod), off(nops), cur(nops), sidx(ns);
    int64_t ooff = 0;
    seek_outer(ob, nod, idx.data(), off.data(), ooff);
    for (int64_t o = ob; o < oe; ++o) {
      std::fill(row.begin(), row.end(), A::zero());
      for (int k = 0; k < nops; ++k) cur[k] = off[k] + sb * s(k, no);
      std::fill(sidx.begin(), sidx.end(), 0);
      while (true) {
        accumulate_row(row.data(), cur.data(), d_out, n);
        if (!next_summed(ns, se - sb, sidx.data(), cur.data())) break;
      }
      if (partial) std::copy(row.begin(), row.end(), partial + (o - ob) * n);
      else
        for (int64_t j = 0; j < n; ++j) obase[ooff + j * os] = A::store(row[size_t(j)]);
      next_outer(nod, idx.data(), off.data(), ooff);
    }
  }

  // Outer (output) elements [ob, oe); with `partial`, sums go there (indexed o - ob) instead of to out.
  void run(int64_t ob, int64_t oe, int64_t sb, int64_t se, Acc* partial) const {
    if (rows) return run_rows(ob, oe, sb, se, partial);
    const int nod = outer_dims();
    std::vector<int64_t> idx(nod), off(nops), cur(nops), sidx(std::max(ns, 1));
    int64_t ooff = 0;
    seek_outer(ob, nod, idx.data(), off.data(), ooff);
    for (int64_t o = ob; o < oe; ++o) {
      if (ns > 0) {
        Acc acc = reduce(off.data(), sb, se, cur.data(), sidx.data());
        if (partial) partial[o - ob] = acc;
        else obase[ooff] = A::store(acc);
      } else if (no > 0 && nops <= 2 && s(0, no - 1) == 1 && ost[no - 1] == 1 && (nops == 1 || s(1, no - 1) == 1)) {
        const int64_t n = sz[no - 1];  // contiguous copy / elementwise product
        const T* p = base[0] + off[0];
        T* w = obase + ooff;
        if (nops == 1)
          for (int64_t j = 0; j < n; ++j) w[j] = A::store(A::lift(p[j]));
        else
          for (int64_t j = 0; j < n; ++j) w[j] = A::store(A::mul(A::lift(p[j]), base[1][off[1] + j]));
      } else {  // no summation: a tight loop over the innermost output dim
        const int d = no - 1;
        const int64_t n = no > 0 ? sz[d] : 1, os = no > 0 ? ost[d] : 0;
        for (int64_t j = 0; j < n; ++j) {
          const int64_t jj = no > 0 ? j : 0;
          Acc prod = A::lift(base[0][off[0] + jj * (no > 0 ? s(0, d) : 0)]);
          for (int k = 1; k < nops; ++k) prod = A::mul(prod, base[k][off[k] + jj * (no > 0 ? s(k, d) : 0)]);
          obase[ooff + j * os] = A::store(prod);
        }
      }
      next_outer(nod, idx.data(), off.data(), ooff);
    }
  }

  int64_t out_offset(int64_t o) const {
    int64_t off = 0;
    for (int d = outer_dims() - 1; d >= 0; --d) {
      off += (o % sz[d]) * ost[d];
      o /= sz[d];
    }
    return off;
  }
};

}  // namespace

template <class T>
void loop_contract(const std::vector<const Item*>& ops, const Item& out, const std::vector<int64_t>& size) {
  Loop<T> L;
  L.nops = int(ops.size());
  TL_CHECK(L.nops >= 1);
  // Output dims ordered by output stride (innermost last); summed dims by the operands' strides.
  std::vector<int> dims = out.labels;
  std::stable_sort(dims.begin(), dims.end(), [&](int x, int y) { return out.stride(x) > out.stride(y); });
  std::vector<int> sum;
  for (const Item* it : ops)
    for (int l : it->labels)
      if (std::find(dims.begin(), dims.end(), l) == dims.end() && std::find(sum.begin(), sum.end(), l) == sum.end())
        sum.push_back(l);
  auto total_stride = [&](int l) {
    int64_t t = 0;
    for (const Item* it : ops) t += it->stride(l);
    return t;
  };
  std::stable_sort(sum.begin(), sum.end(), [&](int x, int y) { return total_stride(x) > total_stride(y); });
  L.no = int(dims.size());
  L.ns = int(sum.size());
  dims.insert(dims.end(), sum.begin(), sum.end());
  L.nd = int(dims.size());
  L.sz.resize(L.nd);
  L.st.resize(size_t(L.nops) * L.nd);
  L.ost.resize(L.no);
  for (int d = 0; d < L.nd; ++d) {
    L.sz[d] = size[dims[d]];
    TL_CHECK(L.sz[d] > 0, "zero-size dims are handled before the kernel");
    for (int k = 0; k < L.nops; ++k) L.st[size_t(k) * L.nd + d] = ops[k]->stride(dims[d]);
    if (d < L.no) L.ost[d] = out.stride(dims[d]);
  }
  for (const Item* it : ops) L.base.push_back(static_cast<const T*>(it->t.raw_data()));
  L.obase = static_cast<T*>(out.t.raw_data());

  if (L.ns > 0 && L.no > 0) {  // rows mode when the output's innermost dim is the cheaper one to walk
    auto key = [&](int d) {
      int64_t t = 0;
      for (int k = 0; k < L.nops; ++k) t += L.s(k, d);
      return t;
    };
    L.rows = key(L.no - 1) < key(L.nd - 1);
  }
  const int nod = L.outer_dims();
  int64_t n_outer = 1, inner = 1;
  for (int d = 0; d < L.nd; ++d) (d < nod ? n_outer : inner) *= L.sz[d];
  const int nt = num_threads();
  const bool split_sum = L.ns > 0 && n_outer < 2 * nt && nt > 1 && L.sz[L.no] >= 2 && n_outer * inner >= (1 << 15);
  if (!split_sum) {
    const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 14) / inner);
    const int64_t s0 = L.ns > 0 ? L.sz[L.no] : 0;
    parallel_for(n_outer, grain, [&](int64_t b, int64_t e) { L.run(b, e, 0, s0, nullptr); });
    return;
  }
  // Few outputs, long sums: split the outermost summed dim into chunks, then combine the partial sums.
  using Acc = typename Loop<T>::Acc;
  const int64_t s0 = L.sz[L.no];
  const int64_t chunks = std::min<int64_t>(nt, s0);
  const int64_t row = L.rows ? L.sz[L.no - 1] : 1;  // partial sums per outer element
  const int64_t per_chunk = n_outer * row;
  std::vector<Acc> partial(size_t(chunks * per_chunk));
  parallel_for(chunks, 1, [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c)
      L.run(0, n_outer, s0 * c / chunks, s0 * (c + 1) / chunks, partial.data() + c * per_chunk);
  });
  const int64_t os = L.rows ? L.ost[L.no - 1] : 0;
  for (int64_t o = 0; o < n_outer; ++o)
    for (int64_t j = 0; j < row; ++j) {
      Acc acc = partial[size_t(o * row + j)];
      for (int64_t c = 1; c < chunks; ++c) acc = Arith<T>::add(acc, partial[size_t(c * per_chunk + o * row + j)]);
      L.obase[L.out_offset(o) + j * os] = Arith<T>::store(acc);
    }
}

template void loop_contract<float>(const std::vector<const Item*>&, const Item&, const std::vector<int64_t>&);
template void loop_contract<int64_t>(const std::vector<const Item*>&, const Item&, const std::vector<int64_t>&);
template void loop_contract<uint8_t>(const std::vector<const Item*>&, const Item&, const std::vector<int64_t>&);

}  // namespace tl::einsum_detail
