// Tensor equations against NumPy: programs and float64 references from scripts/gen_logic_fixtures.py.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "logic_test_util.h"
#include "tl/einsum.h"
#include "tl/logic.h"
#include "tl/npy.h"

namespace fs = std::filesystem;
using tl::logic::Program;
using tl_logic_test::expect_error;
using tl_logic_test::fixture;

namespace {

// f32 compute vs a float64 NumPy reference over sums of at most 16 terms plus exp/erf/sqrt: a few ulps of the
// operands scaled by the reduction length, well inside 2e-5 absolute + 2e-5 relative per element.
constexpr double kAtol = 2e-5, kRtol = 2e-5;

void expect_close(const tl::Tensor& got, const tl::Tensor& want, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  auto g = got.to_f64_vector(), w = want.to_f64_vector();
  double max_diff = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    double d = std::fabs(g[i] - w[i]);
    max_diff = std::max(max_diff, d);
    EXPECT_LE(d, kAtol + kRtol * std::fabs(w[i]))
        << what << " element " << i << ": " << g[i] << " vs " << w[i];
  }
  ::testing::Test::RecordProperty(what + "_max_abs_diff", std::to_string(max_diff));
}

class EquationFixture : public ::testing::TestWithParam<const char*> {};

TEST_P(EquationFixture, MatchesNumPy) {
  std::string dir = fixture(std::string("eq_") + GetParam());
  Program p = Program::load(dir + "/program.tl");
  std::map<std::string, tl::Tensor> in;
  std::map<std::string, tl::Tensor> want;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string f = e.path().filename().string();
    if (e.path().extension() != ".npy") continue;
    std::string name = f.substr(f.find('_') + 1, f.size() - f.find('_') - 5);
    (f.rfind("in_", 0) == 0 ? in : want)[name] = tl::read_npy(e.path().string());
  }
  ASSERT_FALSE(want.empty());
  auto out = p.run(in);
  EXPECT_EQ(out.size(), want.size());
  for (const auto& [name, w] : want) {
    ASSERT_TRUE(out.count(name)) << name;
    expect_close(out.at(name), w, name);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, EquationFixture,
                         ::testing::Values("matmul", "mlp", "attention", "misc", "slice"));

TEST(Equations, MatmulAgreesWithNaiveEinsum) {
  // The compiled program against the kept-forever naive einsum, on a non-contiguous (transposed) input.
  Program p = Program::parse("input A[5,3]\ninput B[3,7]\ninput C[7]\nY[i,k] = A[i,j] B[j,k] C[k]\n");
  tl::Tensor a = tl::Tensor::empty({3, 5});
  for (int64_t i = 0; i < a.numel(); ++i) a.data<float>()[i] = float((i * 7) % 11) - 5.0f;
  tl::Tensor b = tl::Tensor::full({3, 7}, 0.5), c = tl::Tensor::full({7}, -2);
  tl::Tensor at = a.transpose(0, 1);  // [5, 3], strided
  auto out = p.run({{"A", at}, {"B", b}, {"C", c}});
  expect_close(out.at("Y"), tl::einsum_naive("ij,jk,k->ik", {at, b, c}), "Y");
}

TEST(Equations, AccumulationOperators) {
  // Several equations for one tensor: '=' and '+=' add up; 'max=' combines with max.
  Program p = Program::parse(
      "input A[2,3]\ninput B[2]\n"
      "S[i] = A[i,j]\nS[i] += B[i]\nS[i] = 1\n"
      "M[i] max= A[i,j]\nM[i] max= B[i]\n"
      "N[i] min= A[i,j] B[i]\n");
  tl::Tensor a = tl::Tensor::from_vector<float>({2, 3}, {1, -2, 3, -4, 5, 0.5f});
  tl::Tensor b = tl::Tensor::from_vector<float>({2}, {10, -10});
  auto out = p.run({{"A", a}, {"B", b}});
  EXPECT_EQ(out.at("S").to_f32_vector(), (std::vector<float>{1 - 2 + 3 + 10 + 1, -4 + 5 + 0.5f - 10 + 1}));
  EXPECT_EQ(out.at("M").to_f32_vector(), (std::vector<float>{10, 5}));
  EXPECT_EQ(out.at("N").to_f32_vector(), (std::vector<float>{-20, -50}));  // min over j of A[i,j]*B[i]
}

TEST(Equations, ScalarsAndConstants) {
  Program p = Program::parse("dim D = 16\ninput X[2]\nY[i] = X[i] / sqrt(D) - 2 * -1.5e0\nZ[] = 3\n");
  auto out = p.run({{"X", tl::Tensor::from_vector<float>({2}, {4, 8})}});
  EXPECT_EQ(out.at("Y").to_f32_vector(), (std::vector<float>{4, 5}));
  EXPECT_EQ(out.at("Z").to_f32_vector(), (std::vector<float>{3}));
}

TEST(Equations, RunErrorsNameTheTensor) {
  Program p = Program::parse("input X[2,3]\nY[i] = X[i,j]\n");
  expect_error<tl::Error>([&] { p.run({}); }, {"X"});
  expect_error<tl::ShapeError>([&] { p.run({{"X", tl::Tensor::zeros({3, 2})}}); }, {"X", "[2, 3]", "[3, 2]"});
  Program facts_only = Program::parse("P(a).\n");
  expect_error<tl::ValueError>([&] { facts_only.run({}); }, {"no tensor equations"});
}

}  // namespace
