//! Rendering a layer with its effects.
//!
//! Model (Photoshop's, with "Blend Interior Effects as Group" off):
//!
//! * `E0` = the backdrop with the drop shadows, then the outer glows, each
//!   blended with its own mode and opacity.
//! * `I` = `E0` (but without the drop shadows the layer knocks out, the
//!   default) with the layer's colour blended over it at full coverage
//!   (layer mode, fill opacity), then the interior effects in stacking order
//!   (pattern, gradient and colour overlays, satin, inner glow, inner shadow,
//!   the inside part of the stroke, bevel).
//! * `E` = `E0` with the outside part of the stroke (which reaches under the
//!   layer's edge, so that anti-aliased edge pixels mix stroke and layer).
//! * The layer result is `lerp(E, I, alpha)` per pixel (premultiplied), where
//!   `alpha` is the layer's shape coverage: interior effects follow the shape
//!   exactly, whatever the fill opacity.
//! * The result replaces the backdrop at the layer's opacity
//!   (`lerp(backdrop, result, opacity)`), which equals blending each part
//!   with its alpha scaled by the opacity.
//!
//! Blurs: Photoshop's effect "size" behaves like a Gaussian of standard
//! deviation `SIGMA_PER_SIZE * size` (fitted on the drop shadow and the
//! outer glow of psd-tools' layer_effects.psd, size 41, and checked on
//! ag-psd's effects.psd, size 5: RMS residual 0.6% of full coverage).
//! Spread / choke grow / shrink the shape by `spread * size` pixels and blur
//! by the rest of the size. Glows then divide by their range (`Inpr`) before
//! the contour: at the default 50% the glow is twice the blurred shape,
//! clamped (same fit).

use super::blur::{gaussian_blur, reach};
use super::distance::signed_distance;
use super::{Contour, Effects, Glow, GradientStyle, PatternStyle, Shadow, StrokeFill};
use crate::psd::descriptor::Descriptor;
use crate::render::blend::{composite_span, BlendMode};
use crate::render::gradient::Gradient;
use crate::render::raster::{Color, Raster, Rect};
use crate::render::Context;

/// Gaussian standard deviation per pixel of effect size.
const SIGMA_PER_SIZE: f32 = 0.43;

/// How the layer itself blends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerBlend {
    /// Layer blend mode.
    pub mode: BlendMode,
    /// Layer opacity 0..1.
    pub opacity: f32,
    /// Fill opacity 0..1.
    pub fill: f32,
}

/// A coverage plane over a rectangle; 0 outside.
struct Mask {
    rect: Rect,
    w: usize,
    data: Vec<f32>,
}

impl Mask {
    fn new(rect: Rect, data: Vec<f32>) -> Self {
        Mask {
            rect,
            w: rect.width() as usize,
            data,
        }
    }

    #[inline]
    fn at(&self, x: i32, y: i32) -> f32 {
        let r = &self.rect;
        if x < r.left || y < r.top || x >= r.right || y >= r.bottom {
            return 0.0;
        }
        self.data[(y - r.top) as usize * self.w + (x - r.left) as usize]
    }

    /// Bilinear sample at canvas position (x, y) in pixel-centre units.
    #[inline]
    fn sample(&self, x: f32, y: f32) -> f32 {
        let x0 = x.floor();
        let y0 = y.floor();
        let tx = x - x0;
        let ty = y - y0;
        let (xi, yi) = (x0 as i32, y0 as i32);
        let a = self.at(xi, yi) * (1.0 - tx) + self.at(xi + 1, yi) * tx;
        let b = self.at(xi, yi + 1) * (1.0 - tx) + self.at(xi + 1, yi + 1) * tx;
        a * (1.0 - ty) + b * ty
    }
}

/// Per-layer working state: the shape and the lazily computed distances.
struct Shape<'a> {
    /// Plane rectangle (the working rect grown by the effects' reach).
    rect: Rect,
    w: usize,
    h: usize,
    /// Content alpha over `rect`.
    alpha: Vec<f32>,
    /// Signed distance to the alpha edge, computed on first use.
    sd: Option<Vec<f32>>,
    content: &'a Raster,
}

