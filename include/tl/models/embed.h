// Sentence-transformers pipelines from a model directory: modules.json (Transformer -> Pooling -> Dense* ->
// Normalize), 1_Pooling/config.json, sentence_bert_config.json and tokenizer.json, with the embeddings
// sentence-transformers 5.1.2 `encode()` gives (tests/models/embed_test.cpp against
// scripts/gen_embed_pipeline_fixtures.py).
//
//   auto e = tl::models::EmbeddingModel::load("/path/all-MiniLM-L6-v2");
//   Tensor v = e.encode({"A man is eating food.", "A dog runs."});   // [2, 384] f32, unit rows
//
// Module types other than Transformer, Pooling, Dense and Normalize (WordEmbeddings, CNN, LSTM, LayerNorm,
// StaticEmbedding, Router, ...) are refused by name, as are pooling modes and Dense activations that are not
// implemented. A directory without modules.json is loaded the way sentence-transformers does: Transformer +
// mean pooling, no Normalize (note() says so, and the CLI prints it).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tl/models.h"
#include "tl/tensor.h"
#include "tl/tokenizer.h"

namespace tl::models {

// The pooling modes, in the order sentence-transformers concatenates them when several are on.
enum class PoolingMode { cls, max, mean, mean_sqrt_len, weighted_mean, last_token };
std::string pooling_mode_name(PoolingMode m);  // the 1_Pooling/config.json key: "pooling_mode_mean_tokens", ...

// Pools token embeddings as sentence_transformers.models.Pooling: one [batch, d] block per mode, concatenated
// in `modes` order. hidden [batch, seq, d] f32, mask [batch, seq] (nonzero = real token; undefined = all real)
// -> [batch, d * modes.size()]. Sums run in double.
Tensor pool_tokens(const Tensor& hidden, const Tensor& mask, const std::vector<PoolingMode>& modes);

// sentence_transformers.models.Dense: y = act(x W^T + b).
struct DenseLayer {
  std::string name;  // the module directory ("2_Dense"), for messages
  Tensor weight;     // [out, in] f32
  Tensor bias;       // [out] f32, undefined when the layer has no bias
  bool tanh = false; // activation: torch.nn.Tanh (true) or torch.nn.Identity (false)
};
// x [batch, in] -> [batch, out]
Tensor apply_dense(const DenseLayer& l, const Tensor& x);
// Row-wise x / max(||x||_2, 1e-12) (torch.nn.functional.normalize); x [batch, d].
Tensor l2_normalize(const Tensor& x);

// One step after pooling.
struct PostStep {
  enum Kind { dense, normalize } kind = normalize;
  DenseLayer layer;  // kind == dense
};

struct EmbedConfig {
  std::string transformer_dir;       // where config.json, the weights and tokenizer.json are
  std::vector<PoolingMode> pooling;  // at least one
  int64_t pooling_dim = 0;           // 1_Pooling word_embedding_dimension (0: not given), = the model's width
  int64_t max_seq_length = 0;        // tokens per text after the special tokens are added
  bool do_lower_case = false;        // lowercase the text (Python str.lower) before tokenizing
  std::vector<PostStep> steps;       // Dense / Normalize, in modules.json order
  bool fallback = false;             // no modules.json: Transformer + mean pooling
};

// Reads the pipeline description of `dir` (no weights); ValueError / IoError / ParseError naming the file.
EmbedConfig read_embed_config(const std::string& dir);

class EmbeddingModel {
 public:
  static EmbeddingModel load(const std::string& dir);
  EmbeddingModel(EmbeddingModel&&) noexcept;
  EmbeddingModel& operator=(EmbeddingModel&&) noexcept;
  ~EmbeddingModel();

  // Embeds `texts` ([n, dimension()] f32), `batch_size` texts per forward pass (texts are sorted by length
  // first, as sentence-transformers does, so a batch pads little). An empty list gives [0, dimension()].
  Tensor encode(const std::vector<std::string>& texts, int64_t batch_size = 32);
  // The ids sentence-transformers feeds the model for `text`: stripped, lowercased when do_lower_case, the
  // special tokens added, the content truncated so the whole fits max_seq_length.
  std::vector<int32_t> tokenize(std::string_view text) const;

  const EmbedConfig& config() const { return cfg_; }
  int64_t dimension() const { return dim_; }
  Model& transformer() { return *model_; }
  // Empty, or a remark about how the directory was read (the mean-pooling fallback).
  const std::string& note() const { return note_; }

 private:
  EmbeddingModel(EmbedConfig cfg, std::unique_ptr<Model> m, tok::Tokenizer tok);
  EmbedConfig cfg_;
  std::unique_ptr<Model> model_;
  tok::Tokenizer tok_;
  int64_t dim_ = 0;
  std::string note_;
};

}  // namespace tl::models
