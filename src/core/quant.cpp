// Weight formats (include/tl/quant.h): the format table, and the scalar quantisers / dequantisers every other
// path shares. The arithmetic follows ggml-quants.c's reference functions (quantize_row_*_ref,
// dequantize_row_*) in the same f32 operation order, so results match ggml and the gguf Python package bit
// for bit (checked against gguf 0.19.0 by tests/core/quant_*_test.cpp). This file must be compiled without
// floating-point contraction (the project builds with -std=c++20, where GCC's default is -ffp-contract=off):
// a fused multiply-add in `(x - min) * id + 0.5f` would change the rounding of q4_1.
#include "tl/quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "tl/error.h"

namespace tl {

namespace {

struct FormatRow {
  WeightFormat f;
  const char* name;
  int64_t block;        // elements per block
  int64_t block_bytes;  // bytes per block
  DType storage;
};
const FormatRow kFormats[] = {
    {WeightFormat::f32, "f32", 1, 4, DType::f32},       {WeightFormat::f16, "f16", 1, 2, DType::f16},
    {WeightFormat::bf16, "bf16", 1, 2, DType::bf16},    {WeightFormat::q8_0, "q8_0", 32, 34, DType::u8},
    {WeightFormat::q4_0, "q4_0", 32, 18, DType::u8},    {WeightFormat::q4_1, "q4_1", 32, 20, DType::u8},
    {WeightFormat::q4_k, "q4_k", 256, 144, DType::u8},  {WeightFormat::q6_k, "q6_k", 256, 210, DType::u8},
};

const FormatRow& row_of(WeightFormat f) {
  for (const FormatRow& r : kFormats)
    if (r.f == f) return r;
  TL_THROW(ValueError, "bad WeightFormat value ", int(f));
}

inline float ld_f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}
inline void st_f16(uint8_t* p, float v) {
  uint16_t h = f32_to_f16(v);
  std::memcpy(p, &h, 2);
}

// ---- quantisers (ggml's *_ref functions) ----

void quant_q8_0(const float* x, uint8_t* b) {  // d, qs[32] (int8)
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  st_f16(b, d);
  // std::round rounds halves away from zero, like ggml's roundf and gguf-py's np_roundf; |x * id| <= 127.
  for (int j = 0; j < 32; ++j) b[2 + j] = uint8_t(int8_t(std::round(x[j] * id)));
}

void quant_q4_0(const float* x, uint8_t* b) {  // d, qs[16]
  float amax = 0.0f, max = 0.0f;  // the value of largest magnitude, the first one on ties
  for (int j = 0; j < 32; ++j)
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  const float d = max / -8.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  st_f16(b, d);
  for (int j = 0; j < 16; ++j) {
    // x * id is in [-8, 8] (up to rounding), so the sum is in (0, 17): truncation is a plain int cast.
    const int q0 = std::min(15, int(x[j] * id + 8.5f));
    const int q1 = std::min(15, int(x[j + 16] * id + 8.5f));
    b[2 + j] = uint8_t(q0 | (q1 << 4));
  }
}

void quant_q4_1(const float* x, uint8_t* b) {  // d, m, qs[16]
  float min = x[0], max = x[0];
  for (int j = 1; j < 32; ++j) {
    min = std::fmin(min, x[j]);
    max = std::fmax(max, x[j]);
  }
  const float d = (max - min) / 15.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  st_f16(b, d);
  st_f16(b + 2, min);
  for (int j = 0; j < 16; ++j) {
    const int q0 = std::min(15, int((x[j] - min) * id + 0.5f));
    const int q1 = std::min(15, int((x[j + 16] - min) * id + 0.5f));
    b[4 + j] = uint8_t(q0 | (q1 << 4));
  }
}

// ---- dequantisers (ggml's dequantize_row_*) ----

void deq_q8_0(const uint8_t* b, float* y) {
  const float d = ld_f16(b);
  for (int j = 0; j < 32; ++j) y[j] = float(int8_t(b[2 + j])) * d;
}
void deq_q4_0(const uint8_t* b, float* y) {
  const float d = ld_f16(b);
  const uint8_t* qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = float(int(qs[j] & 0xF) - 8) * d;
    y[j + 16] = float(int(qs[j] >> 4) - 8) * d;
  }
}
void deq_q4_1(const uint8_t* b, float* y) {
  const float d = ld_f16(b), m = ld_f16(b + 2);
  const uint8_t* qs = b + 4;
  for (int j = 0; j < 16; ++j) {
    y[j] = float(qs[j] & 0xF) * d + m;
    y[j + 16] = float(qs[j] >> 4) * d + m;
  }
}
// 6-bit scale and min number j of a q4_k super-block (12 packed bytes).
inline void scale_min_k4(int j, const uint8_t* q, uint8_t& sc, uint8_t& m) {
  if (j < 4) {
    sc = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    sc = uint8_t((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    m = uint8_t((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}
void deq_q4_k(const uint8_t* b, float* y) {  // d, dmin, scales[12], qs[128]
  const float d = ld_f16(b), dmin = ld_f16(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* q = b + 16;
  for (int j = 0, is = 0; j < 256; j += 64, is += 2, q += 32) {
    uint8_t sc, m;
    scale_min_k4(is, scales, sc, m);
    const float d1 = d * float(sc), m1 = dmin * float(m);
    scale_min_k4(is + 1, scales, sc, m);
    const float d2 = d * float(sc), m2 = dmin * float(m);
    for (int l = 0; l < 32; ++l) *y++ = d1 * float(q[l] & 0xF) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * float(q[l] >> 4) - m2;
  }
}
void deq_q6_k(const uint8_t* b, float* y) {  // ql[128], qh[64], scales[16] (int8), d
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
  const float d = ld_f16(b + 208);
  for (int n = 0; n < 256; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = int((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = int((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = int((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = int((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * float(sc[is]) * float(q1);
      y[l + 32] = d * float(sc[is + 2]) * float(q2);
      y[l + 64] = d * float(sc[is + 4]) * float(q3);
      y[l + 96] = d * float(sc[is + 6]) * float(q4);
    }
  }
}

}  // namespace

const char* weight_format_name(WeightFormat f) {
  for (const FormatRow& r : kFormats)
    if (r.f == f) return r.name;
  return "?";
}

WeightFormat weight_format_from_name(std::string_view name) {
  for (const FormatRow& r : kFormats)
    if (name == r.name) return r.f;
  TL_THROW(ValueError, "unknown weight format \"", name,
           "\" (expected one of f32, f16, bf16, q8_0, q4_0, q4_1, q4_k, q6_k)");
}

std::vector<WeightFormat> all_weight_formats() {
  std::vector<WeightFormat> r;
  for (const FormatRow& x : kFormats) r.push_back(x.f);
  return r;
}

int64_t weight_format_block(WeightFormat f) { return row_of(f).block; }
int64_t weight_block_bytes(WeightFormat f) { return row_of(f).block_bytes; }
DType weight_storage_dtype(WeightFormat f) { return row_of(f).storage; }
bool can_quantize(WeightFormat f) { return f != WeightFormat::q4_k && f != WeightFormat::q6_k; }

int64_t weight_row_bytes(WeightFormat f, int64_t k) {
  const FormatRow& r = row_of(f);
  if (k <= 0 || k % r.block != 0)
    TL_THROW(ValueError, "weight format ", r.name, ": a row of ", k, " weights is not a positive multiple of its block of ",
             r.block);
  return k / r.block * r.block_bytes;
}

void quantize_row(WeightFormat f, const float* x, void* dst, int64_t k) {
  const FormatRow& r = row_of(f);
  const int64_t nb = weight_row_bytes(f, k) / r.block_bytes;
  auto* out = static_cast<uint8_t*>(dst);
  switch (f) {
    case WeightFormat::f32: std::memcpy(out, x, size_t(k) * 4); return;
    case WeightFormat::f16:
      for (int64_t i = 0; i < k; ++i) st_f16(out + 2 * i, x[i]);
      return;
    case WeightFormat::bf16:
      for (int64_t i = 0; i < k; ++i) {
        const uint16_t h = f32_to_bf16(x[i]);
        std::memcpy(out + 2 * i, &h, 2);
      }
      return;
    case WeightFormat::q4_k:
    case WeightFormat::q6_k:
      TL_THROW(ValueError, "weight format ", r.name, " cannot be produced by quantize_weight (k-quants are only read "
               "from GGUF files; quantisable: f32, f16, bf16, q8_0, q4_0, q4_1)");
    default: break;
  }
  for (int64_t i = 0; i < k; ++i)
    if (!std::isfinite(x[i]))
      TL_THROW(ValueError, "weight format ", r.name, ": value ", x[i], " at column ", i,
               " cannot be quantised (block formats need finite weights)");
  void (*fn)(const float*, uint8_t*) = f == WeightFormat::q8_0 ? quant_q8_0 : f == WeightFormat::q4_0 ? quant_q4_0 : quant_q4_1;
  for (int64_t b = 0; b < nb; ++b) fn(x + b * r.block, out + b * r.block_bytes);
}

void dequantize_row(WeightFormat f, const void* src, float* y, int64_t k) {
  const FormatRow& r = row_of(f);
  const int64_t nb = weight_row_bytes(f, k) / r.block_bytes;
  const auto* in = static_cast<const uint8_t*>(src);
  void (*fn)(const uint8_t*, float*) = nullptr;
  switch (f) {
    case WeightFormat::f32: std::memcpy(y, in, size_t(k) * 4); return;
    case WeightFormat::f16:
      for (int64_t i = 0; i < k; ++i) y[i] = ld_f16(in + 2 * i);
      return;
    case WeightFormat::bf16:
      for (int64_t i = 0; i < k; ++i) {
        uint16_t h;
        std::memcpy(&h, in + 2 * i, 2);
        y[i] = bf16_to_f32(h);
      }
      return;
    case WeightFormat::q8_0: fn = deq_q8_0; break;
    case WeightFormat::q4_0: fn = deq_q4_0; break;
    case WeightFormat::q4_1: fn = deq_q4_1; break;
    case WeightFormat::q4_k: fn = deq_q4_k; break;
    case WeightFormat::q6_k: fn = deq_q6_k; break;
  }
  for (int64_t b = 0; b < nb; ++b) fn(in + b * r.block_bytes, y + b * r.block);
}

int64_t check_weight_storage(const Tensor& q, WeightFormat f, int64_t k, const std::string& what) {
  const FormatRow& r = row_of(f);
  int64_t row_bytes;
  try {
    row_bytes = weight_row_bytes(f, k);
  } catch (const ValueError& e) {
    TL_THROW(ShapeError, what, ": ", e.what());
  }
  if (!q.defined()) TL_THROW(ShapeError, what, ": stored ", r.name, " weight is an undefined tensor");
  if (q.dtype() != r.storage)
    TL_THROW(ShapeError, what, ": a ", r.name, " weight is stored as ", dtype_name(r.storage), ", got ",
             dtype_name(q.dtype()));
  const int64_t cols = r.storage == DType::u8 ? row_bytes : k;
  if (q.rank() != 2 || q.shape()[1] != cols)
    TL_THROW(ShapeError, what, ": a ", r.name, " weight with k = ", k, " is stored as [n, ", cols, "] (",
             r.storage == DType::u8 ? "bytes per row" : "one element per weight", "), got shape ", shape_str(q.shape()));
  return q.shape()[0];
}

Tensor quantize_weight(const Tensor& w, WeightFormat f) {
  const FormatRow& r = row_of(f);
  if (!w.defined()) TL_THROW(ValueError, "quantize_weight(", r.name, "): the weight is an undefined tensor");
  if (w.dtype() != DType::f32)
    TL_THROW(ValueError, "quantize_weight(", r.name, "): expected an f32 weight, got ", dtype_name(w.dtype()));
  if (w.rank() != 2)
    TL_THROW(ShapeError, "quantize_weight(", r.name, "): expected a 2-D weight [n, k], got shape ", shape_str(w.shape()));
  const int64_t n = w.shape()[0], k = w.shape()[1];
  if (k <= 0 || k % r.block != 0)
    TL_THROW(ValueError, "quantize_weight(", r.name, "): k = ", k, " (shape ", shape_str(w.shape()),
             ") is not a positive multiple of the format's block of ", r.block);
  if (!can_quantize(f))
    TL_THROW(ValueError, "quantize_weight: format ", r.name, " cannot be produced (k-quants are only read from GGUF "
             "files; quantisable: f32, f16, bf16, q8_0, q4_0, q4_1)");
  const int64_t rb = weight_row_bytes(f, k);
  const Tensor c = w.contiguous();
  const float* x = c.data<float>();
  Tensor out = r.storage == DType::u8 ? Tensor::empty({n, rb}, DType::u8) : Tensor::empty({n, k}, r.storage);
  auto* o = static_cast<uint8_t*>(out.raw_data());
  for (int64_t i = 0; i < n; ++i) {
    if (r.storage == DType::u8)
      for (int64_t j = 0; j < k; ++j)
        if (!std::isfinite(x[i * k + j]))
          TL_THROW(ValueError, "quantize_weight(", r.name, "): value ", x[i * k + j], " at [", i, ", ", j,
                   "] cannot be quantised (block formats need finite weights)");
    quantize_row(f, x + i * k, o + i * rb, k);
  }
  return out;
}

Tensor dequantize_weight(const Tensor& q, WeightFormat f, int64_t k) {
  const int64_t n = check_weight_storage(q, f, k, std::string("dequantize_weight(") + weight_format_name(f) + ")");
  const Tensor c = q.contiguous();
  const int64_t rb = weight_row_bytes(f, k);
  Tensor out = Tensor::empty({n, k}, DType::f32);
  const auto* s = static_cast<const uint8_t*>(c.raw_data());
  for (int64_t i = 0; i < n; ++i) dequantize_row(f, s + i * rb, out.data<float>() + i * k, k);
  return out;
}

}  // namespace tl
