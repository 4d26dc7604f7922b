//! Gradients (`Grdn` descriptors): shared by gradient fills, gradient
//! overlays and gradient maps.
//!
//! Two independent parts:
//!
//! * [`Gradient`]: the colour ramp, i.e. what colour and opacity sit at a
//!   position `t` in 0..1. Built from a `Grdn` descriptor
//!   ([`Gradient::from_descriptor`]) or from binary stops (gradient maps).
//! * [`gradient_t`]: the geometry, i.e. which `t` a pixel gets for a given
//!   style (linear, radial, angle, reflected, diamond), angle, scale, offset
//!   and reference box. Gradient fills and gradient overlays share it.
//!
//! Interpolation between two stops follows Photoshop's "classic" method:
//! the stop-local position is first bent so that the segment's midpoint
//! (`Mdpn`, 5..95 % of the segment) receives the half-way value, with two
//! linear pieces on either side of the midpoint; then the smoothness
//! (`Intr`, 0..4096 = 0..100 %) blends that position towards a cubic ease
//! (`3p² - 2p³`), which flattens the ramp at every stop as Photoshop's
//! "Smoothness" does. Noise gradients (`ClNs`) are approximated by a smooth
//! ramp from the middle of their minimum to the middle of their maximum
//! colour ranges (Photoshop's random noise pattern is not reproducible).

use crate::color::{descriptor_color, ColorInfo, ColorMode};
use crate::error::{Error, Result};
use crate::psd::descriptor::Descriptor;
use crate::render::raster::{Color, Rect};

/// A colour gradient with its colour and transparency stops.
#[derive(Debug, Clone, PartialEq)]
pub struct Gradient {
    /// Colour stops: location 0..1 and working-space colour, sorted by
    /// location.
    pub stops: Vec<(f32, Color)>,
    /// Opacity stops: location 0..1 and opacity 0..1, sorted by location.
    pub alpha_stops: Vec<(f32, f32)>,
    /// Midpoint of the segment from colour stop `i` to stop `i + 1`
    /// (fraction of the segment, 0..1; 0.5 = linear). Missing entries mean
    /// 0.5. (Photoshop stores it on stop `i + 1`.)
    pub color_midpoints: Vec<f32>,
    /// Midpoint of the segment from opacity stop `i` to stop `i + 1`.
    pub alpha_midpoints: Vec<f32>,
    /// Smoothness 0..1 (`Intr` / 4096).
    pub smoothness: f32,
    /// Colour interpolation method (Photoshop 2022+).
    pub method: Interpolation,
}

/// How colours are mixed between two stops (`gradientsInterpolationMethod`
/// of the fill / effect descriptor that holds the gradient).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Interpolation {
    /// `Gcls` (and files older than the option): the stored values are
    /// mixed directly.
    #[default]
    Classic,
    /// `Lnr `: mixed in linear light (gamma 2.2 decoded), which is what
    /// Photoshop's output on the `adjustment_clipping` fixture shows.
    Linear,
    /// `Perc`: mixed in a perceptual space; approximated with Oklab-style
    /// cube-root mixing of linear light.
    Perceptual,
    /// `Smoo`: classic mixing (its smoother ease comes from `Intr`).
    Smooth,
}

impl Interpolation {
    /// Reads `gradientsInterpolationMethod` from the descriptor that holds
    /// the gradient (a `GdFl` fill, a gradient overlay or stroke effect).
    pub fn from_outer(outer: &Descriptor) -> Interpolation {
        match outer.enum_value("gradientsInterpolationMethod") {
            Some("Lnr ") => Interpolation::Linear,
            Some("Perc") => Interpolation::Perceptual,
            Some("Smoo") => Interpolation::Smooth,
            _ => Interpolation::Classic,
        }
    }
}

