// Sparse relations for Datalog: a stratum evaluated with tuple sets and hash joins instead of dense bool
// einsums. A tuple over n symbols is encoded as its row-major offset in the dense [n]*arity tensor (so
// loading from and storing to the dense Database is a scan / a scatter). Rules are joined atom by atom: the
// delta atom first, then always the atom with the most already-bound columns, looked up through a hash index
// on those columns; negated atoms and comparisons filter complete bindings. The semi-naive schedule is the
// dense one's (round 0 on the full relations, then one pass per recursive atom bound to the last delta), so
// both give the same relations and the same round count.
#include <algorithm>
#include <cmath>
#include <functional>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "datalog.h"
#include "tl/error.h"

namespace tl::logic {

namespace {

// A relation as the list of its tuples plus a membership bitmap. For full relations the bitmap is the dense
// Database tensor itself (so inserting also stores the result); for the tuples found in a round it is a
// per-stratum scratch buffer that is cleared tuple by tuple after the round is merged.
struct SparseRel {
  std::vector<uint64_t> list;
  bool* bits = nullptr;
  bool has(uint64_t k) const { return bits[k]; }
  bool insert(uint64_t k) {
    if (bits[k]) return false;
    bits[k] = true;
    list.push_back(k);
    return true;
  }
};

// Tuples grouped by the values of some columns: CSR arrays when the key space is small, else a hash map.
struct Index {
  bool csr = false;
  std::vector<uint64_t> offsets, items;
  std::unordered_map<uint64_t, std::vector<uint64_t>> map;
  std::pair<const uint64_t*, const uint64_t*> find(uint64_t h) const {
    if (csr) return {items.data() + offsets[h], items.data() + offsets[h + 1]};
    auto it = map.find(h);
    if (it == map.end()) return {nullptr, nullptr};
    return {it->second.data(), it->second.data() + it->second.size()};
  }
};
constexpr uint64_t kMaxCsrKeys = uint64_t(1) << 24;

class SparseStratum {
 public:
  SparseStratum(const std::vector<const Rule*>& rules, const std::set<std::string>& stratum, Database& db)
      : rules_(rules), stratum_(stratum), db_(db), n_(uint64_t(db.symbols.size())) {}

  void run(int max_rounds) {
    for (const Rule* r : rules_) {
      load(r->head.rel);
      for (const auto& a : r->body) load(a.rel);
    }
    for (const auto& name : stratum_) {
      load(name);
      scratch_[name].assign(size_t(db_.relations.at(name).numel()), 0);
    }
    std::map<std::string, SparseRel> next;
    auto reset = [&]() {
      next.clear();
      for (const auto& name : stratum_) next[name].bits = reinterpret_cast<bool*>(scratch_.at(name).data());
    };
    reset();
    for (const Rule* r : rules_) eval(*r, -1, next);
    while (any(next)) {
      if (++db_.rounds > max_rounds)
        TL_THROW(ValueError, "fixpoint not reached after ", max_rounds, " rounds (stratum of '",
                 *stratum_.begin(), "')");
      for (auto& [name, d] : next)
        for (uint64_t k : d.list) {
          full_.at(name).insert(k);
          d.bits[k] = false;
        }
      delta_ = std::move(next);
      reset();
      for (auto it = index_.begin(); it != index_.end();)  // indexes of this stratum's relations are stale
        it = stratum_.count(std::get<0>(it->first)) ? index_.erase(it) : std::next(it);
      for (const Rule* r : rules_)
        for (size_t i = 0; i < r->body.size(); ++i)
          if (!r->body[i].negated && stratum_.count(r->body[i].rel)) eval(*r, int(i), next);
    }
  }

 private:
  static bool any(const std::map<std::string, SparseRel>& m) {
    for (const auto& [n, r] : m)
      if (!r.list.empty()) return true;
    return false;
  }

  void load(const std::string& rel) {
    if (full_.count(rel)) return;
    const Tensor& t = db_.relations.at(rel);
    bool* d = t.data<bool>();
    SparseRel& r = full_[rel];
    r.bits = d;
    for (int64_t i = 0; i < t.numel(); ++i)
      if (d[i]) r.list.push_back(uint64_t(i));
  }

  uint64_t column(uint64_t key, size_t arity, size_t col) const {
    for (size_t i = col + 1; i < arity; ++i) key /= n_;
    return key % n_;
  }

  int sym(const Term& t) const { return *db_.symbols.find(t.text); }

