// The executor: compiles a verified graph once (node order, liveness, a memory plan that packs intermediates
// into one arena so values whose lifetimes don't overlap share memory) and runs it many times with inputs and
// parameters bound by name. Views (reshape of contiguous data, transpose, slice) copy nothing. Parallelism
// comes from the kernels (OpenMP); set the thread count with tl::set_num_threads. An Executor is not
// reentrant: one run() at a time.
//
//   Executor ex(g);
//   ex.bind_param("w", w);                                   // kept across runs
//   auto out = ex.run({{"x", x}});                           // out["z"]
//   std::printf("%s\n", ex.memory_plan().describe().c_str());
#pragma once
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tl/graph.h"
#include "tl/tensor.h"

namespace tl {

// One buffer request and its placement. Live range [first, last] in node indices, inclusive.
struct BufferSlot {
  Value value;        // the value (the root of any views onto it) stored there
  size_t bytes = 0;   // rounded up to 64
  int first = 0, last = 0;
  size_t offset = 0;  // bytes into the arena (set by plan_memory)
};

struct MemoryPlan {
  std::vector<BufferSlot> slots;
  size_t arena_bytes = 0;  // the peak: size of the one arena all slots live in
  size_t naive_bytes = 0;  // sum of all slot sizes (a fresh buffer per value)
  // "arena 12.0 KiB for 9 buffers (naive 40.0 KiB, 30%)".
  std::string describe() const;
};

// Assigns offsets: slots sorted by size (largest first), each put in the smallest gap between the already
// placed slots whose live ranges overlap its own (best fit), else above them. With reuse == false every slot
// gets its own range (the naive plan). Exposed for tests and tools.
MemoryPlan plan_memory(std::vector<BufferSlot> slots, bool reuse = true);

// Per-op wall time summed over every Executor::run in the process while profiling is on (off by default; one
// relaxed atomic load per node when off). Ops are keyed by their text-form name ("linear", "add", "rms_norm");
// views count with ~0 time. Each run merges its times under a lock when it ends, so concurrent executors may
// profile at once. `tlt bench --profile` prints it.
struct OpProfileEntry {
  std::string op;
  int64_t calls = 0;
  double seconds = 0;
};
void set_op_profiling(bool on);
void reset_op_profile();
std::vector<OpProfileEntry> op_profile();  // most time first

struct ExecutorOptions {
  bool reuse_memory = true;  // false: one buffer per intermediate (for debugging and comparison)
  // Ops that allow it (OpDef::in_place: elementwise and row-wise) write their output over an operand of the
  // same type whose last use they are, so an einsum -> bias -> residual -> norm chain needs one buffer.
  // Only with reuse_memory.
  bool in_place = true;
};

class Executor {
 public:
  // Verifies the graph (throws ValueError listing problems) and plans memory. The graph is copied.
  explicit Executor(const Graph& g, ExecutorOptions opt = {});
  ~Executor();
  Executor(Executor&&) noexcept;
  Executor& operator=(Executor&&) noexcept;

  // Binds a parameter for all later runs (checked against the declared dtype and shape).
  void bind_param(const std::string& name, const Tensor& value);
  // Runs the graph. `inputs` holds every graph input, and any parameter not bound with bind_param (a
  // parameter given here overrides the bound one for this run). Missing, unknown or mis-typed tensors throw
  // ValueError / ShapeError naming the tensor, the expected and the actual. Returns outputs by output name;
  // they are fresh tensors owned by the caller.
  std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& inputs);
  // As run(inputs), but each output named in `into` is written into the caller's tensor (any layout, e.g. a
  // slice of a KV cache; same shape and dtype) after the last node and left out of the result: one copy
  // instead of the copy out of the arena that returning a view output costs, then the caller's. An input may
  // share that memory (nothing is written before every node has run; outputs are written in graph order).
  // An unknown output name or a mis-typed tensor throws before anything runs.
  std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& inputs,
                                    const std::map<std::string, Tensor>& into);

  const Graph& graph() const;
  const MemoryPlan& memory_plan() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Convenience: compile and run once.
std::map<std::string, Tensor> run_graph(const Graph& g, const std::map<std::string, Tensor>& inputs);

}  // namespace tl
