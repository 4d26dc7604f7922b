//! Fill layers (solid colour, gradient, pattern).
//!
//! Blocks: `SoCo` (descriptor with `Clr `), `GdFl` (descriptor: `Grad`
//! gradient, `Type`, `Angl`, `Scl `, `Rvrs`, `Algn`, `Ofst`, `Dthr`) and
//! `PtFl` (descriptor: `Ptrn` {`Nm  `, `Idnt`}, `phase` {`Hrzn`, `Vrtc`},
//! `Scl `, `Angl`, `Algn`). Colours stay descriptors until rendering, when
//! the document's colour information is known.

use crate::color::descriptor_color;
use crate::error::Result;
use crate::psd::descriptor::{self, Descriptor};
use crate::psd::reader::Reader;
use crate::render::gradient::{Gradient, GradientFrame, GradientGeometry, Interpolation};
use crate::render::raster::{Raster, Rect};
use crate::render::Context;

/// Tagged-block keys of fill layers.
pub const FILL_KEYS: &[&[u8; 4]] = &[b"SoCo", b"GdFl", b"PtFl"];

/// A parsed fill.
#[derive(Debug, Clone, PartialEq)]
pub struct Fill {
    /// The block key it came from.
    pub key: [u8; 4],
    /// The fill's settings, as the descriptor holds them.
    pub desc: Descriptor,
    /// The layer's reference point (`fxrp` block, see
    /// [`parse_reference_point`]): where pattern tiling starts. The caller
    /// sets it after [`parse`]; `None` tiles from the canvas origin.
    pub reference_point: Option<(f32, f32)>,
    /// Bounds `[left, top, right, bottom]` of the layer's shape (its vector
    /// mask path, not the anti-aliased pixel bounds): the box gradients
    /// align with. The caller sets it for shape-backed fills; `None` uses
    /// the `rect` passed to [`render`].
    pub shape_bounds: Option<[f32; 4]>,
}

impl Fill {
    /// Short machine name, e.g. `solid_color`.
    pub fn name(&self) -> &'static str {
        match &self.key {
            b"SoCo" => "solid_color",
            b"GdFl" => "gradient",
            b"PtFl" => "pattern",
            _ => "unknown",
        }
    }
}

/// Parses a fill block (`SoCo`, `GdFl`, `PtFl`): a versioned descriptor.
pub fn parse(key: &[u8; 4], data: &[u8], max_depth: u32) -> Result<Option<Fill>> {
    if !FILL_KEYS.contains(&key) {
        return Ok(None);
    }
    let desc = descriptor::parse_versioned(&mut Reader::new(data), max_depth)?;
    Ok(Some(Fill {
        key: *key,
        desc,
        reference_point: None,
        shape_bounds: None,
    }))
}

/// Parses a layer's `fxrp` block (two big-endian doubles, x then y): the
/// reference point that pattern fills (and pattern overlays) tile from.
/// Photoshop keeps it at the layer's shape corner and moves it with the
/// layer; the `patterns.psd` fixture shows every pattern fill tiled from it.
pub fn parse_reference_point(data: &[u8]) -> Result<(f32, f32)> {
    let mut r = Reader::new(data);
    let x = r.f64("reference point x")?;
    let y = r.f64("reference point y")?;
    let clean = |v: f64| {
        if v.is_finite() {
            v.clamp(-1e7, 1e7) as f32
        } else {
            0.0
        }
    };
    Ok((clean(x), clean(y)))
}

