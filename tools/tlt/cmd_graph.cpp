// tlt graph FILE (--text | --json | --dot) [-o OUT] : verify a graph and convert between its forms.
#include <cstdio>
#include <fstream>
#include <iostream>

#include "args.h"
#include "commands.h"
#include "tl/graph.h"
#include "tl/logic.h"
#include "tl/passes.h"

namespace tlt {

namespace {
const std::vector<FlagSpec> kFlags = {
    {{"--text"}, false, "print the graph in its text form"},
    {{"--json"}, false, "print the graph in its JSON form"},
    {{"--dot"}, false, "print the graph as Graphviz DOT"},
    {{"--opt"}, true, "optimise first: none, basic (dce, cse, folding, simplification) or full (+ einsum merge/split)"},
    {{"-o", "--output"}, true, "write to this file instead of stdout"},
    {{"-h", "--help"}, false, "show this help"},
};
}  // namespace

int cmd_graph(int argc, char** argv) {
  Args args(argc, argv, 2, kFlags);
  if (args.has("help")) {
    std::printf("usage: tlt graph FILE (--text | --json | --dot) [--opt LEVEL] [-o OUT]\n\n"
                "Reads a graph (text or JSON form, detected from the content; or a .tl program, whose tensor\n"
                "equations are compiled), verifies every node and\n"
                "prints it in the chosen form. With no form flag it only verifies.\n\n%s",
                flags_help(kFlags).c_str());
    return 0;
  }
  if (args.positional().size() != 1)
    TL_THROW(tl::ValueError, "expected exactly one graph FILE, got ", args.positional().size(), " arguments");
  int forms = args.has("text") + args.has("json") + args.has("dot");
  if (forms > 1) TL_THROW(tl::ValueError, "choose one of --text, --json, --dot (got ", forms, ")");
  const std::string& path = args.positional()[0];
  // A .tl program shows the graph its tensor equations compile to.
  bool is_tl = path.size() > 3 && path.compare(path.size() - 3, 3, ".tl") == 0;
  tl::Graph g = is_tl ? tl::logic::Program::load(path).graph() : tl::load_graph(path);
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
