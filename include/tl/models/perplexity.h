// Perplexity of a causal language model on a token sequence, and logit differences between two models (the
// accuracy of reduced-precision weights against f32).
//
//   auto r = tl::models::perplexity(*m, ids, {.ctx = 256, .stride = 128});   // r.perplexity, r.windows
//   auto d = tl::models::compare_logits(*f32_model, *q8_model, first_256_ids); // d.max_abs, d.top1_agreement
//
// Sliding-window evaluation as in the Hugging Face guide "Perplexity of fixed-length models": windows of at
// most `ctx` tokens start every `stride` tokens (begin = 0, stride, 2*stride, ...; end = min(begin + ctx, n),
// the last window ends at n); a window scores only the targets that no earlier window scored (those in
// [max(previous end, begin + 1), end)), each predicted from the window's tokens before it, so with
// stride < ctx every scored token after the first window sees at least ctx - stride tokens of context. With
// stride < ctx the n - 1 tokens after the first are each scored exactly once; with stride == ctx the windows
// do not overlap and each window's first token, having no context in its window, is not scored (as in the
// guide, whose label shift drops it). Each NLL is -log_softmax(logits)[target] in double (max-subtracted
// log-sum-exp over the f32 logits).
//
// The result is the exact mean over all scored tokens. The guide's loop weights each window's mean loss by
// "valid labels - 1", which for an overlapping window after the first is one less than the number it
// averaged (each later window's weight is 1/stride too small: a fraction of a percent on long texts). Our
// per-window mean NLLs are transformers' `model(window, labels=...).loss`; tests/models/perplexity_test.cpp
// checks them, the exact mean, and the guide's weighting computed from our windows.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "tl/models.h"
#include "tl/tensor.h"

namespace tl::models {

struct PerplexityOptions {
  int64_t ctx = 256;     // tokens per forward pass (window length), >= 2, at most the model's max positions
  int64_t stride = 128;  // how far each window starts after the previous one, in [1, ctx]
};

struct PerplexityWindow {
  int64_t begin = 0, end = 0;  // the window's tokens: ids[begin, end)
  int64_t scored = 0;          // targets scored in this window: [max(previous end, begin + 1), end)
  double nll_sum = 0;          // sum of their negative log-likelihoods (nats)
  double mean_nll() const { return scored > 0 ? nll_sum / double(scored) : 0.0; }
};

struct PerplexityResult {
  double mean_nll = 0;    // nats per scored token
  double perplexity = 0;  // exp(mean_nll)
  int64_t tokens = 0;     // scored tokens: ids.size() - 1 when stride < ctx (see above)
  std::vector<PerplexityWindow> windows;
};

// Throws ValueError when `m` is not a causal language model (can_generate() and not encoder-decoder), when
// ctx < 2, stride < 1 or stride > ctx (tokens would be skipped), ctx exceeds the model's positions, ids has
// fewer than 2 tokens or an id outside [0, vocab). `on_window`, when set, is called after each window.
PerplexityResult perplexity(Model& m, const std::vector<int64_t>& ids, const PerplexityOptions& opt = {},
                            const std::function<void(const PerplexityWindow&)>& on_window = {});

// -log softmax(logits)[target] for one row of `vocab` logits, in double: max + log(sum exp(x - max)) - x[t].
// A NaN logit gives NaN; +inf logits give NaN (undefined), never a silent 0.
double token_nll(const float* logits, int64_t vocab, int64_t target);

struct LogitDiff {
  double max_abs = 0;        // max |a - b| over all positions and vocabulary entries
  double mean_abs = 0;       // mean |a - b|
  int64_t positions = 0;     // token positions compared
  int64_t top1_same = 0;     // positions whose argmax agrees
  double top1_agreement() const { return positions > 0 ? double(top1_same) / double(positions) : 0.0; }
};

// The "logits" [1, n, vocab] (f32, contiguous) of one forward pass over ids (a causal language model; ids
// checked against vocab_size).
Tensor causal_logits(Model& m, const std::vector<int64_t>& ids);

// Logits of [batch, seq, vocab] (or [seq, vocab]) tensors of equal shape; ShapeError otherwise.
LogitDiff compare_logits(const Tensor& a, const Tensor& b);
// Runs both models on ids (one sequence, in one forward pass) and compares their "logits". Both must be
// causal language models with the same vocabulary size (ValueError otherwise).
LogitDiff compare_logits(Model& a, Model& b, const std::vector<int64_t>& ids);

}  // namespace tl::models