impl Gradient {
    /// Parses a `Grdn` gradient descriptor.
    ///
    /// Custom-stop gradients (`GrdF` = `CstS`) are read exactly; noise
    /// gradients (`ClNs`) are approximated (see the module docs). Stops whose
    /// colour is the foreground/background colour (`Type` = `FrgC`/`BckC`)
    /// still carry a stored colour, which is used.
    pub fn from_descriptor(desc: &Descriptor, info: &ColorInfo) -> Result<Gradient> {
        if desc.enum_value("GrdF") == Some("ClNs") {
            return Ok(noise_gradient(desc, info));
        }
        let smoothness = desc
            .f64("Intr")
            .map_or(1.0, |v| (v / 4096.0).clamp(0.0, 1.0)) as f32;
        let mut stops = Vec::new();
        let mut color_midpoints = Vec::new();
        for v in desc.list("Clrs").unwrap_or(&[]) {
            let Some(s) = v.as_descriptor() else { continue };
            let loc = location(s);
            let color = s
                .desc("Clr ")
                .and_then(|c| descriptor_color(c, info))
                .unwrap_or([0.0; 4]);
            stops.push((loc, color));
            color_midpoints.push(midpoint(s));
        }
        let mut alpha_stops = Vec::new();
        let mut alpha_midpoints = Vec::new();
        for v in desc.list("Trns").unwrap_or(&[]) {
            let Some(s) = v.as_descriptor() else { continue };
            let opacity = (s.f64("Opct").unwrap_or(100.0) / 100.0).clamp(0.0, 1.0) as f32;
            alpha_stops.push((location(s), opacity));
            alpha_midpoints.push(midpoint(s));
        }
        if stops.is_empty() {
            return Err(Error::invalid("gradient", "no colour stops"));
        }
        Ok(Gradient::new(
            stops,
            color_midpoints,
            alpha_stops,
            alpha_midpoints,
            smoothness,
        ))
    }

    /// Builds a gradient from stops in any order; sorts them (stably, so that
    /// coincident stops keep file order, giving a hard edge) and fills in
    /// defaults: an empty opacity list means fully opaque.
    ///
    /// `color_midpoints[i]` / `alpha_midpoints[i]` belong to stop `i` as
    /// Photoshop stores them: the midpoint (0..1) of the segment that *ends*
    /// at that stop (the first stop's value is unused).
    pub fn new(
        stops: Vec<(f32, Color)>,
        color_midpoints: Vec<f32>,
        alpha_stops: Vec<(f32, f32)>,
        alpha_midpoints: Vec<f32>,
        smoothness: f32,
    ) -> Gradient {
        let (stops, color_midpoints) = sorted(stops, color_midpoints);
        let (mut alpha_stops, mut alpha_midpoints) = sorted(alpha_stops, alpha_midpoints);
        if alpha_stops.is_empty() {
            alpha_stops = vec![(0.0, 1.0), (1.0, 1.0)];
            alpha_midpoints = vec![0.5, 0.5];
        }
        // Per stop (segment ending there) to per segment (starting there).
        let per_segment = |m: Vec<f32>| m.into_iter().skip(1).collect::<Vec<f32>>();
        Gradient {
            stops,
            alpha_stops,
            color_midpoints: per_segment(color_midpoints),
            alpha_midpoints: per_segment(alpha_midpoints),
            smoothness: smoothness.clamp(0.0, 1.0),
            method: Interpolation::Classic,
        }
    }

    /// Reverses the ramp (what `Rvrs` asks for when applied to the
    /// gradient rather than to `t`).
    pub fn reversed(&self) -> Gradient {
        let rev_stops = |stops: &[(f32, Color)], mids: &[f32]| {
            let s: Vec<_> = stops.iter().rev().map(|&(l, c)| (1.0 - l, c)).collect();
            let n = stops.len();
            // Segment i of the reversed ramp is segment n-2-i of the original,
            // seen from the other end.
            let m = (0..n)
                .map(|i| {
                    let j = n.wrapping_sub(2).wrapping_sub(i);
                    1.0 - mids.get(j).copied().unwrap_or(0.5)
                })
                .collect();
            (s, m)
        };
        let (stops, color_midpoints) = rev_stops(&self.stops, &self.color_midpoints);
        let a: Vec<_> = self
            .alpha_stops
            .iter()
            .map(|&(l, o)| (l, [o, 0.0, 0.0, 0.0]))
            .collect();
        let (a, alpha_midpoints) = rev_stops(&a, &self.alpha_midpoints);
        Gradient {
            stops,
            alpha_stops: a.into_iter().map(|(l, c)| (l, c[0])).collect(),
            color_midpoints,
            alpha_midpoints,
            smoothness: self.smoothness,
            method: self.method,
        }
    }

