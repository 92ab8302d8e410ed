// Weight formats for linear layers kept in reduced precision or quantised: the matrix products read them
// directly (dequantising on the fly), so a model's weights stay as small in memory as in its file.
//
// Block formats use ggml's byte layouts exactly (so GGUF tensors map without conversion):
//   q8_0: 32 weights in 34 bytes: f16 scale d, 32 x int8 q           w = d * q
//   q4_0: 32 weights in 18 bytes: f16 d, 16 bytes of nibbles          w = d * (q - 8)
//   q4_1: 32 weights in 20 bytes: f16 d, f16 m, 16 bytes of nibbles   w = d * q + m
//   q4_k: 256 weights in 144 bytes, q6_k: 256 weights in 210 bytes (ggml's k-quants; dequantised exactly as
//         ggml does; quantize_weight does not produce them — they come from GGUF files).
// Nibble order as ggml: byte j of a 32-block holds element j (low nibble) and element j + 16 (high nibble).
//
// A weight W [n, k] (torch.nn.Linear's [out, in]) is stored as:
//   f32 / f16 / bf16: a tensor of that dtype, shape [n, k];
//   block formats:    a u8 tensor [n, weight_row_bytes(format, k)] (k a multiple of the block size).
//
//   Tensor q = tl::quantize_weight(w, tl::WeightFormat::q8_0);     // u8 [n, k / 32 * 34]
//   tl::qgemm(m, n, k, x, k, q.raw_data(), tl::WeightFormat::q8_0, y, n);  // y[m, n] = x[m, k] W^T
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tl/gemm.h"
#include "tl/tensor.h"