impl Shape<'_> {
    fn sd(&mut self) -> &[f32] {
        if self.sd.is_none() {
            self.sd = Some(signed_distance(&self.alpha, self.w, self.h));
        }
        self.sd.as_deref().unwrap_or(&[])
    }

    /// Shape grown (`by > 0`) or shrunk (`by < 0`) by `by` pixels,
    /// anti-aliased.
    fn offset_shape(&mut self, by: f32) -> Vec<f32> {
        if by.abs() < 1e-3 {
            return self.alpha.clone();
        }
        self.sd()
            .iter()
            .map(|&d| (d + by + 0.5).clamp(0.0, 1.0))
            .collect()
    }

    /// The shape grown by `spread` pixels and blurred by `size` (Photoshop
    /// spread / size semantics).
    fn blurred(&mut self, grow: f32, size: f32) -> Mask {
        let mut data = self.offset_shape(grow);
        gaussian_blur(&mut data, self.w, self.h, size * SIGMA_PER_SIZE);
        Mask::new(self.rect, data)
    }
}

/// Offset (dx, dy) of a light at `angle` degrees and `distance` pixels: the
/// shadow moves away from the light (y points down).
fn light_offset(angle: f32, distance: f32) -> (f32, f32) {
    let a = angle.to_radians();
    (-a.cos() * distance, a.sin() * distance)
}

/// Resolves a descriptor colour, black when unreadable.
fn color_of(desc: &Descriptor, ctx: &Context<'_>) -> Color {
    crate::color::descriptor_color(desc, ctx.info).unwrap_or([0.0; 4])
}

/// Composites paint onto `target` over `area` (inside `target.rect`): each
/// row's colours come from `color(y, x0, row)` and coverage from
/// `mask(y, x0, row)`.
fn paint(
    target: &mut Raster,
    area: Rect,
    mode: BlendMode,
    opacity: f32,
    mut color: impl FnMut(i32, i32, &mut [Color]),
    mut mask: impl FnMut(i32, i32, &mut [f32]),
) {
    let area = area.intersect(&target.rect);
    if area.is_empty() || opacity <= 0.0 {
        return;
    }
    let n = area.width() as usize;
    let mut crow = vec![[0f32; 4]; n];
    let mut mrow = vec![0f32; n];
    for y in area.top..area.bottom {
        mask(y, area.left, &mut mrow);
        if mrow.iter().all(|&m| m <= 0.0) {
            continue;
        }
        color(y, area.left, &mut crow);
        let (dc, da) = target.span_mut(y, area.left, area.right);
        composite_span(mode, dc, da, &crow, &mrow, opacity, 1.0, None, area.left, y);
    }
}

/// A constant-colour row filler.
fn solid(c: Color) -> impl FnMut(i32, i32, &mut [Color]) {
    move |_, _, row: &mut [Color]| row.iter_mut().for_each(|p| *p = c)
}

