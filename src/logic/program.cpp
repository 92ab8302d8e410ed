// Program: parse + check once, then run equations (Executor) or evaluate rules (fixpoint).
#include <algorithm>
#include <fstream>
#include <sstream>

#include "datalog.h"
#include "equations.h"
#include "tl/error.h"
#include "tl/logic.h"
#include "tl/runtime.h"

namespace tl::logic {

int SymbolTable::intern(const std::string& s) {
  auto [it, added] = index_.emplace(s, int(names_.size()));
  if (added) names_.push_back(s);
  return it->second;
}

std::optional<int> SymbolTable::find(const std::string& s) const {
  auto it = index_.find(s);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

const std::string& SymbolTable::name(int id) const {
  if (id < 0 || id >= size()) TL_THROW(ValueError, "symbol id ", id, " out of range [0, ", size(), ")");
  return names_[size_t(id)];
}

std::vector<Tuple> Database::tuples(const std::string& relation) const {
  auto it = relations.find(relation);
  if (it == relations.end()) TL_THROW(ValueError, "unknown relation '", relation, "'");
  const Tensor& t = it->second;
  std::vector<Tuple> out;
  for_each_index(t.shape(), [&](std::span<const int64_t> idx) {
    if (t.get(idx) == 0) return;
    Tuple tup;
    for (int64_t i : idx) tup.push_back(symbols.name(int(i)));
    out.push_back(std::move(tup));
  });
  std::sort(out.begin(), out.end());
  return out;
}

struct Program::Impl {
  ProgramAst ast;
  Graph graph;
  std::map<std::string, int> arity;
  std::vector<std::pair<std::string, std::vector<Tuple>>> extra;
};

Program::Program() : impl_(std::make_unique<Impl>()) {}
Program::~Program() = default;
Program::Program(Program&&) noexcept = default;
Program& Program::operator=(Program&&) noexcept = default;

Program Program::parse(std::string_view text, const std::string& source) {
  Program p;
  p.impl_->ast = parse_ast(text, source);
  p.impl_->graph = compile_equations(p.impl_->ast);
  p.impl_->arity = check_datalog(p.impl_->ast);
  check_declarations(p.impl_->ast, p.impl_->arity);
  stratify(p.impl_->ast, p.impl_->arity);  // reports negation through recursion now, before anything runs
  return p;
}

Program Program::load(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) TL_THROW(IoError, "cannot read program file '", path, "'");
  std::stringstream ss;
  ss << f.rdbuf();
  return parse(ss.str(), path);
}

const Graph& Program::graph() const {
  return impl_->graph;
}
bool Program::has_equations() const {
  return !impl_->ast.equations.empty();
}
std::vector<std::string> Program::param_names() const {
  std::vector<std::string> out;
  for (const auto& d : impl_->ast.decls)
    if (d.is_param) out.push_back(d.name);
  return out;
}

bool Program::has_rules_or_facts() const {
  return !impl_->ast.rules.empty() || !impl_->ast.facts.empty() || !impl_->ast.rel_decls.empty();
}

std::vector<std::string> Program::input_relations() const {
  std::vector<std::string> out;
  for (const auto& r : impl_->ast.rel_inputs) out.push_back(r.name);
  return out;
}

std::vector<std::string> Program::output_relations() const {
  std::vector<std::string> out;
  for (const auto& r : impl_->ast.rel_outputs) out.push_back(r.name);
  return out;
}

std::map<std::string, Tensor> Program::run(const std::map<std::string, Tensor>& inputs,
                                           OptLevel level) const {
  if (!has_equations())
    TL_THROW(ValueError, "program '", impl_->ast.source, "' has no tensor equations to run");
  if (level == OptLevel::none) return run_graph(impl_->graph, inputs);
  Graph g = impl_->graph;
  optimize(g, level);
  return run_graph(g, inputs);
}

void Program::add_facts(const std::string& relation, const std::vector<Tuple>& tuples) {
  check_facts_declared(impl_->ast, relation, tuples);
  auto it = impl_->arity.find(relation);
  for (const auto& t : tuples)
    if (it != impl_->arity.end() && int(t.size()) != it->second)
      TL_THROW(ValueError, "facts for relation '", relation, "' have ", t.size(),
               " columns but the program uses it with ", it->second);
  impl_->extra.push_back({relation, tuples});
}

std::vector<std::string> Program::relation_names() const {
  std::vector<std::string> out;
  for (const auto& [n, a] : impl_->arity) out.push_back(n);
  return out;
}

std::vector<std::string> Program::queries() const {
  std::vector<std::string> out;
  for (const auto& q : impl_->ast.queries) out.push_back(q.rel);
  return out;
}

std::vector<Tuple> Program::answer(const Database& db, size_t i) const {
  if (i >= impl_->ast.queries.size())
    TL_THROW(ValueError, "query ", i, " out of range (", impl_->ast.queries.size(), " queries)");
  const Atom& q = impl_->ast.queries[i];
  std::vector<Tuple> out;
  for (auto& t : db.tuples(q.rel)) {
    std::map<std::string, std::string> bind;
    bool ok = true;
    for (size_t k = 0; k < q.args.size() && ok; ++k) {
      const Term& a = q.args[k];
      if (!a.is_var)
        ok = t[k] == a.text;
      else if (auto [it, added] = bind.emplace(a.text, t[k]); !added)
        ok = it->second == t[k];
    }
    if (ok) out.push_back(std::move(t));
  }
  return out;
}

Database Program::evaluate(int max_rounds, Storage storage) const {
  return evaluate_datalog(impl_->ast, impl_->arity, impl_->extra, max_rounds, storage);
}

}  // namespace tl::logic
