//! Vector masks (`vmsk` / `vsms`): path records rasterised to coverage.
//!
//! A vector mask is a list of Bézier subpaths in coordinates relative to the
//! canvas size. Photoshop groups them into *components* (a subpath whose
//! operation is "merge" joins the component before it, e.g. the hole of a
//! ring-shaped custom shape) and combines the components in order with a
//! boolean shape operation: combine (union), subtract, intersect or exclude.
//!
//! Each component is filled with the even-odd rule (so an inner subpath cuts
//! a hole whichever way it winds), anti-aliased by `tiny-skia`, and folded
//! into the running coverage with its operation.

use crate::error::{Error, Result};
use crate::render::raster::{Plane, Rect};

/// Bytes of one path record.
const RECORD_LEN: usize = 26;

/// How a subpath combines with the coverage built by the subpaths before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShapeOp {
    /// Exclude overlapping shapes (xor), stored as 0. Files written before
    /// Photoshop CS6 leave the field zero, and xor of their subpaths is what
    /// those versions displayed.
    Exclude,
    /// Combine shapes (union), stored as 1.
    Combine,
    /// Subtract front shape, stored as 2.
    Subtract,
    /// Intersect shape areas, stored as 3.
    Intersect,
    /// Merged into the previous subpath's component (stored as -1): both are
    /// filled together as one even-odd path.
    Merge,
}

impl ShapeOp {
    fn from_raw(v: i16) -> ShapeOp {
        match v {
            0 => ShapeOp::Exclude,
            2 => ShapeOp::Subtract,
            3 => ShapeOp::Intersect,
            -1 => ShapeOp::Merge,
            // 1, and values no Photoshop writes: a plain union is the least
            // surprising reading.
            _ => ShapeOp::Combine,
        }
    }
}

/// One Bézier knot, in canvas-relative units (0..1 across the canvas; values
/// outside that range are legal), `[x, y]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Knot {
    /// Control point of the curve arriving at the anchor.
    pub preceding: [f64; 2],
    /// The anchor point.
    pub anchor: [f64; 2],
    /// Control point of the curve leaving the anchor.
    pub leaving: [f64; 2],
}

/// One subpath: a run of knots.
#[derive(Debug, Clone, PartialEq)]
pub struct Subpath {
    /// A closed subpath has a curve from the last knot back to the first.
    /// Open subpaths are still filled (closed by a straight line), as
    /// Photoshop fills them.
    pub closed: bool,
    /// How it combines with what came before.
    pub op: ShapeOp,
    /// Knots in order.
    pub knots: Vec<Knot>,
}

/// A parsed vector mask.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VectorMask {
    /// Mask is inverted.
    pub invert: bool,
    /// Mask is not linked to the layer.
    pub not_linked: bool,
    /// Mask is disabled.
    pub disabled: bool,
    /// The initial fill rule record says the fill starts with all pixels.
    /// It only decides what a mask *without* subpaths shows ("Reveal All"
    /// versus "Hide All"); with subpaths the first one sets the coverage.
    pub initial_fill_all: bool,
    /// Subpaths in file order.
    pub subpaths: Vec<Subpath>,
}

/// Reads one 8.24 fixed-point value.
fn fixed(b: &[u8]) -> f64 {
    let v = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    v as f64 / (1u32 << 24) as f64
}

/// Reads a (y, x) fixed-point pair as `[x, y]`.
fn point(b: &[u8]) -> [f64; 2] {
    [fixed(&b[4..8]), fixed(&b[0..4])]
}

