// Typed graph IR: values carry a dtype and a shape; every node defines exactly one value. Ops are declared
// once (include/tl/ops.h) with a typed attribute struct, arity, shape/dtype inference, attribute codec and
// kernel. The builder infers types and throws at build time; graphs read from text or JSON are checked by
// verify(), which lists every problem with the node index and op name.
//
//   Graph g("mlp");
//   Value x = g.input("x", DType::f32, {2, 3});          // [batch, in]
//   Value w = g.param("w", DType::f32, {3, 4});          // [in, out]
//   Value y = g.einsum("ij,jk->ik", {x, w});             // [batch, out]
//   g.output(g.unary(UnaryOp::relu, y), "z");
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "tl/kernels.h"  // AttentionSparse (shared by the attention op and its kernel)
#include "tl/op_kinds.h"
#include "tl/quant.h"  // WeightFormat (the linear op's weight storage)
#include "tl/tensor.h"

namespace tl {

// A handle to a value of one graph (its index in Graph::values()).
struct Value {
  int32_t id = -1;
  bool valid() const { return id >= 0; }
  auto operator<=>(const Value&) const = default;
};

struct ValueType {
  DType dtype = DType::f32;
  Shape shape;
  bool operator==(const ValueType&) const = default;
};
// "f32[2,3]" (the text form's spelling); "f32[]" for a scalar.
std::string type_str(const ValueType& t);

struct ValueInfo {
  std::string name;  // unique within the graph; printed as %name
  ValueType type;
  bool operator==(const ValueInfo&) const = default;
};

// ---- Op kinds and their typed attributes (one struct per op family) ----------------------------------------
enum class OpKind : uint8_t {
  input, param, constant, einsum, unary, binary, where, cast, reduce, softmax, layer_norm, rms_norm,
  reshape, transpose, concat, slice, gather, repeat, bias_act, scaled_masked_softmax,
  attention,
  moe,
  linear,
  rope,
  linear_group,
};
inline constexpr int kNumOpKinds = int(OpKind::linear_group) + 1;

struct InputAttrs {
  bool operator==(const InputAttrs&) const = default;
};
struct ParamAttrs {
  bool operator==(const ParamAttrs&) const = default;
};
struct ConstantAttrs {
  Tensor value;  // contiguous; shape and dtype equal the output's type
  bool operator==(const ConstantAttrs& o) const;  // bitwise equality of the data
};
struct EinsumAttrs {
  std::string spec;  // e.g. "bhqd,bhkd->bhqk"
  bool operator==(const EinsumAttrs&) const = default;
};
struct UnaryAttrs {
  UnaryOp op;
  bool operator==(const UnaryAttrs&) const = default;
};
struct BinaryAttrs {
  BinaryOp op;
  bool operator==(const BinaryAttrs&) const = default;
};
struct WhereAttrs {  // inputs: cond, a, b (broadcast together)
  bool operator==(const WhereAttrs&) const = default;
};
struct CastAttrs {
  DType to;
  bool operator==(const CastAttrs&) const = default;
};
struct ReduceAttrs {
  ReduceOp op;
  std::vector<int> axes;  // negative counts from the end; empty = all axes
  bool keepdims = false;
  bool operator==(const ReduceAttrs&) const = default;
};
struct SoftmaxAttrs {  // inputs: x, optional additive mask broadcastable to x
  int axis = -1;
  bool operator==(const SoftmaxAttrs&) const = default;
};
struct NormAttrs {  // layer_norm inputs: x, [gamma, [beta]]; rms_norm inputs: x, [gamma]
  int norm_dims = 1;  // normalise over the last norm_dims dims
  float eps = 1e-5f;
  bool operator==(const NormAttrs& o) const;  // eps compared bitwise
};
struct ReshapeAttrs {
  Shape shape;  // fully resolved (no -1)
  bool operator==(const ReshapeAttrs&) const = default;
};
struct TransposeAttrs {
  std::vector<int> perm;  // output dim i = input dim perm[i]
  bool operator==(const TransposeAttrs&) const = default;
};
struct ConcatAttrs {
  int axis = 0;
  bool operator==(const ConcatAttrs&) const = default;
};
struct SliceAttrs {  // Python-style, start/stop clamped like NumPy; step > 0
  int axis = 0;
  int64_t start = 0, stop = 0, step = 1;
  bool operator==(const SliceAttrs&) const = default;
};
struct GatherAttrs {  // numpy.take(x, indices, axis); inputs: x, indices (i32/i64)
  int axis = 0;
  bool operator==(const GatherAttrs&) const = default;
};
struct RepeatAttrs {  // numpy.repeat(x, repeats, axis)
  int64_t repeats = 1;
  int axis = 0;
  bool operator==(const RepeatAttrs&) const = default;
};
// Fused elementwise ops (made by the elementwise_fusion pass, src/passes/elementwise_fusion.cpp).
struct BiasActAttrs {  // y = act(x + b); inputs: x, b (shape [last] or [1,..,1,last]); act: an activation or none
  std::optional<UnaryOp> act;
  bool operator==(const BiasActAttrs&) const = default;
};
struct ScaledMaskedSoftmaxAttrs {  // y = softmax(x * scale + mask, axis=-1); inputs: x, optional mask
  float scale = 1.0f;
  bool operator==(const ScaledMaskedSoftmaxAttrs& o) const;  // scale compared bitwise
};
// Fused attention (src/ir/ops_attention.cpp): inputs q [b,h,sq,d], k [b,hkv,sk,d], v [b,hkv,sk,dv], optional
// additive bias broadcastable to [b,h,sq,sk]; output [b,h,sq,dv]. Query i sits at position sk - sq + i.
struct AttentionAttrs {
  float scale = 1.0f;
  bool causal = false;
  int64_t window = 0;              // 0: none
  AttentionSparse sparse;          // pattern and its parameters (include/tl/kernels.h)
  int64_t block_q = 0, block_k = 0;  // flash tile sizes; 0: kernel default
  // KV-cache decoding: the inputs end with past_k [b,hkv,sp,d], past_v [b,hkv,sp,dv]; the keys/values are
  // concat(past, k/v) on the sequence axis, read in place (kernels::AttentionPast).
  bool past = false;
  bool operator==(const AttentionAttrs& o) const;  // scale compared bitwise
};
// Fused mixture of experts (src/ir/ops_moe.cpp): inputs x [..., d], router [E, d], then per expert w1 [f, d],
// (w3 [f, d] when gated), w2 [d, f]; output [..., d]. Routing and experts: MoeParams (include/tl/kernels.h).
struct MoeAttrs {
  MoeParams p;
  bool operator==(const MoeAttrs&) const = default;
};
// Typed linear layer (src/ir/ops_linear.cpp): inputs x [..., k] f32, w stored in `format` (f32/f16/bf16
// [n, k], block formats u8 [n, weight_row_bytes(format, k)]; include/tl/quant.h), optional bias [n];
// output [..., n] f32 = x W^T (+ bias). Made by the weight_formats pass from "...i,oi->...o" einsums.
// linear_group (src/ir/ops_linear_group.cpp) shares these attributes: inputs x, w_0, w_1, ... (no bias), all
// in `format`; output [..., n_0 + n_1 + ...], the weights' outputs side by side (made by the linear_group pass).
struct LinearAttrs {
  WeightFormat format = WeightFormat::f32;
  int64_t in_features = 0;  // k (block formats cannot recover it from the stored row width alone)
  // linear only: an activation applied after the bias (the GEMM's epilogue; a bias activation, e.g. gelu_erf).
  std::optional<UnaryOp> act;
  bool operator==(const LinearAttrs&) const = default;
};

// Rotary position embedding (src/ir/ops_rope.cpp): rope(x, cos, sin) {interleaved}; x [..., s, hd] float,
// cos/sin [..., s, half] broadcastable -> f32 x's shape (tl::kernels::rope).
struct RopeAttrs {
  bool interleaved = false;  // GPT-J pairs (2i, 2i + 1); else LLaMA's halves (i, i + half)
  bool operator==(const RopeAttrs&) const = default;
};

using Attrs = std::variant<InputAttrs, ParamAttrs, ConstantAttrs, EinsumAttrs, UnaryAttrs, BinaryAttrs, WhereAttrs,
                           CastAttrs, ReduceAttrs, SoftmaxAttrs, NormAttrs, ReshapeAttrs, TransposeAttrs,
                           ConcatAttrs, SliceAttrs, GatherAttrs, RepeatAttrs, BiasActAttrs,
                           ScaledMaskedSoftmaxAttrs, AttentionAttrs, MoeAttrs, LinearAttrs, RopeAttrs>;

struct Node {
  OpKind kind;
  Attrs attrs;
  std::vector<Value> inputs;
  Value output;
  bool operator==(const Node&) const = default;
};

struct GraphOutput {
  Value value;
  std::string name;  // the name results are returned under (usually the value's name)
  bool operator==(const GraphOutput&) const = default;
};

class Graph {
 public:
  explicit Graph(std::string name = "main") : name_(std::move(name)) {}

