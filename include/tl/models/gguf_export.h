// `tlt quantize`: a model (Hugging Face LLaMA directory or a GGUF file) rewritten with its weights in another
// format, as a GGUF file llama.cpp loads or (f32/f16/bf16 only) a safetensors file.
//
//   auto st = tl::models::quantize_model("tests/fixtures/gguf_write/tiny_llama", "tiny.q8_0.gguf",
//                                        tl::WeightFormat::q8_0);
//
// HF LLaMA -> GGUF follows llama.cpp's convert_hf_to_gguf.py: general.architecture "llama" and the llama.*
// hyper-parameters; tensor names token_embd, blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm,
// ffn_gate, ffn_up, ffn_down}, output_norm, output; q_proj / k_proj rows permuted so llama.cpp's RoPE (which
// rotates adjacent pairs) sees HF's rotate-half pairs (the inverse of what gguf_model.cpp undoes); the
// tokenizer.json byte-level BPE as tokenizer.ggml.model "gpt2" (tokens, token_type, merges, bos/eos/unk/pad
// ids, tokenizer.ggml.pre from the pre-tokenizer's shape, add_bos_token from the post-processor) and the chat
// template from tokenizer_config.json or chat_template.jinja.
//
// Tensor types (gguf_tensor_format): 1-D tensors (norms) stay F32; f32/f16/bf16/q8_0: every 2-D tensor in
// that type (what convert_hf_to_gguf.py --outtype writes); q4_0/q4_1: every 2-D tensor in that type except
// the output projection (output.weight, or token_embd.weight when the embeddings are tied), which is Q8_0
// (llama-quantize picks Q6_K there, which we cannot produce; Q8_0 keeps at least that precision). A 2-D
// tensor whose rows are not a multiple of 32 falls back to F16 (as convert_hf_to_gguf.py does on QuantError).
// A GGUF source keeps its metadata and vocabulary (general.file_type updated) and has each 2-D tensor
// dequantised and re-quantised by the same rule (any architecture: the rule reads only tensor names).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tl/io/gguf.h"
#include "tl/json.h"
#include "tl/quant.h"

namespace tl::models {

struct QuantizeStats {
  std::map<std::string, int64_t> type_counts;  // output type name ("Q8_0", "F32", ...) -> tensors
  uint64_t bytes_in = 0;                       // source tensor bytes as stored
  uint64_t bytes_out = 0;                      // the written file's size
  int64_t tensors = 0;
  std::vector<std::string> notes;  // fallbacks and other decisions worth telling the user
};

// ggml's type for a weight format (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K).
io::GgmlType ggml_type_of(WeightFormat f);
// llama.cpp's general.file_type (LLAMA_FTYPE_*) for a requested format: ALL_F32 0, MOSTLY_F16 1, MOSTLY_Q4_0 2,
// MOSTLY_Q4_1 3, MOSTLY_Q8_0 7, MOSTLY_BF16 32.
uint32_t llama_file_type(WeightFormat f);
// The format of one tensor (GGUF name, row-major shape) for a requested format; see the file comment.
// `has_output`: the model has its own output.weight (else token_embd.weight is the output projection).
WeightFormat gguf_tensor_format(const std::string& gguf_name, const Shape& shape, WeightFormat requested,
                                bool has_output);

// HF LLaMA directory -> GGUF contents (tensors produced lazily when written). ValueError for another
// model_type or math llama.cpp's llama architecture would not reproduce (biases, rope scaling other than
// linear, hidden_act other than silu, a head size that is odd).
io::GgufWriter gguf_from_hf(const std::string& dir, WeightFormat f, QuantizeStats* stats = nullptr);
// A GGUF file re-quantised (see the file comment); the returned writer reads `src` lazily, keep it open.
io::GgufWriter gguf_requantize(const io::GgufFile& src, WeightFormat f, QuantizeStats* stats = nullptr);
// The vocabulary keys (tokenizer.ggml.*, tokenizer.chat_template) for a directory's tokenizer.json, added to
// `w`; `vocab_size` pads the token list with "[PAD<i>]" tokens (type UNUSED) like llama.cpp's converter.
// ValueError for a tokenizer that is not byte-level BPE or whose pre-tokenizer has no llama.cpp name.
void add_hf_vocab(const std::string& dir, int64_t vocab_size, const json::Value& config, io::GgufWriter& w);

// MODEL (an HF directory or a .gguf) -> OUT: a .gguf path gets GGUF; a .safetensors path gets the weights
// under their HF names (2-D weights in f, 1-D in f32; block formats are refused). Returns the statistics.
QuantizeStats quantize_model(const std::string& model, const std::string& out, WeightFormat f);

}  // namespace tl::models
