// CPU kernels on tensors, independent of the graph IR. Each kernel has an `_into` form that writes a
// preallocated contiguous output (the executor's memory plan owns the buffers) and a convenience form that
// allocates. Inputs may be any strided view (transposed, sliced, broadcast). Float kernels compute in f32;
// f16/bf16 inputs are converted on load. Every kernel has a naive reference in tl::ref (double precision).
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "tl/op_kinds.h"
#include "tl/quant.h"  // WeightFormat (linear)
#include "tl/tensor.h"

namespace tl::kernels {

// Output dtype rules: unary float ops -> f32 (logical_not -> bool); arithmetic binary ops on floats -> f32,
// on ints -> i64 (i32 op i32 -> i32); comparisons and logical ops -> bool.
DType unary_dtype(UnaryOp op, DType in);
DType binary_dtype(BinaryOp op, DType a, DType b);
// where: f32 if a or b is a float type; bool if both are bool; else i64 if either is i64, else i32.
DType where_dtype(DType a, DType b);
// Reductions: float inputs -> f32; integer/bool inputs: sum/prod -> i64, max/min keep the input dtype,
// mean/logsumexp -> f32.
DType reduce_dtype(ReduceOp op, DType in);

// y = op(x)
void unary_into(UnaryOp op, const Tensor& x, const Tensor& out);
Tensor unary(UnaryOp op, const Tensor& x);

// y = op(a, b) with NumPy broadcasting; out has the broadcast shape.
void binary_into(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out);
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);

// y = cond ? a : b (cond is bool, or nonzero numbers), broadcasting all three.
void where_into(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// Reduction over `axes` (negative allowed, empty = all axes). logsumexp is computed stably (max-shifted).
Shape reduce_shape(const Shape& in, const std::vector<int>& axes, bool keepdims);
void reduce_into(ReduceOp op, const Tensor& x, const std::vector<int>& axes, bool keepdims, const Tensor& out);
Tensor reduce(ReduceOp op, const Tensor& x, const std::vector<int>& axes, bool keepdims);

// softmax along `axis`, optionally adding `mask` (broadcast to x's shape, additive, -inf allowed) first.
// A row whose entries are all -inf gives all zeros (documented choice, never NaN).
void softmax_into(const Tensor& x, int axis, const std::optional<Tensor>& mask, const Tensor& out);
Tensor softmax(const Tensor& x, int axis, const std::optional<Tensor>& mask = std::nullopt);

// Normalisation over the last `norm_dims` dims. gamma/beta (shape = those dims) are optional.
// layer_norm: (x - mean) / sqrt(var + eps) * gamma + beta, biased variance as PyTorch does.
void layer_norm_into(const Tensor& x, const std::optional<Tensor>& gamma, const std::optional<Tensor>& beta,
                     int norm_dims, float eps, const Tensor& out);
Tensor layer_norm(const Tensor& x, const std::optional<Tensor>& gamma, const std::optional<Tensor>& beta,
                  int norm_dims, float eps);
// rms_norm: x / sqrt(mean(x^2) + eps) * gamma.
void rms_norm_into(const Tensor& x, const std::optional<Tensor>& gamma, int norm_dims, float eps, const Tensor& out);
Tensor rms_norm(const Tensor& x, const std::optional<Tensor>& gamma, int norm_dims, float eps);

// Layout ops (copies into `out`; shapes as NumPy defines them).
void copy_into(const Tensor& x, const Tensor& out);  // any view -> contiguous out of the same shape (and dtype cast)
// Any view -> any view of the same shape (e.g. a slice of a KV cache), with the dtype cast. out may overlap x
// (x is read as it was); a broadcast out (two elements in one place) is a ValueError.
void copy_to_view(const Tensor& x, const Tensor& out);
void concat_into(const std::vector<Tensor>& xs, int axis, const Tensor& out);
Tensor concat(const std::vector<Tensor>& xs, int axis);
// numpy.take(x, indices, axis): out shape = x.shape[:axis] + indices.shape + x.shape[axis+1:]. Indices i32/i64;
// an index outside [-n, n) throws ValueError naming the index and n.
void gather_into(const Tensor& x, const Tensor& indices, int axis, const Tensor& out);
Tensor gather(const Tensor& x, const Tensor& indices, int axis);
// numpy.repeat(x, repeats, axis) with a scalar repeat count.
void repeat_into(const Tensor& x, int64_t repeats, int axis, const Tensor& out);
Tensor repeat(const Tensor& x, int64_t repeats, int axis);

// Fused elementwise kernels (one pass over the data, parallel over rows; src/runtime/cpu/kernels/fused.cpp).
// Activations bias_act accepts: relu, gelu_erf, gelu_tanh, silu, sigmoid, tanh (or none).
bool is_bias_activation(UnaryOp op);
// y = act(x + b): x float of rank >= 1, b float of shape [last] or [1,..,1,last] (rank <= x's); out f32.
void bias_act_into(const Tensor& x, const Tensor& b, std::optional<UnaryOp> act, const Tensor& out);
Tensor bias_act(const Tensor& x, const Tensor& b, std::optional<UnaryOp> act);
// y = softmax(x * scale + mask) over the last axis; mask (optional) broadcasts to x; fully masked rows -> 0.
void scaled_masked_softmax_into(const Tensor& x, float scale, const std::optional<Tensor>& mask, const Tensor& out);
Tensor scaled_masked_softmax(const Tensor& x, float scale, const std::optional<Tensor>& mask = std::nullopt);

}  // namespace tl::kernels

