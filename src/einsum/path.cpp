// Contraction order search: exact dynamic programming over operand subsets for few operands, opt_einsum-style
// greedy for many, both under an optional memory budget for intermediates. Costs follow opt_einsum's
// flop_count so our numbers compare directly with opt_einsum.contract_path.
#include <algorithm>
#include <limits>

#include "einsum/einsum_internal.h"
#include "tl/error.h"

namespace tl::einsum_detail {

double set_size(const LabelSet& s, const std::vector<double>& size) {
  double r = 1;
  for (size_t l = 0; l < size.size(); ++l)
    if (s[l]) r *= size[l];
  return r;
}

double flop_count(const LabelSet& all, bool inner, int terms, const std::vector<double>& size) {
  return set_size(all, size) * (std::max(1, terms - 1) + (inner ? 1 : 0));
}

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int kOptimalHardCap = 16;  // 3^16 subset pairs is the most we ever enumerate

bool over_budget(double sz, const EinsumOptions& opt) { return opt.memory_limit > 0 && sz > double(opt.memory_limit); }

// Turns a binary contraction tree (node -> children; leaves are 0..n-1) into an opt_einsum path on a list where
// contracted entries are removed and the result appended.
void tree_to_path(int n, const std::vector<std::pair<int, int>>& children, const std::vector<LabelSet>& node_set,
                  int root, PathResult& res) {
  std::vector<int> list(n);
  for (int i = 0; i < n; ++i) list[i] = i;
  // Post-order over internal nodes.
  std::vector<int> order;
  std::vector<std::pair<int, bool>> stack{{root, false}};
  while (!stack.empty()) {
    auto [v, expanded] = stack.back();
    stack.pop_back();
    if (v < n) continue;
    if (expanded) {
      order.push_back(v);
      continue;
    }
    stack.push_back({v, true});
    stack.push_back({children[v].second, false});
    stack.push_back({children[v].first, false});
  }
  for (int v : order) {
    int pa = int(std::find(list.begin(), list.end(), children[v].first) - list.begin());
    int pb = int(std::find(list.begin(), list.end(), children[v].second) - list.begin());
    if (pa > pb) std::swap(pa, pb);
    res.path.push_back({pa, pb});
    res.results.push_back(node_set[v]);
    list.erase(list.begin() + pb);
    list.erase(list.begin() + pa);
    list.push_back(v);
  }
}

// Exact minimum total flops over all binary contraction trees (what opt_einsum's `optimal` searches), O(3^n).
bool optimal_path(const std::vector<LabelSet>& ops, const LabelSet& out, const std::vector<double>& size,
                  const EinsumOptions& opt, PathResult& res) {
  const int n = int(ops.size());
  const uint32_t full = (1u << n) - 1;
  std::vector<LabelSet> uni(size_t(full) + 1);
  for (uint32_t s = 1; s <= full; ++s) {
    int low = __builtin_ctz(s);
    uni[s] = uni[s & (s - 1)] | ops[low];
  }
  std::vector<LabelSet> keep(size_t(full) + 1);  // result labels of contracting subset s
  std::vector<double> keep_size(size_t(full) + 1);
  for (uint32_t s = 1; s <= full; ++s) {
    keep[s] = uni[s] & (out | uni[full & ~s]);
    keep_size[s] = set_size(keep[s], size);
  }
  std::vector<double> cost(size_t(full) + 1, kInf), peak(size_t(full) + 1, kInf);
  std::vector<uint32_t> split(size_t(full) + 1, 0);
  for (int i = 0; i < n; ++i) {
    cost[1u << i] = 0;
    peak[1u << i] = 0;
  }
  for (uint32_t s = 1; s <= full; ++s) {
    if ((s & (s - 1)) == 0) continue;
    if (s != full && over_budget(keep_size[s], opt)) continue;
    uint32_t low = s & (~s + 1);
    // Submasks a containing the lowest bit of s: each unordered split once.
    for (uint32_t a = (s - 1) & s; a; a = (a - 1) & s) {
      if (!(a & low)) continue;
      uint32_t b = s ^ a;
      if (cost[a] == kInf || cost[b] == kInf) continue;
      LabelSet all = keep[a] | keep[b];
      bool inner = (all & ~keep[s]).any();
      double c = cost[a] + cost[b] + flop_count(all, inner, 2, size);
      double p = std::max({peak[a], peak[b], keep_size[s]});
      if (c < cost[s] || (c == cost[s] && p < peak[s])) {
        cost[s] = c;
        peak[s] = p;
        split[s] = a;
      }
    }
  }
  if (cost[full] == kInf) return false;
  // Tree nodes: leaves 0..n-1, internal nodes numbered from n.
  std::vector<std::pair<int, int>> children(n);
  std::vector<LabelSet> node_set(ops.begin(), ops.end());
  // Recursion depth is at most n (<= kOptimalHardCap).
  struct Builder {
    std::vector<std::pair<int, int>>& ch;
    std::vector<LabelSet>& sets;
    const std::vector<uint32_t>& split;
    const std::vector<LabelSet>& keep;
    int build(uint32_t s) {
      if ((s & (s - 1)) == 0) return __builtin_ctz(s);
      int a = build(split[s]);
      int b = build(s ^ split[s]);
      ch.push_back({a, b});
      sets.push_back(keep[s]);
      return int(ch.size()) - 1;
    }
  } builder{children, node_set, split, keep};
  int root = builder.build(full);
  tree_to_path(n, children, node_set, root, res);
  return true;
}

// opt_einsum's greedy: repeatedly contract the pair (sharing a label) whose result removes the most memory
// (size(result) - size(a) - size(b), smallest first; ties by fewer flops), then outer products smallest first.
// Under a budget, pairs whose result is too big are skipped; when nothing fits, one loop step takes the rest.
// Pair costs are cached by entry id: a pair is re-costed only when it is new or holds a label whose "held by
// one / by two entries" status the last contraction changed, so a step costs O(m^2) compares, not evaluations.
void greedy_path(const std::vector<LabelSet>& ops, const LabelSet& out, const std::vector<double>& size,
                 const EinsumOptions& opt, PathResult& res) {
  const int n = int(ops.size());
  const int ids = 2 * n - 1;  // leaves 0..n-1, then one id per contraction result
  std::vector<LabelSet> set(ops.begin(), ops.end());
  std::vector<double> set_sz;
  for (const auto& s : set) set_sz.push_back(set_size(s, size));
  std::vector<int> list(size_t(n), 0);  // entry id at each list position
  for (int i = 0; i < n; ++i) list[size_t(i)] = i;
  std::vector<int> cnt(kMaxLabels, 0);  // entries holding each label
  for (const auto& s : set)
    for (int l = 0; l < kMaxLabels; ++l) cnt[size_t(l)] += s[size_t(l)];
  LabelSet c1, c2;  // labels held by exactly one / exactly two entries
  auto classify = [&]() {
    for (int l = 0; l < kMaxLabels; ++l) {
      c1[size_t(l)] = cnt[size_t(l)] == 1;
      c2[size_t(l)] = cnt[size_t(l)] == 2;
    }
  };
  classify();
  struct Cost {
    double key = kInf, flops = kInf;
    int pass = 2;  // 0: shares a label, 1: outer product, 2: over the budget
  };
  std::vector<Cost> cost(size_t(ids) * size_t(ids));
  auto result_of = [&](int a, int b) {
    LabelSet all = set[size_t(a)] | set[size_t(b)];
    return all & ~(all & ~out & (c1 | (c2 & set[size_t(a)] & set[size_t(b)])));
  };
  auto evaluate = [&](int a, int b, bool last) {
    Cost c;
    const LabelSet r = result_of(a, b);
    const double rs = set_size(r, size);
    if (!last && over_budget(rs, opt)) return c;
    const LabelSet all = set[size_t(a)] | set[size_t(b)];
    c.pass = (set[size_t(a)] & set[size_t(b)]).any() ? 0 : 1;
    c.key = c.pass == 0 ? rs - set_sz[size_t(a)] - set_sz[size_t(b)] : rs;
    c.flops = flop_count(all, (all & ~r).any(), 2, size);
    return c;
  };
  auto at = [&](int a, int b) -> Cost& { return cost[size_t(std::min(a, b)) * size_t(ids) + size_t(std::max(a, b))]; };
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j) at(i, j) = evaluate(i, j, n == 2);
  int next_id = n;
  while (list.size() > 1) {
    const int m = int(list.size());
    int bi = -1, bj = -1;
    for (int pass = 0; pass < 2 && bi < 0; ++pass) {
      double best_key = kInf, best_flops = kInf;
      for (int i = 0; i < m; ++i)
        for (int j = i + 1; j < m; ++j) {
          const Cost& c = at(list[size_t(i)], list[size_t(j)]);
          if (c.pass != pass || c.key > best_key) continue;
          if (c.key < best_key || c.flops < best_flops) {
            best_key = c.key;
            best_flops = c.flops;
            bi = i;
            bj = j;
          }
        }
    }
    if (bi < 0) {  // nothing fits the budget: one loop over everything left, no intermediate
      std::vector<int> all(size_t(m), 0);
      for (int i = 0; i < m; ++i) all[size_t(i)] = i;
      res.path.push_back(all);
      res.results.push_back(out);
      res.strategy += " (memory fallback)";
      return;
    }
    const int a = list[size_t(bi)], b = list[size_t(bj)];
    const LabelSet r = result_of(a, b);
    res.path.push_back({bi, bj});
    res.results.push_back(r);
    list.erase(list.begin() + bj);
    list.erase(list.begin() + bi);
    const int id = next_id++;
    set.push_back(r);
    set_sz.push_back(set_size(r, size));
    list.push_back(id);
    for (int l = 0; l < kMaxLabels; ++l)
      cnt[size_t(l)] += int(r[size_t(l)]) - int(set[size_t(a)][size_t(l)]) - int(set[size_t(b)][size_t(l)]);
    const LabelSet old1 = c1, old2 = c2;
    classify();
    const LabelSet changed = (old1 ^ c1) | (old2 ^ c2);
    const bool last = list.size() == 2;
    for (size_t i = 0; i < list.size(); ++i)
      for (size_t j = i + 1; j < list.size(); ++j) {
        const int x = list[i], y = list[j];
        if (y == id || last || ((set[size_t(x)] | set[size_t(y)]) & changed).any()) at(x, y) = evaluate(x, y, last);
      }
  }
}

}  // namespace

PathResult find_path(const std::vector<LabelSet>& ops, const LabelSet& out, const std::vector<double>& size,
                     const EinsumOptions& opt) {
  PathResult res;
  const int n = int(ops.size());
  if (n == 1) {
    res.strategy = "single";
    return res;
  }
  if (n == 2) {  // no search
    res.strategy = "pair";
    res.path.push_back({0, 1});
    res.results.push_back(out);
    return res;
  }
  bool want_optimal = opt.strategy == EinsumStrategy::optimal ||
                      (opt.strategy == EinsumStrategy::automatic && n <= opt.optimal_max_operands);
  if (want_optimal && n > kOptimalHardCap) {
    want_optimal = false;
    res.strategy = "greedy (too many operands for optimal)";
  }
  if (want_optimal) {
    res.strategy = "optimal";
    if (optimal_path(ops, out, size, opt, res)) return res;
    res.strategy = "greedy (no optimal order fits the memory limit)";
  } else if (res.strategy.empty()) {
    res.strategy = "greedy";
  }
  greedy_path(ops, out, size, opt, res);
  return res;
}

}  // namespace tl::einsum_detail
