// Checkpointing plans (the memory model is described in include/tl/nn/checkpointing.h).
#include <algorithm>
#include <numeric>
#include <sstream>

#include "tl/einsum.h"
#include "tl/error.h"
#include "tl/nn/checkpointing.h"
#include "tl/ops.h"

namespace tl::nn {

namespace {

bool is_source(OpKind k) { return k == OpKind::input || k == OpKind::param || k == OpKind::constant; }
bool is_view(OpKind k) { return op_def(k).view != nullptr && op_def(k).kernel == nullptr; }

int64_t numel(const Shape& s) { return std::accumulate(s.begin(), s.end(), int64_t(1), std::multiplies<>()); }

// Activations (value id -> producing node index), in node order.
struct Acts {
  std::vector<int32_t> values;     // activation value ids
  std::vector<int32_t> node_of;    // per value id: producing node or -1
  std::vector<bool> is_act;        // per value id
};

Acts activations(const Graph& g) {
  Acts a;
  a.node_of.assign(g.values().size(), -1);
  a.is_act.assign(g.values().size(), false);
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const Node& n = g.nodes()[i];
    a.node_of[size_t(n.output.id)] = int32_t(i);
    if (is_source(n.kind) || is_view(n.kind)) continue;
    a.is_act[size_t(n.output.id)] = true;
    a.values.push_back(n.output.id);
  }
  return a;
}

// The value a view chain aliases (views are free; edges pass through them).
int32_t through_views(const Graph& g, const Acts& a, int32_t v) {
  while (a.node_of[size_t(v)] >= 0) {
    const Node& n = g.nodes()[size_t(a.node_of[size_t(v)])];
    if (!is_view(n.kind) || n.inputs.empty()) break;
    v = n.inputs[0].id;
  }
  return v;
}

// Largest connected group of recomputed activations (union-find over node edges between recomputed values).
int64_t largest_segment(const Graph& g, const Acts& a, const std::vector<bool>& recomputed) {
  std::vector<int32_t> parent(g.values().size());
  std::iota(parent.begin(), parent.end(), 0);
  auto find = [&](int32_t x) {
    while (parent[size_t(x)] != x) x = parent[size_t(x)] = parent[size_t(parent[size_t(x)])];
    return x;
  };
  for (int32_t v : a.values) {
    if (!recomputed[size_t(v)]) continue;
    for (Value in : g.nodes()[size_t(a.node_of[size_t(v)])].inputs) {
      const int32_t u = through_views(g, a, in.id);
      if (a.is_act[size_t(u)] && recomputed[size_t(u)]) parent[size_t(find(u))] = find(v);
    }
  }
  std::vector<int64_t> bytes(g.values().size(), 0);
  int64_t best = 0;
  for (int32_t v : a.values)
    if (recomputed[size_t(v)]) best = std::max(best, bytes[size_t(find(v))] += value_bytes(g, Value{v}));
  return best;
}

CheckpointPlan finish(const Graph& g, const Acts& a, const std::vector<bool>& recomputed) {
  CheckpointPlan p;
  for (int32_t v : a.values) {
    const int64_t b = value_bytes(g, Value{v});
    const int64_t f = node_flops(g, g.nodes()[size_t(a.node_of[size_t(v)])]);
    p.baseline_bytes += b;
    p.forward_flops += f;
    if (recomputed[size_t(v)]) {
      p.recomputed.push_back(Value{v});
      p.recompute_flops += f;
    } else {
      p.kept.push_back(Value{v});
      p.kept_bytes += b;
    }
  }
  p.largest_segment_bytes = largest_segment(g, a, recomputed);
  p.peak_bytes = p.kept_bytes + p.largest_segment_bytes;
  return p;
}

}  // namespace

int64_t value_bytes(const Graph& g, Value v) { return numel(g.shape(v)) * int64_t(dtype_size(g.dtype(v))); }

int64_t node_flops(const Graph& g, const Node& n) {
  const int64_t out = numel(g.shape(n.output));
  switch (n.kind) {
    case OpKind::einsum: {
      std::vector<Shape> shapes;
      for (Value v : n.inputs) shapes.push_back(g.shape(v));
      return int64_t(einsum_plan(std::get<EinsumAttrs>(n.attrs).spec, shapes).flops);
    }
    case OpKind::unary:
    case OpKind::binary:
    case OpKind::where:
    case OpKind::cast:
    case OpKind::bias_act: return out;
    case OpKind::reduce: return numel(g.shape(n.inputs[0]));
    case OpKind::softmax:
    case OpKind::scaled_masked_softmax:
    case OpKind::layer_norm:
    case OpKind::rms_norm: return 5 * out;
    case OpKind::attention: {  // q [b,h,sq,d], k [b,hkv,sk,d], out [b,h,sq,dv]: QK^T and PV
      const Shape& q = g.shape(n.inputs[0]);
      const Shape& k = g.shape(n.inputs[1]);
      return 2 * numel(q) * k[2] + 2 * out * k[2];
    }
    case OpKind::moe: {  // router GEMM + each token's routed experts (top_k; dense: all; others ~1 per token)
      const auto& p = std::get<MoeAttrs>(n.attrs).p;
      const Shape& r = g.shape(n.inputs[1]);  // [E, d]
      const int64_t d = r[1], E = r[0], T = out / std::max<int64_t>(d, 1);
      const int64_t f = g.shape(n.inputs[2])[0];
      const int64_t per_token = p.routing == MoeRouting::top_k ? p.top_k : p.routing == MoeRouting::dense ? E : 1;
      return 2 * T * d * E + per_token * T * 2 * d * f * (p.gated ? 3 : 2);
    }
    default: return 0;  // copies and layout
  }
}

