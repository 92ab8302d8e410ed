// tl::qgemm_group: one x against several weights of one format, outputs side by side (include/tl/quant.h).
//
// Decode (m <= 4) is memory-bound and its products are small: SmolLM2's 576-wide layers read 0.4-3.5 MB per
// product, 7 products a layer. Run one at a time, each product forks the threads, splits its rows and waits for
// the slower thread at its end; `perf` showed the second thread idle for a quarter of the f32 decode, about half
// of it in those tails. Here the rows of all the weights form one list of 8-row units, cut into one run per
// thread inside one parallel region, so q/k/v (or gate/up) pay one fork and one tail.
// Each piece of a chunk is a plain tl::qgemm on a row range; tl::num_threads() is 1 inside the region, so those
// calls run inline and every output row is computed by the same kernel as an ungrouped qgemm would use.
// Larger m (prefill) runs one qgemm per weight: the blocked GEMM already splits each product well.
#include <algorithm>
#include <vector>

#include "gemm/gemm_internal.h"
#include "gemm/qgemm_internal.h"
#include "tl/error.h"
#include "tl/quant.h"
#include "tl/threading.h"

namespace tl {

namespace {

// 8-row units (threads never share a 32-byte piece of y), one contiguous run of units per thread: each thread
// streams one long stretch of the weights, as the int8 path splits (dynamic chunks cost quantised decode 5-15%
// in session 8; f32 measured the same within noise).
constexpr int64_t kUnitRows = 8;

struct Piece {
  int64_t weight, r0, r1;  // rows [r0, r1) of weight `weight`
};

}  // namespace

void qgemm_group(int64_t m, int64_t k, const float* x, int64_t ldx, const QWeightRef* ws, int64_t count,
                 WeightFormat f, float* y, int64_t ldy) {
  if (count < 0) TL_THROW(ValueError, "[qgemm_group] count = ", count, " must be >= 0");
  if (count > 0 && !ws) TL_THROW(ValueError, "[qgemm_group] null weight list with count = ", count);
  int64_t total = 0;
  for (int64_t i = 0; i < count; ++i) {
    if (ws[i].n < 0) TL_THROW(ValueError, "[qgemm_group] weight ", i, " has n = ", ws[i].n, ", expected >= 0");
    total += ws[i].n;
  }
  // Sizes and leading dimensions as qgemm checks them; each weight's pointer below (a zero-row one may be null).
  const int64_t rb = qgemm_detail::check_qgemm_args("qgemm_group", m, total, k, x, ldx, x, f, y, ldy);
  for (int64_t i = 0; i < count; ++i)
    if (m > 0 && ws[i].n > 0 && !ws[i].w) TL_THROW(ValueError, "[qgemm_group] weight ", i, " is a null pointer");
  if (m == 0 || total == 0) return;
  auto piece = [&](int64_t i, int64_t r0, int64_t r1, int64_t off) {  // rows [r0, r1) of weight i
    const auto* w = static_cast<const uint8_t*>(ws[i].w) + r0 * rb;
    qgemm(m, r1 - r0, k, x, ldx, w, f, y + off + r0, ldy);
  };
  std::vector<int64_t> offs(size_t(count) + 1, 0);  // weight i's first output column
  for (int64_t i = 0; i < count; ++i) offs[size_t(i) + 1] = offs[size_t(i)] + ws[i].n;
  const int nt = num_threads();
  if (m > 4 || nt <= 1 || double(m) * double(total) * double(k) < gemm_detail::gemv_parallel_work()) {
    for (int64_t i = 0; i < count; ++i)
      if (ws[i].n > 0) piece(i, 0, ws[i].n, offs[size_t(i)]);
    return;
  }
  std::vector<Piece> units;  // the rows of all weights, in output order, kUnitRows at a time
  for (int64_t i = 0; i < count; ++i)
    for (int64_t r = 0; r < ws[i].n; r += kUnitRows) units.push_back({i, r, std::min(ws[i].n, r + kUnitRows)});
  const int64_t nu = int64_t(units.size()), chunks = std::min<int64_t>(nu, nt);
#pragma omp parallel for num_threads(nt) schedule(static, 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t u0 = nu * c / chunks, u1 = nu * (c + 1) / chunks;
    // Consecutive units of one weight are one call.
    for (int64_t u = u0; u < u1;) {
      int64_t e = u + 1;
      while (e < u1 && units[size_t(e)].weight == units[size_t(u)].weight) ++e;
      const Piece& p = units[size_t(u)];
      piece(p.weight, p.r0, units[size_t(e - 1)].r1, offs[size_t(p.weight)]);
      u = e;
    }
  }
}

}  // namespace tl
