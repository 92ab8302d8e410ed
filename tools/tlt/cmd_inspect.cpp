// tlt inspect (MODEL | --preset NAME) [--json] [--context N]: a model's architecture and sizes. MODEL is
// anything tl::models::load_model reads (a Hugging Face directory); its parameter count is exact (the bound
// weights), a preset's comes from the calculators in tl/nn/presets.h.
#include <cstdio>
#include <optional>

#include "args.h"
#include "commands.h"
#include "tl/error.h"
#include "tl/json.h"
#include "tl/models.h"
#include "tl/nn/presets.h"

namespace tlt {

namespace {
const std::vector<FlagSpec> kFlags = {
    {{"-p", "--preset"}, true, "the preset to describe (see the list below)"},
    {{"--json"}, false, "print JSON instead of text"},
    {{"-c", "--context"},
     true,
     "context length for FLOPs, KV cache and activations (default 2048; MODEL: its max context)"},
    {{"-h", "--help"}, false, "show this help"},
};

// Config keys worth showing, in display order (the names differ between families).
const char* kKeys[] = {"vocab_size", "hidden_size", "n_embd", "d_model", "num_hidden_layers", "n_layer",
                       "num_layers", "num_decoder_layers", "num_attention_heads", "n_head", "num_heads",
                       "num_key_value_heads", "head_dim", "d_kv", "intermediate_size", "n_inner", "d_ff",
                       "max_position_embeddings", "n_positions", "hidden_act", "activation_function",
                       "feed_forward_proj", "rope_theta", "rms_norm_eps", "layer_norm_eps",
                       "layer_norm_epsilon", "sliding_window", "num_local_experts", "num_experts_per_tok",
                       "tie_word_embeddings", "image_size", "patch_size", "num_channels"};

// The first of `keys` that the config holds as an integer.
std::optional<int64_t> first_int(const tl::io::HfConfig& c, std::initializer_list<const char*> keys) {
  for (const char* k : keys)
    if (const tl::json::Value* v = c.find(k); v && v->is_int()) return v->as_int();
  return std::nullopt;
}

std::string grouped(int64_t v) {
  std::string s = std::to_string(v < 0 ? -v : v), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return v < 0 ? "-" + out : out;
}

struct KvInfo {
  int64_t layers = 0, kv_heads = 0, head_dim = 0, window = 0, max_context = 0;
  int64_t bytes_per_token() const { return 2 * layers * kv_heads * head_dim * 4; }  // K and V, f32
  int64_t bytes_at(int64_t ctx) const { return (window > 0 ? std::min(ctx, window) : ctx) * bytes_per_token(); }
};

// The self-attention cache of a decoder, f32 as our runtime keeps it; nullopt for encoders (BERT, ViT).
std::optional<KvInfo> kv_info(tl::models::Model& m) {
  const tl::io::HfConfig& c = m.config();
  KvInfo k;
  if (m.has_kv_cache()) {
    const auto s = m.kv_spec();
    k.layers = int64_t(s.prefixes.size());
    k.kv_heads = s.kv_heads;
    k.head_dim = s.head_dim;
    k.window = s.window;
    k.max_context = s.max_positions;
    return k;
  }
  if (m.family() == "t5") {  // decoder self-attention (cross-attention K/V are per encoder token)
    k.layers = first_int(c, {"num_decoder_layers", "num_layers"}).value_or(0);
    k.kv_heads = first_int(c, {"num_heads"}).value_or(0);
    k.head_dim = first_int(c, {"d_kv"}).value_or(0);
    return k;
  }
  if (!m.can_generate()) return std::nullopt;
  const int64_t heads = first_int(c, {"num_attention_heads", "n_head", "num_heads"}).value_or(0);
  const int64_t d = first_int(c, {"hidden_size", "n_embd", "d_model"}).value_or(0);
  k.layers = first_int(c, {"num_hidden_layers", "n_layer", "num_layers"}).value_or(0);
  k.kv_heads = first_int(c, {"num_key_value_heads"}).value_or(heads);
  k.head_dim = first_int(c, {"head_dim"}).value_or(heads > 0 ? d / heads : 0);
  k.max_context = first_int(c, {"max_position_embeddings", "n_positions"}).value_or(0);
  return k;
}

int inspect_model(const std::string& path, const Args& args) {
  auto m = tl::models::load_model(path);
  const tl::io::HfConfig& c = m->config();
  int64_t n_params = 0, bytes = 0;
  for (const auto& [name, t] : m->weights()) {
    n_params += t.numel();
    bytes += t.numel() * int64_t(tl::dtype_size(t.dtype()));
  }
  const std::optional<KvInfo> kv = kv_info(*m);
  const int64_t max_ctx = kv && kv->max_context > 0
                              ? kv->max_context
                              : first_int(c, {"max_position_embeddings", "n_positions"}).value_or(0);
  const int ctx = args.get_int("context", max_ctx > 0 ? int(std::min<int64_t>(max_ctx, 1 << 30)) : 2048);
  if (ctx <= 0) TL_THROW(tl::ValueError, "--context = ", ctx, " must be positive");
  // Training activation memory by the presets' calculator (Korthikanti et al.; 16-bit activations, batch 1).
  std::optional<int64_t> act;
  tl::nn::ModelPreset p;
  p.n_layers = first_int(c, {"num_hidden_layers", "n_layer", "num_layers"}).value_or(0);
  if (m->family() == "t5") p.n_decoder_layers = first_int(c, {"num_decoder_layers"}).value_or(p.n_layers);
  p.d_model = first_int(c, {"hidden_size", "n_embd", "d_model"}).value_or(0);
  p.n_heads = first_int(c, {"num_attention_heads", "n_head", "num_heads"}).value_or(0);
  if (p.n_layers > 0 && p.d_model > 0 && p.n_heads > 0) act = tl::nn::activation_bytes(p, ctx, 1);

  if (args.has("json")) {
    tl::json::Object o, cfg;
    o.insert("model", path);
    o.insert("family", m->family());
    for (const char* k : kKeys)
      if (const tl::json::Value* v = c.find(k); v && !v->is_null()) cfg.insert(k, *v);
    o.insert("config", tl::json::Value(std::move(cfg)));
    o.insert("params", n_params);
    o.insert("weight_tensors", int64_t(m->weights().size()));
    o.insert("weight_bytes", bytes);
    o.insert("context", int64_t(ctx));
    if (kv) {
      tl::json::Object k;
      k.insert("layers", kv->layers);
      k.insert("kv_heads", kv->kv_heads);
      k.insert("head_dim", kv->head_dim);
      k.insert("window", kv->window);
      k.insert("bytes_per_token", kv->bytes_per_token());
      k.insert("max_context", max_ctx);
      k.insert("bytes_at_max_context", max_ctx > 0 ? tl::json::Value(kv->bytes_at(max_ctx)) : tl::json::Value());
      k.insert("bytes_at_context", kv->bytes_at(ctx));
      o.insert("kv_cache", tl::json::Value(std::move(k)));
    } else {
      o.insert("kv_cache", tl::json::Value());
    }
    o.insert("activation_bytes", act ? tl::json::Value(*act) : tl::json::Value());
    std::printf("%s\n", tl::json::dump(tl::json::Value(std::move(o)), 2).c_str());
    return 0;
  }
  std::printf("model        %s\nfamily       %s%s\nconfig      ", path.c_str(), m->family().c_str(),
              m->can_generate() ? " (generates)" : " (encoder)");
  for (const char* k : kKeys)
    if (const tl::json::Value* v = c.find(k); v && !v->is_null()) std::printf(" %s=%s", k, tl::json::dump(*v).c_str());
  std::printf("\nparameters   %s (exact: the %zu bound weight tensors)\n", grouped(n_params).c_str(),
              m->weights().size());
  std::printf("weights      %s bytes as loaded (f32)\n", grouped(bytes).c_str());
  if (kv) {
    std::printf("kv cache     %s bytes per token (f32: 2 x %lld layers x %lld kv heads x %lld head dim x 4 B)",
                grouped(kv->bytes_per_token()).c_str(), (long long)kv->layers, (long long)kv->kv_heads,
                (long long)kv->head_dim);
    if (kv->window > 0) std::printf(", sliding window %lld", (long long)kv->window);
    std::printf("\n");
    if (max_ctx > 0)
      std::printf("             %s bytes at the max context %lld\n", grouped(kv->bytes_at(max_ctx)).c_str(),
                  (long long)max_ctx);
    std::printf("             %s bytes at --context %d\n", grouped(kv->bytes_at(ctx)).c_str(), ctx);
  } else {
    std::printf("kv cache     none (an encoder)\n");
  }
  if (act)
    std::printf("activations  %s bytes to train at context %d, batch 1 (Korthikanti et al. estimate, 16-bit)\n",
                grouped(*act).c_str(), ctx);
  return 0;
}
}  // namespace

int cmd_inspect(int argc, char** argv) {
  Args args(argc, argv, 2, kFlags);
  if (args.has("help")) {
    std::string names;
    for (const auto& n : tl::nn::preset_names()) names += "  " + n + "\n";
    std::printf("usage: tlt inspect MODEL [--json] [--context N]\n"
                "       tlt inspect --preset NAME [--json] [--context N]\n\n"
                "MODEL (a Hugging Face model directory): the family, the key config values, the exact parameter\n"
                "count and bytes of the loaded weights, the KV-cache bytes per token and at the model's max\n"
                "context (f32, as tlt keeps it) and the training activation estimate at --context.\n"
                "--preset: a published model's architecture (norm, positions, MLP, KV heads, MoE routing) and\n"
                "its parameter count, active parameters, forward FLOPs per token, KV-cache bytes and training\n"
                "activation memory.\n\n%s\npresets:\n%s",
                flags_help(kFlags).c_str(), names.c_str());
    return 0;
  }
  if (args.positional().size() > 1)
    TL_THROW(tl::ValueError, "unexpected argument \"", args.positional()[1], "\"; expected one MODEL");
  if (args.positional().size() == 1) {
    if (args.has("preset")) TL_THROW(tl::ValueError, "give MODEL or --preset NAME, not both");
    return inspect_model(args.positional()[0], args);
  }
  if (!args.has("preset")) TL_THROW(tl::ValueError, "missing MODEL or --preset NAME (see tlt inspect --help)");
  const tl::nn::ModelPreset& p = tl::nn::preset(*args.get("preset"));
  const int ctx = args.get_int("context", 2048);
  if (ctx <= 0) TL_THROW(tl::ValueError, "--context = ", ctx, " must be positive");
  const std::string s = args.has("json") ? tl::nn::describe_json(p, ctx) : tl::nn::describe(p, ctx);
  std::fputs(s.c_str(), stdout);
  return 0;
}

}  // namespace tlt
