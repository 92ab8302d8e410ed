// Position information (one family per file, src/nn/position_*.cpp):
//   sinusoidal  fixed table of "Attention Is All You Need" (sin at even, cos at odd dims), added to embeddings
//   learned     absolute embedding table "<prefix>.weight" [max_positions, dim] (GPT-2 wpe, BERT, ViT)
//   relative    T5's bucketed relative-position bias "<prefix>.weight" [num_buckets, n_heads], added to scores
//   rope        rotary embedding on q/k, half-split (NeoX / LLaMA rotate_half) or interleaved (GPT-J), with
//               HF transformers' inv_freq for default / linear / dynamic (NTK) / YaRN / llama3 scaling
//   alibi       BLOOM's linear biases, slopes correct for any head count, added to scores
// Tables are computed at graph-build time as constants (shapes are static); positions start at `offset`
// (the number of cached tokens during KV-cache decoding).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tl/graph.h"

namespace tl::nn {

// ---- sinusoidal (position_sinusoidal.cpp) -------------------------------------------------------------------
// PE[p, 2i] = sin(p / base^(2i/dim)), PE[p, 2i+1] = cos(p / base^(2i/dim)) for p in [offset, offset+n); any dim
// >= 1 (an odd dim ends with a sin column). Computed in double, stored f32. [n, dim]
Tensor sinusoidal_table(int64_t n_positions, int64_t dim, int64_t offset = 0, double base = 10000.0);
// The table as a graph constant. [seq, dim]
Value sinusoidal_positions(Graph& g, int64_t seq, int64_t dim, int64_t offset = 0);

// ---- learned absolute (position_learned.cpp) ----------------------------------------------------------------
// Rows [offset, offset+seq) of param "<prefix>.weight" [max_positions, dim]. Throws ValueError when they do
// not fit in the table. [seq, dim]
Value learned_positions(Graph& g, const std::string& prefix, int64_t max_positions, int64_t dim, int64_t seq,
                        int64_t offset = 0);
// Rows picked by position ids (i32/i64, any shape [...]) -> [..., dim].
Value learned_positions_at(Graph& g, const std::string& prefix, int64_t max_positions, int64_t dim,
                           Value position_ids);

// ---- T5 relative position bias (position_relative.cpp) ------------------------------------------------------
struct RelativeBiasConfig {
  int64_t n_heads = 0;
  int64_t num_buckets = 32;
  int64_t max_distance = 128;
  bool bidirectional = true;  // encoder: true; decoder self-attention: false (causal)

  RelativeBiasConfig& set_n_heads(int64_t v) { n_heads = v; return *this; }
  RelativeBiasConfig& set_num_buckets(int64_t v) { num_buckets = v; return *this; }
  RelativeBiasConfig& set_max_distance(int64_t v) { max_distance = v; return *this; }
  RelativeBiasConfig& set_bidirectional(bool v) { bidirectional = v; return *this; }
  // n_heads > 0; num_buckets >= 4 (even when bidirectional); max_distance > the exact-bucket count.
  void validate() const;
};
// HF T5Attention._relative_position_bucket for one relative position (memory - query), in the same f32
// arithmetic as that function.
int64_t t5_relative_bucket(int64_t relative_position, bool bidirectional, int64_t num_buckets,
                           int64_t max_distance);
// Buckets for queries at [q_offset, q_offset+q_len) and keys at [0, k_len). i64 [q_len, k_len]
Tensor t5_relative_buckets(int64_t q_len, int64_t k_len, const RelativeBiasConfig& c, int64_t q_offset = 0);
// The bias T5Attention.compute_bias returns: param "<prefix>.weight" [num_buckets, n_heads] gathered by the
// buckets and moved to [1, n_heads, q_len, k_len] (add to the attention scores).
Value t5_relative_bias(Graph& g, const std::string& prefix, const RelativeBiasConfig& c, int64_t q_len,
                       int64_t k_len, int64_t q_offset = 0);

// ---- rotary (position_rope.cpp) -----------------------------------------------------------------------------
enum class RopeStyle {
  half,         // GPT-NeoX / LLaMA: pairs (i, i + rot/2), rotate_half
  interleaved,  // GPT-J: pairs (2i, 2i+1), rotate_every_two
};
enum class RopeScaling { none, linear, dynamic, yarn, llama3 };  // HF rope_type default/linear/dynamic/yarn/llama3

struct RopeConfig {
  int64_t head_dim = 0;
  int64_t rotary_dim = 0;  // dims rotated (the first rotary_dim of each head); 0 = head_dim (partial rotary)
  double theta = 10000.0;  // rope_theta
  RopeStyle style = RopeStyle::half;
  RopeScaling scaling = RopeScaling::none;
  double factor = 1.0;                        // rope_scaling["factor"]
  int64_t max_position_embeddings = 2048;     // dynamic, yarn (when original_max is 0)
  int64_t original_max_position_embeddings = 0;  // yarn, llama3 (0: use max_position_embeddings)
  // YaRN: attention_factor (nullopt: inferred from factor, mscale, mscale_all_dim as HF does)
  std::optional<double> attention_factor;
  double beta_fast = 32.0, beta_slow = 1.0;
  double mscale = 0.0, mscale_all_dim = 0.0;  // 0 = unset
  bool truncate = true;
  // llama3
  double low_freq_factor = 1.0, high_freq_factor = 4.0;