    /// Colour and opacity at position `t` (0..1; clamped).
    pub fn sample(&self, t: f32) -> (Color, f32) {
        let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
        let color = interpolate(
            &self.stops,
            &self.color_midpoints,
            self.smoothness,
            self.method,
            t,
        );
        let a: f32 = {
            // Reuse the colour interpolation on a one-lane "colour".
            let n = self.alpha_stops.len();
            if n == 0 {
                1.0
            } else {
                let (i, p) = segment(n, |k| self.alpha_stops[k].0, t);
                match i {
                    None => self.alpha_stops[if p < 0.5 { 0 } else { n - 1 }].1,
                    Some(i) => {
                        let m = self.alpha_midpoints.get(i).copied().unwrap_or(0.5);
                        let w = shape(p, m, self.smoothness);
                        let (a0, a1) = (self.alpha_stops[i].1, self.alpha_stops[i + 1].1);
                        a0 + (a1 - a0) * w
                    }
                }
            }
        };
        (color, a)
    }

    /// `n` evenly spaced samples over 0..1 (`n >= 2`), for per-pixel lookups
    /// without a stop search: pixel loops index `lut[(t * (n-1)) as usize]`.
    pub fn lut(&self, n: usize) -> Vec<(Color, f32)> {
        let n = n.max(2);
        (0..n)
            .map(|i| self.sample(i as f32 / (n - 1) as f32))
            .collect()
    }
}

fn location(s: &Descriptor) -> f32 {
    (s.f64("Lctn").unwrap_or(0.0) / 4096.0).clamp(0.0, 1.0) as f32
}

fn midpoint(s: &Descriptor) -> f32 {
    (s.f64("Mdpn").unwrap_or(50.0) / 100.0).clamp(0.0, 1.0) as f32
}

fn sorted<T: Copy>(stops: Vec<(f32, T)>, mids: Vec<f32>) -> (Vec<(f32, T)>, Vec<f32>) {
    let mut idx: Vec<usize> = (0..stops.len()).collect();
    idx.sort_by(|&a, &b| stops[a].0.total_cmp(&stops[b].0));
    let s = idx.iter().map(|&i| stops[i]).collect();
    let m = idx
        .iter()
        .map(|&i| mids.get(i).copied().unwrap_or(0.5))
        .collect();
    (s, m)
}

/// Finds the segment holding `t`: `(Some(i), p)` with `p` the position in
/// segment `i` (between stops `i` and `i+1`), or `(None, 0)` before the first
/// stop / `(None, 1)` after the last.
fn segment(n: usize, loc: impl Fn(usize) -> f32, t: f32) -> (Option<usize>, f32) {
    if n == 0 || t <= loc(0) {
        return (None, 0.0);
    }
    if t >= loc(n - 1) {
        return (None, 1.0);
    }
    for i in 0..n - 1 {
        let (l0, l1) = (loc(i), loc(i + 1));
        if t < l1 {
            let span = l1 - l0;
            let p = if span > 0.0 { (t - l0) / span } else { 1.0 };
            return (Some(i), p.clamp(0.0, 1.0));
        }
    }
    (None, 1.0)
}

/// Bends the stop-local position `p` by the midpoint `m` and the
/// smoothness `s` (see the module docs).
#[inline]
pub fn shape(p: f32, m: f32, s: f32) -> f32 {
    let m = m.clamp(0.001, 0.999);
    let q = if p <= m {
        0.5 * p / m
    } else {
        0.5 + 0.5 * (p - m) / (1.0 - m)
    };
    let eased = q * q * (3.0 - 2.0 * q);
    q + (eased - q) * s
}

