#include "tl/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace tl {

std::string shape_str(std::span<const int64_t> s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

int64_t shape_numel(std::span<const int64_t> s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) TL_THROW(ShapeError, "shape ", shape_str(s), " has a negative dimension");
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      TL_THROW(ShapeError, "shape ", shape_str(s), " has more elements than fit in 64 bits");
    n *= d;
  }
  return n;
}

Shape contiguous_strides(std::span<const int64_t> s) {
  Shape st(s.size());
  int64_t acc = 1;
  for (int i = int(s.size()) - 1; i >= 0; --i) {
    st[i] = acc;
    // A zero-size dim keeps the element count 0, but the strides of the other dims must still fit.
    if (i == 0) break;
    int64_t d = std::max<int64_t>(s[i], 1);
    if (acc > std::numeric_limits<int64_t>::max() / d)
      TL_THROW(ShapeError, "shape ", shape_str(s), " has strides that do not fit in 64 bits");
    acc *= d;
  }
  return st;
}

Shape broadcast_shapes(std::span<const int64_t> a, std::span<const int64_t> b, const char* what) {
  size_t n = std::max(a.size(), b.size());
  Shape r(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1)
      TL_THROW(ShapeError, "[", what, "] shapes ", shape_str(a), " and ", shape_str(b),
               " cannot be broadcast: dim ", i, " is ", da, " vs ", db);
    r[i] = da == 1 ? db : da;
  }
  return r;
}

namespace {
struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};
}  // namespace

Tensor Tensor::empty(Shape shape, DType dtype) {
  Tensor t;
  t.numel_ = shape_numel(shape);
  t.dtype_ = dtype;
  t.strides_ = contiguous_strides(shape);
  t.shape_ = std::move(shape);
  if (size_t(t.numel_) > std::numeric_limits<size_t>::max() / 64 / dtype_size(dtype))
    TL_THROW(ShapeError, "a tensor of shape ", shape_str(t.shape_), " needs more bytes than fit in 64 bits");
  size_t bytes = size_t(t.numel_) * dtype_size(dtype);
  size_t alloc = std::max<size_t>((bytes + 63) / 64 * 64, 64);
  void* p = std::aligned_alloc(64, alloc);
  if (!p) TL_THROW(Error, "out of memory allocating ", bytes, " bytes for a tensor of shape ", shape_str(t.shape_));
  t.holder_ = std::shared_ptr<void>(p, AlignedFree());
  t.base_ = static_cast<uint8_t*>(p);
  return t;
}

Tensor Tensor::zeros(Shape shape, DType dtype) {
  Tensor t = empty(std::move(shape), dtype);
  std::memset(t.base_, 0, t.nbytes());
  return t;
}

Tensor Tensor::full(Shape shape, double value, DType dtype) {
  Tensor t = empty(std::move(shape), dtype);
  if (t.numel_ == 0) return t;
  Shape zero(t.rank(), 0);
  t.set(zero, value);
  size_t es = dtype_size(dtype);
  for (int64_t i = 1; i < t.numel_; ++i) std::memcpy(t.base_ + i * es, t.base_, es);
  return t;
}

Tensor Tensor::wrap(void* data, Shape shape, DType dtype, std::shared_ptr<void> owner) {
  Tensor t;
  t.numel_ = shape_numel(shape);
  t.dtype_ = dtype;
  t.strides_ = contiguous_strides(shape);
  t.shape_ = std::move(shape);
  t.holder_ = std::move(owner);
  t.base_ = static_cast<uint8_t*>(data);
  return t;
}

int Tensor::norm_dim(int d, const char* what) const {
  int r = rank();
  if (d < -r || d >= r) TL_THROW(ShapeError, "[", what, "] dim ", d, " out of range for rank ", r, " tensor of shape ", shape_str(shape_));
  return d < 0 ? d + r : d;
}

int64_t Tensor::size(int d) const { return shape_[norm_dim(d, "size")]; }

bool Tensor::is_contiguous() const {
  if (numel_ == 0) return true;  // nothing to lay out
  int64_t acc = 1;
  for (int i = rank() - 1; i >= 0; --i) {
    if (shape_[i] != 1 && strides_[i] != acc) return false;
    acc *= shape_[i];
  }
  return true;
}

void Tensor::check_dtype(DType want, const char* what) const {
  if (dtype_ != want) TL_THROW(ValueError, "[", what, "] tensor has dtype ", dtype_name(dtype_), ", expected ", dtype_name(want));
}

uint16_t* Tensor::data_u16() const {
  if (dtype_ != DType::f16 && dtype_ != DType::bf16)
    TL_THROW(ValueError, "[data_u16] tensor has dtype ", dtype_name(dtype_), ", expected f16 or bf16");
  return static_cast<uint16_t*>(raw_data());
}

