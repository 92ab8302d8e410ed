// The executor: storage assignment per value, liveness, the arena, and the run loop.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <unordered_map>

#include "tl/kernels.h"
#include "tl/ops.h"
#include "tl/runtime.h"

namespace tl {

namespace {

enum class Storage : uint8_t {
  source,  // input / param / constant: bound, never written
  arena,   // an intermediate with a slot in the arena
  fresh,   // a graph output computed by a kernel: a new tensor each run, handed to the caller
  view,    // a view of another value's storage (root says whose)
};

std::atomic<bool> g_profiling{false};
std::mutex g_profile_mu;
std::map<std::string, OpProfileEntry>& profile_table() {  // guarded by g_profile_mu
  static std::map<std::string, OpProfileEntry> t;
  return t;
}

}  // namespace

void set_op_profiling(bool on) { g_profiling.store(on, std::memory_order_relaxed); }

void reset_op_profile() {
  std::lock_guard<std::mutex> lock(g_profile_mu);
  profile_table().clear();
}

std::vector<OpProfileEntry> op_profile() {
  std::vector<OpProfileEntry> v;
  {
    std::lock_guard<std::mutex> lock(g_profile_mu);
    for (const auto& [name, e] : profile_table()) v.push_back(e);
  }
  std::stable_sort(v.begin(), v.end(),
                   [](const OpProfileEntry& a, const OpProfileEntry& b) { return a.seconds > b.seconds; });
  return v;
}

struct Executor::Impl {
  Graph g;
  ExecutorOptions opt;
  std::vector<Storage> storage;      // per value
  std::vector<int> root;             // per value: the value owning the memory (itself unless a view)
  std::vector<Tensor> arena_views;   // per value: its arena tensor (arena values only)
  MemoryPlan plan;
  std::shared_ptr<void> arena;
  std::vector<Tensor> bound;         // per value: the tensor bind_param gave a parameter (else undefined)
  std::vector<Tensor> vals;          // per value, during a run
  // Source nodes by name (inputs and parameters), so binding a run's tensors costs O(inputs) instead of a
  // scan over all nodes per name (decode steps bind ~2 tensors per layer).
  std::unordered_map<std::string, size_t> source_nodes;
  std::vector<Tensor> ins;           // scratch for one node's operands, reused across nodes and runs
  std::unordered_map<std::string, size_t> output_index;  // output name -> index in g.outputs() (run's `into`)
  // Per node: the values last read there (outputs excepted), dropped after it runs. A view that had to copy
  // (reshape of a transposed value) owns a fresh buffer, which would otherwise live until the run ends.
  std::vector<std::vector<int32_t>> dead_after;
  // Profiling (set_op_profiling): per node its op name (made on the first profiled run) and this run's seconds.
  std::vector<std::string> prof_names;
  std::vector<double> prof_seconds;

  void profile_merge() {
    std::lock_guard<std::mutex> lock(g_profile_mu);
    auto& table = profile_table();
    for (size_t i = 0; i < prof_names.size(); ++i) {
      if (prof_names[i].empty()) continue;  // sources and constants
      OpProfileEntry& e = table[prof_names[i]];
      e.op = prof_names[i];
      e.calls += 1;
      e.seconds += prof_seconds[i];
    }
  }

