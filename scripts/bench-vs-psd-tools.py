#!/usr/bin/env python3
"""Times psd-tools' real re-composite and ours on the same files, in one run.

psd-tools returns the stored preview unless forced, so it is called with
`composite(ignore_preview=True)` (a real re-composite). Ours is timed
in-process by `mockup time` (parse + composite + sRGB conversion, best of N),
built in release mode. Prints a table and the median ratio.

Usage: pip install psd-tools numpy && cargo build --release -p mockup &&
       python3 scripts/bench-vs-psd-tools.py [--runs 3] [files...]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIXTURES = os.path.join(ROOT, "..", "shared", "fixtures", "psd")
DEFAULT = [
    "psd-tools/masks.psd",
    "psd-tools/rgb-blend-modes.psd",
    "psd-tools/layer_effects.psd",
    "PhotoshopAPI/CMYK_8.psd",
    "TwelveMonkeys/adobehq_layers.psd",
    "oov-psd/ibispaint.psd",
    "ag-psd/placed-transform.psd",
    "ag-psd/gradient-overlay.psd",
    "psd-tools/artboard.psd",
    "PhotoshopAPI/smart_objects_transformed.psd",
]


def time_psd_tools(path, runs):
    from psd_tools import PSDImage

    best = float("inf")
    for i in range(runs + 1):
        t = time.perf_counter()
        psd = PSDImage.open(path)
        psd.composite(ignore_preview=True)
        dt = time.perf_counter() - t
        if i > 0:  # the first run warms up imports and caches
            best = min(best, dt)
    return best * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--mockup", default=os.environ.get("MOCKUP_BIN"))
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    files = [os.path.join(FIXTURES, f) for f in (args.files or DEFAULT)]
    files = [f for f in files if os.path.exists(f)]
    mockup = args.mockup
    if not mockup:
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        mockup = os.path.join(target, "release", "mockup")
    out = subprocess.run([mockup, "time", "--runs", str(args.runs), *files], check=True, capture_output=True, text=True)
    ours = {json.loads(l)["file"]: json.loads(l) for l in out.stdout.splitlines() if l.strip()}
    ratios = []
    print(f"{'file':<50} {'Mpx':>6} {'ours ms':>9} {'psd-tools ms':>13} {'ratio':>7}")
    for f in files:
        o = ours[f]
        p = time_psd_tools(f, args.runs)
        ratio = p / o["ms"]
        ratios.append(ratio)
        print(f"{os.path.relpath(f, FIXTURES):<50} {o['megapixels']:>6.2f} {o['ms']:>9.1f} {p:>13.1f} {ratio:>6.1f}x")
    print(f"median speed-up over psd-tools: {statistics.median(ratios):.1f}x (min {min(ratios):.1f}x)")


if __name__ == "__main__":
    sys.exit(main())
