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
void greedy_path(const std::vector<LabelSet>& ops, const LabelSet& out, const std::vector<double>& size,
                 const EinsumOptions& opt, PathResult& res) {
  std::vector<LabelSet> list(ops.begin(), ops.end());
  while (list.size() > 1) {
    const int m = int(list.size());
    // Labels held by exactly one / exactly two list entries.
    std::vector<int> cnt(kMaxLabels, 0);
    for (const auto& s : list)
      for (int l = 0; l < kMaxLabels; ++l) cnt[l] += s[l];
    LabelSet c1, c2;
    for (int l = 0; l < kMaxLabels; ++l) {
      c1[l] = cnt[l] == 1;
      c2[l] = cnt[l] == 2;
    }
    const bool last = m == 2;
    int bi = -1, bj = -1;
    double best_key = kInf, best_flops = kInf;
    LabelSet best_res;
    for (int pass = 0; pass < 2 && bi < 0; ++pass) {  // pass 0: pairs sharing labels; pass 1: outer products
      for (int i = 0; i < m; ++i)
        for (int j = i + 1; j < m; ++j) {
          bool shares = (list[i] & list[j]).any();
          if ((pass == 0) != shares) continue;
          LabelSet all = list[i] | list[j];
          LabelSet removed = all & ~out & (c1 | (c2 & list[i] & list[j]));
          LabelSet r = all & ~removed;
          double rs = set_size(r, size);
          if (!last && over_budget(rs, opt)) continue;
          double key = pass == 0 ? rs - set_size(list[i], size) - set_size(list[j], size) : rs;
          double fl = flop_count(all, removed.any(), 2, size);
          if (key < best_key || (key == best_key && fl < best_flops)) {
            best_key = key;
            best_flops = fl;
            bi = i;
            bj = j;
            best_res = r;
          }
        }
    }
    if (bi < 0) {  // nothing fits the budget: one loop over everything left, no intermediate
      std::vector<int> all(m);
      for (int i = 0; i < m; ++i) all[i] = i;
      res.path.push_back(all);
      res.results.push_back(out);
      res.strategy += " (memory fallback)";
      return;
    }
    res.path.push_back({bi, bj});
    res.results.push_back(best_res);
    list.erase(list.begin() + bj);
    list.erase(list.begin() + bi);
    list.push_back(best_res);
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
