// describe() / describe_json(): a preset's architecture and its calculators' results (used by tlt inspect).
#include <cstdio>
#include <sstream>

#include "tl/json.h"
#include "tl/nn/presets.h"

namespace tl::nn {

namespace {

// 7241732096 -> "7,241,732,096"
std::string grouped(int64_t v) {
  std::string s = std::to_string(v < 0 ? -v : v), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return v < 0 ? "-" + out : out;
}

std::string human(double v, const char* unit) {
  const char* pre[] = {"", "K", "M", "G", "T", "P"};
  int i = 0;
  while (v >= 1000 && i < 5) v /= 1000, ++i;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f %s%s", v, pre[i], unit);
  return buf;
}

std::string bytes_h(double v) {
  const char* pre[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int i = 0;
  while (v >= 1024 && i < 4) v /= 1024, ++i;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f %s", v, pre[i]);
  return buf;
}

}  // namespace

std::string describe(const ModelPreset& p, int64_t context) {
  const ParamCount c = param_count(p);
  std::ostringstream o;
  o << p.name << "  (" << p.hf_id << ", counted as " << p.hf_class << ")\n";
  o << "  architecture     " << arch_name(p.arch) << (p.causal && p.arch != Arch::encoder ? ", causal" : "")
    << (p.parallel_block ? ", parallel attention+MLP" : "") << "\n";
  o << "  layers           " << p.n_layers;
  if (p.arch == Arch::encoder_decoder) o << " encoder + " << p.n_decoder_layers << " decoder";
  o << "\n  d_model          " << p.d_model << "\n  heads            " << p.n_heads << " (kv heads " << p.n_kv_heads
    << ", head dim " << p.head_dim << ")\n  d_ff             " << p.d_ff << "\n  vocab            " << p.vocab
    << "\n  norm             " << norm_name(p.norm) << (p.norm_bias ? "" : " (no bias)")
    << "\n  positions        " << pos_name(p.pos);
  if (p.pos == PosKind::rope) o << " (theta " << p.rope_theta << ")";
  if (p.pos == PosKind::relative_bias) o << " (" << p.rel_buckets << " buckets)";
  o << ", max " << p.max_positions << "\n  mlp              " << mlp_name(p.mlp)
    << "\n  biases           attention " << (p.attn_bias ? "yes" : "no") << ", mlp " << (p.mlp_bias ? "yes" : "no")
    << "\n  embeddings       " << (p.lm_head ? (p.tied_embeddings ? "tied LM head" : "untied LM head") : "no LM head")
    << "\n";
  if (p.sliding_window > 0) o << "  sliding window   " << p.sliding_window << "\n";
  if (p.moe.n_experts > 0)
    o << "  moe              " << p.moe.n_experts << " experts, top-" << p.moe.top_k << ", "
      << routing_name(p.moe.routing) << ", every " << p.moe.sparse_step << " layer(s)"
      << (p.moe.capacity_factor > 0 ? ", capacity factor " + std::to_string(p.moe.capacity_factor).substr(0, 4) : "")
      << "\n";
  o << "calculators (context " << context << ")\n";
  o << "  parameters       " << grouped(c.total) << " (" << human(double(c.total), "") << ")\n";
  if (p.moe.n_experts > 0)
    o << "  active params    " << grouped(c.active) << " per token (" << c.moe_layers << " MoE layers, "
      << grouped(c.per_expert) << " per expert)\n";
  o << "  embedding params " << grouped(c.embedding) << "\n";
  const int64_t f = forward_flops_per_token(p, context);
  o << "  forward FLOPs    " << grouped(f) << " per token (" << human(double(f), "FLOP") << ")\n";
  o << "  KV cache         " << grouped(kv_cache_bytes_per_token(p)) << " bytes per token (16-bit), "
    << bytes_h(double(kv_cache_bytes(p, context))) << " at context " << context << "\n";
  o << "  activations      " << bytes_h(double(activation_bytes(p, context, 1)))
    << " for training, batch 1 (Korthikanti et al. 2022, 16-bit, no recomputation)\n";
  return o.str();
}

std::string describe_json(const ModelPreset& p, int64_t context) {
  const ParamCount c = param_count(p);
  json::Object o;
  o.insert("name", p.name);
  o.insert("hf_id", p.hf_id);
  o.insert("hf_class", p.hf_class);
  o.insert("arch", arch_name(p.arch));
  o.insert("causal", p.causal && p.arch != Arch::encoder);
  o.insert("vocab", p.vocab);
  o.insert("d_model", p.d_model);
  o.insert("n_layers", p.n_layers);
  o.insert("n_decoder_layers", p.n_decoder_layers);
  o.insert("n_heads", p.n_heads);
  o.insert("n_kv_heads", p.n_kv_heads);
  o.insert("head_dim", p.head_dim);
  o.insert("d_ff", p.d_ff);
  o.insert("max_positions", p.max_positions);
  o.insert("norm", norm_name(p.norm));
  o.insert("positions", pos_name(p.pos));
  o.insert("mlp", mlp_name(p.mlp));
  o.insert("tied_embeddings", p.tied_embeddings);
  o.insert("parallel_block", p.parallel_block);
  o.insert("sliding_window", p.sliding_window);
  json::Object moe;
  moe.insert("n_experts", p.moe.n_experts);
  moe.insert("top_k", p.moe.top_k);
  moe.insert("sparse_step", p.moe.sparse_step);
  moe.insert("capacity_factor", p.moe.capacity_factor);
  moe.insert("routing", routing_name(p.moe.routing));
  o.insert("moe", std::move(moe));
  json::Object calc;
  calc.insert("context", context);
  calc.insert("params", c.total);
  calc.insert("active_params", c.active);
  calc.insert("embedding_params", c.embedding);
  calc.insert("moe_layers", c.moe_layers);
  calc.insert("params_per_expert", c.per_expert);
  calc.insert("forward_flops_per_token", forward_flops_per_token(p, context));
  calc.insert("kv_cache_bytes_per_token", kv_cache_bytes_per_token(p));
  calc.insert("kv_cache_bytes", kv_cache_bytes(p, context));
  calc.insert("activation_bytes_batch1", activation_bytes(p, context, 1));
  o.insert("calculators", std::move(calc));
  return json::dump(json::Value(std::move(o)), 2) + "\n";
}

}  // namespace tl::nn
