// tlt perplexity MODEL (--text FILE | --text-string S | --ids IDS.npy) [--ctx 256] [--stride 128]
//                [--tokenizer TOKENIZER.json] [--max-tokens N] [--save-ids OUT.npy]
//                [--weight-format F [--compare-f32 N]] [--json]
// Sliding-window perplexity of a causal language model on a text (include/tl/models/perplexity.h): windows of
// --ctx tokens every --stride tokens, each scoring only the tokens no earlier window scored, as in the Hugging
// Face guide "Perplexity of fixed-length models". The text is encoded with the model's tokenizer (a
// directory's tokenizer.json, or a GGUF's vocabulary split as llama.cpp does) unless --tokenizer names one.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "args.h"
#include "commands.h"
#include "weight_flags.h"
#include "tl/error.h"
#include "tl/json.h"
#include "tl/models.h"
#include "tl/models/gguf_model.h"
#include "tl/models/perplexity.h"
#include "tl/npy.h"
#include "tl/quant.h"
#include "tl/tokenizer.h"

namespace tlt {

namespace {
const std::vector<FlagSpec> kFlags = with_weight_flags({
    {{"--text"}, true, "a UTF-8 text file to evaluate"},
    {{"--text-string"}, true, "the text itself"},
    {{"--ids"}, true, "token ids to evaluate instead of text: a 1-D (or [1, n]) integer .npy"},
    {{"--tokenizer"}, true, "encode with this tokenizer.json[.gz] instead of the model's own"},
    {{"--ctx"}, true, "tokens per window (default 256)"},
    {{"--stride"}, true, "tokens between window starts, <= ctx (default 128)"},
    {{"--max-tokens"}, true, "evaluate only the first N tokens of the text (default: all)"},
    {{"--save-ids"}, true, "write the evaluated token ids as an i64 .npy (to feed other engines the same ids)"},
    {{"--compare-f32"},
     true,
     "with --weight-format: also compare the logits of the first N tokens with the f32 weights' (max/mean |diff|, "
     "top-1 agreement)"},
    {{"--json"}, false, "print the result as one JSON object (with every window) instead of text"},
    {{"-h", "--help"}, false, "show this help"},
});

std::string read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) TL_THROW(tl::IoError, "--text: cannot open ", path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<int64_t> read_ids_npy(const std::string& path) {
  const tl::Tensor t = tl::read_npy(path);
  if (!(t.rank() == 1 || (t.rank() == 2 && t.size(0) == 1)) ||
      (t.dtype() != tl::DType::i64 && t.dtype() != tl::DType::i32))
    TL_THROW(tl::ValueError, "--ids ", path, ": expected a 1-D or [1, n] i64/i32 array, got ",
             tl::dtype_name(t.dtype()), " ", tl::shape_str(t.shape()));
  const std::vector<double> v = t.to_f64_vector();
  return std::vector<int64_t>(v.begin(), v.end());
}

// NaN / infinity (broken weights) are not JSON: null.
tl::json::Value number(double x) { return std::isfinite(x) ? tl::json::Value(x) : tl::json::Value(nullptr); }

int64_t positive(const Args& a, const std::string& key, int def) {
  const int v = a.get_int(key, def);
  if (v < 1) TL_THROW(tl::ValueError, "--", key, " must be >= 1, got ", v);
  return v;
}
}  // namespace

int cmd_perplexity(int argc, char** argv) {
  Args args(argc, argv, 2, kFlags);
  if (args.has("help")) {
    std::printf(
        "usage: tlt perplexity MODEL (--text FILE | --text-string S | --ids IDS.npy) [--ctx 256] [--stride 128]\n"
        "                      [--tokenizer TOKENIZER.json] [--max-tokens N] [--save-ids OUT.npy]\n"
        "                      [--weight-format F [--compare-f32 N]] [--json]\n\n"
        "Perplexity of a causal language model (a directory with config.json + model.safetensors, or a\n"
        ".gguf) on a text, by sliding windows as in the Hugging Face guide \"Perplexity of fixed-length\n"
        "models\": windows of --ctx tokens start every --stride tokens and each scores only the tokens no\n"
        "earlier window scored. The text is encoded with MODEL/tokenizer.json or the GGUF's vocabulary (as\n"
        "llama.cpp splits it), with the tokenizer's special tokens (BOS). Prints the mean NLL (nats per\n"
        "token), the perplexity exp(mean NLL) and the scored tokens; progress goes to stderr.\n"
        "--weight-format runs the model with its linear weights stored in that format; --compare-f32 N then\n"
        "also reports how far the logits of the first N tokens moved from the f32 weights' (the accuracy table\n"
        "of scripts/quant_accuracy.sh).\n\n%s",
        flags_help(kFlags).c_str());
    return 0;
  }
  if (args.positional().size() != 1)
    TL_THROW(tl::ValueError, "expected one MODEL, got ", args.positional().size(), " positional arguments");
  const std::string model_path = args.positional()[0];
  const int sources = int(args.has("text")) + int(args.has("text-string")) + int(args.has("ids"));
  if (sources != 1)
    TL_THROW(tl::ValueError, "give exactly one of --text FILE, --text-string S or --ids IDS.npy, got ", sources);
  tl::models::PerplexityOptions opt;
  opt.ctx = positive(args, "ctx", 256);
  opt.stride = positive(args, "stride", 128);
  if (opt.stride > opt.ctx)
    TL_THROW(tl::ValueError, "--stride ", opt.stride, " exceeds --ctx ", opt.ctx, " (tokens would be skipped)");

  // --compare-f32 loads f32 weights, keeps the logits of the first N tokens, then quantises in place.
  tl::models::LoadOptions lo = weight_load_options(args);
  const std::optional<tl::WeightFormat> wf = lo.weight_format;
  const bool compare = args.has("compare-f32");
  if (compare && (!wf || lo.keep_quantized))
    TL_THROW(tl::ValueError, "--compare-f32 needs --weight-format (and no --keep-quantized: the f32 reference ",
             "is the same weights before they are stored)");
  if (compare) lo.weight_format.reset();
  const int64_t compare_tokens = compare ? positive(args, "compare-f32", 0) : 0;

  std::vector<int64_t> ids;
  if (args.has("ids")) {
    ids = read_ids_npy(*args.get("ids"));
  } else {
    // The text and the tokenizer before the (slow) model load, so a missing file fails at once.
    const std::string text = args.has("text") ? read_text_file(*args.get("text")) : *args.get("text-string");
    std::optional<tl::tok::Tokenizer> tok;
    if (auto t = args.get("tokenizer"))
      tok = tl::tok::Tokenizer::from_file(*t);
    else
      tok = tl::models::load_tokenizer(model_path, tl::models::GgufPreTokenizer::llama_cpp);
    if (!tok)
      TL_THROW(tl::IoError, "text needs a tokenizer: ", model_path,
               tl::models::is_gguf_path(model_path) ? " has no embedded vocabulary (tokenizer.ggml.tokens)"
                                                    : " has no tokenizer.json (give --tokenizer)");
    tl::tok::EncodeOptions eo;
    eo.truncate_and_pad = false;
    for (int32_t id : tok->encode(text, eo)) ids.push_back(id);
  }
  if (args.has("max-tokens")) {
    const int64_t cap = positive(args, "max-tokens", 0);
    if (int64_t(ids.size()) > cap) ids.resize(size_t(cap));
  }
  if (auto p = args.get("save-ids")) {
    tl::Tensor t = tl::Tensor::empty({int64_t(ids.size())}, tl::DType::i64);
    std::copy(ids.begin(), ids.end(), t.data<int64_t>());
    tl::write_npy(*p, t);
  }

  const auto t0 = std::chrono::steady_clock::now();
  auto m = tl::models::load_model(model_path, lo);
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "[perplexity] loaded %s (%s, %.1fM parameters) in %.2f s\n", model_path.c_str(),
               m->family().c_str(), double(m->parameter_count()) / 1e6, load_s);

