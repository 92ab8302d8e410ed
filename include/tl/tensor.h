// Tensors: a dtype, a shape, element strides and an offset into shared, 64-byte-aligned storage.
// Views (permute, slice, broadcast, reshape of contiguous data) share storage and copy nothing.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tl/dtype.h"
#include "tl/error.h"

namespace tl {

using Shape = std::vector<int64_t>;

// "[2, 3, 4]".
std::string shape_str(std::span<const int64_t> s);
// Product of dims; throws ShapeError on a negative dim or 64-bit overflow.
int64_t shape_numel(std::span<const int64_t> s);
// Row-major strides in elements.
Shape contiguous_strides(std::span<const int64_t> s);
// NumPy broadcasting of two shapes; throws ShapeError naming both shapes (and `what`) when they don't fit.
Shape broadcast_shapes(std::span<const int64_t> a, std::span<const int64_t> b, const char* what = "broadcast");

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::f32; }
template <> constexpr DType dtype_of<int32_t>() { return DType::i32; }
template <> constexpr DType dtype_of<int64_t>() { return DType::i64; }
template <> constexpr DType dtype_of<bool>() { return DType::boolean; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::u8; }

class Tensor {
 public:
  Tensor() = default;  // undefined tensor (defined() == false)

  // Fresh contiguous storage. empty() leaves it uninitialised; zeros() clears it.
  static Tensor empty(Shape shape, DType dtype = DType::f32);
  static Tensor zeros(Shape shape, DType dtype = DType::f32);
  static Tensor full(Shape shape, double value, DType dtype = DType::f32);
  static Tensor scalar(float v) { return full({}, v); }
  // Copies `values` (row-major) into a new tensor; throws ShapeError if the count doesn't match.
  template <class T>
  static Tensor from_vector(Shape shape, const std::vector<T>& values);
  // Wraps memory owned elsewhere (e.g. a memory-mapped file); `owner` keeps it alive.
  static Tensor wrap(void* data, Shape shape, DType dtype, std::shared_ptr<void> owner);

  bool defined() const { return holder_ != nullptr || base_ != nullptr; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }  // in elements
  int64_t offset() const { return offset_; }         // in elements
  int rank() const { return int(shape_.size()); }
  int64_t size(int d) const;  // negative d counts from the end
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return size_t(numel_) * dtype_size(dtype_); }
  bool is_contiguous() const;

  // Pointer to the first element; data<T>() checks that T matches the dtype.
  void* raw_data() const { return base_ ? base_ + offset_ * int64_t(dtype_size(dtype_)) : nullptr; }
  template <class T>
  T* data() const {
    check_dtype(dtype_of<T>(), "data<T>()");
    return static_cast<T*>(raw_data());
  }
  // For f16/bf16 storage.
  uint16_t* data_u16() const;

  // Views (no copy). Dims may be negative.
  Tensor permute(std::span<const int> perm) const;
  Tensor permute(std::initializer_list<int> perm) const { return permute(std::span<const int>(perm.begin(), perm.size())); }
  Tensor transpose(int a, int b) const;
  // Python-style slice of one dim: start/stop clamped like NumPy; step > 0.
  Tensor slice(int dim, int64_t start, int64_t stop, int64_t step = 1) const;
  Tensor broadcast_to(const Shape& shape) const;
  Tensor unsqueeze(int dim) const;
  Tensor as_strided(Shape shape, Shape strides, int64_t offset) const;
  // A view when the layout allows, a copy otherwise. One dim may be -1.
  Tensor reshape(Shape shape) const;

  // Copies.
  Tensor contiguous() const;  // returns *this when already contiguous
  Tensor clone() const;       // always a fresh contiguous copy
  Tensor to(DType dtype) const;

  // Element access by multi-index, converting through double (for tests and reference code).
  double get(std::span<const int64_t> idx) const;
  void set(std::span<const int64_t> idx, double v) const;
  double get(std::initializer_list<int64_t> idx) const { return get(std::span<const int64_t>(idx.begin(), idx.size())); }
  // All elements in logical row-major order, converted.
  std::vector<float> to_f32_vector() const;
  std::vector<double> to_f64_vector() const;

  bool same_storage(const Tensor& o) const { return holder_ == o.holder_; }

 private:
  void check_dtype(DType want, const char* what) const;
  int norm_dim(int d, const char* what) const;

  std::shared_ptr<void> holder_;
  uint8_t* base_ = nullptr;
  DType dtype_ = DType::f32;
  Shape shape_, strides_;
  int64_t offset_ = 0;
  int64_t numel_ = 0;
};

// Calls f(idx) for each multi-index of `shape` in row-major order (idx is a span of the current index).
template <class F>
void for_each_index(std::span<const int64_t> shape, F&& f) {
  for (int64_t d : shape)
    if (d == 0) return;
  std::vector<int64_t> idx(shape.size(), 0);
  while (true) {
    f(std::span<const int64_t>(idx));
    int d = int(shape.size()) - 1;
    while (d >= 0 && ++idx[d] == shape[d]) idx[d--] = 0;
    if (d < 0) return;
  }
}

template <class T>
Tensor Tensor::from_vector(Shape shape, const std::vector<T>& values) {
  Tensor t = empty(std::move(shape), dtype_of<T>());
  if (int64_t(values.size()) != t.numel())
    TL_THROW(ShapeError, "Tensor::from_vector: shape ", shape_str(t.shape()), " needs ", t.numel(),
             " values, got ", values.size());
  if constexpr (std::is_same_v<T, bool>) {
    for (size_t i = 0; i < values.size(); ++i) t.data<bool>()[i] = values[i];
  } else {
    std::copy(values.begin(), values.end(), t.data<T>());
  }
  return t;
}

}  // namespace tl
