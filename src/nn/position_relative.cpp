// T5 relative position bias: bucketed (memory - query) distances index a learned [num_buckets, n_heads] table.
#include <cmath>

#include "tl/error.h"
#include "tl/nn/common.h"
#include "tl/nn/position.h"

namespace tl::nn {

void RelativeBiasConfig::validate() const {
  if (n_heads <= 0) TL_THROW(ValueError, "[relative_bias] n_heads must be positive, got ", n_heads);
  const int64_t one_side = bidirectional ? num_buckets / 2 : num_buckets;
  if (num_buckets < 4 || (bidirectional && num_buckets % 2 != 0))
    TL_THROW(ValueError, "[relative_bias] num_buckets must be >= 4", bidirectional ? " and even (bidirectional)" : "",
             ", got ", num_buckets);
  if (max_distance <= one_side / 2)
    TL_THROW(ValueError, "[relative_bias] max_distance must exceed the exact-bucket count ", one_side / 2, ", got ",
             max_distance);
}

int64_t t5_relative_bucket(int64_t relative_position, bool bidirectional, int64_t num_buckets,
                           int64_t max_distance) {
  // Guards the log-bucket arithmetic below (max_exact > 0, max_distance > max_exact).
  RelativeBiasConfig{}.set_n_heads(1).set_num_buckets(num_buckets).set_max_distance(max_distance)
      .set_bidirectional(bidirectional).validate();
  int64_t bucket = 0;
  int64_t n = relative_position;
  if (bidirectional) {
    num_buckets /= 2;
    if (n > 0) bucket += num_buckets;
    n = n < 0 ? -n : n;
  } else {
    n = n < 0 ? -n : 0;  // -min(n, 0): only attending backwards is distinguished
  }
  const int64_t max_exact = num_buckets / 2;
  if (n < max_exact) return bucket + n;
  // HF computes this in float32: log(n / max_exact) / log(max_distance / max_exact) * (num_buckets - max_exact),
  // the Python-float factors rounded to f32, then truncated; mirror each rounding so boundary cases agree.
  const float ratio = float(n) / float(max_exact);
  float v = std::log(ratio);
  v = v / float(std::log(double(max_distance) / double(max_exact)));
  v = v * float(num_buckets - max_exact);
  int64_t large = max_exact + int64_t(v);
  if (large > num_buckets - 1) large = num_buckets - 1;
  return bucket + large;
}

Tensor t5_relative_buckets(int64_t q_len, int64_t k_len, const RelativeBiasConfig& c, int64_t q_offset) {
  c.validate();
  if (q_len <= 0 || k_len <= 0 || q_offset < 0)
    TL_THROW(ValueError, "[relative_bias] q_len and k_len must be positive and q_offset >= 0, got q_len = ", q_len,
             ", k_len = ", k_len, ", q_offset = ", q_offset);
  Tensor t = Tensor::empty({q_len, k_len}, DType::i64);  // [q, k]
  int64_t* p = t.data<int64_t>();
  for (int64_t i = 0; i < q_len; ++i)
    for (int64_t j = 0; j < k_len; ++j)
      p[i * k_len + j] = t5_relative_bucket(j - (i + q_offset), c.bidirectional, c.num_buckets, c.max_distance);
  return t;
}

Value t5_relative_bias(Graph& g, const std::string& prefix, const RelativeBiasConfig& c, int64_t q_len,
                       int64_t k_len, int64_t q_offset) {
  Tensor buckets = t5_relative_buckets(q_len, k_len, c, q_offset);              // [q, k]
  Value table = g.param(join_name(prefix, "weight"), {c.num_buckets, c.n_heads});  // [buckets, h]
  Value vals = g.gather(table, g.constant(buckets), 0);                          // [q, k, h]
  Value bias = g.transpose(vals, {2, 0, 1});                                     // [h, q, k]
  return g.reshape(bias, {1, c.n_heads, q_len, k_len});                          // [1, h, q, k]
}

}  // namespace tl::nn
