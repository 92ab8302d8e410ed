// Rule-steered attention: a Datalog program over token positions, evaluated by the logic compiler
// (include/tl/logic.h: rules -> bool einsums, semi-naive fixpoint), gives head(i, j) as a bool [n, n] relation,
// which becomes a hard mask, a soft log-space bias, or one side of a gated mix (include/tl/nn/attention.h).
#include <cmath>
#include <limits>
#include <regex>

#include "tl/error.h"
#include "tl/nn/attention.h"
#include "tl/nn/common.h"

namespace tl::nn {

namespace {

std::string pos_sym(int64_t i) { return "p" + std::to_string(i); }

// `a <= b`, `a < b`, `a >= b`, `a > b` between identifiers -> the built-in Le / Lt atoms (the Datalog parser
// knows only = and !=).
std::string rewrite_comparisons(const std::string& text) {
  static const std::regex cmp(R"(\b([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|<|>)\s*([A-Za-z_][A-Za-z0-9_]*)\b)");
  std::string out;
  auto it = std::sregex_iterator(text.begin(), text.end(), cmp);
  size_t last = 0;
  for (; it != std::sregex_iterator(); ++it) {
    const std::smatch& m = *it;
    out.append(text, last, size_t(m.position(0)) - last);
    const std::string a = m[1], op = m[2], b = m[3];
    if (op == "<=") out += "Le(" + a + ", " + b + ")";
    if (op == "<") out += "Lt(" + a + ", " + b + ")";
    if (op == ">=") out += "Le(" + b + ", " + a + ")";
    if (op == ">") out += "Lt(" + b + ", " + a + ")";
    last = size_t(m.position(0) + m.length(0));
  }
  out.append(text, last, std::string::npos);
  return out;
}

bool mentions(const std::string& text, const std::string& rel) {
  return std::regex_search(text, std::regex("\\b" + rel + "\\s*\\("));
}

}  // namespace

Tensor rule_relation(const AttentionRule& rule, int64_t n) {
  if (n < 1) TL_THROW(ValueError, "[rule_attention] sequence length n = ", n, " must be >= 1");
  const std::string body = rewrite_comparisons(rule.program);
  // The Pos facts come first so that positions are symbols 0 .. n-1 of the domain.
  std::string text;
  for (int64_t i = 0; i < n; ++i) text += "Pos(" + pos_sym(i) + ").\n";
  text += body;
  logic::Program prog = logic::Program::parse(text, "attention rule");
  auto add = [&](const std::string& name, std::vector<logic::Tuple> tuples) {
    if (mentions(body, name)) prog.add_facts(name, tuples);
  };
  {
    std::vector<logic::Tuple> le, lt, succ;
    for (int64_t a = 0; a < n; ++a)
      for (int64_t b = a; b < n; ++b) {
        le.push_back({pos_sym(a), pos_sym(b)});
        if (b > a) lt.push_back({pos_sym(a), pos_sym(b)});
        if (b == a + 1) succ.push_back({pos_sym(a), pos_sym(b)});
      }
    if (mentions(body, "Le")) add("Le", le);
    if (mentions(body, "Lt")) add("Lt", lt);
    if (mentions(body, "Succ")) add("Succ", succ);
  }
  for (const auto& [name, t] : rule.relations) {
    const Shape& s = t.shape();
    std::vector<logic::Tuple> tuples;
    if (s == Shape{n}) {
      for (int64_t i = 0; i < n; ++i)
        if (t.get({i}) != 0.0) tuples.push_back({pos_sym(i)});
    } else if (s == Shape{n, n}) {
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < n; ++j)
          if (t.get({i, j}) != 0.0) tuples.push_back({pos_sym(i), pos_sym(j)});
    } else {
      TL_THROW(ShapeError, "[rule_attention] relation '", name, "' has shape ", shape_str(s), ", expected [", n,
               "] or [", n, ", ", n, "] over the positions");
    }
    prog.add_facts(name, tuples);
  }
  for (const auto& [name, tuples] : rule.facts) prog.add_facts(name, tuples);
  logic::Database db = prog.evaluate();
  auto it = db.relations.find(rule.head);
  if (it == db.relations.end())
    TL_THROW(ValueError, "[rule_attention] the program defines no relation '", rule.head, "'");
  if (db.arity.at(rule.head) != 2)
    TL_THROW(ValueError, "[rule_attention] relation '", rule.head, "' has arity ", db.arity.at(rule.head),
             ", expected 2 (query, key)");
  return it->second.slice(0, 0, n).slice(1, 0, n).contiguous();  // bool [n, n]
}

