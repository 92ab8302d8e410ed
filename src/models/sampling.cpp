// Logit processing as transformers 4.57.1's processors do it (RepetitionPenaltyLogitsProcessor,
// TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper, MinPLogitsWarper, in the order
// GenerationMixin._get_logits_processor appends them), a portable seeded RNG, and inverse-CDF sampling
// (include/tl/models/generate.h). Checked against transformers' own processors by
// tests/models/generate_sampling_test.cpp (fixtures: scripts/gen_sampling_fixtures.py).
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "tl/error.h"
#include "tl/models/generate.h"

namespace tl::models {

namespace {
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Indices of `logits` sorted by value ascending, ties by index (a stable order; torch.sort's tie order is
// unspecified, so exact ties at a top-p / min-p boundary are the one place results may differ).
std::vector<int64_t> order_ascending(std::span<const float> logits) {
  std::vector<int64_t> idx(logits.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(),
                   [&](int64_t a, int64_t b) { return logits[size_t(a)] < logits[size_t(b)]; });
  return idx;
}
}  // namespace

void GenerationConfig::validate() const {
  if (max_new_tokens < 0)
    TL_THROW(ValueError, "[generate] max_new_tokens = ", max_new_tokens, " must be >= 0");
  if (!(temperature > 0.0f) || !std::isfinite(temperature))
    TL_THROW(ValueError, "[generate] temperature = ", temperature,
             " must be a finite number > 0 (use greedy decoding for temperature 0)");
  if (top_k < 0) TL_THROW(ValueError, "[generate] top_k = ", top_k, " must be >= 0 (0 turns it off)");
  if (!(top_p > 0.0f && top_p <= 1.0f))
    TL_THROW(ValueError, "[generate] top_p = ", top_p, " must be in (0, 1]");
  if (!(min_p >= 0.0f && min_p <= 1.0f))
    TL_THROW(ValueError, "[generate] min_p = ", min_p, " must be in [0, 1]");
  if (!(repetition_penalty > 0.0f) || !std::isfinite(repetition_penalty))
    TL_THROW(ValueError, "[generate] repetition_penalty = ", repetition_penalty,
             " must be a finite number > 0 (1 turns it off)");
  if (min_tokens_to_keep < 1)
    TL_THROW(ValueError, "[generate] min_tokens_to_keep = ", min_tokens_to_keep, " must be >= 1");
  if (capacity < 0) TL_THROW(ValueError, "[generate] capacity = ", capacity, " must be >= 0 (0: automatic)");
  for (const std::string& s : stop_strings)
    if (s.empty()) TL_THROW(ValueError, "[generate] a stop string is empty");
}

void apply_repetition_penalty(std::span<float> logits, std::span<const int64_t> prev, float penalty) {
  if (penalty == 1.0f) return;
  const int64_t v = int64_t(logits.size());
  std::vector<char> seen(logits.size(), 0);
  for (int64_t id : prev) {
    if (id < 0 || id >= v)
      TL_THROW(ValueError, "[generate] repetition penalty: id ", id, " is outside [0, ", v, ")");
    if (seen[size_t(id)]) continue;  // scatter of the gathered scores: once per distinct id
    seen[size_t(id)] = 1;
    float& s = logits[size_t(id)];
    s = s < 0 ? s * penalty : s / penalty;
  }
}

std::vector<double> softmax(std::span<const float> logits) {
  std::vector<double> p(logits.size(), 0.0);
  float mx = kNegInf;
  for (float x : logits) mx = std::max(mx, x);
  if (mx == kNegInf) return p;
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    p[i] = logits[i] == kNegInf ? 0.0 : std::exp(double(logits[i]) - double(mx));
    sum += p[i];
  }
  for (double& x : p) x /= sum;
  return p;
}

void apply_warpers(std::span<float> logits, const GenerationConfig& c) {
  const int64_t v = int64_t(logits.size()), keep = c.min_tokens_to_keep;
  if (v == 0) return;
  if (c.temperature != 1.0f)
    for (float& x : logits) x = x / c.temperature;
  if (c.top_k > 0) {
    // TopKLogitsWarper: k = max(top_k, min_keep) capped at the vocabulary; everything below the k-th largest
    // value goes (so values tied with it all stay).
    const int64_t k = std::min<int64_t>(std::max<int64_t>(c.top_k, keep), v);
    std::vector<float> sorted(logits.begin(), logits.end());
    std::nth_element(sorted.begin(), sorted.begin() + (k - 1), sorted.end(), std::greater<float>());
    const float kth = sorted[size_t(k - 1)];
    for (float& x : logits)
      if (x < kth) x = kNegInf;
  }
  if (c.top_p < 1.0f) {
    // TopPLogitsWarper: ascending order, cumulative softmax; drop tokens whose cumulative mass is <= 1 - p,
    // never the last min_keep.
    const std::vector<int64_t> idx = order_ascending(logits);
    std::vector<float> sorted(static_cast<size_t>(v));
    for (int64_t i = 0; i < v; ++i) sorted[size_t(i)] = logits[size_t(idx[size_t(i)])];
    const std::vector<double> p = softmax(sorted);
    double cum = 0;
    const double limit = 1.0 - double(c.top_p);
    for (int64_t i = 0; i < v - keep; ++i) {
      cum += p[size_t(i)];
      if (cum <= limit) logits[size_t(idx[size_t(i)])] = kNegInf;
    }
  }
  if (c.min_p > 0.0f) {
    // MinPLogitsWarper: drop tokens with probability < min_p * (the top probability), never the min_keep
    // most likely ones.
    const std::vector<double> p = softmax(logits);
    const double threshold = double(c.min_p) * *std::max_element(p.begin(), p.end());
    std::vector<int64_t> idx = order_ascending(logits);
    std::reverse(idx.begin(), idx.end());  // descending (ties: later index first; only matters at the cut)
    for (int64_t i = keep; i < v; ++i)
      if (p[size_t(idx[size_t(i)])] < threshold) logits[size_t(idx[size_t(i)])] = kNegInf;
  }
}

void process_logits(std::span<float> logits, std::span<const int64_t> prev, const GenerationConfig& c) {
  apply_repetition_penalty(logits, prev, c.repetition_penalty);
  if (!c.greedy) apply_warpers(logits, c);
}

namespace {
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}
}  // namespace

