// tlt graph FILE|MODEL_DIR (--text | --json | --dot | --tl) [-o OUT] : verify a graph (a graph file, a .tl program
// or a model directory's forward graph) and print it in one of its forms.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "args.h"
#include "commands.h"
#include "weight_flags.h"
#include "tl/graph.h"
#include "tl/logic.h"
#include "tl/models.h"
#include "tl/passes.h"
#include "tl/tl_export.h"

namespace tlt {

namespace {
const std::vector<FlagSpec> kFlags = with_weight_flags({
    {{"--text"}, false, "print the graph in its text form"},
    {{"--json"}, false, "print the graph in its JSON form"},
    {{"--dot"}, false, "print the graph as Graphviz DOT"},
    {{"--tl"}, false, "print the graph as a .tl program (tensor equations, weights by checkpoint name)"},
    {{"--seq"}, true, "N: MODEL directories: tokens per sequence (default 8; T5: encoder and decoder)"},
    {{"--batch"}, true, "N: MODEL directories: sequences (or images) per batch (default 1)"},
    {{"--opt"}, true, "optimise first: none, basic (dce, cse, folding, simplification) or full (+ einsum merge/split)"},
    {{"-o", "--output"}, true, "write to this file instead of stdout"},
    {{"-h", "--help"}, false, "show this help"},
});
}  // namespace

// The forward graph of a model directory (config.json) for a batch of `batch` x `seq` inputs: token ids
// (plus a mask for BERT and T5, token types for BERT, decoder ids for T5) or ViT images of the configured size.
tl::Graph model_graph(const std::string& dir, int64_t batch, int64_t seq, std::string& family,
                      const tl::models::LoadOptions& lo) {
  auto m = tl::models::load_model(dir, lo);
  family = m->family();
  tl::models::Batch b;
  if (family == "vit") {
    const auto& c = m->config();
    const int64_t ch = c.get_int("num_channels", 3), img = c.get_int("image_size", 224);
    b.pixels = tl::Tensor::zeros({batch, ch, img, img});
  } else {
    b.ids = tl::Tensor::zeros({batch, seq}, tl::DType::i64);
    if (family == "bert" || family == "t5") b.mask = tl::Tensor::full({batch, seq}, 1.0);
    if (family == "bert") b.type_ids = tl::Tensor::zeros({batch, seq}, tl::DType::i64);
    if (family == "t5") b.decoder_ids = tl::Tensor::zeros({batch, seq}, tl::DType::i64);
  }
  tl::Graph g = m->build_graph(b);
  // Stored weights (and a tied head's stored copy): typed linear ops on u8/f16/bf16 params.
  tl::apply_weight_formats(g, m->weight_formats(), m->linear_copy_formats());
  return g;
}

int cmd_graph(int argc, char** argv) {
  Args args(argc, argv, 2, kFlags);
  if (args.has("help")) {
    std::printf("usage: tlt graph FILE (--text | --json | --dot | --tl) [--opt LEVEL] [-o OUT]\n"
                "       tlt graph MODEL_DIR (--tl | --text | --json | --dot) [--seq N] [--batch N] [-o OUT]\n\n"
                "Reads a graph (text or JSON form, detected from the content; or a .tl program, whose tensor\n"
                "equations are compiled; or a model directory with config.json, whose forward graph is built\n"
                "for a batch of --batch x --seq inputs), verifies every node and prints it in the chosen form.\n"
                "--tl writes a .tl program that `tlt run PROG.tl --weights MODEL_DIR/model.safetensors -i ...`\n"
                "runs to the same logits as `tlt forward`. With no form flag it only verifies.\n\n%s",
                flags_help(kFlags).c_str());
    return 0;
  }
  if (args.positional().size() != 1)
    TL_THROW(tl::ValueError, "expected exactly one graph FILE, got ", args.positional().size(), " arguments");
  int forms = args.has("text") + args.has("json") + args.has("dot") + args.has("tl");
  if (forms > 1) TL_THROW(tl::ValueError, "choose one of --text, --json, --dot, --tl (got ", forms, ")");
  const std::string& path = args.positional()[0];
  auto ends = [&](const char* suf) {
    const std::string x = suf;
    return path.size() > x.size() && path.compare(path.size() - x.size(), x.size(), x) == 0;
  };
  // A model: a Hugging Face directory, or a .gguf file (as far as tl::models::load_model reads them).
  const bool is_model = std::filesystem::is_directory(path) || ends(".gguf");
  if (!is_model && (args.has("seq") || args.has("batch")))
    TL_THROW(tl::ValueError, "--seq/--batch apply to a MODEL (directory or .gguf), but '", path,
             "' is not a directory");
  const int seq = args.get_int("seq", 8), batch = args.get_int("batch", 1);
  if (seq < 1 || batch < 1) TL_THROW(tl::ValueError, "--seq and --batch must be at least 1, got ", seq, " and ", batch);
  // A .tl program shows the graph its tensor equations compile to; a model directory its forward graph.
  const bool is_tl = ends(".tl");
  std::string family;
  tl::Graph g = is_model ? model_graph(path, batch, seq, family, weight_load_options(args))
                : is_tl  ? tl::logic::Program::load(path).graph()
                         : tl::load_graph(path);
  tl::verify(g);
  if (auto level = args.get("opt")) {
    for (const auto& rec : tl::optimize(g, tl::parse_opt_level(*level)))
      std::fprintf(stderr, "pass %-22s %s, %zu nodes\n", rec.name.c_str(), rec.changed ? "changed" : "no change",
                   rec.nodes_after);
  }
  std::string out;
  if (args.has("text")) out = tl::to_text(g);
  else if (args.has("json")) out = tl::to_json(g);
  else if (args.has("dot")) out = tl::to_dot(g);
  else if (args.has("tl")) {
    tl::logic::ExportOptions eo;
    if (is_model) {
      eo.header.push_back(family + " model from " + path + ", forward graph for batch " + std::to_string(batch) +
                          (family == "vit" ? " (images)" : " x seq " + std::to_string(seq)));
      const std::string w = ends(".gguf") ? "WEIGHTS.safetensors" : path + "/model.safetensors";
      eo.header.push_back("run: tlt run THIS.tl --weights " + w + " -i NAME=X.npy ... -o logits=Y.npy");
    }
    for (tl::Value v : g.inputs())
      eo.header.push_back("input  " + g.info(v).name + ": " + tl::type_str(g.type(v)));
    for (const auto& o : g.outputs()) eo.header.push_back("output " + o.name + ": " + tl::type_str(g.type(o.value)));
    out = tl::logic::to_tl(g, eo);
  }
  else {
    std::fprintf(stderr, "%s: ok\n", path.c_str());
    return 0;
  }
  if (auto o = args.get("output")) {
    std::ofstream f(*o, std::ios::binary);
    if (!f) TL_THROW(tl::IoError, "cannot open '", *o, "' for writing");
    f << out;
  } else {
    std::cout << out;
  }
  return 0;
}

}  // namespace tlt
