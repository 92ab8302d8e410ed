// tlt bench prompt|decode|embed|graph ...: the model-level timings of issue 6, measured through the public
// Model API (what a user of the library gets), with peak resident memory beside the bytes the model must hold.
//
//   prompt MODEL [--tokens 512]                a prompt of N tokens processed as generation does it (one
//                                              prefill step that fills the KV cache and returns the last
//                                              position's logits, as llama.cpp's prompt processing); --all-logits:
//                                              Model::forward instead (no cache, logits for every position)
//   decode MODEL [--context 0] [--tokens 64]   greedy decoding with the KV cache (tl::models::generate) after a
//                                              prompt of `context` tokens (0: a one-token prompt); tok/s counts
//                                              only the T one-token steps after the prompt step (its stats)
//   embed  MODEL [--batch 32] [--seq 128]      sentence_embeddings (BERT/MiniLM forward + mean pool + L2)
//   graph  --preset NAME [--tokens 1]          build + optimise (full) + plan (Executor) of a LLaMA-family
//                                              preset's graph, with weights that are zero-stride views (no memory)
//
// Every timing is the best of --reps runs after one untimed warm-up run (whose time, which includes compiling
// the executor, is printed as first_s). Memory: peak RSS (getrusage ru_maxrss) against the bar
// 1.1 x (weight bytes + KV-cache bytes) + 64 MiB. Token ids are a fixed pseudo-random sequence.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "args.h"
#include "commands.h"
#include "weight_flags.h"
#include "tl/error.h"
#include "tl/models.h"
#include "tl/models/generate.h"
#include "tl/nn/presets.h"
#include "tl/passes.h"
#include "tl/quant.h"
#include "tl/runtime.h"
#include "tl/threading.h"

