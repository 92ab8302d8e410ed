#include "runtime/cpu/kernels/common.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "tl/threading.h"

#if defined(__F16C__)
#include <immintrin.h>
#endif

namespace tl::kernels::detail {

void check_defined(const char* op, const char* what, const Tensor& t) {
  if (!t.defined()) TL_THROW(ValueError, "[", op, "] ", what, " is an undefined tensor");
}

void check_out(const char* op, const Tensor& out, const Shape& shape, DType dtype) {
  check_defined(op, "out", out);
  if (out.shape() != shape)
    TL_THROW(ShapeError, "[", op, "] out has shape ", shape_str(out.shape()), ", expected ", shape_str(shape));
  if (out.dtype() != dtype)
    TL_THROW(ValueError, "[", op, "] out has dtype ", dtype_name(out.dtype()), ", expected ", dtype_name(dtype));
  // (Tensor::is_contiguous() says false for some empty tensors made by Tensor::empty; nothing is written then.)
  if (out.numel() > 0 && !out.is_contiguous())
    TL_THROW(ValueError, "[", op, "] out must be contiguous, got strides ", shape_str(out.strides()),
             " for shape ", shape_str(out.shape()));
}

int norm_axis(const char* op, int axis, int rank) {
  if (axis < -rank || axis >= rank || (rank == 0))
    TL_THROW(ShapeError, "[", op, "] axis ", axis, " out of range for rank ", rank, " input (expected in [",
             -rank, ", ", rank, "))");
  return axis < 0 ? axis + rank : axis;
}

bool is_int(DType t) { return t == DType::i32 || t == DType::i64 || t == DType::boolean || t == DType::u8; }

Shape broadcast_strides(const Tensor& t, const Shape& shape) {
  Shape st(shape.size(), 0);
  size_t lead = shape.size() - size_t(t.rank());
  for (size_t i = 0; i < size_t(t.rank()); ++i)
    if (t.shape()[i] != 1) st[lead + i] = t.strides()[i];
  return st;
}

// ---- conversions ---------------------------------------------------------------------------------------

namespace {
template <class T>
T ld(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}
template <class T>
void st(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}
template <class I>
I float_to_int(double v) {
  if (std::isnan(v)) return 0;
  constexpr double lo = double(std::numeric_limits<I>::min());
  constexpr double hi = double(std::numeric_limits<I>::max());
  if (v <= lo) return std::numeric_limits<I>::min();
  if (v >= hi) return std::numeric_limits<I>::max();
  return I(v);
}
}  // namespace

void load_f32(const uint8_t* p, DType dt, int64_t s, float* dst, int64_t n) {
  const int64_t es = int64_t(dtype_size(dt));
  switch (dt) {
    case DType::f32:
      if (s == 1) {
        std::memcpy(dst, p, size_t(n) * 4);
      } else {
        for (int64_t i = 0; i < n; ++i) dst[i] = ld<float>(p + i * s * es);
      }
      return;
    case DType::f16: {
      int64_t i = 0;
#if defined(__F16C__)
      if (s == 1)
        for (; i + 8 <= n; i += 8)
          _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i * 2))));
#endif
      for (; i < n; ++i) dst[i] = f16_to_f32(ld<uint16_t>(p + i * s * es));
      return;
    }
    case DType::bf16:
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(ld<uint16_t>(p + i * s * es));
      return;
    case DType::i32:
      for (int64_t i = 0; i < n; ++i) dst[i] = float(ld<int32_t>(p + i * s * es));
      return;
    case DType::i64:
      for (int64_t i = 0; i < n; ++i) dst[i] = float(ld<int64_t>(p + i * s * es));
      return;
    case DType::boolean:
      for (int64_t i = 0; i < n; ++i) dst[i] = p[i * s] ? 1.0f : 0.0f;
      return;
    case DType::u8:
      for (int64_t i = 0; i < n; ++i) dst[i] = float(p[i * s]);
      return;
  }
}

