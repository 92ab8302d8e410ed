// Graph construction: the builder (infers and checks at build time) and raw construction for parsers.
#include "tl/graph.h"

#include <cctype>

#include "tl/ops.h"

namespace tl {

std::string type_str(const ValueType& t) {
  std::string s = dtype_name(t.dtype);
  s += '[';
  for (size_t i = 0; i < t.shape.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(t.shape[i]);
  }
  s += ']';
  return s;
}

bool is_valid_value_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '/')) return false;
  return true;
}

bool Graph::operator==(const Graph& o) const {
  return name_ == o.name_ && values_ == o.values_ && nodes_ == o.nodes_ && outputs_ == o.outputs_;
}

const ValueInfo& Graph::info(Value v) const {
  if (v.id < 0 || size_t(v.id) >= values_.size())
    TL_THROW(ValueError, "value id ", v.id, " is not a value of graph '", name_, "' (which has ", values_.size(),
             " values)");
  return values_[size_t(v.id)];
}

std::optional<Value> Graph::find(std::string_view name) const {
  auto it = name_index_.find(std::string(name));
  if (it == name_index_.end()) return std::nullopt;
  return Value{it->second};
}

std::vector<Value> Graph::inputs() const {
  std::vector<Value> r;
  for (const Node& n : nodes_)
    if (n.kind == OpKind::input) r.push_back(n.output);
  return r;
}

std::vector<Value> Graph::params() const {
  std::vector<Value> r;
  for (const Node& n : nodes_)
    if (n.kind == OpKind::param) r.push_back(n.output);
  return r;
}

std::string Graph::fresh_name() {
  while (true) {
    std::string n = std::to_string(next_auto_++);
    if (!find(n)) return n;
  }
}

Value Graph::add_value(const std::string& name, ValueType type) {
  values_.push_back(ValueInfo{name, std::move(type)});
  name_index_.emplace(name, int32_t(values_.size() - 1));
  return Value{int32_t(values_.size() - 1)};
}

void Graph::add_node(Node n) { nodes_.push_back(std::move(n)); }

void Graph::set_type(Value v, ValueType t) {
  info(v);  // range check
  values_[size_t(v.id)].type = std::move(t);
}

Value Graph::checked(Value v, const char* op, size_t index) const {
  if (v.id < 0 || size_t(v.id) >= values_.size())
    TL_THROW(ValueError, "[", op, "] input ", index, " (value id ", v.id, ") is not a value of graph '", name_, "'");
  return v;
}

namespace {
std::string checked_name(const Graph& g, const std::string& name, const std::string& op) {
  if (!is_valid_value_name(name))
    TL_THROW(ValueError, "[", op, "] value name '", name, "' is invalid: use letters, digits, '_', '.', '/'");
  if (g.find(name)) TL_THROW(ValueError, "[", op, "] value name '", name, "' is already used in graph '", g.name(), "'");
  return name;
}
}  // namespace

Value Graph::add_op(OpKind kind, Attrs attrs, const std::vector<Value>& inputs, const std::string& name) {
  const OpDef& d = op_def(kind);
  if (attrs.index() != d.attrs_index)
    TL_THROW(ValueError, "[", d.family, "] attributes of the wrong op kind (", attrs.index(), ")");
  std::string op = d.op_name(attrs);
  int n = int(inputs.size());
  if (n < d.min_inputs || (d.max_inputs >= 0 && n > d.max_inputs)) {
    if (d.min_inputs == d.max_inputs)
      TL_THROW(ValueError, "[", op, "] expects ", d.min_inputs, " input", d.min_inputs == 1 ? "" : "s", ", got ", n);
    TL_THROW(ValueError, "[", op, "] expects ", d.min_inputs, " to ",
             d.max_inputs < 0 ? std::string("any number of") : std::to_string(d.max_inputs), " inputs, got ", n);
  }
  if (!d.infer) TL_THROW(ValueError, "[", op, "] is a source; use Graph::input/param");
  std::vector<ValueType> types;
  for (size_t i = 0; i < inputs.size(); ++i) types.push_back(type(checked(inputs[i], op.c_str(), i)));
  ValueType out = d.infer(attrs, types);
  std::string vname = name.empty() ? fresh_name() : checked_name(*this, name, op);
  Value v = add_value(vname, out);
  nodes_.push_back(Node{kind, std::move(attrs), inputs, v});
  return v;
}

namespace {
void check_dims(const Shape& s, const std::string& what) {
  for (int64_t d : s)
    if (d < 0) TL_THROW(ShapeError, "[", what, "] shape ", shape_str(s), " has a negative dim");
  shape_numel(s);
}
}  // namespace

Value Graph::input(const std::string& name, DType dtype, Shape shape) {
  check_dims(shape, "input " + name);
  Value v = add_value(checked_name(*this, name, "input"), ValueType{dtype, std::move(shape)});
  nodes_.push_back(Node{OpKind::input, InputAttrs{}, {}, v});
  return v;
}

Value Graph::param(const std::string& name, DType dtype, Shape shape) {
  check_dims(shape, "param " + name);
  Value v = add_value(checked_name(*this, name, "param"), ValueType{dtype, std::move(shape)});
  nodes_.push_back(Node{OpKind::param, ParamAttrs{}, {}, v});
  return v;
}

