// tlt embed MODEL (--text "..." ... | --file LINES.txt) [-o OUT.npy] [--batch-size N]
// Sentence embeddings from a sentence-transformers directory (modules.json: Transformer, Pooling, Dense,
// Normalize), equal to sentence-transformers' encode(). Writes [n, d] f32, or prints a summary.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "args.h"
#include "commands.h"
#include "tl/error.h"
#include "tl/models/embed.h"
#include "tl/npy.h"

namespace tlt {

namespace {
const std::vector<FlagSpec> kFlags = {
    {{"--text"}, true, "a text to embed (repeat for several)"},
    {{"-f", "--file"}, true, "a UTF-8 file with one text per line (empty lines are skipped)"},
    {{"-o", "--out"}, true, "write the embeddings as an [n, d] f32 .npy (default: print a summary)"},
    {{"-b", "--batch-size"}, true, "texts per forward pass (default 32)"},
    {{"--repeat"}, true, "encode N times and print the best and median wall time to stderr (benchmarks)"},
    {{"-h", "--help"}, false, "show this help"},
};

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) TL_THROW(tl::IoError, "--file ", path, ": cannot open");
  std::vector<std::string> out;
  for (std::string l; std::getline(f, l);) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    if (!l.empty()) out.push_back(l);
  }
  return out;
}

std::string mode_list(const tl::models::EmbedConfig& c) {
  static const char* names[] = {"cls", "max", "mean", "mean_sqrt_len", "weightedmean", "lasttoken"};
  std::string s;
  for (auto m : c.pooling) s += (s.empty() ? "" : "+") + std::string(names[int(m)]);
  for (const auto& st : c.steps)
    s += st.kind == tl::models::PostStep::dense
             ? " -> Dense(" + std::to_string(st.layer.weight.size(0)) + (st.layer.tanh ? ", tanh)" : ")")
             : " -> Normalize";
  return s;
}

void print_summary(const tl::models::EmbeddingModel& e, const std::vector<std::string>& texts, const tl::Tensor& v) {
  const int64_t n = v.size(0), d = v.size(1);
  std::printf("embeddings [%lld, %lld] f32  (pooling %s, max_seq_length %lld)\n", (long long)n, (long long)d,
              mode_list(e.config()).c_str(), (long long)e.config().max_seq_length);
  const float* p = v.data<float>();
  std::vector<double> norm(size_t(n), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < d; ++j) norm[size_t(i)] += double(p[i * d + j]) * p[i * d + j];
    norm[size_t(i)] = std::sqrt(norm[size_t(i)]);
    std::string t = texts[size_t(i)];
    if (t.size() > 60) t = t.substr(0, 57) + "...";
    std::printf("  [%lld] norm %.6f  %s\n", (long long)i, norm[size_t(i)], t.c_str());
  }
  if (n < 2 || n > 8) return;
  std::printf("cosine similarity:\n     ");
  for (int64_t j = 0; j < n; ++j) std::printf("%8lld", (long long)j);
  std::printf("\n");
  for (int64_t i = 0; i < n; ++i) {
    std::printf("  [%lld]", (long long)i);
    for (int64_t j = 0; j < n; ++j) {
      double dot = 0;
      for (int64_t k = 0; k < d; ++k) dot += double(p[i * d + k]) * p[j * d + k];
      const double den = norm[size_t(i)] * norm[size_t(j)];
      std::printf("%8.4f", den > 0 ? dot / den : 0.0);
    }
    std::printf("\n");
  }
}
}  // namespace

int cmd_embed(int argc, char** argv) {
  Args args(argc, argv, 2, kFlags);
  if (args.has("help")) {
    std::printf(
        "usage: tlt embed MODEL (--text \"...\" ... | --file LINES.txt) [-o OUT.npy] [--batch-size N]\n"
        "                 [--repeat N]\n\n"
        "Sentence embeddings from a sentence-transformers model directory (modules.json with Transformer,\n"
        "Pooling (cls, max, mean, mean_sqrt_len, weightedmean, lasttoken), Dense, Normalize; the transformer a\n"
        "BERT, GPT-2 or LLaMA-family directory), equal to sentence-transformers' encode(). Texts are stripped,\n"
        "lowercased when sentence_bert_config.json says do_lower_case, and truncated to max_seq_length tokens.\n"
        "A directory without modules.json is read as sentence-transformers does: mean pooling, no Normalize.\n"
        "With -o, writes [n, d] f32; otherwise prints the shape, each row's norm and, for 2-8 texts, their\n"
        "cosine similarities.\n\n%s",
        flags_help(kFlags).c_str());
    return 0;
  }
  if (args.positional().size() != 1)
    TL_THROW(tl::ValueError, "expected one MODEL directory, got ", args.positional().size(),
             " positional arguments");
  std::vector<std::string> texts = args.all("text");
  for (const auto& f : args.all("file")) {
    const auto lines = read_lines(f);
    texts.insert(texts.end(), lines.begin(), lines.end());
  }
  if (texts.empty()) TL_THROW(tl::ValueError, "no texts: give --text \"...\" or --file LINES.txt");
  const int bs = args.get_int("batch-size", 32);
  if (bs <= 0) TL_THROW(tl::ValueError, "--batch-size = ", bs, " must be positive");
  tl::models::EmbeddingModel e = tl::models::EmbeddingModel::load(args.positional()[0]);
  if (!e.note().empty()) std::fprintf(stderr, "tlt embed: note: %s\n", e.note().c_str());
  const int repeat = args.get_int("repeat", 1);
  if (repeat <= 0) TL_THROW(tl::ValueError, "--repeat = ", repeat, " must be positive");
  tl::Tensor v;  // [n, d]
  std::vector<double> ms;
  for (int i = 0; i < repeat; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    v = e.encode(texts, bs);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  if (args.has("repeat")) {
    std::sort(ms.begin(), ms.end());
    std::fprintf(stderr, "tlt embed: encode of %zu texts: best %.2f ms, median %.2f ms over %d runs\n",
                 texts.size(), ms.front(), ms[ms.size() / 2], repeat);
  }
  if (args.has("out"))
    tl::write_npy(*args.get("out"), v);
  else
    print_summary(e, texts, v);
  return 0;
}

}  // namespace tlt
