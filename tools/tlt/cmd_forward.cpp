// tlt forward MODEL (--tokens 1,2,3 ... | --text "..." ... | --pixels X.npy) [--decoder-tokens ...]
//             [--output logits|hidden] -o OUT.npy
// Runs a Hugging Face style model directory (config.json + safetensors) or a LLaMA-architecture .gguf file
// (its embedded vocabulary serves --text) and writes [batch, seq, vocab] logits
// or [batch, seq, d_model] hidden states (ViT logits: [batch, labels]).
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "args.h"
#include "commands.h"
#include "weight_flags.h"
#include "tl/error.h"
#include "tl/models.h"
#include "tl/models/gguf_model.h"
#include "tl/npy.h"
#include "tl/tokenizer.h"

namespace tlt {

namespace {
const std::vector<FlagSpec> kFlags = with_weight_flags({
    {{"--tokens"}, true, "comma-separated token ids of one sequence (repeat for a batch)"},
    {{"--text"}, true, "text to encode with MODEL/tokenizer.json (repeat for a batch)"},
    {{"--decoder-tokens"},
     true,
     "T5: decoder input ids (repeat per sequence; default: decoder_start_token_id)"},
    {{"--pixels"}, true, "ViT: [batch, channels, H, W] f32 .npy, already normalised"},
    {{"--output"}, true, "logits (default) or hidden"},
    {{"-o", "--out"}, true, "output .npy file (required)"},
    {{"-h", "--help"}, false, "show this help"},
});

// Rows padded with 0 to the longest; mask 1 for real tokens. Returns {ids, mask, padded?}.
std::pair<tl::Tensor, tl::Tensor> batch_of(const std::vector<std::vector<int64_t>>& rows, bool& padded) {
  size_t n = 0;
  for (const auto& r : rows) n = std::max(n, r.size());
  if (n == 0) TL_THROW(tl::ValueError, "an input sequence is empty");
  tl::Tensor ids = tl::Tensor::zeros({int64_t(rows.size()), int64_t(n)}, tl::DType::i64);
  tl::Tensor mask = tl::Tensor::zeros({int64_t(rows.size()), int64_t(n)});
  padded = false;
  for (size_t b = 0; b < rows.size(); ++b) {
    padded |= rows[b].size() != n;
    for (size_t t = 0; t < rows[b].size(); ++t) {
      ids.data<int64_t>()[b * n + t] = rows[b][t];
      mask.data<float>()[b * n + t] = 1.0f;
    }
  }
  return {ids, mask};
}
}  // namespace

int cmd_forward(int argc, char** argv) {
  Args args(argc, argv, 2, kFlags);
  if (args.has("help")) {
    std::printf(
        "usage: tlt forward MODEL (--tokens 1,2,3 ... | --text \"...\" ... | --pixels X.npy)\n"
        "                   [--decoder-tokens ...] [--output logits|hidden] -o OUT.npy\n\n"
        "Runs a Hugging Face style model directory (config.json + model.safetensors; families: ");
    for (const auto& t : tl::models::supported_model_types()) std::printf("%s ", t.c_str());
    std::printf(
        ")\nor a LLaMA-architecture .gguf file (dequantised to f32; --text uses its embedded vocabulary)\n"
        "and writes logits [batch, seq, vocab] or hidden states [batch, seq, d_model].\n"
        "Sequences of different lengths are padded (with a mask) for BERT and T5 encoders only.\n\n%s",
        flags_help(kFlags).c_str());
    return 0;
  }
  if (args.positional().size() != 1)
    TL_THROW(tl::ValueError, "expected one MODEL directory, got ", args.positional().size(),
             " positional arguments");
  if (!args.has("out")) TL_THROW(tl::ValueError, "missing -o OUT.npy");
  const std::string dir = args.positional()[0];
  const std::string what = args.get("output").value_or("logits");
  if (what != "logits" && what != "hidden")
    TL_THROW(tl::ValueError, "--output must be logits or hidden, got \"", what, "\"");
  auto m = tl::models::load_model(dir, weight_load_options(args));

  std::vector<std::vector<int64_t>> rows;
  for (const auto& s : args.all("tokens")) rows.push_back(parse_id_list(s, "--tokens"));
  if (args.has("text")) {
    const std::optional<tl::tok::Tokenizer> tok = tl::models::load_tokenizer(dir);  // dir or .gguf
    if (!tok)
      TL_THROW(tl::IoError, "--text needs a tokenizer: ", dir,
               tl::models::is_gguf_path(dir) ? " has no embedded vocabulary (tokenizer.ggml.tokens)"
                                             : " has no tokenizer.json");
    tl::tok::EncodeOptions opt;
    opt.truncate_and_pad = false;
    for (const auto& s : args.all("text")) {
      const auto ids = tok->encode(s, opt);
      rows.emplace_back(ids.begin(), ids.end());
    }
  }
  tl::models::Batch b;
  const std::string fam = m->family();
  if (fam == "vit") {
    if (!args.has("pixels")) TL_THROW(tl::ValueError, "vit takes --pixels X.npy ([batch, channels, H, W])");
    b.pixels = tl::read_npy(*args.get("pixels")).to(tl::DType::f32);
  } else {
    if (rows.empty()) TL_THROW(tl::ValueError, fam, " takes --tokens or --text");
    bool padded = false;
    auto [ids, mask] = batch_of(rows, padded);
    b.ids = ids;
    if (fam == "bert" || fam == "t5")
      b.mask = mask;
    else if (padded)
      TL_THROW(tl::ValueError, fam,
               " is causal and padding is not supported here: give sequences of equal length");
    if (fam == "t5") {
      std::vector<std::vector<int64_t>> dec;
      for (const auto& s : args.all("decoder-tokens")) dec.push_back(parse_id_list(s, "--decoder-tokens"));
      if (dec.empty()) dec.assign(rows.size(), {m->config().get_int("decoder_start_token_id", 0)});
      if (dec.size() != rows.size())
        TL_THROW(tl::ValueError, "--decoder-tokens given ", dec.size(), " times for ", rows.size(),
                 " sequences");
      bool dpad = false;
      b.decoder_ids = batch_of(dec, dpad).first;
      if (dpad) TL_THROW(tl::ValueError, "--decoder-tokens sequences must have equal lengths");
    }
  }
  auto out = m->forward(b);
  auto it = out.find(what);
  if (it == out.end()) TL_THROW(tl::ValueError, fam, " has no ", what, " output");
  tl::write_npy(*args.get("out"), it->second);
  return 0;
}

}  // namespace tlt
