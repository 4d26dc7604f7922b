//! Vector masks (`vmsk` / `vsms`): path records rasterised to coverage.
//!
//! A vector mask is a list of Bézier subpaths in coordinates relative to the
//! canvas size. Photoshop groups them into *components* (a subpath whose
//! operation is "merge" joins the component before it, e.g. the hole of a
//! ring-shaped custom shape) and combines the components in order with a
//! boolean shape operation: combine (union), subtract, intersect or exclude.
//!
//! Each component is filled with the even-odd rule (so an inner subpath cuts
//! a hole whichever way it winds) with exact-area anti-aliasing, and folded
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

impl VectorMask {
    /// Bounds `[left, top, right, bottom]` in canvas pixels of every
    /// subpath's anchors and control points (for Photoshop's shapes the
    /// control points lie within the curve's box, so this is the shape's
    /// box). `None` without knots.
    pub fn bounds(&self, doc_width: u32, doc_height: u32) -> Option<[f32; 4]> {
        let mut b = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for k in self.subpaths.iter().flat_map(|s| &s.knots) {
            for p in [k.preceding, k.anchor, k.leaving] {
                b = [
                    b[0].min(p[0]),
                    b[1].min(p[1]),
                    b[2].max(p[0]),
                    b[3].max(p[1]),
                ];
            }
        }
        if !b[0].is_finite() {
            return None;
        }
        let (w, h) = (doc_width as f64, doc_height as f64);
        Some([
            (b[0] * w) as f32,
            (b[1] * h) as f32,
            (b[2] * w) as f32,
            (b[3] * h) as f32,
        ])
    }
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

/// Largest distance, in pixels, between a Bézier curve and the polyline that
/// stands for it.
const FLATTEN_TOLERANCE: f64 = 0.02;
/// Most line segments one curve is cut into, so hostile coordinates cannot
/// buy unbounded work.
const MAX_CURVE_SEGMENTS: usize = 512;

/// Exact-area coverage of paths over a `w` x `h` window.
///
/// Photoshop's vector masks match the *area* of the shape inside each pixel
/// (measured on the stored pixels of shape layers: an exact-area fill agrees
/// to about 1/100, while 4x4 supersampling is off by 2-4/100 at edges). So
/// each edge adds, per row it crosses, the signed area it leaves to its
/// right into a cell buffer; a running sum along each row then gives the
/// winding-weighted coverage of every pixel, folded to even-odd.
struct Accumulator {
    w: usize,
    h: usize,
    /// Row stride `w + 2`: an edge in column `c` also writes `c + 1`, and
    /// column `w` collects what lies right of the window.
    cells: Vec<f32>,
}

impl Accumulator {
    /// Empties the accumulator and sizes it to a `w` x `h` window, reusing
    /// its allocation.
    fn reset(&mut self, w: usize, h: usize) {
        self.w = w;
        self.h = h;
        self.cells.clear();
        self.cells.resize((w + 2) * h, 0.0);
    }

    /// Adds the edge from `(x0, y0)` to `(x1, y1)` (window pixels).
    fn line(&mut self, x0: f64, y0: f64, x1: f64, y1: f64) {
        if y0 == y1 || !(x0.is_finite() && y0.is_finite() && x1.is_finite() && y1.is_finite()) {
            return;
        }
        // Downward edges add area, upward ones remove it.
        let (dir, xa, ya, xb, yb) = if y0 < y1 {
            (1.0, x0, y0, x1, y1)
        } else {
            (-1.0, x1, y1, x0, y0)
        };
        let top = ya.max(0.0);
        let bottom = yb.min(self.h as f64);
        // Rows the edge misses, and edges wholly right of the window, leave
        // every visible pixel alone.
        if top >= bottom || xa.min(xb) >= self.w as f64 {
            return;
        }
        let dxdy = (xb - xa) / (yb - ya);
        // A vanishing rise over a long run: it covers no area worth a NaN.
        if !dxdy.is_finite() {
            return;
        }
        let first = top.floor() as usize;
        let last = (bottom.ceil() as usize).min(self.h);
        for row in first..last {
            let ys = top.max(row as f64);
            let ye = bottom.min(row as f64 + 1.0);
            if ye <= ys {
                continue;
            }
            let xs = xa + (ys - ya) * dxdy;
            let xe = xa + (ye - ya) * dxdy;
            self.row_piece(row, xs, xe, (ye - ys) * dir);
        }
    }

