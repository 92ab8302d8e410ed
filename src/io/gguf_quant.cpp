// ggml tensor types: block sizes and exact dequantisation, following the definitions in ggml-quants.c
// (scales are f16 converted exactly to f32; arithmetic is f32 in the same order, so results match ggml and
// the gguf Python package bit for bit). Q8_0, Q4_0, Q4_1, Q4_K and Q6_K are tl's weight formats: their blocks
// are dequantised by tl::dequantize_row (src/core/quant.cpp), the one copy of that arithmetic.
#include <cstring>

#include "tl/io/gguf.h"
#include "tl/quant.h"

namespace tl::io {

namespace {

struct TypeRow {
  GgmlType t;
  const char* name;
  int64_t block;
  size_t size;
};
// Block sizes and bytes per block as in ggml.c's type_traits.
const TypeRow kTypes[] = {
    {GgmlType::F32, "F32", 1, 4},        {GgmlType::F16, "F16", 1, 2},           {GgmlType::Q4_0, "Q4_0", 32, 18},
    {GgmlType::Q4_1, "Q4_1", 32, 20},    {GgmlType::Q5_0, "Q5_0", 32, 22},       {GgmlType::Q5_1, "Q5_1", 32, 24},
    {GgmlType::Q8_0, "Q8_0", 32, 34},    {GgmlType::Q8_1, "Q8_1", 32, 36},       {GgmlType::Q2_K, "Q2_K", 256, 84},
    {GgmlType::Q3_K, "Q3_K", 256, 110},  {GgmlType::Q4_K, "Q4_K", 256, 144},     {GgmlType::Q5_K, "Q5_K", 256, 176},
    {GgmlType::Q6_K, "Q6_K", 256, 210},  {GgmlType::Q8_K, "Q8_K", 256, 292},     {GgmlType::IQ2_XXS, "IQ2_XXS", 256, 66},
    {GgmlType::IQ2_XS, "IQ2_XS", 256, 74}, {GgmlType::IQ3_XXS, "IQ3_XXS", 256, 98}, {GgmlType::IQ1_S, "IQ1_S", 256, 50},
    {GgmlType::IQ4_NL, "IQ4_NL", 32, 18}, {GgmlType::IQ3_S, "IQ3_S", 256, 110},  {GgmlType::IQ2_S, "IQ2_S", 256, 82},
    {GgmlType::IQ4_XS, "IQ4_XS", 256, 136}, {GgmlType::I8, "I8", 1, 1},          {GgmlType::I16, "I16", 1, 2},
    {GgmlType::I32, "I32", 1, 4},        {GgmlType::I64, "I64", 1, 8},           {GgmlType::F64, "F64", 1, 8},
    {GgmlType::IQ1_M, "IQ1_M", 256, 56}, {GgmlType::BF16, "BF16", 1, 2},         {GgmlType::TQ1_0, "TQ1_0", 256, 54},
    {GgmlType::TQ2_0, "TQ2_0", 256, 66},
};

const TypeRow* row(GgmlType t) {
  for (const TypeRow& r : kTypes)
    if (r.t == t) return &r;
  return nullptr;
}

inline float h2f(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

void deq_q5_0(const uint8_t* b, float* y) {  // d, qh[4], qs[16]
  float d = h2f(b);
  uint32_t qh;
  std::memcpy(&qh, b + 2, 4);
  const uint8_t* qs = b + 6;
  for (int j = 0; j < 16; ++j) {
    int x0 = int((qs[j] & 0xF) | (((qh >> j) << 4) & 0x10)) - 16;
    int x1 = int((qs[j] >> 4) | ((qh >> (j + 12)) & 0x10)) - 16;
    y[j] = float(x0) * d;
    y[j + 16] = float(x1) * d;
  }
}
void deq_q5_1(const uint8_t* b, float* y) {  // d, m, qh[4], qs[16]
  float d = h2f(b), m = h2f(b + 2);
  uint32_t qh;
  std::memcpy(&qh, b + 4, 4);
  const uint8_t* qs = b + 8;
  for (int j = 0; j < 16; ++j) {
    int x0 = int((qs[j] & 0xF) | (((qh >> j) << 4) & 0x10));
    int x1 = int((qs[j] >> 4) | ((qh >> (j + 12)) & 0x10));
    y[j] = float(x0) * d + m;
    y[j + 16] = float(x1) * d + m;
  }
}
template <class T>
void plain(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, src + i * int64_t(sizeof(T)), sizeof(T));
    dst[i] = float(v);
  }
}

}  // namespace

