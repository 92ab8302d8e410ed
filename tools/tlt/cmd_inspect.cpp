// tlt inspect --preset NAME [--json] [--context N]: a preset's architecture and its calculators' results.
#include <cstdio>

#include "args.h"
#include "commands.h"
#include "tl/error.h"
#include "tl/nn/presets.h"

namespace tlt {

namespace {
const std::vector<FlagSpec> kFlags = {
    {{"-p", "--preset"}, true, "the preset to describe (see the list below)"},
    {{"--json"}, false, "print JSON instead of text"},
    {{"-c", "--context"}, true, "context length for FLOPs, KV cache and activations (default 2048)"},
    {{"-h", "--help"}, false, "show this help"},
};
}  // namespace

int cmd_inspect(int argc, char** argv) {
  Args args(argc, argv, 2, kFlags);
  if (args.has("help")) {
    std::string names;
    for (const auto& n : tl::nn::preset_names()) names += "  " + n + "\n";
    std::printf("usage: tlt inspect --preset NAME [--json] [--context N]\n\n"
                "Prints a published model's architecture (norm, positions, MLP, KV heads, MoE routing) and\n"
                "its parameter count, active parameters, forward FLOPs per token, KV-cache bytes and training\n"
                "activation memory.\n\n%s\npresets:\n%s",
                flags_help(kFlags).c_str(), names.c_str());
    return 0;
  }
  if (!args.positional().empty())
    TL_THROW(tl::ValueError, "unexpected argument \"", args.positional()[0], "\"; expected only flags");
  if (!args.has("preset")) TL_THROW(tl::ValueError, "missing --preset NAME (see tlt inspect --help)");
  const tl::nn::ModelPreset& p = tl::nn::preset(*args.get("preset"));
  const int ctx = args.get_int("context", 2048);
  if (ctx <= 0) TL_THROW(tl::ValueError, "--context = ", ctx, " must be positive");
  const std::string s = args.has("json") ? tl::nn::describe_json(p, ctx) : tl::nn::describe(p, ctx);
  std::fputs(s.c_str(), stdout);
  return 0;
}

}  // namespace tlt
