// Internal pieces of the einsum engine shared between its files (not a public header).
#pragma once
#include <bitset>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tl/einsum.h"
#include "tl/tensor.h"

namespace tl::einsum_detail {

// Labels are small integers: 'A'..'Z' -> 0..25, 'a'..'z' -> 26..51 (ASCII order, so sorting ids sorts the way
// NumPy's implicit output does), ellipsis dim j (0 = leftmost of the broadcast ellipsis) -> 52 + j.
constexpr int kFirstEllipsisLabel = 52;
constexpr int kMaxLabels = 128;
constexpr int kMaxOperands = kEinsumMaxOperands;
using LabelSet = std::bitset<kMaxLabels>;

// A spec bound to operand shapes: validated, ellipsis expanded, label sizes broadcast.
struct Bound {
  std::vector<std::vector<int>> inputs;  // label of each dim, per operand (repeats kept: diagonals)
  std::vector<int> output;               // label of each output dim
  std::vector<int64_t> size;             // per label id (1 when the label only ever has size 1)
  std::vector<bool> used;                // per label id: appears in some input
  int num_labels = 0;                    // ids are < num_labels
  std::string normalized;                // explicit spec, ellipsis written as "..."
};

// Parses and validates `spec` against `shapes` (throws ParseError / ShapeError naming operand, subscript, shapes).
Bound bind(const std::string& spec, const std::vector<Shape>& shapes);
// One character per label for step specs: the letter itself, unused letters for ellipsis dims.
std::vector<std::string> label_names(const Bound& b);

// Executable plan: label tables only; strides are looked at when it runs.
struct Compiled {
  Bound bound;
  Shape output_shape;
  std::vector<std::vector<int>> prepared;  // per operand: unique labels after diagonal + dropping size-1 dims
  std::vector<std::vector<int>> kept;      // per operand: `prepared` minus labels summed out up front
  std::vector<int> out_labels;             // output labels whose size is not 1, in output order
  struct Step {
    EinsumStep::Kind kind;
    std::vector<int> pos;     // positions in the current list; removed, result appended (as opt_einsum)
    std::vector<int> result;  // result labels (order is a hint; the final step uses out_labels)
  };
  std::vector<Step> steps;  // contract / loop steps only (reduce and finish are implied by the tables)
};

// Contraction order over prepared label sets. Returns steps with result label sets; fills flops etc.
struct PathResult {
  std::vector<std::vector<int>> path;
  std::vector<LabelSet> results;  // result set per path entry
  std::string strategy;
};
PathResult find_path(const std::vector<LabelSet>& ops, const LabelSet& out, const std::vector<double>& size,
                     const EinsumOptions& opt);
double set_size(const LabelSet& s, const std::vector<double>& size);
// opt_einsum's flop_count: size(U) * (max(1, terms - 1) + (inner ? 1 : 0)).
double flop_count(const LabelSet& all, bool inner, int terms, const std::vector<double>& size);

// A tensor whose dims are labelled (unique labels, no size-1 dims).
struct Item {
  Tensor t;
  std::vector<int> labels;
  int64_t stride(int label) const;  // 0 when the label is absent
};

// out[result] = sum over the other labels of prod_k ops[k]; `out` is any strided view labelled by `result`
// (every label of `result` must be a dim of out, in order). T is float, int64_t or uint8_t (bool).
template <class T>
void loop_contract(const std::vector<const Item*>& ops, const Item& out, const std::vector<int64_t>& size);

// Pairwise float contraction through (batched) GEMM where it pays off, else the loop kernel. When `target` is
// given (labels = result order), the result is written there; otherwise a fresh tensor is returned.
Item contract_pair_f32(const Item& a, const Item& b, const std::vector<int>& result, const Item* target,
                       const std::vector<int64_t>& size);
// Same decision, without running: true when the pair would go to GEMM (for plans), with its group labels.
bool pair_uses_gemm(const std::vector<int>& a, const std::vector<int>& b, const std::vector<int>& result,
                    const std::vector<int64_t>& size, std::vector<int>* batch, std::vector<int>* m,
                    std::vector<int>* k, std::vector<int>* n);

bool has_label(const std::vector<int>& v, int l);
// The plan cache behind einsum_plan (and einsum/einsum_into, which use the default options).
std::shared_ptr<const EinsumPlan> cached_plan(const std::string& spec, const std::vector<Shape>& shapes,
                                              const EinsumOptions& opt);

// Thread-local counters behind einsum_stats().
EinsumStats& stats();

}  // namespace tl::einsum_detail