Tensor rule_bias(const Tensor& rel, RuleMode mode, float strength, int64_t sq) {
  const Shape& s = rel.shape();
  if (s.size() != 2 || s[0] != s[1])
    TL_THROW(ShapeError, "[rule_attention] relation must be [sk, sk], got ", shape_str(s));
  const int64_t sk = s[0];
  if (sq < 0 || sq > sk) TL_THROW(ShapeError, "[rule_attention] sq = ", sq, " queries for sk = ", sk, " keys");
  if (mode == RuleMode::gated)
    TL_THROW(ValueError, "[rule_attention] a gated rule is not a bias; use rule_sdpa or AttentionOptions::rule");
  if (mode == RuleMode::soft && !(strength >= 0.0f && std::isfinite(strength)))
    TL_THROW(ValueError, "[rule_attention] soft strength = ", strength, " must be finite and >= 0");
  Tensor b = Tensor::zeros({sq, sk});  // [sq, sk]
  float* d = b.data<float>();
  for (int64_t i = 0; i < sq; ++i)
    for (int64_t j = 0; j < sk; ++j) {
      const double t = rel.get({sk - sq + i, j});
      if (mode == RuleMode::hard)
        d[i * sk + j] = t != 0.0 ? 0.0f : -std::numeric_limits<float>::infinity();
      else
        d[i * sk + j] = -strength * float(1.0 - std::min(1.0, std::max(0.0, t)));
    }
  return b;
}

SdpaResult rule_sdpa(Graph& g, Value q, Value k, Value v, const SdpaOptions& opts, const Tensor& rel,
                     const RuleAttention& rule) {
  const int64_t sq = g.shape(q).size() == 4 ? g.shape(q)[2] : 0, sk = g.shape(k).size() == 4 ? g.shape(k)[2] : 0;
  if (rel.shape() != Shape{sk, sk})
    TL_THROW(ShapeError, "[rule_attention] relation has shape ", shape_str(rel.shape()), ", expected [", sk, ", ",
             sk, "] (the keys)");
  auto with_bias = [&](RuleMode m) {
    SdpaOptions o = opts;
    Value b = g.constant(rule_bias(rel, m, rule.strength, sq));  // [sq, sk]
    o.bias = opts.bias ? g.add(*opts.bias, b) : b;
    return o;
  };
  if (rule.mode != RuleMode::gated) return sdpa(g, q, k, v, with_bias(rule.mode));
  if (opts.dropout.training && opts.dropout.p > 0.0f)
    TL_THROW(ValueError, "[rule_attention] gated rules do not support training-mode dropout");
  SdpaResult r = sdpa(g, q, k, v, with_bias(RuleMode::hard));  // rule side
  SdpaResult c = sdpa(g, q, k, v, opts);                       // content side
  Value gate, rest;
  if (rule.learned_gate) {
    const int64_t H = g.shape(q)[1];
    Value p = g.param(join_name(opts.prefix, "rule_gate"), {H});                  // [h] (logits)
    gate = g.reshape(g.unary(UnaryOp::sigmoid, p), {1, H, 1, 1});                 // [1, h, 1, 1]
    rest = g.sub(g.constant(Tensor::scalar(1.0f)), gate);                         // [1, h, 1, 1]
  } else {
    if (!(rule.gate >= 0.0f && rule.gate <= 1.0f))
      TL_THROW(ValueError, "[rule_attention] gate = ", rule.gate, " must be in [0, 1]");
    gate = g.constant(Tensor::scalar(rule.gate));
    rest = g.constant(Tensor::scalar(1.0f - rule.gate));
  }
  SdpaResult out;
  out.out = g.add(g.mul(r.out, gate), g.mul(c.out, rest));  // [b, h, sq, dv]
  if (r.weights && c.weights) out.weights = g.add(g.mul(*r.weights, gate), g.mul(*c.weights, rest));
  return out;
}

}  // namespace tl::nn
