#!/usr/bin/env python3
"""Generates the einsum fixtures under tests/fixtures/einsum/ (numpy==2.2.6, opt_einsum==3.4.0; seeded).

cases.txt   one line per case:  name <TAB> spec <TAB> input files (comma separated) <TAB> output file
            Inputs are .npy files (f4, f2, i4, i8, b1); the output is numpy.einsum's result computed in float64
            for float/mixed inputs (then stored as f4, our output dtype), in int64 for integer inputs, and as
            (int64 einsum != 0) for bool inputs (OR of ANDs), the dtype rules of tl::einsum.
paths.txt   contraction-order references:  name <TAB> spec <TAB> shapes (e.g. 4x8;8x16) <TAB> strategy <TAB>
            opt_einsum optimal flops <TAB> opt_einsum greedy flops <TAB> opt_einsum largest intermediate (optimal)
            strategy is "optimal" (opt_einsum optimize='optimal', exhaustive) or "dp" (optimize='dp', used where
            'optimal' would take too long); the FLOP convention is opt_einsum's helpers.flop_count.

Usage: python3 scripts/gen_einsum_fixtures.py   (rewrites the folder)
"""
import os
import shutil

import numpy as np
import opt_einsum as oe

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "einsum")
rng = np.random.default_rng(20261126)


def make(shape, dt):
    if dt in ("f4", "f2"):
        return rng.uniform(-1, 1, size=shape).astype(dt)
    if dt in ("i4", "i8"):
        return rng.integers(-5, 6, size=shape).astype(dt)
    if dt == "big":  # products beyond 2^53: exact integer arithmetic needed
        return rng.integers(-(2**30), 2**30, size=shape).astype("i8")
    if dt == "b1":
        return rng.random(size=shape) < 0.4
    raise ValueError(dt)


def reference(spec, arrays):
    kinds = {a.dtype.kind for a in arrays}
    if kinds & {"f"}:
        return np.einsum(spec, *[a.astype(np.float64) for a in arrays]).astype(np.float32)
    if kinds == {"b"}:
        return np.einsum(spec, *[a.astype(np.int64) for a in arrays]) != 0
    return np.einsum(spec, *[a.astype(np.int64) for a in arrays]).astype(np.int64)


