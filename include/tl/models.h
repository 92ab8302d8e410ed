// Model families (src/models, one file each): a Hugging Face config.json mapped to tl::nn component configs,
// the forward graph those components build, and the checkpoint weights bound to it by their Hugging Face
// names.
//
//   auto m = tl::models::load_model("tests/fixtures/models/llama");   // config.json + model.safetensors
//   Tensor logits = m->forward({.ids = ids}).at("logits");           // [batch, seq, vocab]
//   std::vector<int64_t> next = m->generate_greedy({1, 2, 3}, 32);   // 32 new ids
//
// The graph is the weight specification: the names and shapes a family expects are the graph's params, so a
// checkpoint that lacks one, holds an unexpected one, or holds one with another shape is refused with the
// name, the expected and the actual shape (all problems in one message). Config fields that change the math
// and are not implemented (an unknown rope_scaling type, an unsupported hidden_act, ...) are refused by name,
// never ignored. Graphs have static shapes, so the model compiles one executor per input shape and caches it.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tl/graph.h"
#include "tl/io/hf_config.h"
#include "tl/nn/position.h"
#include "tl/quant.h"
#include "tl/runtime.h"
#include "tl/tensor.h"

namespace tl::models {

// One forward pass's inputs; which fields a family reads is listed by Model::input_kinds().
struct Batch {
  Tensor ids;          // [batch, seq] i64 or i32: token ids (T5: encoder ids)
  Tensor mask;         // [batch, seq] optional, nonzero = real token, 0 = padding (BERT, T5 encoder)
  Tensor type_ids;     // [batch, seq] optional (BERT token types; zeros when absent)
  Tensor decoder_ids;  // [batch, tgt] (T5 decoder input, starting with decoder_start_token_id)
  Tensor pixels;       // [batch, channels, H, W] f32, already normalised (ViT)
};

struct WeightSpec {
  std::string name;  // the Hugging Face checkpoint name
  Shape shape;
};

// Which weights Model::quantize stores in the requested format. Only 2-D weights that every graph uses as a
// linear layer's weight qualify (tl::linear_weights); embeddings, norms, biases and MoE experts stay f32. A tied
// weight (an embedding that is also the LM head) stays f32 for the lookup and, with tied_head, gets a stored
// copy in the LM head's format for the head (as llama.cpp reads a tied head from the quantised token_embd).
struct QuantizePolicy {
  // The untied LM head ("lm_head.weight"). nullopt: q8_0 when the format is 4-bit (q4_0, q4_1), as llama.cpp
  // keeps its 4-bit files' output.weight at higher precision (the head is the most sensitive matrix); the
  // requested format otherwise.
  std::optional<WeightFormat> lm_head;
  // Tied embedding/LM head: store a copy for the head in the LM head's format (the f32 rows serve the lookup).
  // false: the head reads the f32 embedding (the whole f32 matrix streamed per decoded token).
  bool tied_head = true;
  // Checkpoint names kept f32.
  std::vector<std::string> keep_f32;
  // A weight whose in-features are not a multiple of the format's block: false keeps it f32 (llama.cpp falls
  // back the same way); true throws ShapeError naming the weight.
  bool strict = false;
};

// How load_model(dir, opt) holds the weights.
struct LoadOptions {
  // GGUF: keep the linear weights in the file's own format (q8_0, q4_0, q4_1, q4_k, q6_k, f16, bf16; other
  // types are dequantised) instead of dequantising everything to f32. Directories: no effect.
  bool keep_quantized = false;
  // Then store the linear weights in this format (Model::quantize with `policy`), weight by weight, dropping
  // each f32 source's mapped pages once stored, so peak memory stays near the stored size. Ignored when
  // keep_quantized already kept a GGUF file's formats.
  std::optional<WeightFormat> weight_format;
  QuantizePolicy policy;
};

class Model {
 public:
  virtual ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  // "llama", "mistral", "mixtral", "gpt2", "bert", "vit", "t5".
  virtual std::string family() const = 0;
  // True for causal language models (generate_greedy works); T5 generates through its decoder too.
  virtual bool can_generate() const = 0;
  // The forward graph for inputs shaped like `b` (only shapes are read). Outputs: "hidden" (the last hidden
  // state after the final norm: [batch, seq, d_model]) and, where the family has a head, "logits"
  // ([batch, seq, vocab]; ViT: [batch, num_labels]); BERT adds "pooler" [batch, d_model] when it has one.
  virtual Graph build_graph(const Batch& b) const = 0;