/// Composites `content` with its effects onto `dst`. Returns the names of
/// effects it could not render, for warnings. Satin and bevel & emboss are
/// rendered as approximations and not reported.
pub fn composite_with_effects(
    dst: &mut Raster,
    content: &Raster,
    blend: LayerBlend,
    effects: &Effects,
    ctx: &Context<'_>,
) -> Vec<&'static str> {
    let mut missing: Vec<&'static str> = effects.unsupported.clone();
    if effects.is_empty() {
        crate::render::composite_raster(dst, content, blend.mode, blend.opacity, blend.fill);
        return missing;
    }
    // How far outside the content the effects reach.
    let blur_reach = |size: f32| reach(size * SIGMA_PER_SIZE) as f32 + 1.0;
    let mut ext = 0f32;
    for s in &effects.drop_shadows {
        ext = ext.max(s.distance.abs() + s.spread * s.size + blur_reach(s.size));
    }
    for g in &effects.outer_glows {
        ext = ext.max(g.spread * g.size + blur_reach(g.size));
    }
    for s in &effects.strokes {
        ext = ext.max(s.size + 2.0);
    }
    for b in &effects.bevels {
        ext = ext.max(b.size + blur_reach(b.soften) + 2.0);
    }
    // Interior effects pull shape data from around the content too.
    let mut int_ext = 0f32;
    for s in &effects.inner_shadows {
        int_ext = int_ext.max(s.distance.abs() + s.spread * s.size + blur_reach(s.size));
    }
    for g in &effects.inner_glows {
        int_ext = int_ext.max(g.spread * g.size + blur_reach(g.size));
    }
    for s in &effects.satins {
        int_ext = int_ext.max(s.distance.abs() + blur_reach(s.size));
    }
    let ext = ext.min(30_000.0).ceil() as i32;
    let int_ext = int_ext.min(30_000.0).ceil() as i32;
    let work = content.rect.inflate(ext).intersect(&dst.rect);
    let plane = content
        .rect
        .inflate(ext.max(int_ext))
        .intersect(&work.inflate(ext.max(int_ext)));
    if work.is_empty() || plane.is_empty() {
        return missing;
    }
    if plane.area() > ctx.limits.max_layer_pixels || work.area() > ctx.limits.max_layer_pixels {
        crate::render::composite_raster(dst, content, blend.mode, blend.opacity, blend.fill);
        missing.extend(effects.enabled.iter().copied());
        return missing;
    }

    let (pw, ph) = (plane.width() as usize, plane.height() as usize);
    let mut alpha = vec![0f32; pw * ph];
    let ci = content.rect.intersect(&plane);
    for y in ci.top..ci.bottom {
        let (_, src) = content.span(y, ci.left, ci.right);
        let start = (y - plane.top) as usize * pw + (ci.left - plane.left) as usize;
        alpha[start..start + src.len()].copy_from_slice(src);
    }
    let mut shape = Shape {
        rect: plane,
        w: pw,
        h: ph,
        alpha,
        sd: None,
        content,
    };
    let shape_mask = Mask::new(plane, shape.alpha.clone());

    // E0: backdrop plus the effects below the layer.
    let mut e0 = Raster::transparent(work);
    for y in work.top..work.bottom {
        let (sc, sa) = dst.span(y, work.left, work.right);
        let (dc, da) = e0.span_mut(y, work.left, work.right);
        dc.copy_from_slice(sc);
        da.copy_from_slice(sa);
    }
    // "Layer knocks out drop shadow": the interior is built on the backdrop
    // as it was before the knocked-out shadows, so they show only where the
    // layer does not cover (and through partial coverage exactly once).
    let mut i0: Option<Raster> = None;
    for s in effects.drop_shadows.iter().rev() {
        if s.knockout && i0.is_none() {
            i0 = Some(e0.clone());
        }
        let targets: [Option<&mut Raster>; 2] =
            [Some(&mut e0), if s.knockout { None } else { i0.as_mut() }];
        drop_shadow(targets, &mut shape, s, effects, ctx);
    }
    for g in effects.outer_glows.iter().rev() {
        outer_glow(
            [Some(&mut e0), i0.as_mut()],
            &mut shape,
            g,
            ctx,
            &mut missing,
        );
    }

    // I: the layer's colour over E0, then the interior effects.
    let inner = content.rect.intersect(&work);
    let mut int = i0.unwrap_or_else(|| e0.clone());
    if !inner.is_empty() {
        let ones = vec![1f32; inner.width() as usize];
        for y in inner.top..inner.bottom {
            let (sc, _) = content.span(y, inner.left, inner.right);
            let (dc, da) = int.span_mut(y, inner.left, inner.right);
            composite_span(
                blend.mode, dc, da, sc, &ones, 1.0, blend.fill, None, inner.left, y,
            );
        }
    }
    for p in effects.pattern_overlays.iter().rev() {
        match find_pattern(ctx, &p.pattern) {
            Some(tile) => paint(
                &mut int,
                inner,
                p.mode,
                p.opacity,
                pattern_colors(tile, &p.pattern),
                pattern_alpha(tile, &p.pattern, |_, _| 1.0),
            ),
            None => missing.push("pattern overlay (pattern not found)"),
        }
    }
    for g in effects.gradient_overlays.iter().rev() {
        match GradientPainter::new(&g.style, content.rect, ctx) {
            Some(gp) => {
                let gp2 = gp.clone();
                paint(
                    &mut int,
                    inner,
                    g.mode,
                    g.opacity,
                    move |y, x0, row| gp.colors(y, x0, row),
                    move |y, x0, row| gp2.alphas(y, x0, row),
                )
            }
            None => missing.push("gradient overlay (bad gradient)"),
        }
    }
    for c in effects.color_overlays.iter().rev() {
        let col = color_of(&c.color, ctx);
        paint(&mut int, inner, c.mode, c.opacity, solid(col), |_, _, m| {
            m.iter_mut().for_each(|v| *v = 1.0)
        });
    }
    for s in effects.satins.iter().rev() {
        let b = shape.blurred(0.0, s.size);
        let (dx, dy) = light_offset(s.angle, s.distance);
        let contour = (!s.contour.is_linear()).then_some(&s.contour);
        let col = color_of(&s.color, ctx);
        let invert = s.invert;
        paint(
            &mut int,
            inner,
            s.mode,
            s.opacity,
            solid(col),
            |y, x0, m| {
                for (i, v) in m.iter_mut().enumerate() {
                    let (x, yf) = ((x0 + i as i32) as f32, y as f32);
                    let d = (b.sample(x - dx, yf - dy) - b.sample(x + dx, yf + dy)).abs();
                    let d = if invert { 1.0 - d } else { d };
                    *v = contour.map_or(d, |c| c.apply(d));
                }
            },
        );
    }
    for g in effects.inner_glows.iter().rev() {
        let Some(cd) = &g.color else {
            missing.push("inner glow (gradient)");
            continue;
        };
        let col = color_of(cd, ctx);
        let b = shape.blurred(-g.spread * g.size, g.size * (1.0 - g.spread));
        let from_center = g.from_center;
        paint(
            &mut int,
            inner,
            g.mode,
            g.opacity,
            solid(col),
            |y, x0, m| {
                for (i, v) in m.iter_mut().enumerate() {
                    let raw = b.at(x0 + i as i32, y);
                    let raw = if from_center { raw } else { 1.0 - raw };
                    *v = glow_curve(g, raw);
                }
            },
        );
    }
    for s in effects.inner_shadows.iter().rev() {
        let angle = if s.use_global_light {
            effects.global_angle
        } else {
            s.angle
        };
        let (dx, dy) = light_offset(angle, s.distance);
        let b = shape.blurred(-s.spread * s.size, s.size * (1.0 - s.spread));
        let col = color_of(&s.color, ctx);
        let contour = (!s.contour.is_linear()).then_some(&s.contour);
        paint(
            &mut int,
            inner,
            s.mode,
            s.opacity,
            solid(col),
            |y, x0, m| {
                for (i, v) in m.iter_mut().enumerate() {
                    let raw = 1.0 - b.sample((x0 + i as i32) as f32 - dx, y as f32 - dy);
                    *v = contour.map_or(raw, |c| c.apply(raw));
                }
            },
        );
    }

    // Strokes: inside parts into I, outside parts into E.
    for s in effects.strokes.iter().rev() {
        let (w_in, w_out) = match s.position {
            super::StrokePosition::Inside => (s.size, 0.0),
            super::StrokePosition::Outside => (0.0, s.size),
            super::StrokePosition::Center => (s.size / 2.0, s.size / 2.0),
        };
        let sd = Mask::new(plane, shape.sd().to_vec());
        let (color, pattern): (Option<Box<dyn FnMut(i32, i32, &mut [Color])>>, _) = match &s.fill {
            StrokeFill::Color(c) => (Some(Box::new(solid(color_of(c, ctx)))), None),
            StrokeFill::Gradient(g) => match GradientPainter::new(g, content.rect, ctx) {
                Some(gp) => (
                    Some(Box::new(move |y, x0, row: &mut [Color]| {
                        gp.colors(y, x0, row)
                    })),
                    None,
                ),
                None => (None, None),
            },
            StrokeFill::Pattern(p) => match find_pattern(ctx, p) {
                Some(tile) => (Some(Box::new(pattern_colors(tile, p))), Some((tile, p))),
                None => (None, None),
            },
        };
        let Some(mut color) = color else {
            missing.push("stroke (paint not found)");
            continue;
        };
        let paint_alpha = |y: i32, x: i32| -> f32 {
            match pattern {
                Some((tile, p)) => pattern_alpha_at(tile, p, x, y),
                None => 1.0,
            }
        };
        if w_in > 0.0 {
            paint(
                &mut int,
                inner,
                s.mode,
                s.opacity,
                &mut color,
                |y, x0, m| {
                    for (i, v) in m.iter_mut().enumerate() {
                        let x = x0 + i as i32;
                        let d = sd.at(x, y);
                        *v = (w_in - d + 0.5).clamp(0.0, 1.0) * paint_alpha(y, x);
                    }
                },
            );
        }
        if w_out > 0.0 {
            paint(&mut e0, work, s.mode, s.opacity, &mut color, |y, x0, m| {
                for (i, v) in m.iter_mut().enumerate() {
                    let x = x0 + i as i32;
                    // Inside the shape sd is large: the band reaches under the
                    // layer; outside pixels of the plane's rect are far away.
                    let d = if plane.intersect(&Rect::new(x, y, 1, 1)).is_empty() {
                        -1e9
                    } else {
                        sd.at(x, y)
                    };
                    *v = (d + w_out + 0.5).clamp(0.0, 1.0) * paint_alpha(y, x);
                }
            });
        }
    }

    for b in effects.bevels.iter().rev() {
        let (hi, lo) = bevel_masks(&mut shape, b, effects);
        // An inner bevel lives inside the shape, an outer one outside; the
        // embosses straddle the edge.
        let (to_int, to_ext) = match b.style.as_str() {
            "OtrB" => (false, true),
            "Embs" | "PlEb" => (true, true),
            _ => (true, false),
        };
        let targets = [to_int.then_some(&mut int), to_ext.then_some(&mut e0)];
        for target in targets.into_iter().flatten() {
            let area = target.rect;
            let (hm, hc, ho) = &b.highlight;
            paint(
                target,
                area,
                *hm,
                *ho,
                solid(color_of(hc, ctx)),
                |y, x0, m| {
                    m.iter_mut()
                        .enumerate()
                        .for_each(|(i, v)| *v = hi.at(x0 + i as i32, y))
                },
            );
            let (sm, sc, so) = &b.shadow;
            paint(
                target,
                area,
                *sm,
                *so,
                solid(color_of(sc, ctx)),
                |y, x0, m| {
                    m.iter_mut()
                        .enumerate()
                        .for_each(|(i, v)| *v = lo.at(x0 + i as i32, y))
                },
            );
        }
    }

    // Final: lerp(E, I, alpha), then lerp(backdrop, that, opacity).
    let e = &e0;
    let op = blend.opacity.clamp(0.0, 1.0);
    for y in work.top..work.bottom {
        let (ec, ea) = e.span(y, work.left, work.right);
        let (ic, ia) = int.span(y, work.left, work.right);
        let (dc, da) = dst.span_mut(y, work.left, work.right);
        for i in 0..dc.len() {
            let x = work.left + i as i32;
            let a = shape_mask.at(x, y).clamp(0.0, 1.0);
            let fa = ea[i] + (ia[i] - ea[i]) * a;
            let ba = da[i];
            let oa = ba + (fa - ba) * op;
            if oa <= 1e-7 {
                dc[i] = [0.0; 4];
                da[i] = 0.0;
                continue;
            }
            for k in 0..4 {
                let f = ec[i][k] * ea[i] * (1.0 - a) + ic[i][k] * ia[i] * a;
                let b = dc[i][k] * ba;
                dc[i][k] = (b + (f - b) * op) / oa;
            }
            da[i] = oa;
        }
    }
    let _ = shape.content;
    missing
}