fn interpolate(
    stops: &[(f32, Color)],
    mids: &[f32],
    smooth: f32,
    method: Interpolation,
    t: f32,
) -> Color {
    let n = stops.len();
    if n == 0 {
        return [0.0; 4];
    }
    let (i, p) = segment(n, |k| stops[k].0, t);
    match i {
        None => stops[if p < 0.5 { 0 } else { n - 1 }].1,
        Some(i) => {
            let w = shape(p, mids.get(i).copied().unwrap_or(0.5), smooth);
            let (c0, c1) = (stops[i].1, stops[i + 1].1);
            let mut c = [0.0; 4];
            match method {
                Interpolation::Classic | Interpolation::Smooth => {
                    for k in 0..4 {
                        c[k] = c0[k] + (c1[k] - c0[k]) * w;
                    }
                }
                Interpolation::Linear => {
                    for k in 0..4 {
                        let (a, b) = (c0[k].max(0.0).powf(2.2), c1[k].max(0.0).powf(2.2));
                        c[k] = (a + (b - a) * w).powf(1.0 / 2.2);
                    }
                }
                Interpolation::Perceptual => {
                    for k in 0..4 {
                        let (a, b) = (
                            c0[k].max(0.0).powf(2.2 / 3.0),
                            c1[k].max(0.0).powf(2.2 / 3.0),
                        );
                        c[k] = (a + (b - a) * w).powf(3.0 / 2.2);
                    }
                }
            }
            c
        }
    }
}

/// Approximates a noise gradient: the mean of each channel's min/max range
/// at both ends, so at least the overall tone is right.
fn noise_gradient(desc: &Descriptor, info: &ColorInfo) -> Gradient {
    let range = |key: &str| -> Vec<f32> {
        desc.list(key)
            .unwrap_or(&[])
            .iter()
            .filter_map(|v| v.as_f64())
            .map(|v| (v / 100.0).clamp(0.0, 1.0) as f32)
            .collect()
    };
    let (lo, hi) = (range("Mnm "), range("Mxm "));
    let mid =
        |k: usize| (lo.get(k).copied().unwrap_or(0.0) + hi.get(k).copied().unwrap_or(1.0)) * 0.5;
    // The ranges are in the gradient's own model (`ClrS`, RGB by default).
    let c = match info.mode {
        Some(ColorMode::Cmyk) => [1.0 - mid(0), 1.0 - mid(1), 1.0 - mid(2), 1.0],
        Some(ColorMode::Grayscale) | Some(ColorMode::Duotone) | Some(ColorMode::Bitmap) => {
            let g = 0.3 * mid(1) + 0.59 * mid(2) + 0.11 * mid(3);
            [g, g, g, 0.0]
        }
        _ => [mid(1), mid(2), mid(3), 0.0],
    };
    Gradient::new(
        vec![(0.0, c), (1.0, c)],
        vec![0.5],
        Vec::new(),
        Vec::new(),
        1.0,
    )
}

/// The shape of a gradient fill or overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GradientStyle {
    /// `Lnr `: along the angle.
    Linear,
    /// `Rdl `: by distance from the centre.
    Radial,
    /// `Angl`: by direction from the centre, sweeping a full turn.
    Angle,
    /// `Rflc`: linear, mirrored about the centre.
    Reflected,
    /// `Dmnd`: by the L1 distance in the rotated frame.
    Diamond,
}

impl GradientStyle {
    /// From the `Type` enum value of a gradient fill / overlay.
    pub fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "Lnr " => GradientStyle::Linear,
            "Rdl " => GradientStyle::Radial,
            "Angl" => GradientStyle::Angle,
            "Rflc" => GradientStyle::Reflected,
            "Dmnd" => GradientStyle::Diamond,
            _ => return None,
        })
    }
}

/// Placement of a gradient ramp over a reference box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradientGeometry {
    /// Shape.
    pub style: GradientStyle,
    /// Angle in degrees, counter-clockwise from pointing right (y up).
    pub angle_deg: f32,
    /// Scale, 1 = 100 %.
    pub scale: f32,
    /// `Rvrs`: t becomes 1 - t.
    pub reverse: bool,
    /// Offset of the centre from the box centre in pixels (`Ofst` is in
    /// percent of the box size: `Hrzn / 100 * width`, `Vrtc / 100 * height`).
    pub offset: (f32, f32),
}

impl GradientGeometry {
    /// Reads `Type`, `Angl`, `Scl `, `Rvrs`, `Ofst` from a gradient fill or
    /// gradient overlay descriptor; `box_size` converts the percent offset.
    pub fn from_descriptor(desc: &Descriptor, box_size: (f32, f32)) -> GradientGeometry {
        let style = desc
            .enum_value("Type")
            .and_then(GradientStyle::from_code)
            .unwrap_or(GradientStyle::Linear);
        let offset = desc.desc("Ofst").map_or((0.0, 0.0), |o| {
            (
                (o.f64("Hrzn").unwrap_or(0.0) / 100.0) as f32 * box_size.0,
                (o.f64("Vrtc").unwrap_or(0.0) / 100.0) as f32 * box_size.1,
            )
        });
        GradientGeometry {
            style,
            angle_deg: desc.f64("Angl").unwrap_or(90.0) as f32,
            scale: (desc.f64("Scl ").unwrap_or(100.0) / 100.0) as f32,
            reverse: desc.bool("Rvrs").unwrap_or(false),
            offset,
        }
    }
}

