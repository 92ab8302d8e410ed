// End-to-end tests of the tlt command line: exit codes, stderr messages, and numbers checked against the
// NumPy fixtures of tests/fixtures/einsum (made by scripts/gen_einsum_fixtures.py).
#include <gtest/gtest.h>

#include "cli_util.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>

#include "tl/npy.h"

namespace fs = std::filesystem;

namespace {

using tl::cli_test::Result;
Result run(const std::string& args) { return tl::cli_test::run_tlt(args); }

fs::path tmpdir() {
  fs::path d = fs::temp_directory_path() / ("tlt_cli_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

const std::string kFix = std::string(TL_FIXTURE_DIR) + "/einsum/";

}  // namespace

TEST(Cli, HelpOnEveryCommand) {
  EXPECT_EQ(run("--help").code, 0);
  for (const char* c : {"einsum", "graph", "demo", "run"}) {
    Result r = run(std::string(c) + " --help");
    EXPECT_EQ(r.code, 0) << c;
    EXPECT_NE(r.out.find("usage: tlt"), std::string::npos) << r.out;
  }
  Result u = run("frobnicate");
  EXPECT_EQ(u.code, 2);
  EXPECT_NE(u.out.find("unknown command"), std::string::npos);
}

// Every NumPy fixture case through the CLI: same shape, dtype and values (1e-4 relative + 1e-5 absolute:
// the fixtures are small and f32 accumulation differs from NumPy's order).
TEST(Cli, EinsumMatchesNumpyFixtures) {
  std::ifstream f(kFix + "cases.txt");
  ASSERT_TRUE(f) << "missing " << kFix << "cases.txt";
  fs::path out = tmpdir() / "out.npy";
  std::string line;
  int cases = 0;
  while (std::getline(f, line)) {
    std::istringstream ls(line);
    std::string id, spec, ins, want;
    if (!std::getline(ls, id, '\t') || !std::getline(ls, spec, '\t') || !std::getline(ls, ins, '\t') ||
        !std::getline(ls, want, '\t'))
      continue;
    std::string args = "einsum '" + spec + "'";
    std::istringstream is(ins);
    for (std::string in; std::getline(is, in, ',');) args += " " + kFix + in;
    Result r = run(args + " -o " + out.string());
    ASSERT_EQ(r.code, 0) << id << " " << spec << ": " << r.out;
    tl::Tensor got = tl::read_npy(out.string());
    tl::Tensor ref = tl::read_npy(kFix + want);
    ASSERT_EQ(got.shape(), ref.shape()) << id << " " << spec;
    auto g = got.to_f64_vector(), w = ref.to_f64_vector();
    for (size_t i = 0; i < g.size(); ++i)
      ASSERT_NEAR(g[i], w[i], 1e-5 + 1e-4 * std::fabs(w[i])) << id << " " << spec << " element " << i;
    ++cases;
  }
  EXPECT_GE(cases, 60);
  fs::remove_all(out.parent_path());
}

TEST(Cli, EinsumErrorsAreOneLineAndNonZero) {
  Result r = run("einsum 'ij,jk->ik' " + kFix + "c000_in0.npy");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("tlt einsum: error:"), std::string::npos) << r.out;
  Result m = run("einsum 'ij->i' /nonexistent/file.npy");
  EXPECT_EQ(m.code, 1);
  EXPECT_NE(m.out.find("/nonexistent/file.npy"), std::string::npos) << m.out;
  Result o = run("einsum 'ij->i' " + kFix + "c000_in0.npy --bogus");
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(o.out.find("unknown option '--bogus'"), std::string::npos) << o.out;
}

TEST(Cli, GraphConvertsBetweenForms) {
  fs::path d = tmpdir();
  std::ofstream(d / "g.tlg") << "graph demo {\n"
                                "  input %x: f32[2,3]\n"
                                "  param %w: f32[3,4]\n"
                                "  %y: f32[2,4] = einsum(%x, %w) {spec=\"ij,jk->ik\"}\n"
                                "  %z: f32[2,4] = relu(%y)\n"
                                "  output %z\n"
                                "}\n";
  Result t = run("graph " + (d / "g.tlg").string() + " --json -o " + (d / "g.json").string());
  ASSERT_EQ(t.code, 0) << t.out;
  Result back = run("graph " + (d / "g.json").string() + " --text");
  ASSERT_EQ(back.code, 0) << back.out;
  Result orig = run("graph " + (d / "g.tlg").string() + " --text");
  EXPECT_EQ(back.out, orig.out);
  Result dot = run("graph " + (d / "g.tlg").string() + " --dot");
  EXPECT_NE(dot.out.find("digraph"), std::string::npos) << dot.out;
  std::ofstream(d / "bad.tlg") << "graph bad {\n  input %x: f32[2,3]\n  %y: f32[2,3] = relu(%q)\n  output %y\n}\n";
  Result bad = run("graph " + (d / "bad.tlg").string() + " --text");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("%q"), std::string::npos) << bad.out;
  fs::remove_all(d);
}