const char* ggml_type_name(GgmlType t) {
  const TypeRow* r = row(t);
  return r ? r->name : "unknown";
}
bool ggml_type_known(uint32_t t) { return row(GgmlType(t)) != nullptr; }
int64_t ggml_block_size(GgmlType t) {
  const TypeRow* r = row(t);
  if (!r) TL_THROW(ValueError, "[gguf] unknown ggml type ", uint32_t(t));
  return r->block;
}
size_t ggml_type_size(GgmlType t) {
  const TypeRow* r = row(t);
  if (!r) TL_THROW(ValueError, "[gguf] unknown ggml type ", uint32_t(t));
  return r->size;
}
bool ggml_can_dequantize(GgmlType t) {
  switch (t) {
    case GgmlType::F32: case GgmlType::F16: case GgmlType::BF16: case GgmlType::Q4_0: case GgmlType::Q4_1:
    case GgmlType::Q5_0: case GgmlType::Q5_1: case GgmlType::Q8_0: case GgmlType::Q4_K: case GgmlType::Q6_K:
    case GgmlType::I8: case GgmlType::I16: case GgmlType::I32: case GgmlType::I64: case GgmlType::F64:
      return true;
    default:
      return false;
  }
}

void dequantize(GgmlType t, const uint8_t* src, float* dst, int64_t n) {
  if (!ggml_can_dequantize(t))
    TL_THROW(ValueError, "[gguf] dequantize: type ", ggml_type_name(t), " (", uint32_t(t), ") is not supported "
             "(supported: F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q4_K Q6_K I8 I16 I32 I64 F64)");
  const int64_t bs = ggml_block_size(t);
  if (n < 0 || n % bs != 0)
    TL_THROW(ValueError, "[gguf] dequantize: ", n, " elements is not a whole number of ", ggml_type_name(t), " blocks of ", bs);
  if (n == 0) return;
  const int64_t nb = n / bs;
  const size_t ts = ggml_type_size(t);
  void (*block_fn)(const uint8_t*, float*) = nullptr;
  switch (t) {
    case GgmlType::F32: std::memcpy(dst, src, size_t(n) * 4); return;
    case GgmlType::F16:
      for (int64_t i = 0; i < n; ++i) dst[i] = h2f(src + 2 * i);
      return;
    case GgmlType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = bf16_to_f32(h);
      }
      return;
    case GgmlType::I8: plain<int8_t>(src, dst, n); return;
    case GgmlType::I16: plain<int16_t>(src, dst, n); return;
    case GgmlType::I32: plain<int32_t>(src, dst, n); return;
    case GgmlType::I64: plain<int64_t>(src, dst, n); return;
    case GgmlType::F64: plain<double>(src, dst, n); return;
    case GgmlType::Q4_0: dequantize_row(WeightFormat::q4_0, src, dst, n); return;
    case GgmlType::Q4_1: dequantize_row(WeightFormat::q4_1, src, dst, n); return;
    case GgmlType::Q8_0: dequantize_row(WeightFormat::q8_0, src, dst, n); return;
    case GgmlType::Q4_K: dequantize_row(WeightFormat::q4_k, src, dst, n); return;
    case GgmlType::Q6_K: dequantize_row(WeightFormat::q6_k, src, dst, n); return;
    case GgmlType::Q5_0: block_fn = deq_q5_0; break;
    case GgmlType::Q5_1: block_fn = deq_q5_1; break;
    default: break;
  }
  TL_CHECK(block_fn != nullptr);
  for (int64_t i = 0; i < nb; ++i) block_fn(src + size_t(i) * ts, dst + i * bs);
}

}  // namespace tl::io
