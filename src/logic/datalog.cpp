// Fixpoint evaluation. Each rule compiles once to a small graph: its body relations (negated ones through
// logical_not), comparison masks and one-hot constants joined by one bool einsum (OR of ANDs, which is
// step(sum of products) computed exactly) that keeps the head's variables. Strata run in dependency order;
// inside a stratum evaluation is semi-naive: after the first round a rule is re-run once per recursive body
// atom with that atom bound to the previous round's new tuples (the delta), so each round only joins new
// facts.
#include "datalog.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "tl/einsum.h"
#include "tl/error.h"
#include "tl/runtime.h"

namespace tl::logic {

namespace {

Shape rel_shape(int arity, int n) {
  return Shape(size_t(arity), n);
}

std::string operand_name(size_t i) {
  std::string s = "r";
  s += std::to_string(i);
  return s;
}

bool* bdata(const Tensor& t) {
  return t.data<bool>();
}

// a |= b & ~c, returning whether anything new was set; `fresh` receives the new bits (b & ~c).
bool merge_new(const Tensor& b, const Tensor& c, const Tensor& fresh) {
  bool any = false;
  const bool* pb = bdata(b);
  const bool* pc = bdata(c);
  bool* pf = bdata(fresh);
  for (int64_t i = 0; i < b.numel(); ++i) {
    bool v = pb[i] && !pc[i];
    pf[i] = pf[i] || v;
    any = any || v;
  }
  return any;
}

struct CompiledRule {
  const Rule* rule = nullptr;
  std::vector<std::string> operand_rel;  // relation bound to input "r<i>", one per distinct body atom
  std::vector<int> recursive;            // operands (indices) in the rule's own stratum, not negated
  bool never = false;                    // a constant comparison is false: the rule cannot fire
  std::unique_ptr<Executor> exec;
};

class Evaluator {
 public:
  Evaluator(const ProgramAst& p, const std::map<std::string, int>& arity, Database& db, Storage storage)
      : p_(p), arity_(arity), db_(db), storage_(storage) {}