// The demo's numbers against NumPy (scripts/gen_demo_fixture.py, float64 reference): 1e-5 absolute, values
// are O(1) and the reductions are 8 long.
TEST(Cli, DemoMatchesNumpy) {
  fs::path d = tmpdir();
  Result r = run("demo --save " + d.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("attention weights"), std::string::npos) << r.out;
  for (const char* name : {"attention.npy", "y.npy"}) {
    tl::Tensor got = tl::read_npy((d / name).string());
    tl::Tensor ref = tl::read_npy(std::string(TL_FIXTURE_DIR) + "/demo/" + name);
    ASSERT_EQ(got.shape(), ref.shape()) << name;
    auto g = got.to_f64_vector(), w = ref.to_f64_vector();
    for (size_t i = 0; i < g.size(); ++i) ASSERT_NEAR(g[i], w[i], 1e-5) << name << " element " << i;
  }
  // Masked positions get exactly zero weight.
  tl::Tensor att = tl::read_npy((d / "attention.npy").string());
  for (int64_t i = 0; i < att.size(0); ++i)
    for (int64_t j = i + 1; j < att.size(1); ++j) EXPECT_EQ(att.get({i, j}), 0.0);
  fs::remove_all(d);
}

// `tlt graph PROGRAM.tl --dot` shows the graph the program's tensor equations compile to.
TEST(Cli, GraphOfTlProgram) {
  Result r = run("graph " + std::string(TL_SOURCE_DIR) + "/examples/mlp.tl --dot");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("digraph"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("einsum"), std::string::npos) << r.out;
  Result t = run("graph " + std::string(TL_SOURCE_DIR) + "/examples/mlp.tl --text");
  ASSERT_EQ(t.code, 0) << t.out;
  EXPECT_NE(t.out.find("relu"), std::string::npos) << t.out;
}

// --opt runs the pass pipeline before printing: a duplicated einsum is merged by CSE, a bad level is refused.
TEST(Cli, GraphOptimises) {
  fs::path d = tmpdir();
  std::ofstream(d / "dup.tlg") << "graph dup {\n"
                                  "  input %x: f32[2,3]\n"
                                  "  param %w: f32[3,4]\n"
                                  "  %a: f32[2,4] = einsum(%x, %w) {spec=\"ij,jk->ik\"}\n"
                                  "  %b: f32[2,4] = einsum(%x, %w) {spec=\"ij,jk->ik\"}\n"
                                  "  %c: f32[2,4] = add(%a, %b)\n"
                                  "  output %c\n"
                                  "}\n";
  Result plain = run("graph " + (d / "dup.tlg").string() + " --text");
  Result opt = run("graph " + (d / "dup.tlg").string() + " --text --opt basic");
  ASSERT_EQ(opt.code, 0) << opt.out;
  auto count = [](const std::string& s, const std::string& w) {
    size_t n = 0;
    for (size_t p = s.find(w); p != std::string::npos; p = s.find(w, p + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count(plain.out, "= einsum("), 2u) << plain.out;
  EXPECT_EQ(count(opt.out, "= einsum("), 1u) << opt.out;
  Result bad = run("graph " + (d / "dup.tlg").string() + " --text --opt fastest");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("fastest"), std::string::npos) << bad.out;
  fs::remove_all(d);
}
