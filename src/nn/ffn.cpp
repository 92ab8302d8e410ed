// Feed-forward blocks: plain two-layer and gated (GLU family), composed from nn::linear and one unary op.
#include "tl/nn/ffn.h"

#include "tl/error.h"
#include "tl/nn/common.h"

namespace tl::nn {

UnaryOp unary_of(Activation a) {
  switch (a) {
    case Activation::relu: return UnaryOp::relu;
    case Activation::gelu_erf: return UnaryOp::gelu_erf;
    case Activation::gelu_tanh: return UnaryOp::gelu_tanh;
    case Activation::silu: return UnaryOp::silu;
  }
  TL_THROW(ValueError, "[ffn] unknown activation ", int(a));
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::relu: return "relu";
    case Activation::gelu_erf: return "gelu_erf";
    case Activation::gelu_tanh: return "gelu_tanh";
    case Activation::silu: return "silu";
  }
  return "?";
}

FfnConfig FfnConfig::plain(int64_t d_model, int64_t d_ff, Activation act, bool bias) {
  return FfnConfig{}.set_d_model(d_model).set_d_ff(d_ff).set_act(act).set_bias(bias);
}
FfnConfig FfnConfig::llama(int64_t d_model, int64_t d_ff) {
  return FfnConfig{}.set_d_model(d_model).set_d_ff(d_ff).set_act(Activation::silu).set_gated(true).set_bias(false)
      .set_gated_names("gate_proj", "up_proj", "down_proj");
}
FfnConfig FfnConfig::t5_gated(int64_t d_model, int64_t d_ff) {
  return FfnConfig{}.set_d_model(d_model).set_d_ff(d_ff).set_act(Activation::gelu_tanh).set_gated(true)
      .set_bias(false).set_gated_names("wi_0", "wi_1", "wo");
}
FfnConfig FfnConfig::t5(int64_t d_model, int64_t d_ff) {
  return FfnConfig{}.set_d_model(d_model).set_d_ff(d_ff).set_act(Activation::relu).set_bias(false)
      .set_names("wi", "wo");
}
FfnConfig FfnConfig::torch_layer(int64_t d_model, int64_t d_ff, Activation act) {
  return FfnConfig{}.set_d_model(d_model).set_d_ff(d_ff).set_act(act).set_names("linear1", "linear2");
}

void FfnConfig::validate() const {
  if (d_model <= 0) TL_THROW(ValueError, "[ffn] d_model must be positive, got ", d_model);
  if (d_ff <= 0) TL_THROW(ValueError, "[ffn] d_ff must be positive, got ", d_ff);
  auto check_name = [](const char* field, const std::string& n) {
    if (n.empty()) TL_THROW(ValueError, "[ffn] ", field, " must be a non-empty parameter name, got \"\"");
  };
  check_name("out_name", out_name);
  if (gated) {
    check_name("gate_name", gate_name);
    check_name("up_name", up_name);
    if (gate_name == up_name || gate_name == out_name || up_name == out_name)
      TL_THROW(ValueError, "[ffn] gate_name, up_name and out_name must differ, got \"", gate_name, "\", \"",
               up_name, "\", \"", out_name, "\"");
  } else {
    check_name("in_name", in_name);
    if (in_name == out_name)
      TL_THROW(ValueError, "[ffn] in_name and out_name must differ, got \"", in_name, "\" for both");
  }
}

Value ffn(Graph& g, Value x, const std::string& prefix, const FfnConfig& c) {
  c.validate();
  const Shape& xs = g.shape(x);  // [..., d_model]
  if (xs.empty() || xs.back() != c.d_model)
    TL_THROW(ShapeError, "[ffn] ", prefix, ": input has shape ", shape_str(xs), ", expected last dim d_model = ",
             c.d_model);
  const UnaryOp act = unary_of(c.act);
  Value h;  // [..., d_ff]
  if (c.gated) {
    Value gate = linear(g, x, join_name(prefix, c.gate_name), c.d_model, c.d_ff, c.bias);  // [..., d_ff]
    Value up = linear(g, x, join_name(prefix, c.up_name), c.d_model, c.d_ff, c.bias);      // [..., d_ff]
    h = g.mul(g.unary(act, gate), up);
  } else {
    h = g.unary(act, linear(g, x, join_name(prefix, c.in_name), c.d_model, c.d_ff, c.bias));
  }
  return linear(g, h, join_name(prefix, c.out_name), c.d_ff, c.d_model, c.bias);  // [..., d_model]
}

}  // namespace tl::nn
