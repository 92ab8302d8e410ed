// Souffle-style relation declarations: `.decl R(a: symbol, b: number)`, `.input R`, `.output R`. Once a
// program declares any relation, every relation it uses must be declared, with the declared arity; each
// variable of a rule takes one column type from every place it appears, number columns hold integers, and
// aggregate results and sum/max/min targets are numbers.
#include <map>
#include <set>

#include "datalog.h"
#include "tl/error.h"

namespace tl::logic {

namespace {

const char* type_name(ColType t) {
  return t == ColType::number ? "number" : "symbol";
}

bool is_integer(const std::string& s) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

class DeclChecker {
 public:
  DeclChecker(const ProgramAst& p, std::map<std::string, int>& arity) : p_(p), arity_(arity) {}

  void run() {
    for (const auto& d : p_.rel_decls) {
      if (decl_.count(d.name))
        TL_THROW(ValueError, where(p_.source, d.loc), "relation '", d.name,
                 "' declared twice (first at line ", decl_.at(d.name)->loc.line, ")");
      decl_[d.name] = &d;
    }
    for (const auto* list : {&p_.rel_inputs, &p_.rel_outputs})
      for (const auto& io : *list)
        if (!decl_.count(io.name))
          TL_THROW(ValueError, where(p_.source, io.loc), "'", list == &p_.rel_inputs ? ".input" : ".output",
                   " ", io.name, "': relation '", io.name, "' is not declared (add .decl ", io.name,
                   "(...))");
    if (decl_.empty()) return;
    for (const auto& f : p_.facts) {
      const RelDecl& d = declared(f);
      for (size_t i = 0; i < f.args.size(); ++i)
        if (d.types[i] == ColType::number && !is_integer(f.args[i].text))
          TL_THROW(ValueError, where(p_.source, f.args[i].loc), "fact ", f.rel, ": column ", i + 1, " ('",
                   d.columns[i], "') is a number but got '", f.args[i].text, "'");
    }
    for (const auto& r : p_.rules) rule(r);
    for (const auto& q : p_.queries) {
      vars_.clear();
      atom(q);
    }
    // Declared relations exist even when nothing derives them (an empty .output is still written).
    for (const auto& d : p_.rel_decls) arity_.emplace(d.name, int(d.types.size()));
  }

 private:
  const RelDecl& declared(const Atom& a) {
    auto it = decl_.find(a.rel);
    if (it == decl_.end())
      TL_THROW(ValueError, where(p_.source, a.loc), "relation '", a.rel,
               "' is not declared (the program declares its relations; add .decl ", a.rel, "(...))");
    const RelDecl& d = *it->second;
    if (d.types.size() != a.args.size())
      TL_THROW(ValueError, where(p_.source, a.loc), "relation '", a.rel, "' used with ", a.args.size(),
               " arguments but declared with ", d.types.size(), " at line ", d.loc.line);
    return d;
  }

  // A variable's type, fixed by its first use; `what` says where, for the message.
  void typed(const Term& t, ColType ty, const std::string& what) {
    if (!t.is_var) {
      if (ty == ColType::number && !is_integer(t.text))
        TL_THROW(ValueError, where(p_.source, t.loc), what, " is a number but got the constant '", t.text,
                 "'");
      return;
    }
    auto [it, added] = vars_.emplace(t.text, std::make_pair(ty, what));
    if (!added && it->second.first != ty)
      TL_THROW(ValueError, where(p_.source, t.loc), "type mismatch: variable '", t.text, "' is a ",
               type_name(it->second.first), " in ", it->second.second, " but a ", type_name(ty), " in ",
               what);
  }

  void atom(const Atom& a) {
    const RelDecl& d = declared(a);
    for (size_t i = 0; i < a.args.size(); ++i)
      typed(a.args[i], d.types[i], detail::cat(a.rel, " column ", i + 1, " ('", d.columns[i], "')"));
  }

  void rule(const Rule& r) {
    vars_.clear();
    for (const auto& a : r.body) atom(a);
    for (const auto& g : r.aggregates) {
      for (const auto& a : g.body) atom(a);
      const char* op = g.op == AggOp::count ? "count"
                       : g.op == AggOp::sum ? "sum"
                       : g.op == AggOp::max ? "max"
                                            : "min";
      if (g.op != AggOp::count) typed(g.target, ColType::number, detail::cat("the target of ", op));
      typed(g.result, ColType::number, detail::cat("the result of ", op));
    }
    atom(r.head);
    for (const auto& c : r.comparisons) {
      const Term& v = c.lhs.is_var ? c.lhs : c.rhs;
      const Term& o = c.lhs.is_var ? c.rhs : c.lhs;
      auto it = vars_.find(v.text);
      if (!v.is_var || it == vars_.end()) continue;  // unsafe variables are reported by check_datalog
      typed(o, it->second.first, detail::cat("a comparison with '", v.text, "'"));
    }
  }

  const ProgramAst& p_;
  std::map<std::string, int>& arity_;
  std::map<std::string, const RelDecl*> decl_;
  std::map<std::string, std::pair<ColType, std::string>> vars_;
};

}  // namespace

void check_declarations(const ProgramAst& p, std::map<std::string, int>& arity) {
  DeclChecker(p, arity).run();
}

void check_facts_declared(const ProgramAst& p, const std::string& relation,
                          const std::vector<Tuple>& tuples) {
  if (p.rel_decls.empty()) return;
  const RelDecl* d = nullptr;
  for (const auto& x : p.rel_decls)
    if (x.name == relation) d = &x;
  if (!d)
    TL_THROW(ValueError, "facts for relation '", relation,
             "', which the program does not declare (add .decl ", relation, "(...))");
  for (size_t row = 0; row < tuples.size(); ++row) {
    const Tuple& t = tuples[row];
    if (t.size() != d->types.size())
      TL_THROW(ValueError, "facts for relation '", relation, "' have ", t.size(),
               " columns but it is declared with ", d->types.size());
    for (size_t i = 0; i < t.size(); ++i)
      if (d->types[i] == ColType::number && !is_integer(t[i]))
        TL_THROW(ValueError, "facts for relation '", relation, "', tuple ", row + 1, ": column ", i + 1,
                 " ('", d->columns[i], "') is a number but got '", t[i], "'");
  }
}

}  // namespace tl::logic