  void compile() {
    verify(g);
    const size_t nv = g.values().size(), nn = g.nodes().size();
    storage.assign(nv, Storage::arena);
    bound.assign(nv, Tensor());
    root.resize(nv);
    for (size_t v = 0; v < nv; ++v) root[v] = int(v);
    std::vector<bool> is_output(nv, false);
    for (const GraphOutput& o : g.outputs()) is_output[size_t(o.value.id)] = true;
    for (size_t i = 0; i < g.outputs().size(); ++i) output_index.emplace(g.outputs()[i].name, i);
    for (const Node& n : g.nodes()) {
      const OpDef& d = op_def(n.kind);
      size_t o = size_t(n.output.id);
      if (n.kind == OpKind::input || n.kind == OpKind::param || n.kind == OpKind::constant) {
        storage[o] = Storage::source;
        if (n.kind != OpKind::constant) source_nodes.emplace(g.info(n.output).name, size_t(&n - g.nodes().data()));
      } else if (d.view) {
        storage[o] = Storage::view;
        root[o] = root[size_t(n.inputs[0].id)];
      } else {
        storage[o] = is_output[o] ? Storage::fresh : Storage::arena;
      }
    }
    // Live range of each arena root: from its definition to the last use of it or any view onto it. A view
    // that is a graph output is copied out after the last node, so its root lives to the end.
    std::vector<int> first(nv, -1), last(nv, -1);
    for (size_t i = 0; i < nn; ++i) {
      const Node& n = g.nodes()[i];
      size_t o = size_t(n.output.id);
      if (storage[o] == Storage::arena) first[o] = last[o] = int(i);
      for (Value in : n.inputs) {
        size_t r = size_t(root[size_t(in.id)]);
        last[r] = std::max(last[r], int(i));
      }
    }
    for (const GraphOutput& o : g.outputs()) {
      size_t r = size_t(root[size_t(o.value.id)]);
      last[r] = int(nn);
    }
    // In place: an op that may overwrite an operand (OpDef::in_place) writes its arena output into the buffer
    // of an operand of the same type that dies there. `holder` maps each arena root to the root whose slot
    // holds it; a chain (einsum -> bias add -> residual add -> norm) shares one slot, whose life spans them all.
    std::vector<int> holder(nv);
    for (size_t v = 0; v < nv; ++v) holder[v] = int(v);
    if (opt.reuse_memory && opt.in_place)
      for (size_t i = 0; i < nn; ++i) {
        const Node& n = g.nodes()[i];
        const size_t o = size_t(n.output.id);
        if (!op_def(n.kind).in_place || storage[o] != Storage::arena) continue;
        for (Value in : n.inputs) {
          const size_t v = size_t(in.id);
          // The operand itself must own its memory (a view's layout may differ from the output's).
          if (storage[v] != Storage::arena || root[v] != int(v) || !(g.values()[v].type == g.values()[o].type))
            continue;
          const size_t h = size_t(holder[v]);
          if (last[h] != int(i)) continue;  // the buffer is read after this node
          holder[o] = int(h);
          last[h] = std::max(last[h], last[o]);
          break;
        }
      }
    std::vector<int> last_read(nv, -1);
    for (size_t i = 0; i < nn; ++i)
      for (Value in : g.nodes()[i].inputs) last_read[size_t(in.id)] = int(i);
    dead_after.assign(nn, {});
    for (size_t v = 0; v < nv; ++v)
      if (last_read[v] >= 0 && !is_output[v]) dead_after[size_t(last_read[v])].push_back(int32_t(v));
    std::vector<BufferSlot> slots;
    for (size_t v = 0; v < nv; ++v) {
      if (storage[v] != Storage::arena || holder[v] != int(v)) continue;
      const ValueType& t = g.values()[v].type;
      slots.push_back(BufferSlot{Value{int32_t(v)}, size_t(shape_numel(t.shape)) * dtype_size(t.dtype), first[v], last[v], 0});
    }
    plan = plan_memory(std::move(slots), opt.reuse_memory);
    size_t bytes = std::max<size_t>(plan.arena_bytes, 64);
    void* mem = std::aligned_alloc(64, bytes);
    if (!mem) TL_THROW(Error, "executor: cannot allocate an arena of ", bytes, " bytes for graph '", g.name(), "'");
    arena = std::shared_ptr<void>(mem, std::free);
    arena_views.assign(nv, Tensor());
    std::vector<size_t> offset(nv, 0);
    for (const BufferSlot& s : plan.slots) offset[size_t(s.value.id)] = s.offset;
    for (size_t v = 0; v < nv; ++v) {
      if (storage[v] != Storage::arena) continue;
      const ValueType& t = g.values()[v].type;
      arena_views[v] = Tensor::wrap(static_cast<uint8_t*>(mem) + offset[size_t(holder[v])], t.shape, t.dtype, arena);
    }
  }

