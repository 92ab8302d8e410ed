// Tensor equations -> graph IR (internal). Checks everything (undefined tensors and names, ranks, index sizes
// that disagree, unknown functions, softmax without a normalised index) and throws before building a node
// that could fail at run time.
#pragma once
#include "ast.h"
#include "tl/graph.h"

namespace tl::logic {

Graph compile_equations(const ProgramAst& p);

}  // namespace tl::logic
