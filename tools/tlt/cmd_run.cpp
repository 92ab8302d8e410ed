// tlt run PROGRAM.tl [--input NAME=FILE.npy ...] [--output NAME=FILE.npy|.tsv ...] [--facts NAME=FILE.tsv
// ...]
//                    [--query RELATION ...] [--facts-dir DIR] [--output-dir DIR] [--max-rounds N]
// runs a .tl program (tensor equations and/or Datalog rules). `.input R` reads R.tsv from the facts dir (or a
// --facts R=FILE); `.output R` writes R.tsv to --output-dir, or prints it without one.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>

#include "args.h"
#include "commands.h"
#include "tl/error.h"
#include "tl/io/safetensors.h"
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
    {{"-F", "--facts-dir"}, true, "DIR: where `.input R` reads R.tsv (default: the program's directory)"},
    {{"-D", "--output-dir"}, true, "DIR: where `.output R` writes R.tsv (default: print to stdout)"},
    {{"--storage"}, true, "Datalog relations: auto (default: sparse for sparse bodies), dense or sparse"},
    {{"--stats"}, false, "print the Datalog evaluation time, rounds and sparse strata to stderr"},
    {{"--max-rounds"}, true, "N: stop with an error after N fixpoint rounds (default 1000000)"},
    {{"-w", "--weights"}, true, "FILE.safetensors: bind declared params by name (repeatable; -i wins)"},
    {{"--opt"}, true, "optimisation level for the equations: none, basic (default) or full"},
    {{"-t", "--threads"}, true, "number of threads (default: all cores)"},
    {{"-h", "--help"}, false, "show this help"},
};

struct RunArgs {
  std::string program;
  std::vector<std::pair<std::string, std::string>> inputs, outputs, facts;
  std::vector<std::string> weights;
  std::vector<std::string> queries;
  std::optional<std::string> facts_dir, output_dir;
  int max_rounds = 1000000;
  bool stats = false;
  tl::logic::Storage storage = tl::logic::Storage::automatic;
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
  r.weights = args.all("weights");
  r.stats = args.has("stats");
  if (auto s = args.get("storage")) {
    if (*s == "dense")
      r.storage = tl::logic::Storage::dense;
    else if (*s == "sparse")
      r.storage = tl::logic::Storage::sparse;
    else if (*s != "auto")
      TL_THROW(tl::ValueError, "--storage expects auto, dense or sparse, got '", *s, "'");
  }
  r.facts_dir = args.get("facts-dir");
  r.output_dir = args.get("output-dir");
  r.max_rounds = args.get_int("max-rounds", 1000000);
  if (r.max_rounds < 1) TL_THROW(tl::ValueError, "--max-rounds must be at least 1, got ", r.max_rounds);
  r.threads = args.get_int("threads", 0);
  if (auto o = args.get("opt")) r.opt = tl::parse_opt_level(*o);
  const auto& pos = args.positional();
  if (!r.help && pos.size() != 1)
    TL_THROW(tl::ValueError, "expected one PROGRAM.tl argument, got ", pos.size());
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
        "usage: tlt run PROGRAM.tl [--input NAME=FILE.npy ...] [--weights FILE.safetensors ...]\n"
        "                          [--output NAME=FILE.npy|FILE.tsv ...]\n"
        "                          [--facts NAME=FILE.tsv ...] [--query RELATION ...]\n"
        "                          [--facts-dir DIR] [--output-dir DIR] [--max-rounds N]\n\n"
        "Runs a .tl program: tensor equations on the --input tensors, then Datalog rules to a fixpoint.\n"
        "Symbols in facts map to indices in order of first appearance. `.input R` reads R.tsv from the\n"
        "facts dir unless --facts R=FILE names it; `.output R` writes R.tsv to --output-dir (or prints it).\n"
        "Without --output or --query it prints every equation's tensor and the answers of the program's\n"
        "own queries (`R(x, y)?`).\n\n%s",
        flags_help(kFlags).c_str());
    return 0;
  }
  if (a.threads > 0) tl::set_num_threads(a.threads);
  tl::logic::Program prog = tl::logic::Program::load(a.program);

  std::map<std::string, tl::Tensor> tensors;  // equation outputs
  if (prog.has_equations()) {
    std::map<std::string, tl::Tensor> in;
    for (const auto& [name, file] : a.inputs) in[name] = tl::read_npy(file);
    for (const auto& file : a.weights) {
      auto st = tl::io::SafetensorsFile::open(file);
      int bound = 0;
      for (const auto& name : prog.param_names()) {
        if (!st.find(name)) continue;
        ++bound;
        if (!in.count(name)) in[name] = st.load(name, tl::io::Convert::to_f32);
      }
      if (bound == 0)
        TL_THROW(tl::ValueError, "--weights ", file, ": none of the program's params (",
                 prog.param_names().size(), " declared) is in the file");
    }
    tensors = prog.run(in, a.opt);
  } else if (!a.inputs.empty() || !a.weights.empty()) {
    TL_THROW(tl::ValueError, "--input/--weights given but '", a.program, "' has no tensor equations");
  }

  std::optional<tl::logic::Database> db;
  if (prog.has_rules_or_facts() || !a.facts.empty()) {
    for (const auto& [name, file] : a.facts) prog.add_facts(name, tl::logic::read_tsv(file));
    namespace fs = std::filesystem;
    fs::path dir = a.facts_dir ? fs::path(*a.facts_dir) : fs::path(a.program).parent_path();
    for (const auto& rel : prog.input_relations()) {
      bool given = false;
      for (const auto& f : a.facts) given = given || f.first == rel;
      if (given) continue;
      fs::path file = dir / (rel + ".tsv");
      std::error_code ec;
      if (!fs::exists(file, ec))
        TL_THROW(tl::IoError, "'.input ", rel, "': cannot find '", file.string(),
                 "' (use --facts-dir DIR or --facts ", rel, "=FILE)");
      prog.add_facts(rel, tl::logic::read_tsv(file.string()));
    }
    auto t0 = std::chrono::steady_clock::now();
    db = prog.evaluate(a.max_rounds, a.storage);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (a.stats)
      std::fprintf(stderr, "# datalog: %.6f s, %d rounds, %d sparse strata, %d symbols\n", s, db->rounds,
                   db->sparse_strata, db->symbols.size());
  } else if (a.facts_dir || a.output_dir) {
    TL_THROW(tl::ValueError, "--facts-dir/--output-dir given but '", a.program, "' has no relations");
  }
  if (db && a.output_dir) {
    std::error_code ec;
    std::filesystem::create_directories(*a.output_dir, ec);
    if (ec) TL_THROW(tl::IoError, "--output-dir: cannot create '", *a.output_dir, "': ", ec.message());
    for (const auto& rel : prog.output_relations())
      tl::logic::write_tsv((std::filesystem::path(*a.output_dir) / (rel + ".tsv")).string(), db->tuples(rel));
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
    if (db && !a.output_dir)
      for (const auto& rel : prog.output_relations()) print_tuples(rel, db->tuples(rel));
  }
  return 0;
}

}  // namespace tlt
