//! Placing a smart object's contents on the canvas through its transform:
//! the projective map from the contents' frame to the placed quad, and a
//! resampler that draws the contents through it without jaggies.
//!
//! The quad's corners are the images of the contents' corners (top-left,
//! top-right, bottom-right, bottom-left), so an affine placement is the
//! special case of a parallelogram quad and needs no separate path.

use crate::render::raster::{Color, Raster, Rect};

/// A 3x3 projective transform, row-major, mapping `(x, y, 1)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Homography(pub [f64; 9]);

impl Homography {
    /// The transform taking the rectangle `(0, 0)-(w, h)` to `quad`
    /// (corners TL, TR, BR, BL as x, y pairs). `None` when the quad is
    /// degenerate (three corners on a line) or `w`/`h` is not positive.
    pub fn from_rect_to_quad(w: f64, h: f64, quad: &[f64; 8]) -> Option<Homography> {
        if !(w > 0.0 && h > 0.0) || quad.iter().any(|v| !v.is_finite()) {
            return None;
        }
        // Unit square to quad (Heckbert's closed form), then scale.
        let [x0, y0, x1, y1, x2, y2, x3, y3] = *quad;
        let (dx1, dy1) = (x1 - x2, y1 - y2);
        let (dx2, dy2) = (x3 - x2, y3 - y2);
        let (sx, sy) = (x0 - x1 + x2 - x3, y0 - y1 + y2 - y3);
        let den = dx1 * dy2 - dx2 * dy1;
        let scale = quad.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        if den.abs() < 1e-12 * scale * scale {
            return None;
        }
        let g = (sx * dy2 - dx2 * sy) / den;
        let hh = (dx1 * sy - sx * dy1) / den;
        let a = x1 - x0 + g * x1;
        let b = x3 - x0 + hh * x3;
        let d = y1 - y0 + g * y1;
        let e = y3 - y0 + hh * y3;
        let m = [a / w, b / h, x0, d / w, e / h, y0, g / w, hh / h, 1.0];
        let out = Homography(m);
        out.inverse().map(|_| out)
    }

    /// Applies the transform to a point.
    pub fn apply(&self, x: f64, y: f64) -> (f64, f64) {
        let m = &self.0;
        let w = m[6] * x + m[7] * y + m[8];
        (
            (m[0] * x + m[1] * y + m[2]) / w,
            (m[3] * x + m[4] * y + m[5]) / w,
        )
    }

    /// The inverse transform, `None` when singular.
    pub fn inverse(&self) -> Option<Homography> {
        let m = &self.0;
        let c00 = m[4] * m[8] - m[5] * m[7];
        let c01 = m[5] * m[6] - m[3] * m[8];
        let c02 = m[3] * m[7] - m[4] * m[6];
        let det = m[0] * c00 + m[1] * c01 + m[2] * c02;
        if det.abs() < 1e-18 || !det.is_finite() {
            return None;
        }
        let inv = [
            c00 / det,
            (m[2] * m[7] - m[1] * m[8]) / det,
            (m[1] * m[5] - m[2] * m[4]) / det,
            c01 / det,
            (m[0] * m[8] - m[2] * m[6]) / det,
            (m[2] * m[3] - m[0] * m[5]) / det,
            c02 / det,
            (m[1] * m[6] - m[0] * m[7]) / det,
            (m[0] * m[4] - m[1] * m[3]) / det,
        ];
        Some(Homography(inv))
    }
}

/// Samples per pixel side where the quad's edge crosses a pixel: 4 x 4
/// gives 17 coverage levels, below the visible step at 8 bits after the
/// bilinear filter smooths colour.
const EDGE_SAMPLES: usize = 4;