namespace tlt {

namespace {

const std::vector<FlagSpec> kFlags = with_weight_flags({
    {{"--tokens", "-n"}, true, "prompt: tokens in the forward (512); decode: new tokens (64); graph: tokens (1)"},
    {{"--context"}, true, "decode: prompt tokens already in the KV cache before timing (default 0)"},
    {{"--all-logits"}, false, "prompt: time Model::forward (logits for every position, no KV cache) instead of "
                              "generation's prefill (KV cache filled, last position's logits)"},
    {{"--batch"}, true, "embed: sequences per batch (default 32)"},
    {{"--seq"}, true, "embed: tokens per sequence (default 128)"},
    {{"--preset"}, true, "graph: a LLaMA-family preset name (see tlt inspect)"},
    {{"--threads", "-t"}, true, "threads (default: OMP_NUM_THREADS, else one per core)"},
    {{"--reps", "-r"}, true, "timed repetitions after one warm-up run; the best is reported (default 3)"},
    {{"--json"}, false, "print one JSON object instead of text"},
    {{"--profile"}, false, "prompt, decode, embed: also the time per op over the timed runs (graph nodes as the "
                           "executor runs them; the rest of each run is the model's own code)"},
    {{"-h", "--help"}, false, "show this help"},
});

using Clock = std::chrono::steady_clock;

double seconds_of(const std::function<void()>& f) {
  const auto t0 = Clock::now();
  f();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Timing {
  double first = 0, best = 0, median = 0;
};

// --profile: op times are collected over the timed runs only (started after the warm-up); `timed_s` is the sum
// of those runs, the whole the op times are a part of.
bool g_profile = false;
double g_timed_s = 0;
void start_profile() {
  if (!g_profile) return;
  tl::reset_op_profile();
  tl::set_op_profiling(true);
}

// One warm-up run (timed as `first`), then `reps` timed runs.
Timing time_runs(int reps, const std::function<void()>& f) {
  Timing t;
  t.first = seconds_of(f);
  start_profile();
  std::vector<double> v;
  for (int i = 0; i < reps; ++i) v.push_back(seconds_of(f));
  for (double x : v) g_timed_s += x;
  std::sort(v.begin(), v.end());
  t.best = v.front();
  t.median = v[v.size() / 2];
  return t;
}

int64_t peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return int64_t(u.ru_maxrss) * 1024;  // Linux reports KiB
}

// Deterministic ids in [lo, vocab) (a 64-bit LCG), so every engine can be fed the same tokens.
std::vector<int64_t> pseudo_ids(int64_t n, int64_t vocab, int64_t lo = 3) {
  std::vector<int64_t> v(size_t(std::max<int64_t>(n, 0)));
  uint64_t s = 0x9E3779B97F4A7C15ull;
  for (auto& x : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = lo + int64_t((s >> 33) % uint64_t(vocab - lo));
  }
  return v;
}

int64_t weight_bytes(const tl::models::Model& m) { return m.weight_bytes(); }

// One result: ordered key/value pairs printed as text lines or one JSON object.
struct Report {
  std::vector<std::pair<std::string, std::string>> kv;  // value already formatted (strings quoted for JSON)
  void str(const std::string& k, const std::string& v) {
    std::string q = "\"";
    for (char c : v) q += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
    kv.emplace_back(k, q + "\"");
  }
  void num(const std::string& k, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    kv.emplace_back(k, buf);
  }
  void integer(const std::string& k, int64_t v) { kv.emplace_back(k, std::to_string(v)); }
  void raw(const std::string& k, std::string json) { kv.emplace_back(k, std::move(json)); }
  void print(bool json) const {
    if (json) {
      std::printf("{");
      for (size_t i = 0; i < kv.size(); ++i) std::printf("%s\"%s\": %s", i ? ", " : "", kv[i].first.c_str(), kv[i].second.c_str());
      std::printf("}\n");
      return;
    }
    for (const auto& [k, v] : kv) {
      std::string s = v;
      if (s.size() >= 2 && s.front() == '"') s = s.substr(1, s.size() - 2);
      std::printf("%-16s %s\n", k.c_str(), s.c_str());
    }
  }
};

void add_memory(Report& r, int64_t weights, int64_t kv) {
  const int64_t rss = peak_rss_bytes();
  const double bar = 1.1 * double(weights + kv) + 64.0 * 1024 * 1024;
  r.integer("peak_rss_bytes", rss);
  r.integer("weight_bytes", weights);
  r.integer("kv_bytes", kv);
  r.integer("rss_bar_bytes", int64_t(bar));
  r.num("rss_over_bar", double(rss) / bar);
}

// Bytes of an f32 KV cache with `positions` slots per layer (keys and values).
int64_t kv_cache_bytes(const tl::models::Model& m, int64_t positions) {
  const tl::models::Model::KvSpec kv = m.kv_spec();
  return int64_t(kv.prefixes.size()) * 2 * kv.kv_heads * kv.head_dim * positions * 4;
}

void add_timing(Report& r, const Timing& t) {
  r.num("first_s", t.first);
  r.num("best_s", t.best);
  r.num("median_s", t.median);
}

// --profile output: JSON, an array of {op, calls, seconds} plus the timed total; text, a table after the report.
void add_profile(Report& r, bool json) {
  tl::set_op_profiling(false);
  r.num("profile_timed_s", g_timed_s);
  if (!json) return;
  std::string a = "[";
  char buf[64];
  for (const tl::OpProfileEntry& e : tl::op_profile()) {
    std::snprintf(buf, sizeof buf, "%.6g", e.seconds);
    a += (a.size() > 1 ? ", " : "") + std::string("{\"op\": \"") + e.op + "\", \"calls\": " + std::to_string(e.calls) +
         ", \"seconds\": " + buf + "}";
  }
  r.raw("profile", a + "]");
}

void print_profile() {
  double ops = 0;
  const std::vector<tl::OpProfileEntry> p = tl::op_profile();
  for (const tl::OpProfileEntry& e : p) ops += e.seconds;
  std::printf("\n%-22s %10s %12s %14s %8s\n", "op", "calls", "total ms", "us per call", "% timed");
  for (const tl::OpProfileEntry& e : p)
    std::printf("%-22s %10lld %12.3f %14.2f %7.1f%%\n", e.op.c_str(), static_cast<long long>(e.calls), 1e3 * e.seconds,
                1e6 * e.seconds / double(e.calls), g_timed_s > 0 ? 100.0 * e.seconds / g_timed_s : 0.0);
  std::printf("%-22s %10s %12.3f %14s %7.1f%%\n", "(outside the graph)", "", 1e3 * std::max(0.0, g_timed_s - ops), "",
              g_timed_s > 0 ? 100.0 * std::max(0.0, g_timed_s - ops) / g_timed_s : 0.0);
}

int positive(const Args& a, const std::string& key, int def, int min = 1) {
  const int v = a.get_int(key, def);
  if (v < min) TL_THROW(tl::ValueError, "--", key, " must be >= ", min, ", got ", v);
  return v;
}

std::unique_ptr<tl::models::Model> load_lm(const Args& a, const char* what) {
  if (a.positional().size() != 2)
    TL_THROW(tl::ValueError, "tlt bench ", what, ": expected one MODEL directory, got ", a.positional().size() - 1,
             " positional arguments");
  return tl::models::load_model(a.positional()[1], weight_load_options(a, /*int8_by_default=*/true));
}

void bench_prompt(const Args& a, Report& r, int reps) {
  auto m = load_lm(a, "prompt");
  const int n = positive(a, "tokens", 512);
  const std::vector<int64_t> ids = pseudo_ids(n, m->config().get_positive_int("vocab_size"));
  const bool prefill = !a.has("all-logits") && m->can_generate() && m->has_kv_cache();
  int64_t kv_bytes = 0;
  Timing t;
  if (prefill) {  // generate() with one new token: the prefill step plus choosing that token
    tl::models::GenerationConfig c;
    c.max_new_tokens = 1;
    c.greedy = true;
    int64_t capacity = 0;
    t = time_runs(reps, [&] {
      tl::models::GenerationStats st;
      tl::models::generate(*m, {ids}, c, nullptr, {}, &st);
      capacity = st.capacity;
    });
    kv_bytes = kv_cache_bytes(*m, capacity);
  } else {
    tl::models::Batch b;
    b.ids = tl::Tensor::from_vector<int64_t>({1, n}, ids);  // [1, n]
    t = time_runs(reps, [&] { m->forward(b); });
  }
  r.str("logits", prefill ? "last" : "all");
  r.integer("tokens", n);
  add_timing(r, t);
  r.num("tok_s", n / t.best);
  add_memory(r, weight_bytes(*m), kv_bytes);
}

void bench_decode(const Args& a, Report& r, int reps) {
  auto m = load_lm(a, "decode");
  if (!m->can_generate() || !m->has_kv_cache())
    TL_THROW(tl::ValueError, "tlt bench decode: ", m->family(), " has no KV-cache decoding (needs llama/mistral/mixtral)");
  const int ctx = positive(a, "context", 0, 0), n = positive(a, "tokens", 64);
  const int64_t vocab = m->config().get_positive_int("vocab_size");
  // The prompt step (ctx tokens; 0: one token) is timed apart by generate()'s stats, so decode_s covers
  // exactly the n one-token steps after it.
  const std::vector<int64_t> prompt = pseudo_ids(std::max(ctx, 1), vocab);
  tl::models::GenerationConfig c;
  c.max_new_tokens = n + 1;
  c.greedy = true;
  auto once = [&] {
    tl::models::GenerationStats st;
    tl::models::generate(*m, {prompt}, c, nullptr, {}, &st);
    if (st.new_tokens != n + 1 || !st.cached)
      TL_THROW(tl::ValueError, "tlt bench decode: expected ", n + 1, " new tokens with the KV cache, got ",
               st.new_tokens, st.cached ? "" : " without a cache");
    return st;
  };
  const tl::models::GenerationStats first = once();
  start_profile();
  std::vector<double> dec, pre;
  for (int i = 0; i < reps; ++i) {
    const tl::models::GenerationStats st = once();
    dec.push_back(st.decode_s), pre.push_back(st.prefill_s);
    g_timed_s += st.prefill_s + st.decode_s;
  }
  std::sort(dec.begin(), dec.end());
  std::sort(pre.begin(), pre.end());
  const Timing t{first.decode_s, dec.front(), dec[dec.size() / 2]};
  const int64_t kv_bytes = kv_cache_bytes(*m, first.capacity);
  r.integer("context", ctx);
  r.integer("tokens", n);
  add_timing(r, t);
  r.num("prefill_s", pre.front());
  r.num("tok_s", t.best > 0 ? n / t.best : 0.0);
  r.integer("kv_positions", first.capacity);
  add_memory(r, weight_bytes(*m), kv_bytes);
}

void bench_embed(const Args& a, Report& r, int reps) {
  auto m = load_lm(a, "embed");
  const int batch = positive(a, "batch", 32), seq = positive(a, "seq", 128);
  const int64_t vocab = m->config().get_positive_int("vocab_size");
  std::vector<int64_t> ids = pseudo_ids(int64_t(batch) * seq, vocab, std::min<int64_t>(1000, vocab - 1));
  tl::Tensor t_ids = tl::Tensor::from_vector<int64_t>({batch, seq}, ids);  // [batch, seq]
  tl::Tensor mask = tl::Tensor::full({batch, seq}, 1.0);                   // [batch, seq]
  const Timing t = time_runs(reps, [&] { tl::models::sentence_embeddings(*m, t_ids, mask); });
  r.integer("batch", batch);
  r.integer("seq", seq);
  add_timing(r, t);
  r.num("seq_s", batch / t.best);
  r.num("tok_s", double(batch) * seq / t.best);
  add_memory(r, weight_bytes(*m), 0);
}

// A config.json for a LLaMA-family preset, and weights that are zero-stride views of one float: the model
// and its graph are real, no weight memory is allocated.
std::unique_ptr<tl::models::Model> preset_model(const tl::nn::ModelPreset& p) {
  using tl::nn::MlpKind;
  using tl::nn::NormType;
  using tl::nn::PosKind;
  if (p.arch != tl::nn::Arch::decoder || p.pos != PosKind::rope || p.mlp != MlpKind::swiglu ||
      p.norm != NormType::rms_norm || p.moe.n_experts != 0 || p.attn_bias || p.mlp_bias)
    TL_THROW(tl::ValueError, "tlt bench graph: preset \"", p.name,
             "\" is not a LLaMA-family decoder (RoPE, RMSNorm, SwiGLU, no biases, dense); try llama-2-7b");
  const bool mistral = p.sliding_window > 0;
  std::string cfg = "{\"model_type\": \"" + std::string(mistral ? "mistral" : "llama") + "\"" +
                    ", \"vocab_size\": " + std::to_string(p.vocab) + ", \"hidden_size\": " + std::to_string(p.d_model) +
                    ", \"intermediate_size\": " + std::to_string(p.d_ff) +
                    ", \"num_hidden_layers\": " + std::to_string(p.n_layers) +
                    ", \"num_attention_heads\": " + std::to_string(p.n_heads) +
                    ", \"num_key_value_heads\": " + std::to_string(p.n_kv_heads) +
                    ", \"head_dim\": " + std::to_string(p.head_dim) +
                    ", \"max_position_embeddings\": " + std::to_string(std::max<int64_t>(p.max_positions, 1)) +
                    ", \"rope_theta\": " + std::to_string(p.rope_theta) +
                    ", \"tie_word_embeddings\": " + (p.tied_embeddings ? "true" : "false") +
                    (mistral ? ", \"sliding_window\": " + std::to_string(p.sliding_window) : std::string()) + "}";
  const tl::io::HfConfig config = tl::io::HfConfig::parse(cfg, "preset:" + p.name);
  const tl::Tensor one = tl::Tensor::scalar(0.0f);
  std::map<std::string, tl::Tensor> w;
  auto add = [&](const std::string& name, tl::Shape s) { w.emplace(name, one.broadcast_to(s)); };
  const int64_t d = p.d_model, q = p.n_heads * p.head_dim, kv = p.n_kv_heads * p.head_dim;
  add("model.embed_tokens.weight", {p.vocab, d});
  add("model.norm.weight", {d});
  if (!p.tied_embeddings) add("lm_head.weight", {p.vocab, d});
  for (int64_t i = 0; i < p.n_layers; ++i) {
    const std::string l = "model.layers." + std::to_string(i);
    add(l + ".input_layernorm.weight", {d});
    add(l + ".post_attention_layernorm.weight", {d});
    add(l + ".self_attn.q_proj.weight", {q, d});
    add(l + ".self_attn.k_proj.weight", {kv, d});
    add(l + ".self_attn.v_proj.weight", {kv, d});
    add(l + ".self_attn.o_proj.weight", {d, q});
    add(l + ".mlp.gate_proj.weight", {p.d_ff, d});
    add(l + ".mlp.up_proj.weight", {p.d_ff, d});
    add(l + ".mlp.down_proj.weight", {d, p.d_ff});
  }
  return tl::models::make_model(config, std::move(w));
}

void bench_graph(const Args& a, Report& r, int reps) {
  if (!a.has("preset")) TL_THROW(tl::ValueError, "tlt bench graph: --preset NAME is required (e.g. llama-2-7b)");
  if (a.positional().size() != 1)
    TL_THROW(tl::ValueError, "tlt bench graph: takes no MODEL (the graph comes from --preset)");
  const tl::nn::ModelPreset& p = tl::nn::preset(*a.get("preset"));
  auto m = preset_model(p);
  const int n = positive(a, "tokens", 1);
  tl::models::Batch b;
  b.ids = tl::Tensor::from_vector<int64_t>({1, n}, pseudo_ids(n, p.vocab));
  double build = 1e30, opt = 1e30, plan = 1e30, total = 1e30;
  size_t nodes_before = 0, nodes_after = 0;
  for (int i = 0; i < reps + 1; ++i) {  // the first pass is the warm-up
    tl::Graph g;
    const double tb = seconds_of([&] { g = m->build_graph(b); });
    nodes_before = g.nodes().size();
    const double to = seconds_of([&] { tl::optimize(g, tl::OptLevel::full); });
    nodes_after = g.nodes().size();
    const double tp = seconds_of([&] { tl::Executor ex(g); });
    if (i == 0) continue;
    build = std::min(build, tb), opt = std::min(opt, to), plan = std::min(plan, tp);
    total = std::min(total, tb + to + tp);
  }
  // Where the optimiser's time goes: each pass of the full pipeline run on its own (each run_passes call also
  // verifies the graph once, so the parts add up to a little more than optimise_ms).
  std::string per_pass;
  {
    tl::Graph g = m->build_graph(b);
    for (const tl::Pass& pass : tl::pipeline_passes(tl::OptLevel::full)) {
      const double t = seconds_of([&] { tl::run_passes(g, {pass}); });
      char buf[64];
      std::snprintf(buf, sizeof buf, "%s%s %.1f", per_pass.empty() ? "" : ", ", pass.name.c_str(), t * 1e3);
      per_pass += buf;
    }
  }
  r.str("preset", p.name);
  r.integer("layers", p.n_layers);
  r.integer("tokens", n);
  r.integer("nodes", int64_t(nodes_before));
  r.integer("nodes_optimised", int64_t(nodes_after));
  r.num("build_ms", build * 1e3);
  r.num("optimise_ms", opt * 1e3);
  r.num("plan_ms", plan * 1e3);
  r.num("total_ms", total * 1e3);
  r.str("pass_ms", per_pass);
  r.integer("peak_rss_bytes", peak_rss_bytes());
  r.integer("weight_bytes", weight_bytes(*m));  // logical: zero-stride views hold none of it
}

}  // namespace

int cmd_bench(int argc, char** argv) {
  Args args(argc, argv, 2, kFlags);
  const std::vector<std::string>& pos = args.positional();
  if (args.has("help") || pos.empty()) {
    std::printf(
        "usage: tlt bench prompt MODEL [--tokens 512] [--all-logits]\n"
        "       tlt bench decode MODEL [--context 0|512] [--tokens 64]\n"
        "       tlt bench embed  MODEL [--batch 32] [--seq 128]\n"
        "       tlt bench graph  --preset llama-2-7b [--tokens 1]\n"
        "       (all: [--threads N] [--reps R] [--json])\n\n"
        "Times a model directory through the public Model API: best of R runs after one warm-up, tokens/s, and\n"
        "peak resident memory against 1.1 x (weights + KV cache) + 64 MiB.\n\n%s",
        flags_help(kFlags).c_str());
    return pos.empty() && !args.has("help") ? 2 : 0;
  }
  const std::string what = pos[0];
  g_profile = args.has("profile");
  if (g_profile && what == "graph")
    TL_THROW(tl::ValueError, "tlt bench graph: --profile times model runs; graph runs none");
  if (args.has("threads")) tl::set_num_threads(positive(args, "threads", 1));
  const int reps = positive(args, "reps", 3);
  Report r;
  r.str("bench", what);
  if (pos.size() > 1) r.str("model", pos[1]);
  r.integer("threads", tl::num_threads());
  r.integer("reps", reps);
  if (what == "prompt" || what == "decode") {
    if (what == "prompt") bench_prompt(args, r, reps);
    else bench_decode(args, r, reps);
    // q8_0 / q4_0 decode products (<= 4 rows): int8 by default, as tlt generate (--f32-activations: f32).
    r.str("activations", tl::activation_precision() == tl::ActivationPrecision::int8 ? "int8" : "f32");
  } else if (what == "embed") {
    bench_embed(args, r, reps);
  } else if (what == "graph") {
    bench_graph(args, r, reps);
  } else {
    TL_THROW(tl::ValueError, "tlt bench: unknown workload \"", what, "\" (expected prompt, decode, embed or graph)");
  }
  if (g_profile) add_profile(r, args.has("json"));
  r.print(args.has("json"));
  if (g_profile && !args.has("json")) print_profile();
  return 0;
}

}  // namespace tlt