void CheckpointConfig::validate() const {
  if (strategy == CheckpointStrategy::uniform) {
    if (every_k < 1) TL_THROW(ValueError, "[checkpoint] every_k = ", every_k, ", expected >= 1");
    if (layer_outputs.empty())
      TL_THROW(ValueError, "[checkpoint] layer_outputs is empty, expected one value per layer for uniform");
  }
  if (strategy == CheckpointStrategy::budget && budget_bytes <= 0)
    TL_THROW(ValueError, "[checkpoint] budget_bytes = ", budget_bytes, ", expected > 0");
}

CheckpointPlan plan_checkpointing(const Graph& g, const CheckpointConfig& cfg) {
  cfg.validate();
  const Acts a = activations(g);
  std::vector<bool> outputs(g.values().size(), false);
  for (const auto& o : g.outputs()) outputs[size_t(through_views(g, a, o.value.id))] = true;
  std::vector<bool> rec(g.values().size(), false);
  switch (cfg.strategy) {
    case CheckpointStrategy::none: break;
    case CheckpointStrategy::uniform: {
      std::vector<bool> keep(g.values().size(), false);
      for (size_t i = 0; i < cfg.layer_outputs.size(); ++i) {
        const Value v = cfg.layer_outputs[i];
        g.info(v);  // throws for a foreign handle
        const int32_t u = through_views(g, a, v.id);
        if (!a.is_act[size_t(u)])
          TL_THROW(ValueError, "[checkpoint] layer_outputs[", i, "] = %", g.info(v).name,
                   " is not an activation (expected a value computed by the graph)");
        if ((int64_t(i) + 1) % cfg.every_k == 0) keep[size_t(u)] = true;
      }
      for (int32_t v : a.values) rec[size_t(v)] = !keep[size_t(v)];
      break;
    }
    case CheckpointStrategy::selective:
      for (int32_t v : a.values) {
        const OpKind k = g.nodes()[size_t(a.node_of[size_t(v)])].kind;
        rec[size_t(v)] = std::find(cfg.recompute_ops.begin(), cfg.recompute_ops.end(), k) != cfg.recompute_ops.end();
      }
      break;
    case CheckpointStrategy::budget: {
      // Candidates by recompute FLOPs per byte saved, cheapest first (ties: larger first, then node order).
      std::vector<int32_t> cand;
      for (int32_t v : a.values)
        if (!outputs[size_t(v)]) cand.push_back(v);
      auto cost = [&](int32_t v) {
        return double(node_flops(g, g.nodes()[size_t(a.node_of[size_t(v)])])) /
               double(std::max<int64_t>(1, value_bytes(g, Value{v})));
      };
      std::stable_sort(cand.begin(), cand.end(), [&](int32_t x, int32_t y) {
        if (cost(x) != cost(y)) return cost(x) < cost(y);
        return value_bytes(g, Value{x}) > value_bytes(g, Value{y});
      });
      int64_t peak = finish(g, a, rec).peak_bytes;
      for (int32_t v : cand) {
        if (peak <= cfg.budget_bytes) break;
        rec[size_t(v)] = true;
        const int64_t np = finish(g, a, rec).peak_bytes;
        if (np <= peak)
          peak = np;
        else
          rec[size_t(v)] = false;  // this choice would merge segments and raise the peak
      }
      if (peak > cfg.budget_bytes)
        TL_THROW(ValueError, "[checkpoint] budget_bytes = ", cfg.budget_bytes,
                 " cannot be met; the smallest peak the plan reaches is ", peak, " bytes");
      break;
    }
  }
  for (size_t v = 0; v < rec.size(); ++v)
    if (outputs[v]) rec[v] = false;  // outputs are always kept
  return finish(g, a, rec);
}

std::string CheckpointPlan::describe(const Graph& g) const {
  std::ostringstream o;
  o << "checkpoint plan: keep " << kept.size() << " activations (" << kept_bytes << " bytes), recompute "
    << recomputed.size() << " (largest segment " << largest_segment_bytes << " bytes)\n  peak " << peak_bytes
    << " bytes vs " << baseline_bytes << " without checkpointing; recompute " << recompute_flops << " FLOPs ("
    << forward_flops << " forward)\n  recomputed:";
  for (Value v : recomputed) o << " %" << g.info(v).name;
  o << "\n";
  return o.str();
}

}  // namespace tl::nn