/// Draws `src` (whose rect is its own frame, origin at 0, 0) through `h`
/// onto a new raster covering the transformed frame within `clip`.
///
/// Colour is sampled bilinearly in premultiplied space at each sample point;
/// pixels crossed by the frame's edge are supersampled so the edge is
/// anti-aliased by its true coverage. For strong minification (the source
/// more than twice as dense as the canvas) the source should first be
/// reduced, see [`downscale_box`]; callers do that before calling.
pub fn warp(src: &Raster, h: &Homography, clip: Rect) -> Raster {
    let (w, hgt) = (src.rect.width() as f64, src.rect.height() as f64);
    let corners = [
        h.apply(0.0, 0.0),
        h.apply(w, 0.0),
        h.apply(w, hgt),
        h.apply(0.0, hgt),
    ];
    let (mut x0, mut y0, mut x1, mut y1) = (
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    );
    for (x, y) in corners {
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    let bounds = if [x0, y0, x1, y1]
        .iter()
        .all(|v| v.is_finite() && v.abs() < 1e7)
    {
        Rect {
            left: x0.floor() as i32,
            top: y0.floor() as i32,
            right: x1.ceil() as i32,
            bottom: y1.ceil() as i32,
        }
    } else {
        clip
    };
    let area = bounds.intersect(&clip);
    let mut out = Raster::transparent(area);
    let Some(inv) = h.inverse() else { return out };
    let sw = src.rect.width() as usize;
    let inside = |px: f64, py: f64| {
        let (u, v) = inv.apply(px, py);
        (0.0..=w).contains(&u) && (0.0..=hgt).contains(&v)
    };
    // Whether each pixel corner (lattice point) of a row lies inside the
    // frame: computed once per lattice row and shared by the four pixels
    // that meet there.
    let lattice_row = |y: i32, row: &mut Vec<bool>| {
        row.clear();
        row.extend((area.left..=area.right).map(|x| inside(x as f64, y as f64)));
    };
    let outside = convex_outside_test(&corners);
    // An inverse without rotation, shear or perspective (the artwork's
    // fit, size and position in its frame; scaled smart objects) maps
    // columns and rows independently: each pixel centre's taps are then
    // worked out once per column and once per row, with the same
    // arithmetic as per pixel.
    let m = &inv.0;
    let separable = m[1] == 0.0 && m[3] == 0.0 && m[6] == 0.0 && m[7] == 0.0;
    let sh = src.rect.height() as usize;
    let (columns, rows): (Vec<Taps>, Vec<Taps>) = if separable {
        (
            (area.left..area.right)
                .map(|x| bilinear_axis(inv.apply(x as f64 + 0.5, 0.5).0, sw))
                .collect(),
            (area.top..area.bottom)
                .map(|y| bilinear_axis(inv.apply(0.5, y as f64 + 0.5).1, sh))
                .collect(),
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let (mut upper, mut lower) = (Vec::new(), Vec::new());
    lattice_row(area.top, &mut upper);
    for y in area.top..area.bottom {
        lattice_row(y + 1, &mut lower);
        for x in area.left..area.right {
            let i = out.index(x, y).expect("inside the raster");
            // A pixel whose four corners are all inside the frame (or all
            // outside) needs one sample.
            let k = (x - area.left) as usize;
            let (fx, fy) = (x as f64, y as f64);
            let n_in = [upper[k], upper[k + 1], lower[k], lower[k + 1]]
                .iter()
                .filter(|&&b| b)
                .count();
            let (c, a) = if n_in == 4 && separable {
                sample_premul_at(src, sw, columns[k], rows[(y - area.top) as usize])
            } else if n_in == 4 {
                let (u, v) = inv.apply(fx + 0.5, fy + 0.5);
                sample_premul(src, sw, u, v)
            } else if n_in == 0 && outside.as_ref().is_some_and(|o| o(fx, fy)) {
                // Wholly outside the frame: nothing to supersample.
                continue;
            } else {
                // Supersample: edge pixels, and pixels the frame lies inside
                // of (a frame smaller than one pixel).
                let mut acc = ([0.0f32; 4], 0.0f32);
                let step = 1.0 / EDGE_SAMPLES as f64;
                for sy in 0..EDGE_SAMPLES {
                    for sx in 0..EDGE_SAMPLES {
                        let (u, v) =
                            inv.apply(fx + (sx as f64 + 0.5) * step, fy + (sy as f64 + 0.5) * step);
                        if (0.0..=w).contains(&u) && (0.0..=hgt).contains(&v) {
                            let (c, a) = sample_premul(src, sw, u, v);
                            for (s, v) in acc.0.iter_mut().zip(c) {
                                *s += v;
                            }
                            acc.1 += a;
                        }
                    }
                }
                let n = (EDGE_SAMPLES * EDGE_SAMPLES) as f32;
                (acc.0.map(|v| v / n), acc.1 / n)
            };
            if a > 0.0 {
                out.color[i] = c.map(|v| v / a);
                out.alpha[i] = a.min(1.0);
            }
        }
        std::mem::swap(&mut upper, &mut lower);
    }
    out
}

/// For a convex quad (the frame's corners on the canvas, in order), a test
/// of whether the pixel square with top-left (x, y) lies outside it, past
/// one of its edges by more than 1/1000 pixel: far more than the rounding
/// of the inverse mapping, so no supersample there could have landed inside.
/// `None` for a degenerate or non-convex quad (always supersampled).
fn convex_outside_test(corners: &[(f64, f64); 4]) -> Option<impl Fn(f64, f64) -> bool> {
    const MARGIN: f64 = 1e-3;
    let edge = |i: usize| {
        let (a, b) = (corners[i], corners[(i + 1) % 4]);
        (a, (b.0 - a.0, b.1 - a.1))
    };
    let turn = |i: usize| {
        let ((_, d0), (_, d1)) = (edge(i), edge((i + 1) % 4));
        d0.0 * d1.1 - d0.1 * d1.0
    };
    let turns = [turn(0), turn(1), turn(2), turn(3)];
    let sign = if turns.iter().all(|&t| t > 0.0) {
        1.0
    } else if turns.iter().all(|&t| t < 0.0) {
        -1.0
    } else {
        return None;
    };
    // Each edge as a line a*x + b*y + c, positive inside, in pixels.
    let mut lines = [(0.0, 0.0, 0.0); 4];
    for (i, line) in lines.iter_mut().enumerate() {
        let ((x0, y0), (dx, dy)) = edge(i);
        let len = (dx * dx + dy * dy).sqrt();
        if !(len > 0.0 && len.is_finite()) {
            return None;
        }
        let (a, b) = (-dy * sign / len, dx * sign / len);
        *line = (a, b, -(a * x0 + b * y0));
    }
    Some(move |x: f64, y: f64| {
        lines.iter().any(|&(a, b, c)| {
            // The square's corner farthest inside this edge.
            let best = a * x + b * y + c + a.max(0.0) + b.max(0.0);
            best < -MARGIN
        })
    })
}

/// Bilinear sample at frame coordinates (u, v), returning premultiplied
/// colour and alpha. Samples beyond the edge clamp to the edge pixels (the
/// coverage test, not the filter, decides where the frame ends).
fn sample_premul(src: &Raster, sw: usize, u: f64, v: f64) -> (Color, f32) {
    let sh = src.rect.height() as usize;
    sample_premul_at(src, sw, bilinear_axis(u, sw), bilinear_axis(v, sh))
}

/// Where a bilinear sample at `t` along an axis of `n` pixels reads: the
/// two pixels and the weight of the second.
#[derive(Debug, Clone, Copy)]
struct Taps(usize, usize, f32);

fn bilinear_axis(t: f64, n: usize) -> Taps {
    let f = (t - 0.5).clamp(0.0, (n - 1) as f64);
    let i = f.floor() as usize;
    Taps(i, (i + 1).min(n - 1), (f - i as f64) as f32)
}

/// [`sample_premul`] with its column and row taps worked out.
fn sample_premul_at(
    src: &Raster,
    sw: usize,
    Taps(ix, ix1, tx): Taps,
    Taps(iy, iy1, ty): Taps,
) -> (Color, f32) {
    let mut c = [0.0f32; 4];
    let mut a = 0.0f32;
    for (px, py, wgt) in [
        (ix, iy, (1.0 - tx) * (1.0 - ty)),
        (ix1, iy, tx * (1.0 - ty)),
        (ix, iy1, (1.0 - tx) * ty),
        (ix1, iy1, tx * ty),
    ] {
        let j = py * sw + px;
        let pa = src.alpha[j] * wgt;
        for (s, v) in c.iter_mut().zip(src.color[j]) {
            *s += v * pa;
        }
        a += pa;
    }
    (c, a)
}

/// Shrinks a raster by an integer factor with a box filter (premultiplied),
/// so that a later bilinear warp never skips source pixels.
pub fn downscale_box(src: &Raster, factor: u32) -> Raster {
    let f = factor.max(1) as usize;
    if f == 1 {
        return src.clone();
    }
    let (sw, sh) = (src.rect.width() as usize, src.rect.height() as usize);
    let (dw, dh) = (sw.div_ceil(f), sh.div_ceil(f));
    let mut out = Raster::transparent(Rect::new(0, 0, dw as u32, dh as u32));
    for dy in 0..dh {
        for dx in 0..dw {
            let (mut c, mut a, mut n) = ([0.0f32; 4], 0.0f32, 0.0f32);
            for y in dy * f..((dy + 1) * f).min(sh) {
                for x in dx * f..((dx + 1) * f).min(sw) {
                    let j = y * sw + x;
                    let pa = src.alpha[j];
                    for (s, v) in c.iter_mut().zip(src.color[j]) {
                        *s += v * pa;
                    }
                    a += pa;
                    n += 1.0;
                }
            }
            let i = dy * dw + dx;
            if a > 0.0 {
                out.color[i] = c.map(|v| v / a);
            }
            out.alpha[i] = a / n;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: (f64, f64), b: (f64, f64)) -> bool {
        (a.0 - b.0).abs() < 1e-6 && (a.1 - b.1).abs() < 1e-6
    }

    #[test]
    fn corners_map_to_the_quad() {
        let quad = [10.0, 20.0, 110.0, 30.0, 90.0, 140.0, 5.0, 120.0];
        let h = Homography::from_rect_to_quad(200.0, 100.0, &quad).unwrap();
        assert!(close(h.apply(0.0, 0.0), (10.0, 20.0)));
        assert!(close(h.apply(200.0, 0.0), (110.0, 30.0)));
        assert!(close(h.apply(200.0, 100.0), (90.0, 140.0)));
        assert!(close(h.apply(0.0, 100.0), (5.0, 120.0)));
        let inv = h.inverse().unwrap();
        assert!(close(inv.apply(90.0, 140.0), (200.0, 100.0)));
    }

    #[test]
    fn degenerate_quads_are_refused() {
        assert!(Homography::from_rect_to_quad(
            10.0,
            10.0,
            &[0.0, 0.0, 10.0, 0.0, 20.0, 0.0, 30.0, 0.0]
        )
        .is_none());
        assert!(Homography::from_rect_to_quad(
            0.0,
            10.0,
            &[0.0, 0.0, 10.0, 0.0, 10.0, 10.0, 0.0, 10.0]
        )
        .is_none());
        assert!(Homography::from_rect_to_quad(10.0, 10.0, &[f64::NAN; 8]).is_none());
    }

    /// A 2x scale places a chart's corner pixels at the quad's corners and
    /// its edges anti-aliased by coverage.
    #[test]
    fn chart_corners_land_on_the_quad() {
        let mut src = Raster::filled(Rect::new(0, 0, 8, 8), [0.0, 0.0, 1.0, 0.0], 1.0);
        src.color[0] = [1.0, 0.0, 0.0, 0.0]; // top-left red
        src.color[63] = [0.0, 1.0, 0.0, 0.0]; // bottom-right green
        let quad = [4.0, 4.0, 20.0, 4.0, 20.0, 20.0, 4.0, 20.0];
        let h = Homography::from_rect_to_quad(8.0, 8.0, &quad).unwrap();
        let out = warp(&src, &h, Rect::new(0, 0, 32, 32));
        let at = |x, y| {
            (
                out.color[out.index(x, y).unwrap()],
                out.alpha[out.index(x, y).unwrap()],
            )
        };
        assert_eq!(at(4, 4).0, [1.0, 0.0, 0.0, 0.0]);
        assert_eq!(at(4, 4).1, 1.0);
        assert_eq!(at(19, 19).0, [0.0, 1.0, 0.0, 0.0]);
        assert_eq!(out.alpha_at(3, 10), 0.0);
        assert_eq!(out.alpha_at(20, 10), 0.0);
        // Half-pixel edge: a quad edge at x = 4.5 covers half of column 4.
        let h =
            Homography::from_rect_to_quad(8.0, 8.0, &[4.5, 4.0, 20.0, 4.0, 20.0, 20.0, 4.5, 20.0])
                .unwrap();
        let out = warp(&src, &h, Rect::new(0, 0, 32, 32));
        assert!(
            (out.alpha_at(4, 10) - 0.5).abs() < 1e-6,
            "{}",
            out.alpha_at(4, 10)
        );
    }

    #[test]
    fn box_downscale_averages_premultiplied() {
        let mut src = Raster::filled(Rect::new(0, 0, 2, 2), [1.0, 0.0, 0.0, 0.0], 1.0);
        src.alpha[3] = 0.0;
        src.color[3] = [0.0, 1.0, 0.0, 0.0];
        let out = downscale_box(&src, 2);
        assert_eq!(out.rect, Rect::new(0, 0, 1, 1));
        assert!((out.alpha[0] - 0.75).abs() < 1e-6);
        assert_eq!(out.color[0], [1.0, 0.0, 0.0, 0.0]);
    }
}
