// The pass pipeline: levels, verification after each pass, and whole models (an MLP, an attention block)
// computing the same outputs before and after optimisation.
#include "pass_test_util.h"
#include "pass_models.h"
#include "../ir/every_op_graph.h"

using namespace tl;
using pass_models::attention;
using pass_models::mlp;


TEST(Pipeline, LevelsListTheirPasses) {
  auto names = [](OptLevel l) {
    std::string s;
    for (const Pass& p : pipeline_passes(l)) s += p.name + " ";
    return s;
  };
  EXPECT_EQ(names(OptLevel::none), "");
  EXPECT_EQ(names(OptLevel::basic), "dce cse fold simplify cse dce ");
  EXPECT_EQ(names(OptLevel::full), "dce cse fold simplify cse dce einsum_merge einsum_split fusion linear_epilogue linear_group cse dce ");
  PassOptions no_split;
  no_split.split_einsums = false;
  EXPECT_EQ(pipeline_passes(OptLevel::full, no_split).size(), 12u);
  EXPECT_EQ(parse_opt_level("full"), OptLevel::full);
  EXPECT_STREQ(opt_level_name(OptLevel::basic), "basic");
  try {
    parse_opt_level("O3");
    ADD_FAILURE();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown optimisation level 'O3' (expected none, basic or full)"),
              std::string::npos) << e.what();
  }
}

TEST(Pipeline, NoneChangesNothing) {
  Graph g = mlp();
  Graph h = g;
  auto log = optimize(h, OptLevel::none);
  EXPECT_TRUE(log.empty());
  EXPECT_TRUE(h == g);
}

TEST(Pipeline, VerifiesAfterEveryPassAndNamesTheCulprit) {
  Graph g = mlp();
  Pass breaker{"breaker", [](Graph& h, const PassOptions&) {
                 h.set_type(h.nodes().back().output, ValueType{DType::f32, {3}});
                 return true;
               }};
  PassOptions opt;
  opt.verify_each = true;
  try {
    run_passes(g, {Pass{"dce", dead_code_elimination}, breaker}, opt);
    ADD_FAILURE();
  } catch (const InternalError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("pass 'breaker' left an invalid graph 'mlp'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("declared f32[3]"), std::string::npos) << msg;
  }
}

TEST(Pipeline, MlpSameOutputsFewerNodes) {
  for (OptLevel level : {OptLevel::basic, OptLevel::full}) {
    Graph g = mlp();
    Graph h = g;
    PassOptions opt;
    opt.verify_each = true;
    auto log = optimize(h, level, opt);
    ASSERT_FALSE(log.empty());
    EXPECT_TRUE(log.front().changed);  // the dead exp goes first
    // Inputs/params stay; the duplicate projection, x*1, the transpose pair and the folded 0.25*2 go.
    EXPECT_EQ(h.inputs().size(), 1u);
    EXPECT_EQ(h.params().size(), 4u);
    EXPECT_LT(h.nodes().size(), g.nodes().size() - 8) << to_text(h);
    ASSERT_EQ(h.outputs().size(), 1u);
    EXPECT_EQ(h.outputs()[0].name, "y");
    EXPECT_EQ(h.info(h.outputs()[0].value).name, "y");
    pass_test::expect_same_outputs(g, h, 1e-5, 1e-5);
    // Running the pipeline again finds nothing more to do.
    Graph again = h;
    for (const PassRecord& r : optimize(again, level, opt)) EXPECT_FALSE(r.changed) << r.name;
  }
}

TEST(Pipeline, AttentionSameOutputs) {
  Graph g = attention();
  for (bool split : {false, true}) {
    Graph h = g;
    PassOptions opt;
    opt.verify_each = true;
    opt.split_einsums = split;
    optimize(h, OptLevel::full, opt);
    // q and k merge into the score einsum; v and wo merge with the output einsum.
    size_t einsums = 0, max_operands = 0;
    for (const Node& n : h.nodes())
      if (n.kind == OpKind::einsum) {
        ++einsums;
        max_operands = std::max(max_operands, n.inputs.size());
      }
    if (split) {
      EXPECT_EQ(max_operands, 2u) << to_text(h);
    } else {
      EXPECT_EQ(einsums, 2u) << to_text(h);
      EXPECT_EQ(max_operands, 4u) << to_text(h);
    }
    pass_test::expect_same_outputs(g, h, 1e-4, 1e-4);
  }
}

TEST(Pipeline, EveryOpGraphSameOutputs) {
  // Every op family, awkward constants (NaN payloads, infinities, -0.0, subnormals) and an integer gather.
  Graph g = tl::test_graphs::every_op_graph();
  for (OptLevel level : {OptLevel::basic, OptLevel::full}) {
    Graph h = g;
    PassOptions opt;
    opt.verify_each = true;
    optimize(h, level, opt);
    EXPECT_EQ(h.inputs().size(), g.inputs().size());
    EXPECT_EQ(h.params().size(), g.params().size());
    pass_test::expect_same_outputs(g, h, 1e-5, 1e-5);
  }
}

TEST(Pipeline, OutputsThatAreInputsOrRepeated) {
  // An input returned as an output, one value returned under two names, an unused param: all survive.
  const char* before = R"(graph g {
  input %x: f32[3]
  param %p: f32[3]
  %one: f32[] = constant() {values=[1.0]}
  %a: f32[3] = mul(%x, %one)
  %b: f32[3] = mul(%x, %one)
  %c: f32[3] = add(%a, %b)
  output %x
  output %c
  output %c as again
}
)";
  const char* want = R"(graph g {
  input %x: f32[3]
  param %p: f32[3]
  %c: f32[3] = add(%x, %x)
  output %x
  output %c
  output %c as again
}
)";
  Graph g = parse_graph_text(before);
  Graph orig = g;
  PassOptions opt;
  opt.verify_each = true;
  optimize(g, OptLevel::full, opt);
  EXPECT_EQ(to_text(g), want);
  pass_test::expect_same_outputs(orig, g, 0, 0);
}