  CompiledRule compile(const Rule& r, const std::set<std::string>& stratum,
                       const std::vector<AggregateTable>& aggs) {
    CompiledRule cr;
    cr.rule = &r;
    int n = db_.symbols.size();
    Graph g("rule_" + r.head.rel);
    std::map<std::string, int> var;  // variable -> label id
    int labels = 0;
    auto fresh = [&]() {
      if (labels >= 52)
        TL_THROW(ValueError, where(p_.source, r.loc), "rule for '", r.head.rel,
                 "' needs more than 52 variables");
      return labels++;
    };
    auto letter = [](int id) { return id < 26 ? char('a' + id) : char('A' + id - 26); };
    std::vector<Value> ops;
    std::vector<std::string> subs;
    auto onehot = [&](const std::string& sym, int label) {
      Tensor t = Tensor::zeros({n}, DType::boolean);  // [N] one-hot
      bdata(t)[*db_.symbols.find(sym)] = true;
      ops.push_back(g.constant(t));
      subs.push_back(std::string(1, letter(label)));
    };
    auto pair_mask = [&](int a, int b, bool equal) {
      Tensor t = Tensor::zeros({n, n}, DType::boolean);  // [N, N] (in)equality mask
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) bdata(t)[int64_t(i) * n + j] = (i == j) == equal;
      ops.push_back(g.constant(t));
      subs.push_back(std::string{letter(a), letter(b)});
    };
    // A repeated atom adds nothing to the AND (A and A = A) but an operand to the einsum, whose planner is
    // quadratic-to-cubic in operands: each distinct atom joins once.
    std::set<std::string> atoms_seen;
    for (size_t i = 0; i < r.body.size(); ++i) {
      const Atom& a = r.body[i];
      std::string key = (a.negated ? "!" : "") + a.rel;
      for (const auto& t : a.args) {
        key.push_back(t.is_var ? 'v' : 's');
        key += t.text;
        key.push_back('\0');
      }
      if (!atoms_seen.insert(key).second) continue;
      const int k = int(cr.operand_rel.size());  // this atom's operand: input "r<k>"
      std::string sub;
      for (const auto& t : a.args) {
        if (t.is_var) {
          if (!var.count(t.text)) var[t.text] = fresh();
          sub += letter(var[t.text]);
        } else {
          int l = fresh();
          sub += letter(l);
          onehot(t.text, l);
        }
      }
      Value in = g.input(operand_name(size_t(k)), DType::boolean, rel_shape(int(a.args.size()), n));
      ops.push_back(a.negated ? g.unary(UnaryOp::logical_not, in) : in);
      subs.push_back(sub);
      cr.operand_rel.push_back(a.rel);
      if (!a.negated && stratum.count(a.rel)) cr.recursive.push_back(k);
    }
    for (size_t k = 0; k < aggs.size(); ++k) {  // the aggregate as a relation Agg[outer..., result]
      const AggregateTable& t = aggs[k];
      const std::string& res = r.aggregates[k].result.text;
      if (!var.count(res)) var[res] = fresh();
      Shape shape(t.outer_vars.size() + 1, n);
      Tensor m = Tensor::zeros(shape, DType::boolean);  // [N]*(outer + 1)
      std::string sub;
      for (const auto& v : t.outer_vars) sub += letter(var.at(v));
      sub += letter(var.at(res));
      for (size_t row = 0; row < t.rows.size(); ++row) {
        int64_t off = 0;
        for (int s : t.rows[row]) off = off * n + s;
        off = off * n + *db_.symbols.find(t.results[row]);
        bdata(m)[off] = true;
      }
      ops.push_back(g.constant(m));
      subs.push_back(sub);
    }
    for (const auto& c : r.comparisons) {
      if (!c.lhs.is_var && !c.rhs.is_var) {
        if ((c.lhs.text == c.rhs.text) != c.equal) cr.never = true;
        continue;
      }
      if (c.lhs.is_var && c.rhs.is_var) {
        pair_mask(var.at(c.lhs.text), var.at(c.rhs.text), c.equal);
        continue;
      }
      const Term& v = c.lhs.is_var ? c.lhs : c.rhs;
      const Term& k = c.lhs.is_var ? c.rhs : c.lhs;
      Tensor t = Tensor::zeros({n}, DType::boolean);  // [N] mask
      int s = *db_.symbols.find(k.text);
      for (int i = 0; i < n; ++i) bdata(t)[i] = (i == s) == c.equal;
      ops.push_back(g.constant(t));
      subs.push_back(std::string(1, letter(var.at(v.text))));
    }
    std::string out;
    std::set<std::string> seen;
    for (const auto& t : r.head.args) {
      if (t.is_var && !seen.count(t.text)) {
        seen.insert(t.text);
        out += letter(var.at(t.text));
      } else if (t.is_var) {  // repeated head variable: a fresh label tied by equality
        int l = fresh();
        pair_mask(var.at(t.text), l, true);
        out += letter(l);
      } else {
        int l = fresh();
        onehot(t.text, l);
        out += letter(l);
      }
    }
    if (subs.size() > size_t(kEinsumMaxOperands))
      TL_THROW(ValueError, where(p_.source, r.loc), "rule for '", r.head.rel, "' joins ", subs.size(),
               " distinct atoms, comparisons and constants; at most ", kEinsumMaxOperands,
               " are supported (split the rule through an intermediate relation)");
    std::string spec;
    for (size_t i = 0; i < subs.size(); ++i) {
      if (i) spec += ',';
      spec += subs[i];
    }
    spec += "->";
    spec += out;
    g.output(g.einsum(spec, ops), "head");
    cr.exec = std::make_unique<Executor>(g);
    return cr;
  }

  Tensor run_rule(CompiledRule& cr, int delta_at, const std::map<std::string, Tensor>& delta) {
    std::map<std::string, Tensor> in;
    for (size_t i = 0; i < cr.operand_rel.size(); ++i) {
      const std::string& rel = cr.operand_rel[i];
      in[operand_name(i)] = int(i) == delta_at ? delta.at(rel) : db_.relations.at(rel);
    }
    return cr.exec->run(in).at("head");
  }