namespace tl {
// ---- Attention (src/runtime/cpu/kernels/attention*.cpp; semantics in include/tl/nn/attention.h) ----
// Sparse patterns over query positions p_i = sk - sq + i and key positions j; they AND with causal and window.
enum class AttentionPattern : uint8_t {
  none,
  strided,       // |p_i - j| < span, or (p_i - j) % span == 0 (Sparse Transformer "strided")
  local,         // block-local: p_i / span == j / span
  block_sparse,  // layout[p_i / block_q][j / block_k] != 0
  global_local,  // j < n_global or p_i < n_global, or |p_i - j| < span
};
struct AttentionSparse {
  AttentionPattern pattern = AttentionPattern::none;
  int64_t span = 0;
  int64_t n_global = 0;
  int64_t block_q = 0, block_k = 0;  // block_sparse: the layout's block sizes
  std::vector<uint8_t> layout;       // block_sparse: [ceil(sk/block_q), ceil(sk/block_k)] row-major, 0/1
  bool operator==(const AttentionSparse&) const = default;
};
struct AttentionSpec {
  float scale = 1.0f;
  bool causal = false;
  int64_t window = 0;  // 0: none; else visible iff p_i - j < window (and j - p_i < window when not causal)
  AttentionSparse sparse;
  int64_t tile_q = 0, tile_k = 0;  // flash tile sizes; 0 picks the default (64 x 64)
};
// Throws ValueError naming the field when spec is inconsistent for key length sk (span <= 0 for a pattern that
// needs it, layout of the wrong size, ...).
void check_attention_spec(const AttentionSpec& spec, int64_t sk, const char* op);
// Whether query position p may see key j (keys 0..sk-1) under causal/window/sparse (the bias is separate).
bool attention_visible(const AttentionSpec& spec, int64_t sk, int64_t p, int64_t j);
}  // namespace tl

namespace tl::kernels {
// out[b,h,i,:] = softmax_j(scale * q[b,h,i,:].k[b,h/g,j,:] + bias[b,h,i,j] + mask(p_i, j)) v[b,h/g,j,:]
// q [b,h,sq,d], k [b,hkv,sk,d], v [b,hkv,sk,dv] (float, any strides), bias broadcastable to [b,h,sq,sk];
// out [b,h,sq,dv] f32. Flash attention: tiles of tile_q queries x tile_k keys, online softmax, O(tile) extra
// memory per thread; tiles that causal/window/sparse hide entirely are skipped. Fully hidden rows -> zeros.
// `past` (KV-cache decoding): keys/values cached before k/v, read where they lie: the keys are
// concat(past->k, k) on the sequence axis (sk = sp + sk_new) without that copy.
struct AttentionPast {
  Tensor k, v;  // [b, hkv, sp, d], [b, hkv, sp, dv] (float; rows need not be adjacent, e.g. views of a cache)
};
void attention_into(const Tensor& q, const Tensor& k, const Tensor& v, const std::optional<Tensor>& bias,
                    const AttentionSpec& spec, const Tensor& out, const AttentionPast* past = nullptr);
Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, const std::optional<Tensor>& bias,
                 const AttentionSpec& spec, const AttentionPast* past = nullptr);
// The key and value shapes with `past` in front ([b, hkv, sp + sk, ...]); ShapeError naming the past operand
// when it does not match k / v.
std::pair<Shape, Shape> attention_kv_shapes(const Shape& k, const Shape& v, const Shape& past_k,
                                            const Shape& past_v, const char* op = "attention");