Tensor Tensor::permute(std::span<const int> perm) const {
  if (int(perm.size()) != rank())
    TL_THROW(ShapeError, "[permute] permutation has ", perm.size(), " entries, tensor of shape ", shape_str(shape_), " has rank ", rank());
  Tensor t = *this;
  std::vector<bool> seen(rank(), false);
  for (int i = 0; i < rank(); ++i) {
    int p = norm_dim(perm[i], "permute");
    if (seen[p]) TL_THROW(ShapeError, "[permute] dim ", p, " appears twice in the permutation");
    seen[p] = true;
    t.shape_[i] = shape_[p];
    t.strides_[i] = strides_[p];
  }
  return t;
}

Tensor Tensor::transpose(int a, int b) const {
  std::vector<int> perm(rank());
  for (int i = 0; i < rank(); ++i) perm[i] = i;
  std::swap(perm[norm_dim(a, "transpose")], perm[norm_dim(b, "transpose")]);
  return permute(perm);
}

Tensor Tensor::slice(int dim, int64_t start, int64_t stop, int64_t step) const {
  int d = norm_dim(dim, "slice");
  if (step <= 0) TL_THROW(ValueError, "[slice] step must be positive, got ", step);
  int64_t n = shape_[d];
  auto clamp = [n](int64_t v) { return v < 0 ? std::max<int64_t>(v + n, 0) : std::min(v, n); };
  start = clamp(start);
  stop = clamp(stop);
  Tensor t = *this;
  int64_t len = stop > start ? (stop - start + step - 1) / step : 0;
  t.offset_ += start * strides_[d];
  t.shape_[d] = len;
  t.strides_[d] = strides_[d] * step;
  t.numel_ = shape_numel(t.shape_);
  return t;
}

Tensor Tensor::broadcast_to(const Shape& shape) const {
  if (shape.size() < shape_.size())
    TL_THROW(ShapeError, "[broadcast_to] cannot broadcast shape ", shape_str(shape_), " to fewer dims ", shape_str(shape));
  Tensor t = *this;
  size_t lead = shape.size() - shape_.size();
  t.shape_ = shape;
  t.strides_.assign(shape.size(), 0);
  for (size_t i = 0; i < shape_.size(); ++i) {
    if (shape_[i] == shape[lead + i]) {
      t.strides_[lead + i] = strides_[i];
    } else if (shape_[i] != 1) {
      TL_THROW(ShapeError, "[broadcast_to] cannot broadcast shape ", shape_str(shape_), " to ", shape_str(shape),
               ": dim ", i, " is ", shape_[i]);
    }
  }
  t.numel_ = shape_numel(shape);
  return t;
}

Tensor Tensor::unsqueeze(int dim) const {
  int r = rank() + 1;
  if (dim < -r || dim >= r) TL_THROW(ShapeError, "[unsqueeze] dim ", dim, " out of range for result rank ", r);
  if (dim < 0) dim += r;
  Tensor t = *this;
  int64_t st = dim < rank() ? strides_[dim] * shape_[dim] : 1;
  t.shape_.insert(t.shape_.begin() + dim, 1);
  t.strides_.insert(t.strides_.begin() + dim, st);
  return t;
}

Tensor Tensor::as_strided(Shape shape, Shape strides, int64_t offset) const {
  if (shape.size() != strides.size())
    TL_THROW(ShapeError, "[as_strided] shape ", shape_str(shape), " and strides ", shape_str(strides), " differ in rank");
  Tensor t = *this;
  t.shape_ = std::move(shape);
  t.strides_ = std::move(strides);
  t.offset_ = offset;
  t.numel_ = shape_numel(t.shape_);
  return t;
}

Tensor Tensor::reshape(Shape shape) const {
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) TL_THROW(ShapeError, "[reshape] more than one -1 in target shape ", shape_str(shape));
      infer = int(i);
    } else if (shape[i] < 0) {
      TL_THROW(ShapeError, "[reshape] negative dim in target shape ", shape_str(shape));
    } else {
      known = known * shape[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || numel_ % known != 0)
      TL_THROW(ShapeError, "[reshape] cannot reshape ", shape_str(shape_), " (", numel_, " elements) to ", shape_str(shape));
    shape[infer] = numel_ / known;
  }
  if (shape_numel(shape) != numel_)
    TL_THROW(ShapeError, "[reshape] cannot reshape ", shape_str(shape_), " (", numel_, " elements) to ", shape_str(shape),
             " (", shape_numel(shape), " elements)");
  Tensor src = is_contiguous() ? *this : contiguous();
  Tensor t = src;
  t.strides_ = contiguous_strides(shape);
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) {
    // Normalise strides of size-1 dims so callers can rely on them.
    Tensor t = *this;
    t.strides_ = contiguous_strides(shape_);
    return t;
  }
  return clone();
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape_, dtype_);
  if (numel_ == 0) return out;
  size_t es = dtype_size(dtype_);
  int r = rank();
  if (r == 0) {
    std::memcpy(out.base_, raw_data(), es);
    return out;
  }
  // Copy innermost rows; when the inner stride is 1 use memcpy.
  int64_t inner = shape_[r - 1], ist = strides_[r - 1];
  Shape outer(shape_.begin(), shape_.end() - 1);
  uint8_t* dst = out.base_;
  const uint8_t* src0 = static_cast<const uint8_t*>(raw_data());
  for_each_index(outer, [&](std::span<const int64_t> idx) {
    int64_t off = 0;
    for (int i = 0; i < r - 1; ++i) off += idx[i] * strides_[i];
    const uint8_t* s = src0 + off * int64_t(es);
    if (ist == 1) {
      std::memcpy(dst, s, size_t(inner) * es);
    } else {
      for (int64_t j = 0; j < inner; ++j) std::memcpy(dst + j * es, s + j * ist * int64_t(es), es);
    }
    dst += inner * es;
  });
  return out;
}