/// Renders the fill over `rect` (opaque; masks are applied by the caller;
/// gradient transparency stops do give alpha below 1).
///
/// Gradients with "align with layer" (`Algn`, on by default) are laid out
/// over [`Fill::shape_bounds`] when set, else over `rect`; unaligned ones
/// over the canvas. Patterns tile from [`Fill::reference_point`]. `None` when the fill cannot be rendered (unknown
/// pattern, unreadable gradient, over the pixel limit): the caller warns.
pub fn render(fill: &Fill, rect: Rect, ctx: &Context<'_>) -> Option<Raster> {
    if rect.is_empty() || rect.area() > ctx.limits.max_layer_pixels.max(ctx.canvas.area()) {
        return None;
    }
    match &fill.key {
        b"SoCo" => {
            let color = descriptor_color(fill.desc.desc("Clr ")?, ctx.info)?;
            Some(Raster::filled(rect, color, 1.0))
        }
        b"GdFl" => render_gradient(&fill.desc, fill.shape_bounds, rect, ctx),
        b"PtFl" => render_pattern(&fill.desc, fill.reference_point, rect, ctx),
        _ => None,
    }
}

fn fill_origin(reference: Option<(f32, f32)>, ctx: &Context<'_>) -> (f32, f32) {
    reference.unwrap_or((ctx.canvas.left as f32, ctx.canvas.top as f32))
}

fn render_gradient(
    desc: &Descriptor,
    shape: Option<[f32; 4]>,
    rect: Rect,
    ctx: &Context<'_>,
) -> Option<Raster> {
    let mut grad = Gradient::from_descriptor(desc.desc("Grad")?, ctx.info).ok()?;
    grad.method = Interpolation::from_outer(desc);
    // Gradient fills align with the layer unless `Algn` is explicitly off.
    let as_bounds = |r: Rect| [r.left as f32, r.top as f32, r.right as f32, r.bottom as f32];
    let bbox = if desc.bool("Algn").unwrap_or(true) {
        shape.unwrap_or_else(|| as_bounds(rect))
    } else {
        as_bounds(ctx.canvas)
    };
    let geom = GradientGeometry::from_descriptor(desc, (bbox[2] - bbox[0], bbox[3] - bbox[1]));
    let frame = GradientFrame::from_bounds(&geom, bbox);
    const N: usize = 4096;
    let lut = grad.lut(N + 1);
    let mut out = Raster::transparent(rect);
    let w = rect.width() as usize;
    for (row, y) in (rect.top..rect.bottom).enumerate() {
        let cy = y as f32 + 0.5;
        let start = row * w;
        let colors = &mut out.color[start..start + w];
        let alphas = &mut out.alpha[start..start + w];
        for (i, (c, a)) in colors.iter_mut().zip(alphas.iter_mut()).enumerate() {
            let t = frame.t((rect.left + i as i32) as f32 + 0.5, cy);
            let (color, alpha) = lut[(t * N as f32 + 0.5) as usize];
            *c = color;
            *a = alpha;
        }
    }
    Some(out)
}

