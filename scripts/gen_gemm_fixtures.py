#!/usr/bin/env python3
"""Writes the NumPy reference products that tests/gemm/test_gemm_fixtures.cpp checks tl::sgemm against.

Inputs are float32; the expected outputs are computed by NumPy in float64 and rounded to float32.
Usage: python3 scripts/gen_gemm_fixtures.py   (writes tests/fixtures/gemm/*.npy, about 100 KB; numpy==2.2.6)
"""
import pathlib

import numpy as np

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "gemm"


def rand(rng, *shape):
    return rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)


def save(name, arr):
    np.save(OUT / f"{name}.npy", np.ascontiguousarray(arr))


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20261126)
    f64 = np.float64

    # plain: C[17, 9] = A[17, 33] @ B[33, 9]
    a, b = rand(rng, 17, 33), rand(rng, 33, 9)
    save("plain_a", a), save("plain_b", b), save("plain_c", (a.astype(f64) @ b.astype(f64)).astype(np.float32))

    # linear layer: Y[5, 24] = 0.5 * X[5, 40] @ W[24, 40]^T + 2 * Y0[5, 24]
    x, w, y0 = rand(rng, 5, 40), rand(rng, 24, 40), rand(rng, 5, 24)
    y = 0.5 * (x.astype(f64) @ w.astype(f64).T) + 2.0 * y0.astype(f64)
    save("linear_x", x), save("linear_w", w), save("linear_y0", y0), save("linear_y", y.astype(np.float32))

    # batched with a broadcast right operand: S[3, 7, 11] = Q[3, 7, 16] @ K[16, 11]
    q, k = rand(rng, 3, 7, 16), rand(rng, 16, 11)
    save("batched_q", q), save("batched_k", k), save("batched_s", (q.astype(f64) @ k.astype(f64)).astype(np.float32))

    # vector products: R[1, 48] = V[1, 200] @ M[200, 48];  U[97, 1] = N[97, 200] @ V^T
    v, m, n = rand(rng, 1, 200), rand(rng, 200, 48), rand(rng, 97, 200)
    save("gemv_v", v), save("gemv_m", m), save("gemv_n", n)
    save("gemv_r", (v.astype(f64) @ m.astype(f64)).astype(np.float32))
    save("gemv_u", (n.astype(f64) @ v.astype(f64).T).astype(np.float32))


if __name__ == "__main__":
    main()