  const std::string& name() const { return name_; }
  void set_name(std::string n) { name_ = std::move(n); }

  // ---- Builder: each call infers the output type and throws ShapeError/ValueError naming the op, the input
  // index, the expected and the actual. `name` = "" picks a fresh name (%0, %1, ...).
  Value input(const std::string& name, DType dtype, Shape shape);
  Value input(const std::string& name, Shape shape) { return input(name, DType::f32, std::move(shape)); }
  Value param(const std::string& name, DType dtype, Shape shape);
  Value param(const std::string& name, Shape shape) { return param(name, DType::f32, std::move(shape)); }
  Value constant(const Tensor& value, const std::string& name = "");
  Value einsum(const std::string& spec, const std::vector<Value>& xs, const std::string& name = "");
  Value unary(UnaryOp op, Value x, const std::string& name = "");
  Value binary(BinaryOp op, Value a, Value b, const std::string& name = "");
  Value add(Value a, Value b, const std::string& name = "") { return binary(BinaryOp::add, a, b, name); }
  Value sub(Value a, Value b, const std::string& name = "") { return binary(BinaryOp::sub, a, b, name); }
  Value mul(Value a, Value b, const std::string& name = "") { return binary(BinaryOp::mul, a, b, name); }
  Value div(Value a, Value b, const std::string& name = "") { return binary(BinaryOp::div, a, b, name); }
  Value where(Value cond, Value a, Value b, const std::string& name = "");
  Value cast(Value x, DType to, const std::string& name = "");
  Value reduce(ReduceOp op, Value x, std::vector<int> axes, bool keepdims = false, const std::string& name = "");
  Value softmax(Value x, int axis = -1, std::optional<Value> mask = std::nullopt, const std::string& name = "");
  Value layer_norm(Value x, std::optional<Value> gamma, std::optional<Value> beta, int norm_dims = 1,
                   float eps = 1e-5f, const std::string& name = "");
  Value rms_norm(Value x, std::optional<Value> gamma, int norm_dims = 1, float eps = 1e-6f,
                 const std::string& name = "");
  Value reshape(Value x, Shape shape, const std::string& name = "");  // one dim may be -1
  Value transpose(Value x, std::vector<int> perm, const std::string& name = "");
  Value concat(const std::vector<Value>& xs, int axis, const std::string& name = "");
  Value slice(Value x, int axis, int64_t start, int64_t stop, int64_t step = 1, const std::string& name = "");
  Value gather(Value x, Value indices, int axis, const std::string& name = "");
  Value repeat(Value x, int64_t repeats, int axis, const std::string& name = "");
  // Fused ops: act(x + b) with b [last]; softmax(x * scale + mask) over the last axis.
  Value bias_act(Value x, Value b, std::optional<UnaryOp> act, const std::string& name = "");
  Value scaled_masked_softmax(Value x, float scale, std::optional<Value> mask = std::nullopt,
                              const std::string& name = "");
  // y [..., n] = x [..., k] W^T (+ bias [n]), W stored in `format` (LinearAttrs; defined in ops_linear.cpp).
  Value linear(Value x, Value w, std::optional<Value> bias, WeightFormat format, const std::string& name = "");
  // The same followed by an activation (act(x W^T + bias)), run as the product's epilogue.
  Value linear(Value x, Value w, std::optional<Value> bias, WeightFormat format, std::optional<UnaryOp> act,
               const std::string& name = "");
  // y [..., n_0 + n_1 + ...] = x [..., k] [W_0; W_1; ...]^T, each W_i in `format` (ops_linear_group.cpp).
  Value linear_group(Value x, const std::vector<Value>& ws, WeightFormat format, const std::string& name = "");
  // Rotary embedding of x [..., s, hd] by cos/sin tables [..., s, half] (RopeAttrs; defined in ops_rope.cpp).
  Value rope(Value x, Value cos, Value sin, bool interleaved, const std::string& name = "");
  // Generic form used by all of the above: checks arity and infers the type.
  Value add_op(OpKind kind, Attrs attrs, const std::vector<Value>& inputs, const std::string& name = "");
  // Marks a graph output (returned by the executor under `name`, default the value's name).
  void output(Value v, const std::string& name = "");

