//! Tests of effect parsing and rendering against hand-computed values.

use super::*;
use crate::color::ColorInfo;
use crate::psd::descriptor::Descriptor;
use crate::psd::reader::Reader;
use crate::render::raster::{Raster, Rect};
use crate::render::{Context, TestDoc};

// --- descriptor byte builders (format per the Photoshop file spec) ---

fn id(s: &str) -> Vec<u8> {
    let mut v = Vec::new();
    if s.len() == 4 {
        v.extend(0u32.to_be_bytes());
    } else {
        v.extend((s.len() as u32).to_be_bytes());
    }
    v.extend(s.as_bytes());
    v
}

fn obj(class: &str, items: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut v = vec![0, 0, 0, 1, 0, 0]; // name: one NUL unit
    v.extend(id(class));
    v.extend((items.len() as u32).to_be_bytes());
    for (k, val) in items {
        v.extend(id(k));
        v.extend(val);
    }
    v
}

fn objc(class: &str, items: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut v = b"Objc".to_vec();
    v.extend(obj(class, items));
    v
}

fn unit(u: &str, x: f64) -> Vec<u8> {
    let mut v = b"UntF".to_vec();
    v.extend(u.as_bytes());
    v.extend(x.to_be_bytes());
    v
}

fn dbl(x: f64) -> Vec<u8> {
    let mut v = b"doub".to_vec();
    v.extend(x.to_be_bytes());
    v
}

fn boolean(b: bool) -> Vec<u8> {
    vec![b'b', b'o', b'o', b'l', b as u8]
}

fn enm(t: &str, val: &str) -> Vec<u8> {
    let mut v = b"enum".to_vec();
    v.extend(id(t));
    v.extend(id(val));
    v
}

fn rgb(r: f64, g: f64, b: f64) -> Vec<u8> {
    objc(
        "RGBC",
        &[("Rd  ", dbl(r)), ("Grn ", dbl(g)), ("Bl  ", dbl(b))],
    )
}

fn block(root: Vec<u8>) -> Vec<u8> {
    let mut v = 0u32.to_be_bytes().to_vec();
    v.extend(16u32.to_be_bytes());
    v.extend(root);
    v
}

fn sample_block(master: bool) -> Vec<u8> {
    let shadow = objc(
        "DrSh",
        &[
            ("enab", boolean(true)),
            ("Md  ", enm("BlnM", "Mltp")),
            ("Clr ", rgb(10.0, 20.0, 30.0)),
            ("Opct", unit("#Prc", 60.0)),
            ("uglg", boolean(false)),
            ("lagl", unit("#Ang", 45.0)),
            ("Dstn", unit("#Pxl", 7.0)),
            ("Ckmt", unit("#Pxl", 25.0)),
            ("blur", unit("#Pxl", 9.0)),
            ("layerConceals", boolean(false)),
        ],
    );
    let stroke = objc(
        "FrFX",
        &[
            ("enab", boolean(true)),
            ("Styl", enm("FStl", "InsF")),
            ("PntT", enm("FrFl", "SClr")),
            ("Md  ", enm("BlnM", "Nrml")),
            ("Opct", unit("#Prc", 100.0)),
            ("Sz  ", unit("#Pxl", 3.0)),
            ("Clr ", rgb(255.0, 0.0, 0.0)),
        ],
    );
    let glow_off = objc("OrGl", &[("enab", boolean(false))]);
    block(obj(
        "null",
        &[
            ("Scl ", unit("#Prc", 100.0)),
            ("masterFXSwitch", boolean(master)),
            ("DrSh", shadow),
            ("OrGl", glow_off),
            ("FrFX", stroke),
        ],
    ))
}

#[test]
fn parses_a_hand_built_block() {
    let fx = parse(&sample_block(true), 16).unwrap();
    assert_eq!(fx.enabled, vec!["drop shadow", "stroke"]);
    let s = &fx.drop_shadows[0];
    assert_eq!(s.mode, BlendMode::Multiply);
    assert!((s.opacity - 0.6).abs() < 1e-6);
    assert_eq!(s.angle, 45.0);
    assert!(!s.use_global_light);
    assert_eq!(s.distance, 7.0);
    assert!((s.spread - 0.25).abs() < 1e-6);
    assert_eq!(s.size, 9.0);
    assert!(!s.knockout);
    assert_eq!(s.color.f64("Grn "), Some(20.0));
    let st = &fx.strokes[0];
    assert_eq!(st.position, StrokePosition::Inside);
    assert_eq!(st.size, 3.0);
    assert!(matches!(&st.fill, StrokeFill::Color(c) if c.f64("Rd  ") == Some(255.0)));
    assert_eq!(fx.global_angle, DEFAULT_GLOBAL_ANGLE);
}