    /// Adds a piece of edge within one row: it spans `xs..xe` and `dy` of the
    /// row's height (signed).
    fn row_piece(&mut self, row: usize, xs: f64, xe: f64, dy: f64) {
        let w = self.w as f64;
        let stride = self.w + 2;
        let cells = &mut self.cells[row * stride..(row + 1) * stride];
        let (lo, hi) = if xs <= xe { (xs, xe) } else { (xe, xs) };
        let span = hi - lo;
        if span < 1e-9 {
            // Vertical: the part of the pixel right of x is covered.
            let x = lo.clamp(0.0, w);
            let c = (x.floor() as usize).min(self.w);
            let m = x - c as f64;
            cells[c] += (dy * (1.0 - m)) as f32;
            cells[c + 1] += (dy * m) as f32;
            return;
        }
        let per_x = dy / span;
        // Left of the window: the whole row inside is to the right.
        if lo < 0.0 {
            cells[0] += (per_x * (hi.min(0.0) - lo)) as f32;
        }
        let (l, r) = (lo.max(0.0), hi.min(w));
        if l < r {
            let mut c = l.floor() as usize;
            while c < self.w && (c as f64) < r {
                let u = l.max(c as f64);
                let v = r.min(c as f64 + 1.0);
                let share = per_x * (v - u);
                let m = 0.5 * (u + v) - c as f64;
                cells[c] += (share * (1.0 - m)) as f32;
                cells[c + 1] += (share * m) as f32;
                c += 1;
            }
        }
        // Right of the window adds nothing visible.
    }

    /// Adds a cubic Bézier as a polyline within [`FLATTEN_TOLERANCE`].
    fn cubic(&mut self, p0: [f64; 2], p1: [f64; 2], p2: [f64; 2], p3: [f64; 2]) {
        // The second derivative is bounded by 6 x the larger second
        // difference of the control polygon; a chord of a curve whose second
        // derivative is at most M, over a parameter step 1/n, strays at most
        // M / (8 n^2) from it.
        let dd = |a: [f64; 2], b: [f64; 2], c: [f64; 2]| {
            let x = a[0] - 2.0 * b[0] + c[0];
            let y = a[1] - 2.0 * b[1] + c[1];
            (x * x + y * y).sqrt()
        };
        let m = 6.0 * dd(p0, p1, p2).max(dd(p1, p2, p3));
        let n = (m / (8.0 * FLATTEN_TOLERANCE)).sqrt().ceil();
        let n = if n.is_finite() {
            (n as usize).clamp(1, MAX_CURVE_SEGMENTS)
        } else {
            1
        };
        let mut prev = p0;
        for i in 1..=n {
            let t = i as f64 / n as f64;
            let u = 1.0 - t;
            let (a, b, c, d) = (u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t);
            let p = if i == n {
                p3
            } else {
                [
                    a * p0[0] + b * p1[0] + c * p2[0] + d * p3[0],
                    a * p0[1] + b * p1[1] + c * p2[1] + d * p3[1],
                ]
            };
            self.line(prev[0], prev[1], p[0], p[1]);
            prev = p;
        }
    }

    /// Adds one subpath, mapped from canvas-relative units to window pixels.
    fn subpath(&mut self, sub: &Subpath, scale: [f64; 2], origin: [f64; 2]) {
        let n = sub.knots.len();
        if n < 2 {
            return;
        }
        let map = |p: [f64; 2]| [p[0] * scale[0] - origin[0], p[1] * scale[1] - origin[1]];
        // Open subpaths are filled as if closed by a straight line.
        let segments = if sub.closed { n } else { n - 1 };
        for i in 0..segments {
            let a = &sub.knots[i];
            let b = &sub.knots[(i + 1) % n];
            let (p0, p3) = (map(a.anchor), map(b.anchor));
            // A straight edge stores both controls on their anchors.
            if a.leaving == a.anchor && b.preceding == b.anchor {
                self.line(p0[0], p0[1], p3[0], p3[1]);
            } else {
                self.cubic(p0, map(a.leaving), map(b.preceding), p3);
            }
        }
        if !sub.closed {
            let (p0, p3) = (map(sub.knots[n - 1].anchor), map(sub.knots[0].anchor));
            self.line(p0[0], p0[1], p3[0], p3[1]);
        }
    }

