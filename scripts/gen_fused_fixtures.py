#!/usr/bin/env python3
"""Fixtures for the fused kernels (tests/kernels/test_fused.cpp): PyTorch computes the unfused ops
act(x + b) and softmax(x * scale + mask, -1) in float64 from float32 inputs; outputs are stored as float32.
Small (a few KB). Run from the repo root: python3 scripts/gen_fused_fixtures.py"""
import os

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "fused")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(20261126)


def save(name, a):
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(a))


# bias_act: x [3, 5, 37], b [37]
x = rng.uniform(-4, 4, size=(3, 5, 37)).astype(np.float32)
b = rng.uniform(-1, 1, size=(37,)).astype(np.float32)
save("bias_act_x", x)
save("bias_act_b", b)
acts = {
    "relu": torch.relu,
    "gelu_erf": lambda t: torch.nn.functional.gelu(t, approximate="none"),
    "gelu_tanh": lambda t: torch.nn.functional.gelu(t, approximate="tanh"),
    "silu": torch.nn.functional.silu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "none": lambda t: t,
}
xt = torch.from_numpy(x).double()
bt = torch.from_numpy(b).double()
for name, f in acts.items():
    save("bias_act_" + name, f(xt + bt).float().numpy())

# scaled_masked_softmax: x [2, 3, 7, 19], mask [7, 19] causal-ish with -inf, one fully masked row
x = rng.uniform(-6, 6, size=(2, 3, 7, 19)).astype(np.float32)
mask = np.zeros((7, 19), dtype=np.float32)
for i in range(7):
    mask[i, i + 10:] = -np.inf
mask[4, :] = -np.inf  # fully masked row -> zeros (torch gives NaN there; we define zeros)
scale = np.float32(0.3535533905932738)  # 1/sqrt(8) rounded to f32
save("sms_x", x)
save("sms_mask", mask)
save("sms_scale", np.array([scale], dtype=np.float32))
y = torch.softmax(torch.from_numpy(x).double() * float(scale) + torch.from_numpy(mask).double(), dim=-1)
y = torch.nan_to_num(y, nan=0.0)  # fully masked rows: our documented choice
save("sms_y", y.float().numpy())
y2 = torch.softmax(torch.from_numpy(x).double() * float(scale), dim=-1)
save("sms_nomask_y", y2.float().numpy())
