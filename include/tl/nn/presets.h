// Architecture presets of published transformers and the calculators that size them: parameter count, forward
// FLOPs per token, training activation memory, KV-cache bytes, MoE active vs total parameters.
//
// Each preset records the architecture the model really uses (norm, position scheme, MLP kind, KV heads,
// causal mask, sliding window, tied embeddings, biases, MoE routing), and param_count() reproduces the count
// of the Hugging Face class named in `hf_class` exactly (tests/nn/preset_test.cpp against counts made by
// scripts/gen_moe_fixtures.py, which instantiates the same configs with transformers on the meta device).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tl/nn/norm.h"  // NormType

namespace tl::nn {

enum class Arch { encoder, decoder, encoder_decoder, vision_encoder };
enum class PosKind { learned, rope, relative_bias };
// MLP: plain two-matrix FFN with an activation, or gated (act(x W1) * (x W3)) W2 (SwiGLU / GeGLU).
enum class MlpKind { gelu, gelu_new, relu, swiglu, gated_gelu };
enum class Routing { none, top_k, switch_top1, expert_choice, dense };

struct MoeSpec {
  int64_t n_experts = 0;      // 0: dense model
  int64_t top_k = 0;          // experts per token
  int64_t sparse_step = 1;    // every sparse_step-th FFN layer is a MoE layer (1: all)
  double capacity_factor = 0; // 0: no capacity limit (Mixtral)
  Routing routing = Routing::none;
};

struct ModelPreset {
  std::string name;      // "llama-2-7b"
  std::string hf_id;     // "meta-llama/Llama-2-7b-hf"
  std::string hf_class;  // the class whose parameter count param_count() equals, e.g. "LlamaForCausalLM"
  Arch arch = Arch::decoder;
  int64_t vocab = 0, d_model = 0;
  int64_t n_layers = 0;          // encoder layers for encoder-decoder, else all layers
  int64_t n_decoder_layers = 0;  // encoder-decoder only
  int64_t n_heads = 0, n_kv_heads = 0, head_dim = 0;
  int64_t d_ff = 0;
  int64_t max_positions = 0;  // learned position table rows (or RoPE's trained context)
  int64_t type_vocab = 0;     // BERT token types
  int64_t image_size = 0, patch_size = 0, channels = 0;  // ViT
  int64_t rel_buckets = 0;    // T5 relative position buckets (one bias table per stack, in layer 0)
  NormType norm = NormType::layer_norm;
  bool norm_bias = true;      // LayerNorm has a bias (beta)
  bool embed_norm = false;    // BERT: LayerNorm after the embeddings
  PosKind pos = PosKind::learned;
  double rope_theta = 10000;
  MlpKind mlp = MlpKind::gelu;
  bool attn_bias = true, mlp_bias = true;
  bool tied_embeddings = true;  // LM head shares the token embedding (no extra V*d)
  bool lm_head = true;          // the class has an LM head at all (BertModel/ViTModel do not)
  bool pooler = false;          // BERT / ViT pooler: dense d*d + bias
  bool causal = true;
  bool parallel_block = false;  // attention and MLP read the same input (Falcon)
  int64_t norms_per_layer = 2;
  bool final_norm = true;       // a norm after the last layer (pre-LN stacks; BERT is post-LN: none)
  int64_t sliding_window = 0;   // 0: full attention
  MoeSpec moe;
};

// Every preset, in a fixed order; preset() throws ValueError listing the known names for an unknown one.
const std::vector<ModelPreset>& all_presets();
const ModelPreset& preset(const std::string& name);
std::vector<std::string> preset_names();

std::string arch_name(Arch a);
std::string norm_name(NormType n);
std::string pos_name(PosKind p);
std::string mlp_name(MlpKind m);
std::string routing_name(Routing r);

struct ParamCount {
  int64_t total = 0;       // what the HF class holds (tied weights counted once)
  int64_t embedding = 0;   // token (+ position/type/patch) embeddings and an untied LM head
  int64_t per_expert = 0;  // one expert's FFN (0 for dense)
  int64_t moe_layers = 0;  // how many FFN layers are MoE layers
  int64_t active = 0;      // used per token: total minus the unused experts' weights
};
ParamCount param_count(const ModelPreset& p);

// Forward FLOPs for one token that attends to `context` positions (a multiply-add = 2 FLOPs):
//   2 * (active matmul parameters, embeddings' lookup excluded, LM head included)
//   + per attention layer 4 * n_heads * head_dim * keys, keys = min(context, sliding_window).
// Encoder-decoder: one encoder token plus one decoder token (self- and cross-attention over `context`).
// Norms, softmax and activations are not counted (they are O(d) per token, < 1% at these sizes).
int64_t forward_flops_per_token(const ModelPreset& p, int64_t context);

// Training activation memory of the layer stack, per Korthikanti et al. 2022 ("Reducing Activation
// Recomputation", eq. 1): s*b*h*(34 + 5*a*s/h) bytes per layer with 16-bit activations and 1-byte dropout
// masks, no recomputation. The formula assumes d_ff = 4h and one K/V head per query head; it is the
// standard estimate and is reported as such, not re-derived per architecture.
int64_t activation_bytes(const ModelPreset& p, int64_t seq, int64_t batch);

// K and V for one token across the decoder's self-attention layers: 2 * layers * kv_heads * head_dim * bytes.
int64_t kv_cache_bytes_per_token(const ModelPreset& p, int64_t bytes_per_elem = 2);
// The whole cache for `context` tokens (a sliding window caps the positions kept).
int64_t kv_cache_bytes(const ModelPreset& p, int64_t context, int64_t bytes_per_elem = 2);

// The preset as readable text / JSON (architecture and calculator results), for `tlt inspect`.
std::string describe(const ModelPreset& p, int64_t context);
std::string describe_json(const ModelPreset& p, int64_t context);

}  // namespace tl::nn
