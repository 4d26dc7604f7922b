#!/usr/bin/env python3
"""Writes the project's own small mockup templates: fixtures/small-mockup.psd
and fixtures/nested-mockup.psd (a smart object holding a layered PSD with a
design slot).

The shared fixtures are other projects' files; this one is ours, so the
golden render tests always have a template, and it is shaped like a real
mockup: a photo-like background, a smart object in perspective (the
"design"), a rotated smart object (a "badge", affine), and a multiply shadow
layer above them.

Everything is written by hand here, following Adobe's file format
specification: 8-bit RGB, ZIP-with-prediction channels, placed layers as `SoLd` descriptors
with their contents embedded as PNG in a `lnk2` block. The stored merged
image is computed here with Pillow (normal and multiply blending), not by
Photoshop, so this file is for render tests, not for fidelity scores.

Usage: python3 scripts/make-fixtures.py   (needs Pillow and numpy)
"""
import io
import os
import struct
import zlib

import numpy as np
from PIL import Image, ImageDraw

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
W, H = 320, 240


# ---- pixels -----------------------------------------------------------------

def background():
    """A warm wall with soft light from the top left and a fine texture."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    light = 1.0 - 0.35 * np.hypot(x / W, y / H)
    tex = (((x.astype(np.int32) // 8) * 7 + (y.astype(np.int32) // 8) * 13) % 5) * 1.5
    rgb = np.stack([214 * light + tex, 196 * light + tex, 170 * light + tex], -1)
    return np.clip(np.dstack([rgb, np.full((H, W), 255.0)]), 0, 255).astype(np.uint8)


def design_contents():
    """160 x 120 chart: a diagonal gradient, a grid, and a marked corner."""
    w, h = 160, 120
    im = Image.new("RGBA", (w, h))
    px = np.zeros((h, w, 4), np.uint8)
    y, x = np.mgrid[0:h, 0:w]
    px[..., 0] = (x * 255 // w).astype(np.uint8)
    px[..., 1] = (y * 255 // h).astype(np.uint8)
    px[..., 2] = 160
    px[..., 3] = 255
    px[(x % 20 == 0) | (y % 20 == 0)] = [255, 255, 255, 255]
    im = Image.fromarray(px, "RGBA")
    d = ImageDraw.Draw(im)
    d.rectangle([4, 4, 27, 19], fill=(20, 20, 20, 255))
    return im


def badge_contents():
    """64 x 64 disc on transparency."""
    im = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.ellipse([2, 2, 61, 61], fill=(200, 30, 60, 255))
    d.rectangle([22, 28, 41, 35], fill=(255, 255, 255, 255))
    return im


def perspective_coeffs(quad, w, h):
    """Coefficients for Image.transform(PERSPECTIVE): canvas -> contents."""
    src = [(0, 0), (w, 0), (w, h), (0, h)]
    a = []
    b = []
    for (x, y), (u, v) in zip(quad, src):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        b += [u, v]
    return np.linalg.solve(np.array(a, float), np.array(b, float)).tolist()


def place(contents, quad, W=W, H=H):
    """The contents drawn through the quad onto a transparent canvas."""
    w, h = contents.size
    # Supersample 4x for smooth edges, then reduce.
    big = contents.transform((W * 4, H * 4), Image.Transform.PERSPECTIVE,
                             perspective_coeffs([(x * 4, y * 4) for x, y in quad], w, h),
                             Image.Resampling.BILINEAR)
    return np.asarray(big.resize((W, H), Image.Resampling.BOX))


def shadow():
    """A soft dark band under the design, for a multiply layer."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    a = np.exp(-(((x - 170) / 110) ** 2 + ((y - 200) / 26) ** 2)) * 200
    px = np.zeros((H, W, 4), np.float32)
    px[..., :3] = [60, 45, 40]
    px[..., 3] = a
    return px.astype(np.uint8)


def over(dst, src, opacity=1.0, multiply=False, screen=False):
    """Straight-alpha compositing of src onto an opaque dst (float 0..1)."""
    s = src[..., :3] / 255.0
    a = src[..., 3:4] / 255.0 * opacity
    d = dst[..., :3]
    if multiply:
        s = d * s
    if screen:
        s = 1 - (1 - d) * (1 - s)
    out = dst.copy()
    out[..., :3] = d * (1 - a) + s * a
    return out


# ---- PSD writing --------------------------------------------------------------

def pascal(s, pad):
    b = s.encode("latin-1")
    out = bytes([len(b)]) + b
    while len(out) % pad:
        out += b"\0"
    return out


