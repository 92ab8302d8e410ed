// Two models run at the same time from two std::threads give, bit for bit, what each gives run alone: no
// shared mutable state between Model objects (executors, weight views, kernel scratch, thread settings).
// Also the parallel_for pool (include/tl/threading.h) driven from two threads at once. The tsan preset
// (scripts/test.sh tsan) runs this file under ThreadSanitizer; in the release/asan suites it is an ordinary
// determinism test.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "model_test_util.h"
#include "tl/threading.h"

namespace tl::models::test {
namespace {

// What one model produces for the parity fixture's ids: logits of a forward pass and 8 greedy tokens.
struct RunResult {
  Tensor logits;                // [batch, seq, vocab]
  std::vector<int64_t> greedy;  // 8 new ids
};

RunResult run_model(Model& m, const std::string& fam) {
  Batch b;
  b.ids = fixture(fam, "ids");  // [2, 11]
  RunResult r;
  r.logits = m.forward(b).at("logits").contiguous();
  r.greedy = m.generate_greedy(as_ids(fixture(fam, "prompt")), 8);
  return r;
}

// Bitwise equality (not a tolerance): the same model on the same input must take the same summation order
// whether or not another model is running next to it.
void expect_bitwise_equal(const RunResult& a, const RunResult& b, const std::string& what) {
  ASSERT_EQ(a.logits.shape(), b.logits.shape()) << what;
  const std::vector<double> x = a.logits.to_f64_vector(), y = b.logits.to_f64_vector();
  size_t diff = 0;
  for (size_t i = 0; i < x.size(); ++i) diff += std::memcmp(&x[i], &y[i], sizeof(double)) != 0;
  EXPECT_EQ(diff, 0u) << what << ": logits differ in " << diff << " of " << x.size() << " elements";
  EXPECT_EQ(a.greedy, b.greedy) << what;
}

// Runs fam_a and fam_b (separately loaded Model objects) concurrently; each must equal its solo run.
void check_pair(const std::string& fam_a, const std::string& fam_b) {
  auto solo_a = load_model(fixture_dir(fam_a));
  auto solo_b = load_model(fixture_dir(fam_b));
  const RunResult want_a = run_model(*solo_a, fam_a), want_b = run_model(*solo_b, fam_b);

  auto ma = load_model(fixture_dir(fam_a));
  auto mb = load_model(fixture_dir(fam_b));
  RunResult got_a, got_b;
  std::string err_a, err_b;
  // Both threads start the work together so their forward passes overlap.
  std::atomic<int> ready{0};
  auto body = [&ready](Model& m, const std::string& fam, RunResult& out, std::string& err) {
    ready.fetch_add(1);
    while (ready.load() < 2) std::this_thread::yield();
    try {
      for (int rep = 0; rep < 2; ++rep) out = run_model(m, fam);  // the second rep reuses cached executors
    } catch (const std::exception& e) {
      err = e.what();
    }
  };
  std::thread ta(body, std::ref(*ma), std::cref(fam_a), std::ref(got_a), std::ref(err_a));
  std::thread tb(body, std::ref(*mb), std::cref(fam_b), std::ref(got_b), std::ref(err_b));
  ta.join();
  tb.join();
  ASSERT_EQ(err_a, "");
  ASSERT_EQ(err_b, "");
  expect_bitwise_equal(got_a, want_a, fam_a + " next to " + fam_b);
  expect_bitwise_equal(got_b, want_b, fam_b + " next to " + fam_a);
}

TEST(ModelConcurrency, LlamaAndGpt2InTwoThreads) { check_pair("llama", "gpt2"); }

// The same checkpoint loaded twice: both objects map the same file read-only.
TEST(ModelConcurrency, SameModelTwiceInTwoThreads) { check_pair("llama", "llama"); }

// parallel_for called from two std::threads at once (each opens its own OpenMP team): every index is
// visited exactly once per call and the per-thread results are independent.
TEST(ThreadPoolConcurrency, ParallelForFromTwoThreads) {
  constexpr int64_t kN = 10000;
  std::vector<int> hits_a(kN, 0), hits_b(kN, 0);
  auto body = [](std::vector<int>& hits) {
    for (int rep = 0; rep < 4; ++rep)
      parallel_for(kN, 64, [&hits](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) hits[size_t(i)] += 1;  // chunks are disjoint: no two writers per index
      });
  };
  std::thread ta(body, std::ref(hits_a)), tb(body, std::ref(hits_b));
  ta.join();
  tb.join();
  for (int64_t i = 0; i < kN; ++i) {
    ASSERT_EQ(hits_a[size_t(i)], 4) << i;
    ASSERT_EQ(hits_b[size_t(i)], 4) << i;
  }
}

}  // namespace
}  // namespace tl::models::test
