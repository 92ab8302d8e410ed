// Rotary position embedding: HF transformers' inv_freq (rope init functions) and the rotation composed from
// slices, products with constant cos/sin tables and a concat (no dedicated op: the rotation is elementwise and
// memory bound, so the few extra passes over q/k cost little next to the attention products).
#include <cmath>

#include "tl/error.h"
#include "tl/nn/position.h"

namespace tl::nn {

void RopeConfig::validate() const {
  if (head_dim <= 0) TL_THROW(ValueError, "[rope] head_dim must be positive, got ", head_dim);
  const int64_t r = rot();
  if (r <= 0 || r > head_dim || r % 2 != 0)
    TL_THROW(ValueError, "[rope] rotary_dim must be even and in (0, head_dim = ", head_dim, "], got ", r);
  if (!(theta > 1.0)) TL_THROW(ValueError, "[rope] theta must be > 1, got ", theta);
  if (scaling != RopeScaling::none && !(factor > 0.0))
    TL_THROW(ValueError, "[rope] scaling factor must be positive, got ", factor);
  if ((scaling == RopeScaling::dynamic || scaling == RopeScaling::yarn) && max_position_embeddings <= 0)
    TL_THROW(ValueError, "[rope] max_position_embeddings must be positive, got ", max_position_embeddings);
  if (scaling == RopeScaling::dynamic && r <= 2)
    TL_THROW(ValueError, "[rope] dynamic scaling needs rotary_dim > 2 (it divides by dim - 2), got ", r);
  if (scaling == RopeScaling::llama3) {
    if (original_max_position_embeddings <= 0)
      TL_THROW(ValueError, "[rope] llama3 scaling needs original_max_position_embeddings > 0, got ",
               original_max_position_embeddings);
    if (!(high_freq_factor > low_freq_factor) || !(low_freq_factor > 0))
      TL_THROW(ValueError, "[rope] llama3 needs 0 < low_freq_factor < high_freq_factor, got ", low_freq_factor,
               " and ", high_freq_factor);
  }
  if (scaling == RopeScaling::yarn && attention_factor && !(*attention_factor > 0))
    TL_THROW(ValueError, "[rope] attention_factor must be positive, got ", *attention_factor);
}

namespace {

// HF: base ** (arange(0, dim, 2).float() / dim) in f32 (exponent rounded to f32 first).
double pos_freq(double base, int64_t i, int64_t dim) { return std::pow(base, double(float(double(2 * i) / double(dim)))); }

std::vector<float> default_inv_freq(double base, int64_t dim) {
  std::vector<float> f(size_t(dim / 2));
  for (int64_t i = 0; i < dim / 2; ++i) f[size_t(i)] = float(1.0 / double(float(pos_freq(base, i, dim))));
  return f;
}

double yarn_mscale(double scale, double m) { return scale <= 1 ? 1.0 : 0.1 * m * std::log(scale) + 1.0; }

}  // namespace

RopeFrequencies rope_frequencies(const RopeConfig& c, int64_t seq_len) {
  c.validate();
  const int64_t dim = c.rot();
  RopeFrequencies r;
  switch (c.scaling) {
    case RopeScaling::none:
      r.inv_freq = default_inv_freq(c.theta, dim);
      break;
    case RopeScaling::linear:
      r.inv_freq = default_inv_freq(c.theta, dim);
      for (float& f : r.inv_freq) f = float(double(f) / c.factor);
      break;
    case RopeScaling::dynamic: {
      // NTK-aware: base grows with the sequence past max_position_embeddings.
      const double L = double(std::max(seq_len, c.max_position_embeddings));
      const double M = double(c.max_position_embeddings);
      const double base = c.theta * std::pow(c.factor * L / M - (c.factor - 1), double(dim) / double(dim - 2));
      r.inv_freq = default_inv_freq(base, dim);
      break;
    }
    case RopeScaling::yarn: {
      const double orig = double(c.original_max_position_embeddings ? c.original_max_position_embeddings
                                                                     : c.max_position_embeddings);
      double af;
      if (c.attention_factor) af = *c.attention_factor;
      else if (c.mscale != 0 && c.mscale_all_dim != 0) af = yarn_mscale(c.factor, c.mscale) / yarn_mscale(c.factor, c.mscale_all_dim);
      else af = yarn_mscale(c.factor, 1.0);
      r.attention_scaling = float(af);
      auto correction_dim = [&](double rotations) {
        return double(dim) * std::log(orig / (rotations * 2 * M_PI)) / (2 * std::log(c.theta));
      };
      double low = correction_dim(c.beta_fast), high = correction_dim(c.beta_slow);
      if (c.truncate) { low = std::floor(low); high = std::ceil(high); }
      low = std::max(low, 0.0);
      high = std::min(high, double(dim - 1));
      if (low == high) high += 0.001;  // HF: prevent a zero-width ramp
      r.inv_freq.resize(size_t(dim / 2));
      for (int64_t i = 0; i < dim / 2; ++i) {
        const float pf = float(pos_freq(c.theta, i, dim));
        const float extrap = 1.0f / pf, interp = float(1.0 / (c.factor * double(pf)));
        // HF evaluates the ramp in f32: (i - low) / (high - low) clamped to [0, 1].
        float ramp = (float(i) - float(low)) / float(high - low);
        ramp = std::min(1.0f, std::max(0.0f, ramp));
        const float ex = 1.0f - ramp;  // extrapolation weight
        r.inv_freq[size_t(i)] = interp * (1.0f - ex) + extrap * ex;
      }
      break;
    }
    case RopeScaling::llama3: {
      r.inv_freq = default_inv_freq(c.theta, dim);
      const double old_ctx = double(c.original_max_position_embeddings);
      const double low_wavelen = old_ctx / c.low_freq_factor, high_wavelen = old_ctx / c.high_freq_factor;
      for (float& f : r.inv_freq) {
        const double wavelen = 2 * M_PI / double(f);
        if (wavelen > low_wavelen) {
          f = float(double(f) / c.factor);  // low frequencies: interpolate fully
        } else if (wavelen >= high_wavelen) {  // medium: blend
          const double s = (old_ctx / wavelen - c.low_freq_factor) / (c.high_freq_factor - c.low_freq_factor);
          f = float((1 - s) * double(f) / c.factor + s * double(f));
        }
      }
      break;
    }
  }
  return r;
}

RopeTables rope_tables(const RopeConfig& c, int64_t n_positions, int64_t offset, int64_t seq_len) {
  if (n_positions <= 0 || offset < 0)
    TL_THROW(ValueError, "[rope] n_positions must be positive and offset >= 0, got ", n_positions, " and ", offset);
  const RopeFrequencies f = rope_frequencies(c, seq_len);
  const int64_t half = int64_t(f.inv_freq.size());
  RopeTables t{Tensor::empty({n_positions, half}), Tensor::empty({n_positions, half})};  // [n, rot/2]
  float* pc = t.cos.data<float>();
  float* ps = t.sin.data<float>();
  for (int64_t p = 0; p < n_positions; ++p)
    for (int64_t i = 0; i < half; ++i) {
      const double angle = double(offset + p) * double(f.inv_freq[size_t(i)]);
      pc[p * half + i] = float(std::cos(angle) * f.attention_scaling);
      ps[p * half + i] = float(std::sin(angle) * f.attention_scaling);
    }
  return t;
}

Value rope_apply(Graph& g, Value x, Value cos, Value sin, const RopeConfig& c) {
  c.validate();
  const Shape xs = g.shape(x);  // [..., seq, head_dim]
  if (xs.size() < 2 || xs.back() != c.head_dim)
    TL_THROW(ShapeError, "[rope] input has shape ", shape_str(xs), ", expected [..., seq, head_dim = ", c.head_dim, "]");
  const int64_t rot = c.rot(), half = rot / 2;
  for (Value t : {cos, sin}) {
    const Shape& ts = g.shape(t);
    if (ts.empty() || ts.back() != half)
      TL_THROW(ShapeError, "[rope] cos/sin table has shape ", shape_str(ts), ", expected last dim rotary_dim / 2 = ", half);
  }
  // One op (tl::kernels::rope): the slices, products and concat of the textbook form cost eleven strided passes.
  return g.rope(x, cos, sin, c.style == RopeStyle::interleaved);  // [..., seq, head_dim]
}

Value rope(Graph& g, Value x, const RopeConfig& c, int64_t offset) {
  const Shape& xs = g.shape(x);
  if (xs.size() < 2) TL_THROW(ShapeError, "[rope] input must be [..., seq, head_dim], got ", shape_str(xs));
  const int64_t seq = xs[xs.size() - 2];
  RopeTables t = rope_tables(c, seq, offset, offset + seq);
  return rope_apply(g, x, g.constant(t.cos), g.constant(t.sin), c);
}

}  // namespace tl::nn