    /// Turns the cells into even-odd coverage in place: row `y` of the
    /// result is `cells[y * (w + 2)..][..w]`.
    fn resolve(&mut self) {
        for row in self.cells.chunks_exact_mut(self.w + 2) {
            let mut sum = 0.0f64;
            for c in row {
                sum += *c as f64;
                // Fold the winding into 0..1: an even count is outside.
                // Most pixels are wound at most once, so skip the fmod.
                let a = sum.abs();
                let a = if a <= 1.0 {
                    a
                } else {
                    let f = a % 2.0;
                    if f > 1.0 {
                        2.0 - f
                    } else {
                        f
                    }
                };
                *c = a as f32;
            }
        }
    }
}

/// The pixels a component can touch: the bounding box of all its points,
/// control points included (a Bézier lies in their hull).
fn component_bounds(component: &[Subpath], scale: [f64; 2]) -> Rect {
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for p in component
        .iter()
        .filter(|s| s.knots.len() >= 2)
        .flat_map(|s| &s.knots)
        .flat_map(|k| [k.preceding, k.anchor, k.leaving])
    {
        x0 = x0.min(p[0] * scale[0]);
        x1 = x1.max(p[0] * scale[0]);
        y0 = y0.min(p[1] * scale[1]);
        y1 = y1.max(p[1] * scale[1]);
    }
    if x0 > x1 || y0 > y1 {
        return Rect::default();
    }
    // Saturating casts keep absurd coordinates in i32 range.
    const LIM: f64 = (1 << 30) as f64;
    let c = |v: f64| v.clamp(-LIM, LIM) as i32;
    Rect {
        left: c(x0.floor()),
        top: c(y0.floor()),
        right: c(x1.ceil()) + 1,
        bottom: c(y1.ceil()) + 1,
    }
}

/// Rasterises the mask over `rect` for a `doc_width` x `doc_height` canvas
/// (path coordinates are relative to the canvas).
///
/// The plane holds 1 where the layer shows and 0 where the mask hides it,
/// with the invert flag applied. Pixels outside `rect` take the value of a
/// pixel far from every path, which is exact when `rect` holds the paths.
/// Returns `None` when the mask is disabled (it then has no effect). The
/// caller bounds `rect.area()` (it is the layer's rectangle, already checked
/// against the limits).
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
    let (w, h) = (rect.width() as usize, rect.height() as usize);
    let mut acc = vec![0.0f32; w * h];
    if mask.subpaths.is_empty() && mask.initial_fill_all {
        acc.fill(1.0);
    }

