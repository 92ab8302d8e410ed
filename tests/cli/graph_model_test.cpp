// Every fixture model as a .tl program: Model::build_graph -> tl::logic::to_tl -> Program::parse -> run with
// the model's weights gives the outputs Model::forward gives (in-process), and `tlt graph DIR --tl` +
// `tlt run PROG.tl --weights DIR/model.safetensors` gives the array `tlt forward` writes (through the CLI).
#include <gtest/gtest.h>

#include <cmath>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <map>
#include <string>

#include "cli_util.h"
#include "tl/logic.h"
#include "tl/models.h"
#include "tl/npy.h"
#include "tl/ops.h"
#include "tl/passes.h"
#include "tl/tl_export.h"

namespace {

using namespace tl;
using tl::cli_test::run_tlt;
namespace fs = std::filesystem;

std::string model_dir(const std::string& fam) { return std::string(TL_FIXTURE_DIR) + "/models/" + fam; }

// The fixture batch of a family (the inputs its transformers reference was computed on).
models::Batch fixture_batch(const std::string& fam) {
  const std::string d = model_dir(fam) + "/";
  models::Batch b;
  if (fam == "vit") {
    b.pixels = read_npy(d + "pixels.npy");
    return b;
  }
  b.ids = read_npy(d + "ids.npy");
  if (fam == "bert") {
    b.mask = read_npy(d + "mask.npy");
    b.type_ids = read_npy(d + "type_ids.npy");
  }
  if (fam == "t5") b.decoder_ids = read_npy(d + "decoder_ids.npy");
  return b;
}

// The graph inputs Model::forward binds for `b` (ids as i64, mask as f32, defaults where absent).
std::map<std::string, Tensor> graph_inputs(const Graph& g, const models::Batch& b) {
  std::map<std::string, Tensor> in;
  for (Value v : g.inputs()) {
    const std::string& n = g.info(v).name;
    if (n == "ids") in[n] = b.ids.to(DType::i64);
    if (n == "decoder_ids") in[n] = b.decoder_ids.to(DType::i64);
    if (n == "pixels") in[n] = b.pixels;
    if (n == "mask") in[n] = b.mask.defined() ? b.mask.to(DType::f32) : Tensor::full(b.ids.shape(), 1.0);
    if (n == "type_ids")
      in[n] = b.type_ids.defined() ? b.type_ids.to(DType::i64) : Tensor::zeros(b.ids.shape(), DType::i64);
  }
  return in;
}

struct Diff {
  double max_abs = 0, scale = 0;
};
Diff diff(const Tensor& want, const Tensor& got) {
  EXPECT_EQ(want.shape(), got.shape());
  Diff d;
  auto a = want.to_f64_vector(), b = got.to_f64_vector();
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    d.max_abs = std::max(d.max_abs, std::fabs(a[i] - b[i]));
    d.scale = std::max(d.scale, std::fabs(a[i]));
  }
  return d;
}

class GraphModel : public ::testing::TestWithParam<std::string> {};