def unicode_str(s):
    return struct.pack(">I", len(s) + 1) + (s + "\0").encode("utf-16-be")


def key(k):
    return struct.pack(">I", 0) + k.encode() if len(k) == 4 else struct.pack(">I", len(k)) + k.encode()


def desc(class_id, items):
    out = unicode_str("") + key(class_id) + struct.pack(">I", len(items))
    for k, v in items:
        out += key(k) + value(v)
    return out


def value(v):
    kind, x = v
    if kind == "TEXT":
        return b"TEXT" + unicode_str(x)
    if kind == "doub":
        return b"doub" + struct.pack(">d", x)
    if kind == "long":
        return b"long" + struct.pack(">i", x)
    if kind == "VlLs":
        return b"VlLs" + struct.pack(">I", len(x)) + b"".join(value(i) for i in x)
    if kind == "Objc":
        return b"Objc" + desc(*x)
    raise ValueError(kind)


def block(k, data):
    while len(data) % 4:
        data += b"\0"
    return b"8BIM" + k.encode() + struct.pack(">I", len(data)) + data


def smart_object_block(uid, quad, size):
    doubles = [("doub", float(c)) for p in quad for c in p]
    d = desc("null", [
        ("Idnt", ("TEXT", uid)),
        ("placed", ("TEXT", uid)),
        ("PgNm", ("long", 1)),
        ("totalPages", ("long", 1)),
        ("Trnf", ("VlLs", doubles)),
        ("nonAffineTransform", ("VlLs", doubles)),
        ("Sz  ", ("Objc", ("Pnt ", [("Wdth", ("doub", float(size[0]))),
                                     ("Hght", ("doub", float(size[1])))]))),
    ])
    return block("SoLd", b"soLD" + struct.pack(">I", 4) + struct.pack(">I", 16) + d)


def linked_file(uid, name, data, file_type=b"png "):
    rec = (b"liFD" + struct.pack(">I", 2) + pascal(uid, 1) + unicode_str(name)
           + file_type + b"8BIM" + struct.pack(">Q", len(data)) + b"\0" + data)
    out = struct.pack(">Q", len(rec)) + rec
    while len(out) % 4:
        out += b"\0"
    return out


def layer(name, rgba, blend=b"norm", opacity=255, extra=b""):
    """A layer record and its channel data, cropped to its opaque bounds."""
    alpha = rgba[..., 3]
    ys, xs = np.nonzero(alpha)
    if len(xs) == 0:
        t = l = b = r = 0
    else:
        t, b, l, r = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    crop = rgba[t:b, l:r]
    chans = []
    for cid, idx in [(-1, 3), (0, 0), (1, 1), (2, 2)]:
        # ZIP with prediction (compression 3): row deltas, then deflate.
        plane = crop[..., idx].astype(np.int16)
        delta = np.diff(plane, axis=1, prepend=0).astype(np.uint8)
        chans.append((cid, struct.pack(">H", 3) + zlib.compress(delta.tobytes(), 9)))
    rec = struct.pack(">iiiiH", t, l, b, r, len(chans))
    for cid, data in chans:
        rec += struct.pack(">hI", cid, len(data))
    rec += b"8BIM" + blend + bytes([opacity, 0, 0b1000, 0])
    ex = struct.pack(">I", 0) + struct.pack(">I", 0) + pascal(name, 4)
    ex += block("luni", unicode_str(name)) + extra
    rec += struct.pack(">I", len(ex)) + ex
    return rec, b"".join(d for _, d in chans)


def psd(layers, merged, linked=b""):
    H, W = merged.shape[:2]
    out = b"8BPS" + struct.pack(">H", 1) + b"\0" * 6
    out += struct.pack(">HIIHH", 3, H, W, 8, 3)
    out += struct.pack(">I", 0)  # colour mode data
    # Image resources: resolution 150 dpi (ResolutionInfo, 0x03ED).
    res = struct.pack(">IHHIHH", 150 << 16, 1, 1, 150 << 16, 1, 1)
    ir = b"8BIM" + struct.pack(">H", 0x03ED) + b"\0\0" + struct.pack(">I", len(res)) + res
    out += struct.pack(">I", len(ir)) + ir
    info = struct.pack(">h", len(layers))
    info += b"".join(r for r, _ in layers) + b"".join(d for _, d in layers)
    while len(info) % 4:
        info += b"\0"
    lm = struct.pack(">I", len(info)) + info + struct.pack(">I", 0)
    if linked:
        lm += block("lnk2", linked)
    out += struct.pack(">I", len(lm)) + lm
    # Merged image: ZIP with prediction over the three planes in turn.
    delta = np.diff(merged.transpose(2, 0, 1).astype(np.int16), axis=2, prepend=0)
    out += struct.pack(">H", 3) + zlib.compress(delta.astype(np.uint8).tobytes(), 9)
    return out


