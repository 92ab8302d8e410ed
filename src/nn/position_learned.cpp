// Learned absolute position embeddings: a table param sliced (static positions) or gathered (position ids).
#include "tl/error.h"
#include "tl/nn/common.h"
#include "tl/nn/position.h"

namespace tl::nn {

namespace {
Value table_param(Graph& g, const std::string& prefix, int64_t max_positions, int64_t dim) {
  if (max_positions <= 0) TL_THROW(ValueError, "[learned_positions] max_positions must be positive, got ", max_positions);
  if (dim <= 0) TL_THROW(ValueError, "[learned_positions] dim must be positive, got ", dim);
  return g.param(join_name(prefix, "weight"), {max_positions, dim});  // [max_positions, dim]
}
}  // namespace

Value learned_positions(Graph& g, const std::string& prefix, int64_t max_positions, int64_t dim, int64_t seq,
                        int64_t offset) {
  if (seq <= 0 || offset < 0 || offset + seq > max_positions)
    TL_THROW(ValueError, "[learned_positions] ", prefix, ": positions [", offset, ", ", offset + seq,
             ") must lie in [0, max_positions = ", max_positions, ") and be non-empty");
  Value table = table_param(g, prefix, max_positions, dim);  // [max_positions, dim]
  return g.slice(table, 0, offset, offset + seq);            // [seq, dim]
}

Value learned_positions_at(Graph& g, const std::string& prefix, int64_t max_positions, int64_t dim,
                           Value position_ids) {
  DType dt = g.dtype(position_ids);
  if (dt != DType::i32 && dt != DType::i64)
    TL_THROW(ValueError, "[learned_positions] ", prefix, ": position ids must be i32 or i64, got ", dtype_name(dt));
  Value table = table_param(g, prefix, max_positions, dim);  // [max_positions, dim]
  return g.gather(table, position_ids, 0);                   // [..., dim]
}

}  // namespace tl::nn
