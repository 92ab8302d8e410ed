// Arity and safety checks, and stratification (Tarjan's SCCs over the relation dependency graph).
#include <algorithm>
#include <functional>
#include <set>

#include "datalog.h"
#include "tl/error.h"

namespace tl::logic {

std::map<std::string, int> check_datalog(const ProgramAst& p) {
  std::map<std::string, int> arity;
  std::map<std::string, Loc> first;
  auto use = [&](const Atom& a) {
    auto it = arity.find(a.rel);
    if (it == arity.end()) {
      arity[a.rel] = int(a.args.size());
      first[a.rel] = a.loc;
    } else if (it->second != int(a.args.size())) {
      TL_THROW(ValueError, where(p.source, a.loc), "relation '", a.rel, "' used with ", a.args.size(),
               " arguments here but ", it->second, " at line ", first[a.rel].line, ":", first[a.rel].col);
    }
  };
  for (const auto& f : p.facts) use(f);
  for (const auto& r : p.rules) {
    use(r.head);
    for (const auto& a : r.body) use(a);
    std::set<std::string> bound;
    for (const auto& a : r.body)
      if (!a.negated)
        for (const auto& t : a.args)
          if (t.is_var) bound.insert(t.text);
    for (const auto& g : r.aggregates) {
      std::set<std::string> inner;
      for (const auto& a : g.body) {
        use(a);
        for (const auto& t : a.args) {
          if (!t.is_var)
            TL_THROW(ValueError, where(p.source, t.loc), "constant '", t.text,
                     "' inside an aggregate is not supported");
          inner.insert(t.text);
        }
      }
      if (!g.result.is_var)
        TL_THROW(ValueError, where(p.source, g.result.loc), "an aggregate's result must be a variable, got '",
                 g.result.text, "'");
      if (inner.count(g.result.text))
        TL_THROW(ValueError, where(p.source, g.result.loc), "aggregate result '", g.result.text,
                 "' also appears inside its braces");
      if (g.op != AggOp::count && !inner.count(g.target.text))
        TL_THROW(ValueError, where(p.source, g.target.loc), "aggregated variable '", g.target.text,
                 "' does not appear inside the aggregate's braces");
    }
    for (const auto& g : r.aggregates) bound.insert(g.result.text);
    auto need = [&](const Term& t, const char* role) {
      if (t.is_var && !bound.count(t.text))
        TL_THROW(ValueError, where(p.source, t.loc), "unsafe rule for '", r.head.rel, "': variable '", t.text,
                 "' in ", role, " does not appear in a positive body atom");
    };
    for (const auto& t : r.head.args) need(t, "the head");
    for (const auto& a : r.body)
      if (a.negated)
        for (const auto& t : a.args) need(t, "a negated atom");
    for (const auto& c : r.comparisons) {
      need(c.lhs, "a comparison");
      need(c.rhs, "a comparison");
    }
  }
  for (const auto& q : p.queries) {
    bool declared = std::any_of(p.rel_decls.begin(), p.rel_decls.end(),
                                [&](const RelDecl& d) { return d.name == q.rel; });
    if (!arity.count(q.rel) && !declared)
      TL_THROW(ValueError, where(p.source, q.loc), "query of undefined relation '", q.rel, "'");
    use(q);
  }
  return arity;
}

std::vector<std::vector<std::string>> stratify(const ProgramAst& p, const std::map<std::string, int>& arity) {
  std::vector<std::string> names;
  std::map<std::string, int> id;
  for (const auto& [n, a] : arity) {
    id[n] = int(names.size());
    names.push_back(n);
  }
  size_t n = names.size();
  // Edge head -> body relation, negative when the body atom is negated. Evaluation needs the body first.
  // Edge kinds: 0 positive, 1 negated, 2 aggregated (both of the latter need the body relation complete
  // first).
  std::vector<std::vector<std::pair<int, int>>> adj(n);
  for (const auto& r : p.rules) {
    for (const auto& a : r.body) adj[size_t(id[r.head.rel])].push_back({id[a.rel], a.negated ? 1 : 0});
    for (const auto& g : r.aggregates)
      for (const auto& a : g.body) adj[size_t(id[r.head.rel])].push_back({id[a.rel], 2});
  }

  std::vector<int> index(n, -1), low(n, 0), comp(n, -1);
  std::vector<bool> on(n, false);
  std::vector<int> stack;
  std::vector<std::vector<int>> comps;  // Tarjan emits SCCs in reverse topological order: dependencies first
  int counter = 0;
  std::function<void(int)> dfs = [&](int v) {
    index[size_t(v)] = low[size_t(v)] = counter++;
    stack.push_back(v);
    on[size_t(v)] = true;
    for (auto [w, neg] : adj[size_t(v)]) {
      if (index[size_t(w)] < 0) {
        dfs(w);
        low[size_t(v)] = std::min(low[size_t(v)], low[size_t(w)]);
      } else if (on[size_t(w)]) {
        low[size_t(v)] = std::min(low[size_t(v)], index[size_t(w)]);
      }
    }
    if (low[size_t(v)] == index[size_t(v)]) {
      std::vector<int> c;
      int w;
      do {
        w = stack.back();
        stack.pop_back();
        on[size_t(w)] = false;
        comp[size_t(w)] = int(comps.size());
        c.push_back(w);
      } while (w != v);
      comps.push_back(c);
    }
  };
  for (size_t v = 0; v < n; ++v)
    if (index[v] < 0) dfs(int(v));

  // A negative edge inside one component is a cycle through negation: print it.
  for (size_t v = 0; v < n; ++v)
    for (auto [w, neg] : adj[v]) {
      if (!neg || comp[v] != comp[size_t(w)]) continue;
      // Path w -> ... -> v inside the component (BFS), closing the cycle v -!-> w.
      std::vector<int> prev(n, -1);
      std::vector<int> queue{w};
      prev[size_t(w)] = w;
      for (size_t qi = 0; qi < queue.size() && prev[v] < 0; ++qi)
        for (auto [x, nx] : adj[size_t(queue[qi])])
          if (comp[size_t(x)] == comp[v] && prev[size_t(x)] < 0) {
            prev[size_t(x)] = queue[qi];
            queue.push_back(x);
          }
      std::vector<int> path;
      for (int x = int(v); x != w; x = prev[size_t(x)]) path.push_back(x);
      path.push_back(w);
      std::reverse(path.begin(), path.end());  // w ... v
      std::string cycle = names[v] + (neg == 1 ? " <- !" : " <- aggregate ") + names[size_t(w)];
      for (size_t i = 1; i < path.size(); ++i) cycle += " <- " + names[size_t(path[i])];
      TL_THROW(ValueError, "non-stratifiable ", neg == 1 ? "negation" : "aggregate", ": '", names[v],
               "' depends ", neg == 1 ? "negatively" : "through an aggregate", " on '", names[size_t(w)],
               "' through recursion; cycle: ", cycle);
    }
  std::vector<std::vector<std::string>> out;
  for (const auto& c : comps) {
    std::vector<std::string> s;
    for (int v : c) s.push_back(names[size_t(v)]);
    std::sort(s.begin(), s.end());
    out.push_back(s);
  }
  return out;
}

}  // namespace tl::logic
