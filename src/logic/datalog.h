// Datalog part of .tl (internal): checks (arity, safety), stratification, and fixpoint evaluation.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ast.h"
#include "tl/logic.h"

namespace tl::logic {

// Arity of every relation mentioned; throws ValueError naming both uses on a mismatch, and on unsafe rules
// (a head, negated or compared variable not bound by a positive body atom).
std::map<std::string, int> check_datalog(const ProgramAst& p);

// Souffle-style declarations (declarations.cpp): with any `.decl`, every relation used must be declared with
// its arity and column types (ValueError naming the relation, column and both types); declared relations are
// added to `arity`.
void check_declarations(const ProgramAst& p, std::map<std::string, int>& arity);
// Facts added from outside (TSV): declared relation, arity and number columns hold integers.
void check_facts_declared(const ProgramAst& p, const std::string& relation, const std::vector<Tuple>& tuples);

// Strata in evaluation order, each a set of relation names (one strongly connected component of the
// dependency graph). Throws ValueError printing the cycle when negation goes through recursion.
std::vector<std::vector<std::string>> stratify(const ProgramAst& p, const std::map<std::string, int>& arity);

// Largest dense bool tensor (relation or aggregate join) evaluation builds: bigger ones are refused by name
// before anything is allocated.
constexpr int64_t kMaxRelationElements = int64_t(1) << 32;

// An aggregate's value for each binding of its outer variables (those the rule binds outside the braces).
struct AggregateTable {
  std::vector<std::string> outer_vars;
  std::vector<std::vector<int>> rows;  // symbol ids of the outer variables
  std::vector<std::string> results;    // the result symbol of each row
};
AggregateTable compute_aggregate(const Rule& r, const Aggregate& g, const Database& db,
                                 const std::string& source);
// Grows every relation to a domain of n symbols (new symbols from aggregates), keeping its tuples.
void pad_domain(Database& db, int n);

Database evaluate_datalog(const ProgramAst& p, const std::map<std::string, int>& arity,
                          const std::vector<std::pair<std::string, std::vector<Tuple>>>& extra_facts,
                          int max_rounds, Storage storage = Storage::automatic);

// Sparse strata (datalog_sparse.cpp): whether the rules can run sparse (no aggregates), the largest fill
// fraction of their body relations, and the evaluation itself (same semantics and rounds as the dense one).
bool sparse_supported(const std::vector<const Rule*>& rules, const Database& db);
double max_body_density(const std::vector<const Rule*>& rules, const Database& db);
void evaluate_stratum_sparse(const ProgramAst& p, const std::vector<const Rule*>& rules,
                             const std::set<std::string>& stratum, Database& db, int max_rounds);

}  // namespace tl::logic