/// Contour and range of a glow applied to its raw coverage.
fn glow_curve(g: &Glow, raw: f32) -> f32 {
    let t = (raw / g.range).clamp(0.0, 1.0);
    if g.contour.is_linear() {
        t
    } else {
        g.contour.apply(t)
    }
}

fn drop_shadow(
    targets: [Option<&mut Raster>; 2],
    shape: &mut Shape<'_>,
    s: &Shadow,
    effects: &Effects,
    ctx: &Context<'_>,
) {
    let angle = if s.use_global_light {
        effects.global_angle
    } else {
        s.angle
    };
    let (dx, dy) = light_offset(angle, s.distance);
    let b = shape.blurred(s.spread * s.size, s.size * (1.0 - s.spread));
    let col = color_of(&s.color, ctx);
    let contour: Option<&Contour> = (!s.contour.is_linear()).then_some(&s.contour);
    for target in targets.into_iter().flatten() {
        let area = target.rect;
        paint(target, area, s.mode, s.opacity, solid(col), |y, x0, m| {
            for (i, v) in m.iter_mut().enumerate() {
                let raw = b.sample((x0 + i as i32) as f32 - dx, y as f32 - dy);
                *v = contour.map_or(raw, |c| c.apply(raw));
            }
        });
    }
}

fn outer_glow(
    targets: [Option<&mut Raster>; 2],
    shape: &mut Shape<'_>,
    g: &Glow,
    ctx: &Context<'_>,
    missing: &mut Vec<&'static str>,
) {
    let Some(cd) = &g.color else {
        missing.push("outer glow (gradient)");
        return;
    };
    let col = color_of(cd, ctx);
    let b = shape.blurred(g.spread * g.size, g.size * (1.0 - g.spread));
    for target in targets.into_iter().flatten() {
        let area = target.rect;
        paint(target, area, g.mode, g.opacity, solid(col), |y, x0, m| {
            for (i, v) in m.iter_mut().enumerate() {
                *v = glow_curve(g, b.at(x0 + i as i32, y));
            }
        });
    }
}