namespace {
double load(const uint8_t* p, DType t) {
  switch (t) {
    case DType::f32: { float v; std::memcpy(&v, p, 4); return v; }
    case DType::f16: { uint16_t v; std::memcpy(&v, p, 2); return f16_to_f32(v); }
    case DType::bf16: { uint16_t v; std::memcpy(&v, p, 2); return bf16_to_f32(v); }
    case DType::i32: { int32_t v; std::memcpy(&v, p, 4); return v; }
    case DType::i64: { int64_t v; std::memcpy(&v, p, 8); return double(v); }
    case DType::boolean: return *p ? 1.0 : 0.0;
    case DType::u8: return *p;
  }
  return 0;
}
void store(uint8_t* p, DType t, double v) {
  switch (t) {
    case DType::f32: { float f = float(v); std::memcpy(p, &f, 4); return; }
    case DType::f16: { uint16_t h = f32_to_f16(float(v)); std::memcpy(p, &h, 2); return; }
    case DType::bf16: { uint16_t h = f32_to_bf16(float(v)); std::memcpy(p, &h, 2); return; }
    case DType::i32: { int32_t i = int32_t(v); std::memcpy(p, &i, 4); return; }
    case DType::i64: { int64_t i = int64_t(v); std::memcpy(p, &i, 8); return; }
    case DType::boolean: *p = v != 0.0; return;
    case DType::u8: *p = std::fabs(v) < 9e18 ? uint8_t(int64_t(v)) : 0; return;  // wraps like a C cast; NaN/huge -> 0
  }
}
}  // namespace

double Tensor::get(std::span<const int64_t> idx) const {
  if (int(idx.size()) != rank()) TL_THROW(ShapeError, "[get] index has ", idx.size(), " entries, tensor rank is ", rank());
  int64_t off = 0;
  for (int i = 0; i < rank(); ++i) {
    if (idx[i] < 0 || idx[i] >= shape_[i])
      TL_THROW(ShapeError, "[get] index ", idx[i], " out of range for dim ", i, " of shape ", shape_str(shape_));
    off += idx[i] * strides_[i];
  }
  return load(static_cast<const uint8_t*>(raw_data()) + off * int64_t(dtype_size(dtype_)), dtype_);
}

void Tensor::set(std::span<const int64_t> idx, double v) const {
  if (int(idx.size()) != rank()) TL_THROW(ShapeError, "[set] index has ", idx.size(), " entries, tensor rank is ", rank());
  int64_t off = 0;
  for (int i = 0; i < rank(); ++i) {
    if (idx[i] < 0 || idx[i] >= shape_[i])
      TL_THROW(ShapeError, "[set] index ", idx[i], " out of range for dim ", i, " of shape ", shape_str(shape_));
    off += idx[i] * strides_[i];
  }
  store(static_cast<uint8_t*>(raw_data()) + off * int64_t(dtype_size(dtype_)), dtype_, v);
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == dtype_) return clone();
  Tensor src = contiguous();
  Tensor out = empty(shape_, dtype);
  const uint8_t* s = static_cast<const uint8_t*>(src.raw_data());
  uint8_t* d = out.base_;
  size_t ses = dtype_size(dtype_), des = dtype_size(dtype);
  if (dtype_ == DType::i64 && dtype == DType::i32) {
    for (int64_t i = 0; i < numel_; ++i) {
      int64_t v;
      std::memcpy(&v, s + i * 8, 8);
      int32_t w = int32_t(v);
      std::memcpy(d + i * 4, &w, 4);
    }
    return out;
  }
  for (int64_t i = 0; i < numel_; ++i) store(d + i * int64_t(des), dtype, load(s + i * int64_t(ses), dtype_));
  return out;
}

std::vector<double> Tensor::to_f64_vector() const {
  std::vector<double> r;
  r.reserve(size_t(numel_));
  Tensor c = contiguous();
  const uint8_t* s = static_cast<const uint8_t*>(c.raw_data());
  size_t es = dtype_size(dtype_);
  for (int64_t i = 0; i < numel_; ++i) r.push_back(load(s + i * int64_t(es), dtype_));
  return r;
}

std::vector<float> Tensor::to_f32_vector() const {
  auto d = to_f64_vector();
  return std::vector<float>(d.begin(), d.end());
}

}  // namespace tl
