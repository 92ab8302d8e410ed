// The subcommands of tlt. Each returns the process exit code; errors are thrown as tl::Error.
#pragma once

namespace tlt {
int cmd_einsum(int argc, char** argv);
int cmd_graph(int argc, char** argv);
int cmd_demo(int argc, char** argv);
int cmd_run(int argc, char** argv);
int cmd_tokenize(int argc, char** argv);
int cmd_inspect(int argc, char** argv);
int cmd_forward(int argc, char** argv);
int cmd_generate(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_embed(int argc, char** argv);
int cmd_perplexity(int argc, char** argv);
int cmd_quantize(int argc, char** argv);
}  // namespace tlt
