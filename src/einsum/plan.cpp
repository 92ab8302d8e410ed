// Einsum plans: label tables per operand (diagonal, dropped size-1 dims, up-front sums), the contraction path
// and its inspectable description. Plans are cached per (spec, shapes, options).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "einsum/einsum_internal.h"
#include "tl/error.h"

namespace tl {

using namespace einsum_detail;

namespace {

std::string fmt_num(double v) {
  char buf[64];
  if (std::fabs(v) < 1e15) std::snprintf(buf, sizeof buf, "%.0f", v);
  else std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

int64_t to_elems(double v) { return v >= 9.2e18 ? INT64_MAX : int64_t(v); }

LabelSet to_set(const std::vector<int>& labels) {
  LabelSet s;
  for (int l : labels) s.set(size_t(l));
  return s;
}

std::string term(const std::vector<int>& labels, const std::vector<std::string>& names) {
  std::string s;
  for (int l : labels) s += names[l];
  return s;
}

EinsumPlan make_plan(const std::string& spec, const std::vector<Shape>& shapes, const EinsumOptions& opt) {
  auto comp = std::make_shared<Compiled>();
  comp->bound = bind(spec, shapes);
  const Bound& b = comp->bound;
  const int n = int(shapes.size());
  const std::vector<std::string> names = label_names(b);
  std::vector<double> dsize(b.size.begin(), b.size.end());

  for (int l : b.output) comp->output_shape.push_back(b.size[l]);
  for (int l : b.output)
    if (b.size[l] != 1) comp->out_labels.push_back(l);
  const LabelSet out_set = to_set(comp->out_labels);

  // Per operand: unique labels (a repeated label becomes one diagonal dim) without its size-1 dims, which
  // broadcast and so never index anything.
  comp->prepared.resize(n);
  for (int i = 0; i < n; ++i)
    for (size_t d = 0; d < b.inputs[i].size(); ++d) {
      int l = b.inputs[i][d];
      if (shapes[i][d] != 1 && !has_label(comp->prepared[i], l)) comp->prepared[i].push_back(l);
    }
  // Labels that appear in one operand only and not in the output are summed out before any contraction.
  comp->kept = comp->prepared;
  if (n >= 2)
    for (int i = 0; i < n; ++i) {
      std::vector<int> k;
      for (int l : comp->prepared[i]) {
        bool elsewhere = out_set[l];
        for (int j = 0; j < n && !elsewhere; ++j) elsewhere = j != i && has_label(comp->prepared[j], l);
        if (elsewhere) k.push_back(l);
      }
      comp->kept[i] = k;
    }

  EinsumPlan p;
  p.spec = b.normalized;
  p.shapes = shapes;
  p.output_shape = comp->output_shape;
  LabelSet used;
  for (int l = 0; l < b.num_labels; ++l) used[l] = b.used[l];
  p.naive_flops = flop_count(used, (used & ~to_set(b.output)).any(), n, dsize);

  auto add_step = [&](EinsumStep s) {
    p.flops += s.flops;
    p.largest_intermediate = std::max(p.largest_intermediate, s.result_size);
    p.steps.push_back(std::move(s));
  };

  if (n == 1) {
    EinsumStep s;
    s.kind = EinsumStep::Kind::finish;
    s.operands = {0};
    s.spec = term(b.inputs[0], names) + "->" + term(b.output, names);
    LabelSet all = to_set(comp->prepared[0]);
    s.flops = flop_count(all, (all & ~out_set).any(), 1, dsize);
    s.result_size = to_elems(set_size(to_set(b.output), dsize));
    add_step(std::move(s));
    p.strategy = "single";
    p.path = {{0}};
  } else {
    for (int i = 0; i < n; ++i) {
      if (comp->kept[i] == comp->prepared[i]) continue;
      EinsumStep s;
      s.kind = EinsumStep::Kind::reduce;
      s.operands = {i};
      s.spec = term(b.inputs[i], names) + "->" + term(comp->kept[i], names);
      s.flops = flop_count(to_set(comp->prepared[i]), true, 1, dsize);
      s.result_size = to_elems(set_size(to_set(comp->kept[i]), dsize));
      add_step(std::move(s));
    }
    std::vector<LabelSet> sets;
    for (const auto& k : comp->kept) sets.push_back(to_set(k));
    PathResult pr = find_path(sets, out_set, dsize, opt);
    p.strategy = pr.strategy;
    p.path = pr.path;
    std::vector<std::vector<int>> list = comp->kept;
    for (size_t e = 0; e < pr.path.size(); ++e) {
      const std::vector<int>& pos = pr.path[e];
      const bool last = e + 1 == pr.path.size();
      std::vector<int> res;  // canonical order: as the labels first appear in the operands
      if (last) {
        res = comp->out_labels;
      } else {
        for (int q : pos)
          for (int l : list[q])
            if (pr.results[e][l] && !has_label(res, l)) res.push_back(l);
      }
      EinsumStep s;
      s.kind = pos.size() == 2 ? EinsumStep::Kind::contract : EinsumStep::Kind::loop;
      s.operands = pos;
      LabelSet all;
      for (size_t q = 0; q < pos.size(); ++q) {
        s.spec += (q ? "," : "") + term(list[pos[q]], names);
        all |= to_set(list[pos[q]]);
      }
      s.spec += "->" + term(res, names);
      s.flops = flop_count(all, (all & ~to_set(res)).any(), int(pos.size()), dsize);
      s.result_size = to_elems(set_size(to_set(res), dsize));
      if (pos.size() == 2) {
        std::vector<int> gb, gm, gk, gn;
        // Describe it as C = A x B with A the operand owning the result's first non-batch label.
        int first = 0;
        for (int l : res)
          if (has_label(list[pos[0]], l) != has_label(list[pos[1]], l)) {
            first = has_label(list[pos[0]], l) ? 0 : 1;
            break;
          }
        s.gemm = pair_uses_gemm(list[pos[first]], list[pos[1 - first]], res, b.size, &gb, &gm, &gk, &gn);
        if (s.gemm)
          s.gemm_shape = (gb.empty() ? "" : "batch [" + term(gb, names) + "] ") + "[" + term(gm, names) + ", " +
                         term(gk, names) + "] x [" + term(gk, names) + ", " + term(gn, names) + "]";
      }
      add_step(std::move(s));
      comp->steps.push_back({p.steps.back().kind, pos, res});
      std::vector<int> sorted = pos;
      std::sort(sorted.rbegin(), sorted.rend());
      for (int q : sorted) list.erase(list.begin() + q);
      list.push_back(res);
    }
  }
  p.compiled = comp;
  return p;
}

std::string options_key(const EinsumOptions& o) {
  return std::to_string(int(o.strategy)) + "/" + std::to_string(o.optimal_max_operands) + "/" +
         std::to_string(o.memory_limit);
}

}  // namespace

namespace einsum_detail {
bool has_label(const std::vector<int>& v, int l) { return std::find(v.begin(), v.end(), l) != v.end(); }

std::shared_ptr<const EinsumPlan> cached_plan(const std::string& spec, const std::vector<Shape>& shapes,
                                              const EinsumOptions& opt) {
  static std::mutex mu;
  static std::unordered_map<std::string, std::shared_ptr<const EinsumPlan>> cache;
  std::string key;
  key.reserve(spec.size() + 64);
  key += spec;
  key += '\x1f';
  char buf[24];
  for (const Shape& s : shapes) {
    for (int64_t d : s) {
      key.append(buf, size_t(std::to_chars(buf, buf + sizeof buf, d).ptr - buf));
      key += ',';
    }
    key += ';';
  }
  if (opt.strategy != EinsumStrategy::automatic || opt.optimal_max_operands != 8 || opt.memory_limit != 0)
    key += '\x1f' + options_key(opt);
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
  }
  auto plan = std::make_shared<const EinsumPlan>(make_plan(spec, shapes, opt));  // may throw: nothing cached
  std::lock_guard<std::mutex> lock(mu);
  if (cache.size() >= 4096) cache.clear();  // bounded; plans are cheap to rebuild
  cache.emplace(key, plan);
  return plan;
}
}  // namespace einsum_detail

EinsumPlan einsum_plan(const std::string& spec, const std::vector<Shape>& shapes, const EinsumOptions& options) {
  return *cached_plan(spec, shapes, options);
}

std::string EinsumPlan::describe() const {
  std::ostringstream os;
  os << "einsum " << spec << "  ";
  for (size_t i = 0; i < shapes.size(); ++i) os << (i ? " " : "") << shape_str(shapes[i]);
  os << " -> " << shape_str(output_shape) << "\n";
  os << "strategy " << strategy << ": " << steps.size() << " step" << (steps.size() == 1 ? "" : "s") << ", "
     << fmt_num(flops) << " flops (naive " << fmt_num(naive_flops) << "), largest intermediate "
     << largest_intermediate << " elements\n";
  os << "path:";
  for (const auto& p : path) {
    os << " (";
    for (size_t i = 0; i < p.size(); ++i) os << (i ? ", " : "") << p[i];
    os << ")";
  }
  os << "\n";
  static const char* kinds[] = {"reduce", "contract", "loop", "finish"};
  for (const EinsumStep& s : steps) {
    std::string ops = "(";
    for (size_t i = 0; i < s.operands.size(); ++i) ops += (i ? ", " : "") + std::to_string(s.operands[i]);
    ops += ")";
    char line[512];
    std::snprintf(line, sizeof line, "  %-8s %-10s %-28s flops %-14s result %-12lld %s\n", kinds[int(s.kind)],
                  ops.c_str(), s.spec.c_str(), fmt_num(s.flops).c_str(), (long long)s.result_size,
                  s.gemm ? ("gemm " + s.gemm_shape).c_str() : (s.kind == EinsumStep::Kind::contract ? "loop" : ""));
    os << line;
  }
  return os.str();
}

}  // namespace tl
