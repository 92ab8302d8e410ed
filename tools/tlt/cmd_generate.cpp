// tlt generate MODEL (--tokens 1,2,3 | -p "text") [-n N] [--no-cache]
// Greedy continuation of one prompt with a Hugging Face style model directory: the new ids on stdout (and their
// text when MODEL/tokenizer.json exists), the speed on stderr. Sampling flags are refused by name until the
// samplers exist (issue 5), never silently ignored.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "args.h"
#include "commands.h"
#include "tl/error.h"
#include "tl/models.h"
#include "tl/tokenizer.h"

namespace tlt {

namespace {
const std::vector<FlagSpec> kFlags = {
    {{"--tokens"}, true, "comma-separated prompt token ids"},
    {{"-p", "--prompt", "--text"}, true, "prompt text, encoded with MODEL/tokenizer.json"},
    {{"-n", "--n-predict"}, true, "number of new tokens (default 32)"},
    {{"--no-cache"}, false, "recompute the whole sequence for every token instead of using the KV cache"},
    {{"--temp", "--top-k", "--top-p", "--min-p", "-s", "--seed"}, true, "sampling: not implemented yet (greedy only)"},
    {{"-h", "--help"}, false, "show this help"},
};
}  // namespace

int cmd_generate(int argc, char** argv) {
  Args args(argc, argv, 2, kFlags);
  if (args.has("help")) {
    std::printf(
        "usage: tlt generate MODEL (--tokens 1,2,3 | -p \"text\") [-n N] [--no-cache]\n\n"
        "Greedy continuation of one prompt (temperature 0); new ids on stdout, speed on stderr.\n\n%s",
        flags_help(kFlags).c_str());
    return 0;
  }
  if (args.has("temp"))
    TL_THROW(tl::ValueError, "--temp/--top-k/--top-p/--min-p/--seed: sampling is not implemented yet; "
                             "tlt generate is greedy (temperature 0) for now");
  if (args.positional().size() != 1)
    TL_THROW(tl::ValueError, "expected one MODEL directory, got ", args.positional().size(), " positional arguments");
  const std::filesystem::path dir = args.positional()[0];
  const int n = args.get_int("n-predict", 32);
  if (n < 0) TL_THROW(tl::ValueError, "-n must be >= 0, got ", n);
  if (args.has("tokens") == args.has("prompt")) TL_THROW(tl::ValueError, "give exactly one of --tokens and -p");

  auto m = tl::models::load_model(dir.string());
  if (!m->can_generate()) TL_THROW(tl::ValueError, m->family(), " is not a generative model");
  std::optional<tl::tok::Tokenizer> tok;
  if (std::filesystem::exists(dir / "tokenizer.json"))
    tok = tl::tok::Tokenizer::from_file((dir / "tokenizer.json").string());
  std::vector<int64_t> prompt;
  if (args.has("tokens")) {
    prompt = parse_id_list(*args.get("tokens"), "--tokens");
  } else {
    if (!tok) TL_THROW(tl::IoError, "-p needs ", (dir / "tokenizer.json").string(), ", which does not exist");
    for (int32_t id : tok->encode(*args.get("prompt"))) prompt.push_back(id);
  }
  if (prompt.empty()) TL_THROW(tl::ValueError, "the prompt is empty");

  const bool cache = !args.has("no-cache") && m->has_kv_cache();
  std::fprintf(stderr, "[generate] %s, greedy, %d new tokens, %s\n", m->family().c_str(), n,
               cache ? "KV cache" : "full recompute per token");
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<int64_t> out = m->generate_greedy(prompt, n, cache);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::string line;
  for (size_t i = 0; i < out.size(); ++i) line += (i ? "," : "") + std::to_string(out[i]);
  std::printf("%s\n", line.c_str());
  if (tok) {
    std::vector<int32_t> ids(out.begin(), out.end());
    std::printf("%s\n", tok->decode(ids, true).c_str());
  }
  std::fprintf(stderr, "[generate] %zu prompt + %zu new tokens in %.3f s (%.1f tok/s)\n", prompt.size(), out.size(),
               s, s > 0 ? double(out.size()) / s : 0.0);
  return 0;
}

}  // namespace tlt
