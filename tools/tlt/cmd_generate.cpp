// tlt generate MODEL (--prompt TEXT | --tokens 1,2,3)... [-n N] [--greedy | --temperature T --top-k K --top-p
// P
//               --min-p M --repetition-penalty R --seed S] [--stop STR]... [--ctx-size N] [--print-ids]
//               [--no-stream] [--no-cache] [--ignore-eos]
// Continues one prompt (text streamed to stdout as it is decoded) or a batch of prompts (decoded together,
// printed at the end); timing on stderr. With --print-ids the last stdout line is a JSON array of the new ids
// (an array of arrays for a batch). See docs/generation.md.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include "args.h"
#include "commands.h"
#include "weight_flags.h"
#include "tl/chat_template.h"
#include "tl/error.h"
#include "tl/io/gguf.h"
#include "tl/models.h"
#include "tl/models/generate.h"
#include "tl/models/gguf_model.h"
#include "tl/quant.h"
#include "tl/tokenizer.h"

namespace tlt {

namespace {
const std::vector<FlagSpec> kFlags = with_weight_flags({
    {{"--tokens"}, true, "a prompt as comma-separated token ids (repeat for a batch)"},
    {{"-p", "--prompt", "--text"},
     true,
     "a prompt as text, encoded with the model's tokenizer (repeat for a batch)"},
    {{"-n", "--max-new-tokens", "--n-predict"}, true, "new tokens per prompt at most (default 32)"},
    {{"--greedy"}, false, "take the most likely token each step (the default without sampling flags)"},
    {{"--temperature", "--temp"}, true, "sample with this temperature (> 0; 0 means --greedy)"},
    {{"--top-k"}, true, "sample among the K most likely tokens (0: off)"},
    {{"--top-p"}, true, "sample from the smallest set with probability >= P, in (0, 1]"},
    {{"--min-p"}, true, "drop tokens below M times the top probability, in [0, 1]"},
    {{"--repetition-penalty"}, true, "divide earlier tokens' positive logits by R (> 0; 1: off; greedy too)"},
    {{"-s", "--seed"}, true, "sampling seed (default: random, printed on stderr)"},
    {{"--stop"}, true, "stop when the new text contains STR; STR is not printed (repeatable)"},
    {{"--ignore-eos"}, false, "do not stop at the end-of-sequence token(s) of the model's config"},
    {{"-c", "--ctx-size"}, true, "KV positions (default: prompt + N, at most the model's limit)"},
    {{"--print-ids"}, false, "end stdout with a JSON array of the new ids (array of arrays for a batch)"},
    {{"--no-stream"}, false, "print the text when generation ends instead of as it arrives"},
    {{"--no-cache"}, false, "recompute the whole sequence for every token instead of using the KV cache"},
    {{"--chat"}, false, "wrap each --prompt as a user message in the model's chat template"},
    {{"--system"}, true, "with --chat: a system message before the user's"},
    {{"-h", "--help"}, false, "show this help"},
});

// The tokenizer that belongs to a model: MODEL/tokenizer.json (or .json.gz) beside config.json, or a GGUF
// file's embedded vocabulary. For GGUF we split text as llama.cpp does for tokenizer.ggml.pre and honour
// add_bos_token: that is the tokenizer the model was trained with (transformers' GGUF conversion always uses
// GPT-2's regex and prepends BOS; `tlt forward --text` follows transformers for parity checks).
bool is_gguf(const std::filesystem::path& p) { return p.extension() == ".gguf"; }

std::optional<tl::tok::Tokenizer> find_tokenizer(const std::filesystem::path& model_path) {
  if (is_gguf(model_path))
    return tl::models::load_tokenizer(model_path.string(), tl::models::GgufPreTokenizer::llama_cpp);
  for (const char* name : {"tokenizer.json", "tokenizer.json.gz"}) {
    const std::filesystem::path p = model_path / name;
    if (std::filesystem::exists(p)) return tl::tok::Tokenizer::from_file(p.string());
  }
  return std::nullopt;
}

// The chat template a model ships and the special-token strings it sees: a directory's tokenizer_config.json
// (or chat_template.jinja), or a GGUF's tokenizer.chat_template with bos/eos named by their vocabulary ids.
struct Chat {
  tl::tok::ChatTemplate tmpl;
  tl::tok::SpecialTokens special;
};

Chat find_chat_template(const std::filesystem::path& model_path) {
  if (is_gguf(model_path)) {
    const auto f = tl::io::GgufFile::open(model_path.string());
    if (!f.has("tokenizer.chat_template"))
      TL_THROW(tl::ValueError, "--chat: ", model_path.string(), " has no tokenizer.chat_template");
    Chat c{tl::tok::ChatTemplate::parse(f.get_string("tokenizer.chat_template"),
                                        model_path.string() + ":tokenizer.chat_template"),
           {}};
    if (f.has("tokenizer.ggml.tokens")) {
      const std::vector<std::string> vocab = f.get_string_array("tokenizer.ggml.tokens");
      auto token = [&](const char* key) -> std::string {
        if (!f.has(key)) return "";
        const int64_t id = f.get_int(key);
        return id >= 0 && id < int64_t(vocab.size()) ? vocab[size_t(id)] : std::string();
      };
      c.special.bos_token = token("tokenizer.ggml.bos_token_id");
      c.special.eos_token = token("tokenizer.ggml.eos_token_id");
      c.special.unk_token = token("tokenizer.ggml.unknown_token_id");
      c.special.pad_token = token("tokenizer.ggml.padding_token_id");
    }
    return c;
  }
  auto t = tl::tok::ChatTemplate::from_model_dir(model_path.string());
  if (!t)
    TL_THROW(tl::ValueError, "--chat: ", model_path.string(),
             " ships no chat template (tokenizer_config.json \"chat_template\" or chat_template.jinja)");
  return Chat{std::move(*t), tl::tok::SpecialTokens::from_model_dir(model_path.string())};
}

double get_number(const Args& a, const std::string& key, double def) {
  auto v = a.get(key);
  if (!v) return def;
  char* end = nullptr;
  const double r = std::strtod(v->c_str(), &end);
  if (v->empty() || *end != '\0' || !std::isfinite(r))
    TL_THROW(tl::ValueError, "option '--", key, "' expects a number, got '", *v, "'");
  return r;
}

// The prompts in command-line order (--tokens and --prompt may be mixed).
std::vector<std::pair<bool, std::string>> prompts_in_order(int argc, char** argv, const Args& args) {
  std::vector<std::string> toks = args.all("tokens"), texts = args.all("prompt");
  std::vector<std::pair<bool, std::string>> out;  // (is text, value)
  size_t it = 0, ip = 0;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") break;
    const std::string name = a.substr(0, a.find('='));
    if (name == "--tokens" && it < toks.size()) out.emplace_back(false, toks[it++]);
    if ((name == "-p" || name == "--prompt" || name == "--text") && ip < texts.size())
      out.emplace_back(true, texts[ip++]);
  }
  return out;
}

std::string json_ids(const std::vector<int64_t>& ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
  return s + "]";
}
}  // namespace

