// tlt einsum SPEC A.npy [B.npy ...] -o OUT.npy : exactly numpy.einsum(SPEC, A, B, ...).
#include <cstdio>
#include <iostream>

#include "args.h"
#include "commands.h"
#include "tl/einsum.h"
#include "tl/npy.h"
#include "tl/threading.h"

namespace tlt {

namespace {
const std::vector<FlagSpec> kFlags = {
    {{"-o", "--output"}, true, "write the result to this .npy file (default: print it)"},
    {{"--plan"}, false, "print the contraction plan (path, FLOPs, largest intermediate) to stderr"},
    {{"-t", "--threads"}, true, "number of threads (default: all cores)"},
    {{"-h", "--help"}, false, "show this help"},
};

void print_tensor(const tl::Tensor& t) {
  std::printf("shape %s dtype %s\n", tl::shape_str(t.shape()).c_str(), tl::dtype_name(t.dtype()));
  auto v = t.to_f64_vector();
  for (size_t i = 0; i < v.size(); ++i) std::printf("%.9g%s", v[i], (i + 1) % 8 == 0 || i + 1 == v.size() ? "\n" : " ");
}
}  // namespace

int cmd_einsum(int argc, char** argv) {
  Args args(argc, argv, 2, kFlags);
  if (args.has("help")) {
    std::printf("usage: tlt einsum SPEC A.npy [B.npy ...] [-o OUT.npy]\n\n"
                "Computes numpy.einsum(SPEC, A, B, ...): float inputs give f32, integer inputs i64,\n"
                "boolean inputs bool (OR of ANDs). Contraction order for 3+ operands is optimised.\n\n%s",
                flags_help(kFlags).c_str());
    return 0;
  }
  const auto& pos = args.positional();
  if (pos.size() < 2) TL_THROW(tl::ValueError, "expected SPEC and at least one .npy operand, got ", pos.size(), " arguments");
  if (args.has("threads")) tl::set_num_threads(args.get_int("threads", 0));
  std::vector<tl::Tensor> ops;
  std::vector<tl::Shape> shapes;
  for (size_t i = 1; i < pos.size(); ++i) {
    ops.push_back(tl::read_npy(pos[i]));
    shapes.push_back(ops.back().shape());
  }
  if (args.has("plan")) std::cerr << tl::einsum_plan(pos[0], shapes).describe() << "\n";
  tl::Tensor out = tl::einsum(pos[0], ops);
  if (auto o = args.get("output")) {
    tl::write_npy(*o, out);
  } else {
    print_tensor(out);
  }
  return 0;
}

}  // namespace tlt
