// The preset table. Values are the published configs (config.json of each Hugging Face model, or the paper
// where HF has no class); the counts they imply are checked in tests/nn/preset_test.cpp.
#include "tl/nn/presets.h"

#include <algorithm>
#include <sstream>

#include "tl/error.h"

namespace tl::nn {

namespace {

ModelPreset bert(std::string name, std::string id, int64_t d, int64_t layers, int64_t heads) {
  ModelPreset p;
  p.name = std::move(name);
  p.hf_id = std::move(id);
  p.hf_class = "BertModel";
  p.arch = Arch::encoder;
  p.vocab = 30522;
  p.d_model = d;
  p.n_layers = layers;
  p.n_heads = p.n_kv_heads = heads;
  p.head_dim = d / heads;
  p.d_ff = 4 * d;
  p.max_positions = 512;
  p.type_vocab = 2;
  p.embed_norm = true;
  p.mlp = MlpKind::gelu;
  p.lm_head = false;
  p.pooler = true;
  p.causal = false;
  p.final_norm = false;  // post-LN: each sub-layer ends in its own LayerNorm
  return p;
}

ModelPreset gpt2(std::string name, std::string id, int64_t d, int64_t layers, int64_t heads) {
  ModelPreset p;
  p.name = std::move(name);
  p.hf_id = std::move(id);
  p.hf_class = "GPT2LMHeadModel";
  p.vocab = 50257;
  p.d_model = d;
  p.n_layers = layers;
  p.n_heads = p.n_kv_heads = heads;
  p.head_dim = d / heads;
  p.d_ff = 4 * d;
  p.max_positions = 1024;
  p.mlp = MlpKind::gelu_new;
  return p;
}

// LLaMA / Mistral / Mixtral: RoPE, RMSNorm without bias, SwiGLU, no biases, untied LM head.
ModelPreset llama(std::string name, std::string id, std::string cls, int64_t d, int64_t layers, int64_t heads,
                  int64_t kv, int64_t ff, int64_t ctx) {
  ModelPreset p;
  p.name = std::move(name);
  p.hf_id = std::move(id);
  p.hf_class = std::move(cls);
  p.vocab = 32000;
  p.d_model = d;
  p.n_layers = layers;
  p.n_heads = heads;
  p.n_kv_heads = kv;
  p.head_dim = d / heads;
  p.d_ff = ff;
  p.max_positions = ctx;
  p.norm = NormType::rms_norm;
  p.norm_bias = false;
  p.pos = PosKind::rope;
  p.mlp = MlpKind::swiglu;
  p.attn_bias = p.mlp_bias = false;
  p.tied_embeddings = false;
  return p;
}

// T5 family (T5ForConditionalGeneration): relative position bias, RMS-style LayerNorm with weight only, no
// biases; v1.0 ties the LM head and uses ReLU, v1.1 uses gated GELU and an untied head.
ModelPreset t5(std::string name, std::string id, int64_t d, int64_t ff, int64_t layers, int64_t heads,
               int64_t dkv, bool v11) {
  ModelPreset p;
  p.name = std::move(name);
  p.hf_id = std::move(id);
  p.hf_class = "T5ForConditionalGeneration";
  p.arch = Arch::encoder_decoder;
  p.vocab = 32128;
  p.d_model = d;
  p.n_layers = p.n_decoder_layers = layers;
  p.n_heads = p.n_kv_heads = heads;
  p.head_dim = dkv;
  p.d_ff = ff;
  p.max_positions = 512;
  p.rel_buckets = 32;
  p.norm = NormType::rms_norm;
  p.norm_bias = false;
  p.pos = PosKind::relative_bias;
  p.mlp = v11 ? MlpKind::gated_gelu : MlpKind::relu;
  p.attn_bias = p.mlp_bias = false;
  p.tied_embeddings = !v11;
  return p;
}

ModelPreset vit(std::string name, std::string id, int64_t d, int64_t layers, int64_t heads, int64_t patch) {
  ModelPreset p;
  p.name = std::move(name);
  p.hf_id = std::move(id);
  p.hf_class = "ViTModel";
  p.arch = Arch::vision_encoder;
  p.vocab = 0;
  p.d_model = d;
  p.n_layers = layers;
  p.n_heads = p.n_kv_heads = heads;
  p.head_dim = d / heads;
  p.d_ff = 4 * d;
  p.image_size = 224;
  p.patch_size = patch;
  p.channels = 3;
  p.max_positions = (224 / patch) * (224 / patch) + 1;  // patches + [CLS]
  p.mlp = MlpKind::gelu;
  p.lm_head = false;
  p.pooler = true;
  p.causal = false;
  return p;
}

ModelPreset switch_t(std::string name, std::string id, int64_t d, int64_t ff, int64_t layers, int64_t heads,
                     int64_t experts) {
  ModelPreset p = t5(std::move(name), std::move(id), d, ff, layers, heads, 64, false);
  p.hf_class = "SwitchTransformersForConditionalGeneration";
  p.moe.n_experts = experts;
  p.moe.top_k = 1;
  p.moe.sparse_step = 2;  // every other FFN is a Switch layer
  p.moe.capacity_factor = 1.25;
  p.moe.routing = Routing::switch_top1;
  return p;
}

std::vector<ModelPreset> make_all() {
  std::vector<ModelPreset> v;
  v.push_back(bert("bert-base", "google-bert/bert-base-uncased", 768, 12, 12));
  v.push_back(bert("bert-large", "google-bert/bert-large-uncased", 1024, 24, 16));
  v.push_back(gpt2("gpt2", "openai-community/gpt2", 768, 12, 12));
  v.push_back(gpt2("gpt2-medium", "openai-community/gpt2-medium", 1024, 24, 16));
  v.push_back(gpt2("gpt2-large", "openai-community/gpt2-large", 1280, 36, 20));
  v.push_back(gpt2("gpt2-xl", "openai-community/gpt2-xl", 1600, 48, 25));
  v.push_back(llama("llama-2-7b", "meta-llama/Llama-2-7b-hf", "LlamaForCausalLM", 4096, 32, 32, 32, 11008, 4096));
  v.push_back(llama("llama-2-13b", "meta-llama/Llama-2-13b-hf", "LlamaForCausalLM", 5120, 40, 40, 40, 13824, 4096));
  v.push_back(llama("llama-2-70b", "meta-llama/Llama-2-70b-hf", "LlamaForCausalLM", 8192, 80, 64, 8, 28672, 4096));
  {
    ModelPreset p = llama("mistral-7b", "mistralai/Mistral-7B-v0.1", "MistralForCausalLM", 4096, 32, 32, 8, 14336,
                          32768);
    p.sliding_window = 4096;
    v.push_back(p);
  }
  {
    ModelPreset p = llama("mixtral-8x7b", "mistralai/Mixtral-8x7B-v0.1", "MixtralForCausalLM", 4096, 32, 32, 8,
                          14336, 32768);
    p.rope_theta = 1e6;
    p.moe.n_experts = 8;
    p.moe.top_k = 2;
    p.moe.routing = Routing::top_k;
    v.push_back(p);
  }
  {
    // Falcon-40B: "new decoder architecture": parallel attention + MLP, each with its own LayerNorm (ln_attn,
    // ln_mlp), multi-query groups of 8 KV heads, RoPE, no biases, LM head tied.
    ModelPreset p;
    p.name = "falcon-40b";
    p.hf_id = "tiiuae/falcon-40b";
    p.hf_class = "FalconForCausalLM";
    p.vocab = 65024;
    p.d_model = 8192;
    p.n_layers = 60;
    p.n_heads = 128;
    p.n_kv_heads = 8;
    p.head_dim = 64;
    p.d_ff = 4 * 8192;
    p.max_positions = 2048;
    p.pos = PosKind::rope;
    p.mlp = MlpKind::gelu;
    p.attn_bias = p.mlp_bias = false;
    p.parallel_block = true;
    v.push_back(p);
  }
  v.push_back(t5("t5-small", "google-t5/t5-small", 512, 2048, 6, 8, 64, false));
  v.push_back(t5("t5-base", "google-t5/t5-base", 768, 3072, 12, 12, 64, false));
  v.push_back(t5("t5-large", "google-t5/t5-large", 1024, 4096, 24, 16, 64, false));
  v.push_back(t5("t5-3b", "google-t5/t5-3b", 1024, 16384, 24, 32, 128, false));
  v.push_back(t5("t5-11b", "google-t5/t5-11b", 1024, 65536, 24, 128, 128, false));
  v.push_back(t5("t5-v1_1-small", "google/t5-v1_1-small", 512, 1024, 8, 6, 64, true));
  v.push_back(t5("t5-v1_1-base", "google/t5-v1_1-base", 768, 2048, 12, 12, 64, true));
  v.push_back(t5("t5-v1_1-large", "google/t5-v1_1-large", 1024, 2816, 24, 16, 64, true));
  v.push_back(t5("t5-v1_1-xl", "google/t5-v1_1-xl", 2048, 5120, 24, 32, 64, true));
  v.push_back(t5("t5-v1_1-xxl", "google/t5-v1_1-xxl", 4096, 10240, 24, 64, 64, true));
  v.push_back(vit("vit-tiny", "WinKawaks/vit-tiny-patch16-224", 192, 12, 3, 16));
  v.push_back(vit("vit-small", "WinKawaks/vit-small-patch16-224", 384, 12, 6, 16));
  v.push_back(vit("vit-base", "google/vit-base-patch16-224-in21k", 768, 12, 12, 16));
  v.push_back(vit("vit-large", "google/vit-large-patch16-224-in21k", 1024, 24, 16, 16));
  v.push_back(vit("vit-huge", "google/vit-huge-patch14-224-in21k", 1280, 32, 16, 14));
  v.push_back(switch_t("switch-base-8", "google/switch-base-8", 768, 3072, 12, 12, 8));
  v.push_back(switch_t("switch-base-128", "google/switch-base-128", 768, 3072, 12, 12, 128));
  {
    // GShard-style top-2 routing on the Switch-base backbone (GShard's own 600B model has no HF class).
    ModelPreset p = switch_t("gshard-base-8", "(none: switch-base-8 backbone, GShard top-2 routing)", 768, 3072,
                             12, 12, 8);
    p.moe.top_k = 2;
    p.moe.capacity_factor = 2.0;
    p.moe.routing = Routing::top_k;
    v.push_back(p);
  }
  return v;
}

int64_t norm_params(const ModelPreset& p) {
  return p.norm == NormType::layer_norm && p.norm_bias ? 2 * p.d_model : p.d_model;
}
int64_t attn_params(const ModelPreset& p) {
  const int64_t d = p.d_model, q = p.n_heads * p.head_dim, kv = p.n_kv_heads * p.head_dim;
  int64_t n = d * q + 2 * d * kv + q * d;
  if (p.attn_bias) n += q + 2 * kv + d;
  return n;
}
bool gated(MlpKind m) { return m == MlpKind::swiglu || m == MlpKind::gated_gelu; }
int64_t mlp_params(const ModelPreset& p) {
  const int64_t d = p.d_model, f = p.d_ff;
  if (gated(p.mlp)) return 3 * d * f + (p.mlp_bias ? 2 * f + d : 0);
  return 2 * d * f + (p.mlp_bias ? f + d : 0);
}
// FFN layers that are MoE in a stack of `layers` (HF: layer i is sparse when i % step == 1, or step == 1).
int64_t sparse_layers(const ModelPreset& p, int64_t layers) {
  if (p.moe.n_experts == 0) return 0;
  if (p.moe.sparse_step == 1) return layers;
  int64_t n = 0;
  for (int64_t i = 0; i < layers; ++i) n += i % p.moe.sparse_step == 1;
  return n;
}
// One stack's FFN parameters (dense and MoE layers, routers included).
int64_t ffn_params(const ModelPreset& p, int64_t layers) {
  const int64_t s = sparse_layers(p, layers);
  return (layers - s) * mlp_params(p) + s * (p.moe.n_experts * mlp_params(p) + p.moe.n_experts * p.d_model);
}

}  // namespace

const std::vector<ModelPreset>& all_presets() {
  static const std::vector<ModelPreset> v = make_all();
  return v;
}

std::vector<std::string> preset_names() {
  std::vector<std::string> n;
  for (const auto& p : all_presets()) n.push_back(p.name);
  return n;
}

const ModelPreset& preset(const std::string& name) {
  for (const auto& p : all_presets())
    if (p.name == name) return p;
  std::string known;
  for (const auto& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
  TL_THROW(ValueError, "[preset] unknown preset \"", name, "\"; expected one of: ", known);
}

std::string arch_name(Arch a) {
  switch (a) {
    case Arch::encoder: return "encoder";
    case Arch::decoder: return "decoder";
    case Arch::encoder_decoder: return "encoder-decoder";
    case Arch::vision_encoder: return "vision encoder";
  }
  return "?";
}
std::string norm_name(NormType n) { return n == NormType::layer_norm ? "layer_norm" : "rms_norm"; }
std::string pos_name(PosKind p) {
  switch (p) {
    case PosKind::learned: return "learned";
    case PosKind::rope: return "rope";
    case PosKind::relative_bias: return "relative_bias";
  }
  return "?";
}
std::string mlp_name(MlpKind m) {
  switch (m) {
    case MlpKind::gelu: return "gelu";
    case MlpKind::gelu_new: return "gelu_new";
    case MlpKind::relu: return "relu";
    case MlpKind::swiglu: return "swiglu";
    case MlpKind::gated_gelu: return "gated_gelu";
  }
  return "?";
}
std::string routing_name(Routing r) {
  switch (r) {
    case Routing::none: return "none";
    case Routing::top_k: return "top_k";
    case Routing::switch_top1: return "switch_top1";
    case Routing::expert_choice: return "expert_choice";
    case Routing::dense: return "dense";
  }
  return "?";
}

ParamCount param_count(const ModelPreset& p) {
  ParamCount c;
  const int64_t d = p.d_model;
  // Embeddings.
  int64_t emb = p.vocab * d;
  if (p.arch == Arch::vision_encoder) {
    emb = p.channels * p.patch_size * p.patch_size * d + d  // patch projection (conv) + bias
          + d                                              // [CLS]
          + p.max_positions * d;                           // positions
  } else if (p.pos == PosKind::learned) {
    emb += p.max_positions * d;
  }
  emb += p.type_vocab * d;
  if (p.lm_head && !p.tied_embeddings) emb += p.vocab * d;
  c.embedding = emb;
  int64_t n = emb + (p.embed_norm ? norm_params(p) : 0);
  if (p.arch == Arch::encoder_decoder) {
    const int64_t rel = p.rel_buckets * p.n_heads;  // one bias table per stack
    n += p.n_layers * (attn_params(p) + 2 * norm_params(p)) + ffn_params(p, p.n_layers) + rel + norm_params(p);
    n += p.n_decoder_layers * (2 * attn_params(p) + 3 * norm_params(p)) + ffn_params(p, p.n_decoder_layers) + rel +
         norm_params(p);
    c.moe_layers = sparse_layers(p, p.n_layers) + sparse_layers(p, p.n_decoder_layers);
  } else {
    n += p.n_layers * (attn_params(p) + p.norms_per_layer * norm_params(p)) + ffn_params(p, p.n_layers);
    if (p.final_norm) n += norm_params(p);
    if (p.pooler) n += d * d + d;
    c.moe_layers = sparse_layers(p, p.n_layers);
  }
  c.total = n;
  if (p.moe.n_experts > 0) {
    c.per_expert = mlp_params(p);
    c.active = n - c.moe_layers * (p.moe.n_experts - p.moe.top_k) * c.per_expert;
  } else {
    c.active = n;
  }
  return c;
}

int64_t forward_flops_per_token(const ModelPreset& p, int64_t context) {
  if (context <= 0) TL_THROW(ValueError, "[flops] context = ", context, " must be positive");
  const ParamCount c = param_count(p);
  // Matmul parameters a token passes through: active parameters minus the lookup tables (token, position,
  // type embeddings, [CLS]); a tied LM head is a matmul with the embedding table, so it counts again. Norm
  // weights and biases stay in (elementwise, < 0.1%), as in the standard 2N estimate.
  int64_t lookup = p.vocab * p.d_model + p.type_vocab * p.d_model;
  if (p.arch == Arch::vision_encoder) lookup += p.d_model + p.max_positions * p.d_model;
  else if (p.pos == PosKind::learned) lookup += p.max_positions * p.d_model;
  const int64_t matmul = c.active - lookup + (p.lm_head && p.tied_embeddings ? p.vocab * p.d_model : 0);
  const int64_t keys = p.sliding_window > 0 ? std::min(context, p.sliding_window) : context;
  const int64_t attn_layers = p.arch == Arch::encoder_decoder ? p.n_layers + 2 * p.n_decoder_layers : p.n_layers;
  return 2 * matmul + 4 * attn_layers * p.n_heads * p.head_dim * keys;
}

int64_t activation_bytes(const ModelPreset& p, int64_t seq, int64_t batch) {
  if (seq <= 0 || batch <= 0) TL_THROW(ValueError, "[activation_bytes] seq = ", seq, " and batch = ", batch,
                                       " must be positive");
  const int64_t layers = p.n_layers + p.n_decoder_layers;
  const int64_t h = p.d_model, a = p.n_heads;
  return layers * (seq * batch * h * 34 + 5 * a * seq * seq * batch);
}

int64_t kv_cache_bytes_per_token(const ModelPreset& p, int64_t bytes_per_elem) {
  if (bytes_per_elem <= 0) TL_THROW(ValueError, "[kv_cache] bytes_per_elem = ", bytes_per_elem, " must be positive");
  if (p.arch == Arch::encoder || p.arch == Arch::vision_encoder) return 0;  // no generation cache
  const int64_t layers = p.arch == Arch::encoder_decoder ? p.n_decoder_layers : p.n_layers;
  return 2 * layers * p.n_kv_heads * p.head_dim * bytes_per_elem;
}

int64_t kv_cache_bytes(const ModelPreset& p, int64_t context, int64_t bytes_per_elem) {
  if (context < 0) TL_THROW(ValueError, "[kv_cache] context = ", context, " must be >= 0");
  const int64_t kept = p.sliding_window > 0 ? std::min(context, p.sliding_window) : context;
  return kept * kv_cache_bytes_per_token(p, bytes_per_elem);
}

}  // namespace tl::nn