# (spec, shapes, dtype or list of dtypes)
CASES = [
    # plain products, implicit and explicit
    ("ij,jk->ik", [(3, 4), (4, 5)], "f4"),
    ("ij,jk", [(5, 7), (7, 3)], "f4"),
    ("ij->ji", [(3, 5)], "f4"),
    ("ij->", [(4, 6)], "f4"),
    ("ij->i", [(4, 6)], "f4"),
    ("ij->j", [(4, 6)], "f4"),
    ("ijk->kji", [(2, 3, 4)], "f4"),
    ("ijk->jk", [(5, 3, 4)], "f4"),
    ("i->i", [(7,)], "f4"),
    ("ba", [(3, 4)], "f4"),
    ("ba,ca->bc", [(3, 5), (4, 5)], "f4"),
    ("ab,cb->ac", [(6, 5), (4, 5)], "f4"),
    ("abc,abd->cd", [(2, 3, 4), (2, 3, 5)], "f4"),
    ("abcd,dcba->", [(2, 3, 4, 5), (5, 4, 3, 2)], "f4"),
    # vectors: dot, outer, hadamard, bilinear
    ("i,i->", [(9,)] * 2, "f4"),
    ("i,i", [(1000,)] * 2, "f4"),
    ("i,j->ij", [(3,), (4,)], "f4"),
    ("i,i->i", [(6,)] * 2, "f4"),
    ("a,b,c->abc", [(2,), (3,), (4,)], "f4"),
    ("i,i,i->", [(8,)] * 3, "f4"),
    ("i,ij,j->", [(4,), (4, 5), (5,)], "f4"),
    ("ab,ab,ab->ab", [(3, 4)] * 3, "f4"),
    # batched products, attention and linear layouts
    ("bij,bjk->bik", [(3, 4, 5), (3, 5, 2)], "f4"),
    ("bik,bjk->bij", [(2, 4, 5), (2, 3, 5)], "f4"),
    ("bhqd,bhkd->bhqk", [(2, 3, 5, 4), (2, 3, 6, 4)], "f4"),
    ("bhqk,bhkd->bhqd", [(2, 3, 5, 6), (2, 3, 6, 4)], "f4"),
    ("bsd,df->bsf", [(2, 5, 8), (8, 6)], "f4"),
    ("bsd,fd->bsf", [(2, 5, 8), (6, 8)], "f4"),
    ("ijk,ikl->ijl", [(3, 2, 4), (3, 4, 5)], "f4"),
    ("ij,jk->ki", [(3, 4), (4, 5)], "f4"),
    # diagonals and traces
    ("ii->i", [(5, 5)], "f4"),
    ("ii", [(6, 6)], "f4"),
    ("iij->ij", [(3, 3, 4)], "f4"),
    ("iji->ij", [(3, 4, 3)], "f4"),
    ("ii,ij->j", [(4, 4), (4, 3)], "f4"),
    ("aab,bcc->ac", [(3, 3, 4), (4, 2, 2)], "f4"),
    ("iii->", [(3, 3, 3)], "f4"),
    ("ij,jk,ki->", [(3, 4), (4, 5), (5, 3)], "f4"),
    # ellipsis
    ("...ij,...jk->...ik", [(2, 3, 4, 5), (3, 5, 2)], "f4"),
    ("...ii->...i", [(2, 4, 4)], "f4"),
    ("i...->...", [(3, 2, 4)], "f4"),
    ("...,...->...", [(3, 1), (4,)], "f4"),
    ("...i,...i", [(2, 3), (4, 1, 3)], "f4"),
    ("ij...,jk...->ik...", [(2, 3, 4), (3, 5, 4)], "f4"),
    ("...ij->...ji", [(2, 3, 4, 5)], "f4"),
    ("...ab,bc,...cd->...ad", [(2, 3, 4), (4, 5), (1, 5, 3)], "f4"),
    ("ij->...ij", [(2, 3)], "f4"),
    ("...->...", [(2, 3)], "f4"),
    # size-1 label broadcasting
    ("ij,ij->ij", [(2, 3), (1, 3)], "f4"),
    ("ij,jk->ik", [(2, 1), (3, 4)], "f4"),
    ("i,i->i", [(1,), (5,)], "f4"),
    ("ij,jk,kl->il", [(3, 1), (4, 5), (5, 2)], "f4"),
    # 3 to 6 operands
    ("ab,bc,cd->ad", [(3, 4), (4, 5), (5, 6)], "f4"),
    ("ab,bc,cd,de->ae", [(3, 8), (8, 2), (2, 7), (7, 4)], "f4"),
    ("ab,bc,cd,de,ef->af", [(4, 2), (2, 6), (6, 3), (3, 5), (5, 2)], "f4"),
    ("ab,bc,cd,de,ef,fg->ag", [(2, 3), (3, 4), (4, 2), (2, 5), (5, 3), (3, 2)], "f4"),
    ("ea,fb,abcd,gc,hd->efgh", [(2, 3), (2, 2), (3, 2, 3, 2), (3, 3), (2, 2)], "f4"),
    ("ij,jk,kl,lm,mn,ni->", [(2, 3), (3, 4), (4, 2), (2, 3), (3, 4), (4, 2)], "f4"),
    ("ab,ac,ad,ae,af->bcdef", [(3, 2), (3, 3), (3, 2), (3, 3), (3, 2)], "f4"),
    ("bij,bjk,bkl,blm->bim", [(2, 3, 4), (2, 4, 2), (2, 2, 5), (2, 5, 3)], "f4"),
    ("ijk,jl,kl->il", [(3, 4, 5), (4, 6), (5, 6)], "f4"),
    ("abc,cde,efg,gha->bdfh", [(2, 3, 2), (2, 3, 2), (2, 2, 3), (3, 2, 2)], "f4"),
    # labels summed inside one operand only
    ("ijk,jl->il", [(3, 4, 5), (4, 2)], "f4"),
    ("abc,d->a", [(2, 3, 4), (5,)], "f4"),
    # zero-size dims
    ("ij,jk->ik", [(2, 0), (0, 3)], "f4"),
    ("ij->", [(0, 3)], "f4"),
    ("ij->j", [(0, 3)], "f4"),
    ("i,j->ij", [(0,), (3,)], "f4"),
    ("ab,bc,cd->ad", [(2, 3), (3, 0), (0, 4)], "f4"),
    # upper case labels and whitespace
    ("Ab,bC->AC", [(3, 4), (4, 2)], "f4"),
    ("aA->Aa", [(3, 4)], "f4"),
    ("aB", [(2, 3)], "f4"),
    (" ij , jk -> ik ", [(2, 3), (3, 4)], "f4"),
    # scalars
    (",ij->ij", [(), (2, 3)], "f4"),
    ("->", [()], "f4"),
    (",->", [(), ()], "f4"),
    # dtypes
    ("ij,jk->ik", [(3, 4), (4, 5)], "f2"),
    ("ij,jk->ik", [(3, 4), (4, 5)], ["f2", "f4"]),
    ("ij,jk->ik", [(3, 4), (4, 5)], "i4"),
    ("ij,jk->ik", [(3, 4), (4, 5)], ["i4", "i8"]),
    ("ii", [(5, 5)], "i8"),
    ("i,i->", [(4,)] * 2, "big"),
    ("ij,jk,kl->il", [(3, 4), (4, 2), (2, 3)], "i8"),
    ("ij,jk->ik", [(3, 4), (4, 5)], ["f4", "i4"]),
    ("ij,jk->ik", [(3, 4), (4, 5)], ["b1", "i8"]),
    # bool: OR of ANDs (Datalog joins and projections)
    ("ij,jk->ik", [(5, 6), (6, 4)], "b1"),
    ("ij,jk,kl->il", [(4, 5), (5, 3), (3, 4)], "b1"),
    ("ii->i", [(5, 5)], "b1"),
    ("ij->", [(3, 4)], "b1"),
    ("ij->i", [(5, 4)], "b1"),
    ("i,j->ij", [(3,), (4,)], "b1"),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 3)], "b1"),
]

