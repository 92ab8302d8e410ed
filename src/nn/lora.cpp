// LoRA adapters: graph builders and weight merge / unmerge (the update B A computed in double).
#include "tl/nn/lora.h"

#include "tl/error.h"
#include "tl/nn/common.h"

namespace tl::nn {

namespace {

// Glob with '*' only (iterative with backtracking to the last star).
bool glob(const std::string& p, const std::string& s) {
  size_t i = 0, j = 0, star = std::string::npos, mark = 0;
  while (j < s.size()) {
    if (i < p.size() && p[i] == s[j]) {
      ++i, ++j;
    } else if (i < p.size() && p[i] == '*') {
      star = i++;
      mark = j;
    } else if (star != std::string::npos) {
      i = star + 1;
      j = ++mark;
    } else {
      return false;
    }
  }
  while (i < p.size() && p[i] == '*') ++i;
  return i == p.size();
}

const std::string kA = ".lora_A.weight", kB = ".lora_B.weight";

Tensor merged(const Tensor& w, const Tensor& a, const Tensor& b, double scale) {
  const Shape &ws = w.shape(), &as = a.shape(), &bs = b.shape();
  if (ws.size() != 2 || as.size() != 2 || bs.size() != 2 || as[1] != ws[1] || bs[0] != ws[0] || bs[1] != as[0])
    TL_THROW(ShapeError, "[lora] expected W [out, in], A [r, in], B [out, r]; got W ", shape_str(ws), ", A ",
             shape_str(as), ", B ", shape_str(bs));
  const int64_t out = ws[0], in = ws[1], r = as[0];
  const std::vector<double> W = w.contiguous().to_f64_vector(), A = a.contiguous().to_f64_vector(),
                            B = b.contiguous().to_f64_vector();
  Tensor res = Tensor::empty({out, in});  // [out, in]
  float* o = res.data<float>();
  for (int64_t i = 0; i < out; ++i)
    for (int64_t j = 0; j < in; ++j) {
      double s = 0;
      for (int64_t k = 0; k < r; ++k) s += B[size_t(i * r + k)] * A[size_t(k * in + j)];
      o[i * in + j] = float(W[size_t(i * in + j)] + scale * s);
    }
  return res;
}

}  // namespace

bool lora_pattern_matches(const std::string& pattern, const std::string& name) {
  if (pattern.find('*') != std::string::npos) return glob(pattern, name);
  return name == pattern ||
         (name.size() > pattern.size() && name.compare(name.size() - pattern.size(), pattern.size(), pattern) == 0 &&
          name[name.size() - pattern.size() - 1] == '.');
}

bool LoraConfig::targets(const std::string& module) const {
  for (const auto& p : target_modules)
    if (lora_pattern_matches(p, module)) return true;
  return false;
}

void LoraConfig::validate() const {
  if (rank <= 0) TL_THROW(ValueError, "[lora] rank = ", rank, ", expected > 0");
  if (!(alpha > 0 && alpha < 1e30f)) TL_THROW(ValueError, "[lora] alpha = ", alpha, ", expected a finite value > 0");
  for (const auto& t : target_modules)
    if (t.empty()) TL_THROW(ValueError, "[lora] target_modules has an empty pattern, expected a module name");
}

Value lora_linear(Graph& g, Value x, const std::string& prefix, int64_t in, int64_t out, bool bias,
                  const LoraConfig& cfg) {
  cfg.validate();
  if (cfg.rank > std::min(in, out))
    TL_THROW(ValueError, "[lora] ", prefix, ": rank = ", cfg.rank, ", expected <= min(in, out) = ", std::min(in, out));
  Value y = linear(g, x, prefix, in, out, bias);                          // [..., out]
  Value a = g.param(join_name(prefix, "lora_A.weight"), {cfg.rank, in});  // [r, in]
  Value b = g.param(join_name(prefix, "lora_B.weight"), {out, cfg.rank}); // [out, r]
  Value xa = g.einsum("...i,ri->...r", {x, a});                           // [..., r]
  Value up = g.einsum("...r,or->...o", {xa, b});                          // [..., out]
  return g.add(y, g.mul(up, g.constant(Tensor::scalar(cfg.scale()))));
}

Value linear_maybe_lora(Graph& g, Value x, const std::string& prefix, int64_t in, int64_t out, bool bias,
                        const LoraConfig& cfg) {
  return cfg.targets(prefix) ? lora_linear(g, x, prefix, in, out, bias, cfg) : linear(g, x, prefix, in, out, bias);
}

Tensor lora_merge(const Tensor& w, const Tensor& a, const Tensor& b, float scale) { return merged(w, a, b, scale); }
Tensor lora_unmerge(const Tensor& w, const Tensor& a, const Tensor& b, float scale) {
  return merged(w, a, b, -double(scale));
}

std::vector<std::string> merge_lora_weights(std::map<std::string, Tensor>& weights, const LoraConfig& cfg) {
  cfg.validate();
  std::vector<std::string> modules;
  for (const auto& [k, v] : weights)
    if (k.size() > kA.size() && k.compare(k.size() - kA.size(), kA.size(), kA) == 0)
      modules.push_back(k.substr(0, k.size() - kA.size()));
  for (const auto& [k, v] : weights)
    if (k.size() > kB.size() && k.compare(k.size() - kB.size(), kB.size(), kB) == 0 &&
        !weights.count(k.substr(0, k.size() - kB.size()) + kA))
      TL_THROW(ValueError, "[lora] ", k, " has no matching ", k.substr(0, k.size() - kB.size()) + kA);
  for (const auto& m : modules) {
    auto b = weights.find(m + kB), w = weights.find(m + ".weight");
    if (b == weights.end()) TL_THROW(ValueError, "[lora] ", m + kA, " has no matching ", m + kB);
    if (w == weights.end()) TL_THROW(ValueError, "[lora] adapter ", m, " has no base weight ", m + ".weight");
    w->second = lora_merge(w->second, weights.at(m + kA), b->second, cfg.scale());
    weights.erase(m + kA);
    weights.erase(m + kB);
  }
  return modules;
}

void unmerge_lora_weights(std::map<std::string, Tensor>& weights, const std::map<std::string, Tensor>& adapters,
                          const LoraConfig& cfg) {
  cfg.validate();
  for (const auto& [k, v] : adapters) {
    if (k.size() <= kA.size() || k.compare(k.size() - kA.size(), kA.size(), kA) != 0) continue;
    const std::string m = k.substr(0, k.size() - kA.size());
    auto b = adapters.find(m + kB);
    auto w = weights.find(m + ".weight");
    if (b == adapters.end()) TL_THROW(ValueError, "[lora] ", k, " has no matching ", m + kB);
    if (w == weights.end()) TL_THROW(ValueError, "[lora] adapter ", m, " has no base weight ", m + ".weight");
    w->second = lora_unmerge(w->second, v, b->second, cfg.scale());
  }
}

}  // namespace tl::nn