Value Graph::constant(const Tensor& value, const std::string& name) {
  return add_op(OpKind::constant, ConstantAttrs{value.clone()}, {}, name);
}
Value Graph::einsum(const std::string& spec, const std::vector<Value>& xs, const std::string& name) {
  return add_op(OpKind::einsum, EinsumAttrs{spec}, xs, name);
}
Value Graph::unary(UnaryOp op, Value x, const std::string& name) {
  return add_op(OpKind::unary, UnaryAttrs{op}, {x}, name);
}
Value Graph::binary(BinaryOp op, Value a, Value b, const std::string& name) {
  return add_op(OpKind::binary, BinaryAttrs{op}, {a, b}, name);
}
Value Graph::where(Value cond, Value a, Value b, const std::string& name) {
  return add_op(OpKind::where, WhereAttrs{}, {cond, a, b}, name);
}
Value Graph::cast(Value x, DType to, const std::string& name) { return add_op(OpKind::cast, CastAttrs{to}, {x}, name); }
Value Graph::reduce(ReduceOp op, Value x, std::vector<int> axes, bool keepdims, const std::string& name) {
  return add_op(OpKind::reduce, ReduceAttrs{op, std::move(axes), keepdims}, {x}, name);
}
Value Graph::softmax(Value x, int axis, std::optional<Value> mask, const std::string& name) {
  std::vector<Value> in{x};
  if (mask) in.push_back(*mask);
  return add_op(OpKind::softmax, SoftmaxAttrs{axis}, in, name);
}
Value Graph::layer_norm(Value x, std::optional<Value> gamma, std::optional<Value> beta, int norm_dims, float eps,
                        const std::string& name) {
  if (beta && !gamma) TL_THROW(ValueError, "[layer_norm] beta without gamma is not supported (pass ones as gamma)");
  std::vector<Value> in{x};
  if (gamma) in.push_back(*gamma);
  if (beta) in.push_back(*beta);
  return add_op(OpKind::layer_norm, NormAttrs{norm_dims, eps}, in, name);
}
Value Graph::rms_norm(Value x, std::optional<Value> gamma, int norm_dims, float eps, const std::string& name) {
  std::vector<Value> in{x};
  if (gamma) in.push_back(*gamma);
  return add_op(OpKind::rms_norm, NormAttrs{norm_dims, eps}, in, name);
}
Value Graph::reshape(Value x, Shape shape, const std::string& name) {
  // Resolve one -1 from the input's element count.
  int64_t n = shape_numel(this->shape(checked(x, "reshape", 0)));
  int minus = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (minus >= 0) TL_THROW(ValueError, "[reshape] target shape ", shape_str(shape), " has more than one -1");
      minus = int(i);
    } else if (shape[i] < 0) {
      TL_THROW(ValueError, "[reshape] target shape ", shape_str(shape), " has a negative dim");
    } else {
      known *= shape[i];
    }
  }
  if (minus >= 0) {
    if (known == 0 || n % known != 0)
      TL_THROW(ShapeError, "[reshape] cannot reshape input 0 of shape ", shape_str(this->shape(x)), " (", n,
               " elements) to ", shape_str(shape));
    shape[size_t(minus)] = n / known;
  }
  return add_op(OpKind::reshape, ReshapeAttrs{std::move(shape)}, {x}, name);
}
Value Graph::transpose(Value x, std::vector<int> perm, const std::string& name) {
  return add_op(OpKind::transpose, TransposeAttrs{std::move(perm)}, {x}, name);
}
Value Graph::concat(const std::vector<Value>& xs, int axis, const std::string& name) {
  return add_op(OpKind::concat, ConcatAttrs{axis}, xs, name);
}
Value Graph::slice(Value x, int axis, int64_t start, int64_t stop, int64_t step, const std::string& name) {
  return add_op(OpKind::slice, SliceAttrs{axis, start, stop, step}, {x}, name);
}
Value Graph::gather(Value x, Value indices, int axis, const std::string& name) {
  return add_op(OpKind::gather, GatherAttrs{axis}, {x, indices}, name);
}
Value Graph::repeat(Value x, int64_t repeats, int axis, const std::string& name) {
  return add_op(OpKind::repeat, RepeatAttrs{repeats, axis}, {x}, name);
}

Value Graph::bias_act(Value x, Value b, std::optional<UnaryOp> act, const std::string& name) {
  return add_op(OpKind::bias_act, BiasActAttrs{act}, {x, b}, name);
}

Value Graph::scaled_masked_softmax(Value x, float scale, std::optional<Value> mask, const std::string& name) {
  std::vector<Value> in{x};
  if (mask) in.push_back(*mask);
  return add_op(OpKind::scaled_masked_softmax, ScaledMaskedSoftmaxAttrs{scale}, in, name);
}

void Graph::output(Value v, const std::string& name) {
  const ValueInfo& i = info(v);
  std::string n = name.empty() ? i.name : name;
  if (!is_valid_value_name(n))
    TL_THROW(ValueError, "[output] name '", n, "' is invalid: use letters, digits, '_', '.', '/'");
  for (const GraphOutput& o : outputs_)
    if (o.name == n) TL_THROW(ValueError, "[output] graph '", name_, "' already has an output named '", n, "'");
  outputs_.push_back(GraphOutput{v, n});
}

}  // namespace tl
