// Common-subexpression elimination: a node with the same op, attributes (constants bitwise, NormAttrs' eps
// bitwise) and inputs as an earlier node is replaced by that node's value. Inputs and params are never merged
// (distinct names bind distinct tensors), and a value that is a graph output is never replaced.
#include <cstring>
#include <map>

#include "draft.h"
#include "tl/ops.h"
#include "tl/passes.h"

namespace tl {
namespace {

// Bucket key: op name, output type and input ids; constants add a hash of their bytes. Nodes in a bucket are
// then compared exactly.
std::string bucket_key(const passes_detail::Draft& d, const Node& n) {
  std::string k = node_op_name(n) + "|" + type_str(d.type(n.output));
  for (Value v : n.inputs) k += "|" + std::to_string(v.id);
  if (n.kind == OpKind::constant) {
    Tensor t = std::get<ConstantAttrs>(n.attrs).value.contiguous();
    uint64_t h = 1469598103934665603ull;  // FNV-1a
    const auto* p = static_cast<const uint8_t*>(t.raw_data());
    for (size_t i = 0; i < t.nbytes(); ++i) h = (h ^ p[i]) * 1099511628211ull;
    k += "|#" + std::to_string(h);
  }
  return k;
}

}  // namespace

bool common_subexpression_elimination(Graph& g, const PassOptions&) {
  using namespace passes_detail;
  Draft d = to_draft(g);
  std::vector<bool> is_out = output_mask(d);
  std::unordered_map<int32_t, int32_t> repl;
  std::map<std::string, std::vector<size_t>> buckets;  // key -> indices of kept nodes
  std::vector<Node> kept;
  for (Node& n : d.nodes) {
    for (Value& v : n.inputs) {  // earlier replacements, so chains of duplicates collapse in one sweep
      auto it = repl.find(v.id);
      if (it != repl.end()) v.id = it->second;
    }
    if (n.kind != OpKind::input && n.kind != OpKind::param && !is_out[size_t(n.output.id)]) {
      std::vector<size_t>& b = buckets[bucket_key(d, n)];
      const Node* same = nullptr;
      for (size_t i : b)
        if (kept[i].kind == n.kind && kept[i].inputs == n.inputs && kept[i].attrs == n.attrs &&
            d.type(kept[i].output) == d.type(n.output)) {
          same = &kept[i];
          break;
        }
      if (same) {
        repl[n.output.id] = same->output.id;
        continue;
      }
    }
    if (n.kind != OpKind::input && n.kind != OpKind::param) buckets[bucket_key(d, n)].push_back(kept.size());
    kept.push_back(std::move(n));
  }
  if (repl.empty()) return false;
  d.nodes = std::move(kept);
  g = from_draft(d);
  return true;
}

}  // namespace tl