/// Highlight and shadow coverage of a bevel: an approximation. A height
/// field is built from the distance to the edge (ramp of `size` pixels,
/// placed by style), softened, and lit by the light at angle / altitude;
/// facets brighter than flat ground give highlight, darker give shadow.
fn bevel_masks(shape: &mut Shape<'_>, b: &super::Bevel, effects: &Effects) -> (Mask, Mask) {
    let size = b.size.max(1.0);
    let sign = if b.up { 1.0 } else { -1.0 };
    let style = b.style.as_str();
    let mut h: Vec<f32> = shape
        .sd()
        .iter()
        .map(|&d| {
            let v = match style {
                "OtrB" => (d + size).clamp(0.0, size),
                "Embs" => (d + size / 2.0).clamp(0.0, size),
                "PlEb" => size / 2.0 - (d.clamp(-size / 2.0, size / 2.0)).abs(),
                _ => d.clamp(0.0, size),
            };
            v * sign * b.depth
        })
        .collect();
    let (w, hgt) = (shape.w, shape.h);
    gaussian_blur(&mut h, w, hgt, (b.soften * SIGMA_PER_SIZE).max(0.7));
    let (angle, altitude) = if b.use_global_light {
        (effects.global_angle, effects.global_altitude)
    } else {
        (b.angle, b.altitude)
    };
    let (az, el) = (angle.to_radians(), altitude.to_radians());
    let light = [el.cos() * az.cos(), -el.cos() * az.sin(), el.sin()];
    let flat = light[2];
    let mut hi = vec![0f32; w * hgt];
    let mut lo = vec![0f32; w * hgt];
    let at = |x: usize, y: usize| h[y * w + x];
    for y in 0..hgt {
        for x in 0..w {
            let gx = (at((x + 1).min(w - 1), y) - at(x.saturating_sub(1), y)) * 0.5;
            let gy = (at(x, (y + 1).min(hgt - 1)) - at(x, y.saturating_sub(1))) * 0.5;
            let n = [-gx, -gy, 1.0];
            let len = (n[0] * n[0] + n[1] * n[1] + 1.0).sqrt();
            let s = (n[0] * light[0] + n[1] * light[1] + n[2] * light[2]) / len;
            let i = y * w + x;
            if s > flat {
                hi[i] = ((s - flat) / (1.0 - flat).max(1e-3)).clamp(0.0, 1.0);
            } else {
                lo[i] = ((flat - s) / flat.max(1e-3)).clamp(0.0, 1.0);
            }
        }
    }
    (Mask::new(shape.rect, hi), Mask::new(shape.rect, lo))
}