// Checks shapes (ShapeError naming the operand) and returns the output shape [b, h, sq, dv].
// sq > sk is refused when `spec` is null or masks by position (causal, window, sparse: query i sits at position
// sk - sq + i); unmasked attention (e.g. cross-attention with a longer decoder than encoder) allows it.
Shape attention_shape(const Shape& q, const Shape& k, const Shape& v, const std::optional<Shape>& bias,
                      const char* op = "attention", const AttentionSpec* spec = nullptr);
// How many (query tile, key tile) pairs the kernel computes / skips (for tests and the benchmark).
std::pair<int64_t, int64_t> attention_tile_counts(int64_t sq, int64_t sk, const AttentionSpec& spec);
}  // namespace tl::kernels

namespace tl::ref {
// Naive references (double precision, simple loops over for_each_index). Same semantics as tl::kernels.
Tensor unary(UnaryOp op, const Tensor& x);
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor reduce(ReduceOp op, const Tensor& x, const std::vector<int>& axes, bool keepdims);
Tensor softmax(const Tensor& x, int axis, const std::optional<Tensor>& mask);
Tensor layer_norm(const Tensor& x, const std::optional<Tensor>& gamma, const std::optional<Tensor>& beta,
                  int norm_dims, float eps);
Tensor rms_norm(const Tensor& x, const std::optional<Tensor>& gamma, int norm_dims, float eps);
Tensor bias_act(const Tensor& x, const Tensor& b, std::optional<UnaryOp> act);
Tensor scaled_masked_softmax(const Tensor& x, float scale, const std::optional<Tensor>& mask);
// Dense attention in double: every score computed, the mask applied per element (src/runtime/cpu/ref/).
// With `past`, the keys/values are concatenated first.
Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, const std::optional<Tensor>& bias,
                 const AttentionSpec& spec, const kernels::AttentionPast* past = nullptr);
}  // namespace tl::ref

namespace tl {
// ---- Mixture of experts (src/runtime/cpu/kernels/moe.cpp; semantics in include/tl/nn/moe.h) ----
enum class MoeRouting : uint8_t {
  top_k,          // softmax over experts, top-k per token, weights renormalised to sum 1 (Mixtral) or not
  switch_top1,    // top-1 with capacity ceil(cf * T / E); tokens over capacity get 0 (the residual carries them)
  expert_choice,  // each expert takes its top-C tokens by router probability, C = ceil(cf * T / E)
  dense,          // every expert on every token, weighted by the router probability
};
struct MoeParams {
  MoeRouting routing = MoeRouting::top_k;
  int64_t top_k = 2;
  bool normalize = true;         // top_k: renormalise the k weights
  float capacity_factor = 1.0f;  // switch_top1, expert_choice
  UnaryOp act = UnaryOp::silu;   // expert activation: silu, gelu_erf, gelu_tanh or relu
  bool gated = true;             // expert = w2(act(w1 x) * w3 x); else w2(act(w1 x))
  bool operator==(const MoeParams& o) const;  // capacity_factor compared bitwise
};
std::string_view moe_routing_name(MoeRouting r);
std::optional<MoeRouting> moe_routing_from_name(std::string_view name);
// Tokens per expert for switch_top1 / expert_choice: clamp(ceil(cf * tokens / experts), 1, tokens).
int64_t moe_capacity(const MoeParams& p, int64_t tokens, int64_t experts);
}  // namespace tl

namespace tl::kernels {
// y[t] = sum over the experts e routed token t of w[t,e] * expert_e(x[t]); x [..., d] float, router [E, d],
// experts: per expert w1 [f, d], (w3 [f, d] if gated), w2 [d, f]; out [..., d] f32. Each expert's tokens are
// gathered and its three products run through tl::sgemm on those rows only.
void moe_into(const Tensor& x, const Tensor& router, std::span<const Tensor> experts, const MoeParams& p,
              const Tensor& out);
Tensor moe(const Tensor& x, const Tensor& router, std::span<const Tensor> experts, const MoeParams& p);
// Checks params and shapes (ValueError / ShapeError naming the input) and returns the output shape (= x's).
Shape moe_shape(const Shape& x, const Shape& router, std::span<const Shape> experts, const MoeParams& p,
                const char* op = "moe");
}  // namespace tl::kernels

