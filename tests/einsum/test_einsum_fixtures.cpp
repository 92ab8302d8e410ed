// NumPy fixtures (scripts/gen_einsum_fixtures.py): tl::einsum and tl::einsum_naive against numpy.einsum, on the
// inputs as stored, on non-contiguous copies of them, and (float cases) in bf16 against the naive reference.
#include <set>

#include "einsum_test_util.h"

using namespace tl;
using namespace einsum_test;

namespace {

struct Case {
  std::string name, spec;
  std::vector<Tensor> inputs;
  Tensor want;
  std::vector<Shape> shapes() const {
    std::vector<Shape> s;
    for (const Tensor& t : inputs) s.push_back(t.shape());
    return s;
  }
};

std::vector<Case> load_cases() {
  std::vector<Case> cases;
  const std::string dir = std::string(TL_FIXTURE_DIR) + "/einsum/";
  for (const auto& row : read_manifest("cases.txt")) {
    Case c;
    c.name = row.at(0);
    c.spec = row.at(1);
    for (const std::string& f : split(row.at(2), ',')) c.inputs.push_back(read_npy(dir + f));
    c.want = read_npy(dir + row.at(3));
    cases.push_back(std::move(c));
  }
  return cases;
}

// The same values laid out non-contiguously: every dim padded and sliced back (strides grow), and the dims
// stored in reverse order then permuted back (a transposed layout).
Tensor strided_copy(const Tensor& t) {
  if (t.rank() == 0) return t;
  Shape big = t.shape();
  for (auto& d : big) d = d * 2 + 1;
  Tensor store = Tensor::zeros(big, t.dtype());
  Tensor view = store;
  for (int d = 0; d < t.rank(); ++d) view = view.slice(d, 1, 1 + 2 * t.shape()[d], 2);
  for_each_index(t.shape(), [&](std::span<const int64_t> idx) { view.set(idx, t.get(idx)); });
  return view;
}

Tensor transposed_copy(const Tensor& t) {
  if (t.rank() < 2) return t;
  std::vector<int> rev(t.rank());
  for (int d = 0; d < t.rank(); ++d) rev[d] = t.rank() - 1 - d;
  return t.permute(rev).clone().permute(rev);  // same logical tensor, reversed strides
}

}  // namespace

TEST(EinsumFixtures, ManifestHasEnoughCases) {
  auto cases = load_cases();
  std::set<std::string> specs;
  for (const Case& c : cases) specs.insert(c.spec);
  EXPECT_GE(cases.size(), 80u);
  EXPECT_GE(specs.size(), 60u);
}

TEST(EinsumFixtures, FastAndNaiveMatchNumpy) {
  for (const Case& c : load_cases()) {
    SCOPED_TRACE(c.name + " \"" + c.spec + "\"");
    const double len = reduction_length(c.spec, c.shapes());
    expect_close(einsum(c.spec, c.inputs), c.want, len, "einsum");
    expect_close(einsum_naive(c.spec, c.inputs), c.want, len, "einsum_naive");
    EXPECT_EQ(einsum_output_shape(c.spec, c.shapes()), c.want.shape());
    std::vector<DType> dts;
    for (const Tensor& t : c.inputs) dts.push_back(t.dtype());
    EXPECT_EQ(einsum_output_dtype(dts), c.want.dtype());
    // einsum_into a preallocated output.
    Tensor out = Tensor::full(c.want.shape(), 7, c.want.dtype());
    einsum_into(c.spec, c.inputs, out);
    expect_close(out, c.want, len, "einsum_into");
  }
}

TEST(EinsumFixtures, NonContiguousInputs) {
  for (const Case& c : load_cases()) {
    SCOPED_TRACE(c.name + " \"" + c.spec + "\"");
    const double len = reduction_length(c.spec, c.shapes());
    std::vector<Tensor> strided, transposed;
    for (const Tensor& t : c.inputs) {
      strided.push_back(strided_copy(t));
      transposed.push_back(transposed_copy(t));
    }
    expect_close(einsum(c.spec, strided), c.want, len, "strided inputs");
    expect_close(einsum(c.spec, transposed), c.want, len, "transposed inputs");
  }
}

TEST(EinsumFixtures, Bf16InputsMatchNaive) {
  for (const Case& c : load_cases()) {
    bool all_f32 = true;
    for (const Tensor& t : c.inputs) all_f32 &= t.dtype() == DType::f32;
    if (!all_f32) continue;
    SCOPED_TRACE(c.name + " \"" + c.spec + "\" in bf16");
    std::vector<Tensor> in;
    for (const Tensor& t : c.inputs) in.push_back(t.to(DType::bf16));
    Tensor got = einsum(c.spec, in);
    EXPECT_EQ(got.dtype(), DType::f32);
    expect_close(got, einsum_naive(c.spec, in), reduction_length(c.spec, c.shapes()), "bf16");
  }
}