  static void check_tensor(const char* kind, const std::string& name, const ValueType& want, const Tensor& t) {
    if (t.dtype() != want.dtype)
      TL_THROW(ValueError, "executor: ", kind, " '", name, "' has dtype ", dtype_name(t.dtype()), ", expected ",
               dtype_name(want.dtype), " (declared ", type_str(want), ")");
    if (t.shape() != want.shape)
      TL_THROW(ShapeError, "executor: ", kind, " '", name, "' has shape ", shape_str(t.shape()), ", expected ",
               shape_str(want.shape), " (declared ", type_str(want), ")");
  }

  std::string names_of(OpKind kind) const {
    std::string s;
    for (const Node& n : g.nodes())
      if (n.kind == kind) s += (s.empty() ? "" : ", ") + g.info(n.output).name;
    return s.empty() ? "(none)" : s;
  }

  const GraphOutput* find_output(const std::string& name) const {
    auto it = output_index.find(name);
    return it == output_index.end() ? nullptr : &g.outputs()[it->second];
  }

  std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& inputs,
                                    const std::map<std::string, Tensor>& into) {
    for (const auto& [name, t] : into) {
      const GraphOutput* o = find_output(name);
      if (!o) {
        std::string names;
        for (const GraphOutput& x : g.outputs()) names += (names.empty() ? "" : ", ") + x.name;
        TL_THROW(ValueError, "executor: '", name, "' is not an output of graph '", g.name(), "' (outputs: ",
                 names.empty() ? "(none)" : names, ")");
      }
      if (!t.defined()) TL_THROW(ValueError, "executor: the tensor given for output '", name, "' is undefined");
      check_tensor("output", name, g.type(o->value), t);
    }
    const size_t nv = g.values().size();
    vals.assign(nv, Tensor());
    // Every name given must be an input or a parameter (a parameter given here overrides the bound one).
    for (const auto& [name, t] : inputs) {
      auto it = source_nodes.find(name);
      if (it == source_nodes.end())
        TL_THROW(ValueError, "executor: '", name, "' is not an input or parameter of graph '", g.name(),
                 "' (inputs: ", names_of(OpKind::input), "; params: ", names_of(OpKind::param), ")");
      const Node& n = g.nodes()[it->second];
      check_tensor(n.kind == OpKind::input ? "input" : "parameter", name, g.type(n.output), t);
      vals[size_t(n.output.id)] = t;
    }
    const bool profiling = g_profiling.load(std::memory_order_relaxed);
    if (profiling) {
      if (prof_names.empty()) {
        prof_names.resize(g.nodes().size());
        for (size_t i = 0; i < g.nodes().size(); ++i) {
          const Node& n = g.nodes()[i];
          if (n.kind != OpKind::input && n.kind != OpKind::param && n.kind != OpKind::constant)
            prof_names[i] = op_def(n.kind).op_name(n.attrs);
        }
      }
      prof_seconds.assign(g.nodes().size(), 0.0);
    }
    using Clock = std::chrono::steady_clock;
    for (const Node& n : g.nodes()) {
      size_t o = size_t(n.output.id);
      const ValueInfo& vi = g.values()[o];
      if (n.kind == OpKind::input || n.kind == OpKind::param) {
        if (vals[o].defined()) continue;
        if (n.kind == OpKind::param && bound[o].defined()) {  // checked by bind_param
          vals[o] = bound[o];
          continue;
        }
        TL_THROW(ValueError, "executor: missing ", n.kind == OpKind::input ? "input" : "parameter", " '", vi.name,
                 "' (", type_str(vi.type), ") of graph '", g.name(), "'");
      }
      const OpDef& d = op_def(n.kind);
      if (n.kind == OpKind::constant) {
        vals[o] = std::get<ConstantAttrs>(n.attrs).value;
        continue;
      }
      // Operands are moved into `ins` and back after the kernel: a Tensor copy allocates its shape and strides,
      // and a decode step runs every node once (a value used twice in one node is copied the second time).
      ins.clear();
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        size_t first = i;
        for (size_t j = 0; j < i && first == i; ++j)
          if (n.inputs[j].id == n.inputs[i].id) first = j;
        ins.push_back(first == i ? std::move(vals[size_t(n.inputs[i].id)]) : ins[first]);
      }
      auto give_back = [&] {  // the first occurrence of each operand goes back (moved-from tensors stay "defined")
        for (size_t i = 0; i < n.inputs.size(); ++i) {
          bool first = true;
          for (size_t j = 0; j < i && first; ++j) first = n.inputs[j].id != n.inputs[i].id;
          if (first) vals[size_t(n.inputs[i].id)] = std::move(ins[i]);
        }
      };
      const size_t i = size_t(&n - g.nodes().data());
      const Clock::time_point t0 = profiling ? Clock::now() : Clock::time_point();
      if (storage[o] == Storage::view) {
        Tensor view = d.view(n.attrs, ins[0]);
        give_back();
        vals[o] = std::move(view);
      } else {
        Tensor out = storage[o] == Storage::fresh ? Tensor::empty(vi.type.shape, vi.type.dtype) : arena_views[o];
        d.kernel(n.attrs, ins, out);
        give_back();
        vals[o] = std::move(out);
      }
      for (int32_t v : dead_after[i]) vals[size_t(v)] = Tensor();
      if (profiling) prof_seconds[i] = std::chrono::duration<double>(Clock::now() - t0).count();
    }
    ins.clear();
    if (profiling) profile_merge();
    std::map<std::string, Tensor> result;
    std::vector<bool> handed_out(nv, false);
    for (const GraphOutput& o : g.outputs()) {
      size_t v = size_t(o.value.id);
      if (auto it = into.find(o.name); it != into.end()) {
        kernels::copy_to_view(vals[v], it->second);
        continue;
      }
      // Fresh outputs are the caller's already (the first time they are named); views, sources and repeats
      // are copied so no two results, the arena or the caller's inputs ever share memory.
      bool give = storage[v] == Storage::fresh && !handed_out[v];
      handed_out[v] = true;
      result[o.name] = give ? vals[v] : vals[v].clone();
    }
    vals.clear();  // drop references to caller tensors between runs
    return result;
  }
};