  RopeConfig& set_head_dim(int64_t v) { head_dim = v; return *this; }
  RopeConfig& set_rotary_dim(int64_t v) { rotary_dim = v; return *this; }
  RopeConfig& set_theta(double v) { theta = v; return *this; }
  RopeConfig& set_style(RopeStyle v) { style = v; return *this; }
  RopeConfig& set_scaling(RopeScaling s, double f) { scaling = s; factor = f; return *this; }
  RopeConfig& set_max_position_embeddings(int64_t v) { max_position_embeddings = v; return *this; }
  RopeConfig& set_original_max_position_embeddings(int64_t v) { original_max_position_embeddings = v; return *this; }
  RopeConfig& set_attention_factor(double v) { attention_factor = v; return *this; }
  RopeConfig& set_beta(double fast, double slow) { beta_fast = fast; beta_slow = slow; return *this; }
  RopeConfig& set_mscale(double m, double m_all_dim) { mscale = m; mscale_all_dim = m_all_dim; return *this; }
  RopeConfig& set_truncate(bool v) { truncate = v; return *this; }
  RopeConfig& set_llama3_freq_factors(double low, double high) { low_freq_factor = low; high_freq_factor = high; return *this; }

  int64_t rot() const { return rotary_dim ? rotary_dim : head_dim; }
  // head_dim > 0; rotary_dim even and in (0, head_dim]; theta > 1; factor >= 1 when scaled; ...
  void validate() const;
};

struct RopeFrequencies {
  std::vector<float> inv_freq;    // [rot/2], as HF's rope init function returns it (f32)
  float attention_scaling = 1.0f;  // multiplies cos and sin (YaRN's attention factor; 1 otherwise)
};
// HF ROPE_INIT_FUNCTIONS[rope_type](config, seq_len). `seq_len` matters only for dynamic (NTK) scaling, where
// HF uses max(seq_len, max_position_embeddings) (0: max_position_embeddings, i.e. unscaled).
RopeFrequencies rope_frequencies(const RopeConfig& c, int64_t seq_len = 0);

struct RopeTables {
  Tensor cos, sin;  // [n, rot/2], already multiplied by attention_scaling
};
// Tables for positions [offset, offset+n): angle = p * inv_freq (double), rounded to f32.
RopeTables rope_tables(const RopeConfig& c, int64_t n_positions, int64_t offset = 0, int64_t seq_len = 0);

// Rotates x [..., seq, head_dim] (e.g. [b, h, s, hd]) with cos/sin broadcastable to [..., seq, rot/2]
// (constants from rope_tables, or rows gathered by position ids). Dims past rot pass through unchanged.
Value rope_apply(Graph& g, Value x, Value cos, Value sin, const RopeConfig& c);
// rope_apply with constant tables for positions [offset, offset+seq); seq = x's second-to-last dim.
// For dynamic scaling the tables use seq_len = offset + seq, as HF's dynamic update does.
Value rope(Graph& g, Value x, const RopeConfig& c, int64_t offset = 0);

// ---- ALiBi (position_alibi.cpp) -----------------------------------------------------------------------------
// BLOOM's slopes: a geometric series for the nearest power of two below n_heads, then every other slope of the
// series for twice that, for the remaining heads. [n_heads]
std::vector<float> alibi_slopes(int64_t n_heads);
// BLOOM build_alibi_tensor: attention_mask [b, k] (0/1, f32/i32/i64/bool) -> [b * n_heads, 1, k] with
// slope_h * (cumsum(mask) - 1) * mask.
Tensor build_alibi_tensor(const Tensor& attention_mask, int64_t n_heads);
// Constant bias for an unpadded batch: slope_h * key position. [1, n_heads, 1, k_len] (add to the scores;
// with softmax's shift invariance per row this equals -slope_h * (q - k) on the causal part).
Value alibi_bias(Graph& g, int64_t n_heads, int64_t k_len);

}  // namespace tl::nn