namespace tl::ref {
// The MoE in double: routing from double router probabilities, every routed (token, expert) pair computed
// with plain loops.
Tensor moe(const Tensor& x, const Tensor& router, std::span<const Tensor> experts, const MoeParams& p);
}  // namespace tl::ref

namespace tl::kernels {
// ---- Typed linear layer (src/runtime/cpu/kernels/linear.cpp; formats in include/tl/quant.h) ----
// y [..., n] = act(x [..., k] . W^T (+ bias [n])); x f32 (any strides), W stored in `format` (f32/f16/bf16 [n, k]
// or u8 [n, weight_row_bytes(format, k)], contiguous), bias float [n], act none or a bias activation
// (is_bias_activation); out f32. Runs tl::qgemm with the bias and activation as its epilogue (applied to each
// block of y while it is in cache, with bias_act's arithmetic).
void linear_into(const Tensor& x, const Tensor& w, const std::optional<Tensor>& bias, WeightFormat format,
                 int64_t in_features, const Tensor& out, std::optional<UnaryOp> act = std::nullopt);
Tensor linear(const Tensor& x, const Tensor& w, const std::optional<Tensor>& bias, WeightFormat format,
              int64_t in_features, std::optional<UnaryOp> act = std::nullopt);
// Checks dtypes and shapes (ShapeError / ValueError naming the input, the format, the expected and the actual)
// and returns the output shape [..., n].
Shape linear_shape(DType x_dtype, const Shape& x, DType w_dtype, const Shape& w, const Shape* bias,
                   DType bias_dtype, WeightFormat format, int64_t in_features, const char* op = "linear",
                   int w_input = 1);
// Grouped linear layer: y [..., n_0 + n_1 + ...] = x [..., k] . [W_0; W_1; ...]^T, every W_i stored in `format`
// as for linear_into, kept as separate tensors (a fused q/k/v or gate/up projection). Runs tl::qgemm_group:
// each output column equals linear_into's for its weight bit for bit.
void linear_group_into(const Tensor& x, std::span<const Tensor> ws, WeightFormat format, int64_t in_features,
                       const Tensor& out);
Tensor linear_group(const Tensor& x, std::span<const Tensor> ws, WeightFormat format, int64_t in_features);
// Checks x and every weight as linear_shape does (weight i is input i + 1) and returns [..., sum of n_i].
Shape linear_group_shape(DType x_dtype, const Shape& x, std::span<const DType> w_dtypes, std::span<const Shape> ws,
                         WeightFormat format, int64_t in_features, const char* op = "linear_group");
}  // namespace tl::kernels

namespace tl::ref {
// The linear layer through tl::qgemm_naive (W dequantised row by row, products summed in double).
Tensor linear(const Tensor& x, const Tensor& w, const std::optional<Tensor>& bias, WeightFormat format,
              int64_t in_features);
// The grouped layer as ref::linear per weight, concatenated on the last axis.
Tensor linear_group(const Tensor& x, std::span<const Tensor> ws, WeightFormat format, int64_t in_features);
}  // namespace tl::ref

namespace tl::kernels {
// ---- Rotary position embedding (src/runtime/cpu/kernels/rope.cpp) ----
// y [..., s, hd] = x rotated by the angles whose cos/sin tables ([..., s, half], broadcastable against x's
// leading dims with the last dim replaced by half) are given; rot = 2 * half <= hd dims rotate, the rest pass
// through. Half style (LLaMA, rotate_half): pairs (i, i + half); interleaved (GPT-J): pairs (2i, 2i + 1):
//   y_a = x_a cos_i - x_b sin_i,   y_b = x_b cos_i + x_a sin_i.
// x, cos, sin float (any strides); out f32 contiguous. One pass, where the graph form took 11 strided ops.
void rope_into(const Tensor& x, const Tensor& cos, const Tensor& sin, bool interleaved, const Tensor& out);
Tensor rope(const Tensor& x, const Tensor& cos, const Tensor& sin, bool interleaved);
// Checks dtypes and shapes (naming the input, the expected and the actual) and returns x's shape.
Shape rope_shape(DType x_dtype, const Shape& x, DType cos_dtype, const Shape& cos, DType sin_dtype,
                 const Shape& sin, const char* op = "rope");
}  // namespace tl::kernels

namespace tl::ref {
// Rotary embedding in double, element by element.
Tensor rope(const Tensor& x, const Tensor& cos, const Tensor& sin, bool interleaved);
}  // namespace tl::ref
