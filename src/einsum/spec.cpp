// Einsum spec parsing and validation against operand shapes (NumPy semantics).
#include <algorithm>

#include "einsum/einsum_internal.h"
#include "tl/error.h"

namespace tl::einsum_detail {

namespace {

// One subscript term as written: letters before and after an optional "...".
struct Term {
  std::vector<int> before, after;  // letter ids
  bool ellipsis = false;
  std::string text;  // as written, whitespace removed
  int letters() const { return int(before.size() + after.size()); }
};

struct Syntax {
  std::vector<Term> inputs;
  bool explicit_output = false;
  Term output;
};

int letter_id(char c) { return c >= 'A' && c <= 'Z' ? c - 'A' : c - 'a' + 26; }
char letter_char(int id) { return id < 26 ? char('A' + id) : char('a' + id - 26); }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string label_str(int id) {
  if (id < kFirstEllipsisLabel) return std::string("'") + letter_char(id) + "'";
  return "ellipsis dim " + std::to_string(id - kFirstEllipsisLabel);
}

Syntax parse(const std::string& spec) {
  Syntax syn;
  Term cur;
  bool in_output = false;
  auto finish_term = [&]() {
    if (in_output) syn.output = cur;
    else syn.inputs.push_back(cur);
    cur = Term();
  };
  for (size_t p = 0; p < spec.size(); ++p) {
    char c = spec[p];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    if (is_letter(c)) {
      (cur.ellipsis ? cur.after : cur.before).push_back(letter_id(c));
      cur.text += c;
    } else if (c == '.') {
      if (p + 2 >= spec.size() || spec[p + 1] != '.' || spec[p + 2] != '.')
        TL_THROW(ParseError, "[einsum] '.' at position ", p, " of spec \"", spec, "\" is not part of '...'");
      if (cur.ellipsis)
        TL_THROW(ParseError, "[einsum] subscript \"", cur.text, "...\" in spec \"", spec, "\" has more than one '...'");
      cur.ellipsis = true;
      cur.text += "...";
      p += 2;
    } else if (c == ',') {
      if (in_output)
        TL_THROW(ParseError, "[einsum] output subscript of spec \"", spec, "\" contains ',' at position ", p,
                 " (the output is a single subscript)");
      finish_term();
    } else if (c == '-' && p + 1 < spec.size() && spec[p + 1] == '>') {
      if (in_output) TL_THROW(ParseError, "[einsum] spec \"", spec, "\" has more than one '->' (second at position ", p, ")");
      finish_term();
      in_output = true;
      syn.explicit_output = true;
      ++p;
    } else {
      TL_THROW(ParseError, "[einsum] invalid character '", c, "' at position ", p, " in spec \"", spec,
               "\" (labels are letters a-z, A-Z; also allowed: ',', '->', '...', spaces)");
    }
  }
  finish_term();
  return syn;
}

}  // namespace

Bound bind(const std::string& spec, const std::vector<Shape>& shapes) {
  Syntax syn = parse(spec);
  const int nops = int(syn.inputs.size());
  if (shapes.empty()) TL_THROW(ShapeError, "[einsum] needs at least one operand (spec \"", spec, "\")");
  if (nops > kMaxOperands)  // the greedy order search holds a cost per pair: quadratic memory, cubic compares
    TL_THROW(ShapeError, "[einsum] spec has ", nops, " operands; at most ", kMaxOperands, " are supported");
  if (nops != int(shapes.size()))
    TL_THROW(ShapeError, "[einsum] spec \"", spec, "\" has ", nops, " operand subscript", nops == 1 ? "" : "s", " but ",
             shapes.size(), " operand", shapes.size() == 1 ? " was" : "s were", " given");

  // Ellipsis width per operand and overall (NumPy: operands may cover different numbers of dims).
  int ell_max = 0;
  std::vector<int> ell(nops, 0);
  for (int i = 0; i < nops; ++i) {
    const Term& t = syn.inputs[i];
    int r = int(shapes[i].size());
    if (!t.ellipsis && r != t.letters())
      TL_THROW(ShapeError, "[einsum] operand ", i, " has ", r, " dims but subscript \"", t.text, "\" names ",
               t.letters(), " (shape ", shape_str(shapes[i]), ")");
    if (t.ellipsis && r < t.letters())
      TL_THROW(ShapeError, "[einsum] operand ", i, " has ", r, " dims but subscript \"", t.text, "\" names at least ",
               t.letters(), " (shape ", shape_str(shapes[i]), ")");
    ell[i] = t.ellipsis ? r - t.letters() : 0;
    ell_max = std::max(ell_max, ell[i]);
  }
  if (kFirstEllipsisLabel + ell_max > kMaxLabels)
    TL_THROW(ShapeError, "[einsum] spec \"", spec, "\": '...' covers ", ell_max, " dims; at most ",
             kMaxLabels - kFirstEllipsisLabel, " are supported");

  Bound b;
  b.num_labels = kFirstEllipsisLabel + ell_max;
  b.size.assign(b.num_labels, 1);
  b.used.assign(b.num_labels, false);
  std::vector<int> owner(b.num_labels, -1);  // operand that fixed a size other than 1 (for messages)
  std::vector<int> count(b.num_labels, 0);
  for (int i = 0; i < nops; ++i) {
    const Term& t = syn.inputs[i];
    std::vector<int> labels = t.before;
    for (int j = 0; j < ell[i]; ++j) labels.push_back(kFirstEllipsisLabel + ell_max - ell[i] + j);
    labels.insert(labels.end(), t.after.begin(), t.after.end());
    const Shape& sh = shapes[i];
    for (size_t d = 0; d < labels.size(); ++d) {
      int l = labels[d];
      int64_t n = sh[d];
      if (n < 0) TL_THROW(ShapeError, "[einsum] operand ", i, " has a negative dim (shape ", shape_str(sh), ")");
      for (size_t e = 0; e < d; ++e)
        if (labels[e] == l && sh[e] != n)
          TL_THROW(ShapeError, "[einsum] label ", label_str(l), " repeats in operand ", i, " (subscript \"", t.text,
                   "\") but its dims differ: ", sh[e], " vs ", n, " (shape ", shape_str(sh), ")");
      b.used[l] = true;
      ++count[l];
      if (n == 1) continue;
      if (owner[l] < 0) {
        owner[l] = i;
        b.size[l] = n;
      } else if (b.size[l] != n) {
        TL_THROW(ShapeError, "[einsum] label ", label_str(l), " is ", b.size[l], " in operand ", owner[l], " but ", n,
                 " in operand ", i, " (subscripts \"", syn.inputs[owner[l]].text, "\" and \"", t.text, "\", shapes ",
                 shape_str(shapes[owner[l]]), " and ", shape_str(sh), ")");
      }
    }
    b.inputs.push_back(std::move(labels));
  }

  if (syn.explicit_output) {
    const Term& o = syn.output;
    if (!o.ellipsis && ell_max > 0)
      TL_THROW(ShapeError, "[einsum] output subscript \"", o.text, "\" has no '...' but the operands' '...' covers ",
               ell_max, " dims (spec \"", spec, "\")");
    std::vector<int> labels = o.before;
    if (o.ellipsis)
      for (int j = 0; j < ell_max; ++j) labels.push_back(kFirstEllipsisLabel + j);
    labels.insert(labels.end(), o.after.begin(), o.after.end());
    for (size_t d = 0; d < labels.size(); ++d) {
      int l = labels[d];
      if (l < kFirstEllipsisLabel && !b.used[l])
        TL_THROW(ParseError, "[einsum] output label ", label_str(l), " of spec \"", spec,
                 "\" does not appear in any input subscript");
      if (std::find(labels.begin(), labels.begin() + d, l) != labels.begin() + d)
        TL_THROW(ParseError, "[einsum] output subscript \"", o.text, "\" repeats label ", label_str(l));
    }
    b.output = std::move(labels);
  } else {
    // Implicit: ellipsis dims first, then labels that appear exactly once, in ASCII order.
    for (int j = 0; j < ell_max; ++j) b.output.push_back(kFirstEllipsisLabel + j);
    for (int l = 0; l < kFirstEllipsisLabel; ++l)
      if (count[l] == 1) b.output.push_back(l);
  }

  // Normalised explicit spec.
  auto term_text = [&](const std::vector<int>& labels) {
    std::string s;
    bool ell_written = false;
    for (int l : labels) {
      if (l >= kFirstEllipsisLabel) {
        if (!ell_written) s += "...";
        ell_written = true;
      } else {
        s += letter_char(l);
      }
    }
    return s;
  };
  for (int i = 0; i < nops; ++i) {
    std::string s = term_text(b.inputs[i]);
    if (syn.inputs[i].ellipsis && ell[i] == 0) s = syn.inputs[i].text;  // "..." covering no dims
    b.normalized += (i ? "," : "") + s;
  }
  b.normalized += "->" + term_text(b.output);
  return b;
}

std::vector<std::string> label_names(const Bound& b) {
  std::vector<std::string> names(b.num_labels);
  std::vector<bool> taken(kFirstEllipsisLabel, false);
  for (int l = 0; l < kFirstEllipsisLabel; ++l) {
    taken[l] = b.used[l];
    if (b.used[l]) names[l] = std::string(1, letter_char(l));
  }
  int next = kFirstEllipsisLabel - 1;  // hand out unused letters from 'z' downwards
  for (int l = kFirstEllipsisLabel; l < b.num_labels; ++l) {
    while (next >= 0 && taken[next]) --next;
    if (next >= 0) {
      names[l] = std::string(1, letter_char(next));
      taken[next] = true;
    } else {
      names[l] = std::to_string(l - kFirstEllipsisLabel);
      names[l].insert(names[l].begin(), '(');
      names[l].push_back(')');
    }
  }
  return names;
}

}  // namespace tl::einsum_detail