/// Precomputed per-geometry constants for [`gradient_t`] in pixel loops.
#[derive(Debug, Clone, Copy)]
pub struct GradientFrame {
    style: GradientStyle,
    cx: f32,
    cy: f32,
    /// Unit direction (x right, y down).
    ux: f32,
    uy: f32,
    /// 1 / half-length of the ramp.
    inv_half: f32,
    angle_deg: f32,
    reverse: bool,
}

impl GradientFrame {
    /// Precomputes the frame for `geom` over `bbox` (the layer bounds when
    /// "align with layer" is on, else the canvas).
    ///
    /// Ramp length: the length of the line through the box centre along
    /// the gradient direction, from box edge to box edge
    /// (`min(w / |cos a|, h / |sin a|)`), times the scale. Fitted on
    /// Photoshop's output: a 150-degree ramp on a 64 px square
    /// (`rgb-blend-modes.psd`) and a vertical one (`adjustment_clipping`).
    /// Radial and diamond shapes use half of it as the radius.
    ///
    /// The end of the ramp (where the direction line leaves the box) is
    /// floored to a whole pixel relative to the box corner before the
    /// direction and length are derived from it: Photoshop's composite of a
    /// reflected 30-degree ramp on a 4 px square (`4x4_16bit_lab.psd`,
    /// `4x4_8bit_duotone.psd`) is symmetric about the diagonal, i.e. runs at
    /// 45 degrees to the snapped corner. On large boxes the snap is a
    /// sub-pixel change.
    pub fn new(geom: &GradientGeometry, bbox: Rect) -> GradientFrame {
        GradientFrame::from_bounds(
            geom,
            [
                bbox.left as f32,
                bbox.top as f32,
                bbox.right as f32,
                bbox.bottom as f32,
            ],
        )
    }

    /// [`GradientFrame::new`] over a fractional box `[left, top, right,
    /// bottom]` (e.g. a vector mask's path bounds).
    pub fn from_bounds(geom: &GradientGeometry, b: [f32; 4]) -> GradientFrame {
        let w = (b[2] - b[0]).max(0.0);
        let h = (b[3] - b[1]).max(0.0);
        let a = geom.angle_deg.to_radians();
        let (s, c) = a.sin_cos();
        // Length of the line through the box centre along the gradient
        // direction, edge to edge.
        let along = match (c.abs() > 1e-6, s.abs() > 1e-6) {
            (true, true) => (w / c.abs()).min(h / s.abs()),
            (true, false) => w,
            _ => h,
        };
        let along = along.max(1.0);
        // Photoshop lands the ramp's end on a whole pixel: the point where
        // the direction line leaves the box, taken relative to the box's
        // top-left corner, is floored before the angle and length are
        // derived from it (scale and offset apply afterwards, unsnapped).
        let (hx, hy) = (w * 0.5, h * 0.5);
        let ex = (hx + 0.5 * along * c + 1e-3).floor() - hx;
        let ey = (hy - 0.5 * along * s + 1e-3).floor() - hy;
        let half = (ex * ex + ey * ey).sqrt();
        let (ux, uy, half) = if half > 0.5 {
            (ex / half, ey / half, half)
        } else {
            (c, -s, 0.5 * along)
        };
        let half = half * geom.scale.max(1e-3);
        GradientFrame {
            style: geom.style,
            cx: b[0] + w * 0.5 + geom.offset.0,
            cy: b[1] + h * 0.5 + geom.offset.1,
            ux,
            uy,
            inv_half: 1.0 / half,
            angle_deg: geom.angle_deg,
            reverse: geom.reverse,
        }
    }

