// Encoder / decoder stacks (n layers + optional final norm) and the encoder-decoder of torch.nn.Transformer.
#include "tl/error.h"
#include "tl/nn/common.h"
#include "tl/nn/layer.h"

namespace tl::nn {

void StackConfig::validate() const {
  if (n_layers < 1) TL_THROW(ValueError, "[stack] n_layers must be >= 1, got ", n_layers);
  if (layers_name.empty()) TL_THROW(ValueError, "[stack] layers_name must be non-empty, got \"\"");
  layer.validate();
}

namespace {
std::string layer_prefix(const std::string& prefix, const StackConfig& c, int64_t i) {
  return join_name(join_name(prefix, c.layers_name), std::to_string(i));
}
Value finish(Graph& g, Value x, const std::string& prefix, const StackConfig& c) {
  return c.final_norm ? norm(g, x, join_name(prefix, c.final_norm_name), c.layer.norm) : x;
}
}  // namespace

Value encoder_stack(Graph& g, Value x, const std::string& prefix, const StackConfig& c, const LayerOptions& o) {
  c.validate();
  for (int64_t i = 0; i < c.n_layers; ++i) x = encoder_layer(g, x, layer_prefix(prefix, c, i), c.layer, o);  // [b, s, d]
  return finish(g, x, prefix, c);
}

Value decoder_stack(Graph& g, Value x, std::optional<Value> memory, const std::string& prefix, const StackConfig& c,
                    const LayerOptions& o) {
  c.validate();
  for (int64_t i = 0; i < c.n_layers; ++i)
    x = decoder_layer(g, x, memory, layer_prefix(prefix, c, i), c.layer, o);  // [b, s, d]
  return finish(g, x, prefix, c);
}

EncoderDecoderOutputs encoder_decoder(Graph& g, Value src, Value tgt, const std::string& prefix,
                                      const StackConfig& enc, const StackConfig& dec, const LayerOptions& enc_opts,
                                      const LayerOptions& dec_opts) {
  EncoderDecoderOutputs r;
  r.memory = encoder_stack(g, src, join_name(prefix, "encoder"), enc, enc_opts);           // [b, ss, d]
  r.out = decoder_stack(g, tgt, r.memory, join_name(prefix, "decoder"), dec, dec_opts);    // [b, st, d]
  return r;
}

}  // namespace tl::nn