void load_f64(const uint8_t* p, DType dt, int64_t s, double* dst, int64_t n) {
  const int64_t es = int64_t(dtype_size(dt));
  switch (dt) {
    case DType::i64:
      for (int64_t i = 0; i < n; ++i) dst[i] = double(ld<int64_t>(p + i * s * es));
      return;
    case DType::i32:
      for (int64_t i = 0; i < n; ++i) dst[i] = double(ld<int32_t>(p + i * s * es));
      return;
    default: {
      float buf[kBlock];
      for (int64_t b = 0; b < n; b += kBlock) {
        int64_t m = std::min(kBlock, n - b);
        load_f32(p + b * s * es, dt, s, buf, m);
        for (int64_t i = 0; i < m; ++i) dst[b + i] = buf[i];
      }
    }
  }
}

void load_i64(const uint8_t* p, DType dt, int64_t s, int64_t* dst, int64_t n) {
  const int64_t es = int64_t(dtype_size(dt));
  switch (dt) {
    case DType::i64:
      for (int64_t i = 0; i < n; ++i) dst[i] = ld<int64_t>(p + i * s * es);
      return;
    case DType::i32:
      for (int64_t i = 0; i < n; ++i) dst[i] = ld<int32_t>(p + i * s * es);
      return;
    case DType::boolean:
      for (int64_t i = 0; i < n; ++i) dst[i] = p[i * s] ? 1 : 0;
      return;
    case DType::u8:
      for (int64_t i = 0; i < n; ++i) dst[i] = p[i * s];
      return;
    default: {
      double buf[kBlock];
      for (int64_t b = 0; b < n; b += kBlock) {
        int64_t m = std::min(kBlock, n - b);
        load_f64(p + b * s * es, dt, s, buf, m);
        for (int64_t i = 0; i < m; ++i) dst[b + i] = float_to_int<int64_t>(buf[i]);
      }
    }
  }
}

void store_f32(const float* src, uint8_t* p, DType dt, int64_t s, int64_t n) {
  const int64_t es = int64_t(dtype_size(dt));
  switch (dt) {
    case DType::f32:
      if (s == 1) {
        std::memcpy(p, src, size_t(n) * 4);
      } else {
        for (int64_t i = 0; i < n; ++i) st<float>(p + i * s * es, src[i]);
      }
      return;
    case DType::f16:
      for (int64_t i = 0; i < n; ++i) st<uint16_t>(p + i * s * es, f32_to_f16(src[i]));
      return;
    case DType::bf16:
      for (int64_t i = 0; i < n; ++i) st<uint16_t>(p + i * s * es, f32_to_bf16(src[i]));
      return;
    case DType::i32:
      for (int64_t i = 0; i < n; ++i) st<int32_t>(p + i * s * es, float_to_int<int32_t>(src[i]));
      return;
    case DType::i64:
      for (int64_t i = 0; i < n; ++i) st<int64_t>(p + i * s * es, float_to_int<int64_t>(src[i]));
      return;
    case DType::boolean:
      for (int64_t i = 0; i < n; ++i) p[i * s] = src[i] != 0.0f;
      return;
    case DType::u8:  // through i64 then wrapping, like NumPy's astype(uint8) of in-range values
      for (int64_t i = 0; i < n; ++i) p[i * s] = uint8_t(float_to_int<int64_t>(src[i]));
      return;
  }
}

void store_f64(const double* src, uint8_t* p, DType dt, int64_t s, int64_t n) {
  const int64_t es = int64_t(dtype_size(dt));
  switch (dt) {
    case DType::i32:
      for (int64_t i = 0; i < n; ++i) st<int32_t>(p + i * s * es, float_to_int<int32_t>(src[i]));
      return;
    case DType::i64:
      for (int64_t i = 0; i < n; ++i) st<int64_t>(p + i * s * es, float_to_int<int64_t>(src[i]));
      return;
    case DType::boolean:
      for (int64_t i = 0; i < n; ++i) p[i * s] = src[i] != 0.0;
      return;
    default: {
      float buf[kBlock];
      for (int64_t b = 0; b < n; b += kBlock) {
        int64_t m = std::min(kBlock, n - b);
        for (int64_t i = 0; i < m; ++i) buf[i] = float(src[b + i]);
        store_f32(buf, p + b * s * es, dt, s, m);
      }
    }
  }
}

