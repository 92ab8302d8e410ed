#!/usr/bin/env python3
"""Transitive closure on random directed graphs: `tlt run` against a straightforward semi-naive evaluator in
Python (sets, an index of Edge by source) and pyDatalog (pip, pinned in requirements-bench.txt), in the same
run, on the same graph. Reports the facts derived (|Path|), seconds, facts/second and the ratio to tlt.
All three results are checked to be the same set of facts.

    python3 scripts/bench_datalog_peers.py --tlt build/release/tlt --nodes 1000 --degree 1.5
"""
import argparse
import os
import random
import subprocess
import sys
import tempfile
import time

PROGRAM = """Path(x, y) :- Edge(x, y).
Path(x, z) :- Path(x, y), Edge(y, z).
"""


def random_graph(n, degree, seed):
    rng = random.Random(seed)
    edges = set()
    target = int(round(n * degree))
    while len(edges) < target:
        a, b = rng.randrange(n), rng.randrange(n)
        edges.add((f"n{a}", f"n{b}"))
    return sorted(edges)


def seminaive(edges):
    succ = {}
    for a, b in edges:
        succ.setdefault(a, []).append(b)
    path = set(edges)
    delta = set(edges)
    while delta:
        new = set()
        for x, y in delta:
            for z in succ.get(y, ()):
                if (x, z) not in path:
                    new.add((x, z))
        path |= new
        delta = new
    return path


def pydatalog_closure(edges):
    from pyDatalog import pyDatalog
    pyDatalog.clear()
    pyDatalog.create_terms("Edge, Path, X, Y, Z")
    for a, b in edges:
        pyDatalog.assert_fact("Edge", a, b)
    pyDatalog.load("Path(X, Y) <= Edge(X, Y)\nPath(X, Z) <= Path(X, Y) & Edge(Y, Z)")
    return set(pyDatalog.ask("Path(X, Y)").answers)


def timed(f, *args):
    t = time.perf_counter()
    r = f(*args)
    return r, time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tlt", required=True)
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--degree", type=float, default=1.5)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-pydatalog", action="store_true")
    ap.add_argument("--skip-dense", action="store_true", help="do not also time --storage dense")
    a = ap.parse_args()
    edges = random_graph(a.nodes, a.degree, a.seed)
    with tempfile.TemporaryDirectory() as d:
        prog, facts, out = (os.path.join(d, f) for f in ("tc.tl", "edge.tsv", "path.tsv"))
        with open(prog, "w") as f:
            f.write(PROGRAM)
        with open(facts, "w") as f:
            f.write("".join(f"{x}\t{y}\n" for x, y in edges))
        cmd = [a.tlt, "run", prog, "--facts", f"Edge={facts}", "--output", f"Path={out}", "-t", str(a.threads),
               "--stats"]
        t = time.perf_counter()
        res = subprocess.run(cmd, check=True, capture_output=True, text=True)
        t_tlt_all = time.perf_counter() - t
        stats = res.stderr.strip()
        t_tlt = float(stats.split()[2])  # "# datalog: SECONDS s, ..." (evaluation only)
        t_dense = None
        if not a.skip_dense:  # the same program forced onto dense bool einsums
            res = subprocess.run(cmd + ["--storage", "dense"], check=True, capture_output=True, text=True)
            t_dense = float(res.stderr.split()[2])
        with open(out) as f:
            got = {tuple(line.rstrip("\n").split("\t")) for line in f if line.strip()}
    rows = [("tlt (C++), evaluation", len(got), t_tlt), ("tlt run, whole process", len(got), t_tlt_all)]
    if t_dense is not None:
        rows.append(("tlt forced dense, eval", len(got), t_dense))
    ref, t_py = timed(seminaive, edges)
    assert ref == got, "tlt and the Python semi-naive evaluator disagree"
    rows.append(("python semi-naive (sets)", len(ref), t_py))
    if not a.skip_pydatalog:
        try:
            pd, t_pd = timed(pydatalog_closure, edges)
            assert pd == ref, "pyDatalog disagrees"
            rows.append(("pyDatalog 0.22.4", len(pd), t_pd))
        except ImportError as e:
            print("pyDatalog not available:", e, file=sys.stderr)
    print(f"# transitive closure: {a.nodes} nodes, {len(edges)} edges (out-degree {a.degree}), seed {a.seed}")
    print(f"# tlt: {stats}")
    print("# Python peers time evaluation only (graph already in memory); the whole tlt process also parses,")
    print("# loads the TSV and writes the sorted result.")
    print(f"{'engine':28s} {'facts':>10s} {'seconds':>9s} {'facts/s':>12s} {'time / tlt eval':>15s}")
    for name, n, s in rows:
        print(f"{name:28s} {n:10d} {s:9.3f} {n / s:12.0f} {s / t_tlt:15.2f}")


if __name__ == "__main__":
    main()