    let scale = [doc_width as f64, doc_height as f64];
    let mut cells = Accumulator {
        w: 0,
        h: 0,
        cells: Vec::new(),
    };
    for (n, (op, component)) in components(&mask.subpaths).enumerate() {
        // A leading subtract or intersect works against a full canvas.
        if n == 0 && matches!(op, ShapeOp::Subtract | ShapeOp::Intersect) {
            acc.fill(1.0);
        }
        // Only the component's own box needs rasterising: elsewhere its
        // coverage is 0, which leaves `acc` alone except under intersect.
        let win = component_bounds(component, scale).intersect(&rect);
        if win.is_empty() {
            if op == ShapeOp::Intersect {
                acc.fill(0.0);
            }
            continue;
        }
        let ww = win.width() as usize;
        cells.reset(ww, win.height() as usize);
        let origin = [win.left as f64, win.top as f64];
        for sub in component {
            cells.subpath(sub, scale, origin);
        }
        cells.resolve();
        let x_off = (win.left - rect.left) as usize;
        for (y, row) in acc.chunks_exact_mut(w).enumerate() {
            let cy = rect.top + y as i32;
            if cy < win.top || cy >= win.bottom {
                if op == ShapeOp::Intersect {
                    row.fill(0.0);
                }
                continue;
            }
            let start = (cy - win.top) as usize * (ww + 2);
            let cov = &cells.cells[start..start + ww];
            if op == ShapeOp::Intersect {
                row[..x_off].fill(0.0);
                row[x_off + ww..].fill(0.0);
            }
            combine(&mut row[x_off..x_off + ww], cov, op);
        }
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

/// Folds one component's coverage into `acc` with `op`. The match is outside
/// the loops so each loop is a plain vectorisable map.
fn combine(acc: &mut [f32], cov: &[f32], op: ShapeOp) {
    let pairs = acc.iter_mut().zip(cov);
    match op {
        ShapeOp::Combine | ShapeOp::Merge => pairs.for_each(|(a, &p)| *a = *a + p - *a * p),
        ShapeOp::Subtract => pairs.for_each(|(a, &p)| *a *= 1.0 - p),
        ShapeOp::Intersect => pairs.for_each(|(a, &p)| *a *= p),
        ShapeOp::Exclude => pairs.for_each(|(a, &p)| *a = *a + p - 2.0 * *a * p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testing::{fixture, tagged_blocks as find_blocks};

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

    #[test]
    fn fixture_ellipse_mask() {
        let Some(file) = fixture("psd-tools/vector-mask.psd") else {
            return;
        };
        let blocks = find_blocks(&file, b"vmsk");
        assert_eq!(blocks.len(), 3);
        // "Background copy": one Bezier ellipse, x 22..68, y 61..117 px on
        // the 100 x 150 canvas (psd-tools reports the same knots).
        let m = parse(blocks[2]).unwrap();
        assert!(m.initial_fill_all && !m.invert && !m.disabled);
        assert_eq!(m.subpaths.len(), 1);
        assert_eq!(m.subpaths[0].op, ShapeOp::Combine);
        assert_eq!(m.subpaths[0].knots.len(), 4);
        let p = rasterize(&m, 100, 150, Rect::new(0, 0, 100, 150)).unwrap();
        assert!(close(p.at(45, 89), 1.0, 1e-3));
        assert!(close(p.at(5, 5), 0.0, 1e-6) && close(p.at(21, 89), 0.0, 1e-3));
        // Area of the ellipse, pi * 23 * 28.
        let area: f32 = p.data.iter().sum();
        let want = std::f32::consts::PI * 23.0 * 28.0;
        assert!(close(area, want, 2.0), "{area} vs {want}");
        // The "reveal all" masks PhotoshopAPI writes: no subpaths, initial
        // fill rule 1; one of them disabled.
        let Some(file) = fixture("PhotoshopAPI/Masks_8bit.psd") else {
            return;
        };
        let blocks = find_blocks(&file, b"vmsk");
        assert!(!blocks.is_empty());
        let mut disabled = 0;
        for b in blocks {
            let m = parse(b).unwrap();
            assert!(m.subpaths.is_empty() && m.initial_fill_all);
            match rasterize(&m, 64, 64, Rect::new(0, 0, 64, 64)) {
                Some(p) => assert!(p.data.iter().all(|&v| v == 1.0)),
                None => disabled += 1,
            }
        }
        assert_eq!(disabled, 1);
    }

    #[test]
    fn extreme_coordinates_stay_finite() {
        // Knots at the fixed-point extremes and a near-horizontal sliver.
        let pts = [
            (-128.0, -128.0),
            (127.99, 1e-7),
            (0.5, 2e-7),
            (-128.0, 127.99),
        ];
        let m = parse(&block(0, 0, &[polygon(1, &pts), square(3, 0.2, 0.8)])).unwrap();
        let p = rasterize(&m, 30_000, 30_000, Rect::new(14_990, 14_990, 30, 30)).unwrap();
        assert!(p
            .data
            .iter()
            .all(|v| v.is_finite() && (0.0..=1.0).contains(v)));
        let p = rasterize(&m, 7, 3, Rect::new(-5, -5, 20, 20)).unwrap();
        assert!(p
            .data
            .iter()
            .all(|v| v.is_finite() && (0.0..=1.0).contains(v)));
    }
}