TEST_P(GraphModel, ExportedProgramComputesForwardsOutputs) {
  const std::string fam = GetParam();
  auto m = models::load_model(model_dir(fam));
  const models::Batch b = fixture_batch(fam);
  const auto want = m->forward(b);
  const Graph g = m->build_graph(b);
  const std::string src = logic::to_tl(g, {.header = {fam + " fixture"}});
  const logic::Program p = logic::Program::parse(src, fam + ".tl");
  EXPECT_TRUE(verify_problems(p.graph()).empty());
  std::map<std::string, Tensor> in = graph_inputs(g, b);
  for (const auto& name : p.param_names()) in[name] = m->weights().at(name);
  const auto got = p.run(in);
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [name, t] : want) {
    ASSERT_TRUE(got.count(name)) << fam << " output " << name;
    // The same ops on the same weights: equal up to reassociation inside fused kernels. 1e-5 relative to the
    // output's largest magnitude (the bound).
    Diff d = diff(t, got.at(name));
    EXPECT_LE(d.max_abs, 1e-5 * std::max(1.0, d.scale)) << fam << " " << name;
    std::printf("[%s] %s: max abs error %.3g (largest |value| %.3g), %zu graph nodes, %zu lines of .tl\n",
                fam.c_str(), name.c_str(), d.max_abs, d.scale, g.nodes().size(),
                size_t(std::count(src.begin(), src.end(), '\n')));
  }
  // The same op multiset after optimisation (index forms compile back to the node they came from).
  Graph a = g, c = p.graph();
  optimize(a, OptLevel::basic);
  optimize(c, OptLevel::basic);
  std::map<std::string, int> ca, cc;
  for (const Node& n : a.nodes()) ++ca[node_op_name(n)];
  for (const Node& n : c.nodes()) ++cc[node_op_name(n)];
  std::string changed;
  for (const auto& [op, k] : ca)
    if (cc[op] != k) changed += " " + op + " " + std::to_string(k) + "->" + std::to_string(cc[op]);
  for (const auto& [op, k] : cc)
    if (!ca.count(op) && k) changed += " " + op + " 0->" + std::to_string(k);
  std::printf("[%s] op counts after --opt basic: %zu vs %zu nodes;%s\n", fam.c_str(), a.nodes().size(),
              c.nodes().size(), changed.empty() ? " identical" : changed.c_str());
  EXPECT_TRUE(changed.empty()) << fam << ":" << changed;
  // Readable: weights by checkpoint name, intermediate values named after them, a header.
  EXPECT_EQ(src.rfind("# " + fam + " fixture", 0), 0u);
  EXPECT_NE(src.find("\noutput "), std::string::npos);
}

std::string ids_arg(const Tensor& ids, int64_t row) {
  const Tensor c = ids.to(DType::i64);
  std::string s;
  for (int64_t j = 0; j < c.size(1); ++j) s += (j ? "," : "") + std::to_string(c.data<int64_t>()[row * c.size(1) + j]);
  return s;
}

TEST_P(GraphModel, CliGraphTlThenRunEqualsForward) {
  const std::string fam = GetParam();
  const std::string dir = model_dir(fam);
  const fs::path tmp = fs::temp_directory_path() / ("tlt_graph_model_" + fam + "_" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  const models::Batch b = fixture_batch(fam);
  std::string fwd = "forward " + dir + " -o " + (tmp / "want.npy").string();
  std::string run = "run " + (tmp / "m.tl").string() + " --weights " + dir + "/model.safetensors -o ";
  std::string graph = "graph " + dir + " --tl -o " + (tmp / "m.tl").string();
  const std::string out = fam == "bert" ? "hidden" : "logits";
  run += out + "=" + (tmp / "got.npy").string();
  if (fam == "bert") fwd += " --output hidden";
  if (fam == "vit") {
    write_npy((tmp / "pixels.npy").string(), b.pixels);
    fwd += " --pixels " + (tmp / "pixels.npy").string();
    run += " -i pixels=" + (tmp / "pixels.npy").string();
    graph += " --batch " + std::to_string(b.pixels.size(0));
  } else {
    // tlt forward takes token lists (no padding: every row has the same length, so its mask is all ones).
    const int64_t rows = b.ids.size(0), seq = b.ids.size(1);
    for (int64_t r = 0; r < rows; ++r) fwd += " --tokens " + ids_arg(b.ids, r);
    write_npy((tmp / "ids.npy").string(), b.ids.to(DType::i64));
    run += " -i ids=" + (tmp / "ids.npy").string();
    graph += " --batch " + std::to_string(rows) + " --seq " + std::to_string(seq);
    if (fam == "bert" || fam == "t5") {
      write_npy((tmp / "mask.npy").string(), Tensor::full({rows, seq}, 1.0));
      run += " -i mask=" + (tmp / "mask.npy").string();
    }
    if (fam == "bert") {
      write_npy((tmp / "types.npy").string(), Tensor::zeros({rows, seq}, DType::i64));
      run += " -i type_ids=" + (tmp / "types.npy").string();
    }
    if (fam == "t5") {
      // The exported graph has one length for encoder and decoder (--seq); pass decoder tokens of that length.
      Tensor dec = Tensor::zeros({rows, seq}, DType::i64);
      const Tensor d = b.decoder_ids.to(DType::i64);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < seq; ++j)
          dec.data<int64_t>()[r * seq + j] = d.data<int64_t>()[r * d.size(1) + j % d.size(1)];
      for (int64_t r = 0; r < rows; ++r) fwd += " --decoder-tokens " + ids_arg(dec, r);
      write_npy((tmp / "dec.npy").string(), dec);
      run += " -i decoder_ids=" + (tmp / "dec.npy").string();
    }
  }
  auto rg = run_tlt(graph);
  ASSERT_EQ(rg.code, 0) << rg.out;
  auto rr = run_tlt(run);
  ASSERT_EQ(rr.code, 0) << rr.out;
  auto rf = run_tlt(fwd);
  ASSERT_EQ(rf.code, 0) << rf.out;
  Diff d = diff(read_npy((tmp / "want.npy").string()), read_npy((tmp / "got.npy").string()));
  EXPECT_LE(d.max_abs, 1e-5 * std::max(1.0, d.scale)) << fam;  // same bound as above
  std::printf("[%s, cli] %s: max abs error %.3g vs tlt forward\n", fam.c_str(), out.c_str(), d.max_abs);
  fs::remove_all(tmp);
}

