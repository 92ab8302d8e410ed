// Stratified aggregates (count, sum, max, min) in rule bodies. The braces' atoms are joined by one bool
// einsum that keeps all their variables; the true bindings are then grouped by the variables the rule binds
// outside (its positive atoms) and reduced on the host. The result becomes a relation Agg[outer..., result]
// over the symbol domain that the rule's einsum joins like any other atom. Results are new numeric symbols
// ("%.17g").
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include "datalog.h"
#include "tl/einsum.h"
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
  std::string spec;
  std::vector<Tensor> ops;
  auto letter = [](size_t id) { return id < 26 ? char('a' + id) : char('A' + id - 26); };
  for (const auto& a : g.body) {
    if (!ops.empty()) spec += ',';
    for (const auto& t : a.args) {
      size_t k = std::find(vars.begin(), vars.end(), t.text) - vars.begin();
      if (k == vars.size()) {
        if (vars.size() >= 52)
          TL_THROW(ValueError, where(source, g.loc), "aggregate with more than 52 variables");
        vars.push_back(t.text);
      }
      spec += letter(k);
    }
    ops.push_back(db.relations.at(a.rel));
  }
  spec += "->";
  for (size_t k = 0; k < vars.size(); ++k) spec += letter(k);
  Tensor joined = einsum(spec, ops);  // bool [N]*vars: the true bindings

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
  if (joined.dtype() == DType::boolean) {
    // The join is dense (N^vars) but sparse in content: scan its bytes and unravel only the true ones (a
    // strided read per entry made a 4-variable aggregate over 26 symbols take ~1 s in the fuzz build).
    const Tensor jc = joined.contiguous();
    const auto* p = static_cast<const uint8_t*>(jc.raw_data());
    const Shape& sh = jc.shape();
    std::vector<int64_t> idx(sh.size());
    for (int64_t lin = 0, n = jc.numel(); lin < n; ++lin) {
      if (!p[lin]) continue;
      for (int64_t d = int64_t(sh.size()) - 1, rem = lin; d >= 0; --d) {
        idx[size_t(d)] = rem % sh[size_t(d)];
        rem /= sh[size_t(d)];
      }
      visit(idx);
    }
  } else {
    for_each_index(joined.shape(), [&](std::span<const int64_t> idx) {
      if (joined.get(idx) != 0) visit(idx);
    });
  }
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
