// The transformer block of examples/transformer_block.tl against torch.nn.TransformerEncoderLayer
// (fixtures from scripts/gen_tl_block_fixture.py): parameters bound by name, at every optimisation level.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "logic_test_util.h"
#include "tl/logic.h"
#include "tl/npy.h"

namespace fs = std::filesystem;
using tl::logic::Program;

namespace {

std::string block_dir(const std::string& name) {
  return std::string(TL_FIXTURE_DIR) + "/tl_block/" + name;
}

// f32 arithmetic against a float64 PyTorch reference: sums of at most 32 products and two layer norms over
// <= 15 values; the measured max abs error is 4.8e-7 (Y) and 6e-8 (Comp); the issue asks for 1e-5.
constexpr double kTol = 1e-5;

double max_abs_diff(const tl::Tensor& got, const tl::Tensor& want, const std::string& what) {
  EXPECT_EQ(got.shape(), want.shape()) << what;
  if (got.shape() != want.shape()) return INFINITY;
  auto g = got.to_f64_vector(), w = want.to_f64_vector();
  double m = 0;
  for (size_t i = 0; i < g.size(); ++i) m = std::max(m, std::fabs(g[i] - w[i]));
  return m;
}

class TransformerBlock : public ::testing::TestWithParam<const char*> {};

TEST_P(TransformerBlock, MatchesPyTorch) {
  std::string dir = block_dir(GetParam());
  Program p = Program::load(dir + "/program.tl");
  std::map<std::string, tl::Tensor> in;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string f = e.path().filename().string();
    if (f.rfind("in_", 0) == 0) in[f.substr(3, f.size() - 7)] = tl::read_npy(e.path().string());
  }
  EXPECT_EQ(in.size(), 17u);  // X and 16 parameters
  tl::Tensor y = tl::read_npy(dir + "/out_Y.npy"), comp = tl::read_npy(dir + "/out_Comp.npy");
  for (auto level : {tl::OptLevel::none, tl::OptLevel::basic, tl::OptLevel::full}) {
    auto out = p.run(in, level);
    double dy = max_abs_diff(out.at("Y"), y, "Y"), dc = max_abs_diff(out.at("Comp"), comp, "Comp");
    EXPECT_LE(dy, kTol) << "level " << int(level);
    EXPECT_LE(dc, kTol) << "level " << int(level);
    ::testing::Test::RecordProperty(std::string(GetParam()) + "_Y_max_abs_diff_" + std::to_string(int(level)),
                                    std::to_string(dy));
    std::printf("[tl_block %s level %d] max abs diff Y %.3g Comp %.3g\n", GetParam(), int(level), dy, dc);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TransformerBlock, ::testing::Values("odd", "small"));

TEST(TransformerBlockExample, FixtureProgramIsTheExample) {
  // The "odd" fixture ran the example verbatim, so the shipped example is what was checked.
  EXPECT_EQ(tl_logic_test::read_text(block_dir("odd/program.tl")),
            tl_logic_test::read_text(tl_logic_test::example("transformer_block.tl")));
}

TEST(TransformerBlockExample, MissingParameterIsNamed) {
  Program p = Program::load(tl_logic_test::example("transformer_block.tl"));
  tl_logic_test::expect_error<tl::Error>([&] { p.run({{"X", tl::Tensor::zeros({7, 15})}}); }, {"Wq"});
}

}  // namespace