  const io::HfConfig& config() const { return config_; }
  // Expected weights (name and shape), sorted by name: the params of the graph for a one-token batch.
  std::vector<WeightSpec> expected_weights() const;
  // The bound weights by checkpoint name: f32 (zero-copy views into the mapped file where possible), or for
  // the names in weight_formats() that format's storage of the [out, in] weight (include/tl/quant.h).
  const std::map<std::string, Tensor>& weights() const { return weights_; }
  // Weights kept in a storage format (quantize(), or a GGUF loaded with keep_quantized), by checkpoint name.
  const std::map<std::string, WeightFormat>& weight_formats() const { return formats_; }
  // Shared weights (a tied embedding/LM head) whose linear uses read a stored copy, by checkpoint name, and
  // the copies by their param name (tl::linear_copy_name): derived data, not part of the checkpoint.
  const std::map<std::string, WeightFormat>& linear_copy_formats() const { return copy_formats_; }
  const std::map<std::string, Tensor>& linear_copies() const { return copies_; }
  // Gives shared weight `name` (LinearWeight::shared) a stored copy [out, in] in format f that its linear uses
  // read (e.g. a GGUF file's quantised token_embd for the tied head). ValueError when `name` is not a shared
  // linear weight of this model; check_weight_storage's errors for a copy of the wrong type or size.
  void set_linear_copy(const std::string& name, Tensor stored, WeightFormat f);
  // All weights as f32 in their checkpoint layout (stored formats dequantised): what make_model() takes.
  std::map<std::string, Tensor> f32_weights() const;
  // Logical element count (a stored weight counts its n * k weights).
  int64_t parameter_count() const;
  // Bytes the bound weights occupy (stored formats at their storage size, linear copies included).
  int64_t weight_bytes() const;

  // Stores the linear-layer weights in `f` (see QuantizePolicy) and drops their f32 copies (f32 weights that
  // were views of a mapped file are copied, so the mapping is released). Later forward passes run those
  // layers as `linear` ops reading the stored weights (apply_weight_formats). f = f32 changes nothing. Throws
  // ValueError for a format quantize_weight cannot produce (q4_k, q6_k) or an already quantised model.
  void quantize(WeightFormat f, const QuantizePolicy& p = {});

  // Validates `b` (ids in [0, vocab), dtypes, matching shapes; ShapeError/ValueError naming the field),
  // compiles (or reuses) the executor for its shape and runs it.
  std::map<std::string, Tensor> forward(const Batch& b);
  // Greedy decoding: appends `n_new` argmax tokens to `prompt` and returns only the new ones (no stop tokens;
  // include/tl/models/generate.h has sampling, stop tokens/strings, batches and streaming).
  // LLaMA / Mistral / Mixtral / GPT-2 decode with a KV cache (the prompt in one step, then one token per step
  // against the cached keys/values) unless use_cache is false; T5 runs its encoder once and caches the
  // decoder's self-attention keys/values.
  // T5: `prompt` is the encoder input; decoding starts from decoder_start_token_id.
  std::vector<int64_t> generate_greedy(const std::vector<int64_t>& prompt, int n_new, bool use_cache = true);
  // Whether generate_greedy can use a KV cache for this family.
  virtual bool has_kv_cache() const { return false; }
  // KV-cache decoding (families with has_kv_cache()): the layers' attention prefixes and cache sizes, and the
  // graph for `b`'s new tokens after `past` cached ones, with inputs "<prefix>.past_key/.past_value" and
  // outputs "<prefix>.key_new/.value_new" per layer (nn::cached_attention) beside "logits" and "hidden".
  struct KvSpec {
    std::vector<std::string> prefixes;  // one per layer
    int64_t kv_heads = 0, head_dim = 0;
    int64_t window = 0;         // sliding window (Mistral); 0: none. With a window the cache rolls (a ring).
    int64_t max_positions = 0;  // max_position_embeddings / n_positions: where a cache without a window is full
    std::optional<nn::RopeConfig> rope;  // RoPE families: decode graphs take per-row cos/sin tables
  };
  virtual KvSpec kv_spec() const;
  virtual Graph build_step_graph(const Batch& b, int64_t past) const;
  // Batched decoding (include/tl/models/generate.h): `n` new tokens per row after `past` cache slots, with
  // everything that differs per row or per step as inputs, so one graph serves every step of a given shape:
  //   "ids" [b, n] i64; "positions" [b, n] i64 (learned positions) or "rope_cos" / "rope_sin"
  //   [b, 1, n, rot/2] (RoPE, from nn::rope_tables); "attn_bias" [b, 1, n, past + n] (0 / -inf: padding,
  //   causality and the window, since slots of a rolling cache are not in position order);
  //   "<prefix>.past_key" / ".past_value" [b, hkv, past, hd] per layer when past > 0.
  // Outputs "logits" [b, n, vocab] and "<prefix>.key_new" / ".value_new" [b, hkv, n, hd] per layer.
  // last_logits: "hidden" and "logits" only for the last of the n columns ([b, 1, d], [b, 1, vocab]): a
  // prompt's prefill needs no other row, and the LM head is a fifth of a small model's prompt FLOPs.
  virtual Graph build_decode_graph(int64_t batch, int64_t n, int64_t past, bool last_logits = false) const;
  // The compiled executor for build_decode_graph(batch, n, past, last_logits), cached like forward()'s.
  Executor& decode_executor(int64_t batch, int64_t n, int64_t past, bool last_logits = false);
  // Encoder-decoder families (T5): the encoder alone (inputs "ids", "mask" [b, s]; output "encoder_hidden"
  // [b, s, d]) and a decoder step for n new decoder tokens after `past` cached ones (inputs "decoder_ids"
  // [b, n], "encoder_hidden", "mask", and per kv_spec() prefix "<prefix>.past_key/.past_value"
  // [b, h, past, hd] when past > 0; outputs "logits" and "<prefix>.key_new/.value_new").
  virtual bool is_encoder_decoder() const { return false; }
  virtual Graph build_encoder_graph(int64_t batch, int64_t s) const;
  virtual Graph build_decoder_step_graph(int64_t batch, int64_t s, int64_t n, int64_t past) const;
  // An executor compiled once per key from build() and cached with forward()'s (generation's graphs).
  Executor& compiled(const std::string& key, const std::function<Graph()>& build) { return executor_for(key, build); }