INSTANTIATE_TEST_SUITE_P(Families, GraphModel,
                         ::testing::Values("bert", "gpt2", "llama", "mistral", "mixtral", "vit", "t5"),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

TEST(GraphModelCli, DotTextAndErrors) {
  const std::string dir = model_dir("llama");
  auto dot = run_tlt("graph " + dir + " --dot --seq 3");
  ASSERT_EQ(dot.code, 0) << dot.out;
  EXPECT_NE(dot.out.find("digraph"), std::string::npos);
  auto text = run_tlt("graph " + dir + " --text --seq 3 --batch 2");
  ASSERT_EQ(text.code, 0) << text.out;
  EXPECT_NE(text.out.find("input %ids: i64[2,3]"), std::string::npos) << text.out.substr(0, 400);
  auto tl = run_tlt("graph " + dir + " --tl --seq 3");
  ASSERT_EQ(tl.code, 0) << tl.out;
  EXPECT_NE(tl.out.find("input ids: i64[1, 3]"), std::string::npos) << tl.out.substr(0, 600);
  EXPECT_NE(tl.out.find("param model.layers.0.self_attn.q_proj.weight["), std::string::npos);
  auto two = run_tlt("graph " + dir + " --tl --dot");
  EXPECT_EQ(two.code, 1);
  EXPECT_NE(two.out.find("choose one of"), std::string::npos) << two.out;
  auto bad = run_tlt("graph " + dir + " --tl --seq 0");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("--seq"), std::string::npos) << bad.out;
  auto file = run_tlt("graph " + std::string(TL_SOURCE_DIR) + "/examples/mlp.tl --text --seq 3");
  EXPECT_EQ(file.code, 1);
  EXPECT_NE(file.out.find("not a directory"), std::string::npos) << file.out;
}

