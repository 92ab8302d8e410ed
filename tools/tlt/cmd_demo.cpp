// tlt demo: the main job on its default input until real models land. Builds a small tensor-logic program —
// one attention head whose attention is steered by a rule, Attend(i,j) :- j <= i, compiled to a boolean
// relation and applied as a hard mask — runs it with the executor and prints the graph, the memory plan,
// the attention weights and the output.
#include <cmath>
#include <cstdio>

#include "args.h"
#include "commands.h"
#include "tl/graph.h"
#include "tl/npy.h"
#include "tl/runtime.h"
#include "tl/threading.h"

namespace tlt {

namespace {
const std::vector<FlagSpec> kFlags = {
    {{"-n", "--tokens"}, true, "sequence length (default 5)"},
    {{"-d", "--dim"}, true, "model width (default 8)"},
    {{"--graph"}, false, "also print the graph in its text form"},
    {{"--save"}, true, "also write attention.npy and y.npy into this folder"},
    {{"-t", "--threads"}, true, "number of threads (default: all cores)"},
    {{"-h", "--help"}, false, "show this help"},
};

// Deterministic inputs: smooth, distinct values so the printout is easy to eyeball.
tl::Tensor pattern(tl::Shape shape, double phase) {
  tl::Tensor t = tl::Tensor::empty(shape);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = float(std::sin(0.7 * double(i) + phase) * 0.5);
  return t;
}

void print_matrix(const char* title, const tl::Tensor& t) {
  std::printf("%s %s\n", title, tl::shape_str(t.shape()).c_str());
  int64_t rows = t.size(0), cols = t.size(1);
  for (int64_t i = 0; i < rows; ++i) {
    std::printf("  ");
    for (int64_t j = 0; j < cols; ++j) std::printf("%8.4f", t.get({i, j}));
    std::printf("\n");
  }
}
}  // namespace

int cmd_demo(int argc, char** argv) {
  Args args(argc, argv, 2, kFlags);
  if (args.has("help")) {
    std::printf("usage: tlt demo [-n TOKENS] [-d DIM] [--graph] [--save DIR]\n\n"
                "Builds one attention head as tensor equations, with attention steered by the rule\n"
                "Attend(i,j) :- j <= i (a boolean relation turned into a hard mask), runs it and prints\n"
                "the attention weights and outputs.\n\n%s",
                flags_help(kFlags).c_str());
    return 0;
  }
  if (args.has("threads")) tl::set_num_threads(args.get_int("threads", 0));
  const int64_t n = args.get_int("tokens", 5), d = args.get_int("dim", 8);
  if (n < 1 || d < 1) TL_THROW(tl::ValueError, "--tokens and --dim must be >= 1, got ", n, " and ", d);

  tl::Graph g("rule_steered_attention");
  tl::Value x = g.input("x", {n, d});      // [seq, d_model]
  tl::Value wq = g.param("wq", {d, d});    // [d_model, d_head]
  tl::Value wk = g.param("wk", {d, d});
  tl::Value wv = g.param("wv", {d, d});
  tl::Value q = g.einsum("pd,de->pe", {x, wq}, "q");  // Q[p,e] = X[p,d] Wq[d,e]
  tl::Value k = g.einsum("pd,de->pe", {x, wk}, "k");
  tl::Value v = g.einsum("pd,de->pe", {x, wv}, "v");
  // The rule Attend(i,j) :- j <= i over position relations, as a comparison of index tensors.
  tl::Tensor pos = tl::Tensor::empty({n});
  for (int64_t i = 0; i < n; ++i) pos.data<float>()[i] = float(i);
  tl::Value pi = g.constant(pos.reshape({n, 1}), "pos_i");  // [seq, 1]
  tl::Value pj = g.constant(pos.reshape({1, n}), "pos_j");  // [1, seq]
  tl::Value attend = g.binary(tl::BinaryOp::le, pj, pi, "attend");  // bool [seq, seq]
  tl::Value zero = g.constant(tl::Tensor::scalar(0.0f), "zero");
  tl::Value ninf = g.constant(tl::Tensor::scalar(-INFINITY), "neg_inf");
  tl::Value mask = g.where(attend, zero, ninf, "mask");  // additive: 0 where attended, -inf elsewhere
  tl::Value s = g.einsum("pe,qe->pq", {q, k}, "scores");  // [seq, seq]
  tl::Value scale = g.constant(tl::Tensor::scalar(float(1.0 / std::sqrt(double(d)))), "scale");
  tl::Value a = g.softmax(g.mul(s, scale), -1, mask, "attention");  // [seq, seq], rows sum to 1
  tl::Value y = g.einsum("pq,qe->pe", {a, v}, "y");                 // [seq, d_head]
  g.output(a, "attention");
  g.output(y, "y");

  tl::Executor ex(g);
  ex.bind_param("wq", pattern({d, d}, 0.1));
  ex.bind_param("wk", pattern({d, d}, 1.3));
  ex.bind_param("wv", pattern({d, d}, 2.9));
  auto out = ex.run({{"x", pattern({n, d}, 0.0)}});

  if (args.has("graph")) std::printf("%s\n", tl::to_text(g).c_str());
  std::printf("graph '%s': %zu nodes; memory plan: %s\n\n", g.name().c_str(), g.nodes().size(),
              ex.memory_plan().describe().c_str());
  print_matrix("attention weights (rule Attend(i,j) :- j <= i; masked entries are exactly 0)", out["attention"]);
  print_matrix("\noutput y = attention . V", out["y"]);
  if (auto dir = args.get("save")) {
    tl::write_npy(*dir + "/attention.npy", out["attention"]);
    tl::write_npy(*dir + "/y.npy", out["y"]);
  }
  return 0;
}

}  // namespace tlt
