// Model::forward compiles the optimised graph (tl::optimize, OptLevel::full, in Model::executor_for). Here the
// optimised run is compared with the unoptimised graph run by a plain Executor on the same weights, for every
// family whose fixture takes only ids, and the decode graph is checked to shrink too. The transformers parity
// itself is tests/models/decoder_parity_test.cpp (which runs the optimised path).
#include <gtest/gtest.h>

#include <limits>
#include <map>

#include "model_test_util.h"
#include "tl/nn/position.h"
#include "tl/passes.h"
#include "tl/runtime.h"

namespace tl::models::test {
namespace {

class OptimizedExecutor : public ::testing::TestWithParam<std::string> {};

// Tolerance 1e-5 absolute: the passes that fire on these graphs (CSE of RoPE/mask constants, bias+activation
// fusion) do not reorder any sum, so the results are expected bit-identical; the bound only allows a future
// pass (einsum regrouping) to change summation order over <= 192 terms on logits of magnitude < 10.
TEST_P(OptimizedExecutor, ForwardEqualsUnoptimisedGraph) {
  const std::string fam = GetParam();
  auto m = load_model(fixture_dir(fam));
  Batch b;
  b.ids = fixture(fam, "ids");
  const auto opt = m->forward(b);

  const Graph raw = m->build_graph(b);
  Executor ex(raw);
  for (Value v : raw.params()) ex.bind_param(raw.info(v).name, m->weights().at(raw.info(v).name));
  const auto ref = ex.run({{"ids", b.ids.to(DType::i64)}});
  for (const char* name : {"logits", "hidden"}) {
    const double d = max_abs_diff(opt.at(name), ref.at(name));
    std::printf("[%s] optimised vs unoptimised %s: max abs diff %.3g\n", fam.c_str(), name, d);
    EXPECT_LE(d, 1e-5) << name;
  }
}

// Decode-graph inputs for the first 4 fixture ids at positions 0..3: causal bias, RoPE tables or positions.
std::map<std::string, Tensor> four_token_inputs(Model& m, const std::string& fam) {
  std::map<std::string, Tensor> in;
  in["ids"] = fixture(fam, "ids").slice(0, 0, 1).slice(1, 0, 4).to(DType::i64).contiguous();  // [1, 4]
  Tensor bias = Tensor::full({1, 1, 4, 4}, -std::numeric_limits<double>::infinity());      // [1, 1, 4, 4]
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j <= i; ++j) bias.data<float>()[i * 4 + j] = 0.0f;
  in["attn_bias"] = bias;
  const Model::KvSpec spec = m.kv_spec();
  if (spec.rope) {
    const nn::RopeTables t = nn::rope_tables(*spec.rope, 4, 0, 4);  // [4, rot/2]
    in["rope_cos"] = t.cos.reshape({1, 1, 4, t.cos.size(1)});
    in["rope_sin"] = t.sin.reshape({1, 1, 4, t.sin.size(1)});
  } else {
    in["positions"] = Tensor::from_vector<int64_t>({1, 4}, {0, 1, 2, 3});
  }
  return in;
}

// The decode graph as generation compiles it: the optimiser removes the per-layer duplicates (fewer nodes but
// the linear groups),
// and one step run through Model::decode_executor equals the unoptimised graph's step.
TEST_P(OptimizedExecutor, DecodeGraphShrinksAndAgrees) {
  const std::string fam = GetParam();
  auto m = load_model(fixture_dir(fam));
  if (!m->has_kv_cache()) GTEST_SKIP() << fam << " has no KV-cache decoding";
  Graph g = m->build_decode_graph(1, 4, 0);
  const size_t before = g.nodes().size();
  optimize(g, OptLevel::full);
  size_t groups = 0;  // linear_group adds one node per group (its members become slices of it)
  for (const Node& n : g.nodes()) groups += n.kind == OpKind::linear_group;
  EXPECT_LE(g.nodes().size() - groups, before);

  const Graph raw = m->build_decode_graph(1, 4, 0);
  Executor ex(raw);
  for (Value v : raw.params()) ex.bind_param(raw.info(v).name, m->weights().at(raw.info(v).name));
  const std::map<std::string, Tensor> in = four_token_inputs(*m, fam);
  const auto ref = ex.run(in);
  const auto got = m->decode_executor(1, 4, 0).run(in);
  const double d = max_abs_diff(got.at("logits"), ref.at("logits"));
  std::printf("[%s] decode graph %zu -> %zu nodes; optimised vs unoptimised logits: max abs diff %.3g\n",
              fam.c_str(), before, g.nodes().size(), d);
  EXPECT_LE(d, 1e-5);  // as above
}

// A prompt's prefill (generate) asks for the last column's logits only: the final norm and the LM head run on
// one row (so do the last layer's queries, attention output projection and MLP), and everything else (the
// cache's new keys/values) is unchanged.
TEST_P(OptimizedExecutor, LastLogitsPrefillEqualsTheLastRow) {
  const std::string fam = GetParam();
  auto m = load_model(fixture_dir(fam));
  if (!m->has_kv_cache()) GTEST_SKIP() << fam << " has no KV-cache decoding";
  const std::map<std::string, Tensor> in = four_token_inputs(*m, fam);
  const auto all = m->decode_executor(1, 4, 0).run(in);
  const auto last = m->decode_executor(1, 4, 0, /*last_logits=*/true).run(in);
  ASSERT_EQ(last.at("logits").shape(), (Shape{1, 1, all.at("logits").size(2)}));
  ASSERT_EQ(last.at("hidden").shape(), (Shape{1, 1, all.at("hidden").size(2)}));
  // Row-wise ops on the same row: identical up to the GEMM's blocking of one row vs four (1e-5, as above).
  EXPECT_LE(max_abs_diff(last.at("logits"), all.at("logits").slice(1, 3, 4)), 1e-5);
  EXPECT_LE(max_abs_diff(last.at("hidden"), all.at("hidden").slice(1, 3, 4)), 1e-5);
  for (const auto& [name, t] : all)
    if (name != "logits" && name != "hidden") {
      EXPECT_EQ(max_abs_diff(last.at(name), t), 0.0) << name;
    }
  // The last layer's attention output projection has one row; every other layer's has four.
  const Graph& g = m->decode_executor(1, 4, 0, /*last_logits=*/true).graph();
  const bool gpt2 = fam == "gpt2";
  const int64_t L = m->config().get_int(gpt2 ? "n_layer" : "num_hidden_layers");
  for (int64_t l = 0; l < L; ++l) {
    const std::string w = gpt2 ? "transformer.h." + std::to_string(l) + ".attn.c_proj.weight"
                               : "model.layers." + std::to_string(l) + ".self_attn.o_proj.weight";
    int found = 0;
    for (const Node& n : g.nodes())
      if (n.kind == OpKind::einsum && n.inputs.size() == 2 && g.info(n.inputs[1]).name == w) {
        ++found;
        EXPECT_EQ(g.shape(n.output)[1], l == L - 1 ? 1 : 4) << w;
      }
    EXPECT_EQ(found, 1) << w;
  }
}

// A decode step's graph reads each layer's q/k/v weights (and LLaMA/Mistral's gate/up) in one linear_group
// (src/passes/linear_group.cpp); DecodeGraphShrinksAndAgrees above checks a grouped 4-token step against the
// unoptimised graph, and the generation tests check the 1-token steps against transformers.
TEST_P(OptimizedExecutor, DecodeStepGroupsTheProjections) {
  const std::string fam = GetParam();
  auto m = load_model(fixture_dir(fam));
  if (!m->has_kv_cache()) GTEST_SKIP() << fam << " has no KV-cache decoding";
  const Graph& g = m->decode_executor(1, 1, 4).graph();
  const int64_t L = m->config().get_int(fam == "gpt2" ? "n_layer" : "num_hidden_layers");
  int qkv = 0, gate_up = 0, other = 0;
  for (const Node& n : g.nodes()) {
    if (n.kind != OpKind::linear_group) continue;
    std::string names;
    for (size_t i = 1; i < n.inputs.size(); ++i) names += g.info(n.inputs[i]).name + " ";
    if (names.find("q_proj") != std::string::npos && names.find("k_proj") != std::string::npos &&
        names.find("v_proj") != std::string::npos && n.inputs.size() == 4)
      ++qkv;
    else if (names.find("gate_proj") != std::string::npos && names.find("up_proj") != std::string::npos &&
             n.inputs.size() == 3)
      ++gate_up;
    else
      ++other;
  }
  // GPT-2 stores q/k/v as one Conv1D weight (nothing to group); Mixtral's experts run in the moe op.
  EXPECT_EQ(qkv, fam == "gpt2" ? 0 : L);
  EXPECT_EQ(gate_up, fam == "llama" || fam == "mistral" ? L : 0);
  EXPECT_EQ(other, 0);
}

INSTANTIATE_TEST_SUITE_P(Families, OptimizedExecutor, ::testing::Values("llama", "mistral", "mixtral", "gpt2"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace tl::models::test
