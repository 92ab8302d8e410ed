// The blocked kernel (backend "blocked", auto's matrix path) and pre-packed B against sgemm_naive: every size
// 1..67 in each dimension (the 6x16 tile edges and the 8-wide pack transposes), all transposes, padded leading
// dimensions, alpha/beta, k over several KC slices, n over NC, and bitwise equality of 1 vs 2 threads and of
// packed vs unpacked (the same operations in the same order, only split differently).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "gemm_test_util.h"
#include "tl/error.h"
#include "tl/gemm.h"
#include "tl/threading.h"

namespace tl::test {
namespace {

struct Dims {
  int64_t m, n, k;
};

// Product on `be` (or pre-packed B when `packed`) vs sgemm_naive; returns max error / tolerance (must be <= 1,
// tolerance() is 2 (k + 2) eps (|alpha| sum |a b| + |beta c|), the float32 forward error bound with margin).
// Also checks that C's padding is never written.
float check(Dims d, bool ta, bool tb, float alpha, float beta, int64_t pad, uint32_t seed, bool packed,
            float* max_abs_err = nullptr) {
  Mat a(ta ? d.k : d.m, ta ? d.m : d.k, pad, seed), b(tb ? d.n : d.k, tb ? d.k : d.n, pad, seed + 1);
  Mat c(d.m, d.n, pad, seed + 2);
  Mat ref = c, abs_a = a, abs_b = b, scale = c;
  for (auto* mt : {&abs_a, &abs_b, &scale})
    for (float& x : mt->v) x = std::fabs(x);
  if (packed) {
    PackedB pb = sgemm_pack_b(tb, d.k, d.n, b.p(), b.ld);
    sgemm_packed(ta, d.m, alpha, a.p(), a.ld, pb, beta, c.p(), c.ld);
  } else {
    sgemm(ta, tb, d.m, d.n, d.k, alpha, a.p(), a.ld, b.p(), b.ld, beta, c.p(), c.ld);
  }
  sgemm_naive(ta, tb, d.m, d.n, d.k, alpha, a.p(), a.ld, b.p(), b.ld, beta, ref.p(), ref.ld);
  sgemm_naive(ta, tb, d.m, d.n, d.k, std::fabs(alpha), abs_a.p(), abs_a.ld, abs_b.p(), abs_b.ld, std::fabs(beta),
              scale.p(), scale.ld);
  float worst = 0;
  for (int64_t i = 0; i < d.m; ++i) {
    for (int64_t j = 0; j < c.ld; ++j) {
      if (j >= d.n) {
        EXPECT_EQ(c.at(i, j), ref.at(i, j)) << "padding written at " << i << "," << j;
        continue;
      }
      const float err = std::fabs(c.at(i, j) - ref.at(i, j));
      if (max_abs_err) *max_abs_err = std::max(*max_abs_err, err);
      worst = std::max(worst, err / tolerance(d.k, scale.at(i, j)));
    }
  }
  return worst;
}

TEST(BlockedGemm, EverySize1To67InEachDimension) {
  UseBackend use(GemmBackend::kBlocked);
  uint32_t seed = 5;
  float max_err = 0;
  for (int64_t s = 1; s <= 67; ++s) {
    for (Dims d : {Dims{s, 37, 29}, Dims{13, s, 29}, Dims{13, 37, s}}) {
      for (int t = 0; t < 4; ++t) {
        const bool ta = t & 1, tb = t & 2;
        const float r = check(d, ta, tb, 1.0f, 0.0f, s % 3, seed += 3, false, &max_err);
        ASSERT_LE(r, 1.0f) << "m=" << d.m << " n=" << d.n << " k=" << d.k << " ta=" << ta << " tb=" << tb;
      }
    }
  }
  RecordProperty("max_abs_err", std::to_string(max_err));
}

TEST(BlockedGemm, PackedEverySize1To67InEachDimension) {
  uint32_t seed = 7;
  for (int64_t s = 1; s <= 67; ++s) {
    for (Dims d : {Dims{s, 37, 29}, Dims{13, s, 29}, Dims{13, 37, s}}) {
      for (int t = 0; t < 4; ++t) {
        const bool ta = t & 1, tb = t & 2;
        const float r = check(d, ta, tb, 1.0f, 0.0f, s % 2, seed += 3, true);
        ASSERT_LE(r, 1.0f) << "packed m=" << d.m << " n=" << d.n << " k=" << d.k << " ta=" << ta << " tb=" << tb;
      }
    }
  }
}

TEST(BlockedGemm, AlphaBetaLongKWideNAndThreads) {
  UseBackend use(GemmBackend::kBlocked);
  // k = 700 spans several KC slices with a tail (beta applies to the first only); n = 3100 spans NC;
  // 100x200x200 and 500x20x400 (4M multiply-adds, the 2-thread threshold in gemm_blocked.cpp) run on 2
  // threads, split along n and along m.
  const Dims dims[] = {{29, 45, 700}, {7, 3100, 5}, {100, 200, 200}, {500, 20, 400}, {1, 999, 70}};
  uint32_t seed = 11;
  for (Dims d : dims) {
    for (int t = 0; t < 4; ++t) {
      const bool ta = t & 1, tb = t & 2;
      if (d.m * d.n * d.k >= 4000000 && (t == 0 || t == 3)) continue;  // the big ones: 2 layouts (ASan time)
      for (bool packed : {false, true}) {
        const float r = check(d, ta, tb, -0.75f, 1.5f, 3, seed += 3, packed);
        EXPECT_LE(r, 1.0f) << "m=" << d.m << " n=" << d.n << " k=" << d.k << " ta=" << ta << " tb=" << tb
                           << " packed=" << packed;
      }
    }
  }
}

TEST(BlockedGemm, BetaZeroNeverReadsC) {
  UseBackend use(GemmBackend::kBlocked);
  for (Dims d : {Dims{17, 65, 300}, Dims{100, 200, 200}}) {
    Mat a(d.m, d.k, 0, 1), b(d.n, d.k, 0, 2), c(d.m, d.n, 0, 3), c2 = c;
    for (float& x : c.v) x = std::nanf("");
    for (float& x : c2.v) x = std::nanf("");
    sgemm(false, true, d.m, d.n, d.k, 2.0f, a.p(), a.ld, b.p(), b.ld, 0.0f, c.p(), c.ld);
    sgemm_packed(false, d.m, 2.0f, a.p(), a.ld, sgemm_pack_b(true, d.k, d.n, b.p(), b.ld), 0.0f, c2.p(), c2.ld);
    for (size_t i = 0; i < c.v.size(); ++i) {
      ASSERT_FALSE(std::isnan(c.v[i])) << "NaN from C leaked at " << i;
      ASSERT_FALSE(std::isnan(c2.v[i])) << "NaN from C leaked (packed) at " << i;
    }
  }
}

// 1 thread and 2 threads, packed and unpacked: each element is the same sequence of FMAs, so bitwise equal.
TEST(BlockedGemm, ThreadsAndPackingGiveBitwiseEqualResults) {
  UseBackend use(GemmBackend::kBlocked);
  const int saved = num_threads();
  for (Dims d : {Dims{100, 200, 200}, Dims{500, 20, 400}, Dims{1, 4099, 980}}) {
    for (int t : {1, 2}) {  // A transposed, B transposed: each operand packed both ways (kept short for ASan)
      const bool ta = t & 1, tb = t & 2;
      Mat a(ta ? d.k : d.m, ta ? d.m : d.k, 1, 21), b(tb ? d.n : d.k, tb ? d.k : d.n, 2, 22);
      Mat c1(d.m, d.n, 0, 23), c2 = c1, c3 = c1, c4 = c1;
      set_num_threads(1);
      sgemm(ta, tb, d.m, d.n, d.k, 1.0f, a.p(), a.ld, b.p(), b.ld, 0.5f, c1.p(), c1.ld);
      const PackedB pb = sgemm_pack_b(tb, d.k, d.n, b.p(), b.ld);
      sgemm_packed(ta, d.m, 1.0f, a.p(), a.ld, pb, 0.5f, c3.p(), c3.ld);
      set_num_threads(2);
      sgemm(ta, tb, d.m, d.n, d.k, 1.0f, a.p(), a.ld, b.p(), b.ld, 0.5f, c2.p(), c2.ld);
      sgemm_packed(ta, d.m, 1.0f, a.p(), a.ld, pb, 0.5f, c4.p(), c4.ld);
      EXPECT_EQ(0, std::memcmp(c1.p(), c2.p(), c1.v.size() * sizeof(float))) << "1 vs 2 threads m=" << d.m;
      EXPECT_EQ(0, std::memcmp(c1.p(), c3.p(), c1.v.size() * sizeof(float))) << "packed, 1 thread m=" << d.m;
      EXPECT_EQ(0, std::memcmp(c1.p(), c4.p(), c1.v.size() * sizeof(float))) << "packed, 2 threads m=" << d.m;
    }
  }
  set_num_threads(saved);
}

TEST(PackedB, OwnsACopyOfTheWeights) {
  Mat x(9, 40, 0, 31), w(24, 40, 0, 32), y(9, 24, 0, 33), ref(9, 24, 0, 33);
  PackedB pb = sgemm_pack_b(true, 40, 24, w.p(), w.ld);
  EXPECT_EQ(pb.k(), 40);
  EXPECT_EQ(pb.n(), 24);
  EXPECT_GE(pb.bytes(), 40 * 32 * 4);  // n rounded up to whole 16-column panels
  sgemm_naive(false, true, 9, 24, 40, 1.0f, x.p(), x.ld, w.p(), w.ld, 0.0f, ref.p(), ref.ld);
  for (float& v : w.v) v = 1e30f;  // later writes to the source are not seen
  const PackedB copy = pb;         // copies share the packed data
  pb = PackedB();
  sgemm_packed(false, 9, 1.0f, x.p(), x.ld, copy, 0.0f, y.p(), y.ld);
  for (int64_t i = 0; i < 9; ++i)
    for (int64_t j = 0; j < 24; ++j) EXPECT_NEAR(y.at(i, j), ref.at(i, j), tolerance(40, 40.0f));
}

TEST(PackedB, ZeroSizesAndErrors) {
  std::vector<float> buf(64, 1.0f);
  float* p = buf.data();
  // k == 0: C = beta * C.
  PackedB empty_k = sgemm_pack_b(false, 0, 4, nullptr, 4);
  sgemm_packed(false, 2, 1.0f, nullptr, 1, empty_k, 3.0f, p, 4);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(p[i], 3.0f);
  auto expect_error = [](auto&& f, std::initializer_list<const char*> words) {
    try {
      f();
      ADD_FAILURE() << "expected tl::ValueError";
    } catch (const ValueError& e) {
      const std::string msg = e.what();
      for (const char* w : words) EXPECT_NE(msg.find(w), std::string::npos) << "message lacks \"" << w << "\": " << msg;
    }
  };
  expect_error([&] { sgemm_pack_b(false, -1, 4, p, 4); }, {"sgemm_pack_b", "k = -1"});
  expect_error([&] { sgemm_pack_b(true, 8, 4, p, 4); }, {"sgemm_pack_b", "ldb = 4", "ldb >= 8"});
  expect_error([&] { sgemm_pack_b(false, 2, 2, nullptr, 2); }, {"B is null"});
  expect_error([&] { sgemm_packed(false, 2, 1.0f, p, 2, PackedB(), 0.0f, p, 2); }, {"sgemm_packed", "empty"});
  const PackedB pb = sgemm_pack_b(false, 3, 5, p, 5);
  expect_error([&] { sgemm_packed(false, 2, 1.0f, p, 2, pb, 0.0f, p, 5); }, {"lda = 2", "lda >= 3"});
  expect_error([&] { sgemm_packed(false, 2, 1.0f, p, 3, pb, 0.0f, p, 4); }, {"ldc = 4", "ldc >= 5"});
  expect_error([&] { sgemm_packed(false, -2, 1.0f, p, 3, pb, 0.0f, p, 5); }, {"m = -2"});
}

}  // namespace
}  // namespace tl::test
