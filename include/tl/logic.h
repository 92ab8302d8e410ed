// The .tl language: tensor equations and Datalog in one text (notation of Domingos, "Tensor Logic: The
// Language of AI", 2025). A program is parsed and checked as a whole (undefined tensors, index sizes that
// disagree, arity mismatches, unsafe rules, negation through recursion) before anything runs.
//
//   dim D = 4                                  # a named dimension (also a scalar in equations)
//   input X[P, D]                              # declared inputs and parameters with shapes
//   param W[D, F]
//   Y[p, f] = relu(X[p, d] W[d, f] + B[f])     # join on shared indices, sum those missing on the left
//   Att[p, q.] = softmax(Q[p, d] K[q, d] / sqrt(D))   # trailing dot: the normalised axis
//   Parent(alice, bob).                        # a fact (bare names are symbols)
//   Anc(x, z) :- Parent(x, y), Anc(y, z).      # a rule (bare names are variables; "quoted" are symbols)
//   Anc(x, y)?                                 # a query
//   .decl Edge(x: symbol, w: number)           # Souffle-style typed declarations, .input / .output
//   const T = 0.5                              # a real scalar; sigmoid(x, T) = sigmoid(x / T)
//   Y[p, d] = X[p=1:, d]                       # p runs over a NumPy slice of the axis
//
// Tensor equations compile to one graph (include/tl/graph.h) run by the Executor; every tensor defined by an
// equation is a graph output. Relations are bool tensors over the symbol domain; rules compile to bool
// einsums (OR of ANDs, i.e. step(sum of products)) evaluated to a fixpoint stratum by stratum, semi-naively.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tl/graph.h"
#include "tl/passes.h"
#include "tl/tensor.h"

namespace tl::logic {

struct ProgramAst;  // src/logic/ast.h

// Symbols map to indices in order of first appearance (program text first, then facts added later).
class SymbolTable {
 public:
  int intern(const std::string& s);
  std::optional<int> find(const std::string& s) const;
  const std::string& name(int id) const;  // throws ValueError for an id out of range
  int size() const { return int(names_.size()); }

 private:
  std::vector<std::string> names_;
  std::unordered_map<std::string, int> index_;
};

// One tuple of symbols.
using Tuple = std::vector<std::string>;

// How a Datalog stratum holds its relations while it runs: dense bool tensors joined by bool einsums, or
// tuple sets joined by hash joins (sparse), or picked per stratum (automatic): sparse when the domain has at
// least 128 symbols and every relation in the stratum's rule bodies is under 2% full. Both give the same
// relations and round counts.
enum class Storage { automatic, dense, sparse };

// Derived relations after evaluation: each a bool tensor of shape [N]*arity over the symbol domain.
struct Database {
  SymbolTable symbols;
  std::map<std::string, Tensor> relations;  // bool [N, N, ...]
  std::map<std::string, int> arity;
  int rounds = 0;         // fixpoint rounds run over all strata (for tests and --verbose)
  int sparse_strata = 0;  // strata evaluated with sparse relations
  // The true tuples of `relation`, sorted lexicographically by symbol text. ValueError for an unknown name.
  std::vector<Tuple> tuples(const std::string& relation) const;
};

class Program {
 public:
  // Parses and checks. `source` names the text in messages ("prog.tl:3:14: ..."). Throws ParseError with
  // "source:line:col: message (near 'token')", or ValueError/ShapeError for semantic problems.
  static Program parse(std::string_view text, const std::string& source = "<text>");
  static Program load(const std::string& path);  // IoError when the file cannot be read
  ~Program();
  Program(Program&&) noexcept;
  Program& operator=(Program&&) noexcept;

  // ---- Tensor equations
  // The compiled equations: declared inputs/params are graph inputs/params, every equation-defined tensor an
  // output under its name. Empty (no nodes) when the program has no equations.
  const Graph& graph() const;
  bool has_equations() const;
  // Names of the declared `param` tensors (what `tlt run --weights` binds by name), in text order.
  std::vector<std::string> param_names() const;
  // Runs the equations, optimised at `level` first; `inputs` binds every declared input and param by name.
  std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& inputs,
                                    OptLevel level = OptLevel::basic) const;

  // ---- Datalog
  bool has_rules_or_facts() const;
  // Extra facts (e.g. from TSV files), added before evaluation. Arity must agree with the program's use; when
  // the program has `.decl`s the relation must be declared and its number columns must hold integers.
  void add_facts(const std::string& relation, const std::vector<Tuple>& tuples);
  // Names of relations the program mentions, and the relations named in `R(...)?` queries, in order.
  std::vector<std::string> relation_names() const;
  std::vector<std::string> queries() const;
  // Relations named by `.input R` (to read from R.tsv) and `.output R` (to write as R.tsv), in text order.
  std::vector<std::string> input_relations() const;
  std::vector<std::string> output_relations() const;
  // The tuples answering query i (in text order): the queried relation's tuples that match its symbols and
  // repeated variables, sorted.
  std::vector<Tuple> answer(const Database& db, size_t i) const;
  // Evaluates all rules to a fixpoint. `max_rounds` guards against runaway evaluation (ValueError).
  Database evaluate(int max_rounds = 1000000, Storage storage = Storage::automatic) const;

 private:
  Program();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// TSV relations: one tuple per line, tab-separated symbols; empty lines ignored. ParseError naming
// file:line when a line's column count differs from the first line's.
std::vector<Tuple> read_tsv(const std::string& path);
std::vector<Tuple> parse_tsv(std::string_view text, const std::string& source = "<tsv>");
std::string format_tsv(const std::vector<Tuple>& tuples);
void write_tsv(const std::string& path, const std::vector<Tuple>& tuples);

}  // namespace tl::logic
