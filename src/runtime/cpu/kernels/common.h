// Shared plumbing for the CPU kernels: argument checks with op-named messages, dtype conversion of strided
// runs into f32/f64/i64 scratch buffers, and the coalesced N-d walk that turns any set of same-shape strided
// views (broadcast views have stride 0) into inner runs.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tl/op_kinds.h"
#include "tl/tensor.h"

namespace tl::kernels::detail {

// Elements per parallel chunk for elementwise work: small tensors stay on one thread.
constexpr int64_t kGrain = 16384;
// Scratch block for converting a run (fits L1 with a few operands).
constexpr int64_t kBlock = 512;

// Throws unless `out` is defined, contiguous, of `shape` and `dtype`; messages name `op`.
void check_out(const char* op, const Tensor& out, const Shape& shape, DType dtype);
void check_defined(const char* op, const char* what, const Tensor& t);
// Axis in [-rank, rank) -> [0, rank); ShapeError naming op, axis and rank otherwise.
int norm_axis(const char* op, int axis, int rank);
bool is_int(DType t);  // i32, i64, bool or u8 (bool counts as integer 0/1 in arithmetic)

// Pointer to element `off` (in elements) of t's data.
inline const uint8_t* byte_ptr(const Tensor& t, int64_t off = 0) {
  return static_cast<const uint8_t*>(t.raw_data()) + off * int64_t(dtype_size(t.dtype()));
}
inline uint8_t* byte_ptr_mut(const Tensor& t, int64_t off = 0) {
  return static_cast<uint8_t*>(t.raw_data()) + off * int64_t(dtype_size(t.dtype()));
}

// n elements at p (dtype dt, element stride s, s may be 0 or negative) converted into dst.
void load_f32(const uint8_t* p, DType dt, int64_t s, float* dst, int64_t n);
void load_f64(const uint8_t* p, DType dt, int64_t s, double* dst, int64_t n);
void load_i64(const uint8_t* p, DType dt, int64_t s, int64_t* dst, int64_t n);
// Store n values into p (dtype dt, stride s). Float -> int casts: NaN -> 0, out of range saturates;
// i64 -> i32 wraps; anything -> bool is `!= 0` (NaN is true).
void store_f32(const float* src, uint8_t* p, DType dt, int64_t s, int64_t n);
// y = softmax(x) over n contiguous floats (y may alias x); all -inf -> zeros, any NaN -> NaN. In softmax.cpp,
// shared with the fused softmax.
void softmax_row(const float* x, float* y, int64_t n);
// y[i] = act(y[i] + b[i]) over n contiguous floats, in place, with bias_act's arithmetic (b null: act(y[i]);
// act none: y[i] + b[i]). act must be none or a bias activation (is_bias_activation). In fused.cpp.
void bias_act_inplace(std::optional<UnaryOp> act, const float* b, float* y, int64_t n);
void store_f64(const double* src, uint8_t* p, DType dt, int64_t s, int64_t n);
void store_i64(const int64_t* src, uint8_t* p, DType dt, int64_t s, int64_t n);

// A walk over `shape` for several operands, with dims of size 1 dropped and dims merged where every operand's
// layout allows; rank >= 1 afterwards.
struct Walk {
  Shape shape;
  std::vector<Shape> strides;  // [operand][dim]
  int64_t numel = 0;
};
Walk make_walk(const Shape& shape, const std::vector<Shape>& strides);

// Calls f(len, offs) for each inner run covering logical elements [begin, end); offs[k] is operand k's element
// offset at the run start; inner strides are w.strides[k].back().
template <class F>
void walk_runs(const Walk& w, int64_t begin, int64_t end, F&& f) {
  const int r = int(w.shape.size());
  const size_t nop = w.strides.size();
  std::vector<int64_t> idx(size_t(r), 0), offs(nop, 0);
  int64_t rem = begin;
  for (int d = r - 1; d >= 0; --d) {
    idx[size_t(d)] = rem % w.shape[size_t(d)];
    rem /= w.shape[size_t(d)];
  }
  for (size_t k = 0; k < nop; ++k)
    for (int d = 0; d < r; ++d) offs[k] += idx[size_t(d)] * w.strides[k][size_t(d)];
  int64_t pos = begin;
  const int64_t inner = w.shape.back();
  while (pos < end) {
    int64_t len = std::min(inner - idx[size_t(r - 1)], end - pos);
    f(len, std::span<const int64_t>(offs));
    pos += len;
    if (pos >= end) break;
    // Advance to the start of the next run.
    for (size_t k = 0; k < nop; ++k) offs[k] += len * w.strides[k][size_t(r - 1)];
    idx[size_t(r - 1)] += len;
    for (int d = r - 1; d > 0 && idx[size_t(d)] == w.shape[size_t(d)]; --d) {
      for (size_t k = 0; k < nop; ++k)
        offs[k] += w.strides[k][size_t(d - 1)] - w.shape[size_t(d)] * w.strides[k][size_t(d)];
      idx[size_t(d)] = 0;
      ++idx[size_t(d - 1)];
    }
  }
}

// Strides of t broadcast to `shape` (0 on broadcast dims); t's shape must already be known to fit.
Shape broadcast_strides(const Tensor& t, const Shape& shape);

// Copies src into dst (same shape, any strides and dtypes on both sides), in parallel.
void copy_strided(const Tensor& src, const Tensor& dst);

}  // namespace tl::kernels::detail