  // ---- Raw construction for parsers and passes: no inference or checks; run verify() afterwards.
  Value add_value(const std::string& name, ValueType type);
  void add_node(Node n);
  void set_type(Value v, ValueType t);
  void add_output(GraphOutput o) { outputs_.push_back(std::move(o)); }

  // ---- Access
  const std::vector<ValueInfo>& values() const { return values_; }
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<GraphOutput>& outputs() const { return outputs_; }
  const ValueInfo& info(Value v) const;  // throws ValueError for a handle not in this graph
  const ValueType& type(Value v) const { return info(v).type; }
  const Shape& shape(Value v) const { return info(v).type.shape; }
  DType dtype(Value v) const { return info(v).type.dtype; }
  // The value called `name`, if any.
  std::optional<Value> find(std::string_view name) const;
  // The input / param nodes' values in node order.
  std::vector<Value> inputs() const;
  std::vector<Value> params() const;

  // Structural equality: same name, values, nodes (attributes bitwise) and outputs.
  bool operator==(const Graph& o) const;

 private:
  std::string fresh_name();
  Value checked(Value v, const char* op, size_t index) const;

  std::string name_;
  std::vector<ValueInfo> values_;
  std::vector<Node> nodes_;
  std::vector<GraphOutput> outputs_;
  // Not part of equality:
  int64_t next_auto_ = 0;                                 // for fresh_name()
  std::unordered_map<std::string, int32_t> name_index_;  // first value with each name, for find()
};

// Value names: non-empty, letters, digits, '_', '.', '/' (so weight names like "layers.0.attn.q" fit).
bool is_valid_value_name(std::string_view name);

// Checks every node (arity, attribute validity, dtypes, shapes against re-inferred types), that every value is
// defined exactly once before use (no cycles), and that the graph has outputs. Throws ValueError listing all
// problems, one per line, each starting with "node <i> (<op>)" where it concerns a node.
void verify(const Graph& g);
// The list verify() would throw (empty when the graph is valid).
std::vector<std::string> verify_problems(const Graph& g);

// Text form (see README): one node per line, parse(print(g)) == g, constants bit-exact.
std::string to_text(const Graph& g);
// `name` names the source in error messages ("file.tlg:3:14: ..."). The result is NOT verified.
Graph parse_graph_text(std::string_view text, const std::string& name = "<text>");
// JSON form: {"graph", "values", "nodes", "inputs", "params", "outputs"}.
std::string to_json(const Graph& g);
Graph parse_graph_json(std::string_view text, const std::string& name = "<json>");
// Graphviz DOT: one box per node labelled with op, attributes and output type.
std::string to_dot(const Graph& g);
// Reads a file as JSON (".json" or content starting with '{') or text, then verifies it.
Graph load_graph(const std::string& path);

}  // namespace tl
