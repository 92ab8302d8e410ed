// Pairwise lowering: GEMM without copies where the layout allows (checked with the thread-local copy counter),
// and a table of odd-sized specs on contiguous, sliced, transposed and broadcast (stride 0) views, each
// compared with the naive reference, under 1 and 2 threads.
#include <map>

#include "einsum_test_util.h"
#include "tl/threading.h"

using namespace tl;
using namespace einsum_test;

namespace {

Tensor random_tensor(const Shape& s, uint32_t seed, DType dt = DType::f32) {
  Tensor t = Tensor::empty(s, DType::f32);
  for (int64_t i = 0; i < t.numel(); ++i) {
    seed = seed * 1664525u + 1013904223u;
    t.data<float>()[i] = float(seed >> 8) / float(1 << 23) - 1.0f;  // [-1, 1)
  }
  return dt == DType::f32 ? t : t.to(dt);
}

std::vector<Shape> shapes_of(const std::vector<Tensor>& ops) {
  std::vector<Shape> s;
  for (const Tensor& t : ops) s.push_back(t.shape());
  return s;
}

// Runs einsum, checks it against the naive reference and returns the counters of that one call.
EinsumStats run_checked(const std::string& spec, const std::vector<Tensor>& ops) {
  einsum_reset_stats();
  Tensor got = einsum(spec, ops);
  EinsumStats st = einsum_stats();
  expect_close(got, einsum_naive(spec, ops), reduction_length(spec, shapes_of(ops)), spec);
  return st;
}

}  // namespace

TEST(EinsumLowering, LinearLayerIsOneGemmWithoutCopies) {
  // [b, s, d] x [d, f]: one GEMM of [b*s, d] x [d, f].
  EinsumStats st = run_checked("bsd,df->bsf", {random_tensor({2, 5, 8}, 1), random_tensor({8, 6}, 2)});
  EXPECT_EQ(st.bytes_copied, 0);
  EXPECT_EQ(st.gemm_calls, 1);
  EXPECT_EQ(st.loop_steps, 0);
  // Weights stored [f, d] (a linear layer's usual layout): B transposed, still no copy.
  st = run_checked("bsd,fd->bsf", {random_tensor({2, 5, 8}, 3), random_tensor({6, 8}, 4)});
  EXPECT_EQ(st.bytes_copied, 0);
  EXPECT_EQ(st.gemm_calls, 1);
  // Into a preallocated output: written in place.
  Tensor out = Tensor::empty({2, 5, 6});
  einsum_reset_stats();
  einsum_into("bsd,df->bsf", {random_tensor({2, 5, 8}, 1), random_tensor({8, 6}, 2)}, out);
  EXPECT_EQ(einsum_stats().bytes_copied, 0);
}

TEST(EinsumLowering, AttentionIsOneBatchedGemmWithoutCopies) {
  // scores: [b, h, q, d] x [b, h, k, d] -> [b, h, q, k]: batch b*h, B transposed.
  EinsumStats st = run_checked("bhqd,bhkd->bhqk", {random_tensor({2, 3, 5, 4}, 5), random_tensor({2, 3, 7, 4}, 6)});
  EXPECT_EQ(st.bytes_copied, 0);
  EXPECT_EQ(st.gemm_calls, 1);
  // values: [b, h, q, k] x [b, h, k, d] -> [b, h, q, d].
  st = run_checked("bhqk,bhkd->bhqd", {random_tensor({2, 3, 5, 7}, 7), random_tensor({2, 3, 7, 4}, 8)});
  EXPECT_EQ(st.bytes_copied, 0);
  EXPECT_EQ(st.gemm_calls, 1);
  // Heads laid out as [b, q, h, d] (straight out of a projection), viewed as [b, h, q, d]: still no copy; the
  // batch dims no longer merge, so the outer one is looped over.
  Tensor q = random_tensor({2, 5, 3, 4}, 9).permute({0, 2, 1, 3});  // [b, h, q, d] view
  Tensor k = random_tensor({2, 7, 3, 4}, 10).permute({0, 2, 1, 3});
  st = run_checked("bhqd,bhkd->bhqk", {q, k});
  EXPECT_EQ(st.bytes_copied, 0);
  EXPECT_EQ(st.gemm_calls, 2);
}

TEST(EinsumLowering, TransposedOutputSwapsOperandRoles) {
  // C^T = B^T A^T: written straight into the [k, i] output.
  EinsumStats st = run_checked("ij,jk->ki", {random_tensor({3, 4}, 11), random_tensor({4, 5}, 12)});
  EXPECT_EQ(st.bytes_copied, 0);
  EXPECT_EQ(st.gemm_calls, 1);
}