void store_i64(const int64_t* src, uint8_t* p, DType dt, int64_t s, int64_t n) {
  const int64_t es = int64_t(dtype_size(dt));
  switch (dt) {
    case DType::i64:
      for (int64_t i = 0; i < n; ++i) st<int64_t>(p + i * s * es, src[i]);
      return;
    case DType::i32:  // wraps, as a C cast / NumPy astype does
      for (int64_t i = 0; i < n; ++i) st<int32_t>(p + i * s * es, int32_t(uint32_t(uint64_t(src[i]))));
      return;
    case DType::boolean:
      for (int64_t i = 0; i < n; ++i) p[i * s] = src[i] != 0;
      return;
    case DType::u8:  // wraps, as a C cast / NumPy astype does
      for (int64_t i = 0; i < n; ++i) p[i * s] = uint8_t(uint64_t(src[i]));
      return;
    default:  // int -> float rounds once, directly
      for (int64_t i = 0; i < n; ++i) {
        float f = float(src[i]);
        store_f32(&f, p + i * s * es, dt, 1, 1);
      }
  }
}

// ---- walk ----------------------------------------------------------------------------------------------

Walk make_walk(const Shape& shape, const std::vector<Shape>& strides) {
  Walk w;
  w.numel = shape_numel(shape);
  w.strides.resize(strides.size());
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = !w.shape.empty();
    for (size_t k = 0; merge && k < strides.size(); ++k)
      merge = w.strides[k].back() == strides[k][d] * shape[d];
    if (merge) {
      w.shape.back() *= shape[d];
      for (size_t k = 0; k < strides.size(); ++k) w.strides[k].back() = strides[k][d];
    } else {
      w.shape.push_back(shape[d]);
      for (size_t k = 0; k < strides.size(); ++k) w.strides[k].push_back(strides[k][d]);
    }
  }
  if (w.shape.empty()) {
    w.shape.push_back(1);
    for (auto& s : w.strides) s.push_back(0);
  }
  return w;
}

void copy_strided(const Tensor& src, const Tensor& dst) {
  TL_CHECK(src.shape() == dst.shape(), shape_str(src.shape()), " vs ", shape_str(dst.shape()));
  if (dst.numel() == 0) return;
  Walk w = make_walk(dst.shape(), {src.strides(), dst.strides()});
  const DType sd = src.dtype(), dd = dst.dtype();
  const int64_t ss = w.strides[0].back(), ds = w.strides[1].back();
  const int64_t ses = int64_t(dtype_size(sd)), des = int64_t(dtype_size(dd));
  parallel_for(w.numel, kGrain * 4, [&](int64_t b, int64_t e) {
    walk_runs(w, b, e, [&](int64_t n, std::span<const int64_t> offs) {
      const uint8_t* s = byte_ptr(src, offs[0]);
      uint8_t* d = byte_ptr_mut(dst, offs[1]);
      if (sd == dd) {
        if (ss == 1 && ds == 1) {
          std::memcpy(d, s, size_t(n * ses));
        } else {
          for (int64_t i = 0; i < n; ++i) std::memcpy(d + i * ds * des, s + i * ss * ses, size_t(ses));
        }
      } else if (is_int(sd) && is_int(dd)) {
        int64_t buf[kBlock];
        for (int64_t i = 0; i < n; i += kBlock) {
          int64_t m = std::min(kBlock, n - i);
          load_i64(s + i * ss * ses, sd, ss, buf, m);
          store_i64(buf, d + i * ds * des, dd, ds, m);
        }
      } else if (is_int(sd)) {  // int -> float
        int64_t buf[kBlock];
        for (int64_t i = 0; i < n; i += kBlock) {
          int64_t m = std::min(kBlock, n - i);
          load_i64(s + i * ss * ses, sd, ss, buf, m);
          store_i64(buf, d + i * ds * des, dd, ds, m);
        }
      } else {  // float -> anything: floats are exact in f32
        float buf[kBlock];
        for (int64_t i = 0; i < n; i += kBlock) {
          int64_t m = std::min(kBlock, n - i);
          load_f32(s + i * ss * ses, sd, ss, buf, m);
          store_f32(buf, d + i * ds * des, dd, ds, m);
        }
      }
    });
  });
}

}  // namespace tl::kernels::detail