int cmd_generate(int argc, char** argv) {
  Args args(argc, argv, 2, kFlags);
  if (args.has("help")) {
    std::printf(
        "usage: tlt generate MODEL (--prompt TEXT | --tokens 1,2,3) [more prompts for a batch] [-n N]\n"
        "                    [--greedy | --temperature T --top-k K --top-p P --min-p M --repetition-penalty "
        "R\n"
        "                    --seed S] [--stop STR]... [--ctx-size N] [--print-ids] [--no-stream] "
        "[--no-cache]\n\n"
        "Continues each prompt with MODEL (a directory with config.json + model.safetensors, or a .gguf; text "
        "needs\n"
        "MODEL/tokenizer.json or the GGUF vocabulary; --chat renders the model's chat template). One prompt streams its text to stdout as it is decoded; several are decoded\n"
        "together and printed in order. Stops at the model's end-of-sequence token unless --ignore-eos, at "
        "a\n"
        "--stop string, after N tokens, or when the context (--ctx-size) is full. Timing goes to "
        "stderr.\n\n%s",
        flags_help(kFlags).c_str());
    return 0;
  }
  if (args.positional().size() != 1)
    TL_THROW(tl::ValueError, "expected one MODEL directory, got ", args.positional().size(),
             " positional arguments");
  const std::filesystem::path dir = args.positional()[0];

  tl::models::GenerationConfig c;
  c.max_new_tokens = args.get_int("max-new-tokens", 32);
  if (c.max_new_tokens < 0) TL_THROW(tl::ValueError, "-n must be >= 0, got ", c.max_new_tokens);
  const bool sampling_flags =
      args.has("temperature") || args.has("top-k") || args.has("top-p") || args.has("min-p");
  if (args.has("greedy") && sampling_flags)
    TL_THROW(tl::ValueError,
             "--greedy conflicts with --temperature/--top-k/--top-p/--min-p; give one or the other");
  c.temperature = float(get_number(args, "temperature", 1.0));
  if (c.temperature < 0)
    TL_THROW(tl::ValueError, "--temperature ", *args.get("temperature"), ": must be >= 0");
  c.greedy = !sampling_flags || c.temperature == 0.0f;
  if (c.temperature == 0.0f) c.temperature = 1.0f;
  c.top_k = args.get_int("top-k", 0);
  if (c.top_k < 0) TL_THROW(tl::ValueError, "--top-k ", c.top_k, ": must be >= 0 (0: off)");
  c.top_p = float(get_number(args, "top-p", 1.0));
  if (!(c.top_p > 0.0f && c.top_p <= 1.0f))
    TL_THROW(tl::ValueError, "--top-p ", *args.get("top-p"), ": must be in (0, 1]");
  c.min_p = float(get_number(args, "min-p", 0.0));
  if (!(c.min_p >= 0.0f && c.min_p <= 1.0f))
    TL_THROW(tl::ValueError, "--min-p ", *args.get("min-p"), ": must be in [0, 1]");
  c.repetition_penalty = float(get_number(args, "repetition-penalty", 1.0));
  if (!(c.repetition_penalty > 0.0f))
    TL_THROW(tl::ValueError, "--repetition-penalty ", *args.get("repetition-penalty"),
             ": must be > 0 (1: off)");
  if (auto s = args.get("seed")) {
    try {
      size_t used = 0;
      c.seed = std::stoull(*s, &used);
      if (used != s->size() || (*s)[0] == '-') throw std::invalid_argument("seed");
    } catch (const std::exception&) {
      TL_THROW(tl::ValueError, "--seed expects a non-negative integer, got '", *s, "'");
    }
  } else {
    c.seed = (uint64_t(std::random_device{}()) << 32) ^ std::random_device{}();
  }
  c.capacity = args.get_int("ctx-size", 0);
  if (c.capacity < 0) TL_THROW(tl::ValueError, "--ctx-size ", c.capacity, ": must be > 0");
  c.stop_strings = args.all("stop");
  for (const auto& s : c.stop_strings)
    if (s.empty()) TL_THROW(tl::ValueError, "--stop: the stop string is empty");
  c.use_cache = !args.has("no-cache");
  c.validate();

  const auto order = prompts_in_order(argc, argv, args);
  if (order.empty()) TL_THROW(tl::ValueError, "give a prompt: --tokens 1,2,3 or --prompt \"text\"");

  const auto t_load = std::chrono::steady_clock::now();
  auto m = tl::models::load_model(dir.string(), weight_load_options(args, /*int8_by_default=*/true));
  std::fprintf(stderr, "[generate] loaded %s (%s, %.1fM parameters) in %.2f s\n", dir.string().c_str(),
               m->family().c_str(), double(m->parameter_count()) / 1e6,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count());
  if (!m->can_generate()) TL_THROW(tl::ValueError, m->family(), " is not a generative model");
  const std::optional<tl::tok::Tokenizer> tok = find_tokenizer(dir);
  // --chat: each text prompt becomes [system?, user] rendered by the model's template with the generation
  // prompt; the rendered text already holds the special tokens, so it is encoded without adding any (as
  // transformers' apply_chat_template(tokenize=True) does).
  std::optional<Chat> chat;
  if (args.has("chat")) chat = find_chat_template(dir);
  else if (args.has("system")) TL_THROW(tl::ValueError, "--system needs --chat");
  std::vector<std::vector<int64_t>> prompts;
  for (const auto& [is_text, value] : order) {
    std::vector<int64_t> p;
    if (is_text) {
      if (!tok)
        TL_THROW(tl::IoError, "--prompt needs ", (dir / "tokenizer.json").string(), ", which does not exist");
      if (chat) {
        std::vector<tl::tok::ChatMessage> msgs;
        if (auto sys = args.get("system")) msgs.push_back({"system", *sys});
        msgs.push_back({"user", value});
        const std::string text = chat->tmpl.render(msgs, true, chat->special);
        for (int32_t id : tok->encode(text, {.add_special_tokens = false})) p.push_back(id);
      } else {
        for (int32_t id : tok->encode(value)) p.push_back(id);
      }
    } else {
      if (chat) TL_THROW(tl::ValueError, "--chat takes --prompt text, not --tokens");
      p = parse_id_list(value, "--tokens");
    }
    if (p.empty()) TL_THROW(tl::ValueError, "prompt ", prompts.size() + 1, " is empty");
    prompts.push_back(std::move(p));
  }
  if (!c.stop_strings.empty() && !tok)
    TL_THROW(tl::ValueError, "--stop needs the model's tokenizer (", (dir / "tokenizer.json").string(),
             ") to decode the new text, and there is none");
  if (!args.has("ignore-eos")) c.stop_ids = tl::models::eos_ids(m->config(), dir.string());

  const bool single = prompts.size() == 1;
  const bool stream = single && !args.has("no-stream");
  std::fprintf(stderr, "[generate] %s, %zu prompt%s, %s", m->family().c_str(), prompts.size(),
               single ? "" : "s", c.greedy ? "greedy" : "sampling");
  if (!c.greedy)
    std::fprintf(stderr, " (temperature %g, top-k %d, top-p %g, min-p %g, seed %llu)", c.temperature, c.top_k,
                 c.top_p, c.min_p, (unsigned long long)c.seed);
  bool int8_formats = false;  // q8_0 / q4_0 weights: the formats int8 activations apply to
  for (const auto* fm : {&m->weight_formats(), &m->linear_copy_formats()})
    for (const auto& [name, f] : *fm) int8_formats |= f == tl::WeightFormat::q8_0 || f == tl::WeightFormat::q4_0;
  if (int8_formats && tl::activation_precision() == tl::ActivationPrecision::int8)
    std::fprintf(stderr, ", int8 activations for q8_0/q4_0 decode products (--f32-activations: exact f32)");
  std::fprintf(stderr, "\n");

  // Streaming: text pieces as they complete, or ids as they arrive when there is no tokenizer.
  bool first_id = true;
  tl::models::TokenCallback on_token;
  if (stream)
    on_token = [&](int, int64_t id, const std::string& piece) {
      if (tok) {
        std::fputs(piece.c_str(), stdout);
      } else if (id >= 0) {
        std::printf("%s%lld", first_id ? "" : ",", (long long)id);
        first_id = false;
      }
      std::fflush(stdout);
    };
  tl::models::GenerationStats st;
  const auto res = tl::models::generate(*m, prompts, c, tok ? &*tok : nullptr, on_token, &st);

  if (stream) {
    std::printf("\n");
  } else {
    for (size_t i = 0; i < res.size(); ++i) {
      if (!single) std::printf("[%zu] ", i);
      if (tok) {
        std::printf("%s\n", res[i].text.c_str());
      } else {
        std::string line;
        for (size_t j = 0; j < res[i].ids.size(); ++j) line += (j ? "," : "") + std::to_string(res[i].ids[j]);
        std::printf("%s\n", line.c_str());
      }
    }
  }
  if (args.has("print-ids")) {
    if (single) {
      std::printf("%s\n", json_ids(res[0].ids).c_str());
    } else {
      std::string s = "[";
      for (size_t i = 0; i < res.size(); ++i) s += (i ? "," : "") + json_ids(res[i].ids);
      std::printf("%s]\n", s.c_str());
    }
  }
  std::fflush(stdout);
  for (size_t i = 0; i < res.size(); ++i) {
    const char* why = tl::models::stop_reason_name(res[i].reason);
    if (res[i].reason == tl::models::StopReason::context_full)
      std::fprintf(stderr,
                   "[generate] prompt %zu: the context is full (%lld positions; raise --ctx-size up to the "
                   "model's limit)\n",
                   i + 1, (long long)st.capacity);
    else if (!single || res[i].reason != tl::models::StopReason::max_new_tokens)
      std::fprintf(stderr, "[generate] prompt %zu: stopped by %s after %zu tokens\n", i + 1, why,
                   res[i].ids.size());
  }
  const double rate = st.decode_s > 0 ? double(st.new_tokens - int64_t(prompts.size())) / st.decode_s : 0.0;
  std::fprintf(stderr,
               "[generate] %s; prompt: %lld tokens in %.3f s (%.1f tok/s); decode: %lld new tokens in %.3f s "
               "(%.1f tok/s)\n",
               st.batched  ? "KV cache, rows batched"
               : st.cached ? "KV cache"
                           : "full recompute per token",
               (long long)st.prompt_tokens, st.prefill_s,
               st.prefill_s > 0 ? double(st.prompt_tokens) / st.prefill_s : 0.0, (long long)st.new_tokens,
               st.decode_s, rate);
  return 0;
}

}  // namespace tlt
