// LLaMA-architecture GGUF files (llama.cpp's format) as models, their embedded vocabularies as tokenizers.
//
//   auto m = tl::models::load_model("SmolLM2-135M-Instruct.Q4_1.gguf");   // load_model dispatches on .gguf
//   auto tok = tl::models::load_tokenizer("SmolLM2-135M-Instruct.Q4_1.gguf");  // or a model directory
//
// Model: the GGUF metadata (general.architecture "llama"; llama.* keys) becomes the Hugging Face config.json
// the LLaMA family reads (gguf_config), llama.cpp tensor names become Hugging Face names, and the Q/K rows
// that llama.cpp's HF->GGUF converter interleaves for its RoPE kernel are put back in HF order. Weights are
// dequantised to f32 at load (bit-identical to gguf-py 0.19.0), so logits match transformers loading the
// same file. Every problem is a ValueError/ShapeError naming the file, the key or tensor (GGUF name), the
// expected and the actual: another architecture, a missing or mis-shaped tensor, head counts that do not
// divide, a block_count that disagrees with the blk.N tensors, rope scaling we do not implement.
//
// Tokenizer: the vocabulary becomes a tokenizer.json document (gguf_tokenizer_json) for tl::tok::Tokenizer.
// tokenizer.ggml.model "gpt2" (byte-level BPE with merges):
//   GgufPreTokenizer::transformers (default) builds what transformers 4.57.1 builds for a "llama" GGUF
//     (integrations/ggml.py GGUFLlamaConverter): ByteLevel with GPT-2's regex whatever tokenizer.ggml.pre
//     says, BPE with byte_fallback, CONTROL tokens (and the unk/bos tokens) as special added tokens, a
//     template that prepends the BOS token (transformers' LlamaTokenizerFast always does, ignoring
//     tokenizer.ggml.add_bos_token), and its decoder.
//   GgufPreTokenizer::llama_cpp splits text the way llama.cpp does for tokenizer.ggml.pre ("gpt2"/"default":
//     GPT-2 regex; "smollm": single digits first; "llama-bpe"/"llama3": Llama-3's regex; others are refused
//     by name) and honours tokenizer.ggml.add_bos_token. This is what the model was trained with;
//     transformers' conversion differs from it on some texts (e.g. "①", "½" and non-ASCII digits, SmolLM2).
// tokenizer.ggml.model "llama" (SentencePiece BPE with byte fallback) converts as transformers does: spaces
//   to U+2581 with one prepended (unless tokenizer.ggml.add_space_prefix is false), BPE over the merges, or,
//   when the file has none, merges rebuilt from tokenizer.ggml.scores; llama_cpp mode differs only in
//   honouring add_bos/add_eos. Other tokenizer.ggml.model values are refused by name.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "tl/io/gguf.h"
#include "tl/io/hf_config.h"
#include "tl/json.h"
#include "tl/models.h"
#include "tl/tokenizer.h"

namespace tl::models {

// Whether `path` names a GGUF file (by its ".gguf" extension, any case).
bool is_gguf_path(const std::string& path);

// The GGUF metadata as the config.json the LLaMA family reads (model_type "llama", vocab_size, hidden_size,
// num_hidden_layers, num_attention_heads, num_key_value_heads, head_dim, intermediate_size, rms_norm_eps,
// rope_theta, max_position_embeddings, tie_word_embeddings from whether output.weight exists, rope_scaling
// for "linear"). Checks the architecture, the sizes and block_count against the tensors.
io::HfConfig gguf_config(const io::GgufFile& f);
// All weights dequantised to f32 under their Hugging Face names (q/k rows un-interleaved), checked by GGUF
// name against `config` (from gguf_config); problems are listed together.
std::map<std::string, Tensor> gguf_weights(const io::GgufFile& f, const io::HfConfig& config);
// Same, but the linear weights (attn_q/k/v/output, ffn_gate/up/down, output) whose GGML type is a weight
// format (Q8_0, Q4_0, Q4_1, Q4_K, Q6_K, F16, BF16) stay in it: their tensors hold the file's bytes (zero-copy
// views of the mapping; q/k rows are permuted as whole rows of blocks into a copy) and `formats` receives
// their names. token_embd, the norms and other types are dequantised to f32.
std::map<std::string, Tensor> gguf_weights_native(const io::GgufFile& f, const io::HfConfig& config,
                                                  std::map<std::string, WeightFormat>& formats);
// The weight format a GGML type maps to (nullopt: F32 and types that are dequantised instead).
std::optional<WeightFormat> gguf_weight_format(io::GgmlType t);
struct GgufLoadOptions {
  bool keep_quantized = false;  // gguf_weights_native instead of gguf_weights
};
// gguf_config + gguf_weights (or gguf_weights_native) + make_model.
std::unique_ptr<Model> load_gguf_model(const std::string& path, const GgufLoadOptions& opt = {});

enum class GgufPreTokenizer { transformers, llama_cpp };
// The tokenizer.json document the embedded vocabulary converts to (for inspection and tests).
json::Value gguf_tokenizer_json(const io::GgufFile& f, GgufPreTokenizer pre = GgufPreTokenizer::transformers);
tok::Tokenizer gguf_tokenizer(const io::GgufFile& f, GgufPreTokenizer pre = GgufPreTokenizer::transformers);

// A model's tokenizer: for a .gguf file its embedded vocabulary, for a directory <dir>/tokenizer.json;
// nullopt when a directory has no tokenizer.json or a GGUF file has no tokenizer.ggml.tokens.
std::optional<tok::Tokenizer> load_tokenizer(const std::string& model_path,
                                             GgufPreTokenizer pre = GgufPreTokenizer::transformers);

}  // namespace tl::models