    /// Ramp position of the pixel whose centre is at `(x, y)` (canvas
    /// coordinates, pass `px + 0.5`), 0..1.
    #[inline]
    pub fn t(&self, x: f32, y: f32) -> f32 {
        let dx = (x - self.cx) * self.inv_half;
        let dy = (y - self.cy) * self.inv_half;
        // Coordinates along (u) and across (v) the gradient direction.
        let u = dx * self.ux + dy * self.uy;
        let v = -dx * self.uy + dy * self.ux;
        let t = match self.style {
            GradientStyle::Linear => 0.5 * (u + 1.0),
            GradientStyle::Radial => (u * u + v * v).sqrt(),
            GradientStyle::Reflected => u.abs(),
            GradientStyle::Diamond => u.abs() + v.abs(),
            GradientStyle::Angle => {
                // Sweeps clockwise on screen starting at the gradient angle.
                let deg = (-dy).atan2(dx).to_degrees();
                (self.angle_deg - deg).rem_euclid(360.0) / 360.0
            }
        };
        let t = t.clamp(0.0, 1.0);
        if self.reverse {
            1.0 - t
        } else {
            t
        }
    }
}

/// Ramp position 0..1 of the pixel centre `(x, y)` for a gradient placed by
/// `geom` over `bbox`. Convenience form of [`GradientFrame`]; loops should
/// build the frame once instead.
pub fn gradient_t(geom: &GradientGeometry, x: f32, y: f32, bbox: Rect) -> f32 {
    GradientFrame::new(geom, bbox).t(x, y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bw() -> Gradient {
        Gradient::new(
            vec![(0.0, [0.0; 4]), (1.0, [1.0, 1.0, 1.0, 0.0])],
            vec![0.5, 0.5],
            vec![],
            vec![],
            0.0,
        )
    }

    #[test]
    fn samples_at_stops_and_linear_midpoint() {
        let g = bw();
        assert_eq!(g.sample(0.0).0[0], 0.0);
        assert_eq!(g.sample(1.0).0[0], 1.0);
        assert!((g.sample(0.25).0[0] - 0.25).abs() < 1e-6);
        assert_eq!(g.sample(0.3).1, 1.0);
    }

    #[test]
    fn midpoint_moves_half_value() {
        let mut g = bw();
        g.color_midpoints = vec![0.25];
        // At the midpoint the value is half-way.
        assert!((g.sample(0.25).0[0] - 0.5).abs() < 1e-6);
        // Before it: linear from 0 to 0.5 over 0..0.25.
        assert!((g.sample(0.125).0[0] - 0.25).abs() < 1e-6);
        // After it: linear from 0.5 to 1 over 0.25..1.
        assert!((g.sample(0.625).0[0] - 0.75).abs() < 1e-6);
    }

    #[test]
    fn smoothness_eases_but_keeps_midpoint() {
        let mut g = bw();
        g.smoothness = 1.0;
        assert!((g.sample(0.5).0[0] - 0.5).abs() < 1e-6);
        // 3p²-2p³ at 0.25 = 0.15625.
        assert!((g.sample(0.25).0[0] - 0.15625).abs() < 1e-6);
    }

    #[test]
    fn opacity_stops_and_outside_range() {
        let g = Gradient::new(
            vec![(0.2, [1.0, 0.0, 0.0, 0.0]), (0.8, [0.0, 0.0, 1.0, 0.0])],
            vec![0.5],
            vec![(0.0, 0.0), (1.0, 1.0)],
            vec![0.5],
            0.0,
        );
        // Before the first colour stop the first colour holds.
        assert_eq!(g.sample(0.1).0, [1.0, 0.0, 0.0, 0.0]);
        assert_eq!(g.sample(0.9).0, [0.0, 0.0, 1.0, 0.0]);
        assert!((g.sample(0.5).0[0] - 0.5).abs() < 1e-6);
        assert!((g.sample(0.3).1 - 0.3).abs() < 1e-6);
    }

    #[test]
    fn reversed_swaps_ends() {
        let mut g = bw();
        g.color_midpoints = vec![0.25];
        let r = g.reversed();
        assert_eq!(r.sample(0.0).0[0], 1.0);
        // Original value at 0.25 (0.5) is now at 0.75.
        assert!((r.sample(0.75).0[0] - 0.5).abs() < 1e-6);
    }

    fn geom(style: GradientStyle, angle: f32) -> GradientGeometry {
        GradientGeometry {
            style,
            angle_deg: angle,
            scale: 1.0,
            reverse: false,
            offset: (0.0, 0.0),
        }
    }

    #[test]
    fn linear_geometry() {
        let b = Rect::new(0, 0, 100, 50);
        let g = geom(GradientStyle::Linear, 0.0);
        assert!((gradient_t(&g, 0.0, 25.0, b) - 0.0).abs() < 1e-5);
        assert!((gradient_t(&g, 50.0, 10.0, b) - 0.5).abs() < 1e-5);
        assert!((gradient_t(&g, 75.0, 25.0, b) - 0.75).abs() < 1e-5);
        // 90 degrees points up: the bottom is t = 0, the top t = 1.
        let g = geom(GradientStyle::Linear, 90.0);
        assert!((gradient_t(&g, 10.0, 50.0, b) - 0.0).abs() < 1e-5);
        assert!((gradient_t(&g, 10.0, 0.0, b) - 1.0).abs() < 1e-5);
        let mut r = g;
        r.reverse = true;
        assert!((gradient_t(&r, 10.0, 0.0, b) - 0.0).abs() < 1e-5);
    }

    #[test]
    fn radial_reflected_diamond_angle_geometry() {
        let b = Rect::new(0, 0, 100, 100);
        let g = geom(GradientStyle::Radial, 0.0);
        assert!(gradient_t(&g, 50.0, 50.0, b).abs() < 1e-5);
        assert!((gradient_t(&g, 50.0, 25.0, b) - 0.5).abs() < 1e-5);
        assert!((gradient_t(&g, 100.0, 50.0, b) - 1.0).abs() < 1e-5);
        let g = geom(GradientStyle::Reflected, 0.0);
        assert!((gradient_t(&g, 25.0, 0.0, b) - 0.5).abs() < 1e-5);
        assert!((gradient_t(&g, 75.0, 99.0, b) - 0.5).abs() < 1e-5);
        let g = geom(GradientStyle::Diamond, 0.0);
        assert!((gradient_t(&g, 62.5, 62.5, b) - 0.5).abs() < 1e-5);
        let g = geom(GradientStyle::Angle, 0.0);
        // Straight up from the centre is a quarter turn clockwise from... the
        // sweep: right = 0, up = 0.75 (clockwise sweep), down = 0.25.
        assert!((gradient_t(&g, 50.0, 80.0, b) - 0.25).abs() < 1e-5);
        assert!((gradient_t(&g, 50.0, 20.0, b) - 0.75).abs() < 1e-5);
    }

    /// Photoshop's stored composite of `4x4_16bit_lab.psd` (a reflected
    /// ramp at 30 degrees on a 4 x 4 canvas): t = 0 along the whole main
    /// diagonal and t = |x - y| / 4 elsewhere (L* 48, 87, 138, 199 of 255
    /// for stops at 0, 0.5, 1), as if the ramp ran at 45 degrees to the
    /// corner pixel (4, 0) that the 30-degree line's exit (4, 0.85) floors to.
    #[test]
    fn small_box_snaps_ramp_end_to_a_pixel() {
        let b = Rect::new(0, 0, 4, 4);
        let g = geom(GradientStyle::Reflected, 30.0);
        for y in 0..4 {
            for x in 0..4 {
                let want = (x as f32 - y as f32).abs() / 4.0;
                let got = gradient_t(&g, x as f32 + 0.5, y as f32 + 0.5, b);
                assert!((got - want).abs() < 1e-4, "({x}, {y}): {got} vs {want}");
            }
        }
    }

    #[test]
    fn offset_and_scale() {
        let b = Rect::new(0, 0, 100, 100);
        let mut g = geom(GradientStyle::Linear, 0.0);
        g.offset = (10.0, 0.0);
        assert!((gradient_t(&g, 60.0, 0.0, b) - 0.5).abs() < 1e-5);
        g.offset = (0.0, 0.0);
        g.scale = 0.5;
        // Half-length ramp: spans 25..75.
        assert!((gradient_t(&g, 25.0, 0.0, b) - 0.0).abs() < 1e-5);
        assert!((gradient_t(&g, 62.5, 0.0, b) - 0.75).abs() < 1e-5);
    }
}
