// Public entry points: dtype rules, output checks, and running a plan on real tensors.
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "einsum/einsum_internal.h"
#include "tl/error.h"

namespace tl {

using namespace einsum_detail;

namespace einsum_detail {
EinsumStats& stats() {
  thread_local EinsumStats s;
  return s;
}
}  // namespace einsum_detail

EinsumStats einsum_stats() { return stats(); }
void einsum_reset_stats() { stats() = EinsumStats(); }

DType einsum_output_dtype(const std::vector<DType>& dtypes) {
  if (dtypes.empty()) TL_THROW(ValueError, "[einsum] needs at least one operand to decide the output dtype");
  bool any_float = false, all_bool = true;
  for (size_t i = 0; i < dtypes.size(); ++i)
    if (dtypes[i] == DType::u8)  // raw bytes of a quantised weight, not numbers einsum may multiply
      TL_THROW(ValueError, "[einsum] operand ", i, " has dtype u8 (raw bytes of a quantised weight); einsum takes "
               "f32, f16, bf16, i32, i64 or bool (use tl::qgemm or tl::dequantize_weight for quantised weights)");
  for (DType t : dtypes) {
    any_float |= is_float(t);
    all_bool &= t == DType::boolean;
  }
  if (any_float) return DType::f32;
  return all_bool ? DType::boolean : DType::i64;
}

Shape einsum_output_shape(const std::string& spec, const std::vector<Shape>& shapes) {
  const Bound b = bind(spec, shapes);
  Shape out;
  for (int l : b.output) out.push_back(b.size[l]);
  return out;
}

namespace {

// Operand i as an Item: repeated labels folded into one diagonal dim (strides add up), size-1 dims dropped.
Item prepared_view(const Tensor& t, const std::vector<int>& dim_labels, const std::vector<int>& prepared) {
  Shape shape, strides;
  for (int l : prepared) {
    int64_t st = 0, n = 0;
    for (size_t d = 0; d < dim_labels.size(); ++d)
      if (dim_labels[d] == l) {
        st += t.strides()[d];
        n = t.shape()[d];
      }
    shape.push_back(n);
    strides.push_back(st);
  }
  return Item{t.as_strided(shape, strides, t.offset()), prepared};
}

Item fresh_item(const std::vector<int>& labels, const std::vector<int64_t>& size, DType dt) {
  Shape sh;
  for (int l : labels) sh.push_back(size[l]);
  return Item{Tensor::empty(sh, dt), labels};
}

template <class T>
void run_plan(const Compiled& c, const std::vector<Tensor>& ops, const Tensor& out, DType dt) {
  const std::vector<int64_t>& size = c.bound.size;
  // The output without its size-1 dims, labelled by out_labels.
  Shape oshape, ostrides;
  for (size_t d = 0; d < c.bound.output.size(); ++d)
    if (size[c.bound.output[d]] != 1) {
      oshape.push_back(out.shape()[d]);
      ostrides.push_back(out.strides()[d]);
    }
  const Item o{out.as_strided(oshape, ostrides, out.offset()), c.out_labels};

  const int n = int(ops.size());
  std::vector<Item> list;
  for (int i = 0; i < n; ++i) {
    Item v = prepared_view(ops[i], c.bound.inputs[i], c.prepared[i]);
    if (n >= 2 && c.kept[i] != c.prepared[i]) {  // sum out labels nobody else needs
      Item r = fresh_item(c.kept[i], size, dt);
      loop_contract<T>({&v}, r, size);
      ++stats().loop_steps;
      v = std::move(r);
    }
    list.push_back(std::move(v));
  }
  if (n == 1) {
    loop_contract<T>({&list[0]}, o, size);
    ++stats().loop_steps;
    return;
  }
  for (size_t si = 0; si < c.steps.size(); ++si) {
    const Compiled::Step& s = c.steps[si];
    const bool last = si + 1 == c.steps.size();
    Item r;
    bool done = false;
    if constexpr (std::is_same_v<T, float>) {
      if (s.kind == EinsumStep::Kind::contract) {
        r = contract_pair_f32(list[s.pos[0]], list[s.pos[1]], s.result, last ? &o : nullptr, size);
        done = true;
      }
    }
    if (!done) {  // integer/bool steps and the memory-budget loop over several operands
      std::vector<const Item*> in;
      for (int q : s.pos) in.push_back(&list[q]);
      r = last ? o : fresh_item(s.result, size, dt);
      loop_contract<T>(in, r, size);
      ++stats().loop_steps;
    }
    std::vector<int> sorted = s.pos;
    std::sort(sorted.rbegin(), sorted.rend());
    for (int q : sorted) list.erase(list.begin() + q);
    list.push_back(std::move(r));
  }
}

Tensor to_compute(const Tensor& t, DType dt) {
  if (t.dtype() == dt) return t;
  Tensor r = t.to(dt);
  stats().bytes_converted += int64_t(r.nbytes());
  return r;
}

}  // namespace

void einsum_execute(const EinsumPlan& plan, const std::vector<Tensor>& operands, const Tensor& out) {
  TL_CHECK(plan.compiled != nullptr, "einsum plan without a compiled form");
  const Compiled& c = *plan.compiled;
  if (operands.size() != plan.shapes.size())
    TL_THROW(ShapeError, "[einsum] plan for \"", plan.spec, "\" takes ", plan.shapes.size(), " operands but ",
             operands.size(), " were given");
  std::vector<DType> dtypes;
  for (size_t i = 0; i < operands.size(); ++i) {
    const Tensor& t = operands[i];
    if (t.shape() != plan.shapes[i])
      TL_THROW(ShapeError, "[einsum] operand ", i, " has shape ", shape_str(t.shape()), " but the plan for \"",
               plan.spec, "\" was made for ", shape_str(plan.shapes[i]));
    if (!t.defined())
      TL_THROW(ValueError, "[einsum] operand ", i, " of \"", plan.spec, "\" is an undefined tensor");
    dtypes.push_back(t.dtype());
  }
  const DType dt = einsum_output_dtype(dtypes);
  if (!out.defined())
    TL_THROW(ShapeError, "[einsum] out for \"", plan.spec, "\" is an undefined tensor");
  if (out.shape() != c.output_shape)
    TL_THROW(ShapeError, "[einsum] out has shape ", shape_str(out.shape()), " but \"", plan.spec, "\" gives ",
             shape_str(c.output_shape));
  if (out.dtype() != dt)
    TL_THROW(ShapeError, "[einsum] out has dtype ", dtype_name(out.dtype()), " but \"", plan.spec, "\" gives ",
             dtype_name(dt));
  if (out.numel() == 0) return;  // nothing to write
  if (!out.is_contiguous())
    TL_THROW(ShapeError, "[einsum] out for \"", plan.spec, "\" must be contiguous (shape ", shape_str(out.shape()),
             ", strides ", shape_str(out.strides()), ")");
  for (const Tensor& t : operands)
    if (t.numel() == 0) {  // a zero-size label is summed over (sum of nothing = 0, OR of nothing = false)
      std::memset(out.raw_data(), 0, out.nbytes());
      return;
    }
  std::vector<Tensor> conv;
  for (const Tensor& t : operands) conv.push_back(to_compute(t, dt));
  switch (dt) {
    case DType::f32: run_plan<float>(c, conv, out, dt); break;
    case DType::i64: run_plan<int64_t>(c, conv, out, dt); break;
    case DType::boolean: run_plan<uint8_t>(c, conv, out, dt); break;
    default: TL_CHECK(false, "unexpected einsum compute dtype ", dtype_name(dt));
  }
}

void einsum_into(const std::string& spec, const std::vector<Tensor>& operands, const Tensor& out) {
  std::vector<Shape> shapes;
  for (const Tensor& t : operands) shapes.push_back(t.shape());
  einsum_execute(*cached_plan(spec, shapes, EinsumOptions()), operands, out);
}

Tensor einsum(const std::string& spec, const std::vector<Tensor>& operands) {
  std::vector<Shape> shapes;
  std::vector<DType> dtypes;
  for (const Tensor& t : operands) {
    shapes.push_back(t.shape());
    dtypes.push_back(t.dtype());
  }
  auto plan = cached_plan(spec, shapes, EinsumOptions());
  Tensor out = Tensor::empty(plan->output_shape, einsum_output_dtype(dtypes));
  einsum_execute(*plan, operands, out);
  return out;
}

}  // namespace tl
