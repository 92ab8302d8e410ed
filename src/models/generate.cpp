// The generation loop (include/tl/models/generate.h, docs/generation.md): prompts decoded together with a KV
// cache, or one at a time by recomputation; stop tokens, stop strings, streaming text.
//
// The cache path runs Model::build_decode_graph graphs: a prefill of the left-padded prompts [b, L], then one
// token per row per step. Everything that changes per row or per step (positions, RoPE tables, the mask over
// cache slots) is an input, so a graph is compiled once per (batch, new tokens, past slots) and the past
// slots are bucketed (multiples of kBucket, at most the capacity): steps reuse a handful of executors and
// memory stays flat after the prefill.
#include "tl/models/generate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <optional>

#include "common.h"
#include "tl/error.h"

namespace tl::models {

namespace {
constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr int64_t kBucket = 32;  // past slots are passed in multiples of this (fewer graphs, bounded waste)

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD: what a lossy decode makes of a partial UTF-8 char
}  // namespace

std::vector<int64_t> eos_ids(const io::HfConfig& config, const std::string& model_dir) {
  namespace fs = std::filesystem;
  if (!model_dir.empty()) {
    const fs::path gc = fs::path(model_dir) / "generation_config.json";
    std::error_code ec;
    if (fs::is_regular_file(gc, ec)) {
      const io::HfConfig g = io::HfConfig::load(gc.string());
      if (g.has("eos_token_id")) return g.get_int_or_int_array("eos_token_id");
    }
  }
  if (config.has("eos_token_id")) return config.get_int_or_int_array("eos_token_id");
  return {};
}

// ---- TextStream
// ---------------------------------------------------------------------------------------------

TextStream::TextStream(const tok::Tokenizer& tok, std::vector<std::string> stop_strings)
    : tok_(tok), stops_(std::move(stop_strings)) {}

namespace {
std::string decode_range(const tok::Tokenizer& tok, const std::vector<int32_t>& ids, size_t a, size_t b) {
  return tok.decode(std::vector<int32_t>(ids.begin() + ptrdiff_t(a), ids.begin() + ptrdiff_t(b)), true);
}
}  // namespace

std::string TextStream::push(int64_t id) {
  if (stopped_) return "";
  ids_.push_back(int32_t(id));
  // Decode the new ids together with the previous piece's ids (prefix_..read_) so that decoders which treat
  // the start of a text specially (Metaspace, Strip) see the same context as a whole-sequence decode; release
  // the difference unless it ends in U+FFFD (a multi-byte character still missing bytes).
  const std::string before = decode_range(tok_, ids_, prefix_, read_);
  const std::string now = decode_range(tok_, ids_, prefix_, ids_.size());
  if (now.size() > before.size() && !ends_with(now, kReplacement)) {
    const size_t old = text_.size();
    text_ += now.substr(before.size());
    prefix_ = read_;
    read_ = ids_.size();
    size_t longest = 0;
    for (const auto& s : stops_) longest = std::max(longest, s.size());
    const size_t from = old >= longest ? old - longest + 1 : 0;
    size_t cut = std::string::npos;
    for (const auto& s : stops_) cut = std::min(cut, text_.find(s, from));
    if (cut != std::string::npos) {
      text_.resize(cut);
      stopped_ = true;
    }
  }
  return release(false);
}

std::string TextStream::finish() {
  if (!stopped_ && read_ < ids_.size()) {  // flush a trailing partial character as decoded (with U+FFFD)
    const std::string before = decode_range(tok_, ids_, prefix_, read_);
    const std::string now = decode_range(tok_, ids_, prefix_, ids_.size());
    if (now.size() > before.size()) text_ += now.substr(before.size());
    read_ = prefix_ = ids_.size();
    size_t cut = std::string::npos;
    for (const auto& s : stops_) cut = std::min(cut, text_.find(s));
    if (cut != std::string::npos && cut >= emitted_) {
      text_.resize(cut);
      stopped_ = true;
    }
  }
  return release(true);
}

std::string TextStream::release(bool final) {
  size_t end = text_.size();
  if (!final && !stopped_) {
    // Hold back a tail that could still grow into a stop string, so nothing printed is later cut.
    size_t hold = 0;
    for (const auto& s : stops_)
      for (size_t n = std::min(s.size() - 1, text_.size()); n > hold; --n)
        if (text_.compare(text_.size() - n, n, s, 0, n) == 0) {
          hold = n;
          break;
        }
    end -= hold;
  }
  if (end <= emitted_) return "";
  std::string piece = text_.substr(emitted_, end - emitted_);
  emitted_ = end;
  return piece;
}

// ---- the loop
// -----------------------------------------------------------------------------------------------

namespace {

struct RowState {
  std::vector<int64_t> seen;  // prompt + new ids (the repetition penalty's input)
  GenerationResult res;
  std::optional<TextStream> stream;
  Rng rng;
  bool done = false;
};

// Records `id` for a row, streams its text and decides whether the row ends.
void accept(RowState& r, int row, int64_t id, const GenerationConfig& c, const TokenCallback& cb) {
  r.res.ids.push_back(id);
  r.seen.push_back(id);
  std::string piece = r.stream ? r.stream->push(id) : std::string();
  if (std::find(c.stop_ids.begin(), c.stop_ids.end(), id) != c.stop_ids.end()) {
    r.res.reason = StopReason::stop_token;
    r.done = true;
  } else if (r.stream && r.stream->stopped()) {
    r.res.reason = StopReason::stop_string;
    r.done = true;
  } else if (int(r.res.ids.size()) >= c.max_new_tokens) {
    r.res.reason = StopReason::max_new_tokens;
    r.done = true;
  }
  if (r.done && r.stream) piece += r.stream->finish();
  if (cb) cb(row, id, piece);
}

// The capacity is reached: the row ends, releasing any text its stream held back (callback id -1).
void end_context(RowState& r, int row, const TokenCallback& cb) {
  if (r.done) return;
  r.done = true;
  r.res.reason = StopReason::context_full;
  if (r.stream) {
    const std::string rest = r.stream->finish();
    if (cb && !rest.empty()) cb(row, -1, rest);
  }
}
void end_context(std::vector<RowState>& rows, const TokenCallback& cb) {
  for (size_t i = 0; i < rows.size(); ++i) end_context(rows[i], int(i), cb);
}

// The position limit of a model without a cache spec (0: none, e.g. T5's relative positions).
int64_t position_limit(const Model& m) {
  const io::HfConfig& c = m.config();
  if (m.family() == "t5") return 0;
  if (auto v = c.opt_int("max_position_embeddings")) return *v;
  if (auto v = c.opt_int("n_positions")) return *v;
  return 0;
}

// Slots the cache needs: the explicit capacity, else prompt + new tokens, within the position limit.
int64_t choose_capacity(const GenerationConfig& c, int64_t limit, int64_t longest, const std::string& fam) {
  if (c.capacity > 0 && limit > 0 && c.capacity > limit)
    TL_THROW(ValueError, "[generate] capacity (--ctx-size) = ", c.capacity, " exceeds the ", fam,
             " model's position limit ", limit);
  int64_t cap = c.capacity > 0 ? c.capacity : longest + c.max_new_tokens;
  if (limit > 0) cap = std::min(cap, limit);
  if (longest > cap)
    TL_THROW(ValueError, "[generate] the prompt has ", longest, " tokens, more than the capacity of ", cap,
             " positions", limit > 0 && cap == limit ? " (the model's position limit)" : "");
  return cap;
}

// One row at a time, the whole sequence each step (families without a cache, or use_cache = false).
void run_recompute(Model& m, const std::vector<std::vector<int64_t>>& prompts, const GenerationConfig& c,
                   std::vector<RowState>& rows, const TokenCallback& cb, GenerationStats& st) {
  const bool t5 = m.family() == "t5";
  const int64_t limit = position_limit(m);
  using clock = std::chrono::steady_clock;
  for (size_t r = 0; r < prompts.size(); ++r) {
    const std::vector<int64_t>& prompt = prompts[r];
    const int64_t cap = t5 ? 0 : choose_capacity(c, limit, int64_t(prompt.size()), m.family());
    std::vector<int64_t> seq =
        t5 ? std::vector<int64_t>{m.config().get_int("decoder_start_token_id", 0)} : prompt;
    RowState& row = rows[r];
    while (!row.done) {
      if (cap > 0 && int64_t(seq.size()) >= cap) {  // one more token would exceed the capacity
        end_context(row, int(r), cb);
        break;
      }
      const auto t0 = clock::now();
      Batch b;
      if (t5) {
        b.ids = Tensor::from_vector<int64_t>({1, int64_t(prompt.size())}, prompt);
        b.decoder_ids = Tensor::from_vector<int64_t>({1, int64_t(seq.size())}, seq);
      } else {
        b.ids = Tensor::from_vector<int64_t>({1, int64_t(seq.size())}, seq);
      }
      const Tensor logits = m.forward(b).at("logits");  // [1, s, vocab]
      const int64_t s = logits.size(1), v = logits.size(2);
      Tensor last = logits.slice(1, s - 1, s).contiguous();  // [1, 1, vocab]
      const int64_t id = choose_next(std::span<float>(last.data<float>(), size_t(v)), row.seen, c, row.rng);
      (row.res.ids.empty() ? st.prefill_s : st.decode_s) +=
          std::chrono::duration<double>(clock::now() - t0).count();
      accept(row, int(r), id, c, cb);
      seq.push_back(id);
    }
  }
}

// Per layer, the step graph's output names for its new keys and values ("<prefix>.key_new" / ".value_new"),
// made once per generation rather than per step.
std::vector<std::pair<std::string, std::string>> kv_new_names(const Model::KvSpec& spec) {
  std::vector<std::pair<std::string, std::string>> names;
  for (const std::string& p : spec.prefixes) names.emplace_back(p + ".key_new", p + ".value_new");
  return names;
}

// The cache for the batched path: per layer [b, hkv, slots, hd] buffers; slot j holds column slot_col[j]
// (-1: empty). Without a window slots are columns; with one the cache is a ring of `window` slots.
struct SlotCache {
  std::vector<Tensor> k, v;
  std::vector<int64_t> slot_col;
  int64_t slots = 0;
  bool ring = false;
};

void run_cached(Model& m, const std::vector<std::vector<int64_t>>& prompts, const GenerationConfig& c,
                std::vector<RowState>& rows, const TokenCallback& cb, GenerationStats& st) {
  using clock = std::chrono::steady_clock;
  const Model::KvSpec spec = m.kv_spec();
  const int64_t B = int64_t(prompts.size()), nl = int64_t(spec.prefixes.size());
  int64_t L = 0;
  for (const auto& p : prompts) L = std::max<int64_t>(L, int64_t(p.size()));
  std::vector<int64_t> pad(static_cast<size_t>(B));  // left padding per row
  for (int64_t r = 0; r < B; ++r) pad[size_t(r)] = L - int64_t(prompts[size_t(r)].size());

  SlotCache cache;
  if (spec.window > 0) {
    if (c.capacity > 0 && c.capacity < spec.window)
      TL_THROW(ValueError, "[generate] capacity (--ctx-size) = ", c.capacity, " is smaller than the ",
               m.family(), " model's sliding window ", spec.window,
               "; a sliding-window model keeps exactly the last window positions");
    cache.slots = spec.window;
    cache.ring = true;
  } else {
    cache.slots = choose_capacity(c, spec.max_positions, L, m.family());
  }
  st.capacity = cache.slots;
  cache.slot_col.assign(size_t(cache.slots), -1);
  for (int64_t l = 0; l < nl; ++l) {
    cache.k.push_back(Tensor::zeros({B, spec.kv_heads, cache.slots, spec.head_dim}));  // [b, hkv, slots, hd]
    cache.v.push_back(Tensor::zeros({B, spec.kv_heads, cache.slots, spec.head_dim}));  // [b, hkv, slots, hd]
  }
  const int64_t half = spec.rope ? spec.rope->rot() / 2 : 0;

  // Inputs for n new columns [col0, col0 + n) after `past` slots.
  auto step_inputs = [&](const std::vector<int64_t>& ids, int64_t col0, int64_t n, int64_t past) {
    std::map<std::string, Tensor> in;
    in["ids"] = Tensor::from_vector<int64_t>({B, n}, ids);
    std::vector<int64_t> pos(size_t(B * n));
    for (int64_t r = 0; r < B; ++r)
      for (int64_t i = 0; i < n; ++i)
        pos[size_t(r * n + i)] = std::max<int64_t>(col0 + i - pad[size_t(r)], 0);
    if (spec.rope) {
      Tensor cos = Tensor::empty({B, 1, n, half}), sin = Tensor::empty({B, 1, n, half});  // [b, 1, n, rot/2]
      for (int64_t r = 0; r < B; ++r) {
        // Positions of this row's real columns are consecutive: one table for the run (seq_len as in HF's
        // dynamic scaling: the sequence length so far).
        const int64_t first = pos[size_t(r * n)];
        const int64_t last = pos[size_t(r * n + n - 1)];
        const nn::RopeTables t = nn::rope_tables(*spec.rope, last - first + 1, first, last + 1);  // [k, half]
        for (int64_t i = 0; i < n; ++i) {
          const int64_t row = pos[size_t(r * n + i)] - first;
          std::copy_n(t.cos.data<float>() + row * half, half, cos.data<float>() + (r * n + i) * half);
          std::copy_n(t.sin.data<float>() + row * half, half, sin.data<float>() + (r * n + i) * half);
        }
      }
      in["rope_cos"] = cos;
      in["rope_sin"] = sin;
    } else {
      in["positions"] = Tensor::from_vector<int64_t>({B, n}, pos);
    }
    Tensor bias = Tensor::full({B, 1, n, past + n}, kNegInf);  // [b, 1, n, past + n]
    float* bp = bias.data<float>();
    for (int64_t r = 0; r < B; ++r)
      for (int64_t i = 0; i < n; ++i) {
        const int64_t q = col0 + i;
        auto visible = [&](int64_t kc) {
          return kc >= pad[size_t(r)] && kc <= q && (spec.window == 0 || q - kc < spec.window);
        };
        float* row = bp + (r * n + i) * (past + n);
        for (int64_t j = 0; j < past; ++j)
          if (cache.slot_col[size_t(j)] >= 0 && visible(cache.slot_col[size_t(j)])) row[j] = 0.0f;
        for (int64_t j = 0; j < n; ++j)
          if (visible(col0 + j)) row[past + j] = 0.0f;
      }
    in["attn_bias"] = bias;
    for (int64_t l = 0; l < nl && past > 0; ++l) {
      in[spec.prefixes[size_t(l)] + ".past_key"] =
          cache.k[size_t(l)].slice(2, 0, past);  // [b, hkv, past, hd]
      in[spec.prefixes[size_t(l)] + ".past_value"] =
          cache.v[size_t(l)].slice(2, 0, past);  // [b, hkv, past, hd]
    }
    return in;
  };
  // Runs a step for columns col0..col0+n and stores its new keys/values in their slots: written by the
  // executor straight into the cache when the slots are consecutive (always, unless a ring wraps).
  const auto names = kv_new_names(spec);
  auto run_step = [&](Executor& ex, const std::map<std::string, Tensor>& in, int64_t col0, int64_t n) {
    const int64_t hd = spec.head_dim, S = cache.slots;
    const bool direct = n <= S && col0 % S + n <= S;
    std::map<std::string, Tensor> into;
    for (int64_t l = 0; l < nl && direct; ++l) {
      const int64_t s0 = col0 % S;
      into[names[size_t(l)].first] = cache.k[size_t(l)].slice(2, s0, s0 + n);   // [b, hkv, n, hd]
      into[names[size_t(l)].second] = cache.v[size_t(l)].slice(2, s0, s0 + n);  // [b, hkv, n, hd]
    }
    std::map<std::string, Tensor> out = ex.run(in, into);
    for (int64_t l = 0; l < nl && !direct; ++l)
      for (const auto& [name, buf] :
           {std::pair<const std::string*, Tensor*>{&names[size_t(l)].first, &cache.k[size_t(l)]},
            {&names[size_t(l)].second, &cache.v[size_t(l)]}}) {
        const Tensor src = out.at(*name).contiguous();  // [b, hkv, n, hd]
        const float* s = src.data<float>();
        float* d = buf->data<float>();
        for (int64_t i = std::max<int64_t>(0, n - S); i < n; ++i) {  // a ring keeps only the last S columns
          const int64_t slot = (col0 + i) % S;
          for (int64_t bh = 0; bh < B * spec.kv_heads; ++bh)
            std::copy_n(s + (bh * n + i) * hd, hd, d + (bh * S + slot) * hd);
        }
      }
    for (int64_t i = std::max<int64_t>(0, n - S); i < n; ++i)
      cache.slot_col[size_t((col0 + i) % S)] = col0 + i;
    return out;
  };
  auto pick = [&](const Tensor& logits, int64_t col) {  // logits [b, n, vocab]: choose for every live row
    const int64_t v = logits.size(2);
    const Tensor lc = logits.slice(1, col, col + 1).contiguous();  // [b, 1, vocab]
    std::vector<int64_t> next(size_t(B), 0);
    for (int64_t r = 0; r < B; ++r) {
      RowState& row = rows[size_t(r)];
      if (row.done) continue;
      std::vector<float> x(lc.data<float>() + r * v, lc.data<float>() + (r + 1) * v);
      next[size_t(r)] = choose_next(x, row.seen, c, row.rng);
    }
    return next;
  };
  auto emit = [&](const std::vector<int64_t>& next) {
    for (int64_t r = 0; r < B; ++r)
      if (!rows[size_t(r)].done) accept(rows[size_t(r)], int(r), next[size_t(r)], c, cb);
  };
  auto all_done = [&] {
    return std::all_of(rows.begin(), rows.end(), [](const RowState& r) { return r.done; });
  };

  // Prefill: the left-padded prompts in one step.
  auto t0 = clock::now();
  std::vector<int64_t> ids(size_t(B * L), 0);
  for (int64_t r = 0; r < B; ++r)
    std::copy(prompts[size_t(r)].begin(), prompts[size_t(r)].end(), ids.begin() + r * L + pad[size_t(r)]);
  auto out = run_step(m.decode_executor(B, L, 0, /*last_logits=*/true), step_inputs(ids, 0, L, 0), 0, L);
  std::vector<int64_t> next = pick(out.at("logits"), 0);  // [b, 1, vocab]: the last column only
  st.prefill_s = std::chrono::duration<double>(clock::now() - t0).count();
  if (!cache.ring && L >= cache.slots) {
    end_context(rows, cb);
    return;
  }
  emit(next);
  // Decode: one column per step; finished rows keep feeding their last id (ignored) so shapes stay fixed.
  t0 = clock::now();
  for (int64_t col = L; !all_done(); ++col) {
    if (!cache.ring && col + 2 > cache.slots) {  // the token this step makes would sit past the capacity
      end_context(rows, cb);
      break;
    }
    const int64_t past = std::min(cache.slots, (col + kBucket - 1) / kBucket * kBucket);
    for (int64_t r = 0; r < B; ++r) ids[size_t(r)] = rows[size_t(r)].res.ids.back();
    std::vector<int64_t> step(ids.begin(), ids.begin() + B);
    out = run_step(m.decode_executor(B, 1, past), step_inputs(step, col, 1, past), col, 1);
    next = pick(out.at("logits"), 0);
    emit(next);
  }
  st.decode_s = std::chrono::duration<double>(clock::now() - t0).count();
}

// T5: the encoder once per prompt, then one decoder token per step against cached self-attention keys/values
// (a graph per step length: the relative position bias is a constant of the step). One prompt at a time.
void run_encoder_decoder(Model& m, const std::vector<std::vector<int64_t>>& prompts,
                         const GenerationConfig& c, std::vector<RowState>& rows, const TokenCallback& cb,
                         GenerationStats& st) {
  using clock = std::chrono::steady_clock;
  const Model::KvSpec spec = m.kv_spec();
  const int64_t nl = int64_t(spec.prefixes.size()), cap = int64_t(c.max_new_tokens);
  std::vector<Tensor> k, v;
  for (int64_t l = 0; l < nl; ++l) {
    k.push_back(Tensor::zeros({1, spec.kv_heads, cap, spec.head_dim}));  // [1, h, cap, hd]
    v.push_back(Tensor::zeros({1, spec.kv_heads, cap, spec.head_dim}));  // [1, h, cap, hd]
  }
  st.capacity = cap;
  const auto names = kv_new_names(spec);
  for (size_t r = 0; r < prompts.size(); ++r) {
    const int64_t s = int64_t(prompts[r].size());
    auto t0 = clock::now();
    const Tensor ids = Tensor::from_vector<int64_t>({1, s}, prompts[r]);
    const Tensor mask = Tensor::full({1, s}, 1.0);
    const Tensor enc = m.compiled("t5enc:" + std::to_string(s), [&] { return m.build_encoder_graph(1, s); })
                           .run({{"ids", ids}, {"mask", mask}})
                           .at("encoder_hidden");  // [1, s, d]
    int64_t last = m.config().get_int("decoder_start_token_id", 0);
    RowState& row = rows[r];
    for (int64_t past = 0; !row.done; ++past) {
      std::map<std::string, Tensor> in{{"decoder_ids", Tensor::from_vector<int64_t>({1, 1}, {last})},
                                       {"encoder_hidden", enc},
                                       {"mask", mask}};
      for (int64_t l = 0; l < nl && past > 0; ++l) {
        in[spec.prefixes[size_t(l)] + ".past_key"] = k[size_t(l)].slice(2, 0, past);    // [1, h, past, hd]
        in[spec.prefixes[size_t(l)] + ".past_value"] = v[size_t(l)].slice(2, 0, past);  // [1, h, past, hd]
      }
      std::map<std::string, Tensor> into;  // the step's keys/values go straight into slot `past`
      for (int64_t l = 0; l < nl; ++l) {
        into[names[size_t(l)].first] = k[size_t(l)].slice(2, past, past + 1);   // [1, h, 1, hd]
        into[names[size_t(l)].second] = v[size_t(l)].slice(2, past, past + 1);  // [1, h, 1, hd]
      }
      const auto out = m.compiled("t5step:" + std::to_string(s) + ":" + std::to_string(past), [&] {
                          return m.build_decoder_step_graph(1, s, 1, past);
                        }).run(in, into);
      Tensor logits = out.at("logits").contiguous();  // [1, 1, vocab]
      last =
          choose_next(std::span<float>(logits.data<float>(), size_t(logits.size(2))), row.seen, c, row.rng);
      (past == 0 ? st.prefill_s : st.decode_s) += std::chrono::duration<double>(clock::now() - t0).count();
      t0 = clock::now();
      accept(row, int(r), last, c, cb);
    }
  }
}

}  // namespace

std::vector<GenerationResult> generate(Model& m, const std::vector<std::vector<int64_t>>& prompts,
                                       const GenerationConfig& c, const tok::Tokenizer* tok,
                                       const TokenCallback& on_token, GenerationStats* stats) {
  c.validate();
  if (!m.can_generate())
    TL_THROW(ValueError, "[", m.family(), "] this model has no language-model head to generate with");
  if (prompts.empty()) TL_THROW(ValueError, "[generate] no prompts given");
  if (!c.stop_strings.empty() && !tok)
    TL_THROW(ValueError, "[generate] stop strings need a tokenizer to decode the new tokens");
  const int64_t vocab = m.config().get_positive_int("vocab_size");
  for (size_t r = 0; r < prompts.size(); ++r) {
    if (prompts[r].empty()) TL_THROW(ValueError, "[generate] prompt ", r, " is empty");
    for (int64_t id : prompts[r])
      if (id < 0 || id >= vocab)
        TL_THROW(ValueError, "[generate] prompt ", r, ": id ", id, " is outside [0, ", vocab,
                 ") (the vocabulary size)");
  }
  std::vector<RowState> rows(prompts.size());
  GenerationStats st;
  for (size_t r = 0; r < prompts.size(); ++r) {
    // The repetition penalty sees the decoder's ids, as transformers passes them: for an encoder-decoder
    // model that is the decoder start token and the new ids, not the encoder prompt.
    rows[r].seen = m.is_encoder_decoder()
                       ? std::vector<int64_t>{m.config().get_int("decoder_start_token_id", 0)}
                       : prompts[r];
    rows[r].rng = Rng(c.seed);  // the same stream per row: a row's ids equal its solo run
    if (tok) rows[r].stream.emplace(*tok, c.stop_strings);
    rows[r].done = c.max_new_tokens == 0;
    st.prompt_tokens += int64_t(prompts[r].size());
  }
  if (c.max_new_tokens > 0) {
    if (c.use_cache && m.is_encoder_decoder()) {
      st.cached = true;
      run_encoder_decoder(m, prompts, c, rows, on_token, st);
    } else if (c.use_cache && m.has_kv_cache()) {
      st.cached = st.batched = true;
      run_cached(m, prompts, c, rows, on_token, st);
    } else {
      run_recompute(m, prompts, c, rows, on_token, st);
    }
  }
  std::vector<GenerationResult> res;
  for (RowState& r : rows) {
    if (r.stream) r.res.text = r.stream->text();
    st.new_tokens += int64_t(r.res.ids.size());
    res.push_back(std::move(r.res));
  }
  if (stats) *stats = st;
  return res;
}

}  // namespace tl::models
