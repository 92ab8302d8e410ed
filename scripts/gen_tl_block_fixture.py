#!/usr/bin/env python3
"""Fixtures for the transformer block written in .tl (examples/transformer_block.tl).

The reference is torch.nn.TransformerEncoderLayer (post-norm, GELU, no dropout) run in float64 with seeded
random weights (torch 2.9.1). Its weights are re-viewed into the .tl layout (heads as an index) and written as
in_<Param>.npy (float32) and, for `tlt run --weights`, all 16 parameters in weights.safetensors; the block's output as out_Y.npy, plus out_Comp.npy (the attention weights, from
the layer's own self_attn with need_weights and average_attn_weights=False). The float32 values written are
the ones the reference consumed, so the only difference left is the C++ float32 arithmetic.

Two configurations: the example itself (odd sizes S=7, D=15, H=3, Hd=5, F=22) and a second one with the dims
rewritten (S=4, D=8, H=2, Hd=4, F=32), each in its own directory with its program.tl.

    python3 scripts/gen_tl_block_fixture.py     # rewrites tests/fixtures/tl_block/
"""
import os
import re
import shutil

import numpy as np
import torch
from safetensors.numpy import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "tl_block")
EXAMPLE = os.path.join(ROOT, "examples", "transformer_block.tl")


def set_dims(text, dims):
    for k, v in dims.items():
        text, n = re.subn(rf"^dim {k} = \d+", f"dim {k} = {v}", text, flags=re.M)
        assert n == 1, k
    return text


def case(name, dims, seed):
    S, D, H, Hd, F = dims["S"], dims["D"], dims["H"], dims["Hd"], dims["F"]
    assert D == H * Hd
    torch.manual_seed(seed)
    layer = torch.nn.TransformerEncoderLayer(D, H, F, dropout=0.0, activation="gelu", batch_first=True,
                                             norm_first=False)
    with torch.no_grad():  # non-trivial layer-norm affine parameters and biases
        for ln in (layer.norm1, layer.norm2):
            ln.weight.copy_(1 + 0.3 * torch.randn(D))
            ln.bias.copy_(0.2 * torch.randn(D))
        layer.self_attn.in_proj_bias.copy_(0.1 * torch.randn(3 * D))
        layer.self_attn.out_proj.bias.copy_(0.1 * torch.randn(D))
        # Round every weight to float32 first, so the reference consumes exactly the values written.
        for p in layer.parameters():
            p.copy_(p.float())
    layer = layer.double().eval()
    x = torch.randn(1, S, D).float().double()
    with torch.no_grad():
        y = layer(x)
        _, comp = layer.self_attn(x, x, x, need_weights=True, average_attn_weights=False)

    sa = layer.self_attn
    w_in, b_in = sa.in_proj_weight.detach(), sa.in_proj_bias.detach()
    params = {"X": x[0]}
    for i, n in enumerate("qkv"):
        params["W" + n] = w_in[i * D:(i + 1) * D].reshape(H, Hd, D)
        params["B" + n] = b_in[i * D:(i + 1) * D].reshape(H, Hd)
    params["Wo"] = sa.out_proj.weight.detach().reshape(D, H, Hd)
    params["Bo"] = sa.out_proj.bias.detach()
    params["Ln1W"], params["Ln1B"] = layer.norm1.weight.detach(), layer.norm1.bias.detach()
    params["W1"], params["B1"] = layer.linear1.weight.detach(), layer.linear1.bias.detach()
    params["W2"], params["B2"] = layer.linear2.weight.detach(), layer.linear2.bias.detach()
    params["Ln2W"], params["Ln2B"] = layer.norm2.weight.detach(), layer.norm2.bias.detach()

    d = os.path.join(OUT, name)
    os.makedirs(d)
    with open(EXAMPLE) as f:
        text = f.read()
    with open(os.path.join(d, "program.tl"), "w") as f:
        f.write(set_dims(text, dims))
    for k, v in params.items():
        np.save(os.path.join(d, f"in_{k}.npy"), v.numpy().astype(np.float32))
    # The 16 parameters (not X) as one safetensors file, for `tlt run --weights`.
    save_file({k: v.numpy().astype(np.float32) for k, v in params.items() if k != "X"},
              os.path.join(d, "weights.safetensors"))
    np.save(os.path.join(d, "out_Y.npy"), y[0].numpy().astype(np.float32))
    np.save(os.path.join(d, "out_Comp.npy"), comp[0].numpy().astype(np.float32))


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    case("odd", dict(S=7, D=15, H=3, Hd=5, F=22), 1126)
    case("small", dict(S=4, D=8, H=2, Hd=4, F=32), 2025)
    # A safetensors file with none of the block's parameters (for the --weights error).
    save_file({"unrelated": np.zeros((2,), np.float32)}, os.path.join(OUT, "unrelated.safetensors"))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