def png_bytes(im):
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def nested_mockup():
    """A template whose smart object holds a layered PSD: fabric below, a
    design slot ("Your Design Here", multiply) and highlights (screen)
    above. A render must keep the fabric and highlights around the design."""
    iw, ih = 120, 90
    y, x = np.mgrid[0:ih, 0:iw].astype(np.float32)
    fabric = np.zeros((ih, iw, 4), np.float32)
    weave = ((x.astype(int) // 3 + y.astype(int) // 3) % 2) * 18
    fabric[..., 0] = 225 - weave
    fabric[..., 1] = 218 - weave
    fabric[..., 2] = 200 - weave
    fabric[..., 3] = 255
    fabric = fabric.astype(np.uint8)
    slot = np.zeros((ih, iw, 4), np.uint8)
    slot[20:70, 25:95] = [90, 90, 90, 255]
    band = np.exp(-(((x - y * 1.3) - 20) / 14) ** 2) * 150
    highlights = np.zeros((ih, iw, 4), np.float32)
    highlights[..., :3] = 255
    highlights[..., 3] = band
    highlights = highlights.astype(np.uint8)
    inner_merged = fabric.astype(np.float32) / 255.0
    inner_merged = over(inner_merged, slot, multiply=True)
    inner_merged = over(inner_merged, highlights, opacity=153 / 255, screen=True)
    inner_merged = np.clip(inner_merged * 255.0 + 0.5, 0, 255).astype(np.uint8)
    inner = psd([
        layer("Fabric", fabric),
        layer("Your Design Here", slot, blend=b"mul "),
        layer("Highlights", highlights, blend=b"scrn", opacity=153),
    ], inner_merged)

    OW, OH = 240, 180
    y, x = np.mgrid[0:OH, 0:OW].astype(np.float32)
    bg = np.zeros((OH, OW, 4), np.float32)
    bg[..., 0] = 90 + 40 * x / OW
    bg[..., 1] = 110 + 30 * y / OH
    bg[..., 2] = 130
    bg[..., 3] = 255
    bg = bg.astype(np.uint8)
    quad = [(50, 40), (200, 30), (190, 150), (60, 140)]
    contents = Image.fromarray(inner_merged, "RGBA")
    shirt = place(contents, quad, OW, OH)
    merged = over(bg.astype(np.float32) / 255.0, shirt)
    merged = np.clip(merged * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return psd([
        layer("Background", bg),
        layer("Shirt print", shirt, extra=smart_object_block("shirt-1", quad, (iw, ih))),
    ], merged, linked_file("shirt-1", "print.psb", inner, b"8BPS"))


def main():
    bg = background()
    design = design_contents()
    badge = badge_contents()
    design_quad = [(92, 46), (248, 62), (236, 178), (84, 168)]
    # The badge: 64 x 64, rotated 20 degrees about (58, 58), scaled 0.8.
    c, s = np.cos(np.radians(20)), np.sin(np.radians(20))
    badge_quad = [(58 + 0.8 * (x * c - y * s), 58 + 0.8 * (x * s + y * c))
                  for x, y in [(-32, -32), (32, -32), (32, 32), (-32, 32)]]
    design_px = place(design, design_quad)
    badge_px = place(badge, badge_quad)
    shadow_px = shadow()

    merged = bg.astype(np.float32) / 255.0
    merged = over(merged, design_px)
    merged = over(merged, badge_px)
    merged = over(merged, shadow_px, opacity=204 / 255, multiply=True)
    merged = np.clip(merged * 255.0 + 0.5, 0, 255).astype(np.uint8)

    layers = [
        layer("Background", bg),
        layer("Design", design_px, extra=smart_object_block("design-1", design_quad, design.size)),
        layer("Badge", badge_px, extra=smart_object_block("badge-1", badge_quad, badge.size)),
        layer("Shadow", shadow_px, blend=b"mul ", opacity=204),
    ]
    linked = linked_file("design-1", "design.png", png_bytes(design)) + \
        linked_file("badge-1", "badge.png", png_bytes(badge))
    path = os.path.join(ROOT, "fixtures", "small-mockup.psd")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(psd(layers, merged, linked))
    print(path, os.path.getsize(path), "bytes")
    path = os.path.join(ROOT, "fixtures", "nested-mockup.psd")
    with open(path, "wb") as f:
        f.write(nested_mockup())
    print(path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
