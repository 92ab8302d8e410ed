// The typed linear layer: x [..., k] (flattened to rows) times a weight kept in its storage format, through
// tl::qgemm (which dequantises W on the fly: blocks in registers for few rows, packed panels for many), then
// the bias added row by row. Nothing is converted ahead of time, so a q4_0 weight costs its 4.5 bits per
// element in memory for the whole run.
#include <algorithm>
#include <vector>

#include "runtime/cpu/kernels/common.h"
#include "tl/error.h"
#include "tl/kernels.h"
#include "tl/threading.h"

namespace tl::kernels {

using namespace detail;

Shape linear_shape(DType x_dtype, const Shape& x, DType w_dtype, const Shape& w, const Shape* bias,
                   DType bias_dtype, WeightFormat format, int64_t in_features, const char* op, int w_input) {
  const char* fname = weight_format_name(format);
  if (x_dtype != DType::f32)
    TL_THROW(ValueError, "[", op, "] input 0 (x) has dtype ", dtype_name(x_dtype), ", expected f32");
  if (x.empty()) TL_THROW(ShapeError, "[", op, "] input 0 (x) must have rank >= 1, got shape []");
  const int64_t k = x.back();
  if (in_features <= 0)
    TL_THROW(ValueError, "[", op, "] attribute 'in' = ", in_features, " must be positive");
  if (k != in_features)
    TL_THROW(ShapeError, "[", op, "] input 0 (x) has shape ", shape_str(x), ", expected last dim ", in_features,
             " (attribute 'in')");
  const DType want = weight_storage_dtype(format);
  if (w_dtype != want)
    TL_THROW(ValueError, "[", op, "] input ", w_input, " (weight) has dtype ", dtype_name(w_dtype), ", expected ",
             dtype_name(want), " (the storage of format ", fname, ")");
  int64_t row = 0;
  try {
    row = weight_row_bytes(format, k);
  } catch (const ValueError&) {
    TL_THROW(ShapeError, "[", op, "] format ", fname, " stores rows in blocks of ", weight_format_block(format),
             " weights, but in_features = ", k, " is not a positive multiple of ", weight_format_block(format));
  }
  const int64_t cols = want == DType::u8 ? row : k;
  if (w.size() != 2 || w[1] != cols)
    TL_THROW(ShapeError, "[", op, "] input ", w_input, " (weight, format ", fname, ") has shape ", shape_str(w),
             ", expected [n, ", cols, "]",
             want == DType::u8 ? " (weight_row_bytes(" + std::string(fname) + ", " + std::to_string(k) + "))" : "");
  const int64_t n = w[0];
  if (bias) {
    if (!is_float(bias_dtype))
      TL_THROW(ValueError, "[", op, "] input 2 (bias) has dtype ", dtype_name(bias_dtype),
               ", expected a float dtype (f32, f16, bf16)");
    if (*bias != Shape{n})
      TL_THROW(ShapeError, "[", op, "] input 2 (bias) has shape ", shape_str(*bias), ", expected [", n,
               "] (the weight's out-features)");
  }
  Shape out = x;
  out.back() = n;
  return out;
}

namespace {
// The epilogue's context: the bias (or null) and the activation, applied row by row to a finished block.
struct BiasAct {
  const float* bias;
  std::optional<UnaryOp> act;
};
void bias_act_block(const void* ctx, float* c, int64_t ldc, int64_t i0, int64_t rows, int64_t j0, int64_t cols) {
  const auto& e = *static_cast<const BiasAct*>(ctx);
  const float* b = e.bias ? e.bias + j0 : nullptr;
  for (int64_t i = i0; i < i0 + rows; ++i) detail::bias_act_inplace(e.act, b, c + i * ldc + j0, cols);
}
}  // namespace

void linear_into(const Tensor& x, const Tensor& w, const std::optional<Tensor>& bias, WeightFormat format,
                 int64_t in_features, const Tensor& out, std::optional<UnaryOp> act) {
  check_defined("linear", "x", x);
  check_defined("linear", "weight", w);
  if (act && !is_bias_activation(*act))
    TL_THROW(ValueError, "[linear] act ", op_name(*act),
             " is not an activation (expected relu, gelu_erf, gelu_tanh, silu, sigmoid, tanh or none)");
  Shape bshape;
  if (bias) {
    check_defined("linear", "bias", *bias);
    bshape = bias->shape();
  }
  const Shape os = linear_shape(x.dtype(), x.shape(), w.dtype(), w.shape(), bias ? &bshape : nullptr,
                                bias ? bias->dtype() : DType::f32, format, in_features);
  check_out("linear", out, os, DType::f32);
  const int64_t k = in_features, n = w.size(0), m = x.numel() / std::max<int64_t>(k, 1);
  if (m == 0 || n == 0) return;
  const Tensor xc = x.contiguous();  // [m, k]
  const Tensor wc = w.contiguous();  // [n, k] or [n, row bytes]
  float* y = out.data<float>();      // [m, n]
  Tensor b;
  if (bias) b = bias->dtype() == DType::f32 ? bias->contiguous() : bias->to(DType::f32);  // [n]
  const BiasAct ctx{bias ? b.data<float>() : nullptr, act};
  const GemmEpilogue ep{&bias_act_block, &ctx};
  qgemm(m, n, k, xc.data<float>(), k, wc.raw_data(), format, y, n, false, bias || act ? &ep : nullptr);
}

Tensor linear(const Tensor& x, const Tensor& w, const std::optional<Tensor>& bias, WeightFormat format,
              int64_t in_features, std::optional<UnaryOp> act) {
  Shape bshape;
  if (bias) bshape = bias->shape();
  Tensor out = Tensor::empty(linear_shape(x.dtype(), x.shape(), w.dtype(), w.shape(), bias ? &bshape : nullptr,
                                          bias ? bias->dtype() : DType::f32, format, in_features),
                             DType::f32);
  linear_into(x, w, bias, format, in_features, out, act);
  return out;
}

Shape linear_group_shape(DType x_dtype, const Shape& x, std::span<const DType> w_dtypes, std::span<const Shape> ws,
                         WeightFormat format, int64_t in_features, const char* op) {
  TL_CHECK(w_dtypes.size() == ws.size(), "linear_group_shape: ", w_dtypes.size(), " dtypes for ", ws.size(),
           " weights");
  if (ws.empty()) TL_THROW(ValueError, "[", op, "] needs at least one weight (inputs: x, w_0, w_1, ...)");
  Shape out;
  int64_t n = 0;
  for (size_t i = 0; i < ws.size(); ++i) {
    out = linear_shape(x_dtype, x, w_dtypes[i], ws[i], nullptr, DType::f32, format, in_features, op, int(i) + 1);
    n += ws[i][0];
  }
  out.back() = n;
  return out;
}

namespace {

// linear_group_shape of the tensors themselves.
Shape group_shape(const Tensor& x, std::span<const Tensor> ws, WeightFormat format, int64_t in_features) {
  check_defined("linear_group", "x", x);
  std::vector<DType> dts;
  std::vector<Shape> shapes;
  for (const Tensor& w : ws) {
    check_defined("linear_group", "weight", w);
    dts.push_back(w.dtype());
    shapes.push_back(w.shape());
  }
  return linear_group_shape(x.dtype(), x.shape(), dts, shapes, format, in_features);
}

}  // namespace

void linear_group_into(const Tensor& x, std::span<const Tensor> ws, WeightFormat format, int64_t in_features,
                       const Tensor& out) {
  check_out("linear_group", out, group_shape(x, ws, format, in_features), DType::f32);
  const int64_t k = in_features, m = x.numel() / std::max<int64_t>(k, 1);
  const Tensor xc = x.contiguous();  // [m, k]
  std::vector<Tensor> wc;            // each [n_i, k] or [n_i, row bytes]
  std::vector<QWeightRef> refs;
  for (const Tensor& w : ws) {
    wc.push_back(w.contiguous());
    refs.push_back({wc.back().raw_data(), w.size(0)});
  }
  const int64_t n = out.shape().back();
  if (m == 0 || n == 0) return;
  qgemm_group(m, k, xc.data<float>(), k, refs.data(), int64_t(refs.size()), format, out.data<float>(), n);
}

Tensor linear_group(const Tensor& x, std::span<const Tensor> ws, WeightFormat format, int64_t in_features) {
  Tensor out = Tensor::empty(group_shape(x, ws, format, in_features), DType::f32);
  linear_group_into(x, ws, format, in_features, out);
  return out;
}

}  // namespace tl::kernels