  // The index of `rel` (full or the delta) on the columns in `cols`, built on first use.
  const Index& index(const std::string& rel, bool delta, const std::vector<size_t>& cols, size_t arity) {
    auto key = std::make_tuple(rel, delta, cols);
    auto it = index_.find(key);
    if (it != index_.end()) return it->second;
    Index& idx = index_[key];
    const SparseRel& src = delta ? delta_.at(rel) : full_.at(rel);
    auto hash = [&](uint64_t k) {
      uint64_t h = 0;
      for (size_t c : cols) h = h * n_ + column(k, arity, c);
      return h;
    };
    double keys = std::pow(double(n_), double(cols.size()));
    if (keys <= double(kMaxCsrKeys)) {  // counting sort into CSR
      idx.csr = true;
      idx.offsets.assign(size_t(keys) + 1, 0);
      for (uint64_t k : src.list) ++idx.offsets[hash(k) + 1];
      for (size_t i = 1; i < idx.offsets.size(); ++i) idx.offsets[i] += idx.offsets[i - 1];
      idx.items.resize(src.list.size());
      std::vector<uint64_t> fill(idx.offsets.begin(), idx.offsets.end() - 1);
      for (uint64_t k : src.list) idx.items[fill[hash(k)]++] = k;
    } else {
      for (uint64_t k : src.list) idx.map[hash(k)].push_back(k);
    }
    return idx;
  }

  // An atom with its arguments resolved: a variable's slot, or -1 and the constant's symbol id.
  struct AtomPlan {
    const Atom* atom;
    std::vector<int> slot;
    std::vector<int64_t> constant;
  };
  AtomPlan plan(const Atom& a, const std::map<std::string, int>& slot) const {
    AtomPlan ap{&a, {}, {}};
    for (const auto& t : a.args) {
      ap.slot.push_back(t.is_var ? slot.at(t.text) : -1);
      ap.constant.push_back(t.is_var ? -1 : sym(t));
    }
    return ap;
  }
  uint64_t encode(const AtomPlan& ap, const std::vector<int64_t>& val) const {
    uint64_t k = 0;
    for (size_t c = 0; c < ap.slot.size(); ++c)
      k = k * n_ + uint64_t(ap.slot[c] >= 0 ? val[size_t(ap.slot[c])] : ap.constant[c]);
    return k;
  }

