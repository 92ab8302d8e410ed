// Graph passes: each takes a verified graph and rewrites it in place, returning whether it changed anything.
// Passes keep value names (a value that survives keeps its name; new values get names derived from the value
// they help compute, e.g. "%y.c0"), so the result prints deterministically. Graph inputs, params and outputs
// are never removed, and a value that is a graph output is never replaced by another value.
//
//   Graph opt = g;
//   optimize(opt, OptLevel::full);          // dce, cse, fold, simplify, einsum merge/split, ...
//   Executor ex(opt);
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "tl/einsum.h"
#include "tl/graph.h"

namespace tl {

struct PassOptions {
  // Constant folding materialises a folded value only up to this many elements.
  int64_t fold_max_elements = 1 << 16;
  // Einsum chain merging: after merging, split multi-operand einsums back into pairwise steps in the order
  // einsum_plan chooses (with these options).
  bool split_einsums = true;
  EinsumOptions einsum;
  // verify() after every pass even in release builds (it always runs when NDEBUG is not defined).
  bool verify_each = false;
};

// ---- The passes (one per file in src/passes/) --------------------------------------------------------------
// Each expects a verified graph; a node or output referring to a value outside the graph throws ValueError.
// Removes nodes whose value reaches no graph output (input and param nodes are kept).
bool dead_code_elimination(Graph& g, const PassOptions& opt = {});
// Merges nodes with the same op, attributes (constants compared bitwise) and inputs into the first one.
bool common_subexpression_elimination(Graph& g, const PassOptions& opt = {});
// Replaces nodes whose inputs are all constants by a constant (results up to opt.fold_max_elements).
bool constant_folding(Graph& g, const PassOptions& opt = {});
// x*1, 1*x, x+0, 0+x, x-0, x/1 (only where the result has x's dtype and shape), transpose of transpose,
// reshape of reshape, identity transpose/reshape.
bool algebraic_simplification(Graph& g, const PassOptions& opt = {});
// An einsum whose float operand is produced by another einsum used only there becomes one multi-operand
// einsum (the inner one's summed labels relabelled to unused letters).
bool merge_einsum_chains(Graph& g, const PassOptions& opt = {});
// Splits einsums of 3+ operands into pairwise einsums in the order einsum_plan(opt.einsum) chooses.
bool split_einsums(Graph& g, const PassOptions& opt = {});
// act(add(x, b)) with b [last] -> bias_act; softmax(mul(x, scalar constant) [, mask]) over the last axis ->
// scaled_masked_softmax (only where the add / mul result has no other use).
bool elementwise_fusion(Graph& g, const PassOptions& opt = {});
// A product with more than 4 rows (an f32 einsum "P i,o i->P o" with a param weight, or a linear op) whose sole
// use is a bias add, a bias_act or an activation takes it as its epilogue: one linear op with bias and act
// (src/passes/linear_epilogue.cpp).
bool fuse_linear_epilogues(Graph& g, const PassOptions& opt = {});
// Bias-free products of one decode-sized input (at most 4 rows) by several weights of one format -- `linear`
// ops, or f32 einsums "P i,o i->P o" with param weights -- become one linear_group node whose output the old
// values slice (q/k/v, gate/up: one parallel region instead of one per weight; see src/passes/linear_group.cpp).
bool group_linears(Graph& g, const PassOptions& opt = {});

// ---- Pipeline ---------------------------------------------------------------------------------------------
enum class OptLevel : uint8_t {
  none,   // no passes
  basic,  // dce, cse, constant folding, algebraic simplification, cse, dce
  full,   // basic + einsum chain merging (+ splitting when opt.split_einsums), fusion, linear grouping, cse, dce
};

struct Pass {
  std::string name;  // "dce", "cse", "fold", "simplify", "einsum_merge", "einsum_split", "fusion", "linear_group"
  std::function<bool(Graph&, const PassOptions&)> run;
};

// What a pipeline run did, one entry per pass run.
struct PassRecord {
  std::string name;
  bool changed = false;
  size_t nodes_after = 0;
};

// The passes a level runs, in order.
std::vector<Pass> pipeline_passes(OptLevel level, const PassOptions& opt = {});
// Verifies the graph (ValueError listing the problems), then runs the passes in order; verifies the graph after each one when NDEBUG is not defined or opt.verify_each
// is set (throws InternalError naming the pass and the problems if a pass broke the graph).
std::vector<PassRecord> run_passes(Graph& g, const std::vector<Pass>& passes, const PassOptions& opt = {});
std::vector<PassRecord> optimize(Graph& g, OptLevel level, const PassOptions& opt = {});

// "none" / "basic" / "full"; parse throws ValueError naming the accepted spellings.
const char* opt_level_name(OptLevel level);
OptLevel parse_opt_level(const std::string& name);

}  // namespace tl

// ---- Weight formats (src/passes/weight_formats.cpp) --------------------------------------------------------
namespace tl {

// A param consumed only as the weight of linear layers: every use is an einsum "P i,o i->P o" (as nn::linear
// emits: "...i,oi->...o", "bsi,oi->bso") or, transposed, "P i,i o->P o" (GPT-2's Conv1D: "...i,io->...o"),
// with the param as the second operand and an f32 first operand.
struct LinearWeight {
  std::string name;
  int64_t in_features = 0, out_features = 0;  // k, n
  bool transposed = false;                    // the param is [k, n] (the stored weight is its transpose)
  // The param also has other uses (a tied embedding that is also the LM head): its linear uses can read a
  // stored copy (apply_weight_formats' `linear_copies`) while the other uses keep the f32 param.
  bool shared = false;
};
// Every 2-D f32 param of `g` used only as a linear weight, by name; with `include_shared`, also the params that
// have at least one linear use besides other uses (shared = true), as long as all linear uses agree on the layout.
std::vector<LinearWeight> linear_weights(const Graph& g, bool include_shared = false);

// The name under which a shared param's stored copy is bound (apply_weight_formats' `linear_copies`).
std::string linear_copy_name(const std::string& param);

// Rewrites every linear-form einsum whose weight param is named in `formats` into a `linear` op (LinearAttrs)
// and gives that param the format's storage type: f32/f16/bf16 [n, k] or u8 [n, weight_row_bytes(f, k)]
// (always [out, in]: a transposed param's stored weight is its transpose). A following `add` of a 1-D param
// bias [n], when the einsum result has no other use, is folded into the op. Names in `formats` that are not
// params of `g` are ignored (a model's map covers all its graphs). Throws ValueError naming the param when it
// has a use that is not a linear weight (tied embeddings: keep such weights f32), and ShapeError when k is not
// a multiple of the format's block. Returns whether the graph changed.
// `linear_copies` names shared params (LinearWeight::shared, e.g. a tied embedding/LM head): their linear uses
// become `linear` ops on a new param linear_copy_name(name) in that format, their other uses keep the f32 param.
bool apply_weight_formats(Graph& g, const std::map<std::string, WeightFormat>& formats,
                          const std::map<std::string, WeightFormat>& linear_copies = {});

}  // namespace tl