  std::optional<tl::models::LogitDiff> diff;
  if (compare) {
    const int64_t n_compare = std::min<int64_t>(compare_tokens, int64_t(ids.size()));
    const std::vector<int64_t> head(ids.begin(), ids.begin() + n_compare);
    const tl::Tensor ref = tl::models::causal_logits(*m, head);  // [1, n_compare, vocab]
    const auto tq = std::chrono::steady_clock::now();
    m->quantize(*wf, lo.policy);
    std::fprintf(stderr, "[perplexity] %zu linear weights stored as %s in %.2f s\n", m->weight_formats().size(),
                 tl::weight_format_name(*wf), std::chrono::duration<double>(std::chrono::steady_clock::now() - tq).count());
    diff = tl::models::compare_logits(ref, tl::models::causal_logits(*m, head));
  }
  std::fprintf(stderr, "[perplexity] weights: %.1f MB\n", double(m->weight_bytes()) / 1e6);

  const int64_t n = int64_t(ids.size());
  const int64_t n_windows = n <= opt.ctx ? 1 : 1 + (n - opt.ctx + opt.stride - 1) / opt.stride;
  int done = 0;
  int64_t forwarded = 0;  // tokens run through the model (windows overlap)
  const auto t1 = std::chrono::steady_clock::now();
  const tl::models::PerplexityResult r =
      tl::models::perplexity(*m, ids, opt, [&](const tl::models::PerplexityWindow& w) {
        forwarded += w.end - w.begin;
        std::fprintf(stderr, "\r[perplexity] window %d/%lld [%lld, %lld): mean NLL %.4f", ++done,
                     (long long)n_windows, (long long)w.begin, (long long)w.end, w.mean_nll());
      });
  const double eval_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  std::fprintf(stderr, "\n[perplexity] %lld tokens in %.2f s (%.1f tok/s forward)\n", (long long)n, eval_s,
               eval_s > 0 ? double(forwarded) / eval_s : 0.0);

