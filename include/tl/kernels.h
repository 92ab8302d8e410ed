// CPU kernels on tensors, independent of the graph IR. Each kernel has an `_into` form that writes a
// preallocated contiguous output (the executor's memory plan owns the buffers) and a convenience form that
// allocates. Inputs may be any strided view (transposed, sliced, broadcast). Float kernels compute in f32;
// f16/bf16 inputs are converted on load. Every kernel has a naive reference in tl::ref (double precision).
#pragma once
#include <optional>
#include <vector>

#include "tl/op_kinds.h"
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
}  // namespace tl::ref
