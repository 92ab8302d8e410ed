// Reductions over a set of axes. The input is viewed as [kept dims..., reduced dims...]; each output element
// reduces its (possibly strided) inner block, read in runs that are converted to f32 when needed. Float sums
// accumulate per-lane in f32 over blocks of kBlock elements and across blocks in f64. Empty reductions: sum 0,
// prod 1, mean NaN, logsumexp -inf, max/min throw (no identity, as NumPy).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "runtime/cpu/kernels/common.h"
#include "runtime/cpu/kernels/vec_math.h"
#include "tl/kernels.h"
#include "tl/threading.h"

namespace tl::kernels {

using namespace detail;
namespace s = tl::simd;

namespace {

// Normalised, validated axes as a per-dim flag; empty `axes` means all.
std::vector<bool> axis_flags(const char* op, int rank, const std::vector<int>& axes) {
  std::vector<bool> red(size_t(rank), axes.empty());
  for (int a : axes) {
    int d = norm_axis(op, a, rank);
    if (red[size_t(d)]) TL_THROW(ValueError, "[", op, "] axis ", a, " is listed twice");
    red[size_t(d)] = true;
  }
  return red;
}

float vsum(const float* x, int64_t n) {
  s::V acc0 = s::set1(0.0f), acc1 = s::set1(0.0f);
  int64_t i = 0;
  for (; i + 2 * s::kLanes <= n; i += 2 * s::kLanes) {
    acc0 = s::add(acc0, s::load(x + i));
    acc1 = s::add(acc1, s::load(x + i + s::kLanes));
  }
  for (; i < n; i += s::kLanes) acc0 = s::add(acc0, s::loadn(x + i, int(std::min<int64_t>(s::kLanes, n - i))));
  return s::hsum(s::add(acc0, acc1));
}

// Max (or min) ignoring NaN, and whether a NaN was seen.
template <bool kMax>
float vextreme(const float* x, int64_t n, bool& nan) {
  const float init = kMax ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
  s::V acc = s::set1(init);
  unsigned seen = 0;
  for (int64_t i = 0; i < n; i += s::kLanes) {
    int r = int(std::min<int64_t>(s::kLanes, n - i));
    s::V v;
    if (r == s::kLanes) {
      v = s::load(x + i);
    } else {  // pad the tail with the identity
      alignas(64) float t[s::kLanes];
      for (int k = 0; k < s::kLanes; ++k) t[k] = k < r ? x[i + k] : init;
      v = s::load(t);
    }
    seen |= s::mask_bits(s::unord(v, v));
    acc = kMax ? s::max_raw(v, acc) : s::min_raw(v, acc);  // NaN in v: keeps acc
  }
  nan = nan || seen != 0;
  return kMax ? s::hmax_raw(acc) : s::hmin_raw(acc);
}

float vsum_exp_shifted(const float* x, int64_t n, float shift) {
  s::V acc = s::set1(0.0f);
  const s::V sh = s::set1(shift);
  int64_t i = 0;
  for (; i + s::kLanes <= n; i += s::kLanes) acc = s::add(acc, s::exp(s::sub(s::load(x + i), sh)));
  if (i < n) {
    int r = int(n - i);
    alignas(64) float t[s::kLanes];
    s::store(t, s::exp(s::sub(s::loadn(x + i, r), sh)));
    float tail = 0;
    for (int k = 0; k < r; ++k) tail += t[k];
    return s::hsum(acc) + tail;
  }
  return s::hsum(acc);
}

}  // namespace

namespace {
Shape reduce_shape_named(const char* op, const Shape& in, const std::vector<int>& axes, bool keepdims) {
  auto red = axis_flags(op, int(in.size()), axes);
  Shape out;
  for (size_t d = 0; d < in.size(); ++d) {
    if (!red[d]) out.push_back(in[d]);
    else if (keepdims) out.push_back(1);
  }
  return out;
}
}  // namespace

Shape reduce_shape(const Shape& in, const std::vector<int>& axes, bool keepdims) {
  return reduce_shape_named("reduce", in, axes, keepdims);
}

DType reduce_dtype(ReduceOp op, DType in) {
  if (is_float(in)) return DType::f32;
  switch (op) {
    case ReduceOp::sum:
    case ReduceOp::prod: return DType::i64;
    case ReduceOp::max:
    case ReduceOp::min: return in;
    default: return DType::f32;
  }
}

void reduce_into(ReduceOp op, const Tensor& x, const std::vector<int>& axes, bool keepdims, const Tensor& out) {
  const std::string name = "reduce " + std::string(op_name(op));
  check_defined(name.c_str(), "x", x);
  const int rank = x.rank();
  auto red = axis_flags(name.c_str(), rank, axes);
  Shape oshape, kshape, kstrides, ishape, istrides;
  for (int d = 0; d < rank; ++d) {
    if (red[size_t(d)]) {
      ishape.push_back(x.shape()[size_t(d)]);
      istrides.push_back(x.strides()[size_t(d)]);
      if (keepdims) oshape.push_back(1);
    } else {
      kshape.push_back(x.shape()[size_t(d)]);
      kstrides.push_back(x.strides()[size_t(d)]);
      oshape.push_back(x.shape()[size_t(d)]);
    }
  }
  const DType odt = reduce_dtype(op, x.dtype());
  check_out(name.c_str(), out, oshape, odt);
  const int64_t n_out = out.numel();
  const int64_t n_in = shape_numel(ishape);
  if (n_out == 0) return;
  if (n_in == 0 && (op == ReduceOp::max || op == ReduceOp::min))
    TL_THROW(ValueError, "[", name, "] zero-size reduction over shape ", shape_str(ishape), " of input ",
             shape_str(x.shape()), " has no identity");
  const Walk kw = make_walk(kshape, {kstrides});
  const Walk iw = make_walk(ishape, {istrides});
  const DType xdt = x.dtype();
  const int64_t xes = int64_t(dtype_size(xdt));
  const bool int_path = !is_float(xdt) && (op == ReduceOp::sum || op == ReduceOp::prod || op == ReduceOp::max ||
                                            op == ReduceOp::min);

  // Reduces the block at element offset `base` of x and stores the result at out element `o`.
  auto reduce_one = [&](int64_t base, int64_t o) {
    uint8_t* op_ = byte_ptr_mut(out, o);
    auto runs = [&](auto&& f) {  // f(const float* vals, n) over f32 runs of the block
      if (n_in == 0) return;
      walk_runs(iw, 0, n_in, [&](int64_t n, std::span<const int64_t> offs) {
        const uint8_t* p = byte_ptr(x, base + offs[0]);
        const int64_t st = iw.strides[0].back();
        if (xdt == DType::f32 && st == 1) {
          for (int64_t i = 0; i < n; i += 4 * kBlock)
            f(reinterpret_cast<const float*>(p) + i, std::min(4 * kBlock, n - i));
          return;
        }
        float buf[kBlock];
        for (int64_t i = 0; i < n; i += kBlock) {
          int64_t m = std::min(kBlock, n - i);
          load_f32(p + i * st * xes, xdt, st, buf, m);
          f(buf, m);
        }
      });
    };
    if (int_path) {
      int64_t acc = op == ReduceOp::prod ? 1 : 0;
      bool first = true;
      if (n_in > 0)
        walk_runs(iw, 0, n_in, [&](int64_t n, std::span<const int64_t> offs) {
          int64_t buf[kBlock];
          const int64_t st = iw.strides[0].back();
          for (int64_t i = 0; i < n; i += kBlock) {
            int64_t m = std::min(kBlock, n - i);
            load_i64(byte_ptr(x, base + offs[0] + i * st), xdt, st, buf, m);
            for (int64_t j = 0; j < m; ++j) {
              const int64_t v = buf[j];
              switch (op) {
                case ReduceOp::sum: acc = int64_t(uint64_t(acc) + uint64_t(v)); break;
                case ReduceOp::prod: acc = int64_t(uint64_t(acc) * uint64_t(v)); break;
                case ReduceOp::max: acc = first || v > acc ? v : acc; break;
                default: acc = first || v < acc ? v : acc; break;
              }
              first = false;
            }
          }
        });
      store_i64(&acc, op_, odt, 1, 1);
      return;
    }
    double r = 0;
    switch (op) {
      case ReduceOp::sum:
      case ReduceOp::mean: {
        double acc = 0;
        runs([&](const float* v, int64_t n) { acc += double(vsum(v, n)); });
        r = op == ReduceOp::sum ? acc : acc / double(n_in);  // mean of nothing: 0/0 = NaN
        break;
      }
      case ReduceOp::prod: {
        double acc = 1;
        runs([&](const float* v, int64_t n) {
          for (int64_t i = 0; i < n; ++i) acc *= double(v[i]);
        });
        r = acc;
        break;
      }
      case ReduceOp::max:
      case ReduceOp::min:
      case ReduceOp::logsumexp: {
        bool nan = false;
        float m = op == ReduceOp::min ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity();
        runs([&](const float* v, int64_t n) {
          if (op == ReduceOp::min) m = std::min(m, vextreme<false>(v, n, nan));
          else m = std::max(m, vextreme<true>(v, n, nan));
        });
        if (nan) {
          r = std::numeric_limits<double>::quiet_NaN();
        } else if (op != ReduceOp::logsumexp || std::isinf(m)) {
          r = m;  // logsumexp: all -inf gives -inf; any +inf gives +inf
        } else {
          double acc = 0;
          runs([&](const float* v, int64_t n) { acc += double(vsum_exp_shifted(v, n, m)); });
          r = double(m) + std::log(acc);
        }
        break;
      }
    }
    store_f64(&r, op_, odt, 1, 1);
  };

  // Column path: sum/mean of f32 over leading/middle axes while the innermost kept dim is contiguous (e.g. the
  // mean over tokens of [batch, seq, d]): accumulate whole rows of up to kCols columns in f64 instead of
  // gathering one strided column per output.
  if ((op == ReduceOp::sum || op == ReduceOp::mean) && xdt == DType::f32 && !kshape.empty() && n_in > 0 &&
      kw.strides[0].back() == 1 && kw.shape.back() >= 16 && iw.strides[0].back() != 1) {
    constexpr int64_t kCols = 256;
    const int64_t L = kw.shape.back(), n_outer = n_out / L, chunks = (L + kCols - 1) / kCols;
    parallel_for(n_outer * chunks, std::max<int64_t>(1, kGrain / (kCols * n_in)), [&](int64_t b, int64_t e) {
      double acc[kCols];
      for (int64_t task = b; task < e; ++task) {
        const int64_t outer = task / chunks, c0 = (task % chunks) * kCols, nc = std::min(kCols, L - c0);
        int64_t base = c0, rem = outer;  // x offset of this outer index (kept dims but the innermost)
        for (int d = int(kw.shape.size()) - 2; d >= 0; --d) {
          base += (rem % kw.shape[size_t(d)]) * kw.strides[0][size_t(d)];
          rem /= kw.shape[size_t(d)];
        }
        std::fill(acc, acc + nc, 0.0);
        walk_runs(iw, 0, n_in, [&](int64_t m, std::span<const int64_t> offs) {
          const int64_t st = iw.strides[0].back();
          for (int64_t r = 0; r < m; ++r) {
            const float* row = reinterpret_cast<const float*>(byte_ptr(x, base + offs[0] + r * st));
            for (int64_t c = 0; c < nc; ++c) acc[c] += double(row[c]);
          }
        });
        float* o = out.data<float>() + outer * L + c0;
        const double scale = op == ReduceOp::mean ? 1.0 / double(n_in) : 1.0;
        for (int64_t c = 0; c < nc; ++c) o[c] = float(acc[c] * scale);
      }
    });
    return;
  }

  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(n_in, 1));
  parallel_for(n_out, grain, [&](int64_t b, int64_t e) {
    int64_t o = b;
    walk_runs(kw, b, e, [&](int64_t n, std::span<const int64_t> offs) {
      const int64_t ks = kw.strides[0].back();
      for (int64_t j = 0; j < n; ++j) reduce_one(offs[0] + j * ks, o++);
    });
  });
}

Tensor reduce(ReduceOp op, const Tensor& x, const std::vector<int>& axes, bool keepdims) {
  const std::string name = "reduce " + std::string(op_name(op));
  check_defined(name.c_str(), "x", x);
  Tensor out = Tensor::empty(reduce_shape_named(name.c_str(), x.shape(), axes, keepdims), reduce_dtype(op, x.dtype()));
  reduce_into(op, x, axes, keepdims, out);
  return out;
}

}  // namespace tl::kernels