/// Parses a `vmsk`/`vsms` block.
///
/// Unknown record selectors are skipped and a trailing partial record is
/// ignored (Photoshop pads some blocks), so only a bad header is an error.
pub fn parse(data: &[u8]) -> Result<VectorMask> {
    let mut r = crate::psd::reader::Reader::new(data);
    let version = r.u32("vector mask version")?;
    if version != 3 {
        return Err(Error::unsupported(
            "vector mask version",
            format!("{version}, expected 3"),
        ));
    }
    let flags = r.u32("vector mask flags")?;
    let mut mask = VectorMask {
        invert: flags & 1 != 0,
        not_linked: flags & 2 != 0,
        disabled: flags & 4 != 0,
        initial_fill_all: false,
        subpaths: Vec::new(),
    };
    // `chunks_exact` drops a trailing partial record by construction.
    for rec in data[r.pos()..].chunks_exact(RECORD_LEN) {
        let selector = u16::from_be_bytes([rec[0], rec[1]]);
        let body = &rec[2..];
        match selector {
            // Subpath length record: knot count (u16), then the shape
            // operation (i16) that Photoshop CS6 and later store here.
            0 | 3 => mask.subpaths.push(Subpath {
                closed: selector == 0,
                op: ShapeOp::from_raw(i16::from_be_bytes([body[2], body[3]])),
                knots: Vec::new(),
            }),
            1 | 2 | 4 | 5 => {
                // A knot before any length record belongs to no subpath.
                if let Some(sub) = mask.subpaths.last_mut() {
                    sub.knots.push(Knot {
                        preceding: point(&body[0..8]),
                        anchor: point(&body[8..16]),
                        leaving: point(&body[16..24]),
                    });
                }
            }
            8 => mask.initial_fill_all = u16::from_be_bytes([body[0], body[1]]) != 0,
            // 6 path fill rule (no data), 7 clipboard, anything else.
            _ => {}
        }
    }
    Ok(mask)
}

/// Splits the subpaths into components: a subpath and the `Merge` ones
/// after it, with the operation that combines the component.
fn components(subs: &[Subpath]) -> impl Iterator<Item = (ShapeOp, &[Subpath])> {
    let mut i = 0;
    std::iter::from_fn(move || {
        let start = i;
        let first = subs.get(start)?;
        i += 1;
        while subs.get(i).is_some_and(|s| s.op == ShapeOp::Merge) {
            i += 1;
        }
        Some((first.op, &subs[start..i]))
    })
}

/// Coverage of a canvas pixel that no subpath reaches: what the operation
/// chain yields from zero coverage, before inversion.
fn far_coverage(mask: &VectorMask) -> f32 {
    if mask.subpaths.is_empty() {
        return if mask.initial_fill_all { 1.0 } else { 0.0 };
    }
    let mut acc = 0.0f32;
    for (n, (op, _)) in components(&mask.subpaths).enumerate() {
        if n == 0 && matches!(op, ShapeOp::Subtract | ShapeOp::Intersect) {
            acc = 1.0;
        }
        // Against an empty shape only an intersection changes anything.
        if op == ShapeOp::Intersect {
            acc = 0.0;
        }
    }
    acc
}

/// Appends one subpath, in pixel coordinates relative to `rect`, to `pb`.
fn add_subpath(
    pb: &mut tiny_skia::PathBuilder,
    sub: &Subpath,
    scale: [f64; 2],
    origin: [f64; 2],
) -> bool {
    if sub.knots.len() < 2 {
        return false;
    }
    let map = |p: [f64; 2]| -> (f32, f32) {
        // Far-out coordinates (hostile or just huge) are clamped to a range
        // f32 and the rasteriser handle; they are off-rect either way.
        const LIM: f64 = 1.0e7;
        (
            (p[0] * scale[0] - origin[0]).clamp(-LIM, LIM) as f32,
            (p[1] * scale[1] - origin[1]).clamp(-LIM, LIM) as f32,
        )
    };
    let first = &sub.knots[0];
    let (x, y) = map(first.anchor);
    pb.move_to(x, y);
    let n = sub.knots.len();
    let segments = if sub.closed { n } else { n - 1 };
    for i in 0..segments {
        let a = &sub.knots[i];
        let b = &sub.knots[(i + 1) % n];
        let (c1x, c1y) = map(a.leaving);
        let (c2x, c2y) = map(b.preceding);
        let (x, y) = map(b.anchor);
        // A straight edge stores both controls on their anchors; a line
        // saves the rasteriser from subdividing a degenerate cubic.
        if a.leaving == a.anchor && b.preceding == b.anchor {
            pb.line_to(x, y);
        } else {
            pb.cubic_to(c1x, c1y, c2x, c2y, x, y);
        }
    }
    pb.close();
    true
}