Executor::Executor(const Graph& g, ExecutorOptions opt) : impl_(std::make_unique<Impl>()) {
  impl_->g = g;
  impl_->opt = opt;
  impl_->compile();
}
Executor::~Executor() = default;
Executor::Executor(Executor&&) noexcept = default;
Executor& Executor::operator=(Executor&&) noexcept = default;

void Executor::bind_param(const std::string& name, const Tensor& value) {
  auto it = impl_->source_nodes.find(name);
  if (it != impl_->source_nodes.end() && impl_->g.nodes()[it->second].kind == OpKind::param) {
    const Node& n = impl_->g.nodes()[it->second];
    Impl::check_tensor("parameter", name, impl_->g.type(n.output), value);
    impl_->bound[size_t(n.output.id)] = value;
    return;
  }
  TL_THROW(ValueError, "executor: graph '", impl_->g.name(), "' has no parameter '", name, "' (params: ",
           impl_->names_of(OpKind::param), ")");
}

std::map<std::string, Tensor> Executor::run(const std::map<std::string, Tensor>& inputs) { return impl_->run(inputs, {}); }
std::map<std::string, Tensor> Executor::run(const std::map<std::string, Tensor>& inputs,
                                            const std::map<std::string, Tensor>& into) {
  return impl_->run(inputs, into);
}
const Graph& Executor::graph() const { return impl_->g; }
const MemoryPlan& Executor::memory_plan() const { return impl_->plan; }

std::map<std::string, Tensor> run_graph(const Graph& g, const std::map<std::string, Tensor>& inputs) {
  return Executor(g).run(inputs);
}

}  // namespace tl
