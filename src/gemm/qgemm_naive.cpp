// The reference for tl::qgemm: each weight row dequantised to f32 by the shared scalar code (src/core/quant.cpp),
// products accumulated in double. Slow on purpose; kept forever for the tests.
#include <vector>

#include "gemm/qgemm_internal.h"
#include "tl/quant.h"

namespace tl {

void qgemm_naive(int64_t m, int64_t n, int64_t k, const float* x, int64_t ldx, const void* w, WeightFormat f,
                 float* y, int64_t ldy, bool accumulate) {
  const int64_t rb = qgemm_detail::check_qgemm_args("qgemm_naive", m, n, k, x, ldx, w, f, y, ldy);
  if (m == 0 || n == 0) return;
  std::vector<float> row(static_cast<size_t>(k));
  const auto* wb = static_cast<const uint8_t*>(w);
  for (int64_t j = 0; j < n; ++j) {
    dequantize_row(f, wb + j * rb, row.data(), k);
    for (int64_t i = 0; i < m; ++i) {
      double acc = accumulate ? double(y[i * ldy + j]) : 0.0;
      double s = 0.0;
      for (int64_t p = 0; p < k; ++p) s += double(x[i * ldx + p]) * double(row[size_t(p)]);
      y[i * ldy + j] = float(acc + s);
    }
  }
}

}  // namespace tl