  void stratum(const std::vector<std::string>& names, int max_rounds) {
    std::set<std::string> s(names.begin(), names.end());
    // Aggregates read lower strata only (stratify checks it): compute them, add their result symbols, then
    // compile this stratum's rules over the grown domain.
    std::vector<const Rule*> mine;
    std::vector<std::vector<AggregateTable>> aggs;
    for (const auto& r : p_.rules)
      if (s.count(r.head.rel)) {
        mine.push_back(&r);
        aggs.emplace_back();
        for (const auto& g : r.aggregates) {
          aggs.back().push_back(compute_aggregate(r, g, db_, p_.source));
          for (const auto& res : aggs.back().back().results) db_.symbols.intern(res);
        }
      }
    pad_domain(db_, db_.symbols.size());
    if (!mine.empty() && storage_ != Storage::dense && sparse_supported(mine, db_)) {
      bool sparse =
          storage_ == Storage::sparse || (db_.symbols.size() >= 128 && max_body_density(mine, db_) < 0.02);
      if (sparse) {
        evaluate_stratum_sparse(p_, mine, s, db_, max_rounds);
        ++db_.sparse_strata;
        return;
      }
    }
    std::vector<CompiledRule> rules;
    for (size_t i = 0; i < mine.size(); ++i) rules.push_back(compile(*mine[i], s, aggs[i]));
    if (rules.empty()) return;
    int n = db_.symbols.size();
    std::map<std::string, Tensor> delta;
    auto fresh_deltas = [&]() {
      std::map<std::string, Tensor> d;
      for (const auto& name : names) d[name] = Tensor::zeros(rel_shape(arity_.at(name), n), DType::boolean);
      return d;
    };
    // Round 0: every rule on the full relations.
    std::map<std::string, Tensor> next = fresh_deltas();
    bool any = false;
    for (auto& cr : rules) {
      if (cr.never) continue;
      const std::string& h = cr.rule->head.rel;
      any = merge_new(run_rule(cr, -1, next), db_.relations.at(h), next.at(h)) || any;
    }
    while (any) {
      if (++db_.rounds > max_rounds)
        TL_THROW(ValueError, "fixpoint not reached after ", max_rounds, " rounds (stratum of '", names[0],
                 "')");
      for (const auto& name : names) {  // R |= delta
        bool* r = bdata(db_.relations.at(name));
        const bool* d = bdata(next.at(name));
        for (int64_t i = 0; i < db_.relations.at(name).numel(); ++i) r[i] = r[i] || d[i];
      }
      delta = std::move(next);
      next = fresh_deltas();
      any = false;
      for (auto& cr : rules) {
        if (cr.never) continue;
        const std::string& h = cr.rule->head.rel;
        for (int at : cr.recursive)
          any = merge_new(run_rule(cr, at, delta), db_.relations.at(h), next.at(h)) || any;
      }
    }
  }

 private:
  const ProgramAst& p_;
  const std::map<std::string, int>& arity_;
  Database& db_;
  Storage storage_;
};

}  // namespace

Database evaluate_datalog(const ProgramAst& p, const std::map<std::string, int>& arity_in,
                          const std::vector<std::pair<std::string, std::vector<Tuple>>>& extra_facts,
                          int max_rounds, Storage storage) {
  Database db;
  std::map<std::string, int> arity = arity_in;
  // Symbols in order of first appearance: program facts, rule and query constants, then the extra facts.
  for (const auto& f : p.facts)
    for (const auto& t : f.args) db.symbols.intern(t.text);
  auto consts = [&](const Atom& a) {
    for (const auto& t : a.args)
      if (!t.is_var) db.symbols.intern(t.text);
  };
  for (const auto& r : p.rules) {
    consts(r.head);
    for (const auto& a : r.body) consts(a);
    for (const auto& c : r.comparisons) {
      if (!c.lhs.is_var) db.symbols.intern(c.lhs.text);
      if (!c.rhs.is_var) db.symbols.intern(c.rhs.text);
    }
  }
  for (const auto& q : p.queries) consts(q);
  for (const auto& [rel, tuples] : extra_facts) {
    for (const auto& t : tuples) {
      auto it = arity.find(rel);
      if (it == arity.end()) it = arity.emplace(rel, int(t.size())).first;
      if (int(t.size()) != it->second)
        TL_THROW(ValueError, "facts for relation '", rel, "' have ", t.size(),
                 " columns but the relation has arity ", it->second);
      for (const auto& s : t) db.symbols.intern(s);
    }
  }
  int n = db.symbols.size();
  for (const auto& [rel, a] : arity) {
    // Dense relations: refuse sizes that cannot be allocated rather than fail inside the allocator.
    double elems = std::pow(double(n), a);
    if (elems > double(kMaxRelationElements))
      TL_THROW(ValueError, "relation '", rel, "' of arity ", a, " over ", n, " symbols needs ", elems,
               " elements as a dense bool tensor (limit ", kMaxRelationElements, ")");
    db.arity[rel] = a;
    db.relations[rel] = Tensor::zeros(rel_shape(a, n), DType::boolean);
  }
  auto set_fact = [&](const std::string& rel, const std::vector<std::string>& syms) {
    int64_t off = 0;
    for (const auto& s : syms) off = off * n + *db.symbols.find(s);
    bdata(db.relations.at(rel))[off] = true;
  };
  for (const auto& f : p.facts) {
    std::vector<std::string> syms;
    for (const auto& t : f.args) syms.push_back(t.text);
    set_fact(f.rel, syms);
  }
  for (const auto& [rel, tuples] : extra_facts)
    for (const auto& t : tuples) set_fact(rel, t);

  Evaluator ev(p, arity, db, storage);
  for (const auto& s : stratify(p, arity)) ev.stratum(s, max_rounds);
  return db;
}

}  // namespace tl::logic