  void eval(const Rule& r, int delta_at, std::map<std::string, SparseRel>& next) {
    for (const auto& c : r.comparisons)  // constant comparisons decide the rule once
      if (!c.lhs.is_var && !c.rhs.is_var && (c.lhs.text == c.rhs.text) != c.equal) return;
    std::map<std::string, int> slot;
    for (const auto& a : r.body)
      for (const auto& t : a.args)
        if (t.is_var && !slot.count(t.text)) slot.emplace(t.text, int(slot.size()));
    std::vector<int64_t> val(slot.size(), -1);
    // Join order: the delta atom first, then greedily the positive atom with the most bound columns.
    std::vector<int> order;
    std::vector<bool> used(r.body.size(), false), bound(slot.size(), false);
    auto take = [&](int i) {
      order.push_back(i);
      used[size_t(i)] = true;
      for (const auto& t : r.body[size_t(i)].args)
        if (t.is_var) bound[size_t(slot.at(t.text))] = true;
    };
    if (delta_at >= 0) take(delta_at);
    while (true) {
      int best = -1, best_score = -1;
      for (size_t i = 0; i < r.body.size(); ++i) {
        if (used[i] || r.body[i].negated) continue;
        int score = 0;
        for (const auto& t : r.body[i].args) score += !t.is_var || bound[size_t(slot.at(t.text))];
        if (score > best_score) best = int(i), best_score = score;
      }
      if (best < 0) break;
      take(best);
    }
    std::vector<AtomPlan> steps, negated;
    for (int i : order) steps.push_back(plan(r.body[size_t(i)], slot));
    // Which columns are known at each step follows from the order alone: resolve each step's source list or
    // index once.
    std::vector<std::vector<size_t>> step_cols(steps.size());
    std::vector<const Index*> step_index(steps.size(), nullptr);
    std::vector<const std::vector<uint64_t>*> step_list(steps.size(), nullptr);
    {
      std::vector<bool> known(slot.size(), false);
      for (size_t st = 0; st < steps.size(); ++st) {
        const AtomPlan& ap = steps[st];
        bool use_delta = order[st] == delta_at;
        for (size_t c = 0; c < ap.slot.size(); ++c)
          if (ap.slot[c] < 0 || known[size_t(ap.slot[c])]) step_cols[st].push_back(c);
        if (step_cols[st].empty())
          step_list[st] = &(use_delta ? delta_.at(ap.atom->rel) : full_.at(ap.atom->rel)).list;
        else
          step_index[st] = &index(ap.atom->rel, use_delta, step_cols[st], ap.slot.size());
        for (int sl : ap.slot)
          if (sl >= 0) known[size_t(sl)] = true;
      }
    }
    for (const auto& a : r.body)
      if (a.negated) negated.push_back(plan(a, slot));
    AtomPlan head = plan(r.head, slot);
    struct Cmp {
      int a, b;  // slots, or -1 with the constant in ca / cb
      int64_t ca, cb;
      bool equal;
    };
    std::vector<Cmp> cmps;
    for (const auto& c : r.comparisons) {
      if (!c.lhs.is_var && !c.rhs.is_var) continue;
      cmps.push_back({c.lhs.is_var ? slot.at(c.lhs.text) : -1, c.rhs.is_var ? slot.at(c.rhs.text) : -1,
                      c.lhs.is_var ? -1 : sym(c.lhs), c.rhs.is_var ? -1 : sym(c.rhs), c.equal});
    }
    std::vector<const SparseRel*> negated_rel;
    for (const auto& ap : negated) negated_rel.push_back(&full_.at(ap.atom->rel));
    SparseRel& out = next[r.head.rel];
    const SparseRel& head_full = full_.at(r.head.rel);
    std::vector<std::vector<int>> newly(steps.size());  // slots bound at each step (reused buffers)
    std::function<void(size_t)> join = [&](size_t step) {
      if (step == steps.size()) {
        for (size_t i = 0; i < negated.size(); ++i)
          if (negated_rel[i]->has(encode(negated[i], val))) return;
        for (const auto& c : cmps) {
          int64_t x = c.a >= 0 ? val[size_t(c.a)] : c.ca, y = c.b >= 0 ? val[size_t(c.b)] : c.cb;
          if ((x == y) != c.equal) return;
        }
        uint64_t k = encode(head, val);
        if (!head_full.has(k)) out.insert(k);
        return;
      }
      const AtomPlan& ap = steps[step];
      size_t arity = ap.slot.size();
      // Columns already determined (constants and bound variables) select the candidates through an index.
      const uint64_t *begin, *end;
      if (step_index[step]) {
        uint64_t h = 0;
        for (size_t c : step_cols[step])
          h = h * n_ + uint64_t(ap.slot[c] >= 0 ? val[size_t(ap.slot[c])] : ap.constant[c]);
        std::tie(begin, end) = step_index[step]->find(h);
      } else {
        begin = step_list[step]->data();
        end = begin + step_list[step]->size();
      }
      std::vector<int>& fresh = newly[step];
      for (const uint64_t* kp = begin; kp != end; ++kp) {
        uint64_t k = *kp;
        fresh.clear();
        bool ok = true;
        uint64_t rest = k;
        for (size_t c = arity; c-- > 0 && ok;) {  // columns from the last (the key's lowest digit)
          int64_t x = int64_t(rest % n_);
          rest /= n_;
          int s = ap.slot[c];
          if (s < 0) continue;
          int64_t& v = val[size_t(s)];
          if (v < 0) {
            v = x;
            fresh.push_back(s);
          } else {
            ok = v == x;  // a variable repeated inside the atom
          }
        }
        if (ok) join(step + 1);
        for (int s : fresh) val[size_t(s)] = -1;
      }
    };
    join(0);
  }

  const std::vector<const Rule*>& rules_;
  const std::set<std::string>& stratum_;
  Database& db_;
  uint64_t n_;
  std::map<std::string, SparseRel> full_, delta_;
  std::map<std::string, std::vector<uint8_t>> scratch_;  // membership of the tuples found in this round
  std::map<std::tuple<std::string, bool, std::vector<size_t>>, Index> index_;
};

}  // namespace

bool sparse_supported(const std::vector<const Rule*>& rules, const Database& db) {
  for (const Rule* r : rules)
    if (!r->aggregates.empty()) return false;
  // Tuples are encoded as dense offsets, which evaluate_datalog already bounds by kMaxRelationElements.
  (void)db;
  return true;
}

double max_body_density(const std::vector<const Rule*>& rules, const Database& db) {
  double worst = 0;
  std::set<std::string> seen;
  for (const Rule* r : rules)
    for (const auto& a : r->body) {
      if (!seen.insert(a.rel).second) continue;
      const Tensor& t = db.relations.at(a.rel);
      const bool* d = t.data<bool>();
      int64_t count = 0;
      for (int64_t i = 0; i < t.numel(); ++i) count += d[i];
      if (t.numel() > 0) worst = std::max(worst, double(count) / double(t.numel()));
    }
  return worst;
}

void evaluate_stratum_sparse(const ProgramAst& p, const std::vector<const Rule*>& rules,
                             const std::set<std::string>& stratum, Database& db, int max_rounds) {
  SparseStratum(rules, stratum, db).run(max_rounds);
}

}  // namespace tl::logic
