//! Mesh warps: a smart object's Bezier control grid (simple 4 x 4 envelope,
//! custom grids of 4 + 3n points per side, quilt grids with slice
//! positions) evaluated as bicubic Bezier patches over the contents' frame,
//! then carried onto the canvas by the placed layer's quad.
//!
//! Rendering inverts the surface numerically: the patches are tessellated
//! into a fine triangle lattice, the lattice is rasterised at `SUPER` x
//! `SUPER` samples per canvas pixel carrying the contents coordinates of
//! every sample, and the contents are sampled there. Neighbouring triangles
//! share their vertices, so the surface has no seams; the outer edge is
//! anti-aliased by the fraction of samples it covers.

use crate::doc::smart_object::Warp;
use crate::render::place::Homography;
use crate::render::raster::{Raster, Rect};

/// Samples per canvas pixel side.
const SUPER: usize = 3;
/// Lattice steps per patch side.
const STEPS: usize = 24;
/// Most Bezier patches a warp may have (Photoshop's custom grids top out
/// far below this).
const MAX_PATCHES: usize = 1024;

/// A warp ready to evaluate: control points in the warp's bounds space and
/// the contents coordinates each patch covers.
#[derive(Debug, Clone)]
pub struct BezierMesh {
    /// Size of the box the placed quad maps (see [`BezierMesh::bounds_size`]).
    frame: (f64, f64),
    cols: usize,
    rows: usize,
    points: Vec<(f64, f64)>,
    /// Patch boundaries along x and y, in contents pixels.
    u_breaks: Vec<f64>,
    v_breaks: Vec<f64>,
}