# Contraction-order references: name, spec, shapes
PATHS = [
    ("chain5", "ab,bc,cd,de,ef->af", [(10, 200), (200, 5), (5, 300), (300, 8), (8, 150)], "optimal"),
    ("chain5_rev", "ab,bc,cd,de,ef->af", [(300, 4), (4, 100), (100, 60), (60, 2), (2, 500)], "optimal"),
    ("ring4", "ij,jk,kl,li->", [(30, 4), (4, 50), (50, 6), (6, 30)], "optimal"),
    ("star5", "ab,ac,ad,ae,abcde->", [(8, 3), (8, 20), (8, 4), (8, 25), (8, 3, 20, 4, 25)], "optimal"),
    ("tree6", "ea,fb,abcd,gc,hd,efgh->", [(10, 9), (12, 7), (9, 7, 8, 6), (5, 8), (4, 6), (10, 12, 5, 4)], "optimal"),
    ("batch4", "bij,bjk,bkl,blm->bim", [(4, 64, 8), (4, 8, 64), (4, 64, 3), (4, 3, 64)], "optimal"),
    ("mixed6", "abc,cd,de,ebf,fg,gh->ah", [(6, 5, 30), (30, 4), (4, 40), (40, 5, 7), (7, 50), (50, 3)], "optimal"),
    ("chain10", ",".join(f"{chr(97 + i)}{chr(98 + i)}" for i in range(10)) + "->ak",
     [(s, t) for s, t in zip([5, 40, 3, 60, 7, 30, 2, 80, 9, 20], [40, 3, 60, 7, 30, 2, 80, 9, 20, 6])], "dp"),
]


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    lines = []
    for n, (spec, shapes, dts) in enumerate(CASES):
        if isinstance(dts, str):
            dts = [dts] * len(shapes)
        arrays = [make(s, d) for s, d in zip(shapes, dts)]
        out = reference(spec, arrays)
        name = f"c{n:03d}"
        files = []
        for k, a in enumerate(arrays):
            fn = f"{name}_in{k}.npy"
            np.save(os.path.join(OUT, fn), np.array(a, order="C"))
            files.append(fn)
        np.save(os.path.join(OUT, f"{name}_out.npy"), np.array(out, order="C"))
        lines.append(f"{name}\t{spec}\t{','.join(files)}\t{name}_out.npy")
    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")

    plines = []
    for name, spec, shapes, strategy in PATHS:
        _, opt = oe.contract_path(spec, *shapes, shapes=True, optimize=strategy)
        _, gre = oe.contract_path(spec, *shapes, shapes=True, optimize="greedy")
        sh = ";".join("x".join(str(d) for d in s) for s in shapes)
        plines.append(f"{name}\t{spec}\t{sh}\t{strategy}\t{int(opt.opt_cost)}\t{int(gre.opt_cost)}\t"
                      f"{int(opt.largest_intermediate)}")
        print(f"{name:12s} {strategy:8s} opt_einsum optimal {int(opt.opt_cost):>12d}  greedy {int(gre.opt_cost):>12d}")
    with open(os.path.join(OUT, "paths.txt"), "w") as f:
        f.write("\n".join(plines) + "\n")
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"{len(CASES)} cases, {len(set(c[0] for c in CASES))} distinct specs, {total} bytes in {OUT}")


if __name__ == "__main__":
    main()