// An optimised one-token graph holds linear_group calls (q/k/v, gate/up; src/passes/linear_group.cpp): the .tl
// program spells them out and runs to tlt forward's logits.
TEST(GraphModelCli, OptimisedOneTokenProgramWithLinearGroupsRuns) {
  const std::string dir = model_dir("llama");
  const fs::path tmp = fs::temp_directory_path() / ("tlt_graph_group_" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  auto rg = run_tlt("graph " + dir + " --tl --seq 1 --opt full -o " + (tmp / "m.tl").string());
  ASSERT_EQ(rg.code, 0) << rg.out;
  std::ifstream f(tmp / "m.tl");
  const std::string prog((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_NE(prog.find("linear_group("), std::string::npos) << prog.substr(0, 600);
  write_npy((tmp / "ids.npy").string(), Tensor::from_vector<int64_t>({1, 1}, {5}));
  auto rr = run_tlt("run " + (tmp / "m.tl").string() + " --weights " + dir + "/model.safetensors -i ids=" +
                    (tmp / "ids.npy").string() + " -o logits=" + (tmp / "got.npy").string());
  ASSERT_EQ(rr.code, 0) << rr.out;
  auto rf = run_tlt("forward " + dir + " --tokens 5 -o " + (tmp / "want.npy").string());
  ASSERT_EQ(rf.code, 0) << rf.out;
  Diff d = diff(read_npy((tmp / "want.npy").string()), read_npy((tmp / "got.npy").string()));
  EXPECT_LE(d.max_abs, 1e-5 * std::max(1.0, d.scale));  // the same bound as the families above
  fs::remove_all(tmp);
}

// BERT optimised for 8 tokens: its biases and GELU are linear epilogues (act=gelu_erf in the program), and the
// program runs to `tlt forward`'s hidden states.
TEST(GraphModelCli, OptimisedBertProgramWithLinearEpiloguesRuns) {
  const std::string dir = model_dir("bert");
  const fs::path tmp = fs::temp_directory_path() / ("tlt_graph_epilogue_" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  auto rg = run_tlt("graph " + dir + " --tl --seq 8 --opt full -o " + (tmp / "m.tl").string());
  ASSERT_EQ(rg.code, 0) << rg.out;
  std::ifstream f(tmp / "m.tl");
  const std::string prog((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_NE(prog.find("act=gelu_erf"), std::string::npos) << prog.substr(0, 600);
  const std::vector<int64_t> ids{5, 6, 7, 8, 9, 10, 11, 12};
  write_npy((tmp / "ids.npy").string(), Tensor::from_vector<int64_t>({1, 8}, ids));
  write_npy((tmp / "tt.npy").string(), Tensor::zeros({1, 8}, DType::i64));
  write_npy((tmp / "mask.npy").string(), Tensor::full({1, 8}, 1.0));
  auto rr = run_tlt("run " + (tmp / "m.tl").string() + " --weights " + dir + "/model.safetensors -i ids=" +
                    (tmp / "ids.npy").string() + " -i type_ids=" + (tmp / "tt.npy").string() + " -i mask=" +
                    (tmp / "mask.npy").string() + " -o hidden=" + (tmp / "got.npy").string());
  ASSERT_EQ(rr.code, 0) << rr.out;
  auto rf =
      run_tlt("forward " + dir + " --tokens 5,6,7,8,9,10,11,12 --output hidden -o " + (tmp / "want.npy").string());
  ASSERT_EQ(rf.code, 0) << rf.out;
  Diff d = diff(read_npy((tmp / "want.npy").string()), read_npy((tmp / "got.npy").string()));
  EXPECT_LE(d.max_abs, 1e-5 * std::max(1.0, d.scale));
  fs::remove_all(tmp);
}

// The committed sample (examples/models/llama_tiny.tl, made by `tlt graph tests/fixtures/models/llama --tl
// --seq 4`) still runs to the fixture model's logits.
TEST(GraphModelCli, CommittedLlamaSampleRunsToForwardsLogits) {
  auto m = models::load_model(model_dir("llama"));
  const logic::Program p = logic::Program::load(std::string(TL_SOURCE_DIR) + "/examples/models/llama_tiny.tl");
  models::Batch b;
  b.ids = read_npy(model_dir("llama") + "/ids.npy").slice(0, 0, 1).slice(1, 0, 4).contiguous();  // [1, 4]
  std::map<std::string, Tensor> in{{"ids", b.ids.to(DType::i64)}};
  for (const auto& name : p.param_names()) in[name] = m->weights().at(name);
  const Tensor got = p.run(in).at("logits"), want = m->forward(b).at("logits");
  Diff d = diff(want, got);
  EXPECT_LE(d.max_abs, 1e-5 * std::max(1.0, d.scale));  // the same bound as the families above
  std::printf("[llama_tiny.tl] logits: max abs error %.3g vs Model::forward\n", d.max_abs);
}

}  // namespace
