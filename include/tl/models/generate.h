// Text generation (docs/generation.md): logit processing and sampling as transformers 4.57.1 does it, stop
// tokens and stop strings, streaming, batches of prompts, and a KV cache bounded by a capacity.
//
//   GenerationConfig c;  c.greedy = false;  c.temperature = 0.8f;  c.top_p = 0.9f;  c.seed = 7;
//   c.stop_ids = eos_ids(m->config(), model_dir);
//   auto r = generate(*m, {prompt_ids}, c, &tokenizer,
//                     [](int row, int64_t id, const std::string& piece) { std::fputs(piece.c_str(), stdout);
//                     });
//   r[0].ids  // new ids (the stop token included when one ended the row); r[0].text  // stop string trimmed
//
// Logit processing order (transformers' GenerationMixin._get_logits_processor): repetition penalty; then,
// when sampling, temperature, top-k, top-p, min-p. Greedy decoding applies only the repetition penalty and
// takes the argmax (the first index on ties). Sampling draws from the softmax of the processed logits with
// our own xoshiro256** generator seeded through splitmix64, so a seed gives the same ids on every platform.
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "tl/models.h"
#include "tl/tokenizer.h"

namespace tl::models {

struct GenerationConfig {
  int max_new_tokens = 32;
  bool greedy = true;               // false: sample from the processed distribution
  float temperature = 1.0f;         // > 0 (1: off)
  int top_k = 0;                    // >= 0 (0: off); k > vocab keeps everything
  float top_p = 1.0f;               // (0, 1] (1: off)
  float min_p = 0.0f;               // [0, 1] (0: off)
  float repetition_penalty = 1.0f;  // > 0 (1: off); applies to the prompt's and the generated ids
  int min_tokens_to_keep = 1;       // >= 1, as transformers' warpers take it
  uint64_t seed = 0;
  std::vector<int64_t> stop_ids;          // a row ends after emitting one of these (see eos_ids)
  std::vector<std::string> stop_strings;  // a row ends when its new text contains one (needs a tokenizer)
  // KV positions. 0: the longest prompt + max_new_tokens, capped at the model's position limit. A model with
  // a sliding window keeps only the last `window` positions (a ring) and is never full.
  int64_t capacity = 0;
  bool use_cache = true;  // false: recompute the whole sequence each step (one prompt at a time)

  // Throws ValueError naming the field and the value ("top_p = 1.5 must be in (0, 1]").
  void validate() const;
  bool filters() const { return top_k > 0 || top_p < 1.0f || min_p > 0.0f; }
};

// The end-of-sequence ids: "eos_token_id" (an int or a list) of <model_dir>/generation_config.json when that
// file exists and has it, else of config.json. Empty when neither says.
std::vector<int64_t> eos_ids(const io::HfConfig& config, const std::string& model_dir = "");

// ---- logit processing and sampling (src/models/sampling.cpp)
// ------------------------------------------------ RepetitionPenaltyLogitsProcessor: every id in `prev`
// (once, however often it repeats) has its logit divided by `penalty` when positive, multiplied when
// negative.
void apply_repetition_penalty(std::span<float> logits, std::span<const int64_t> prev, float penalty);
// The sampling warpers on one row in place (temperature, top-k, top-p, min-p); filtered logits become -inf.
void apply_warpers(std::span<float> logits, const GenerationConfig& c);
// Both, in transformers' order (the warpers only when !c.greedy).
void process_logits(std::span<float> logits, std::span<const int64_t> prev, const GenerationConfig& c);
// Softmax of a row (in double, returned as double); -inf entries get exactly 0.
std::vector<double> softmax(std::span<const float> logits);

// xoshiro256** (Blackman & Vigna) seeded by splitmix64: the same stream on every platform and standard
// library.
class Rng {
 public:
  explicit Rng(uint64_t seed = 0);
  uint64_t next();
  double uniform();  // [0, 1) with 53 random bits
 private:
  uint64_t s_[4];
};
// Draws an index from probabilities `p` (non-negative, any positive sum) by inverting the cumulative sum.
int64_t sample_index(std::span<const double> p, Rng& rng);
// Index of the largest logit (the first on ties).
int64_t argmax(std::span<const float> logits);
// One step for one row: processes `logits` in place and returns the chosen id.
int64_t choose_next(std::span<float> logits, std::span<const int64_t> prev, const GenerationConfig& c,
                    Rng& rng);

// ---- incremental text (src/models/generate.cpp)
// ------------------------------------------------------------- Turns ids arriving one at a time into
// complete text pieces: a piece is released only when the decoded text does not end in an unfinished UTF-8
// sequence (U+FFFD from a partial byte sequence) and cannot be the start of a stop string; the stop string
// and everything after it is dropped.
class TextStream {
 public:
  TextStream(const tok::Tokenizer& tok, std::vector<std::string> stop_strings = {});
  // Adds an id; returns the newly complete text (possibly empty).
  std::string push(int64_t id);
  // True once the text holds a stop string.
  bool stopped() const { return stopped_; }
  // Releases what push() held back (the end of the sequence); returns it.
  std::string finish();
  // All text so far (trimmed at a stop string).
  const std::string& text() const { return text_; }

 private:
  std::string release(bool final);
  const tok::Tokenizer& tok_;
  std::vector<std::string> stops_;
  std::vector<int32_t> ids_;
  size_t prefix_ = 0, read_ = 0;  // ids_[prefix_, read_) decoded already (context for the next piece)
  std::string text_;              // decoded text of all ids (up to a stop string)
  size_t emitted_ = 0;            // bytes of text_ handed out
  bool stopped_ = false;
};

enum class StopReason { max_new_tokens, stop_token, stop_string, context_full };
const char* stop_reason_name(StopReason r);

struct GenerationResult {
  std::vector<int64_t> ids;  // new ids only
  std::string text;          // their text (with a tokenizer), skipping special tokens, cut at a stop string
  StopReason reason = StopReason::max_new_tokens;
};

struct GenerationStats {
  int64_t prompt_tokens = 0, new_tokens = 0;
  double prefill_s = 0, decode_s = 0;
  bool cached = false;   // a KV cache was used
  bool batched = false;  // rows decoded together (KV cache) rather than one after another
  int64_t capacity = 0;  // KV positions used (0 without a cache)
};

// Called once per new token per row, in order: the id and the text it completed (may be empty). When a row
// ends because the capacity is full, text still held back comes in one last call with id -1.
using TokenCallback = std::function<void(int row, int64_t id, const std::string& piece)>;

// Generates for every prompt. With a KV cache (Model::has_kv_cache() and c.use_cache) the prompts run as one
// batch (left padding, a key padding mask and per-row positions); otherwise one after another by full
// recomputation. Each row's ids equal its solo run. ValueError for a bad config, an empty prompt, an id out
// of range, or stop strings without a tokenizer.
std::vector<GenerationResult> generate(Model& m, const std::vector<std::vector<int64_t>>& prompts,
                                       const GenerationConfig& c, const tok::Tokenizer* tok = nullptr,
                                       const TokenCallback& on_token = {}, GenerationStats* stats = nullptr);

}  // namespace tl::models
