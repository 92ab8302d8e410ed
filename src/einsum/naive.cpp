// The reference einsum: one loop over every combination of label values, accumulating in double (floats),
// wrapping uint64 (integers, exact) or OR-of-ANDs (bool). Shares only the spec parser with the fast path.
// Kept forever; tests compare the fast path and NumPy against it.
#include <cstring>

#include "einsum/einsum_internal.h"
#include "tl/error.h"

namespace tl {

using namespace einsum_detail;

Tensor einsum_naive(const std::string& spec, const std::vector<Tensor>& operands) {
  std::vector<Shape> shapes;
  std::vector<DType> dtypes;
  for (const Tensor& t : operands) {
    shapes.push_back(t.shape());
    dtypes.push_back(t.dtype());
  }
  const Bound b = bind(spec, shapes);
  const DType dt = einsum_output_dtype(dtypes);
  Shape oshape;
  for (int l : b.output) oshape.push_back(b.size[l]);
  Tensor out = Tensor::zeros(oshape, dt);
  const int n = int(operands.size());
  const int nl = b.num_labels;

  // Every label's size; labels nobody uses loop once.
  Shape space(nl);
  for (int l = 0; l < nl; ++l) space[l] = b.used[l] ? b.size[l] : 1;
  // Element offset of each operand (row-major copy) and of the output per label step.
  std::vector<std::vector<int64_t>> step(n, std::vector<int64_t>(nl, 0));
  std::vector<std::vector<double>> fval(n);
  std::vector<std::vector<int64_t>> ival(n);
  for (int i = 0; i < n; ++i) {
    Shape cs = contiguous_strides(shapes[i]);
    for (size_t d = 0; d < shapes[i].size(); ++d)
      if (shapes[i][d] != 1) step[i][b.inputs[i][d]] += cs[d];  // size-1 dims broadcast: always index 0
    if (dt == DType::f32) {
      fval[i] = operands[i].to_f64_vector();
    } else {
      Tensor c = operands[i].dtype() == DType::i64 ? operands[i].contiguous() : operands[i].to(DType::i64);
      ival[i].assign(c.data<int64_t>(), c.data<int64_t>() + c.numel());
    }
  }
  std::vector<int64_t> ostep(nl, 0);
  Shape ocs = contiguous_strides(oshape);
  for (size_t d = 0; d < b.output.size(); ++d) ostep[b.output[d]] += ocs[d];

  const int64_t on = out.numel();
  std::vector<double> facc(size_t(on), 0.0);
  std::vector<uint64_t> iacc(size_t(on), 0);
  for_each_index(space, [&](std::span<const int64_t> idx) {
    int64_t oo = 0;
    for (int l = 0; l < nl; ++l) oo += idx[l] * ostep[l];
    if (dt == DType::f32) {
      double p = 1.0;
      for (int i = 0; i < n; ++i) {
        int64_t off = 0;
        for (int l = 0; l < nl; ++l) off += idx[l] * step[i][l];
        p *= fval[i][size_t(off)];
      }
      facc[size_t(oo)] += p;
    } else {
      uint64_t p = 1;
      for (int i = 0; i < n; ++i) {
        int64_t off = 0;
        for (int l = 0; l < nl; ++l) off += idx[l] * step[i][l];
        p *= uint64_t(ival[i][size_t(off)]);
      }
      if (dt == DType::boolean) iacc[size_t(oo)] |= p != 0;
      else iacc[size_t(oo)] += p;
    }
  });
  for (int64_t k = 0; k < on; ++k) {
    if (dt == DType::f32) out.data<float>()[k] = float(facc[size_t(k)]);
    else if (dt == DType::i64) out.data<int64_t>()[k] = int64_t(iacc[size_t(k)]);
    else out.data<bool>()[k] = iacc[size_t(k)] != 0;
  }
  return out;
}

}  // namespace tl
