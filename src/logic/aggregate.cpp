// Stratified aggregates (count, sum, max, min) in rule bodies. The braces' atoms are joined over their tuples
// (a backtracking join of the relations' true entries) into the bindings of all their variables; these are
// grouped by the variables the rule binds outside (its positive atoms) and reduced on the host. The result
// becomes a relation Agg[outer..., result] over the symbol domain that the rule's einsum joins like any other
// atom. Results are new numeric symbols ("%.17g").
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include "datalog.h"
#include "tl/error.h"

namespace tl::logic {

namespace {
std::string number_symbol(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}
}  // namespace

AggregateTable compute_aggregate(const Rule& r, const Aggregate& g, const Database& db,
                                 const std::string& source) {
  std::set<std::string> outside;
  for (const auto& a : r.body)
    if (!a.negated)
      for (const auto& t : a.args) outside.insert(t.text);
  std::vector<std::string> vars;  // the braces' variables, in order of appearance
  // Each atom's tuples (the true entries of its dense relation, as symbol ids) and its arguments' variables.
  struct AtomTuples {
    std::vector<size_t> slot;    // [arity] variable index of each argument
    std::vector<int64_t> ids;    // [count * arity]
    size_t count = 0;            // tuples (a true proposition has one, empty)
  };
  std::vector<AtomTuples> atoms;
  for (const auto& a : g.body) {
    AtomTuples at;
    for (const auto& t : a.args) {
      size_t k = std::find(vars.begin(), vars.end(), t.text) - vars.begin();
      if (k == vars.size()) {
        if (vars.size() >= 52)
          TL_THROW(ValueError, where(source, g.loc), "aggregate with more than 52 variables");
        vars.push_back(t.text);
      }
      at.slot.push_back(k);
    }
    const Tensor rel = db.relations.at(a.rel).contiguous();  // bool [N]*arity
    const auto* p = static_cast<const uint8_t*>(rel.raw_data());
    const Shape& sh = rel.shape();
    for (int64_t lin = 0, n = rel.numel(); lin < n; ++lin) {
      if (!p[lin]) continue;
      ++at.count;
      const size_t base = at.ids.size();
      at.ids.resize(base + sh.size());
      for (int64_t d = int64_t(sh.size()) - 1, rem = lin; d >= 0; --d) {
        at.ids[base + size_t(d)] = rem % sh[size_t(d)];
        rem /= sh[size_t(d)];
      }
    }
    atoms.push_back(std::move(at));
  }
  // The dense engine's bound on a join that keeps every variable (symbols^variables), as before this join
  // went over tuples: refused by name.
  const double elems = std::pow(double(db.symbols.size()), double(vars.size()));
  if (elems > double(kMaxRelationElements))
    TL_THROW(ValueError, where(source, g.loc), "aggregate over ", vars.size(), " variables and ", db.symbols.size(),
             " symbols needs a join of ", elems, " elements (limit ", kMaxRelationElements, ")");
  // The true bindings of all variables: a backtracking join over the atoms' tuples (each binding arises from
  // exactly one choice of tuples), then sorted so that sums add in the same order as a scan of the dense join.
  // A dense einsum keeping every variable cost symbols^variables work even for a handful of facts.
  std::vector<std::vector<int64_t>> bindings;
  std::vector<int64_t> bind(vars.size(), -1);
  std::vector<std::vector<size_t>> newly(atoms.size());  // per depth: the slots a tuple bound there
  auto join = [&](auto& self, size_t depth) -> void {
    if (depth == atoms.size()) {
      bindings.push_back(bind);
      return;
    }
    const AtomTuples& at = atoms[depth];
    const size_t arity = at.slot.size();
    for (size_t t = 0; t < at.count; ++t) {
      const int64_t* tup = at.ids.data() + t * arity;
      std::vector<size_t>& mine = newly[depth];
      mine.clear();
      bool ok = true;
      for (size_t i = 0; i < arity && ok; ++i) {
        int64_t& v = bind[at.slot[i]];
        if (v < 0) {
          v = tup[i];
          mine.push_back(at.slot[i]);
        } else {
          ok = v == tup[i];
        }
      }
      if (ok) self(self, depth + 1);
      for (size_t k : mine) bind[k] = -1;
    }
  };
  join(join, 0);
  std::sort(bindings.begin(), bindings.end());

  AggregateTable out;
  std::vector<size_t> outer_pos;
  for (size_t k = 0; k < vars.size(); ++k)
    if (outside.count(vars[k])) {
      out.outer_vars.push_back(vars[k]);
      outer_pos.push_back(k);
    }
  size_t target =
      g.op == AggOp::count ? 0 : size_t(std::find(vars.begin(), vars.end(), g.target.text) - vars.begin());
  struct Acc {
    double v = 0;
    bool any = false;
  };
  std::map<std::vector<int>, Acc> groups;
  auto visit = [&](std::span<const int64_t> idx) {  // one true binding
    std::vector<int> key;
    for (size_t k : outer_pos) key.push_back(int(idx[k]));
    Acc& acc = groups[key];
    double x = 1;
    if (g.op != AggOp::count) {
      const std::string& s = db.symbols.name(int(idx[target]));
      char* end = nullptr;
      x = std::strtod(s.c_str(), &end);
      if (s.empty() || *end != '\0' || !std::isfinite(x))
        TL_THROW(ValueError, where(source, g.loc), "aggregate over '", g.target.text,
                 "' needs numeric symbols, got '", s, "'");
    }
    if (!acc.any) acc.v = g.op == AggOp::max || g.op == AggOp::min ? x : 0;
    switch (g.op) {
      case AggOp::count:
      case AggOp::sum:
        acc.v += x;
        break;
      case AggOp::max:
        acc.v = std::max(acc.v, x);
        break;
      case AggOp::min:
        acc.v = std::min(acc.v, x);
        break;
    }
    acc.any = true;
  };
  for (const auto& bnd : bindings) visit(bnd);
  // count and sum of nothing are 0 for every outer binding; max and min of nothing give no tuple.
  if (g.op == AggOp::count || g.op == AggOp::sum) {
    Shape outer_shape(outer_pos.size(), db.symbols.size());
    for_each_index(outer_shape, [&](std::span<const int64_t> idx) {
      std::vector<int> key(idx.begin(), idx.end());
      groups.try_emplace(key);
    });
  }
  for (const auto& [key, acc] : groups) {
    out.rows.push_back(key);
    out.results.push_back(number_symbol(acc.v));
  }
  return out;
}

void pad_domain(Database& db, int n) {
  for (auto& entry : db.relations) {
    Tensor& t = entry.second;  // not a structured binding: clang 14 cannot capture those in the lambda below
    if (t.rank() == 0 || t.size(0) == n) continue;
    Tensor bigger = Tensor::zeros(Shape(size_t(t.rank()), n), DType::boolean);  // [n]*arity
    for_each_index(t.shape(), [&](std::span<const int64_t> idx) {
      if (t.get(idx) != 0) bigger.set(idx, 1);
    });
    t = bigger;
  }
}

}  // namespace tl::logic