/// Rasterises the mask over `rect` for a `doc_width` x `doc_height` canvas
/// (path coordinates are relative to the canvas).
///
/// The plane holds 1 where the layer shows and 0 where the mask hides it,
/// with the invert flag applied. Pixels outside `rect` take the value of a
/// pixel far from every path, which is exact when `rect` holds the paths.
/// Returns `None` when the mask is disabled (it then has no effect) or the
/// coverage buffer cannot be allocated.
pub fn rasterize(mask: &VectorMask, doc_width: u32, doc_height: u32, rect: Rect) -> Option<Plane> {
    if mask.disabled {
        return None;
    }
    let far = far_coverage(mask);
    let outside = if mask.invert { 1.0 - far } else { far };
    if rect.is_empty() {
        return Some(Plane {
            rect,
            data: Vec::new(),
            outside,
        });
    }
    let (w, h) = (rect.width(), rect.height());
    let n = rect.area() as usize;
    let mut acc = vec![0.0f32; n];
    if mask.subpaths.is_empty() && mask.initial_fill_all {
        acc.fill(1.0);
    }

    let scale = [doc_width as f64, doc_height as f64];
    let origin = [rect.left as f64, rect.top as f64];
    let mut coverage = tiny_skia::Mask::new(w, h)?;
    for (n, (op, component)) in components(&mask.subpaths).enumerate() {
        let mut pb = tiny_skia::PathBuilder::new();
        let mut any = false;
        for sub in component {
            any |= add_subpath(&mut pb, sub, scale, origin);
        }
        coverage.clear();
        if any {
            if let Some(path) = pb.finish() {
                coverage.fill_path(
                    &path,
                    tiny_skia::FillRule::EvenOdd,
                    true,
                    tiny_skia::Transform::identity(),
                );
            }
        }
        // A leading subtract or intersect works against a full canvas.
        if n == 0 && matches!(op, ShapeOp::Subtract | ShapeOp::Intersect) {
            acc.fill(1.0);
        }
        combine(&mut acc, coverage.data(), op);
    }

    if mask.invert {
        acc.iter_mut().for_each(|a| *a = 1.0 - *a);
    }
    Some(Plane {
        rect,
        data: acc,
        outside,
    })
}

