// tl::qgemm_group (several weights against one x, outputs side by side) equals one tl::qgemm per weight bit for
// bit: every format, f32 and int8 activations, m = 1..5 (the decode path's shared parallel region up to 4, one
// qgemm per weight beyond), 1 and 2 threads, padded leading dimensions left untouched. qgemm itself is checked
// against qgemm_naive and NumPy in qgemm_test.cpp, so equality here carries those references over.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "tl/error.h"
#include "tl/quant.h"
#include "tl/threading.h"

#include "qgemm_test_util.h"

namespace tl::test {
TEST(QgemmGroup, EqualsOneQgemmPerWeight) {
  // k = 1024 and 1297 rows: 1.3M multiply-adds at m = 1, above the parallel threshold under either wait policy,
  // so the shared region really runs; n = 1000 / 37 / 260 cut the 16-row units unevenly.
  const int64_t k = 1024;
  const std::vector<int64_t> ns = {1000, 37, 0, 260};
  const int saved = num_threads();
  const ActivationPrecision saved_p = activation_precision();
  for (WeightFormat f : all_weight_formats()) {
    std::vector<std::vector<uint8_t>> ws;
    std::vector<QWeightRef> refs;
    int64_t total = 0;
    for (size_t i = 0; i < ns.size(); ++i) {
      ws.push_back(random_weight(f, ns[i], k, uint32_t(7 + i)));
      refs.push_back({ws.back().data(), ns[i]});
      total += ns[i];
    }
    for (ActivationPrecision p : {ActivationPrecision::f32, ActivationPrecision::int8})
      for (int threads : {1, 2})
        for (int64_t m = 1; m <= 5; ++m) {
          SCOPED_TRACE(std::string(weight_format_name(f)) + (p == ActivationPrecision::int8 ? " int8" : " f32") +
                       " threads " + std::to_string(threads) + " m " + std::to_string(m));
          set_num_threads(threads);
          set_activation_precision(p);
          const int64_t ldx = k + 5, ldy = total + 3;
          std::mt19937 g{uint32_t(m)};
          std::uniform_real_distribution<float> ud(-1.0f, 1.0f);
          std::vector<float> x(size_t(m * ldx));
          for (auto& v : x) v = ud(g);
          std::vector<float> got(size_t(m * ldy), -555.0f), want = got;
          qgemm_group(m, k, x.data(), ldx, refs.data(), int64_t(refs.size()), f, got.data(), ldy);
          int64_t off = 0;
          for (const QWeightRef& r : refs) {
            qgemm(m, r.n, k, x.data(), ldx, r.w, f, want.data() + off, ldy);
            off += r.n;
          }
          EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0);
          for (int64_t i = 0; i < m; ++i)  // padding untouched
            for (int64_t j = total; j < ldy; ++j) ASSERT_EQ(got[size_t(i * ldy + j)], -555.0f);
        }
  }
  set_num_threads(saved);
  set_activation_precision(saved_p);
}

TEST(QgemmGroup, Errors) {
  std::vector<float> x(64, 1.0f), y(64);
  std::vector<uint8_t> w(size_t(4 * weight_row_bytes(WeightFormat::q8_0, 32)));
  const QWeightRef ok{w.data(), 4};
  auto msg = [](auto&& f) {
    try {
      f();
    } catch (const ValueError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  QWeightRef neg{w.data(), -1};
  EXPECT_NE(msg([&] { qgemm_group(1, 32, x.data(), 32, &neg, 1, WeightFormat::q8_0, y.data(), 8); }).find("n = -1"),
            std::string::npos);
  QWeightRef null{nullptr, 4};
  const QWeightRef two[] = {ok, null};
  EXPECT_NE(msg([&] { qgemm_group(1, 32, x.data(), 32, two, 2, WeightFormat::q8_0, y.data(), 8); }).find("weight 1"),
            std::string::npos);
  // ldy must hold all the weights' outputs (4 + 4).
  const QWeightRef both[] = {ok, ok};
  EXPECT_NE(msg([&] { qgemm_group(1, 32, x.data(), 32, both, 2, WeightFormat::q8_0, y.data(), 7); }).find("ldy = 7"),
            std::string::npos);
  // k not a multiple of the block.
  EXPECT_NE(msg([&] { qgemm_group(1, 31, x.data(), 32, both, 2, WeightFormat::q8_0, y.data(), 8); }).find("31"),
            std::string::npos);
  EXPECT_NE(msg([&] { qgemm_group(1, 32, x.data(), 32, nullptr, 2, WeightFormat::q8_0, y.data(), 8); }).find("null"),
            std::string::npos);
}

}  // namespace tl::test