TEST(Pipeline, InvalidGraphsAreRefusedWithTypedErrors) {
  // A declared type that disagrees with the op: run_passes verifies first and names the node.
  Graph bad = parse_graph_text("graph g {\n  input %x: f32[2]\n  %y: f32[3] = exp(%x)\n  output %y\n}\n");
  try {
    optimize(bad, OptLevel::basic);
    ADD_FAILURE();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("node 1 (exp): output %y is declared f32[3] but inferred f32[2]"),
              std::string::npos) << e.what();
  }
  // A raw node whose input handle is outside the graph: every pass refuses it instead of reading past the end.
  Graph raw("raw");
  Value x = raw.add_value("x", ValueType{DType::f32, {2}});
  raw.add_node(Node{OpKind::input, InputAttrs{}, {}, x});
  Value y = raw.add_value("y", ValueType{DType::f32, {2}});
  raw.add_node(Node{OpKind::unary, UnaryAttrs{UnaryOp::exp}, {Value{7}}, y});
  raw.add_output(GraphOutput{y, "y"});
  for (const Pass& p : pipeline_passes(OptLevel::full)) {
    Graph h = raw;
    try {
      p.run(h, PassOptions{});
      ADD_FAILURE() << p.name;
    } catch (const ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("node 1 input 0 refers to value id 7, expected an id below 2"),
                std::string::npos) << p.name << ": " << e.what();
    }
  }
}

TEST(Pipeline, FullIsAFixpointInText) {
  // Running the full pipeline again re-merges the split einsums and splits them the same way, under the same
  // names: the printed graph does not change.
  for (Graph g : {pass_models::attention(), pass_models::mlp(), tl::test_graphs::every_op_graph()}) {
    optimize(g, OptLevel::full);
    std::string once = to_text(g);
    optimize(g, OptLevel::full);
    EXPECT_EQ(to_text(g), once);
  }
}