/// Finds a pattern by ID, then by name.
fn find_pattern<'a>(ctx: &'a Context<'_>, p: &PatternStyle) -> Option<&'a Raster> {
    ctx.patterns
        .iter()
        .find(|q| !p.id.is_empty() && q.id.trim_end_matches('\0') == p.id)
        .or_else(|| {
            ctx.patterns
                .iter()
                .find(|q| !p.name.is_empty() && q.name.trim_end_matches('\0') == p.name)
        })
        .map(|q| &q.tile)
        .filter(|t| !t.rect.is_empty())
}

/// Tile index of canvas pixel (x, y) for a pattern (nearest sample).
#[inline]
fn tile_index(tile: &Raster, p: &PatternStyle, x: i32, y: i32) -> usize {
    let tw = tile.rect.width() as f32;
    let th = tile.rect.height() as f32;
    let u = ((x as f32 + 0.5 - p.phase.0) / p.scale).floor();
    let v = ((y as f32 + 0.5 - p.phase.1) / p.scale).floor();
    let tx = u.rem_euclid(tw) as usize;
    let ty = v.rem_euclid(th) as usize;
    (ty.min(tile.rect.height() as usize - 1)) * tile.rect.width() as usize
        + tx.min(tile.rect.width() as usize - 1)
}

