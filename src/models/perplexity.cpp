// Sliding-window perplexity and logit comparison (include/tl/models/perplexity.h).
#include "tl/models/perplexity.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "tl/error.h"

namespace tl::models {

namespace {

void require_causal_lm(const Model& m, const char* what) {
  if (!m.can_generate() || m.is_encoder_decoder())
    TL_THROW(ValueError, what, " needs a causal language model (llama, mistral, mixtral, gpt2), got ",
             m.family(), m.is_encoder_decoder() ? " (an encoder-decoder)" : " (not generative)");
}

int64_t vocab_size(const Model& m) { return m.config().get_positive_int("vocab_size"); }

// The positions a window may span: the KV spec's limit (max_position_embeddings / n_positions), 0 = none.
int64_t max_positions(const Model& m) {
  if (m.has_kv_cache()) return m.kv_spec().max_positions;
  return m.config().get_int("max_position_embeddings", m.config().get_int("n_positions", 0));
}

void check_ids_in_vocab(const std::vector<int64_t>& ids, int64_t vocab, const char* what) {
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= vocab)
      TL_THROW(ValueError, what, ": id ", ids[i], " at position ", i, " is outside [0, ", vocab,
               ") (the model's vocab_size)");
}

// [1, seq, vocab] f32 logits of ids[begin, end), contiguous.
Tensor window_logits(Model& m, const std::vector<int64_t>& ids, int64_t begin, int64_t end) {
  Tensor x = Tensor::empty({1, end - begin}, DType::i64);  // [1, seq]
  std::copy(ids.begin() + begin, ids.begin() + end, x.data<int64_t>());
  Batch b;
  b.ids = x;
  auto out = m.forward(b);
  auto it = out.find("logits");
  if (it == out.end()) TL_THROW(ValueError, m.family(), " has no \"logits\" output");
  Tensor logits = it->second.to(DType::f32).contiguous();  // [1, seq, vocab]
  TL_CHECK(logits.rank() == 3 && logits.size(1) == end - begin);
  return logits;
}

}  // namespace

double token_nll(const float* logits, int64_t vocab, int64_t target) {
  TL_CHECK(vocab > 0 && target >= 0 && target < vocab);
  double mx = -std::numeric_limits<double>::infinity();
  for (int64_t v = 0; v < vocab; ++v) {
    const double x = logits[v];
    if (std::isnan(x)) return std::numeric_limits<double>::quiet_NaN();
    mx = std::max(mx, x);
  }
  // All -inf, or any +inf: the distribution is undefined.
  if (!std::isfinite(mx)) return std::numeric_limits<double>::quiet_NaN();
  double sum = 0;
  for (int64_t v = 0; v < vocab; ++v) sum += std::exp(double(logits[v]) - mx);
  return mx + std::log(sum) - double(logits[target]);
}

PerplexityResult perplexity(Model& m, const std::vector<int64_t>& ids, const PerplexityOptions& opt,
                            const std::function<void(const PerplexityWindow&)>& on_window) {
  require_causal_lm(m, "perplexity");
  if (opt.ctx < 2) TL_THROW(ValueError, "perplexity: ctx must be >= 2 (a target needs one token of context), got ", opt.ctx);
  if (opt.stride < 1 || opt.stride > opt.ctx)
    TL_THROW(ValueError, "perplexity: stride must be in [1, ctx = ", opt.ctx, "] (a larger one skips tokens), got ",
             opt.stride);
  if (const int64_t mp = max_positions(m); mp > 0 && opt.ctx > mp)
    TL_THROW(ValueError, "perplexity: ctx ", opt.ctx, " exceeds the model's ", mp, " positions");
  if (ids.size() < 2)
    TL_THROW(ValueError, "perplexity: the text must have at least 2 tokens (one to predict from, one to score), got ",
             ids.size());
  const int64_t vocab = vocab_size(m);
  check_ids_in_vocab(ids, vocab, "perplexity");

  const int64_t n = int64_t(ids.size());
  PerplexityResult r;
  double total = 0;
  int64_t prev_end = 0;
  for (int64_t begin = 0; begin < n; begin += opt.stride) {
    const int64_t end = std::min(begin + opt.ctx, n);
    const Tensor logits = window_logits(m, ids, begin, end);  // [1, end - begin, vocab]
    TL_CHECK(logits.size(2) == vocab);
    const float* lp = logits.data<float>();
    PerplexityWindow w{begin, end, 0, 0.0};
    // Target ids[t] from the logits at t - 1; the window's first token has nothing before it in the window.
    for (int64_t t = std::max(prev_end, begin + 1); t < end; ++t) {
      w.nll_sum += token_nll(lp + (t - 1 - begin) * vocab, vocab, ids[size_t(t)]);
      ++w.scored;
    }
    total += w.nll_sum;
    r.tokens += w.scored;
    r.windows.push_back(w);
    if (on_window) on_window(w);
    prev_end = end;
    if (end == n) break;
  }
  TL_CHECK(r.tokens >= 1 && r.tokens <= n - 1);
  r.mean_nll = total / double(r.tokens);
  r.perplexity = std::exp(r.mean_nll);
  return r;
}

LogitDiff compare_logits(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || (a.rank() != 2 && a.rank() != 3) || a.numel() == 0)
    TL_THROW(ShapeError, "compare_logits: expected two non-empty [batch, seq, vocab] or [seq, vocab] tensors of one shape, got ",
             shape_str(a.shape()), " and ", shape_str(b.shape()));
  const Tensor x = a.to(DType::f32).contiguous(), y = b.to(DType::f32).contiguous();
  const int64_t vocab = a.shape().back();
  const int64_t rows = a.numel() / vocab;
  const float* px = x.data<float>();
  const float* py = y.data<float>();
  LogitDiff d;
  double sum = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* u = px + r * vocab;
    const float* v = py + r * vocab;
    for (int64_t i = 0; i < vocab; ++i) {
      const double e = std::abs(double(u[i]) - double(v[i]));
      // NaN must not vanish in max(): report it.
      d.max_abs = std::isnan(e) ? e : std::isnan(d.max_abs) ? d.max_abs : std::max(d.max_abs, e);
      sum += e;
    }
    d.top1_same += (std::max_element(u, u + vocab) - u) == (std::max_element(v, v + vocab) - v);
  }
  d.positions = rows;
  d.mean_abs = sum / double(a.numel());
  return d;
}

Tensor causal_logits(Model& m, const std::vector<int64_t>& ids) {
  require_causal_lm(m, "causal_logits");
  if (ids.empty()) TL_THROW(ValueError, "causal_logits: no token ids");
  check_ids_in_vocab(ids, vocab_size(m), "causal_logits");
  return window_logits(m, ids, 0, int64_t(ids.size()));
}

LogitDiff compare_logits(Model& a, Model& b, const std::vector<int64_t>& ids) {
  require_causal_lm(a, "compare_logits");
  require_causal_lm(b, "compare_logits");
  const int64_t va = vocab_size(a), vb = vocab_size(b);
  if (va != vb) TL_THROW(ValueError, "compare_logits: the models' vocab_size differ: ", va, " vs ", vb);
  if (ids.empty()) TL_THROW(ValueError, "compare_logits: no token ids");
  check_ids_in_vocab(ids, va, "compare_logits");
  const int64_t n = int64_t(ids.size());
  return compare_logits(window_logits(a, ids, 0, n), window_logits(b, ids, 0, n));
}

}  // namespace tl::models
