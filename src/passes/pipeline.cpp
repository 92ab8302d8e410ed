// The pass pipeline: levels none/basic/full, verification after every pass in debug builds.
#include <sstream>

#include "tl/error.h"
#include "tl/passes.h"

namespace tl {

std::vector<Pass> pipeline_passes(OptLevel level, const PassOptions& opt) {
  std::vector<Pass> p;
  if (level == OptLevel::none) return p;
  p.push_back({"dce", dead_code_elimination});
  p.push_back({"cse", common_subexpression_elimination});
  p.push_back({"fold", constant_folding});
  p.push_back({"simplify", algebraic_simplification});
  p.push_back({"cse", common_subexpression_elimination});  // simplification exposes duplicates (x*1 vs x)
  p.push_back({"dce", dead_code_elimination});
  if (level == OptLevel::full) {
    p.push_back({"einsum_merge", merge_einsum_chains});
    if (opt.split_einsums) p.push_back({"einsum_split", split_einsums});
    p.push_back({"fusion", elementwise_fusion});
    p.push_back({"linear_epilogue", fuse_linear_epilogues});
    p.push_back({"linear_group", group_linears});
    p.push_back({"cse", common_subexpression_elimination});
    p.push_back({"dce", dead_code_elimination});
  }
  return p;
}

std::vector<PassRecord> run_passes(Graph& g, const std::vector<Pass>& passes, const PassOptions& opt) {
#ifdef NDEBUG
  const bool verify_each = opt.verify_each;
#else
  const bool verify_each = true;
#endif
  std::vector<PassRecord> log;
  if (passes.empty()) return log;
  verify(g);  // the passes assume a valid graph; a bad one is the caller's error (ValueError listing problems)
  for (const Pass& pass : passes) {
    bool changed = pass.run(g, opt);
    if (verify_each) {
      std::vector<std::string> problems = verify_problems(g);
      if (!problems.empty()) {
        std::ostringstream os;
        for (const std::string& s : problems) os << "\n  " << s;
        TL_THROW(InternalError, "[passes] pass '", pass.name, "' left an invalid graph '", g.name(), "':", os.str());
      }
    }
    log.push_back(PassRecord{pass.name, changed, g.nodes().size()});
  }
  return log;
}

std::vector<PassRecord> optimize(Graph& g, OptLevel level, const PassOptions& opt) {
  return run_passes(g, pipeline_passes(level, opt), opt);
}

const char* opt_level_name(OptLevel level) {
  switch (level) {
    case OptLevel::none: return "none";
    case OptLevel::basic: return "basic";
    case OptLevel::full: return "full";
  }
  return "?";
}

OptLevel parse_opt_level(const std::string& name) {
  for (OptLevel l : {OptLevel::none, OptLevel::basic, OptLevel::full})
    if (name == opt_level_name(l)) return l;
  TL_THROW(ValueError, "[passes] unknown optimisation level '", name, "' (expected none, basic or full)");
}

}  // namespace tl