impl BezierMesh {
    /// Builds the mesh of `warp` for contents of `w` x `h` pixels. `None`
    /// when the grid is not a whole number of cubic patches.
    pub fn from_warp(warp: &Warp, w: f64, h: f64) -> Option<BezierMesh> {
        let (cols, rows) = (warp.grid.0 as usize, warp.grid.1 as usize);
        if cols < 4
            || rows < 4
            || (cols - 1) % 3 != 0
            || (rows - 1) % 3 != 0
            || warp.points.len() != cols * rows
        {
            return None;
        }
        if warp
            .points
            .iter()
            .any(|p| !p.0.is_finite() || !p.1.is_finite())
        {
            return None;
        }
        let [l, t, r, b] = warp.bounds;
        let breaks = |slices: &[f64], n: usize, lo: f64, hi: f64, size: f64| -> Vec<f64> {
            // Quilt slices are positions in the bounds' space; map them to
            // contents pixels. Without slices, patches split evenly.
            if slices.len() == n + 1 && hi > lo {
                slices.iter().map(|s| (s - lo) / (hi - lo) * size).collect()
            } else {
                (0..=n).map(|i| size * i as f64 / n as f64).collect()
            }
        };
        let (pc, pr) = ((cols - 1) / 3, (rows - 1) / 3);
        // Photoshop's grids stay small; a hostile file's huge grid would
        // make the tessellation explode.
        if pc * pr > MAX_PATCHES {
            return None;
        }
        // The placed quad is the image of the warped shape's bounding box
        // (when the warp pushes the mesh past the contents' bounds, the box
        // grows with it): measure it on the control points, which bound the
        // Bezier surface, and shift the mesh so that box starts at the
        // origin.
        let (mut x0, mut y0, mut x1, mut y1) = (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        );
        for &(x, y) in &warp.points {
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
        let (x0, y0) = (x0.min(l), y0.min(t));
        let (x1, y1) = (x1.max(r), y1.max(b));
        Some(BezierMesh {
            cols,
            rows,
            frame: (x1 - x0, y1 - y0),
            points: warp.points.iter().map(|&(x, y)| (x - x0, y - y0)).collect(),
            u_breaks: breaks(&warp.slices_x, pc, l, r, w),
            v_breaks: breaks(&warp.slices_y, pr, t, b, h),
        })
    }

    /// Width and height of the warp's bounds: the rectangle the placed
    /// layer's quad is the image of.
    pub fn bounds_size(&self) -> (f64, f64) {
        self.frame
    }

    /// Surface point of patch (`pi`, `pj`) at parameters (s, t) in 0..1.
    fn eval(&self, pi: usize, pj: usize, s: f64, t: f64) -> (f64, f64) {
        let bern = |x: f64| {
            let y = 1.0 - x;
            [y * y * y, 3.0 * x * y * y, 3.0 * x * x * y, x * x * x]
        };
        let (bs, bt) = (bern(s), bern(t));
        let (mut x, mut y) = (0.0, 0.0);
        for (k, wt) in bt.iter().enumerate() {
            for (l, ws) in bs.iter().enumerate() {
                let p = self.points[(pj * 3 + k) * self.cols + pi * 3 + l];
                x += wt * ws * p.0;
                y += wt * ws * p.1;
            }
        }
        (x, y)
    }
}

/// Draws `src` (its own frame at the origin) through the mesh and then the
/// homography `h` from the warp's bounds (as a rectangle at the origin, see
/// [`BezierMesh::bounds_size`]) to the placed quad, onto a raster covering
/// the result within `clip`.
pub fn warp_mesh(src: &Raster, mesh: &BezierMesh, h: &Homography, clip: Rect) -> Raster {
    let (pc, pr) = ((mesh.cols - 1) / 3, (mesh.rows - 1) / 3);
    // Lattice vertices: canvas position and contents coordinate.
    let n = STEPS + 1;
    let mut verts: Vec<((f64, f64), (f64, f64))> = Vec::with_capacity(pc * pr * n * n);
    let (mut x0, mut y0, mut x1, mut y1) = (
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    );
    for pj in 0..pr {
        for pi in 0..pc {
            for j in 0..n {
                for i in 0..n {
                    let (s, t) = (i as f64 / STEPS as f64, j as f64 / STEPS as f64);
                    let (bx, by) = mesh.eval(pi, pj, s, t);
                    let p = h.apply(bx, by);
                    let u = mesh.u_breaks[pi] + (mesh.u_breaks[pi + 1] - mesh.u_breaks[pi]) * s;
                    let v = mesh.v_breaks[pj] + (mesh.v_breaks[pj + 1] - mesh.v_breaks[pj]) * t;
                    if p.0.is_finite() && p.1.is_finite() {
                        x0 = x0.min(p.0);
                        y0 = y0.min(p.1);
                        x1 = x1.max(p.0);
                        y1 = y1.max(p.1);
                    }
                    verts.push((p, (u, v)));
                }
            }
        }
    }
    if !(x0.is_finite() && y0.is_finite() && x1.is_finite() && y1.is_finite()) {
        return Raster::transparent(Rect::default());
    }
    let bounds = Rect {
        left: x0.max(-1e7).floor() as i32,
        top: y0.max(-1e7).floor() as i32,
        right: x1.min(1e7).ceil() as i32,
        bottom: y1.min(1e7).ceil() as i32,
    };
    let area = bounds.intersect(&clip);
    let mut out = Raster::transparent(area);
    if area.is_empty() {
        return out;
    }
    // Contents coordinate of every sample; NaN where nothing covers it.
    let (sw, sh) = (
        area.width() as usize * SUPER,
        area.height() as usize * SUPER,
    );
    let mut uv = vec![(f32::NAN, f32::NAN); sw * sh];
    let to_sample = |p: (f64, f64)| {
        (
            (p.0 - area.left as f64) * SUPER as f64,
            (p.1 - area.top as f64) * SUPER as f64,
        )
    };
    for patch in 0..pc * pr {
        let base = patch * n * n;
        for j in 0..STEPS {
            for i in 0..STEPS {
                let a = verts[base + j * n + i];
                let b = verts[base + j * n + i + 1];
                let c = verts[base + (j + 1) * n + i + 1];
                let d = verts[base + (j + 1) * n + i];
                for tri in [[a, b, c], [a, c, d]] {
                    fill_triangle(&mut uv, sw, sh, tri.map(|(p, t)| (to_sample(p), t)));
                }
            }
        }
    }
    // Resolve: average the samples of each pixel, sampling the contents
    // bilinearly in premultiplied space.
    let (cw, ch) = (src.rect.width() as usize, src.rect.height() as usize);
    if cw == 0 || ch == 0 {
        return out;
    }
    let n2 = (SUPER * SUPER) as f32;
    for py in 0..area.height() as usize {
        for px in 0..area.width() as usize {
            let (mut c, mut a) = ([0.0f32; 4], 0.0f32);
            for sy in 0..SUPER {
                for sx in 0..SUPER {
                    let (u, v) = uv[(py * SUPER + sy) * sw + px * SUPER + sx];
                    if u.is_nan() {
                        continue;
                    }
                    let (sc, sa) = bilinear(src, cw, ch, u, v);
                    for (acc, x) in c.iter_mut().zip(sc) {
                        *acc += x;
                    }
                    a += sa;
                }
            }
            if a > 0.0 {
                let i = py * area.width() as usize + px;
                out.color[i] = c.map(|x| x / a);
                out.alpha[i] = (a / n2).min(1.0);
            }
        }
    }
    out
}

type Vertex = ((f64, f64), (f64, f64));

/// Writes the interpolated contents coordinate into every sample whose
/// centre lies in the triangle (samples already written keep their value:
/// the first surface drawn wins where a warp folds over itself).
fn fill_triangle(uv: &mut [(f32, f32)], w: usize, h: usize, t: [Vertex; 3]) {
    let [(p0, t0), (p1, t1), (p2, t2)] = t;
    let area = (p1.0 - p0.0) * (p2.1 - p0.1) - (p2.0 - p0.0) * (p1.1 - p0.1);
    if area.abs() < 1e-12 {
        return;
    }
    let minx = p0.0.min(p1.0).min(p2.0).floor().max(0.0) as usize;
    let maxx = (p0.0.max(p1.0).max(p2.0).ceil().min(w as f64)).max(0.0) as usize;
    let miny = p0.1.min(p1.1).min(p2.1).floor().max(0.0) as usize;
    let maxy = (p0.1.max(p1.1).max(p2.1).ceil().min(h as f64)).max(0.0) as usize;
    for y in miny..maxy {
        for x in minx..maxx {
            let (cx, cy) = (x as f64 + 0.5, y as f64 + 0.5);
            let w0 = ((p1.0 - cx) * (p2.1 - cy) - (p2.0 - cx) * (p1.1 - cy)) / area;
            let w1 = ((p2.0 - cx) * (p0.1 - cy) - (p0.0 - cx) * (p2.1 - cy)) / area;
            let w2 = 1.0 - w0 - w1;
            // A tiny tolerance closes pinholes on shared edges.
            if w0 < -1e-9 || w1 < -1e-9 || w2 < -1e-9 {
                continue;
            }
            let slot = &mut uv[y * w + x];
            if slot.0.is_nan() {
                *slot = (
                    (w0 * t0.0 + w1 * t1.0 + w2 * t2.0) as f32,
                    (w0 * t0.1 + w1 * t1.1 + w2 * t2.1) as f32,
                );
            }
        }
    }
}

/// Bilinear premultiplied sample at contents coordinates (u, v).
fn bilinear(src: &Raster, w: usize, h: usize, u: f32, v: f32) -> ([f32; 4], f32) {
    let fx = (u - 0.5).clamp(0.0, (w - 1) as f32);
    let fy = (v - 0.5).clamp(0.0, (h - 1) as f32);
    let (ix, iy) = (fx as usize, fy as usize);
    let (tx, ty) = (fx - ix as f32, fy - iy as f32);
    let (ix1, iy1) = ((ix + 1).min(w - 1), (iy + 1).min(h - 1));
    let mut c = [0.0f32; 4];
    let mut a = 0.0;
    for (x, y, wt) in [
        (ix, iy, (1.0 - tx) * (1.0 - ty)),
        (ix1, iy, tx * (1.0 - ty)),
        (ix, iy1, (1.0 - tx) * ty),
        (ix1, iy1, tx * ty),
    ] {
        let j = y * w + x;
        let pa = src.alpha[j] * wt;
        for (acc, s) in c.iter_mut().zip(src.color[j]) {
            *acc += s * pa;
        }
        a += pa;
    }
    (c, a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(w: f64, h: f64) -> Warp {
        let mut points = Vec::new();
        for r in 0..4 {
            for c in 0..4 {
                points.push((c as f64 * w / 3.0, r as f64 * h / 3.0));
            }
        }
        Warp {
            style: "warpCustom".into(),
            value: 0.0,
            values: vec![],
            grid: (4, 4),
            points,
            bounds: [0.0, 0.0, w, h],
            slices_x: vec![],
            slices_y: vec![],
        }
    }

    #[test]
    fn identity_mesh_reproduces_the_contents() {
        let mut src = Raster::filled(Rect::new(0, 0, 16, 16), [0.2, 0.4, 0.6, 0.0], 1.0);
        for i in 0..16 {
            src.color[i * 16 + i] = [1.0, 0.0, 0.0, 0.0];
        }
        let mesh = BezierMesh::from_warp(&grid(16.0, 16.0), 16.0, 16.0).unwrap();
        let h = Homography::from_rect_to_quad(
            16.0,
            16.0,
            &[0.0, 0.0, 16.0, 0.0, 16.0, 16.0, 0.0, 16.0],
        )
        .unwrap();
        let out = warp_mesh(&src, &mesh, &h, Rect::new(0, 0, 16, 16));
        assert_eq!(out.rect, Rect::new(0, 0, 16, 16));
        for y in 0..16 {
            for x in 0..16 {
                let i = out.index(x, y).unwrap();
                let expected = src.color[(y * 16 + x) as usize];
                assert!(
                    (out.alpha[i] - 1.0).abs() < 1e-5,
                    "alpha at {x},{y}: {}",
                    out.alpha[i]
                );
                // Bilinear sampling at exact pixel centres of an identity map
                // returns the pixel itself, up to the sub-sample spread.
                for (got, want) in out.color[i].iter().zip(expected).take(3) {
                    assert!((got - want).abs() < 0.35, "{x},{y}");
                }
            }
        }
    }

    #[test]
    fn bulging_the_middle_moves_the_centre() {
        let mut w = grid(30.0, 30.0);
        // Pull the four inner control points right by 6 px.
        for idx in [5, 6, 9, 10] {
            w.points[idx].0 += 6.0;
        }
        let mesh = BezierMesh::from_warp(&w, 30.0, 30.0).unwrap();
        // The surface centre moves by 6 * (3/4)^2 * ... : Bernstein weights of
        // the inner points at s = t = 1/2 sum to (3/4)^2 = 0.5625.
        let (x, y) = mesh.eval(0, 0, 0.5, 0.5);
        assert!((x - (15.0 + 6.0 * 0.5625)).abs() < 1e-9, "{x}");
        assert!((y - 15.0).abs() < 1e-9);
        // Corners stay put.
        assert_eq!(mesh.eval(0, 0, 0.0, 0.0), (0.0, 0.0));
        assert_eq!(mesh.eval(0, 0, 1.0, 1.0), (30.0, 30.0));
    }

    #[test]
    fn malformed_grids_are_refused() {
        let mut w = grid(10.0, 10.0);
        w.grid = (5, 4);
        assert!(BezierMesh::from_warp(&w, 10.0, 10.0).is_none());
        let mut w = grid(10.0, 10.0);
        w.points.pop();
        assert!(BezierMesh::from_warp(&w, 10.0, 10.0).is_none());
    }
}
