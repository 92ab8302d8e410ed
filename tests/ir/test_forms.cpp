// Text and JSON forms round-trip exactly (constants bit-exact); parse errors carry line:column and the token;
// DOT export names every node.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <random>

#include "every_op_graph.h"
#include "tl/graph.h"
#include "tl/json.h"

using namespace tl;

namespace {
std::string parse_text_error(const std::string& text) {
  try {
    parse_graph_text(text, "g.tlg");
  } catch (const ParseError& e) {
    return e.what();
  }
  return "";
}
std::string parse_json_error(const std::string& text) {
  try {
    parse_graph_json(text, "g.json");
  } catch (const ParseError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(TextForm, MatchesTheDocumentedLayout) {
  Graph g("demo");
  Value x = g.input("x", {2, 3});
  Value w = g.param("w", {3, 4});
  Value y = g.einsum("ij,jk->ik", {x, w}, "y");
  Value z = g.unary(UnaryOp::relu, y, "z");
  g.output(z);
  EXPECT_EQ(to_text(g),
            "graph demo {\n"
            "  input %x: f32[2,3]\n"
            "  param %w: f32[3,4]\n"
            "  %y: f32[2,4] = einsum(%x, %w) {spec=\"ij,jk->ik\"}\n"
            "  %z: f32[2,4] = relu(%y)\n"
            "  output %z\n"
            "}\n");
}

TEST(TextForm, EveryOpRoundTripsExactly) {
  Graph g = test_graphs::every_op_graph();
  std::string text = to_text(g);
  Graph back = parse_graph_text(text);
  EXPECT_TRUE(back == g);
  EXPECT_EQ(to_text(back), text);
  EXPECT_NO_THROW(verify(back));
}

TEST(JsonForm, EveryOpRoundTripsExactlyAndThroughText) {
  Graph g = test_graphs::every_op_graph();
  std::string js = to_json(g);
  Graph back = parse_graph_json(js);
  EXPECT_TRUE(back == g);
  EXPECT_EQ(to_json(back), js);
  // text -> JSON -> text is the identity on the text.
  std::string text = to_text(g);
  EXPECT_EQ(to_text(parse_graph_json(to_json(parse_graph_text(text)))), text);
  // The JSON is a plain document other tools can read.
  json::Value root = json::parse(js);
  EXPECT_EQ(root.find("graph")->as_string(), "every_op");
  EXPECT_EQ(root.find("inputs")->as_array().size(), 2u);
  EXPECT_EQ(root.find("params")->as_array().size(), 3u);
  EXPECT_EQ(root.find("nodes")->as_array().size(), g.nodes().size());
  const json::Value& n0 = root.find("nodes")->as_array()[0];
  EXPECT_EQ(n0.find("op")->as_string(), "input");
}

TEST(Forms, ConstantsAreBitExact) {
  // Each awkward value, in each float dtype, plus ints and bools, through both forms.
  Graph g("consts");
  std::vector<Tensor> ts = {test_graphs::awkward_floats(), test_graphs::nonfinite_floats(),
                            test_graphs::awkward_floats().to(DType::f16), test_graphs::awkward_floats().to(DType::bf16),
                            test_graphs::nonfinite_floats().to(DType::bf16), Tensor::zeros({0, 3}),
                            Tensor::from_vector<int64_t>({2}, {INT64_MIN, INT64_MAX}), Tensor::full({}, -0.0)};
  for (const Tensor& t : ts) g.output(g.constant(t));
  for (int form = 0; form < 2; ++form) {
    Graph back = form == 0 ? parse_graph_text(to_text(g)) : parse_graph_json(to_json(g));
    ASSERT_EQ(back.nodes().size(), ts.size());
    for (size_t i = 0; i < ts.size(); ++i) {
      const Tensor& a = std::get<ConstantAttrs>(back.nodes()[i].attrs).value;
      ASSERT_EQ(a.shape(), ts[i].shape());
      ASSERT_EQ(a.dtype(), ts[i].dtype());
      EXPECT_EQ(std::memcmp(a.raw_data(), ts[i].raw_data(), a.nbytes()), 0) << "constant " << i << " form " << form;
    }
    EXPECT_TRUE(back == g);
  }
  // The readable list form keeps -0.0 and 0.1 as written.
  std::string text = to_text(g);
  EXPECT_NE(text.find("values=[0.1,-0.0,1e-38,1e-45,3.4028235e+38,0.33333334,1e-05,7.0]"), std::string::npos) << text;
  EXPECT_NE(text.find("4523c17f"), std::string::npos) << "NaN payload 0x7fc12345 in hex";
}

TEST(TextForm, AcceptsCommentsBlankLinesAndQuotedNames) {
  std::string text =
      "# a comment\n"
      "graph \"my graph\" {\n"
      "\n"
      "  input %x: f32[2]   # trailing comment\n"
      "  %y: f32[1] = reduce_sum(%x) {\n"
      "      axes=[], keepdims=true} \n"
      "  %z: f32[] = reshape(%y) {shape=[]}\n"
      "  output %z as \"the result\"\n"
      "}\n";
  Graph g = parse_graph_text(text);
  EXPECT_NO_THROW(verify(g));
  EXPECT_EQ(g.name(), "my graph");
  EXPECT_EQ(g.outputs()[0].name, "the result");
  EXPECT_EQ(to_text(parse_graph_text(to_text(g))), to_text(g));
}

TEST(TextForm, ParseErrorsGiveLineColumnAndToken) {
  struct Case {
    std::string text;
    const char* words;
  } cases[] = {
      {"", "g.tlg:1:1: expected 'graph', found end of input"},
      {"grph g {}", "g.tlg:1:1: expected 'graph', found 'grph'"},
      {"graph g {\n  input %x: f33[2]\n}", "g.tlg:2:13: unknown dtype (expected f32, f16, bf16, i32, i64 or bool), found 'f33'"},
      {"graph g {\n  input %x: f32[2,-1]\n}", "2:19: expected a non-negative dimension, found '-'"},
      {"graph g {\n  input %x f32[2]\n}", "2:12: expected ':', found 'f32'"},
      {"graph g {\n  input x: f32[2]\n}", "2:9: expected a value name starting with '%', found 'x'"},
      {"graph g {\n  %y: f32[2] = frob(%x)\n}", "2:16: unknown op 'frob', found 'frob'"},
      {"graph g {\n  %y: f32[2] = relu(%x\n}", "2:23: expected ')', found end of line"},
      {"graph g {\n  %y: f32[2] = relu(%x) {bogus=1}\n}", "2:25: [relu] unknown attribute 'bogus'"},
      {"graph g {\n  %y: f32[2] = softmax(%x) {axis=\"a\"}\n}", "2:28: [softmax] attribute 'axis' must be an integer, got \"a\""},
      {"graph g {\n  %y: f32[2] = softmax(%x)\n}", "[softmax] missing attribute 'axis'"},
      {"graph g {\n  %y: f32[2] = softmax(%x) {axis=1, axis=1}\n}", "2:37: attribute 'axis' is given twice"},
      {"graph g {\n  %y: f32[2] = softmax(%x) {axis=1 x}\n}", "2:36: expected ',' or '}' in the attribute list, found 'x'"},
      {"graph g {\n  %y: f32[2] = einsum(%x) {spec=\"ij}\n}", "[json] 2:37: unescaped control character byte 0x0a in string"},
      {"graph g {\n  %c: f32[2] = constant() {values=[1]}\n}", "2:27: [constant] attribute 'values' has 1 entries, expected 2 for f32[2]"},
      {"graph g {\n  %c: i32[1] = constant() {values=[1.5]}\n}", "[constant] attribute 'values' must be an array of 32-bit integers, got 1.5"},
      {"graph g {\n  %c: f32[1] = constant() {hex=\"zz000000\"}\n}", "contains 'z', expected a hex digit"},
      {"graph g {\n  %c: f32[1] = constant() {}\n}", "needs exactly one of the attributes 'values' or 'hex'"},
      {"graph g {\n  %c: f32[1] = cast(%x) {to=\"f64\"}\n}", "[cast] attribute 'to' = \"f64\" is not a dtype"},
      {"graph g {\n  input %x: f32[2]\n", "3:1: unexpected end of input: missing '}' closing the graph"},
      {"graph g {\n  output %x extra\n}", "2:13: expected the end of the line, found 'extra'"},
      {"graph g {\n  banana\n}", "2:3: expected 'input', 'param', 'output', a node"},
      {"graph g {\n}\nmore", "3:1: unexpected text after the closing '}', found 'more'"},
      {"graph g {\n  %y: f32[2] = input()\n}", "'input' is a statement"},
  };
  for (const Case& c : cases) {
    std::string msg = parse_text_error(c.text);
    EXPECT_NE(msg.find(c.words), std::string::npos) << "input:\n" << c.text << "\nmessage: " << msg;
  }
}

TEST(JsonForm, StructuralErrorsNameThePath) {
  Graph g("j");
  g.output(g.unary(UnaryOp::exp, g.input("x", {2}), "y"));
  std::string good = to_json(g);
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    size_t p = s.find(from);
    EXPECT_NE(p, std::string::npos) << from;
    return p == std::string::npos ? s : s.replace(p, from.size(), to);
  };
  struct Case {
    std::string text;
    const char* words;
  } cases[] = {
      {"[]", "g.json: (root): expected an object, got array"},
      {"{\"graph\": 1}", "(root).graph: expected string, got integer"},
      {"{\"graph\": \"g\"}", "(root): missing key \"values\""},
      {with("\"graph\"", "\"grap\""), "(root): unknown key \"grap\""},
      {with("\"dtype\": \"f32\"", "\"dtype\": \"q8\""), "values[0].dtype: unknown dtype \"q8\""},
      {with("\"op\": \"exp\"", "\"op\": \"expp\""), "nodes[1].op: unknown op \"expp\""},
      {with("\"inputs\": [\"x\"],\n   \"outputs\"", "\"inputs\": [\"q\"],\n   \"outputs\""), "nodes[1].inputs[0]: \"q\" is not in \"values\""},
      {with("\"outputs\": [\"y\"]", "\"outputs\": []"), "nodes[1].outputs: expected exactly 1 output, got 0"},
      {with("\"inputs\": [\"x\"],\n \"params\"", "\"inputs\": [],\n \"params\""), "inputs: does not match the inputs declared by the nodes"},
      {with("\"attrs\": {}\n  }\n ]", "\"attrs\": {\"z\": 1}\n  }\n ]"), "nodes[1].attrs: [exp] unknown attribute 'z'"},
      {"{\"graph\": \"g\",", "g.json: [json] 1:15: expected a string key, found end of input"},
  };
  for (const Case& c : cases) {
    std::string msg = parse_json_error(c.text);
    EXPECT_NE(msg.find(c.words), std::string::npos) << "input:\n" << c.text << "\nmessage: " << msg;
  }
}

TEST(Dot, ContainsEveryNodeAndEdge) {
  Graph g = test_graphs::every_op_graph();
  std::string dot = to_dot(g);
  EXPECT_EQ(dot.rfind("digraph \"every_op\" {", 0), 0u);
  for (size_t i = 0; i < g.nodes().size(); ++i)
    EXPECT_NE(dot.find("  n" + std::to_string(i) + " [label=\""), std::string::npos) << i;
  EXPECT_NE(dot.find("einsum\\nspec=\\\"bsd,dh->bsh\\\"\\n%h: f32[2,3,5]"), std::string::npos) << dot.substr(0, 2000);
  EXPECT_NE(dot.find("n0 -> n"), std::string::npos);
  EXPECT_NE(dot.find("[label=\"output r4_out\""), std::string::npos);
  EXPECT_EQ(dot.back(), '\n');
}

TEST(LoadGraph, PicksTheFormAndVerifies) {
  Graph g = test_graphs::every_op_graph();
  std::string dir = ::testing::TempDir();
  std::string tp = dir + "/tl_ir_graph.tlg", jp = dir + "/tl_ir_graph.json", bp = dir + "/tl_ir_bad.tlg";
  std::ofstream(tp) << to_text(g);
  std::ofstream(jp) << to_json(g);
  std::ofstream(bp) << "graph bad {\n  input %x: f32[2]\n  %y: f32[3] = exp(%x)\n  output %y\n}\n";
  EXPECT_TRUE(load_graph(tp) == g);
  EXPECT_TRUE(load_graph(jp) == g);
  try {
    load_graph(bp);
    ADD_FAILURE();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("node 1 (exp): output %y is declared f32[3] but inferred f32[2]"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(load_graph(dir + "/does_not_exist.tlg"), IoError);
  std::remove(tp.c_str());
  std::remove(jp.c_str());
  std::remove(bp.c_str());
}

TEST(Forms, HostileTextAndJsonNeverCrash) {
  // Truncations and byte mutations of valid documents: each either parses (then verify() passes or throws
  // ValueError) or throws ParseError. Run under ASan/UBSan to catch reads past the buffer.
  Graph g = test_graphs::every_op_graph();
  std::string docs[] = {to_text(g), to_json(g)};
  std::mt19937 rng(3);
  const char junk[] = {'%', '{', '}', '[', ']', '"', ',', '=', ':', '\n', '0', '-', 'x', '\\', '\xff', '#'};
  for (int form = 0; form < 2; ++form) {
    const std::string& doc = docs[form];
    auto attempt = [&](const std::string& text) {
      try {
        Graph h = form == 0 ? parse_graph_text(text) : parse_graph_json(text);
        try {
          verify(h);
        } catch (const ValueError&) {
        }
      } catch (const ParseError&) {
      }
    };
    for (size_t n = 0; n < doc.size(); n += 1 + doc.size() / 300) attempt(doc.substr(0, n));
    for (int i = 0; i < 300; ++i) {
      std::string m = doc;
      for (int k = 0; k < 3; ++k) m[rng() % m.size()] = junk[rng() % sizeof junk];
      attempt(m);
    }
  }
}

TEST(Forms, HugeDeclaredConstantsAreRefusedBeforeAllocating) {
  std::string msg = parse_text_error("graph g {\n  %c: f32[100000000000,1000] = constant() {hex=\"00\"}\n}");
  EXPECT_NE(msg.find("2:43: [constant] attribute 'hex' has 2 hex digits, expected 800000000000000"), std::string::npos) << msg;
  msg = parse_text_error("graph g {\n  %c: f32[4611686018427387904,4] = constant() {values=[]}\n}");
  EXPECT_NE(msg.find("[constant] bad type"), std::string::npos) << msg;
}