fn pattern_colors<'a>(
    tile: &'a Raster,
    p: &'a PatternStyle,
) -> impl FnMut(i32, i32, &mut [Color]) + 'a {
    move |y, x0, row| {
        for (i, c) in row.iter_mut().enumerate() {
            *c = tile.color[tile_index(tile, p, x0 + i as i32, y)];
        }
    }
}

fn pattern_alpha_at(tile: &Raster, p: &PatternStyle, x: i32, y: i32) -> f32 {
    tile.alpha[tile_index(tile, p, x, y)]
}

fn pattern_alpha<'a>(
    tile: &'a Raster,
    p: &'a PatternStyle,
    extra: impl Fn(i32, i32) -> f32 + 'a,
) -> impl FnMut(i32, i32, &mut [f32]) + 'a {
    move |y, x0, row| {
        for (i, v) in row.iter_mut().enumerate() {
            let x = x0 + i as i32;
            *v = pattern_alpha_at(tile, p, x, y) * extra(x, y);
        }
    }
}

/// Samples a gradient style over the canvas (own geometry, kept small until
/// the gradient module offers one).
#[derive(Clone)]
struct GradientPainter {
    lut_c: Vec<Color>,
    lut_a: Vec<f32>,
    kind: u8,
    cx: f32,
    cy: f32,
    ux: f32,
    uy: f32,
    len: f32,
    reverse: bool,
}

const GRADIENT_LUT: usize = 1024;

impl GradientPainter {
    fn new(style: &GradientStyle, layer: Rect, ctx: &Context<'_>) -> Option<Self> {
        let g = Gradient::from_descriptor(&style.gradient, ctx.info).ok()?;
        if g.stops.is_empty() {
            return None;
        }
        let mut lut_c = Vec::with_capacity(GRADIENT_LUT);
        let mut lut_a = Vec::with_capacity(GRADIENT_LUT);
        for i in 0..GRADIENT_LUT {
            let (c, a) = g.sample(i as f32 / (GRADIENT_LUT - 1) as f32);
            lut_c.push(c);
            lut_a.push(a);
        }
        let r = if style.align { layer } else { ctx.canvas };
        let (w, h) = (r.width() as f32, r.height() as f32);
        let cx = r.left as f32 + w / 2.0 + style.offset.0 / 100.0 * w;
        let cy = r.top as f32 + h / 2.0 + style.offset.1 / 100.0 * h;
        let a = style.angle.to_radians();
        let (ux, uy) = (a.cos(), -a.sin());
        let kind = match style.kind.as_str() {
            "Rdl " => 1,
            "Angl" => 2,
            "Rflc" => 3,
            "Dmnd" => 4,
            _ => 0,
        };
        let len = match kind {
            // Linear / reflected: the box's extent along the direction.
            0 | 3 => (ux.abs() * w + uy.abs() * h) / 2.0,
            // Radial / diamond: half the box diagonal.
            _ => (w * w + h * h).sqrt() / 2.0,
        } * style.scale;
        Some(GradientPainter {
            lut_c,
            lut_a,
            kind,
            cx,
            cy,
            ux,
            uy,
            len: len.max(1e-3),
            reverse: style.reverse,
        })
    }

    #[inline]
    fn t(&self, x: i32, y: i32) -> usize {
        let dx = x as f32 + 0.5 - self.cx;
        let dy = y as f32 + 0.5 - self.cy;
        let along = dx * self.ux + dy * self.uy;
        let t = match self.kind {
            0 => 0.5 + along / (2.0 * self.len),
            1 => (dx * dx + dy * dy).sqrt() / self.len,
            2 => {
                let across = -dx * self.uy + dy * self.ux;
                let ang = (-across).atan2(along);
                ang.rem_euclid(std::f32::consts::TAU) / std::f32::consts::TAU
            }
            3 => along.abs() / self.len,
            _ => (along.abs() + (-dx * self.uy + dy * self.ux).abs()) / self.len,
        };
        let t = if self.reverse { 1.0 - t } else { t };
        (t.clamp(0.0, 1.0) * (GRADIENT_LUT - 1) as f32).round() as usize
    }

    fn colors(&self, y: i32, x0: i32, row: &mut [Color]) {
        for (i, c) in row.iter_mut().enumerate() {
            *c = self.lut_c[self.t(x0 + i as i32, y)];
        }
    }

    fn alphas(&self, y: i32, x0: i32, row: &mut [f32]) {
        for (i, v) in row.iter_mut().enumerate() {
            *v = self.lut_a[self.t(x0 + i as i32, y)];
        }
    }
}
