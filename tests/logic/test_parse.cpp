// Parser and checker: what parses, and errors that name file:line:col, the offending token, the expected and
// the actual, all reported before anything runs.
#include <gtest/gtest.h>

#include "logic_test_util.h"
#include "tl/logic.h"

using tl::logic::Program;
using tl_logic_test::expect_error;

namespace {

TEST(LogicParse, EquationsDeclarationsAndRules) {
  Program p = Program::parse(
      "dim N = 3  # comment\n"
      "input X[N, 2]\n"
      "param W[2, N]\n"
      "\n"
      "Y[i, k] = W[j, k] *   // a trailing operator continues the equation on the next line\n"
      "  X[i, j]\n"
      "Z[i, k.] = softmax(Y[i, k] *\n"
      "   2)\n"
      "Edge(a, b).\n"
      "Path(x, y) :- Edge(x, y).\n"
      "Path(x, z) :- Path(x, y),\n"
      "              Edge(y, z).\n"
      "Path(x, y)?\n",
      "t.tl");
  EXPECT_TRUE(p.has_equations());
  EXPECT_TRUE(p.has_rules_or_facts());
  const auto& g = p.graph();
  ASSERT_EQ(g.outputs().size(), 2u);
  EXPECT_EQ(g.outputs()[0].name, "Y");
  EXPECT_EQ(g.shape(g.outputs()[0].value), (tl::Shape{3, 3}));
  EXPECT_EQ(p.queries(), std::vector<std::string>{"Path"});
  EXPECT_EQ(p.relation_names(), (std::vector<std::string>{"Edge", "Path"}));
}

TEST(LogicParse, ProductIsOneEinsum) {
  // Three factors joined on shared indices become one three-operand einsum (the planner picks the order).
  Program p = Program::parse("input A[2,3]\ninput B[3,4]\ninput C[4,5]\nY[i,l] = A[i,j] B[j,k] C[k,l]\n");
  int einsums = 0;
  for (const auto& n : p.graph().nodes())
    if (n.kind == tl::OpKind::einsum) {
      ++einsums;
      EXPECT_EQ(std::get<tl::EinsumAttrs>(n.attrs).spec, "ab,bc,cd->ad");
    }
  EXPECT_EQ(einsums, 1);
}

struct ErrCase {
  std::string text;
  std::vector<std::string> parts;
};

TEST(LogicParse, ParseErrorsPointAtLineColumnAndToken) {
  const ErrCase cases[] = {
      {"input X[2]\nY[i] = X[i] +\n", {"p.tl:3:1:", "expected a tensor", "end of input"}},
      {"Y[i] = X[i] $ 2\n", {"p.tl:1:13:", "unexpected character", "near '$'"}},
      {"dim D = 2.5\n", {"p.tl:1:9:", "integer", "near '2.5'"}},
      {"input X[3]\nY[i = X[i]\n", {"p.tl:2:5:", "expected ']'", "near '='"}},
      {"Parent(alice, bob)\nX(a).\n", {"p.tl:1:19:", "expected '.', ':-' or '?'", "near 'end of line'"}},
      {"P(x) :- Q(x) R(x).\n", {"p.tl:1:14:", "expected '.'", "near 'R'"}},
      {"input X[3]\nY[i] = X[i+j]\n", {"p.tl:2:12:", "expected an integer index offset", "near 'j'"}},
      {"input X[3]\nY[i+1] = X[i]\n", {"p.tl:2:4:", "expected ']'", "near '+'"}},
      {"P(\"abc).\n", {"p.tl:1:3:", "unterminated string"}},
      {"Y[i.,j.] = X[i,j]\n", {"p.tl:1:6:", "only one index", "near 'j'"}},
      {"input X[3]\nY[i] = " + std::string(300, '(') + "X[i]" + std::string(300, ')') + "\n",
       {"p.tl:2:", "nested too deeply"}},
      {"input X[3]\nY[i] = " + std::string(300, '-') + "X[i]\n", {"p.tl:2:", "nested too deeply"}},
      {"42\n", {"p.tl:1:1:", "expected a declaration", "near '42'"}},
      {"Y = 3\n", {"p.tl:1:3:", "expected '['", "near '='"}},
      {"input X[3]\nY[i] -= X[i]\n", {"p.tl:2:6:", "expected '=', '+='", "near '-'"}},
      // An unclosed bracket at the end of a line points at the end of that line, not the next line's start.
      {"input X[2\n", {"p.tl:1:10:", "unclosed bracket", "expected ']'", "near '2'"}},
      {"input X[2, 3\nY[i, j] = X[i, j]\n", {"p.tl:1:13:", "unclosed bracket", "near '3'"}},
      {"input X[3]\nY[i] = exp(X[i]\n", {"p.tl:2:16:", "unclosed bracket", "expected ')'"}},
      {"input X[3]\nY[i] = X[i\n", {"p.tl:2:11:", "unclosed bracket"}},
      {"P(a, \"b\"\n", {"p.tl:1:9:", "unclosed bracket", "expected ')'"}},
      {"dim D = \n", {"p.tl:1:8:", "expected an integer", "end of line"}},
      // Slices, const and Souffle directives.
      {"input X[3]\nY[i] = X[i=1]\n", {"p.tl:2:13:", "expected ':' in the slice of index 'i'"}},
      {"input X[3]\nY[i] = X[i=::0]\n", {"p.tl:2:", "slice step must be positive"}},
      {"input X[3]\nY[i] = X[i=::-1]\n", {"p.tl:2:", "slice step must be positive"}},
      {"input X[3]\nY[i] = X[i=:-x]\n", {"p.tl:2:", "expected a number after '-'"}},
      {"const T = x\n", {"p.tl:1:11:", "expected number", "near 'x'"}},
      {".decl E(x: symbol, y: float)\n", {"p.tl:1:23:", "unknown column type 'float'"}},
      {".decl E(x symbol)\n", {"p.tl:1:11:", "expected ':'"}},
      {".include E\n", {"p.tl:1:2:", "expected 'decl', 'input' or 'output'"}},
      {".output\n", {"p.tl:1:8:", "expected identifier"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    expect_error<tl::ParseError>([&] { Program::parse(c.text, "p.tl"); }, c.parts);
  }
}

TEST(LogicParse, SemanticErrorsBeforeRunning) {
  const ErrCase value_cases[] = {
      {"input X[3]\nY[i] = X[i] Z[i]\n", {"p.tl:2:13:", "undefined tensor 'Z'"}},
      {"input X[N]\n", {"p.tl:1:9:", "undefined dimension 'N'"}},
      {"input X[3]\nY[i] = X[i] / Dk\n", {"p.tl:2:15:", "undefined name 'Dk'"}},
      {"input X[3]\nY[i] = foo(X[i])\n", {"p.tl:2:8:", "unknown function 'foo'"}},
      {"input X[3]\nY[i] = softmax(X[i])\n", {"softmax needs a normalised index", "Y[p, q.]"}},
      {"input X[3]\nX[i] = X[i]\n", {"cannot assign to 'X'"}},
      {"input X[3]\nY[i, i] = X[i]\n", {"index 'i' repeated"}},
      {"input X[3]\nY[i] = max(X[i])\n", {"'max' takes 2 arguments, got 1"}},
      {"P(a, b).\nQ(x) :- P(x).\n",
       {"p.tl:2:9:", "relation 'P' used with 1 arguments here but 2 at line 1:1"}},
      {"P(a).\nQ(x, y) :- P(x).\n", {"p.tl:2:6:", "unsafe rule", "variable 'y'"}},
      {"P(a).\nQ(x) :- P(x), !R(y).\n", {"unsafe rule", "'y'", "negated atom"}},
      {"P(a).\nQ(x) :- P(x), x != z.\n", {"unsafe rule", "'z'", "comparison"}},
      {"P(a).\nR(x)?\n", {"p.tl:2:1:", "query of undefined relation 'R'"}},
      {"P(a).\nQ(x) :- P(x), !R(x).\nR(x) :- P(x), Q(x).\n",
       {"non-stratifiable negation", "'Q' depends negatively on 'R'", "Q <- !R <- Q"}},
      {"P(a).\nWin(x) :- P(x), !Win(x).\n", {"non-stratifiable", "Win <- !Win"}},
  };
  for (const auto& c : value_cases) {
    SCOPED_TRACE(c.text);
    expect_error<tl::ValueError>([&] { Program::parse(c.text, "p.tl"); }, c.parts);
  }
  const ErrCase shape_cases[] = {
      {"input W[2,3]\ninput X[4,5]\nY[i,k] = W[i,j] X[j,k]\n",
       {"p.tl:3:19:", "index 'j' has size 3 from W dim 1 but size 4 from X dim 0"}},
      {"input X[3,4]\nY[i] = X[i]\n", {"p.tl:2:8:", "'X' has 2 dims [3, 4] but is indexed with 1"}},
      {"input X[3]\nY[i, k] = X[i]\n", {"index 'k' of 'Y' does not appear on the right-hand side"}},
      {"input X[5]\ninput Z[3]\nY[i] = X[i=1:] Z[i]\n",
       {"p.tl:3:18:", "index 'i' has size 4 from X dim 0 (sliced) but size 3 from Z dim 0"}},
      {"input X[5]\nY[i] = X[i=4:2]\n",
       {"p.tl:2:10:", "slice of index 'i' selects nothing from X dim 0 of size 5"}},
      {"input X[3]\ninput Z[4]\nY[i] = X[i]\nY[i] += Z[i]\n",
       {"p.tl:4:1:", "'Y' has shape [4] here but [3]"}},
      {"input X[3,3]\nY[i,j.] = softmax(X[i,k]) + X[i,j]\n", {"softmax normalises index 'j'"}},
  };
  for (const auto& c : shape_cases) {
    SCOPED_TRACE(c.text);
    expect_error<tl::ShapeError>([&] { Program::parse(c.text, "p.tl"); }, c.parts);
  }
}

TEST(LogicParse, LoadMissingFile) {
  expect_error<tl::IoError>([] { Program::load("/nonexistent/prog.tl"); },
                            {"cannot read", "/nonexistent/prog.tl"});
}

TEST(LogicTsv, ParseFormatAndErrors) {
  auto t = tl::logic::parse_tsv("a\tb\n\nc\td\r\n");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[1], (tl::logic::Tuple{"c", "d"}));
  EXPECT_EQ(tl::logic::format_tsv(t), "a\tb\nc\td\n");
  expect_error<tl::ParseError>([] { tl::logic::parse_tsv("a\tb\nc\n", "f.tsv"); },
                               {"f.tsv:2:", "expected 2 tab-separated columns, got 1"});
  expect_error<tl::ParseError>([] { tl::logic::parse_tsv("a\t\n", "f.tsv"); },
                               {"f.tsv:1:", "empty symbol in column 2"});
  // Found by fuzz_tsv (tests/fuzz/tsv/): a symbol ending in "\r\r" lost one '\r' per write/read round trip.
  expect_error<tl::ParseError>([] { tl::logic::parse_tsv("a\tb\nc\td\r\r\n", "f.tsv"); },
                               {"f.tsv:2:", "control character 0x0d", "column 2"});
  expect_error<tl::IoError>([] { tl::logic::read_tsv("/nonexistent.tsv"); }, {"/nonexistent.tsv"});
}

}  // namespace