TEST(EinsumLowering, IncompatibleLayoutsCopyOnce) {
  // K = {j, k} merges in the first operand only in order (j, k) and in the second only in (k, j).
  EinsumStats st = run_checked("ijk,kjl->il", {random_tensor({3, 4, 5}, 13), random_tensor({5, 4, 6}, 14)});
  EXPECT_EQ(st.gemm_calls, 1);
  EXPECT_EQ(st.bytes_copied, 3 * 4 * 5 * 4);  // only the smaller operand ([3, 4, 5] f32) is relaid out
  // A broadcast (stride 0) row cannot be a GEMM operand: copied.
  Tensor a = random_tensor({1, 6}, 15).broadcast_to({4, 6});
  st = run_checked("ij,jk->ik", {a, random_tensor({6, 3}, 16)});
  EXPECT_GT(st.bytes_copied, 0);
}

TEST(EinsumLowering, NonGemmStepsUseTheLoopKernel) {
  EinsumStats st = run_checked("bi,bi->b", {random_tensor({7, 9}, 17), random_tensor({7, 9}, 18)});
  EXPECT_EQ(st.gemm_calls, 0);
  EXPECT_EQ(st.loop_steps, 1);
  st = run_checked("ij,ij->ij", {random_tensor({5, 3}, 19), random_tensor({5, 3}, 20)});
  EXPECT_EQ(st.gemm_calls, 0);
  st = run_checked("i,j->ij", {random_tensor({5}, 21), random_tensor({3}, 22)});
  EXPECT_EQ(st.gemm_calls, 0);
}

// Odd sizes, every kind of view, 1 and 2 threads: fast path == naive reference.
TEST(EinsumLowering, TableAgainstNaive) {
  struct Row {
    std::string spec;
    std::vector<Shape> shapes;
  };
  const std::vector<Row> rows = {
      {"ij,jk->ik", {{13, 17}, {17, 11}}},
      {"ij,kj->ik", {{13, 17}, {11, 17}}},
      {"ji,jk->ik", {{17, 13}, {17, 11}}},
      {"ji,kj->ki", {{17, 13}, {11, 17}}},
      {"bij,bjk->bik", {{3, 7, 5}, {3, 5, 9}}},
      {"bij,jk->bik", {{3, 7, 5}, {5, 9}}},
      {"ij,bjk->bki", {{7, 5}, {3, 5, 9}}},
      {"abcd,cdbe->ae", {{3, 4, 5, 2}, {5, 2, 4, 3}}},
      {"abc,acd->bd", {{5, 3, 4}, {5, 4, 6}}},
      {"xai,xbi,xci->abc", {{2, 3, 4}, {2, 5, 4}, {2, 3, 4}}},
      {"ij,jk,kl,lm->im", {{3, 19}, {19, 2}, {2, 23}, {23, 4}}},
      {"...ij,...jk->...ik", {{2, 1, 3, 5}, {4, 5, 2}}},
      {"ii,ij->j", {{6, 6}, {6, 5}}},
      {"ij->", {{301, 211}}},        // split-sum parallel path
      {"i,i->", {{100003}, {100003}}},
      {"ij->j", {{1001, 3}}},        // rows mode: whole output rows accumulated
      {"ij->j", {{4001, 13}}},       // rows mode + split-sum
      {"i,ij->j", {{301}, {301, 7}}},
      {"ij,i->j", {{301, 7}, {301}}},
      {"ijk,ik->jk", {{9, 5, 33}, {9, 33}}},
      {"ijk->ikj", {{3, 4, 5}}},
  };
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (const Row& r : rows) {
      SCOPED_TRACE(r.spec + " threads=" + std::to_string(threads));
      std::vector<Tensor> plain, sliced, transposed, bf16;
      uint32_t seed = 100;
      for (const Shape& s : r.shapes) {
        Tensor t = random_tensor(s, ++seed);
        plain.push_back(t);
        // Slice the first dim out of a bigger tensor: strides stay, offset moves.
        Shape big = s;
        if (!big.empty()) big[0] += 3;
        sliced.push_back(big.empty() ? t : random_tensor(big, seed).slice(0, 2, 2 + s[0]));
        std::vector<int> rev(t.rank());
        for (int d = 0; d < t.rank(); ++d) rev[d] = t.rank() - 1 - d;
        transposed.push_back(t.permute(rev).clone().permute(rev));
        bf16.push_back(t.to(DType::bf16));
      }
      run_checked(r.spec, plain);
      run_checked(r.spec, sliced);
      run_checked(r.spec, transposed);
      run_checked(r.spec, bf16);
    }
  }
  set_num_threads(2);
}

