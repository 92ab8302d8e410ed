// Tensor equations -> graph IR (internal). Checks everything (undefined tensors and names, ranks, index sizes
// that disagree, unknown functions, softmax without a normalised index) and throws before building a node
// that could fail at run time.
#pragma once
#include "ast.h"
#include "tl/graph.h"
#include "tl/tensor.h"

namespace tl::logic {

Graph compile_equations(const ProgramAst& p);

// ---- Op calls and tensor constants (src/logic/equations_ops.cpp)
struct OpCall {
  OpKind kind;
  Attrs attrs;
};
// Names the equation language defines itself (relu, softmax, max, ...), and ops of the graph IR callable
// from .tl (every registered op but the sources input/param/constant).
bool is_equation_function(const std::string& name);
bool is_registered_op(const std::string& name);
// The op and typed attributes of `op(X, Y, key=value, ...)`: the op's defaults overridden by the keyword
// arguments. ParseError naming line:column, the op, the attribute, the expected and the actual.
OpCall resolve_op_call(const Expr& call, const std::string& source);
// The tensor of a typed `const C: dtype[shape] = [...]`; ParseError on a count or value that does not fit.
Tensor const_tensor(const ConstDecl& c, const std::string& source);

}  // namespace tl::logic
