#!/usr/bin/env python3
"""Runs `mockup time` natively and as a wasm32-wasip2 component under
wasmtime (Cranelift, simd128 on) on the same files, in one run, and prints
the wasm/native ratio per stage.

Usage:
  pip install wasmtime
  CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS="-C target-feature=+simd128" \
      cargo build --release -p mockup --target wasm32-wasip2
  cargo build --release -p mockup
  python3 scripts/wasm-vs-native.py [--runs 3] [files...]
  python3 scripts/wasm-vs-native.py --request REQUEST.json FILE
      (times the render stages of a render request body instead)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIXTURES = os.path.normpath(os.path.join(ROOT, "..", "shared", "fixtures", "psd"))
DEFAULT = [
    "oov-psd/ibispaint.psd",
    "ag-psd/placed-transform.psd",
    "psd-tools/artboard.psd",
    "psd-tools/masks.psd",
    "psd-tools/rgb-blend-modes.psd",
    "PhotoshopAPI/CMYK_8.psd",
    "PhotoshopAPI/smart_objects_transformed.psd",
]


def run_wasm(wasm, args, fixtures, extra_dir=None):
    from wasmtime import Config, Engine, Store, WasiConfig
    from wasmtime.component import Component, Linker

    config = Config()
    config.cranelift_opt_level = "speed"
    engine = Engine(config)
    component = Component.from_file(engine, wasm)
    linker = Linker(engine)
    linker.add_wasip2()
    with tempfile.NamedTemporaryFile("r", suffix=".out", delete=False) as out:
        path = out.name
    wasi = WasiConfig()
    wasi.argv = ["mockup", *args]
    wasi.preopen_dir(fixtures, "/fx")
    if extra_dir:
        wasi.preopen_dir(extra_dir, "/req")
    wasi.stdout_file = path
    wasi.inherit_stderr()
    store = Store(engine)
    store.set_wasi(wasi)
    instance = linker.instantiate(store, component)
    iface = None
    for version in ("0.2.0", "0.2.1", "0.2.2", "0.2.3", "0.2.4", "0.2.5", "0.2.6"):
        iface = instance.get_export_index(store, f"wasi:cli/run@{version}")
        if iface is not None:
            break
    run = instance.get_func(store, instance.get_export_index(store, "run", iface))
    run(store)
    with open(path) as f:
        text = f.read()
    os.unlink(path)
    return text


def render_main(args, native, wasm):
    """Times one render request natively and in wasm, stage by stage."""
    req = os.path.abspath(args.request)
    files = args.files or ["ag-psd/placed-transform.psd"]
    stages = ("decode_ms", "place_ms", "composite_ms", "encode_ms", "ms")
    print(f"{'file':<46} " + " ".join(f"{s[:-3]:>18}" for s in stages))
    for f in files:
        out = subprocess.run([native, "time", "--runs", str(args.runs), "--request", req,
                              os.path.join(FIXTURES, f)], check=True, capture_output=True, text=True).stdout
        n = json.loads(out)
        out = run_wasm(wasm, ["time", "--runs", str(args.runs), "--request",
                              "/req/" + os.path.basename(req), "/fx/" + f], FIXTURES, os.path.dirname(req))
        w = json.loads(out)
        cells = " ".join(f"{n[s]:>6.1f}/{w[s]:>6.1f} {w[s] / max(n[s], 1e-9):>4.2f}x" for s in stages)
        print(f"{f:<46} {cells}")
    print("(each cell: native ms / wasm ms, ratio)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--request", help="time this render request body instead")
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    native = os.path.join(target, "release", "mockup")
    wasm = os.path.join(target, "wasm32-wasip2", "release", "mockup.wasm")
    if args.request:
        return render_main(args, native, wasm)
    files = args.files or DEFAULT
    out = subprocess.run([native, "time", "--runs", str(args.runs), *[os.path.join(FIXTURES, f) for f in files]],
                         check=True, capture_output=True, text=True).stdout
    nat = [json.loads(l) for l in out.splitlines() if l.strip()]
    out = run_wasm(wasm, ["time", "--runs", str(args.runs), *["/fx/" + f for f in files]], FIXTURES)
    was = [json.loads(l) for l in out.splitlines() if l.strip()]
    ratios = []
    print(f"{'file':<46} {'native ms':>10} {'wasm ms':>9} {'ratio':>6}   (open / composite / convert ratios)")
    for f, n, w in zip(files, nat, was):
        r = w["ms"] / n["ms"]
        ratios.append(r)
        parts = " / ".join(f"{w[k] / max(n[k], 1e-9):.2f}" for k in ("open_ms", "composite_ms", "convert_ms"))
        print(f"{f:<46} {n['ms']:>10.1f} {w['ms']:>9.1f} {r:>5.2f}x   ({parts})")
    print(f"median wasm32-wasip2 / native: {statistics.median(ratios):.2f}x (max {max(ratios):.2f}x)")


if __name__ == "__main__":
    sys.exit(main())
