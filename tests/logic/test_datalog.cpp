// Datalog: the shipped examples against the naive Python evaluator's tuples (tests/fixtures/logic/dl_*),
// random graphs against a brute-force transitive closure, semi-naive round counts, stratified negation,
// constants, comparisons and TSV facts.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "logic_test_util.h"
#include "tl/logic.h"

namespace fs = std::filesystem;
using tl::logic::Program;
using tl::logic::Storage;
using tl::logic::Tuple;
using tl_logic_test::example;
using tl_logic_test::expect_error;
using tl_logic_test::fixture;

namespace {

// "n" + std::to_string(i) without tripping gcc 12's -Wrestrict false positive.
std::string sym(const char* prefix, int i) {
  std::string s = prefix;
  s += std::to_string(i);
  return s;
}

struct ExampleCase {
  const char* fixture_dir;
  std::string program;
  std::vector<std::pair<std::string, std::string>> facts;  // relation, TSV path
};

class DatalogExample : public ::testing::TestWithParam<ExampleCase> {};

TEST_P(DatalogExample, MatchesPythonReference) {
  const auto& c = GetParam();
  Program p = Program::load(c.program);
  for (const auto& [rel, path] : c.facts) p.add_facts(rel, tl::logic::read_tsv(path));
  // Dense and sparse relations (and the planner's pick) give the reference tuples in the same rounds.
  int rounds = -1;
  for (auto storage : {Storage::automatic, Storage::dense, Storage::sparse}) {
    SCOPED_TRACE(int(storage));
    tl::logic::Database db = p.evaluate(1000000, storage);
    int files = 0;
    for (const auto& e : fs::directory_iterator(fixture(c.fixture_dir))) {
      std::string rel = e.path().stem().string();
      SCOPED_TRACE(rel);
      EXPECT_EQ(db.tuples(rel), tl::logic::read_tsv(e.path().string()));
      ++files;
    }
    EXPECT_GT(files, 0);
    if (rounds >= 0) {
      EXPECT_EQ(db.rounds, rounds);
    }
    rounds = db.rounds;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Examples, DatalogExample,
    ::testing::Values(
        ExampleCase{"dl_ancestors", example("ancestors.tl"), {}},
        ExampleCase{"dl_aunt", example("aunt.tl"), {}},
        ExampleCase{"dl_same_generation", example("same_generation.tl"), {}},
        ExampleCase{"dl_unreachable", example("unreachable.tl"), {}},
        ExampleCase{"dl_family_stats", example("family_stats.tl"), {}},
        ExampleCase{"dl_unreachable_tsv", example("unreachable.tl"), {{"Edge", example("edges.tsv")}}},
        ExampleCase{"dl_closure", fixture("closure.tl"), {{"Edge", fixture("random_edges.tsv")}}}),
    [](const auto& info) { return std::string(info.param.fixture_dir).substr(3); });

// Brute force: Warshall's algorithm on a dense boolean matrix.
std::vector<Tuple> closure_brute_force(int n, const std::vector<std::pair<int, int>>& edges) {
  std::vector<std::vector<bool>> r(size_t(n), std::vector<bool>(size_t(n), false));
  for (auto [a, b] : edges) r[size_t(a)][size_t(b)] = true;
  for (int k = 0; k < n; ++k)
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j)
        if (r[size_t(i)][size_t(k)] && r[size_t(k)][size_t(j)]) r[size_t(i)][size_t(j)] = true;
  std::vector<Tuple> out;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      if (r[size_t(i)][size_t(j)]) out.push_back({sym("n", i), sym("n", j)});
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Datalog, RandomClosureAgainstBruteForce) {
  // Odd sizes, self loops, sparse and dense graphs; left- and right-linear and non-linear recursion.
  const char* programs[] = {
      "Path(x, y) :- Edge(x, y).\nPath(x, z) :- Path(x, y), Edge(y, z).\n",
      "Path(x, y) :- Edge(x, y).\nPath(x, z) :- Edge(x, y), Path(y, z).\n",
      "Path(x, y) :- Edge(x, y).\nPath(x, z) :- Path(x, y), Path(y, z).\n",
  };
  std::mt19937 rng(7);
  for (int n : {1, 2, 5, 13, 31}) {
    for (int m : {0, n / 2 + 1, 2 * n}) {
      std::vector<std::pair<int, int>> edges;
      std::vector<Tuple> facts;
      for (int e = 0; e < m; ++e) {
        int a = int(rng() % unsigned(n)), b = int(rng() % unsigned(n));
        edges.push_back({a, b});
        facts.push_back({sym("n", a), sym("n", b)});
      }
      auto want = closure_brute_force(n, edges);
      for (const char* prog : programs) {
        SCOPED_TRACE(::testing::Message() << prog << " n=" << n << " m=" << m);
        Program p = Program::parse(prog);
        p.add_facts("Edge", facts);
        auto dense = p.evaluate(1000000, Storage::dense), sparse = p.evaluate(1000000, Storage::sparse);
        EXPECT_EQ(dense.tuples("Path"), want);
        EXPECT_EQ(sparse.tuples("Path"), want);
        EXPECT_EQ(sparse.rounds, dense.rounds);
        EXPECT_EQ(sparse.sparse_strata, 1);  // the Path stratum
        EXPECT_EQ(dense.sparse_strata, 0);
      }
    }
  }
}

TEST(Datalog, RepeatedBodyAtomsJoinOnce) {
  // A rule body repeating its atoms 40 times (a mangled fuzz input had ~100) means the same as the plain rule
  // (A and A = A), in both storages, recursive or not; the dense compile joins each distinct atom once.
  std::string body;
  for (int k = 0; k < 40; ++k) body += std::string(k ? ", " : "") + "Path(x, y), Edge(y, z), Edge(y, z)";
  const std::string repeated = "Path(x, y) :- Edge(x, y), Edge(x, y).\nPath(x, z) :- " + body + ".\n";
  const std::string plain = "Path(x, y) :- Edge(x, y).\nPath(x, z) :- Path(x, y), Edge(y, z).\n";
  std::mt19937 rng(5);
  std::vector<std::pair<int, int>> edges;
  std::vector<Tuple> facts;
  for (int e = 0; e < 20; ++e) {
    int a = int(rng() % 11u), b = int(rng() % 11u);
    edges.push_back({a, b});
    facts.push_back({sym("n", a), sym("n", b)});
  }
  const auto want = closure_brute_force(11, edges);
  for (Storage st : {Storage::dense, Storage::sparse}) {
    Program p = Program::parse(repeated), q = Program::parse(plain);
    p.add_facts("Edge", facts);
    q.add_facts("Edge", facts);
    auto got = p.evaluate(1000000, st), ref = q.evaluate(1000000, st);
    EXPECT_EQ(got.tuples("Path"), want);
    EXPECT_EQ(got.rounds, ref.rounds);
  }
}

TEST(Datalog, RuleWithTooManyDistinctAtomsIsRefusedByName) {
  // 18 variables, every ordered pair as an E atom: 306 distinct atoms, past the einsum's 256 operands. The dense
  // compile names the rule; the sparse joins have no such limit.
  std::string body;
  for (char a = 'a'; a <= 'r'; ++a)
    for (char b = 'a'; b <= 'r'; ++b)
      if (a != b) body += std::string(body.empty() ? "" : ", ") + "E(" + a + ", " + b + ")";
  Program p = Program::parse("Big(a) :- " + body + ".\n");
  p.add_facts("E", {{"u", "u"}});
  expect_error<tl::ValueError>([&] { p.evaluate(1000000, Storage::dense); },
                               {"rule for 'Big' joins 306 distinct atoms", "at most 256"});
  EXPECT_EQ(p.evaluate(1000000, Storage::sparse).tuples("Big"), std::vector<Tuple>{{"u"}});  // all bound to u
}

TEST(Datalog, PlannerPicksSparseForSparseBodies) {
  // 300 nodes with ~1.3 out-edges each (0.4% full): sparse; a 20-node domain stays dense. Both paths agree,
  // including negation, comparisons, constants and repeated variables, which the sparse joins handle as
  // filters.
  std::mt19937 rng(11);
  std::vector<Tuple> facts;
  for (int e = 0; e < 400; ++e) facts.push_back({sym("v", int(rng() % 300)), sym("v", int(rng() % 300))});
  const char* prog =
      "Path(x, y) :- Edge(x, y).\nPath(x, z) :- Path(x, y), Edge(y, z).\n"
      "Loop(x) :- Path(x, x).\nFromV0(y) :- Path(\"v0\", y), y != \"v1\".\n"
      "OneWay(x, y) :- Path(x, y), !Path(y, x).\nBack(x) :- Edge(x, y), Edge(y, x), x != y.\n";
  Program p = Program::parse(prog);
  p.add_facts("Edge", facts);
  auto a = p.evaluate(), d = p.evaluate(1000000, Storage::dense);
  EXPECT_GT(a.sparse_strata, 0);
  for (const char* rel : {"Path", "Loop", "FromV0", "OneWay", "Back"})
    EXPECT_EQ(a.tuples(rel), d.tuples(rel)) << rel;
  EXPECT_EQ(a.rounds, d.rounds);
  Program small = Program::parse(prog);
  small.add_facts("Edge", {{"v0", "v1"}, {"v1", "v0"}, {"v1", "v2"}});
  EXPECT_EQ(small.evaluate().sparse_strata, 0);
  EXPECT_EQ(small.evaluate(1000000, Storage::sparse).tuples("OneWay"),
            small.evaluate(1000000, Storage::dense).tuples("OneWay"));
}

TEST(Datalog, SemiNaiveRoundsOnAChain) {
  // A chain of L edges: left-linear closure needs L-1 rounds after the first to discover paths of length L.
  const int L = 12;
  std::vector<Tuple> facts;
  for (int i = 0; i < L; ++i) facts.push_back({sym("c", i), sym("c", i + 1)});
  Program p = Program::parse("Path(x, y) :- Edge(x, y).\nPath(x, z) :- Path(x, y), Edge(y, z).\n");
  p.add_facts("Edge", facts);
  auto db = p.evaluate();
  EXPECT_EQ(db.tuples("Path").size(), size_t(L * (L + 1) / 2));
  EXPECT_EQ(db.rounds, L);
  expect_error<tl::ValueError>([&] { p.evaluate(3); }, {"fixpoint not reached after 3 rounds", "Path"});
}

TEST(Datalog, ConstantsRepeatedVariablesAndQueries) {
  Program p = Program::parse(
      "Edge(a, b).\nEdge(b, c).\nEdge(c, c).\nEdge(\"a\", 7).\n"
      "FromA(y) :- Edge(\"a\", y).\n"
      "Loop(x) :- Edge(x, x).\n"
      "Self(x, x) :- Edge(x, y).\n"
      "Tag(\"k\", x) :- Edge(x, y), y != \"c\", x = x.\n"
      "NotC(x) :- Edge(x, y), !Loop(y).\n"
      "Edge(\"a\", y)?\nEdge(x, x)?\n");
  auto db = p.evaluate();
  EXPECT_EQ(db.symbols.name(0), "a");  // symbols in order of first appearance
  EXPECT_EQ(db.symbols.name(3), "7");
  EXPECT_EQ(db.tuples("FromA"), (std::vector<Tuple>{{"7"}, {"b"}}));
  EXPECT_EQ(db.tuples("Loop"), (std::vector<Tuple>{{"c"}}));
  EXPECT_EQ(db.tuples("Self"), (std::vector<Tuple>{{"a", "a"}, {"b", "b"}, {"c", "c"}}));
  EXPECT_EQ(db.tuples("Tag"), (std::vector<Tuple>{{"k", "a"}}));
  EXPECT_EQ(db.tuples("NotC"), (std::vector<Tuple>{{"a"}}));
  ASSERT_EQ(p.queries().size(), 2u);
  EXPECT_EQ(p.answer(db, 0), (std::vector<Tuple>{{"a", "7"}, {"a", "b"}}));
  EXPECT_EQ(p.answer(db, 1), (std::vector<Tuple>{{"c", "c"}}));
  expect_error<tl::ValueError>([&] { db.tuples("Nope"); }, {"unknown relation 'Nope'"});
}

TEST(Datalog, AggregatesGroupByOuterVariables) {
  // Brute force in the test: per source node, count / sum / max / min over its out-edges' weights.
  std::mt19937 rng(3);
  std::vector<Tuple> edges, weights;
  std::map<std::string, std::vector<int>> out;  // node -> weights of distinct (target, weight) bindings
  for (int i = 0; i < 9; ++i) weights.push_back({sym("t", i), std::to_string(int(rng() % 7) - 3)});
  std::set<std::pair<int, int>> seen;
  for (int e = 0; e < 25; ++e) {
    int a = int(rng() % 5), b = int(rng() % 9);
    edges.push_back({sym("s", a), sym("t", b)});
    if (seen.insert({a, b}).second) out[sym("s", a)].push_back(std::stoi(weights[size_t(b)][1]));
  }
  Program p = Program::parse(
      "Src(x) :- E(x, y).\n"
      "N(x, n) :- Src(x), n = count : { E(x, y) }.\n"
      "S(x, s) :- Src(x), s = sum w : { E(x, y), W(y, w) }.\n"
      "Mx(x, m) :- Src(x), m = max w : { E(x, y), W(y, w) }.\n"
      "Mn(x, m) :- Src(x), m = min w : { E(x, y), W(y, w) }.\n"
      "Total(n) :- Src(x), n = count : { E(a, b) }.\n");
  p.add_facts("E", edges);
  p.add_facts("W", weights);
  auto db = p.evaluate();
  std::vector<Tuple> n, s, mx, mn;
  for (const auto& [x, ws] : out) {
    n.push_back({x, std::to_string(ws.size())});
    int sum = 0, hi = ws[0], lo = ws[0];
    for (int w : ws) sum += w, hi = std::max(hi, w), lo = std::min(lo, w);
    s.push_back({x, std::to_string(sum)});
    mx.push_back({x, std::to_string(hi)});
    mn.push_back({x, std::to_string(lo)});
  }
  for (auto* v : {&n, &s, &mx, &mn}) std::sort(v->begin(), v->end());
  EXPECT_EQ(db.tuples("N"), n);
  EXPECT_EQ(db.tuples("S"), s);
  EXPECT_EQ(db.tuples("Mx"), mx);
  EXPECT_EQ(db.tuples("Mn"), mn);
  EXPECT_EQ(db.tuples("Total"), (std::vector<Tuple>{{std::to_string(seen.size())}}));
}

TEST(Datalog, AggregateErrors) {
  expect_error<tl::ValueError>([] { Program::parse("P(a).\nQ(n) :- P(x), n = count : { Q(x) }.\n", "p.tl"); },
                               {"non-stratifiable aggregate", "Q <- aggregate Q"});
  expect_error<tl::ValueError>([] { Program::parse("P(a).\nQ(n) :- P(x), n = sum w : { P(x) }.\n", "p.tl"); },
                               {"p.tl:2:23:", "aggregated variable 'w'"});
  expect_error<tl::ValueError>(
      [] { Program::parse("P(a).\nQ(n) :- P(x), n = count : { P(\"a\") }.\n", "p.tl"); },
      {"constant 'a' inside an aggregate"});
  expect_error<tl::ParseError>(
      [] { Program::parse("P(a).\nQ(n) :- P(x), n = count : { !P(x) }.\n", "p.tl"); },
      {"p.tl:2:29:", "negation inside an aggregate"});
  Program p = Program::parse("P(a, b).\nQ(x, s) :- P(x, y), s = sum y : { P(x, y) }.\n");
  expect_error<tl::ValueError>([&] { p.evaluate(); }, {"needs numeric symbols", "'b'"});
  // A join of 30^8 bools (656 GB) is refused before the einsum allocates it.
  std::string big;
  for (int i = 0; i < 30; ++i) big += "E(s" + std::to_string(i) + ", s" + std::to_string((i + 1) % 30) + ").\n";
  big += "N(x, n) :- E(x, y), n = count : { E(x, a), E(a, b), E(b, c), E(c, d), E(d, e), E(e, f), E(f, g) }.\n";
  Program q = Program::parse(big, "big.tl");
  expect_error<tl::ValueError>([&] { q.evaluate(); },
                               {"big.tl:31:21:", "aggregate over 8 variables and 30 symbols", "limit 4294967296"});
}

TEST(Datalog, PropositionsAndEmptyDomain) {
  // Arity-0 relations are scalar bool tensors; a program without symbols has a domain of size 0.
  Program p =
      Program::parse("Rain().\nWet() :- Rain().\nDry() :- !Rain().\nPath(x, z) :- Path(x, y), Path(y, z).\n");
  auto db = p.evaluate();
  EXPECT_EQ(db.symbols.size(), 0);
  EXPECT_EQ(db.tuples("Wet"), (std::vector<Tuple>{{}}));
  EXPECT_TRUE(db.tuples("Dry").empty());
  EXPECT_TRUE(db.tuples("Path").empty());
}

TEST(Datalog, DenseRelationSizeGuard) {
  // 70 000 symbols: a binary relation would need 4.9e9 bools; refused with the numbers, nothing allocated.
  std::vector<Tuple> facts;
  for (int i = 0; i < 70000; ++i) facts.push_back({sym("s", i)});
  Program p = Program::parse("Pair(x, y) :- Node(x), Node(y).\n");
  p.add_facts("Node", facts);
  expect_error<tl::ValueError>([&] { p.evaluate(); },
                               {"relation 'Pair' of arity 2 over 70000 symbols", "limit"});
}

TEST(Datalog, FactsArityErrors) {
  Program p = Program::parse("Path(x, y) :- Edge(x, y).\n");
  expect_error<tl::ValueError>(
      [&] {
        p.add_facts("Edge", {{"a", "b", "c"}});
      },
      {"'Edge'", "3 columns", "uses it with 2"});
  p.add_facts("Other", {{"a"}});  // a relation the program does not mention is loaded as is
  auto db = p.evaluate();
  EXPECT_EQ(db.tuples("Other"), (std::vector<Tuple>{{"a"}}));
  EXPECT_TRUE(db.tuples("Path").empty());
}

}  // namespace
