// Sinusoidal absolute positions ("Attention Is All You Need", section 3.5).
#include <cmath>

#include "tl/error.h"
#include "tl/nn/position.h"

namespace tl::nn {

Tensor sinusoidal_table(int64_t n_positions, int64_t dim, int64_t offset, double base) {
  if (n_positions < 0) TL_THROW(ValueError, "[sinusoidal] n_positions must be >= 0, got ", n_positions);
  if (dim <= 0) TL_THROW(ValueError, "[sinusoidal] dim must be positive, got ", dim);
  if (offset < 0) TL_THROW(ValueError, "[sinusoidal] offset must be >= 0, got ", offset);
  if (!(base > 1.0)) TL_THROW(ValueError, "[sinusoidal] base must be > 1, got ", base);
  Tensor t = Tensor::empty({n_positions, dim});  // [n, dim]
  float* p = t.data<float>();
  for (int64_t i = 0; i < n_positions; ++i) {
    const double pos = double(offset + i);
    for (int64_t j = 0; j < dim; ++j) {
      // Columns 2i and 2i+1 share the frequency base^(-2i/dim).
      const double angle = pos / std::pow(base, double(j - j % 2) / double(dim));
      p[i * dim + j] = float(j % 2 == 0 ? std::sin(angle) : std::cos(angle));
    }
  }
  return t;
}

Value sinusoidal_positions(Graph& g, int64_t seq, int64_t dim, int64_t offset) {
  return g.constant(sinusoidal_table(seq, dim, offset));  // [seq, dim]
}

}  // namespace tl::nn
