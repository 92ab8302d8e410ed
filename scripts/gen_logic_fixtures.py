#!/usr/bin/env python3
"""Fixtures for tests/logic: expected outputs of .tl programs from independent references.

Tensor equations: each case is a small .tl program with random inputs; the expected outputs are computed with
NumPy in float64 (written as float32). Datalog: a tiny naive evaluator (nested-loop joins, stratified by
repeated relaxation, iterated to a fixpoint) written here independently of the C++ code computes the tuples of
every relation of every program in examples/, written sorted as TSV.

    python3 scripts/gen_logic_fixtures.py        # rewrites tests/fixtures/logic/
"""
import math
import os
import re
import shutil

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "logic")
rng = np.random.default_rng(20251126)


def rand(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def layer_norm(x, axis, eps=1e-5):
    m = x.mean(axis=axis, keepdims=True)
    v = ((x - m) ** 2).mean(axis=axis, keepdims=True)
    return (x - m) / np.sqrt(v + eps)


def shift(x, axis, c):
    """y[..., p, ...] = x[..., p + c, ...], zero where p + c is outside (the .tl index offset X[p+c])."""
    y = np.zeros_like(x)
    n = x.shape[axis]
    src = [slice(None)] * x.ndim
    dst = [slice(None)] * x.ndim
    if abs(c) < n:
        src[axis] = slice(max(c, 0), n + min(c, 0))
        dst[axis] = slice(max(-c, 0), n - max(c, 0))
        y[tuple(dst)] = x[tuple(src)]
    return y


def gelu(x):
    return x * 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def eq_cases():
    cases = {}
    W, X = rand(5, 7), rand(7, 3)
    cases["matmul"] = ("dim I = 5\ndim J = 7\ndim K = 3\ninput W[I, J]\ninput X[J, K]\nY[i, k] = W[i, j] X[j, k]\n",
                       {"W": W, "X": X}, lambda d: {"Y": d["W"] @ d["X"]})

    def mlp(d):
        h = np.maximum(d["X"] @ d["W1"].T + d["B1"], 0)
        return {"H": h, "O": h @ d["W2"].T}
    cases["mlp"] = (open(os.path.join(ROOT, "examples", "mlp.tl")).read(),
                    {"X": rand(4, 8), "W1": rand(16, 8), "B1": rand(16), "W2": rand(3, 16)}, mlp)

    def attn(d):
        s = np.einsum("hpd,hqd->hpq", d["Query"], d["Key"]) / math.sqrt(4)
        c = softmax(s, -1)
        return {"Comp": c, "Attn": np.einsum("hpq,hqd->hpd", c, d["Val"])}
    cases["attention"] = (open(os.path.join(ROOT, "examples", "attention.tl")).read(),
                          {"Query": rand(2, 5, 4), "Key": rand(2, 5, 4), "Val": rand(2, 5, 4)}, attn)

    prog = """dim I = 3
dim J = 6
input A[I, J]
input B[J]
input C[I]
input Sq[J, J]
Mx[i] max= A[i, j]
Mn[j] min= A[i, j]
Av[i] avg= A[i, j]
S[i] = A[i, j]
S[i] += C[i]
S[i] = 2 * C[i]
Bc[i, j] = A[i, j] + B[j] - C[i] / 4
Ln[i, j.] = layer_norm(A[i, j])
Lc[i., j] = layer_norm(A[i, j])
Sm[i., j] = softmax(A[i, j])
G[i, j] = gelu(A[i, j]) - tanh(A[i, j]) * 0.5 + sigmoid(-A[i, j]) exp(B[j])
Dg[j] = Sq[j, j]
Tr[] = Sq[j, j]
Outer[i, j] = C[i] B[j]
Mm[i, j] = max(A[i, j], B[j]) + min(A[i, j], 0)
Pw[j] = pow(abs(B[j]), 1.5) + sqrt(J) + -B[j]
Dv[i, j] = A[i, j] / (abs(B[j]) + 1)
Sh[i, j] = A[i, j+1] - A[i-1, j-2] + B[j+9]
"""

    def misc(d):
        A, B, C, Sq = d["A"], d["B"], d["C"], d["Sq"]
        sig = 1 / (1 + np.exp(A))
        return {
            "Mx": A.max(1), "Mn": A.min(0), "Av": A.mean(1), "S": A.sum(1) + C + 2 * C,
            "Bc": A + B[None, :] - C[:, None] / 4, "Ln": layer_norm(A, 1), "Lc": layer_norm(A, 0),
            "Sm": softmax(A, 0), "G": gelu(A) - np.tanh(A) * 0.5 + sig * np.exp(B)[None, :],
            "Dg": np.diag(Sq), "Tr": np.array(np.trace(Sq)), "Outer": np.outer(C, B),
            "Mm": np.maximum(A, B[None, :]) + np.minimum(A, 0),
            "Pw": np.abs(B) ** 1.5 + math.sqrt(6) - B, "Dv": A / (np.abs(B) + 1)[None, :],
            "Sh": shift(A, 1, 1) - shift(shift(A, 0, -1), 1, -2) + shift(B, 0, 9)[None, :],
        }
    cases["misc"] = (prog, {"A": rand(3, 6), "B": rand(6), "C": rand(3), "Sq": rand(6, 6)}, misc)
    return cases


# ---- A naive Datalog reference ---------------------------------------------------------------------------
ATOM = re.compile(r'(!?)\s*([A-Za-z_]\w*)\s*\(([^)]*)\)')
AGG = re.compile(r'(\w+)\s*=\s*(count|sum|max|min)\s*(\w*)\s*:\s*\{([^}]*)\}')
CMP = re.compile(r'^("[^"]*"|\w+)\s*(!=|==|=)\s*("[^"]*"|\w+)$')


def parse_datalog(text):
    text = "\n".join(line.split("#")[0] for line in text.splitlines())
    facts, rules = [], []
    for stmt in re.findall(r'([A-Za-z_]\w*\s*\([^)]*\)\s*(?::-[^.]*)?)\.', text):
        if ":-" not in stmt:
            m = ATOM.match(stmt.strip())
            facts.append((m.group(2), tuple(a.strip().strip('"') for a in m.group(3).split(","))))
            continue
        head, body = stmt.split(":-")
        hm = ATOM.match(head.strip())
        aggs = [(m.group(1), m.group(2), m.group(3),
                 [(m2.group(2), [a.strip() for a in m2.group(3).split(",")]) for m2 in ATOM.finditer(m.group(4))])
                for m in AGG.finditer(body)]
        body = AGG.sub("", body)
        items = re.findall(r'!?\s*\w+\s*\([^)]*\)|[^,]+', body)
        atoms, cmps = [], []
        for it in items:
            it = it.strip()
            if not it:
                continue
            m = ATOM.fullmatch(it)
            if m:
                atoms.append((m.group(1) == "!", m.group(2), [a.strip() for a in m.group(3).split(",")]))
            else:
                c = CMP.match(it)
                cmps.append((c.group(1), c.group(2), c.group(3)))
        rules.append(((hm.group(2), [a.strip() for a in hm.group(3).split(",")]), atoms, cmps, aggs))
    return facts, rules


def value(term, env):
    return term.strip('"') if term.startswith('"') else env[term]


def join(envs, atoms, rels):
    for name, args in atoms:
        nxt = []
        for env in envs:
            for tup in rels.get(name, set()):
                e = dict(env)
                ok = True
                for a, v in zip(args, tup):
                    if a.startswith('"'):
                        ok = ok and a.strip('"') == v
                    elif a in e:
                        ok = ok and e[a] == v
                    else:
                        e[a] = v
                if ok:
                    nxt.append(e)
        envs = nxt
    return envs


def aggregate(env, agg, rels):
    """Over the distinct bindings of the braces' variables that agree with the rule's bindings."""
    _, op, target, atoms = agg
    inner = sorted({a for _, args in atoms for a in args})
    bindings = {tuple(e[v] for v in inner) for e in join([dict(env)], atoms, rels)}
    if op == "count":
        return len(bindings)
    vals = [float(b[inner.index(target)]) for b in bindings]
    if op == "sum":
        return sum(vals)
    if not vals:
        return None
    return max(vals) if op == "max" else min(vals)


def eval_rule(rule, rels):
    (hname, hargs), atoms, cmps, aggs = rule
    envs = join([{}], [(name, args) for neg, name, args in atoms if not neg], rels)
    full = []
    for env in envs:
        for agg in aggs:
            v = aggregate(env, agg, rels)
            if v is None:
                break
            env[agg[0]] = "%.17g" % v
        else:
            full.append(env)
    envs = full
    out = set()
    for env in envs:
        if any(tuple(value(a, env) for a in args) in rels.get(name, set()) for neg, name, args in atoms if neg):
            continue
        if all((value(l, env) == value(r, env)) == (op != "!=") for l, op, r in cmps):
            out.add(tuple(value(a, env) for a in hargs))
    return out


def evaluate(facts, rules):
    rels = {}
    for name, tup in facts:
        rels.setdefault(name, set()).add(tup)
    heads = {r[0][0] for r in rules}
    stratum = {h: 0 for h in heads}
    for _ in range(len(heads) + 1):  # stratum(h) >= stratum(positive body), > stratum(negated body)
        for (h, _), atoms, _, aggs in rules:
            for neg, name, _ in atoms:
                stratum[h] = max(stratum[h], stratum.get(name, 0) + (1 if neg else 0))
            for agg in aggs:
                for name, _ in agg[3]:
                    stratum[h] = max(stratum[h], stratum.get(name, 0) + 1)
    for s in sorted(set(stratum.values())):
        group = [r for r in rules if stratum[r[0][0]] == s]
        changed = True
        while changed:
            changed = False
            for r in group:
                new = eval_rule(r, rels) - rels.get(r[0][0], set())
                if new:
                    rels.setdefault(r[0][0], set()).update(new)
                    changed = True
    return rels


def read_tsv(path):
    with open(path) as f:
        return [tuple(l.rstrip("\n").split("\t")) for l in f if l.strip()]


def write_tsv(path, tuples):
    with open(path, "w") as f:
        for t in sorted(tuples):
            f.write("\t".join(t) + "\n")


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    for name, (prog, inputs, fn) in eq_cases().items():
        d = os.path.join(OUT, "eq_" + name)
        os.makedirs(d)
        with open(os.path.join(d, "program.tl"), "w") as f:
            f.write(prog)
        for k, v in inputs.items():
            np.save(os.path.join(d, "in_" + k + ".npy"), v)
        for k, v in fn({k: v.astype(np.float64) for k, v in inputs.items()}).items():
            np.save(os.path.join(d, "out_" + k + ".npy"), np.asarray(v, dtype=np.float32))

    examples = os.path.join(ROOT, "examples")
    # Each Datalog example, alone and (unreachable) with the extra edges of examples/edges.tsv.
    runs = {name[:-3]: (name, []) for name in sorted(os.listdir(examples)) if name.endswith(".tl")}
    runs["unreachable_tsv"] = ("unreachable.tl", [("Edge", "edges.tsv")])
    # A random graph's transitive closure (larger, exercises many semi-naive rounds), edges from TSV.
    edges = {("v%d" % a, "v%d" % b) for a, b in rng.integers(0, 40, size=(60, 2))}
    edges |= {("v%d" % i, "v%d" % (i + 1)) for i in range(20)}  # a long chain: many rounds
    write_tsv(os.path.join(OUT, "random_edges.tsv"), edges)
    with open(os.path.join(OUT, "closure.tl"), "w") as f:
        f.write("Path(x, y) :- Edge(x, y).\nPath(x, z) :- Path(x, y), Edge(y, z).\n")
    runs["closure"] = (os.path.join(OUT, "closure.tl"), [("Edge", os.path.join(OUT, "random_edges.tsv"))])
    for run, (prog, tsvs) in runs.items():
        facts, rules = parse_datalog(open(os.path.join(examples, prog)).read())
        if not facts and not rules and not tsvs:
            continue
        for rel, path in tsvs:
            facts += [(rel, t) for t in read_tsv(os.path.join(examples, path))]
        rels = evaluate(facts, rules)
        d = os.path.join(OUT, "dl_" + run)
        os.makedirs(d)
        for rel, tuples in rels.items():
            write_tsv(os.path.join(d, rel + ".tsv"), tuples)


if __name__ == "__main__":
    main()