Rng::Rng(uint64_t seed) {
  for (uint64_t& s : s_) s = splitmix64(seed);
}

uint64_t Rng::next() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() {
  return double(next() >> 11) * 0x1.0p-53;
}

int64_t sample_index(std::span<const double> p, Rng& rng) {
  double total = 0;
  for (double x : p) total += x;
  if (!(total > 0) || !std::isfinite(total))
    TL_THROW(ValueError, "[generate] cannot sample: the probabilities sum to ", total);
  const double u = rng.uniform() * total;
  double cum = 0;
  int64_t last = -1;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] <= 0) continue;
    cum += p[i];
    last = int64_t(i);
    if (u < cum) return last;
  }
  return last;  // rounding left u at the very top: the last token with mass
}

int64_t argmax(std::span<const float> logits) {
  int64_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i)
    if (logits[i] > logits[size_t(best)]) best = int64_t(i);
  return best;
}

int64_t choose_next(std::span<float> logits, std::span<const int64_t> prev, const GenerationConfig& c,
                    Rng& rng) {
  process_logits(logits, prev, c);
  if (c.greedy) return argmax(logits);
  const std::vector<double> p = softmax(logits);
  return sample_index(p, rng);
}

const char* stop_reason_name(StopReason r) {
  switch (r) {
    case StopReason::max_new_tokens:
      return "max_new_tokens";
    case StopReason::stop_token:
      return "stop_token";
    case StopReason::stop_string:
      return "stop_string";
    case StopReason::context_full:
      return "context_full";
  }
  return "?";
}

}  // namespace tl::models
