#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, made from the project's own valid files (no third-party packages).

Usage: make_fuzz_corpus.py OUT_DIR [TLT_BINARY]   (without tlt: no graph seeds)
Writes OUT_DIR/<target>/<name> for every target in fuzz/: einsum cases from tests/fixtures/einsum/cases.txt,
.npy fixtures, JSON documents, .tl examples, TSV facts, chat templates (tests/fixtures/chat/render.json), and
graph text/JSON printed by `tlt graph`.
"""
import ast
import pathlib
import subprocess
import sys

root = pathlib.Path(__file__).resolve().parent.parent
out = pathlib.Path(sys.argv[1])
tlt = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None
fx = root / "tests" / "fixtures"


def put(target, name, data):
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def npy_shape(path):
    raw = path.read_bytes()
    hlen = int.from_bytes(raw[8:10], "little") if raw[6] == 1 else int.from_bytes(raw[8:12], "little")
    start = 10 if raw[6] == 1 else 12
    return ast.literal_eval(raw[start:start + hlen].decode("latin1"))["shape"]


small = lambda p: p.stat().st_size <= 64 * 1024
for line in (fx / "einsum" / "cases.txt").read_text().splitlines():
    name, spec, ins = line.split("\t")[:3]
    shapes = [",".join(map(str, npy_shape(fx / "einsum" / f))) for f in ins.split(",") if f]
    put("einsum", name, "\n".join([spec] + shapes))
for i, p in enumerate(sorted(fx.rglob("*.npy"))):
    if small(p) and i % 4 == 0:
        put("npy", p.parent.name + "_" + p.name, p.read_bytes())
for p in sorted(fx.rglob("*.json")):
    if small(p):
        put("json", p.parent.name + "_" + p.name, p.read_bytes())
for ext, target in (("safetensors", "safetensors"), ("gguf", "gguf")):
    for p in sorted(fx.rglob("*." + ext)):
        if small(p):
            put(target, p.parent.name + "_" + p.name, p.read_bytes())
for p in sorted(fx.rglob("config*.json")):
    if small(p):
        put("hf_config", p.parent.name + "_" + p.name, p.read_bytes())
for p in sorted((fx / "tokenizer").glob("*.json")):
    if small(p) and p.name != "parity.json":
        put("tokenizer_json", p.name, p.read_bytes())
import json as _json
for i, case in enumerate(_json.loads((fx / "tokenizer" / "parity.json").read_text())["corpus"][:64]):
    put("tokenizer_text", f"text{i}", case if isinstance(case, str) else _json.dumps(case))
for name, text in _json.loads((fx / "chat" / "render.json").read_text(encoding="utf-8"))["templates"].items():
    put("chat_template", name + ".jinja", text)
for p in sorted((root / "examples").glob("*.tl")):
    put("tl", p.name, p.read_bytes())
    for form in ("text", "json") if tlt else ():
        r = subprocess.run([tlt, "graph", str(p), "--" + form], capture_output=True)
        if r.returncode == 0 and r.stdout:
            put("graph_" + form, p.stem + "." + form, r.stdout)
            if form == "json":
                put("json", "graph_" + p.stem + ".json", r.stdout)
for p in sorted(list((root / "examples").glob("*.tsv")) + list(fx.rglob("*.tsv"))):
    if small(p):
        put("tsv", p.parent.name + "_" + p.name, p.read_bytes())
print(f"[fuzz] seed corpora in {out}: " + ", ".join(
    f"{d.name} {len(list(d.iterdir()))}" for d in sorted(out.iterdir()) if d.is_dir()))
