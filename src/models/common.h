// Helpers shared by the family files (src/models/<family>.cpp): config checks that refuse math-changing
// fields we do not implement, head split/merge reshapes, and the family factories.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tl/graph.h"
#include "tl/io/hf_config.h"
#include "tl/io/mmap.h"
#include "tl/models.h"
#include "tl/nn/ffn.h"
#include "tl/nn/position.h"

namespace tl::models::detail {

// Hugging Face hidden_act / activation_function names we implement, mapped to nn::Activation:
// gelu -> erf GELU; gelu_new, gelu_pytorch_tanh, gelu_fast? (no: refused) -> tanh GELU; relu; silu/swish.
// Anything else throws ValueError naming the config, the field, the value and the supported names.
nn::Activation activation(const io::HfConfig& c, const std::string& key, const std::string& def);

// Throws ValueError when `key` is present (non-null) and differs from `want` (or, for the bool form, is true
// when `want` is false): "[llama] cfg: "rope_scaling" = {...} is not supported (<why>)".
void require_absent(const io::HfConfig& c, const std::string& family, const std::string& key,
                    const std::string& why);
void require_bool(const io::HfConfig& c, const std::string& family, const std::string& key, bool want,
                  bool def, const std::string& why);
void require_string(const io::HfConfig& c, const std::string& family, const std::string& key,
                    const std::vector<std::string>& allowed, const std::string& def);

// x [b, s, h*hd] -> [b, h, s, hd];  y [b, h, s, hd] -> [b, s, h*hd].
Value split_heads(Graph& g, Value x, int64_t heads, int64_t head_dim);
Value merge_heads(Graph& g, Value y);

// The batch's shape as a key for the executor cache ("ids[2,7];mask[2,7]").
std::string shape_key(const Batch& b);
// An integer id tensor as an i64 graph input value (i32 accepted and widened).
Tensor ids_as_i64(const Tensor& ids);

// The LLaMA-style decoder shared by llama, mistral and mixtral (src/models/llama.cpp): config.json fields
// mapped to component configs, and the graph with a pluggable MLP (SwiGLU, or Mixtral's sparse MoE).
struct LlamaParams {
  std::string family;
  int64_t vocab = 0, d_model = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0, d_ff = 0;
  float eps = 1e-6f;
  nn::RopeConfig rope;
  int64_t window = 0;  // sliding window (Mistral); 0 = full causal attention
  bool attn_bias = false, mlp_bias = false, tied = false;
  nn::Activation act = nn::Activation::silu;
};
LlamaParams llama_params(const io::HfConfig& c, const std::string& family);
// mlp(g, x [b, s, d], "model.layers.<i>") -> [b, s, d]
using MlpBuilder = std::function<Value(Graph&, Value, const std::string&)>;
// past < 0: the full forward (plain attention). past >= 0: a KV-cache step for b's tokens at positions
// [past, past + seq) (nn::cached_attention per layer, prefix "model.layers.<i>.self_attn"). decode (with
// past >= 0): Model::build_decode_graph's form, RoPE tables and the attention mask as inputs. last_logits:
// the final norm and the LM head only for the last position (outputs [b, 1, d] / [b, 1, vocab]).
Graph llama_graph(const LlamaParams& p, const Batch& b, const MlpBuilder& mlp, int64_t past = -1,
                  bool decode = false, bool last_logits = false);
Model::KvSpec llama_kv_spec(const LlamaParams& p);
void check_llama_batch(const LlamaParams& p, const Batch& b);

// Factories; `names` are the checkpoint's tensor names, for choices the config does not record (whether a
// BERT checkpoint carries its pooler).
using WeightNames = std::vector<std::string>;
std::unique_ptr<Model> make_bert(const io::HfConfig& c, const WeightNames& names);
std::unique_ptr<Model> make_gpt2(const io::HfConfig& c, const WeightNames& names);
std::unique_ptr<Model> make_llama(const io::HfConfig& c, const WeightNames& names);  // llama and mistral
std::unique_ptr<Model> make_mixtral(const io::HfConfig& c, const WeightNames& names);
std::unique_ptr<Model> make_vit(const io::HfConfig& c, const WeightNames& names);
std::unique_ptr<Model> make_t5(const io::HfConfig& c, const WeightNames& names);

// Loaders: once tensor `t`, loaded from the bytes `raw` of mapping `m`, is a converted copy rather than a view of
// them, the file's pages for it need not stay resident beside it (MappedFile::drop_resident).
inline void drop_if_copied(const io::MappedFile& m, std::span<const uint8_t> raw, const Tensor& t) {
  if (t.raw_data() != static_cast<const void*>(raw.data())) m.drop_resident(raw);
}

}  // namespace tl::models::detail