namespace tl {

enum class WeightFormat : uint8_t { f32, f16, bf16, q8_0, q4_0, q4_1, q4_k, q6_k };

// "f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q4_k", "q6_k".
const char* weight_format_name(WeightFormat f);
// Inverse of weight_format_name; throws ValueError naming the text and listing the valid names.
WeightFormat weight_format_from_name(std::string_view name);
// All formats, in enum order.
std::vector<WeightFormat> all_weight_formats();
// Elements per block along a row: 1 for f32/f16/bf16, 32 for q8_0/q4_0/q4_1, 256 for q4_k/q6_k.
int64_t weight_format_block(WeightFormat f);
// Storage dtype: f32, f16, bf16, or u8 for block formats.
DType weight_storage_dtype(WeightFormat f);
// Bytes of one stored row of k weights; throws ValueError when k is not a positive multiple of the block.
int64_t weight_row_bytes(WeightFormat f, int64_t k);
// Bytes of one block (for f32 / f16 / bf16 the "block" is one element: 4, 2, 2).
int64_t weight_block_bytes(WeightFormat f);
// Whether quantize_weight can produce the format (all but q4_k / q6_k).
bool can_quantize(WeightFormat f);

// One row of k weights (k a positive multiple of the block, checked: ValueError) into / out of format f, at
// dst / src holding weight_row_bytes(f, k) bytes (any alignment). Scalar and exact; the arithmetic every other
// path (quantize_weight, dequantize_weight, qgemm_naive, tl::io's GGUF reader) shares. Block formats reject
// NaN / inf inputs (ValueError naming the column): ggml's quantisers have no defined result for them.
void quantize_row(WeightFormat f, const float* x, void* dst, int64_t k);
void dequantize_row(WeightFormat f, const void* src, float* y, int64_t k);

// Stores w (f32 [n, k], any strides) in format f. Quantisation rounds exactly as the gguf Python package's
// reference quantisers (bf16/f16: round to nearest even, like torch). Throws ValueError / ShapeError naming
// the format, the expected and the actual for a non-2-D or non-f32 input or a k the format cannot hold.
Tensor quantize_weight(const Tensor& w, WeightFormat f);
// The stored weight back to f32 [n, k] (exactly ggml's dequantisation). Checks q's dtype and shape against f, k.
Tensor dequantize_weight(const Tensor& q, WeightFormat f, int64_t k);
// Checks that `q` is a valid stored weight of f with k columns per row (dtype and shape); throws ShapeError
// naming `what`, the expected and the actual otherwise. Returns n (the row count).
int64_t check_weight_storage(const Tensor& q, WeightFormat f, int64_t k, const std::string& what);

// y[m, n] = x[m, k] . W[n, k]^T (+ y when accumulate), W stored in format f as above with rows of
// weight_row_bytes(f, k) bytes one after another (no row padding), x rows ldx floats apart, y rows ldy apart.
// Multi-threaded (tl::num_threads); results do not depend on the thread count. m <= 4 reads W once,
// dequantising in registers; larger m dequantises panels into the blocked GEMM's packed layout and runs its
// micro-kernel; f32 weights go to tl::sgemm. Activations stay f32 (no activation quantisation). The decoded
// weights equal dequantize_row's exactly; only the f32 summation order differs from qgemm_naive (see
// docs/quantization.md). Throws ValueError for bad sizes / leading dimensions / null pointers. `ep` (optional)
// runs on every element of y once it is final (tl::GemmEpilogue): inside the blocked products' write-back,
// after the product on the other paths.
void qgemm(int64_t m, int64_t n, int64_t k, const float* x, int64_t ldx, const void* w, WeightFormat f, float* y,
           int64_t ldy, bool accumulate = false, const GemmEpilogue* ep = nullptr);
// Several weights of one format applied to the same x, their outputs side by side as if the weights were
// stacked: y[:, off_i : off_i + n_i] = x[m, k] . W_i[n_i, k]^T with off_i = n_0 + ... + n_{i-1} (a fused q/k/v
// or gate/up projection whose weights stay separate tensors). Each output equals qgemm's for that weight bit for
// bit (the same row kernels run on the same rows); for m <= 4 (decode) the rows of all the weights share one
// parallel region, so the group pays one fork/join and one unbalanced tail instead of one per weight.
struct QWeightRef {
  const void* w = nullptr;  // [n, weight_row_bytes(f, k)] bytes (f32/f16/bf16: [n, k] elements)
  int64_t n = 0;
};
void qgemm_group(int64_t m, int64_t k, const float* x, int64_t ldx, const QWeightRef* ws, int64_t count,
                 WeightFormat f, float* y, int64_t ldy);
// Activations of the decode path. f32 (default): as above. int8: qgemm with m <= kInt8MaxRows and q8_0 / q4_0
// weights rounds each row of x to blocks of 32 (scale d_x = max|x| / 127, integers round-half-even, llama.cpp's
// q8_0 activations with an f32 scale) and sums exact integer block dots scaled by d_w * d_x: faster (AVX2
// maddubs) at an extra rounding of x comparable to q8_0's own (docs/quantization.md has the accuracy). Rows
// holding a non-finite value, other formats and larger m stay on the f32 path. Process-wide, like the thread
// count: set it before running.
enum class ActivationPrecision { f32, int8 };
void set_activation_precision(ActivationPrecision p);
ActivationPrecision activation_precision();
inline constexpr int64_t kInt8MaxRows = 4;
// The int8 path alone: returns false (y untouched) when it does not apply (format, m > kInt8MaxRows, a
// non-finite x, no AVX2); ValueError for bad arguments as qgemm. Results do not depend on the thread count.
bool qgemm_int8(int64_t m, int64_t n, int64_t k, const float* x, int64_t ldx, const void* w, WeightFormat f,
                float* y, int64_t ldy, bool accumulate = false);
// Its reference: x rounded by the same code, integer block dots summed in double.
bool qgemm_int8_naive(int64_t m, int64_t n, int64_t k, const float* x, int64_t ldx, const void* w, WeightFormat f,
                      float* y, int64_t ldy, bool accumulate = false);
// Reference: each W row dequantised to f32, products accumulated in double. Kept forever for the tests.
void qgemm_naive(int64_t m, int64_t n, int64_t k, const float* x, int64_t ldx, const void* w, WeightFormat f,
                 float* y, int64_t ldy, bool accumulate = false);

}  // namespace tl