  if (args.has("json")) {
    tl::json::Object o;
    o.insert("model", model_path);
    o.insert("family", m->family());
    o.insert("ctx", opt.ctx);
    o.insert("stride", opt.stride);
    o.insert("text_tokens", n);
    o.insert("scored_tokens", r.tokens);
    o.insert("mean_nll", number(r.mean_nll));
    o.insert("perplexity", number(r.perplexity));
    tl::json::Array ws;
    for (const auto& w : r.windows) {
      tl::json::Object j;
      j.insert("begin", w.begin);
      j.insert("end", w.end);
      j.insert("scored", w.scored);
      j.insert("mean_nll", number(w.mean_nll()));
      ws.push_back(tl::json::Value(std::move(j)));
    }
    o.insert("windows", tl::json::Value(std::move(ws)));
    o.insert("weight_format", wf ? tl::weight_format_name(*wf) : lo.keep_quantized ? "gguf" : "f32");
    o.insert("weight_bytes", m->weight_bytes());
    if (diff) {
      tl::json::Object d;
      d.insert("tokens", diff->positions);
      d.insert("max_abs", number(diff->max_abs));
      d.insert("mean_abs", number(diff->mean_abs));
      d.insert("top1_agreement", diff->top1_agreement());
      o.insert("logits_vs_f32", tl::json::Value(std::move(d)));
    }
    o.insert("eval_seconds", eval_s);
    std::printf("%s\n", tl::json::dump(tl::json::Value(std::move(o))).c_str());
  } else {
    std::printf("perplexity %.6f  (mean NLL %.6f nats/token over %lld scored tokens of %lld; ctx %lld, stride %lld, "
                "%zu windows)\n",
                r.perplexity, r.mean_nll, (long long)r.tokens, (long long)n, (long long)opt.ctx,
                (long long)opt.stride, r.windows.size());
    if (diff)
      std::printf("%s logits vs f32 on the first %lld tokens: max |diff| %.4g, mean |diff| %.4g, top-1 agreement "
                  "%.2f%%\n",
                  tl::weight_format_name(*wf), (long long)diff->positions, diff->max_abs, diff->mean_abs,
                  100.0 * diff->top1_agreement());
  }
  return 0;
}

}  // namespace tlt