  // Writes the weights back as one safetensors file with their Hugging Face names (round-trips exactly).
  // f16/bf16 weights are written in that dtype; block formats (q8_0, q4_*, q*_k) throw ValueError naming the
  // weight (safetensors has no such dtype: write a GGUF with `tlt quantize`).
  void save(const std::string& path) const;

  // Number of compiled executors (one per distinct input shape); for tests.
  size_t compiled_shapes() const { return executors_.size(); }

 protected:
  explicit Model(io::HfConfig config) : config_(std::move(config)) {}
  // Checks `w` against expected_weights() and keeps it; throws on any missing/extra/mis-shaped weight.
  // `ignorable` names checkpoint entries that are not weights (e.g. BERT's "embeddings.position_ids").
  // `formats` names weights already in a storage format (their tensor holds it; checked against the expected
  // [out, in] shape and the graph's linear uses).
  void bind_weights(std::map<std::string, Tensor> w, const std::vector<std::string>& ignorable = {},
                    const std::map<std::string, WeightFormat>& formats = {});
  virtual void check_batch(const Batch& b) const = 0;
  // The smallest valid batch (one token; ViT: one image; T5: one encoder and one decoder token), whose graph
  // holds every parameter: expected_weights() reads it.
  virtual Batch example_batch() const;
  // Token range check shared by the text families: ids [batch, seq] integer, each in [0, vocab).
  static void check_ids(const Tensor& ids, int64_t vocab, const char* what);

  io::HfConfig config_;

 private:
  friend std::unique_ptr<Model> make_model(const io::HfConfig& config, std::map<std::string, Tensor> weights,
                                           const std::map<std::string, WeightFormat>& formats);
  friend std::unique_ptr<Model> load_model(const std::string& dir, const LoadOptions& opt);
  // quantize(), calling `done_with(t)` on each f32 weight once it is no longer needed (the loader drops its
  // mapped pages, so peak memory stays near the stored size).
  void quantize_with(WeightFormat f, const QuantizePolicy& p, const std::function<void(const Tensor&)>& done_with);
  std::map<std::string, Tensor> weights_;
  std::map<std::string, WeightFormat> formats_;  // stored weights (the rest are f32)
  std::set<std::string> transposed_;             // stored weights whose checkpoint layout is [in, out] (GPT-2)
  std::map<std::string, WeightFormat> copy_formats_;  // shared f32 weights with a stored copy for linear uses
  std::map<std::string, Tensor> copies_;              // those copies, by linear_copy_name()
  Executor& executor_for(const std::string& key, const std::function<Graph()>& build);
  std::map<std::string, std::unique_ptr<Executor>> executors_;  // by input-shape key
};

// Reads <dir>/config.json, picks the family from "model_type" (ValueError listing the supported ones) and
// loads <dir>/model.safetensors or the sharded model.safetensors.index.json. A path ending in .gguf loads a
// LLaMA-architecture GGUF file instead (tl/models/gguf_model.h).
std::unique_ptr<Model> load_model(const std::string& dir);
std::unique_ptr<Model> load_model(const std::string& dir, const LoadOptions& opt);
// Same from a parsed config and weights already in memory (names as in the checkpoint). `formats` names
// weights given in a storage format ([out, in] storage, include/tl/quant.h).
std::unique_ptr<Model> make_model(const io::HfConfig& config, std::map<std::string, Tensor> weights,
                                  const std::map<std::string, WeightFormat>& formats = {});
// The weights a config's model expects (name and [checkpoint] shape), sorted by name, without loading any.
std::vector<WeightSpec> expected_weights(const io::HfConfig& config);
std::vector<std::string> supported_model_types();

// Sentence embeddings as sentence-transformers' Pooling(mean) + Normalize(): the mean of the last hidden
// state over real (mask != 0) tokens, divided by its L2 norm (norm clamped at 1e-12 like torch's
// F.normalize). hidden [batch, seq, d], mask [batch, seq] (undefined = all real) -> [batch, d].
Tensor mean_pool_normalize(const Tensor& hidden, const Tensor& mask);
// Runs `m` (an encoder: BERT) and pools: ids/mask [batch, seq] -> [batch, d_model].
Tensor sentence_embeddings(Model& m, const Tensor& ids, const Tensor& mask);

}  // namespace tl::models