fn render_pattern(
    desc: &Descriptor,
    fill_ref: Option<(f32, f32)>,
    rect: Rect,
    ctx: &Context<'_>,
) -> Option<Raster> {
    let p = desc.desc("Ptrn")?;
    let id = p.str("Idnt").unwrap_or("");
    let name = p.str("Nm  ").unwrap_or("");
    let pattern = ctx
        .patterns
        .iter()
        .find(|pt| !id.is_empty() && pt.id == id)
        .or_else(|| {
            ctx.patterns
                .iter()
                .find(|pt| !name.is_empty() && pt.name == name)
        })?;
    let tile = &pattern.tile;
    let tw = tile.rect.width() as i64;
    let th = tile.rect.height() as i64;
    if tw == 0 || th == 0 {
        return None;
    }
    let scale = (desc.f64("Scl ").unwrap_or(100.0) / 100.0).clamp(0.001, 100.0) as f32;
    let angle = desc.f64("Angl").unwrap_or(0.0) as f32;
    let (px, py) = desc.desc("phase").map_or((0.0, 0.0), |ph| {
        (
            ph.f64("Hrzn").unwrap_or(0.0) as f32,
            ph.f64("Vrtc").unwrap_or(0.0) as f32,
        )
    });
    // The tiling starts at the layer's reference point (else the canvas
    // origin), shifted by the phase.
    let origin = fill_origin(fill_ref, ctx);
    let (s, c) = (-angle.to_radians()).sin_cos();
    let inv = 1.0 / scale;
    let exact = scale == 1.0
        && angle == 0.0
        && (origin.0 + px).fract() == 0.0
        && (origin.1 + py).fract() == 0.0;
    let mut out = Raster::transparent(rect);
    let w = rect.width() as usize;
    for (row, y) in (rect.top..rect.bottom).enumerate() {
        let start = row * w;
        for i in 0..w {
            let x = rect.left + i as i32;
            let k = start + i;
            if exact {
                let u = (x as i64 - (origin.0 + px) as i64).rem_euclid(tw) as usize;
                let v = (y as i64 - (origin.1 + py) as i64).rem_euclid(th) as usize;
                let j = v * tw as usize + u;
                out.color[k] = tile.color[j];
                out.alpha[k] = tile.alpha[j];
                continue;
            }
            // Pattern space: undo phase, rotation and scale (pixel centres).
            let dx = x as f32 + 0.5 - origin.0 - px;
            let dy = y as f32 + 0.5 - origin.1 - py;
            let u = (dx * c - dy * s) * inv - 0.5;
            let v = (dx * s + dy * c) * inv - 0.5;
            // Bilinear sampling with wrap-around.
            let (u0, v0) = (u.floor(), v.floor());
            let (fu, fv) = (u - u0, v - v0);
            let (u0, v0) = (u0 as i64, v0 as i64);
            let mut acc = [0.0f32; 4];
            let mut acc_a = 0.0f32;
            for (du, dv, wt) in [
                (0, 0, (1.0 - fu) * (1.0 - fv)),
                (1, 0, fu * (1.0 - fv)),
                (0, 1, (1.0 - fu) * fv),
                (1, 1, fu * fv),
            ] {
                let uu = (u0 + du).rem_euclid(tw) as usize;
                let vv = (v0 + dv).rem_euclid(th) as usize;
                let j = vv * tw as usize + uu;
                let a = tile.alpha[j] * wt;
                for (acc_l, &col) in acc.iter_mut().zip(tile.color[j].iter()) {
                    *acc_l += col * a;
                }
                acc_a += a;
            }
            if acc_a > 0.0 {
                out.color[k] = acc.map(|v| v / acc_a);
            }
            out.alpha[k] = acc_a;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::color::{ColorInfo, ColorMode};
    use crate::limits::Limits;
    use crate::psd::descriptor::Value;
    use crate::render::pattern::Pattern;

    fn rgb(r: f64, g: f64, b: f64) -> Value {
        Value::Descriptor(Descriptor {
            name: String::new(),
            class_id: "RGBC".into(),
            items: vec![
                ("Rd  ".into(), Value::Double(r)),
                ("Grn ".into(), Value::Double(g)),
                ("Bl  ".into(), Value::Double(b)),
            ],
        })
    }

    fn d(items: Vec<(&str, Value)>) -> Descriptor {
        Descriptor {
            name: String::new(),
            class_id: "null".into(),
            items: items.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        }
    }

    fn with_ctx<R>(patterns: &[Pattern], f: impl FnOnce(&Context<'_>) -> R) -> R {
        let info = ColorInfo {
            mode: Some(ColorMode::Rgb),
            depth: 8,
            ..Default::default()
        };
        let limits = Limits::default();
        let ctx = Context {
            info: &info,
            patterns,
            canvas: Rect::new(0, 0, 100, 100),
            limits: &limits,
        };
        f(&ctx)
    }

    fn stop(loc: i32, color: Value) -> Value {
        Value::Descriptor(d(vec![
            ("Clr ", color),
            (
                "Type",
                Value::Enum {
                    type_id: "Clry".into(),
                    value: "UsrS".into(),
                },
            ),
            ("Lctn", Value::Integer(loc)),
            ("Mdpn", Value::Integer(50)),
        ]))
    }

    fn gradient_fill(style: &str, angle: f64) -> Fill {
        let grad = d(vec![
            (
                "GrdF",
                Value::Enum {
                    type_id: "GrdF".into(),
                    value: "CstS".into(),
                },
            ),
            ("Intr", Value::Double(0.0)),
            (
                "Clrs",
                Value::List(vec![
                    stop(0, rgb(0.0, 0.0, 0.0)),
                    stop(4096, rgb(255.0, 255.0, 255.0)),
                ]),
            ),
        ]);
        Fill {
            reference_point: None,
            shape_bounds: None,
            key: *b"GdFl",
            desc: d(vec![
                (
                    "Angl",
                    Value::UnitFloat {
                        unit: "#Ang".into(),
                        value: angle,
                    },
                ),
                (
                    "Type",
                    Value::Enum {
                        type_id: "GrdT".into(),
                        value: style.into(),
                    },
                ),
                ("Grad", Value::Descriptor(grad)),
            ]),
        }
    }

    #[test]
    fn parses_versioned_descriptor_block() {
        // Version 16, empty name, class "null", zero items.
        let mut data = 16u32.to_be_bytes().to_vec();
        data.extend([0, 0, 0, 1, 0, 0]);
        data.extend([0, 0, 0, 0]);
        data.extend(b"null");
        data.extend(0u32.to_be_bytes());
        let f = parse(b"SoCo", &data, 8).unwrap().unwrap();
        assert_eq!(f.name(), "solid_color");
        assert_eq!(parse(b"levl", &data, 8).unwrap(), None);
        assert!(parse(b"GdFl", &data[..7], 8).is_err());
    }

    #[test]
    fn solid_color() {
        let fill = Fill {
            reference_point: None,
            shape_bounds: None,
            key: *b"SoCo",
            desc: d(vec![("Clr ", rgb(255.0, 51.0, 0.0))]),
        };
        let r = with_ctx(&[], |ctx| render(&fill, Rect::new(10, 10, 3, 2), ctx)).unwrap();
        assert_eq!(r.color.len(), 6);
        assert!((r.color[5][1] - 0.2).abs() < 1e-6);
        assert_eq!(r.alpha, vec![1.0; 6]);
    }

    #[test]
    fn gradient_fill_linear_and_radial() {
        let rect = Rect::new(0, 0, 100, 100);
        let r = with_ctx(&[], |ctx| render(&gradient_fill("Lnr ", 0.0), rect, ctx)).unwrap();
        // Column 49 centre is at 49.5: t = 0.495.
        let v = r.color[10 * 100 + 49][0];
        assert!((v - 0.495).abs() < 1e-3, "{v}");
        assert!(r.color[0][0] < 0.01 && r.color[99][0] > 0.99);
        // 90 degrees: dark at the bottom.
        let r = with_ctx(&[], |ctx| render(&gradient_fill("Lnr ", 90.0), rect, ctx)).unwrap();
        assert!(r.color[99 * 100][0] < 0.01 && r.color[50][0] > 0.99);
        let r = with_ctx(&[], |ctx| render(&gradient_fill("Rdl ", 0.0), rect, ctx)).unwrap();
        // Pixel (74, 49) centre is (24.5, -0.5) from the centre; radius 50.
        let v = r.color[49 * 100 + 74][0];
        let want = (24.5f32 * 24.5 + 0.25).sqrt() / 50.0;
        assert!((v - want).abs() < 1e-3, "{v} vs {want}");
        let r = with_ctx(&[], |ctx| render(&gradient_fill("Rflc", 0.0), rect, ctx)).unwrap();
        assert!((r.color[24][0] - r.color[75][0]).abs() < 1e-3);
        let r = with_ctx(&[], |ctx| render(&gradient_fill("Dmnd", 0.0), rect, ctx)).unwrap();
        // (62, 62) centre is 12.5 + 12.5 from the centre in L1: t = 0.5.
        assert!((r.color[62 * 100 + 62][0] - 0.5).abs() < 2e-3);
    }

    #[test]
    fn pattern_fill_tiles_with_phase() {
        // 2x1 tile: black, white.
        let tile = Raster {
            rect: Rect::new(0, 0, 2, 1),
            color: vec![[0.0; 4], [1.0, 1.0, 1.0, 0.0]],
            alpha: vec![1.0, 1.0],
        };
        let patterns = [Pattern {
            id: "abc".into(),
            name: "p".into(),
            tile,
        }];
        let mut fill = Fill {
            reference_point: None,
            shape_bounds: None,
            key: *b"PtFl",
            desc: d(vec![(
                "Ptrn",
                Value::Descriptor(d(vec![("Idnt", Value::String("abc".into()))])),
            )]),
        };
        let r = with_ctx(&patterns, |ctx| render(&fill, Rect::new(0, 0, 4, 1), ctx)).unwrap();
        let got: Vec<f32> = r.color.iter().map(|c| c[0]).collect();
        assert_eq!(got, [0.0, 1.0, 0.0, 1.0]);
        // Phase of one pixel shifts the tiling right.
        fill.desc.items.push((
            "phase".into(),
            Value::Descriptor(d(vec![
                ("Hrzn", Value::Double(1.0)),
                ("Vrtc", Value::Double(0.0)),
            ])),
        ));
        let r = with_ctx(&patterns, |ctx| render(&fill, Rect::new(0, 0, 4, 1), ctx)).unwrap();
        let got: Vec<f32> = r.color.iter().map(|c| c[0]).collect();
        assert_eq!(got, [1.0, 0.0, 1.0, 0.0]);
        // Scale 200 %: each tile pixel covers two canvas pixels.
        fill.desc.items.retain(|(k, _)| k != "phase");
        fill.desc.items.push(("Scl ".into(), Value::Double(200.0)));
        let r = with_ctx(&patterns, |ctx| render(&fill, Rect::new(0, 0, 4, 1), ctx)).unwrap();
        let got: Vec<f32> = r.color.iter().map(|c| c[0]).collect();
        // Centres at tile coords 0.25, 0.75, 1.25, 1.75 minus 0.5 ->
        // bilinear between the two texels.
        assert!(
            (got[0] - 0.25).abs() < 1e-5 && (got[1] - 0.25).abs() < 1e-5,
            "{got:?}"
        );
        assert!((got[2] - 0.75).abs() < 1e-5, "{got:?}");
        // Unknown pattern: not rendered.
        fill.desc.items[0].1 = Value::Descriptor(d(vec![("Idnt", Value::String("zzz".into()))]));
        assert!(with_ctx(&patterns, |ctx| render(&fill, Rect::new(0, 0, 4, 1), ctx)).is_none());
    }

    use crate::testing::tagged_blocks as blocks;

    /// Photoshop's own composite of `adjustment_clipping.psd`: outside the
    /// centre square it shows gradient fill 1 (linear, -90 degrees, 40 %
    /// smoothness, a 13 % midpoint, linear-light interpolation) under two
    /// curves layers. Values at x = 10 read from the stored composite.
    #[test]
    fn real_fixture_gradient_fill_matches_photoshop() {
        let path = "../../shared/fixtures/psd/psd-tools/adjustment_clipping.psd";
        let Ok(file) = std::fs::read(path) else {
            println!("skipping: {path} missing");
            return;
        };
        let fills = blocks(&file, b"GdFl");
        let curves = blocks(&file, b"curv");
        assert!(!fills.is_empty() && curves.len() == 5);
        let fill = parse(b"GdFl", fills[0], 32).unwrap().unwrap();
        let rect = Rect::new(0, 0, 200, 200);
        let doc = crate::render::TestDoc::new(ColorInfo {
            mode: Some(ColorMode::Rgb),
            depth: 8,
            ..Default::default()
        });
        let info = &doc.info;
        let mut r = render(&fill, rect, &doc.ctx(200, 200)).unwrap();
        for c in &curves[3..5] {
            let adj = crate::render::adjust::parse(b"curv", c, 32)
                .unwrap()
                .unwrap();
            assert!(crate::render::adjust::apply(&adj, &mut r.color, info));
        }
        let photoshop: [(usize, [f32; 3]); 6] = [
            (0, [97.0, 121.0, 151.0]),
            (20, [155.0, 110.0, 132.0]),
            (40, [175.0, 107.0, 123.0]),
            (100, [193.0, 102.0, 112.0]),
            (160, [207.0, 98.0, 102.0]),
            (180, [210.0, 97.0, 98.0]),
        ];
        for (y, want) in photoshop {
            let got = r.color[y * 200 + 10];
            for k in 0..3 {
                assert!(
                    (got[k] * 255.0 - want[k]).abs() <= 2.5,
                    "row {y}: {got:?} vs {want:?}"
                );
            }
        }
    }

    /// Photoshop's composite of `patterns.psd`: pattern fills tile from the
    /// layer's `fxrp` reference point. Values read from the stored
    /// composite.
    #[test]
    fn real_fixture_pattern_fills_match_photoshop() {
        let path = "../../shared/fixtures/psd/psd-tools/patterns.psd";
        let Ok(file) = std::fs::read(path) else {
            println!("skipping: {path} missing");
            return;
        };
        let info = ColorInfo {
            mode: Some(ColorMode::Rgb),
            depth: 8,
            ..Default::default()
        };
        let patterns =
            crate::render::pattern::parse_patterns(blocks(&file, b"Patt")[0], &info).unwrap();
        let fills = blocks(&file, b"PtFl");
        assert_eq!(fills.len(), 6);
        // The fxrp block that follows each PtFl belongs to the same layer.
        let fxrp_after = |fill: &[u8]| {
            let start = fill.as_ptr() as usize - file.as_ptr() as usize;
            let rest = &file[start..];
            let p = rest.windows(8).position(|w| w == b"8BIMfxrp").unwrap();
            parse_reference_point(&rest[p + 12..p + 28]).unwrap()
        };
        let limits = Limits::default();
        let ctx = Context {
            info: &info,
            patterns: &patterns,
            canvas: Rect::new(0, 0, 256, 256),
            limits: &limits,
        };
        let cases: [(usize, Rect, &[f32]); 3] = [
            // Right diagonal line 1 (8x8), reference point (1, 0).
            (
                0,
                Rect::new(10, 10, 8, 1),
                &[255.0, 255.0, 255.0, 224.0, 59.0, 217.0, 255.0, 255.0],
            ),
            // Vertical line 1 (4x1), reference point (119, 0).
            (
                2,
                Rect::new(130, 20, 8, 1),
                &[255.0, 0.0, 255.0, 255.0, 255.0, 0.0, 255.0, 255.0],
            ),
            // Yellow mums (265x219), reference point (60, 59): red channel.
            (
                5,
                Rect::new(70, 70, 6, 1),
                &[188.0, 181.0, 186.0, 188.0, 189.0, 192.0],
            ),
        ];
        for (i, rect, want) in cases {
            let mut fill = parse(b"PtFl", fills[i], 32).unwrap().unwrap();
            fill.reference_point = Some(fxrp_after(fills[i]));
            let r = render(&fill, rect, &ctx).unwrap();
            for (k, w) in want.iter().enumerate() {
                let got = r.color[k][0] * 255.0;
                assert!((got - w).abs() <= 1.0, "fill {i} px {k}: {got} vs {w}");
            }
        }
    }
}
