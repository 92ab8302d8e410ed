// Souffle-style declarations (.decl with typed columns, .input, .output) and the fixpoint round cap.
#include <gtest/gtest.h>

#include "logic_test_util.h"
#include "tl/logic.h"

using tl::logic::Program;
using tl::logic::Tuple;
using tl_logic_test::expect_error;

namespace {

TEST(Declarations, DeclaredProgramRunsAndListsInputsOutputs) {
  Program p = Program::load(tl_logic_test::example("paths.tl"));
  EXPECT_EQ(p.input_relations(), std::vector<std::string>{"Edge"});
  EXPECT_EQ(p.output_relations(), (std::vector<std::string>{"Path", "Hops"}));
  p.add_facts("Edge", tl::logic::read_tsv(tl_logic_test::example("facts/Edge.tsv")));
  auto db = p.evaluate();
  // a->b->c->d->b (cycle b,c,d) and e->a: brute force by hand.
  std::vector<Tuple> path = {{"a", "b"}, {"a", "c"}, {"a", "d"}, {"b", "b"}, {"b", "c"}, {"b", "d"},
                             {"c", "b"}, {"c", "c"}, {"c", "d"}, {"d", "b"}, {"d", "c"}, {"d", "d"},
                             {"e", "a"}, {"e", "b"}, {"e", "c"}, {"e", "d"}};
  EXPECT_EQ(db.tuples("Path"), path);
  EXPECT_EQ(db.tuples("Hops"),
            (std::vector<Tuple>{{"a", "3"}, {"b", "3"}, {"c", "3"}, {"d", "3"}, {"e", "4"}}));
}

TEST(Declarations, DeclaredButUnderivedRelationExists) {
  Program p = Program::parse(".decl A(x: symbol)\n.decl B(x: symbol)\n.output B\nA(k).\nB(x)?\n");
  auto db = p.evaluate();
  EXPECT_TRUE(db.tuples("B").empty());
  EXPECT_TRUE(p.answer(db, 0).empty());
}

TEST(Declarations, NumberColumns) {
  Program p = Program::parse(
      ".decl Age(p: symbol, a: number)\n.decl Old(p: symbol)\n.decl Total(n: number)\n"
      "Age(ann, 70).\nAge(bob, 30).\nOld(p) :- Age(p, a), a != 30.\n"
      "Total(n) :- Age(\"ann\", a), n = sum v : { Age(q, v) }.\n");
  p.add_facts("Age", {{"cy", "-5"}});
  auto db = p.evaluate();
  EXPECT_EQ(db.tuples("Old"), (std::vector<Tuple>{{"ann"}, {"cy"}}));
  EXPECT_EQ(db.tuples("Total"), (std::vector<Tuple>{{"95"}}));
}

struct ErrCase {
  std::string text;
  std::vector<std::string> parts;
};

TEST(Declarations, ErrorsNameRelationColumnAndTypes) {
  const std::string decls = ".decl E(x: symbol, y: symbol)\n.decl W(x: symbol, w: number)\n";
  const ErrCase cases[] = {
      {decls + "E(a, b).\nP(x, y) :- E(x, y).\n", {"p.tl:4:1:", "relation 'P' is not declared", ".decl P"}},
      {decls + "E(a, b, c).\n",
       {"p.tl:3:1:", "relation 'E' used with 3 arguments but declared with 2 at line 1"}},
      {decls + "W(a, b).\n", {"p.tl:3:6:", "fact W: column 2 ('w') is a number but got 'b'"}},
      {decls + "W(a, 1.5).\n", {"is a number but got '1.5'"}},
      {decls + ".decl F(x: symbol, y: number)\nF(x, y) :- E(x, y).\n",
       {"p.tl:4:", "type mismatch: variable 'y' is a symbol in E column 2 ('y') but a number in F column 2"}},
      {decls + ".decl F(x: symbol)\nF(x) :- W(x, w), w != \"abc\".\n",
       {"a comparison with 'w' is a number but got the constant 'abc'"}},
      {decls + ".decl F(x: symbol, n: symbol)\nF(x, n) :- E(x, y), n = count : { E(x, z) }.\n",
       {"variable 'n' is a number in the result of count but a symbol in F column 2"}},
      {decls + ".decl F(x: symbol, n: number)\nF(x, n) :- E(x, y), n = sum z : { E(x, z) }.\n",
       {"variable 'z' is a symbol in E column 2 ('y') but a number in the target of sum"}},
      {decls + ".decl E(a: symbol)\n", {"p.tl:3:1:", "relation 'E' declared twice (first at line 1)"}},
      {decls + ".input Q\n", {"p.tl:3:8:", "'.input Q': relation 'Q' is not declared"}},
      {".output Q\nQ(a).\n", {"'.output Q': relation 'Q' is not declared"}},
      {decls + "E(a, b).\nQ(x)?\n", {"relation 'Q'"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    expect_error<tl::ValueError>([&] { Program::parse(c.text, "p.tl"); }, c.parts);
  }
  Program p = Program::parse(decls + "E(a, b).\n", "p.tl");
  expect_error<tl::ValueError>([&] { p.add_facts("Z", {{"a"}}); },
                               {"facts for relation 'Z', which the program does not declare"});
  expect_error<tl::ValueError>(
      [&] {
        p.add_facts("W", {{"a", "1"}, {"b", "x1"}});
      },
      {"relation 'W', tuple 2: column 2 ('w') is a number but got 'x1'"});
  expect_error<tl::ValueError>([&] { p.add_facts("E", {{"a"}}); }, {"1 columns but it is declared with 2"});
}

TEST(Declarations, RoundCapStopsWithAClearError) {
  // A 40-node chain needs ~40 rounds; a cap of 5 stops it with a message naming the cap and the stratum.
  std::string text = "Path(x, y) :- Edge(x, y).\nPath(x, z) :- Path(x, y), Edge(y, z).\n";
  for (int i = 0; i < 40; ++i) text += "Edge(n" + std::to_string(i) + ", n" + std::to_string(i + 1) + ").\n";
  Program p = Program::parse(text);
  expect_error<tl::ValueError>([&] { p.evaluate(5); }, {"fixpoint not reached after 5 rounds", "'Path'"});
  EXPECT_EQ(p.evaluate().tuples("Path").size(), 41u * 40u / 2u);
}

}  // namespace
