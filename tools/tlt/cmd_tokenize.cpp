// tlt tokenize TOKENIZER.json[.gz] (--text T | --file F | --decode IDS) : Hugging Face tokenizer.json, ids
// identical to the tokenizers library.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "args.h"
#include "commands.h"
#include "tl/error.h"
#include "tl/tokenizer.h"

namespace tlt {

namespace {
const std::vector<FlagSpec> kFlags = {
    {{"--text"}, true, "text to encode"},
    {{"--file"}, true, "encode the contents of this file (UTF-8)"},
    {{"--ids"}, false, "print ids, comma-separated (the default output)"},
    {{"--tokens"}, false, "print one 'id<TAB>token' line per token instead"},
    {{"--count"}, false, "print only the number of tokens"},
    {{"--no-special"}, false, "do not add the post-processor's special tokens ([CLS], <s>, ...)"},
    {{"--no-pad"}, false, "ignore the file's truncation and padding sections"},
    {{"--decode"}, true, "decode these comma-separated ids to text instead of encoding"},
    {{"--skip-special"}, false, "with --decode: drop special tokens"},
    {{"--repeat"}, true, "encode N times and print the throughput (tokens/s, one thread) to stderr"},
    {{"-h", "--help"}, false, "show this help"},
};

std::vector<int32_t> parse_ids(const std::string& s) {
  std::vector<int32_t> ids;
  std::string item;
  std::istringstream is(s);
  while (std::getline(is, item, ',')) {
    size_t b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    if (b == std::string::npos) TL_THROW(tl::ValueError, "--decode: empty id in \"", s, "\"");
    item = item.substr(b, e - b + 1);
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || v < 0 || v > INT32_MAX)
      TL_THROW(tl::ValueError, "--decode: expected non-negative integer ids, got \"", item, "\"");
    ids.push_back(int32_t(v));
  }
  return ids;
}
}  // namespace

int cmd_tokenize(int argc, char** argv) {
  Args args(argc, argv, 2, kFlags);
  if (args.has("help")) {
    std::printf("usage: tlt tokenize TOKENIZER.json[.gz] (--text T | --file F) [--ids|--tokens|--count] [--no-special]\n"
                "       tlt tokenize TOKENIZER.json[.gz] --decode 1,2,3 [--skip-special]\n\n"
                "Encodes text with a Hugging Face tokenizer.json (BPE, WordPiece; every normalizer, pre-tokenizer,\n"
                "post-processor and decoder of the file is applied) with ids identical to the tokenizers library.\n"
                "Components the file names but this implementation lacks are an error, never ignored.\n\n%s",
                flags_help(kFlags).c_str());
    return 0;
  }
  const auto& pos = args.positional();
  if (pos.size() != 1) TL_THROW(tl::ValueError, "expected one TOKENIZER.json argument, got ", pos.size());
  tl::tok::Tokenizer tok = tl::tok::Tokenizer::from_file(pos[0]);
  int modes = args.has("text") + args.has("file") + args.has("decode");
  if (modes != 1) TL_THROW(tl::ValueError, "expected exactly one of --text, --file, --decode, got ", modes);
  if (auto d = args.get("decode")) {
    std::string text = tok.decode(parse_ids(*d), args.has("skip-special"));
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
    return 0;
  }
  std::string text;
  if (auto t = args.get("text")) {
    text = *t;
  } else {
    std::ifstream f(*args.get("file"), std::ios::binary);
    if (!f) TL_THROW(tl::IoError, "cannot open \"", *args.get("file"), "\"");
    std::ostringstream ss;
    ss << f.rdbuf();
    text = ss.str();
  }
  tl::tok::EncodeOptions opt;
  opt.add_special_tokens = !args.has("no-special");
  opt.truncate_and_pad = !args.has("no-pad");
  int repeat = args.get_int("repeat", 1);
  if (repeat < 1) TL_THROW(tl::ValueError, "--repeat: expected >= 1, got ", repeat);
  auto t0 = std::chrono::steady_clock::now();
  std::vector<int32_t> ids;
  for (int r = 0; r < repeat; ++r) ids = tok.encode(text, opt);
  double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (args.has("repeat"))
    std::fprintf(stderr, "%zu tokens x %d in %.3f s: %.0f tokens/s, %.2f MB/s\n", ids.size(), repeat, sec,
                 double(ids.size()) * repeat / sec, double(text.size()) * repeat / sec / 1e6);
  if (args.has("count")) {
    std::printf("%zu\n", ids.size());
  } else if (args.has("tokens")) {
    for (int32_t id : ids) std::printf("%d\t%s\n", id, tok.id_to_token(id).c_str());
  } else {
    for (size_t i = 0; i < ids.size(); ++i) std::printf("%s%d", i ? "," : "", ids[i]);
    std::printf("\n");
  }
  return 0;
}

}  // namespace tlt
