// tlt: the TensorLogic Transformers command line. Results go to stdout (or -o files), messages to stderr;
// any error prints one line naming the problem and exits non-zero.
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <cstring>
#include <exception>
#include <string>

#include "commands.h"
#include "tl/error.h"

namespace {

struct Command {
  const char* name;
  int (*fn)(int, char**);
  const char* summary;
};

const Command kCommands[] = {
    {"bench", tlt::cmd_bench, "time a model: prompt / decode tok/s, embeddings, graph build; peak memory"},
    {"demo", tlt::cmd_demo, "build a small tensor-logic graph (attention steered by a rule), run it, print it"},
    {"embed", tlt::cmd_embed, "sentence embeddings from a sentence-transformers model directory (as encode())"},
    {"einsum", tlt::cmd_einsum, "compute numpy.einsum(SPEC, A, B, ...) on .npy files"},
    {"forward", tlt::cmd_forward, "run a Hugging Face model directory on token ids / text / pixels, write logits"},
    {"generate", tlt::cmd_generate, "greedy continuation of a prompt with a model directory (KV cache)"},
    {"graph", tlt::cmd_graph, "verify a graph file and convert it between text, JSON and DOT"},
    {"inspect", tlt::cmd_inspect, "a model directory's or preset's architecture, parameter count, FLOPs and memory"},
    {"perplexity", tlt::cmd_perplexity, "sliding-window perplexity of a causal language model on a text"},
    {"quantize", tlt::cmd_quantize, "write a model's weights as q8_0/q4_0/q4_1/bf16/f16/f32 GGUF (or safetensors)"},
    {"run", tlt::cmd_run, "run a .tl program (tensor equations, Datalog rules) on .npy inputs and .tsv facts"},
    {"tokenize", tlt::cmd_tokenize, "encode text / decode ids with a Hugging Face tokenizer.json (ids as tokenizers)"},
};

void usage(FILE* f) {
  std::fprintf(f, "usage: tlt COMMAND [ARGS...]   (tlt COMMAND --help for details)\n\ncommands:\n");
  for (const auto& c : kCommands) std::fprintf(f, "  %-8s %s\n", c.name, c.summary);
}

}  // namespace

int main(int argc, char** argv) {
  // OpenMP workers that spin while idle burn a core and, on a busy 2-core machine, starve the thread doing
  // the work (measured: up to 60x slower). libgomp reads its wait policy when it loads, before main, so the
  // policy is set by re-executing once; a user's own OMP_WAIT_POLICY is left alone.
  if (!std::getenv("OMP_WAIT_POLICY")) {
    setenv("OMP_WAIT_POLICY", "passive", 1);
    execv("/proc/self/exe", argv);  // returns only on failure: then carry on with the default policy
  }
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  std::string cmd = argv[1];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    usage(stdout);
    return 0;
  }
  for (const auto& c : kCommands) {
    if (cmd != c.name) continue;
    try {
      return c.fn(argc, argv);
    } catch (const tl::Error& e) {
      std::fprintf(stderr, "tlt %s: error: %s\n", c.name, e.what());
      return 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "tlt %s: unexpected error: %s\n", c.name, e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "tlt: unknown command '%s'\n", cmd.c_str());
  usage(stderr);
  return 2;
}