TEST(EinsumLowering, BroadcastViewsAsOperands) {
  // Stride-0 dims from broadcast_to: in batch, M, N and K positions.
  Tensor row = random_tensor({1, 5}, 31).broadcast_to({4, 5});     // [i, j], i broadcast
  Tensor col = random_tensor({5, 1}, 32).broadcast_to({5, 6});     // [j, k], k broadcast
  Tensor batch = random_tensor({1, 5, 6}, 33).broadcast_to({3, 5, 6});
  run_checked("ij,jk->ik", {row, col});
  run_checked("ij,bjk->bik", {row, batch});
  run_checked("bjk,bjk->bk", {batch, batch});
  Tensor kb = random_tensor({4, 1}, 34).broadcast_to({4, 5});      // K dim broadcast
  run_checked("ij,jk->ik", {kb, random_tensor({5, 3}, 35)});
  // Size-1 labels against larger ones (NumPy broadcasting of labels).
  run_checked("ij,jk->ik", {random_tensor({4, 1}, 36), random_tensor({5, 3}, 37)});
  run_checked("bij,bjk->bik", {random_tensor({1, 4, 5}, 38), random_tensor({3, 5, 2}, 39)});
}

TEST(EinsumLowering, IntegersAreExactAndWrapLikeNumpy) {
  // 2^62 * 4 wraps to 0 in int64, as in NumPy; double accumulation would not.
  Tensor a = Tensor::from_vector<int64_t>({4}, {int64_t(1) << 62, int64_t(1) << 62, int64_t(1) << 62, int64_t(1) << 62});
  Tensor one = Tensor::from_vector<int64_t>({4}, {1, 1, 1, 1});
  EXPECT_EQ(einsum("i,i->", {a, one}).data<int64_t>()[0], 0);
  EXPECT_EQ(einsum_naive("i,i->", {a, one}).data<int64_t>()[0], 0);
  Tensor big = Tensor::from_vector<int64_t>({2}, {(int64_t(1) << 53) + 1, 1});
  EXPECT_EQ(einsum("i->", {big}).data<int64_t>()[0], (int64_t(1) << 53) + 2);
  Tensor i32 = Tensor::from_vector<int32_t>({2, 2}, {1, 2, 3, 4});
  Tensor r = einsum("ij,jk->ik", {i32, i32});
  EXPECT_EQ(r.dtype(), DType::i64);
  EXPECT_EQ(r.to_f64_vector(), (std::vector<double>{7, 10, 15, 22}));
}

TEST(EinsumLowering, BoolIsOrOfAnds) {
  // Datalog: Path(x, z) :- Edge(x, y), Edge(y, z). Two routes 0->1->3 and 0->2->3 still give true, not 2.
  Tensor e = Tensor::from_vector<bool>({4, 4}, {0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0});
  Tensor p = einsum("xy,yz->xz", {e, e});
  ASSERT_EQ(p.dtype(), DType::boolean);
  std::vector<double> want(16, 0);
  want[0 * 4 + 3] = 1;
  EXPECT_EQ(p.to_f64_vector(), want);
  // Exists: any edge out of each node.
  EXPECT_EQ(einsum("xy->x", {e}).to_f64_vector(), (std::vector<double>{1, 1, 1, 0}));
  // bool mixed with ints counts instead.
  Tensor ei = e.to(DType::i32);
  Tensor c = einsum("xy,yz->xz", {e, ei});
  EXPECT_EQ(c.dtype(), DType::i64);
  EXPECT_EQ(c.get({0, 3}), 2);
}

TEST(EinsumLowering, EinsumIntoLeavesNothingStale) {
  // Output prefilled with garbage, zero-size reductions and full outputs.
  Tensor out = Tensor::full({2, 3}, 123.0);
  einsum_into("ij,jk->ik", {Tensor::zeros({2, 0}), Tensor::zeros({0, 3})}, out);
  EXPECT_EQ(out.to_f64_vector(), std::vector<double>(6, 0.0));
  Tensor bo = Tensor::full({2, 3}, 1.0, DType::boolean);
  einsum_into("i,j->ij", {Tensor::zeros({2}, DType::boolean), Tensor::zeros({3}, DType::boolean)}, bo);
  EXPECT_EQ(bo.to_f64_vector(), std::vector<double>(6, 0.0));
  // Zero-size outputs, including ones whose last dim is 0.
  EXPECT_EQ(einsum("ij->ji", {Tensor::zeros({0, 3})}).shape(), (Shape{3, 0}));
  EXPECT_EQ(einsum(",dac->acd", {Tensor::zeros({}), Tensor::zeros({0, 1, 3})}).shape(), (Shape{1, 3, 0}));
  Tensor s = Tensor::full({}, 5.0);
  einsum_into("ij->", {Tensor::zeros({0, 4})}, s);
  EXPECT_EQ(s.get(std::span<const int64_t>()), 0.0);
}

TEST(EinsumLowering, OutputWithBatchInsideTheMatrix) {
  // Output [i, b]: per batch b the [i] column has stride 2 and the batches interleave; GEMMs are looped per b.
  EinsumStats st = run_checked("bij,bj->ib", {random_tensor({2, 5, 4}, 41), random_tensor({2, 4}, 42)});
  EXPECT_EQ(st.bytes_copied, 0);
  st = run_checked("bij,bjk->ibk", {random_tensor({3, 5, 4}, 43), random_tensor({3, 4, 6}, 44)});
  EXPECT_EQ(st.bytes_copied, 0);
}