/// Folds one component's 8-bit coverage into `acc` with `op`. The match is
/// outside the loops so each loop is a plain vectorisable map.
fn combine(acc: &mut [f32], cov: &[u8], op: ShapeOp) {
    const K: f32 = 1.0 / 255.0;
    let pairs = acc.iter_mut().zip(cov);
    match op {
        ShapeOp::Combine | ShapeOp::Merge => {
            pairs.for_each(|(a, &c)| {
                let p = c as f32 * K;
                *a = *a + p - *a * p;
            });
        }
        ShapeOp::Subtract => pairs.for_each(|(a, &c)| *a *= 1.0 - c as f32 * K),
        ShapeOp::Intersect => pairs.for_each(|(a, &c)| *a *= c as f32 * K),
        ShapeOp::Exclude => {
            pairs.for_each(|(a, &c)| {
                let p = c as f32 * K;
                *a = *a + p - 2.0 * *a * p;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `8BIM<key>` tagged block's data in a PSD file (4-byte lengths).
    pub(crate) fn find_blocks<'a>(file: &'a [u8], key: &[u8; 4]) -> Vec<&'a [u8]> {
        let mut out = Vec::new();
        let mut tag = b"8BIM".to_vec();
        tag.extend_from_slice(key);
        let mut i = 0;
        while i + 12 <= file.len() {
            if file[i..i + 8] == tag[..] {
                let len = u32::from_be_bytes([file[i + 8], file[i + 9], file[i + 10], file[i + 11]])
                    as usize;
                if let Some(d) = file.get(i + 12..i + 12 + len) {
                    out.push(d);
                }
                i += 12;
            } else {
                i += 1;
            }
        }
        out
    }

    /// 8.24 fixed point of `v`.
    fn fx(v: f64) -> [u8; 4] {
        ((v * (1u32 << 24) as f64).round() as i32).to_be_bytes()
    }

    /// A path record: selector then 24 data bytes.
    fn record(selector: u16, body: &[u8]) -> Vec<u8> {
        let mut r = selector.to_be_bytes().to_vec();
        r.extend_from_slice(body);
        r.resize(RECORD_LEN, 0);
        r
    }

    /// A closed polygon subpath (length record + linked knots), `pts` as
    /// canvas-relative `(x, y)`.
    fn polygon(op: i16, pts: &[(f64, f64)]) -> Vec<u8> {
        let mut len = (pts.len() as u16).to_be_bytes().to_vec();
        len.extend(op.to_be_bytes());
        let mut out = record(0, &len);
        for &(x, y) in pts {
            let mut k = Vec::new();
            for _ in 0..3 {
                k.extend(fx(y));
                k.extend(fx(x));
            }
            out.extend(record(1, &k));
        }
        out
    }

    fn block(flags: u32, initial_fill: u16, subpaths: &[Vec<u8>]) -> Vec<u8> {
        let mut b = 3u32.to_be_bytes().to_vec();
        b.extend(flags.to_be_bytes());
        b.extend(record(6, &[]));
        b.extend(record(8, &initial_fill.to_be_bytes()));
        for s in subpaths {
            b.extend(s);
        }
        b
    }

    fn square(op: i16, a: f64, b: f64) -> Vec<u8> {
        polygon(op, &[(a, a), (b, a), (b, b), (a, b)])
    }

    fn full(mask: &VectorMask) -> Plane {
        rasterize(mask, 10, 10, Rect::new(0, 0, 10, 10)).unwrap()
    }

    fn close(a: f32, b: f32, tol: f32) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn parses_header_and_records() {
        let m = parse(&block(1 | 4, 1, &[square(2, 0.25, 0.75)])).unwrap();
        assert!(m.invert && m.disabled && !m.not_linked && m.initial_fill_all);
        assert_eq!(m.subpaths.len(), 1);
        assert_eq!(m.subpaths[0].op, ShapeOp::Subtract);
        assert!(m.subpaths[0].closed);
        assert_eq!(m.subpaths[0].knots.len(), 4);
        assert_eq!(m.subpaths[0].knots[1].anchor, [0.75, 0.25]);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(parse(&[]).is_err());
        assert!(parse(&[0, 0, 0, 2, 0, 0, 0, 0]).is_err());
        // Garbage records after a good header: parsed leniently, no panic.
        let mut b = 3u32.to_be_bytes().to_vec();
        b.extend([0u8; 4]);
        b.extend((0..200u32).map(|i| (i * 37 % 251) as u8));
        let m = parse(&b).unwrap();
        let _ = rasterize(&m, 50, 50, Rect::new(-5, -5, 60, 60));
    }

    #[test]
    fn square_interior_edges_exterior() {
        // 2.5..7.5 px on a 10 x 10 canvas: pixels 3..=6 inside, 2 and 7
        // half covered, corners a quarter.
        let p = full(&parse(&block(0, 0, &[square(1, 0.25, 0.75)])).unwrap());
        let tol = 0.02;
        assert!(close(p.at(4, 4), 1.0, tol));
        assert!(close(p.at(3, 6), 1.0, tol));
        assert!(close(p.at(0, 0), 0.0, tol) && close(p.at(9, 5), 0.0, tol));
        assert!(close(p.at(2, 5), 0.5, tol), "{}", p.at(2, 5));
        assert!(close(p.at(7, 5), 0.5, tol), "{}", p.at(7, 5));
        assert!(close(p.at(5, 2), 0.5, tol) && close(p.at(5, 7), 0.5, tol));
        assert!(close(p.at(2, 2), 0.25, tol), "{}", p.at(2, 2));
        assert_eq!(p.outside, 0.0);
        let area: f32 = p.data.iter().sum();
        assert!(close(area, 25.0, 0.1), "{area}");
    }

    #[test]
    fn invert_flips_coverage() {
        let p = full(&parse(&block(1, 0, &[square(1, 0.25, 0.75)])).unwrap());
        assert!(close(p.at(4, 4), 0.0, 0.02));
        assert!(close(p.at(0, 0), 1.0, 0.02));
        assert!(close(p.at(2, 5), 0.5, 0.02));
        assert_eq!(p.outside, 1.0);
    }

    #[test]
    fn subtract_cuts_a_hole() {
        let p = full(&parse(&block(0, 0, &[square(1, 0.1, 0.9), square(2, 0.4, 0.6)])).unwrap());
        assert!(close(p.at(2, 2), 1.0, 0.02));
        assert!(close(p.at(4, 4), 0.0, 0.02) && close(p.at(5, 5), 0.0, 0.02));
        assert!(close(p.at(0, 0), 0.0, 0.02));
        // Ring area: 64 - 4 px.
        let area: f32 = p.data.iter().sum();
        assert!(close(area, 60.0, 0.2), "{area}");
    }

    #[test]
    fn leading_subtract_and_intersect_start_from_full() {
        let p = full(&parse(&block(0, 0, &[square(2, 0.4, 0.6)])).unwrap());
        assert!(close(p.at(0, 0), 1.0, 0.02) && close(p.at(5, 5), 0.0, 0.02));
        assert_eq!(p.outside, 1.0);
        let p = full(&parse(&block(0, 0, &[square(1, 0.0, 0.5), square(3, 0.3, 0.8)])).unwrap());
        // Intersection is 3..5 x 3..5.
        assert!(close(p.at(4, 4), 1.0, 0.02) && close(p.at(1, 1), 0.0, 0.02));
        assert!(close(p.at(6, 6), 0.0, 0.02));
        assert_eq!(p.outside, 0.0);
    }

    #[test]
    fn exclude_and_merge_are_even_odd() {
        // Exclude: overlap 3..5 x 3..5 is empty, the rest covered.
        let p = full(&parse(&block(0, 0, &[square(0, 0.0, 0.5), square(0, 0.3, 0.8)])).unwrap());
        assert!(close(p.at(4, 4), 0.0, 0.02) && close(p.at(1, 1), 1.0, 0.02));
        assert!(close(p.at(7, 7), 1.0, 0.02));
        // Merge: an inner square with the same winding still cuts a hole.
        let p = full(&parse(&block(0, 0, &[square(1, 0.1, 0.9), square(-1, 0.4, 0.6)])).unwrap());
        assert!(close(p.at(5, 5), 0.0, 0.02) && close(p.at(2, 2), 1.0, 0.02));
    }

    #[test]
    fn empty_mask_follows_initial_fill_rule() {
        let reveal = parse(&block(0, 1, &[])).unwrap();
        let p = full(&reveal);
        assert!(p.data.iter().all(|&v| v == 1.0) && p.outside == 1.0);
        let hide = parse(&block(0, 0, &[])).unwrap();
        assert!(full(&hide).data.iter().all(|&v| v == 0.0));
        let hide_inverted = parse(&block(1, 0, &[])).unwrap();
        assert!(full(&hide_inverted).data.iter().all(|&v| v == 1.0));
        let disabled = parse(&block(4, 0, &[square(1, 0.2, 0.4)])).unwrap();
        assert!(rasterize(&disabled, 10, 10, Rect::new(0, 0, 10, 10)).is_none());
    }

    #[test]
    fn sub_rect_matches_full_canvas() {
        let m = parse(&block(
            0,
            0,
            &[square(1, 0.23, 0.71), square(2, 0.37, 0.52)],
        ))
        .unwrap();
        let whole = full(&m);
        let part = rasterize(&m, 10, 10, Rect::new(3, 1, 9, 5)).unwrap();
        assert_eq!(part.data.len(), 45);
        for y in 1..6 {
            for x in 3..12 {
                let want = if x < 10 { whole.at(x, y) } else { 0.0 };
                assert!(close(part.at(x, y), want, 1e-4), "({x},{y})");
            }
        }
    }
}
