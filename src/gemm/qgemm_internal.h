// Shared pieces of the quantised matrix products (qgemm.cpp, qgemm_naive.cpp).
#pragma once
#include <cstdint>

#include "tl/quant.h"

namespace tl::qgemm_detail {

// Validates qgemm's arguments (m, n >= 0; k a positive multiple of f's block; ldx >= k, ldy >= n; non-null
// pointers when there is work) and returns the bytes of one weight row. Throws ValueError naming `fn`.
int64_t check_qgemm_args(const char* fn, int64_t m, int64_t n, int64_t k, const float* x, int64_t ldx, const void* w,
                         WeightFormat f, const float* y, int64_t ldy);

}  // namespace tl::qgemm_detail