#[test]
fn master_switch_off_disables_everything() {
    let fx = parse(&sample_block(false), 16).unwrap();
    assert!(fx.is_empty());
    assert!(fx.drop_shadows.is_empty() && fx.strokes.is_empty());
}

#[test]
fn truncated_and_bad_blocks_are_errors() {
    let b = sample_block(true);
    for cut in [0, 3, 8, 20, b.len() / 2, b.len() - 1] {
        assert!(parse(&b[..cut], 16).is_err(), "cut at {cut}");
    }
    let mut bad = b.clone();
    bad[3] = 1; // version 1
    assert!(parse(&bad, 16).is_err());
}

/// Finds the first `8BIM<key>` tagged block in a file and returns its data.
fn find_block<'a>(bytes: &'a [u8], key: &[u8; 4]) -> Option<&'a [u8]> {
    crate::testing::tagged_blocks(bytes, key).into_iter().next()
}

#[test]
fn parses_every_real_block_of_a_fixture() {
    let path = "../../shared/fixtures/psd/ag-psd/effects.psd";
    let Ok(bytes) = std::fs::read(path) else {
        eprintln!("skipping: {path} not found");
        return;
    };
    // Walk all lfx2 blocks.
    let mut rest: &[u8] = &bytes;
    let mut names = Vec::new();
    while let Some(data) = find_block(rest, b"lfx2") {
        let fx = parse(data, 32).unwrap();
        names.extend(fx.enabled.iter().copied());
        let off = data.as_ptr() as usize - rest.as_ptr() as usize + data.len();
        rest = &rest[off..];
    }
    // psd-tools lists for this file: gradient overlays, satin, drop shadow,
    // inner shadow, outer and inner glow, bevel (the colour overlay layer has
    // its master switch off).
    for n in [
        "gradient overlay",
        "satin",
        "drop shadow",
        "inner shadow",
        "outer glow",
        "inner glow",
        "bevel and emboss",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    assert!(!names.contains(&"color overlay"), "{names:?}");
}

// --- rendering ---

fn color_desc(r: f64, g: f64, b: f64) -> Descriptor {
    let bytes = obj(
        "RGBC",
        &[("Rd  ", dbl(r)), ("Grn ", dbl(g)), ("Bl  ", dbl(b))],
    );
    crate::psd::descriptor::parse(&mut Reader::new(&bytes), 4).unwrap()
}

/// A 10x10 opaque blue square at (20, 20) on a 60x60 canvas.
fn square() -> Raster {
    Raster::filled(Rect::new(20, 20, 10, 10), [0.0, 0.0, 1.0, 0.0], 1.0)
}

fn normal(opacity: f32, fill: f32) -> LayerBlend {
    LayerBlend {
        mode: BlendMode::Normal,
        opacity,
        fill,
        interior_as_group: false,
    }
}

fn shadow_fx(size: f32, knockout: bool) -> Effects {
    Effects {
        enabled: vec!["drop shadow"],
        drop_shadows: vec![Shadow {
            mode: BlendMode::Normal,
            color: color_desc(255.0, 0.0, 0.0),
            opacity: 0.75,
            angle: 90.0,
            use_global_light: false,
            distance: 5.0,
            spread: 0.0,
            size,
            contour: Contour::linear(),
            knockout,
        }],
        ..Effects::default()
    }
}

#[test]
fn drop_shadow_at_90_degrees_lands_below() {
    let env = TestDoc::new(ColorInfo::default());
    let mut dst = Raster::transparent(Rect::new(0, 0, 60, 60));
    let missing = composite_with_effects(
        &mut dst,
        &square(),
        normal(1.0, 1.0),
        &shadow_fx(0.0, true),
        &env.ctx(60, 60),
    );
    assert!(missing.is_empty(), "{missing:?}");
    // Content untouched.
    let i = dst.index(25, 25).unwrap();
    assert_eq!(dst.alpha[i], 1.0);
    assert!((dst.color[i][2] - 1.0).abs() < 1e-6);
    // Hard shadow (size 0): rows 30..35 below the square, red at 75%.
    for y in 30..35 {
        let i = dst.index(25, y).unwrap();
        assert!(
            (dst.alpha[i] - 0.75).abs() < 1e-5,
            "y {y}: {}",
            dst.alpha[i]
        );
        assert!((dst.color[i][0] - 1.0).abs() < 1e-5);
    }
    for (x, y) in [(25, 35), (25, 19), (19, 27), (30, 27)] {
        assert_eq!(dst.alpha[dst.index(x, y).unwrap()], 0.0, "({x},{y})");
    }
}

#[test]
fn blurred_shadow_is_centred_five_pixels_down() {
    // Fill 0 and no knockout: the canvas holds the shadow alone.
    let env = TestDoc::new(ColorInfo::default());
    let mut dst = Raster::transparent(Rect::new(0, 0, 60, 60));
    composite_with_effects(
        &mut dst,
        &square(),
        normal(1.0, 0.0),
        &shadow_fx(8.0, false),
        &env.ctx(60, 60),
    );
    let (mut m, mut mx, mut my) = (0f64, 0f64, 0f64);
    for y in 0..60 {
        for x in 0..60 {
            let a = dst.alpha[dst.index(x, y).unwrap()] as f64;
            m += a;
            mx += a * (x as f64 + 0.5);
            my += a * (y as f64 + 0.5);
        }
    }
    // Mass is preserved by the blur: 100 pixels at 75%.
    assert!((m - 75.0).abs() < 0.05, "mass {m}");
    assert!((mx / m - 25.0).abs() < 1e-3, "x centroid {}", mx / m);
    assert!((my / m - 30.0).abs() < 1e-3, "y centroid {}", my / m);
}

fn stroke_fx(position: StrokePosition, size: f32) -> Effects {
    Effects {
        enabled: vec!["stroke"],
        strokes: vec![Stroke {
            mode: BlendMode::Normal,
            opacity: 1.0,
            size,
            position,
            fill: StrokeFill::Color(color_desc(255.0, 0.0, 0.0)),
        }],
        ..Effects::default()
    }
}

#[test]
fn outside_stroke_covers_a_ring() {
    let env = TestDoc::new(ColorInfo::default());
    let mut dst = Raster::transparent(Rect::new(0, 0, 60, 60));
    composite_with_effects(
        &mut dst,
        &square(),
        normal(1.0, 1.0),
        &stroke_fx(StrokePosition::Outside, 2.0),
        &env.ctx(60, 60),
    );
    let a = |x, y| dst.alpha[dst.index(x, y).unwrap()];
    let red = |x, y| dst.color[dst.index(x, y).unwrap()][0];
    // Pixel centres 0.5 and 1.5 px from the edge: fully covered, red.
    for (x, y) in [(19, 25), (18, 25), (30, 22), (31, 22), (24, 18), (24, 31)] {
        assert!((a(x, y) - 1.0).abs() < 1e-5, "({x},{y}) {}", a(x, y));
        assert!((red(x, y) - 1.0).abs() < 1e-5);
    }
    // 2.5 px away: empty.
    for (x, y) in [(17, 25), (32, 22), (24, 17), (24, 32)] {
        assert_eq!(a(x, y), 0.0, "({x},{y})");
    }
    // Inside stays blue.
    assert_eq!(dst.color[dst.index(20, 20).unwrap()], [0.0, 0.0, 1.0, 0.0]);
    // Rounded corner: pixel (18, 18) is hypot(1.5, 1.5) = 2.121 from the
    // corner, so a 2 px stroke covers 2 - 2.121 + 0.5 of it.
    let expect = 2.5 - (1.5f32 * 1.5 * 2.0).sqrt();
    assert!((a(18, 18) - expect).abs() < 1e-4, "{}", a(18, 18));
    // Pixel (19, 19): 0.707 away, fully covered.
    assert!((a(19, 19) - 1.0).abs() < 1e-5);
}

#[test]
fn inside_stroke_stays_inside() {
    let env = TestDoc::new(ColorInfo::default());
    let mut dst = Raster::transparent(Rect::new(0, 0, 60, 60));
    composite_with_effects(
        &mut dst,
        &square(),
        normal(1.0, 1.0),
        &stroke_fx(StrokePosition::Inside, 2.0),
        &env.ctx(60, 60),
    );
    let px = |x, y| {
        (
            dst.color[dst.index(x, y).unwrap()],
            dst.alpha[dst.index(x, y).unwrap()],
        )
    };
    assert_eq!(px(20, 25), ([1.0, 0.0, 0.0, 0.0], 1.0));
    assert_eq!(px(21, 25), ([1.0, 0.0, 0.0, 0.0], 1.0));
    assert_eq!(px(22, 25), ([0.0, 0.0, 1.0, 0.0], 1.0));
    assert_eq!(px(19, 25).1, 0.0);
}

fn overlay_fx(opacity: f32) -> Effects {
    Effects {
        enabled: vec!["color overlay"],
        color_overlays: vec![ColorOverlay {
            mode: BlendMode::Normal,
            color: color_desc(0.0, 255.0, 0.0),
            opacity,
        }],
        ..Effects::default()
    }
}

#[test]
fn color_overlay_replaces_colour() {
    let env = TestDoc::new(ColorInfo::default());
    // Backdrop: opaque white.
    let mut dst = Raster::filled(Rect::new(0, 0, 60, 60), [1.0, 1.0, 1.0, 0.0], 1.0);
    // Content with a half-covered edge column.
    let mut content = square();
    for y in 20..30 {
        let i = content.index(29, y).unwrap();
        content.alpha[i] = 0.5;
    }
    composite_with_effects(
        &mut dst,
        &content,
        normal(1.0, 1.0),
        &overlay_fx(1.0),
        &env.ctx(60, 60),
    );
    let i = dst.index(25, 25).unwrap();
    assert_eq!(dst.color[i], [0.0, 1.0, 0.0, 0.0]);
    // Edge: half green, half white backdrop (no blue left).
    let i = dst.index(29, 25).unwrap();
    let c = dst.color[i];
    assert!(
        (c[0] - 0.5).abs() < 1e-5 && (c[1] - 1.0).abs() < 1e-5 && (c[2] - 0.5).abs() < 1e-5,
        "{c:?}"
    );
    // Outside untouched.
    assert_eq!(dst.color[dst.index(31, 25).unwrap()], [1.0, 1.0, 1.0, 0.0]);
    // Half-opacity overlay mixes green with the blue content.
    let mut dst = Raster::transparent(Rect::new(0, 0, 60, 60));
    composite_with_effects(
        &mut dst,
        &square(),
        normal(1.0, 1.0),
        &overlay_fx(0.5),
        &env.ctx(60, 60),
    );
    let c = dst.color[dst.index(25, 25).unwrap()];
    assert!(
        (c[1] - 0.5).abs() < 1e-5 && (c[2] - 0.5).abs() < 1e-5,
        "{c:?}"
    );
}

#[test]
fn fill_opacity_hides_content_but_not_effects() {
    let env = TestDoc::new(ColorInfo::default());
    let mut fx = overlay_fx(1.0);
    fx.enabled.push("stroke");
    fx.strokes = stroke_fx(StrokePosition::Outside, 2.0).strokes;
    // Fill 0: the overlay (an interior effect) still shows, as does the stroke.
    let mut dst = Raster::transparent(Rect::new(0, 0, 60, 60));
    composite_with_effects(&mut dst, &square(), normal(1.0, 0.0), &fx, &env.ctx(60, 60));
    let i = dst.index(25, 25).unwrap();
    assert_eq!((dst.color[i], dst.alpha[i]), ([0.0, 1.0, 0.0, 0.0], 1.0));
    assert_eq!(dst.alpha[dst.index(18, 25).unwrap()], 1.0);
    // Without the overlay, fill 0 leaves the inside empty and the stroke.
    let mut dst = Raster::transparent(Rect::new(0, 0, 60, 60));
    composite_with_effects(
        &mut dst,
        &square(),
        normal(1.0, 0.0),
        &stroke_fx(StrokePosition::Outside, 2.0),
        &env.ctx(60, 60),
    );
    assert_eq!(dst.alpha[dst.index(25, 25).unwrap()], 0.0);
    assert_eq!(dst.alpha[dst.index(18, 25).unwrap()], 1.0);
    // Layer opacity scales everything, effects included.
    let mut dst = Raster::transparent(Rect::new(0, 0, 60, 60));
    composite_with_effects(&mut dst, &square(), normal(0.5, 0.0), &fx, &env.ctx(60, 60));
    assert!((dst.alpha[dst.index(25, 25).unwrap()] - 0.5).abs() < 1e-6);
    assert!((dst.alpha[dst.index(18, 25).unwrap()] - 0.5).abs() < 1e-6);
}

#[test]
fn knockout_hides_the_shadow_under_a_transparent_fill() {
    let env = TestDoc::new(ColorInfo::default());
    // Fill 0, knockout on: nothing under the square, shadow below it.
    let mut dst = Raster::transparent(Rect::new(0, 0, 60, 60));
    composite_with_effects(
        &mut dst,
        &square(),
        normal(1.0, 0.0),
        &shadow_fx(0.0, true),
        &env.ctx(60, 60),
    );
    assert_eq!(dst.alpha[dst.index(25, 27).unwrap()], 0.0);
    assert!((dst.alpha[dst.index(25, 32).unwrap()] - 0.75).abs() < 1e-5);
    // Knockout off: the shadow shows through the empty fill.
    let mut dst = Raster::transparent(Rect::new(0, 0, 60, 60));
    composite_with_effects(
        &mut dst,
        &square(),
        normal(1.0, 0.0),
        &shadow_fx(0.0, false),
        &env.ctx(60, 60),
    );
    assert!((dst.alpha[dst.index(25, 27).unwrap()] - 0.75).abs() < 1e-5);
}

#[test]
fn knockout_attenuates_a_partial_edge_once() {
    // A 10x10 square whose bottom row is half covered; a hard shadow 5 px
    // down covers that row fully. At full fill the edge pixel is
    // content over shadow: alpha 0.5 + 0.5 * 0.75.
    let env = TestDoc::new(ColorInfo::default());
    let mut content = square();
    for x in 20..30 {
        let i = content.index(x, 29).unwrap();
        content.alpha[i] = 0.5;
    }
    let mut dst = Raster::transparent(Rect::new(0, 0, 60, 60));
    composite_with_effects(
        &mut dst,
        &content,
        normal(1.0, 1.0),
        &shadow_fx(0.0, true),
        &env.ctx(60, 60),
    );
    let i = dst.index(25, 29).unwrap();
    assert!((dst.alpha[i] - 0.875).abs() < 1e-5, "{}", dst.alpha[i]);
    // Colour: premultiplied blue 0.5 and red 0.375, over alpha 0.875.
    assert!((dst.color[i][0] - 0.375 / 0.875).abs() < 1e-5);
    assert!((dst.color[i][2] - 0.5 / 0.875).abs() < 1e-5);
}

fn list(items: Vec<Vec<u8>>) -> Vec<u8> {
    let mut v = b"VlLs".to_vec();
    v.extend((items.len() as u32).to_be_bytes());
    for i in items {
        v.extend(i);
    }
    v
}

fn long(x: i32) -> Vec<u8> {
    let mut v = b"long".to_vec();
    v.extend(x.to_be_bytes());
    v
}

/// A black-to-white `Grdn` descriptor as Photoshop writes it.
fn black_to_white() -> Descriptor {
    let stop = |l: i32, c: f64| {
        objc(
            "Clrt",
            &[
                ("Clr ", rgb(c, c, c)),
                ("Type", enm("Clry", "UsrS")),
                ("Lctn", long(l)),
                ("Mdpn", long(50)),
            ],
        )
    };
    let tstop = |l: i32| {
        objc(
            "TrnS",
            &[
                ("Opct", unit("#Prc", 100.0)),
                ("Lctn", long(l)),
                ("Mdpn", long(50)),
            ],
        )
    };
    let bytes = obj(
        "Grdn",
        &[
            ("Nm  ", {
                let mut v = b"TEXT".to_vec();
                v.extend(2u32.to_be_bytes());
                v.extend([0, b'g', 0, 0]);
                v
            }),
            ("GrdF", enm("GrdF", "CstS")),
            ("Intr", dbl(4096.0)),
            ("Clrs", list(vec![stop(0, 0.0), stop(4096, 255.0)])),
            ("Trns", list(vec![tstop(0), tstop(4096)])),
        ],
    );
    crate::psd::descriptor::parse(&mut Reader::new(&bytes), 8).unwrap()
}

#[test]
fn linear_gradient_overlay_spans_the_layer() {
    let env = TestDoc::new(ColorInfo::default());
    let fx = Effects {
        enabled: vec!["gradient overlay"],
        gradient_overlays: vec![GradientOverlay {
            mode: BlendMode::Normal,
            opacity: 1.0,
            style: GradientStyle {
                gradient: black_to_white(),
                angle: 0.0,
                kind: "Lnr ".into(),
                reverse: false,
                align: true,
                scale: 1.0,
                offset: (0.0, 0.0),
            },
        }],
        ..Effects::default()
    };
    let mut dst = Raster::transparent(Rect::new(0, 0, 60, 60));
    let missing =
        composite_with_effects(&mut dst, &square(), normal(1.0, 1.0), &fx, &env.ctx(60, 60));
    assert!(missing.is_empty(), "{missing:?}");
    // Angle 0: black at the layer's left edge to white at its right edge.
    // Checked without assuming how the gradient interpolates between its
    // stops (Photoshop smooths it): increasing, and symmetric about the
    // layer's centre, since column x's centre sits at (x + 0.5 - 20) / 10 of
    // the way and the stops mirror each other.
    let c = |x| dst.color[dst.index(x, 24).unwrap()][0];
    for x in 20..29 {
        assert!(c(x) < c(x + 1), "x {x}");
    }
    for x in 20..25 {
        assert!(
            (c(x) + c(49 - x) - 1.0).abs() < 0.01,
            "x {x}: {} {}",
            c(x),
            c(49 - x)
        );
    }
    assert!(c(20) < 0.2 && c(29) > 0.8);
    // Angle 90 runs bottom (start) to top (end).
    let mut fx = fx;
    fx.gradient_overlays[0].style.angle = 90.0;
    let mut dst = Raster::transparent(Rect::new(0, 0, 60, 60));
    composite_with_effects(&mut dst, &square(), normal(1.0, 1.0), &fx, &env.ctx(60, 60));
    let top = dst.color[dst.index(25, 20).unwrap()][0];
    let bottom = dst.color[dst.index(25, 29).unwrap()][0];
    assert!(top > 0.8 && bottom < 0.2, "{top} {bottom}");
}

#[test]
fn inner_shadow_darkens_the_lit_side_only() {
    // Hard inner shadow (size 0), light from above (90 degrees), 3 px: the
    // top three rows of the square get the shadow, the rest does not, and
    // nothing is drawn outside.
    let env = TestDoc::new(ColorInfo::default());
    let mut s = shadow_fx(0.0, false).drop_shadows.remove(0);
    s.distance = 3.0;
    s.opacity = 1.0;
    let fx = Effects {
        enabled: vec!["inner shadow"],
        inner_shadows: vec![s],
        ..Effects::default()
    };
    let mut dst = Raster::transparent(Rect::new(0, 0, 60, 60));
    composite_with_effects(&mut dst, &square(), normal(1.0, 1.0), &fx, &env.ctx(60, 60));
    for y in 20..23 {
        assert_eq!(
            dst.color[dst.index(25, y).unwrap()],
            [1.0, 0.0, 0.0, 0.0],
            "y {y}"
        );
    }
    for y in 23..30 {
        assert_eq!(
            dst.color[dst.index(25, y).unwrap()],
            [0.0, 0.0, 1.0, 0.0],
            "y {y}"
        );
    }
    assert_eq!(dst.alpha[dst.index(25, 19).unwrap()], 0.0);
}

#[test]
fn outer_glow_follows_the_range_model() {
    // Range 50%: glow = clamp(2 * blurred shape). Far inside a big shape's
    // edge the blurred shape is ~0.5 at the edge pixel, so the glow there is
    // ~full; it fades to exactly 0 beyond the blur's reach.
    let env = TestDoc::new(ColorInfo::default());
    let big = Raster::filled(Rect::new(40, 40, 80, 80), [0.0, 0.0, 1.0, 0.0], 1.0);
    let fx = Effects {
        enabled: vec!["outer glow"],
        outer_glows: vec![Glow {
            mode: BlendMode::Normal,
            color: Some(color_desc(255.0, 255.0, 0.0)),
            opacity: 1.0,
            spread: 0.0,
            size: 10.0,
            range: 0.5,
            contour: Contour::linear(),
            from_center: false,
        }],
        ..Effects::default()
    };
    let mut dst = Raster::transparent(Rect::new(0, 0, 160, 160));
    composite_with_effects(&mut dst, &big, normal(1.0, 1.0), &fx, &env.ctx(160, 160));
    let a = |x| dst.alpha[dst.index(x, 80).unwrap()];
    // Pixel 39 (centre 0.5 px out): blurred shape just under 0.5 -> glow ~0.9.
    assert!(a(39) > 0.85 && a(39) < 1.0, "{}", a(39));
    // Monotonic fade, zero beyond reach (about 3 sigma = 13 px).
    for x in 25..39 {
        assert!(a(x) <= a(x + 1), "x {x}");
    }
    assert_eq!(a(20), 0.0);
}

#[test]
fn global_light_reads_resources() {
    assert_eq!(
        global_light(Some(&132i32.to_be_bytes()), Some(&[0, 0, 0, 25])),
        (132.0, 25.0)
    );
    assert_eq!(global_light(None, Some(&[1, 2])), (120.0, 30.0));
    assert_eq!(
        global_light(Some(&(-45i32).to_be_bytes()), None),
        (-45.0, 30.0)
    );
}

#[test]
fn inner_bevel_lights_the_top_and_shades_the_bottom() {
    // Light from straight above (90 degrees): on a 30x30 square the top
    // edge faces the light (white highlight), the bottom edge faces away
    // (black shadow), the flat centre and everything outside are untouched.
    let env = TestDoc::new(ColorInfo::default());
    let grey = [0.5, 0.5, 0.5, 0.0];
    let content = Raster::filled(Rect::new(20, 20, 30, 30), grey, 1.0);
    let fx = Effects {
        enabled: vec!["bevel and emboss"],
        bevels: vec![Bevel {
            style: "InrB".into(),
            depth: 1.0,
            up: true,
            size: 5.0,
            soften: 0.0,
            angle: 90.0,
            altitude: 30.0,
            use_global_light: false,
            highlight: (BlendMode::Normal, color_desc(255.0, 255.0, 255.0), 1.0),
            shadow: (BlendMode::Normal, color_desc(0.0, 0.0, 0.0), 1.0),
        }],
        ..Effects::default()
    };
    let mut dst = Raster::transparent(Rect::new(0, 0, 70, 70));
    composite_with_effects(&mut dst, &content, normal(1.0, 1.0), &fx, &env.ctx(70, 70));
    let g = |x, y| dst.color[dst.index(x, y).unwrap()][0];
    assert!(g(35, 21) > 0.7, "top {}", g(35, 21));
    assert!(g(35, 48) < 0.3, "bottom {}", g(35, 48));
    assert!((g(35, 35) - 0.5).abs() < 0.02, "centre {}", g(35, 35));
    // Left and right edges are lit side-on: close to flat.
    assert!((g(21, 35) - 0.5).abs() < 0.1, "left {}", g(21, 35));
    assert_eq!(dst.alpha[dst.index(35, 18).unwrap()], 0.0);
}

#[test]
fn parses_an_lfxs_block() {
    // Group effects are stored under `lfxs` with the same layout as `lfx2`.
    let path = "../../shared/fixtures/psd/ag-psd/group-drop-shadows.psd";
    let Ok(bytes) = std::fs::read(path) else {
        eprintln!("skipping: {path} not found");
        return;
    };
    let data = find_block(&bytes, b"lfxs").expect("lfxs block");
    let fx = parse(data, 32).unwrap();
    assert_eq!(fx.enabled, vec!["drop shadow"]);
    let s = &fx.drop_shadows[0];
    assert_eq!((s.distance, s.size), (45.0, 65.0));
    assert!((s.spread - 0.64).abs() < 1e-6 && (s.opacity - 0.52).abs() < 1e-6);
}

#[test]
fn hostile_sizes_do_not_panic() {
    let env = TestDoc::new(ColorInfo::default());
    // Huge blur and distance on a tiny canvas, a layer far outside it, and
    // an empty layer.
    let mut fx = shadow_fx(4096.0, true);
    fx.drop_shadows[0].distance = 30000.0;
    fx.enabled.push("stroke");
    fx.strokes = stroke_fx(StrokePosition::Center, 4096.0).strokes;
    for content in [
        square(),
        Raster::filled(Rect::new(i32::MAX - 20, 5, 10, 10), [1.0; 4], 1.0),
        Raster::filled(Rect::new(-(1 << 30) - 5, 0, 3, 3), [1.0; 4], 1.0),
        Raster::transparent(Rect::new(10, 10, 0, 0)),
    ] {
        let mut dst = Raster::transparent(Rect::new(0, 0, 60, 60));
        let _ = composite_with_effects(&mut dst, &content, normal(1.0, 1.0), &fx, &env.ctx(60, 60));
        assert!(dst.alpha.iter().all(|a| (0.0..=1.0).contains(a)));
        assert!(dst.color.iter().flatten().all(|c| c.is_finite()));
    }
}

#[test]
fn pattern_overlay_tiles_from_the_reference_point() {
    use crate::render::pattern::Pattern;
    let mut tile = Raster::transparent(Rect::new(0, 0, 2, 2));
    tile.color = vec![
        [1.0, 0.0, 0.0, 0.0],
        [0.0, 1.0, 0.0, 0.0],
        [0.0, 0.0, 1.0, 0.0],
        [1.0, 1.0, 1.0, 0.0],
    ];
    tile.alpha = vec![1.0; 4];
    let patterns = vec![Pattern {
        id: "p-1".into(),
        name: "checker".into(),
        tile,
    }];
    let env = TestDoc::new(ColorInfo::default());
    let ctx = Context {
        patterns: &patterns,
        ..env.ctx(60, 60)
    };
    let mut fx = Effects {
        enabled: vec!["pattern overlay"],
        pattern_overlays: vec![PatternOverlay {
            mode: BlendMode::Normal,
            opacity: 1.0,
            pattern: PatternStyle {
                id: "p-1".into(),
                name: String::new(),
                scale: 1.0,
                phase: (0.0, 1.0),
                align: true,
            },
        }],
        ..Effects::default()
    };
    // fxrp (1, 0) as stored: two big-endian doubles.
    let mut fxrp = 1f64.to_be_bytes().to_vec();
    fxrp.extend(0f64.to_be_bytes());
    fx.reference_point = crate::render::fill::parse_reference_point(&fxrp).unwrap();
    assert_eq!(fx.reference_point, (1.0, 0.0));
    assert!(crate::render::fill::parse_reference_point(&fxrp[..12]).is_err());
    let mut dst = Raster::transparent(Rect::new(0, 0, 60, 60));
    let missing = composite_with_effects(&mut dst, &square(), normal(1.0, 1.0), &fx, &ctx);
    assert!(missing.is_empty(), "{missing:?}");
    // Tiles start at (1, 1): pixel (21, 21) is tile (0, 0), and so on.
    let c = |x, y| dst.color[dst.index(x, y).unwrap()];
    assert_eq!(c(21, 21), [1.0, 0.0, 0.0, 0.0]);
    assert_eq!(c(22, 21), [0.0, 1.0, 0.0, 0.0]);
    assert_eq!(c(21, 22), [0.0, 0.0, 1.0, 0.0]);
    assert_eq!(c(20, 20), [1.0, 1.0, 1.0, 0.0]);
    // Not linked: tiles start at the canvas origin plus the phase.
    fx.pattern_overlays[0].pattern.align = false;
    let mut dst = Raster::transparent(Rect::new(0, 0, 60, 60));
    composite_with_effects(&mut dst, &square(), normal(1.0, 1.0), &fx, &ctx);
    assert_eq!(dst.color[dst.index(20, 21).unwrap()], [1.0, 0.0, 0.0, 0.0]);
    // Unknown pattern: reported.
    fx.pattern_overlays[0].pattern.id = "other".into();
    let mut dst = Raster::transparent(Rect::new(0, 0, 60, 60));
    let missing = composite_with_effects(&mut dst, &square(), normal(1.0, 1.0), &fx, &ctx);
    assert_eq!(missing, vec!["pattern overlay (pattern not found)"]);
}

#[test]
fn gradient_length_is_the_direction_clipped_by_the_box() {
    // A 40x4 layer at 45 degrees: the gradient runs over the centre line's
    // stretch inside the box, half-length 2 / sin 45 = 2.83 px, so 10 px
    // right of the centre along the row (7.07 px along the direction) is
    // already the end colour. (Projecting the corners instead would give a
    // half-length of 15.6 px and a mid-grey there.)
    let env = TestDoc::new(ColorInfo::default());
    let content = Raster::filled(Rect::new(10, 20, 40, 4), [0.0, 0.0, 1.0, 0.0], 1.0);
    let fx = Effects {
        enabled: vec!["gradient overlay"],
        gradient_overlays: vec![GradientOverlay {
            mode: BlendMode::Normal,
            opacity: 1.0,
            style: GradientStyle {
                gradient: black_to_white(),
                angle: 45.0,
                kind: "Lnr ".into(),
                reverse: false,
                align: true,
                scale: 1.0,
                offset: (0.0, 0.0),
            },
        }],
        ..Effects::default()
    };
    let mut dst = Raster::transparent(Rect::new(0, 0, 60, 60));
    composite_with_effects(&mut dst, &content, normal(1.0, 1.0), &fx, &env.ctx(60, 60));
    let c = |x, y| dst.color[dst.index(x, y).unwrap()][0];
    assert!(c(40, 21) > 0.99, "{}", c(40, 21));
    assert!(c(19, 22) < 0.01, "{}", c(19, 22));
}
