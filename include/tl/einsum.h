// Einsum with NumPy semantics: explicit/implicit output, repeated labels (diagonals, traces), `...` broadcasting,
// size-1 label broadcasting, any number of operands, zero-size dims, upper/lower case labels.
//
// dtypes: f32/f16/bf16 inputs compute in f32 and give f32; all-integer (i32/i64) inputs give i64 computed exactly
// (wrapping on overflow like NumPy); all-bool inputs give bool with OR-of-ANDs; any float mixed in gives f32;
// bool mixed with integers gives i64.
//
// Contraction order for 3+ operands is chosen by a cost model (optimal dynamic programming over subsets for few
// operands, greedy for many) with an optional memory budget for intermediates. Pairwise steps are lowered to
// (batched) GEMM through tl::sgemm_batched with strides/transposes instead of copies where the layout allows.
//
// FLOP convention (the same as opt_einsum's helpers.flop_count, so numbers compare directly): a step over the
// label set U that combines `t` terms costs  size(U) * (max(1, t - 1) + (1 if it sums a label out else 0)),
// where size(U) is the product of the label sizes. A pairwise contraction with a summed label costs 2*size(U),
// an outer/Hadamard product size(U). The total is the sum over steps (unary pre-reductions included).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tl/tensor.h"

namespace tl {

// numpy.einsum(spec, *operands) with the dtype rules above.
Tensor einsum(const std::string& spec, const std::vector<Tensor>& operands);
// Same, writing into a preallocated contiguous output of the right shape and dtype (used by the executor's
// memory plan); throws ShapeError if `out` has the wrong shape or dtype.
void einsum_into(const std::string& spec, const std::vector<Tensor>& operands, const Tensor& out);
// The reference: nested loops over all labels accumulating in double (floats), wrapping uint64 (integers) or
// OR/AND (bool). Kept forever.
Tensor einsum_naive(const std::string& spec, const std::vector<Tensor>& operands);
// Output shape and dtype for input shapes/dtypes (validates the spec; used for graph shape inference).
Shape einsum_output_shape(const std::string& spec, const std::vector<Shape>& shapes);
DType einsum_output_dtype(const std::vector<DType>& dtypes);

enum class EinsumStrategy : uint8_t {
  automatic,  // optimal for <= optimal_max_operands operands, greedy beyond
  optimal,    // dynamic programming over subsets (exact minimum FLOPs under the budget); O(3^n)
  greedy,     // opt_einsum-style greedy: cheapest memory-reducing pair first, outer products last
};

// Most operands one spec may have (NumPy allows 64): the greedy order search keeps a cost per pair.
inline constexpr int kEinsumMaxOperands = 256;

struct EinsumOptions {
  EinsumStrategy strategy = EinsumStrategy::automatic;
  int optimal_max_operands = 8;
  // Largest intermediate allowed, in elements (the final output is exempt); <= 0 means unlimited. When no
  // pairwise order fits, the remaining operands are contracted in one loop step that builds no intermediate.
  int64_t memory_limit = 0;
};

// One step of a plan, in execution order.
struct EinsumStep {
  enum class Kind : uint8_t {
    reduce,    // one operand: take diagonals / sum out labels that appear nowhere else (in place in the list)
    contract,  // two operands
    loop,      // all remaining operands at once (memory budget fallback), no intermediate
    finish,    // one operand left: transpose/reduce/copy into the output
  };
  Kind kind = Kind::contract;
  std::vector<int> operands;  // positions in the current operand list (opt_einsum convention: they are removed
                              // and the result appended at the end; a reduce step replaces its operand in place)
  std::string spec;           // this step as an einsum, e.g. "bsd,df->bsf" (ellipsis dims get unused letters)
  double flops = 0;           // see the convention above
  int64_t result_size = 0;    // elements of the step's result
  bool gemm = false;          // lowered to (batched) GEMM for float inputs (otherwise strided loops)
  std::string gemm_shape;     // "batch x [m, k] x [k, n]" in label groups, e.g. "[bs, d] x [d, f]"
};

namespace einsum_detail {
struct Compiled;  // the executable form (label tables per step); internal
}

struct EinsumPlan {
  std::string spec;                    // normalised explicit spec, e.g. "ij,jk->ik"
  std::vector<Shape> shapes;           // operand shapes the plan is for
  Shape output_shape;
  std::string strategy;                // "single", "pair", "optimal", "greedy", plus " (memory fallback)"
  std::vector<std::vector<int>> path;  // opt_einsum-style contraction path (pairs; one tuple per fallback loop)
  std::vector<EinsumStep> steps;       // all steps including unary reductions and the finish
  double flops = 0;                    // total, by the convention above
  double naive_flops = 0;              // one loop over all labels at once (opt_einsum's "naive" cost)
  int64_t largest_intermediate = 0;    // largest step result in elements (the output included, as opt_einsum)
  std::shared_ptr<const einsum_detail::Compiled> compiled;
  std::string describe() const;
};

// Plans are cached per (spec, shapes, options); 1-2 operands never search.
EinsumPlan einsum_plan(const std::string& spec, const std::vector<Shape>& shapes,
                       const EinsumOptions& options = EinsumOptions());
// Runs a plan made for these operands' shapes (throws ShapeError when they differ).
void einsum_execute(const EinsumPlan& plan, const std::vector<Tensor>& operands, const Tensor& out);

// Counters of the calling thread, to check that lowering copies nothing where it should not.
struct EinsumStats {
  int64_t gemm_calls = 0;       // sgemm_batched calls
  int64_t loop_steps = 0;       // steps run by the strided loop kernel
  int64_t bytes_copied = 0;     // operand/result relayout copies made to feed or drain a GEMM
  int64_t bytes_converted = 0;  // dtype conversions of inputs (f16/bf16/int -> compute type)
};
EinsumStats einsum_stats();
void einsum_reset_stats();

}  // namespace tl
