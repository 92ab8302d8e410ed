// Einsum specs and shapes. Input: "spec\n" then operand shapes, one line each ("2,3"). When the spec is valid
// and the operands are small, the fast engine is run against the naive reference on small-integer data, for
// which every summation order is exact, so any difference is a bug.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "fuzz_common.h"
#include "tl/einsum.h"

namespace {

std::vector<std::string> split_lines(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size() && out.size() < 8) {
    size_t nl = s.find('\n', start);
    if (nl == std::string_view::npos) nl = s.size();
    out.emplace_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 512) return 0;  // specs longer than this only test the lexer's patience
  std::vector<std::string> lines = split_lines(tl::fuzz::as_text(data, size));
  if (lines.empty()) return 0;
  std::vector<tl::Shape> shapes;
  int64_t total = 0;
  // The naive reference loops over every index combination; the product of the operands' sizes bounds that.
  int64_t index_space = 1;
  for (size_t i = 1; i < lines.size(); ++i) {
    tl::Shape s;
    int64_t numel = 1;
    size_t p = 0;
    const std::string& l = lines[i];
    while (p < l.size() && s.size() < 8) {
      int64_t d = 0;
      while (p < l.size() && l[p] >= '0' && l[p] <= '9' && d < 64) d = d * 10 + (l[p++] - '0');
      s.push_back(d);
      numel = std::min<int64_t>(numel * d, int64_t(1) << 40);  // dims are < 640: no overflow before the cap
      while (p < l.size() && (l[p] < '0' || l[p] > '9')) ++p;
    }
    total += numel;
    index_space = (numel > (1 << 20) || index_space > (1 << 20)) ? int64_t(1) << 40
                                                                 : index_space * std::max<int64_t>(numel, 1);
    shapes.push_back(std::move(s));
  }
  tl::fuzz::expect_clean([&] {
    tl::Shape out = tl::einsum_output_shape(lines[0], shapes);
    int64_t out_numel = 1;
    for (int64_t d : out) out_numel = std::min<int64_t>(out_numel * d, int64_t(1) << 40);  // d < 640: no overflow
    if (total > 4096 || out_numel > 4096 || index_space > 50000) return;
    std::vector<tl::Tensor> ops;
    uint32_t seed = 7;
    for (const tl::Shape& s : shapes) {
      tl::Tensor t = tl::Tensor::empty(s);
      for (int64_t i = 0; i < t.numel(); ++i) {
        seed = seed * 1664525u + 1013904223u;
        t.data<float>()[i] = float(int(seed >> 29) - 4);  // -4..3
      }
      ops.push_back(t);
    }
    tl::Tensor fast = tl::einsum(lines[0], ops);
    tl::Tensor ref = tl::einsum_naive(lines[0], ops);
    if (fast.shape() != ref.shape()) __builtin_trap();
    for (int64_t i = 0; i < fast.numel(); ++i)
      if (fast.data<float>()[i] != ref.data<float>()[i]) __builtin_trap();
  });
  return 0;
}
