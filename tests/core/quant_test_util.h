// Helpers for the weight-format tests: fixture loading and typed-error checks.
#pragma once
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "tl/npy.h"
#include "tl/quant.h"

namespace tl::test {

inline Tensor quant_fixture(const std::string& name) {
  return read_npy(std::string(TL_FIXTURE_DIR) + "/quant/" + name + ".npy");
}

// Runs f, expects an exception of type E whose message contains every fragment.
template <class E, class F>
void expect_quant_error(F&& f, std::initializer_list<std::string> fragments) {
  try {
    f();
    ADD_FAILURE() << "expected an exception, none was thrown";
  } catch (const E& e) {
    const std::string m = e.what();
    for (const std::string& frag : fragments)
      EXPECT_NE(m.find(frag), std::string::npos) << "message: " << m << "\nmissing: " << frag;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

// Bit-for-bit equality of two f32 tensors (NaN payloads included); reports the first difference.
inline void expect_bits_equal(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(shape_str(got.shape()), shape_str(want.shape())) << what;
  const Tensor g = got.contiguous(), w = want.contiguous();
  ASSERT_EQ(g.dtype(), w.dtype()) << what;
  if (std::memcmp(g.raw_data(), w.raw_data(), g.nbytes()) == 0) return;
  const size_t es = dtype_size(g.dtype());
  for (int64_t i = 0; i < g.numel(); ++i)
    if (std::memcmp(static_cast<const char*>(g.raw_data()) + i * es, static_cast<const char*>(w.raw_data()) + i * es,
                    es) != 0) {
      ADD_FAILURE() << what << ": first difference at flat index " << i << " (row " << i / g.shape().back()
                    << ", column " << i % g.shape().back() << ")";
      return;
    }
}

}  // namespace tl::test
