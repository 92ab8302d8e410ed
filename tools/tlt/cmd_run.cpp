// tlt run PROGRAM.tl [--input NAME=FILE.npy ...] [--output NAME=FILE.npy|.tsv ...] [--facts NAME=FILE.tsv ...]
//                    [--query RELATION ...] : runs a .tl program (tensor equations and/or Datalog rules).
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>

#include "args.h"
#include "commands.h"
#include "tl/error.h"
#include "tl/logic.h"
#include "tl/npy.h"
#include "tl/threading.h"

namespace tlt {

namespace {
const std::vector<FlagSpec> kFlags = {
    {{"-i", "--input"}, true, "NAME=FILE.npy: bind a declared input or param (repeatable)"},
    {{"-o", "--output"},
     true,
     "NAME=FILE.npy or NAME=FILE.tsv: write a tensor, or a relation's sorted tuples (repeatable)"},
    {{"--facts"}, true, "NAME=FILE.tsv: load tuples of a relation, one per line, tab-separated (repeatable)"},
    {{"-q", "--query"}, true, "RELATION: print its tuples, tab-separated and sorted (repeatable)"},
    {{"--opt"}, true, "optimisation level for the equations: none, basic (default) or full"},
    {{"-t", "--threads"}, true, "number of threads (default: all cores)"},
    {{"-h", "--help"}, false, "show this help"},
};

struct RunArgs {
  std::string program;
  std::vector<std::pair<std::string, std::string>> inputs, outputs, facts;
  std::vector<std::string> queries;
  int threads = 0;
  tl::OptLevel opt = tl::OptLevel::basic;
  bool help = false;
};

std::pair<std::string, std::string> name_eq_file(const std::string& flag, const std::string& v) {
  auto eq = v.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == v.size())
    TL_THROW(tl::ValueError, "option '", flag, "' expects NAME=FILE, got '", v, "'");
  return {v.substr(0, eq), v.substr(eq + 1)};
}

RunArgs parse_args(int argc, char** argv) {
  Args args(argc, argv, 2, kFlags);
  RunArgs r;
  r.help = args.has("help");
  for (const auto& v : args.all("input")) r.inputs.push_back(name_eq_file("--input", v));
  for (const auto& v : args.all("output")) r.outputs.push_back(name_eq_file("--output", v));
  for (const auto& v : args.all("facts")) r.facts.push_back(name_eq_file("--facts", v));
  r.queries = args.all("query");
  r.threads = args.get_int("threads", 0);
  if (auto o = args.get("opt")) r.opt = tl::parse_opt_level(*o);
  const auto& pos = args.positional();
  if (!r.help && pos.size() != 1) TL_THROW(tl::ValueError, "expected one PROGRAM.tl argument, got ", pos.size());
  if (!pos.empty()) r.program = pos[0];
  return r;
}

bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

void print_tensor(const std::string& name, const tl::Tensor& t) {
  std::printf("%s: shape %s dtype %s\n", name.c_str(), tl::shape_str(t.shape()).c_str(),
              tl::dtype_name(t.dtype()));
  auto v = t.to_f64_vector();
  for (size_t i = 0; i < v.size(); ++i)
    std::printf("%.9g%s", v[i], (i + 1) % 8 == 0 || i + 1 == v.size() ? "\n" : " ");
}

void print_tuples(const std::string& header, const std::vector<tl::logic::Tuple>& tuples) {
  std::fprintf(stderr, "# %s: %zu tuple%s\n", header.c_str(), tuples.size(), tuples.size() == 1 ? "" : "s");
  std::fputs(tl::logic::format_tsv(tuples).c_str(), stdout);
}
}  // namespace

int cmd_run(int argc, char** argv) {
  RunArgs a = parse_args(argc, argv);
  if (a.help) {
    std::printf(
        "usage: tlt run PROGRAM.tl [--input NAME=FILE.npy ...] [--output NAME=FILE.npy|FILE.tsv ...]\n"
        "                          [--facts NAME=FILE.tsv ...] [--query RELATION ...]\n\n"
        "Runs a .tl program: tensor equations on the --input tensors, then Datalog rules to a fixpoint.\n"
        "Symbols in facts map to indices in order of first appearance. Without --output or --query it\n"
        "prints every equation's tensor and the answers of the program's own queries (`R(x, y)?`).\n\n%s",
        flags_help(kFlags).c_str());
    return 0;
  }
  if (a.threads > 0) tl::set_num_threads(a.threads);
  tl::logic::Program prog = tl::logic::Program::load(a.program);

  std::map<std::string, tl::Tensor> tensors;  // equation outputs
  if (prog.has_equations()) {
    std::map<std::string, tl::Tensor> in;
    for (const auto& [name, file] : a.inputs) in[name] = tl::read_npy(file);
    tensors = prog.run(in, a.opt);
  } else if (!a.inputs.empty()) {
    TL_THROW(tl::ValueError, "--input given but '", a.program, "' has no tensor equations");
  }

  std::optional<tl::logic::Database> db;
  if (prog.has_rules_or_facts() || !a.facts.empty()) {
    for (const auto& [name, file] : a.facts) prog.add_facts(name, tl::logic::read_tsv(file));
    db = prog.evaluate();
  }

  for (const auto& [name, file] : a.outputs) {
    bool tsv = ends_with(file, ".tsv");
    if (!tsv && !ends_with(file, ".npy"))
      TL_THROW(tl::ValueError, "--output ", name, "=", file, ": expected a .npy or .tsv file name");
    if (tsv) {
      if (!db || !db->relations.count(name))
        TL_THROW(tl::ValueError, "--output ", name, "=", file, ": no relation named '", name, "'");
      tl::logic::write_tsv(file, db->tuples(name));
    } else if (tensors.count(name)) {
      tl::write_npy(file, tensors.at(name));
    } else if (db && db->relations.count(name)) {
      tl::write_npy(file, db->relations.at(name));  // the relation as a bool tensor over symbol indices
    } else {
      TL_THROW(tl::ValueError, "--output ", name, "=", file, ": no tensor or relation named '", name, "'");
    }
  }
  for (const auto& q : a.queries) {
    if (!db || !db->relations.count(q)) TL_THROW(tl::ValueError, "--query: no relation named '", q, "'");
    print_tuples(q, db->tuples(q));
  }
  if (a.outputs.empty() && a.queries.empty()) {
    for (const auto& [name, t] : tensors) print_tensor(name, t);
    auto qs = prog.queries();
    for (size_t i = 0; i < qs.size(); ++i) print_tuples(qs[i], prog.answer(*db, i));
  }
  return 0;
}

}  // namespace tlt
