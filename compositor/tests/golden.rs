//! Reference-image tests of mockup renders: every fit mode, rotation, flip,
//! size/position override, tiling, colour blend mode, artwork adjustment,
//! hidden layer, export size and transform kind, and a nested template
//! with a design slot, rendered and compared
//! pixel by pixel with a stored PNG in `tests/golden/`.
//!
//! The comparison is on the RGBA8 picture before encoding. A channel may
//! differ by at most one level (floating-point contraction may differ
//! between compilers and CPUs); anything more fails. On failure the test
//! writes `test-output/golden/<case>.png`: expected | actual | difference
//! (x8, on black), side by side.
//!
//! After a deliberate change, rewrite the references with
//! `GOLDEN_WRITE=1 cargo test -p compositor --test golden`, then look at
//! every changed PNG before committing it.

use compositor::mockup;
use compositor::request::{parse, MockupUuid};
use compositor::{Document, Limits};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const OWN: &str = "../fixtures/small-mockup.psd";
const NESTED: &str = "../fixtures/nested-mockup.psd";
const SHARED: &str = "../../shared/fixtures/psd/PhotoshopAPI/smart_objects_transformed.psd";

/// A 96 x 64 chart that shows every geometric option: a horizontal colour
/// gradient, a vertical one, a black block in the top-left corner and a
/// white stripe along the bottom.
fn chart_png() -> Vec<u8> {
    let (w, h) = (96u32, 64u32);
    let mut rgba = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            let px = if x < 20 && y < 14 {
                [0, 0, 0, 255]
            } else if y >= h - 6 {
                [255, 255, 255, 255]
            } else {
                [(x * 255 / w) as u8, 60, (y * 255 / h) as u8, 255]
            };
            rgba.extend(px);
        }
    }
    compositor::encode::png_rgba8(&rgba, w, h).expect("png")
}

fn uuid_of(doc: &Document, name: &str) -> String {
    doc.walk()
        .into_iter()
        .find(|l| l.name == name)
        .unwrap_or_else(|| panic!("no layer {name}"))
        .uuid
        .to_string()
}

/// One golden case: a name and a request body.
struct Case {
    name: String,
    body: Value,
}

/// Cases on our own template: the perspective "Design" smart object gets
/// the chart with each option in turn.
fn own_cases(doc: &Document) -> Vec<Case> {
    let design = uuid_of(doc, "Design");
    let art = compositor::request::encode_base64(&chart_png());
    let so = |asset: Value, extra: Value| {
        let mut entry = json!({"uuid": design, "asset": asset});
        if let (Some(e), Value::Object(x)) = (entry.as_object_mut(), extra) {
            e.extend(x);
        }
        entry
    };
    let asset = |opts: Value| {
        let mut a = json!({"base64": art.clone(), "content_type": "image/png"});
        if let (Some(m), Value::Object(x)) = (a.as_object_mut(), opts) {
            m.extend(x);
        }
        a
    };
    let body = |entry: Value| json!({"smart_objects": [entry], "export_options": {"image_format": "png", "image_size": 200}});
    let mut cases = Vec::new();
    let mut add = |name: &str, b: Value| {
        cases.push(Case {
            name: name.to_string(),
            body: b,
        })
    };
    for fit in ["fill", "contain", "cover"] {
        add(
            &format!("fit-{fit}"),
            body(so(asset(json!({"fit": fit})), json!({}))),
        );
    }
    for deg in [30, -90, 180, 405 - 360] {
        add(
            &format!("rotate-{deg}"),
            body(so(
                asset(json!({"fit": "contain", "rotate": deg})),
                json!({}),
            )),
        );
    }
    add(
        "flip-horizontal",
        body(so(asset(json!({"flip_horizontal": true})), json!({}))),
    );
    add(
        "flip-vertical",
        body(so(asset(json!({"flip_vertical": true})), json!({}))),
    );
    add(
        "flip-both-rotate-90",
        body(so(
            asset(json!({"flip_horizontal": true, "flip_vertical": true, "rotate": 90})),
            json!({}),
        )),
    );
    add(
        "size-position",
        body(so(
            asset(
                json!({"size": {"width": 80, "height": 40}, "position": {"top": 10, "left": 20}}),
            ),
            json!({}),
        )),
    );
    add(
        "position-moves-the-smart-object",
        body(so(
            asset(json!({"position": {"top": 20, "left": 30}})),
            json!({}),
        )),
    );
    add(
        "size-width-only-centred",
        body(so(asset(json!({"size": {"width": 60}})), json!({}))),
    );
    add(
        "tile-spacing",
        body(so(
            asset(json!({"tile": true, "tile_spacing": 25, "size": {"width": 40}})),
            json!({}),
        )),
    );
    // Every blend mode of the colour overlay, both spellings in use.
    for mode in [
        "normal",
        "dissolve",
        "pass through",
        "darken",
        "multiply",
        "color burn",
        "linear_burn",
        "darker color",
        "lighten",
        "screen",
        "color_dodge",
        "linear dodge",
        "lighter_color",
        "overlay",
        "soft light",
        "hard_light",
        "vivid light",
        "linear_light",
        "pin light",
        "hard_mix",
        "difference",
        "exclusion",
        "subtract",
        "divide",
        "hue",
        "saturation",
        "color",
        "luminosity",
    ] {
        add(
            &format!("blend-{}", mode.replace(' ', "_")),
            body(so(
                asset(json!({})),
                json!({"color": {"hex": "#3366CC", "blending_mode": mode}}),
            )),
        );
    }
    add(
        "color-alone",
        body(json!({"uuid": design, "color": {"hex": "#E0B040"}})),
    );
    for (adj, v) in [
        ("brightness", 100),
        ("brightness", -150),
        ("contrast", 60),
        ("contrast", -80),
        ("saturation", -100),
        ("saturation", 70),
        ("vibrance", 90),
        ("opacity", 40),
        ("blur", 20),
    ] {
        add(
            &format!("adjust-{adj}-{v}"),
            body(so(asset(json!({})), json!({"adjustment_layers": {adj: v}}))),
        );
    }
    add(
        "adjust-all",
        body(so(
            asset(json!({})),
            json!({"adjustment_layers": {"brightness": 20, "contrast": 10, "saturation": 30,
                "vibrance": -20, "opacity": 85, "blur": 3}}),
        )),
    );
    // The affine smart object, a hidden layer, and a smaller export.
    let badge = uuid_of(doc, "Badge");
    add(
        "affine-badge",
        json!({"smart_objects": [{"uuid": badge, "asset": asset(json!({"fit": "cover"}))}],
               "export_options": {"image_format": "png", "image_size": 200}}),
    );
    let shadow = uuid_of(doc, "Shadow");
    add(
        "hidden-shadow",
        json!({"smart_objects": [so(asset(json!({})), json!({}))], "hidden_layers": [shadow],
               "export_options": {"image_format": "png", "image_size": 200}}),
    );
    add(
        "export-size-original",
        json!({"smart_objects": [so(asset(json!({})), json!({}))],
               "export_options": {"image_format": "png", "image_size": "original"}}),
    );
    cases
}

/// Every non-group layer except `target` (groups stay, so the target's
/// own group still draws).
fn all_but(layers: &[&compositor::doc::Layer], target: &str) -> Vec<String> {
    layers
        .iter()
        .filter(|l| {
            l.uuid.to_string() != target
                && !matches!(l.kind, compositor::doc::LayerKind::Group { .. })
        })
        .map(|l| l.uuid.to_string())
        .collect()
}

/// Cases on the shared PhotoshopAPI file: one per transform kind, every
/// other layer hidden, at 256 px.
fn shared_cases(doc: &Document) -> Vec<Case> {
    let art = compositor::request::encode_base64(&chart_png());
    let layers = doc.walk();
    [
        ("rotation", "transform-affine-rotation"),
        ("perspective_transform", "transform-perspective"),
        ("no_bbox_change", "transform-warp"),
        ("bbox_change_perspective_warp", "transform-warp-perspective"),
    ]
    .into_iter()
    .map(|(layer, name)| {
        // Layer names repeat across groups; take the first of that name.
        let target = uuid_of(doc, layer);
        let hidden = all_but(&layers, &target);
        Case {
            name: name.to_string(),
            body: json!({
                "smart_objects": [{"uuid": target, "asset": {"base64": art, "fit": "fill"}}],
                "hidden_layers": hidden,
                "export_options": {"image_format": "png", "image_size": 256}
            }),
        }
    })
    .chain(std::iter::once(Case {
        name: "transform-quilt-warp".into(),
        body: {
            let target = layers
                .iter()
                .find(|l| {
                    matches!(&l.kind, compositor::doc::LayerKind::SmartObject(so)
                        if so.warp.as_ref().is_some_and(|w| !w.slices_x.is_empty()))
                })
                .expect("a quilt-warped layer")
                .uuid
                .to_string();
            let hidden = all_but(&layers, &target);
            json!({
                "smart_objects": [{"uuid": target, "asset": {"base64": art, "fit": "fill"}}],
                "hidden_layers": hidden,
                "export_options": {"image_format": "png", "image_size": 256}
            })
        },
    }))
    .collect()
}

/// Renders a case to RGBA8 before encoding.
fn render(doc: &Document, body: &Value) -> (Vec<u8>, u32, u32) {
    let limits = Limits::default();
    let req = parse(body, MockupUuid::Optional).expect("valid request");
    let offline = |_: &str| -> Result<Vec<u8>, String> { Err("offline".into()) };
    let decoded = mockup::decode(doc, &req, &offline, &limits).expect("decodes");
    let placed = mockup::place(doc, &req, &decoded, &limits).expect("places");
    let image = mockup::composite(doc, &req, placed, &limits).expect("composites");
    (image.rgba, image.width, image.height)
}

/// A PNG at the best compression, to keep the references small.
fn png_best(rgba: &[u8], w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::High);
    enc.set_filter(png::Filter::Adaptive);
    enc.write_header()
        .and_then(|mut wr| wr.write_image_data(rgba))
        .expect("png");
    out
}

/// Writes expected | actual | difference side by side.
fn write_failure(name: &str, exp: &[u8], act: &[u8], w: u32, h: u32) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-output/golden");
    std::fs::create_dir_all(&dir).expect("test-output dir");
    let (w, h) = (w as usize, h as usize);
    let mut out = vec![0u8; w * 3 * h * 4];
    for y in 0..h {
        for x in 0..w {
            let i = (y * w + x) * 4;
            let row = y * w * 3;
            let e = exp.get(i..i + 4).unwrap_or(&[0; 4]);
            let a = &act[i..i + 4];
            out[(row + x) * 4..][..4].copy_from_slice(e);
            out[(row + w + x) * 4..][..4].copy_from_slice(a);
            let d: Vec<u8> = (0..4)
                .map(|c| (e[c].abs_diff(a[c]) as u32 * 8).min(255) as u8)
                .collect();
            out[(row + 2 * w + x) * 4..][..4].copy_from_slice(&[d[0].max(d[3]), d[1], d[2], 255]);
        }
    }
    let path = dir.join(format!("{name}.png"));
    let png = compositor::encode::png_rgba8(&out, (w * 3) as u32, h as u32).expect("png");
    std::fs::write(&path, png).expect("write failure image");
    path
}

fn check(doc: &Document, cases: Vec<Case>) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let write = std::env::var_os("GOLDEN_WRITE").is_some();
    let mut failures = Vec::new();
    for case in cases {
        let (rgba, w, h) = render(doc, &case.body);
        let path = dir.join(format!("{}.png", case.name));
        if write {
            std::fs::create_dir_all(&dir).expect("golden dir");
            std::fs::write(&path, png_best(&rgba, w, h)).expect("write reference");
            continue;
        }
        let Ok(bytes) = std::fs::read(&path) else {
            failures.push(format!(
                "{}: no reference at {} (GOLDEN_WRITE=1 creates it)",
                case.name,
                path.display()
            ));
            continue;
        };
        let (exp, ew, eh) = compositor::encode::decode_png_rgba8(&bytes, u64::MAX).expect("png");
        if (ew, eh) != (w, h) {
            failures.push(format!("{}: size {w}x{h}, reference {ew}x{eh}", case.name));
            continue;
        }
        let worst = exp
            .iter()
            .zip(&rgba)
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap_or(0);
        let off = exp
            .iter()
            .zip(&rgba)
            .filter(|(a, b)| a.abs_diff(**b) > 1)
            .count();
        if worst > 1 {
            let img = write_failure(&case.name, &exp, &rgba, w, h);
            failures.push(format!(
                "{}: {off} channel values differ by more than 1 (worst {worst}); see {}",
                case.name,
                img.display()
            ));
        }
    }
    failures
}

#[test]
fn renders_match_the_references_on_our_template() {
    let bytes = std::fs::read(OWN).expect("fixtures/small-mockup.psd is in the repo");
    let doc = compositor::open(&bytes, &Limits::default()).expect("opens");
    let cases = own_cases(&doc);
    assert!(cases.len() > 50, "every option is covered");
    let failures = check(&doc, cases);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn renders_match_the_references_for_each_transform_kind() {
    let Ok(bytes) = std::fs::read(SHARED) else {
        eprintln!("{SHARED} missing; skipping");
        return;
    };
    let doc = compositor::open(&bytes, &Limits::default()).expect("opens");
    let failures = check(&doc, shared_cases(&doc));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A smart object holding a layered PSD with a design slot: the artwork
/// lands in the slot, between the fabric and the highlights.
#[test]
fn renders_match_the_references_for_a_nested_template() {
    let bytes = std::fs::read(NESTED).expect("fixtures/nested-mockup.psd is in the repo");
    let doc = compositor::open(&bytes, &Limits::default()).expect("opens");
    let so = uuid_of(&doc, "Shirt print");
    let art = compositor::request::encode_base64(&chart_png());
    let cases = vec![
        Case {
            name: "nested-slot-fill".into(),
            body: json!({"smart_objects": [{"uuid": so, "asset": {"base64": art}}],
                         "export_options": {"image_format": "png", "image_size": "original"}}),
        },
        Case {
            name: "nested-slot-contain-rotated".into(),
            body: json!({"smart_objects": [{"uuid": so,
                            "asset": {"base64": art, "fit": "contain", "rotate": 15}}],
                         "export_options": {"image_format": "png", "image_size": "original"}}),
        },
    ];
    let failures = check(&doc, cases);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The references are not all alike: a test whose cases all rendered the
/// same picture (say, the artwork never reaching the canvas) would pass
/// against references written by the same bug.
#[test]
fn options_change_the_picture() {
    let bytes = std::fs::read(OWN).expect("fixture");
    let doc = compositor::open(&bytes, &Limits::default()).expect("opens");
    let cases = own_cases(&doc);
    let mut seen = std::collections::HashMap::new();
    let untouched = compositor::composite_rgba8(&doc, &Limits::default())
        .unwrap()
        .0;
    for case in &cases {
        let (rgba, ..) = render(&doc, &case.body);
        assert_ne!(rgba, untouched, "{} left the template unchanged", case.name);
        if let Some(other) = seen.insert(rgba, case.name.clone()) {
            // An opaque overlay on an opaque artwork looks the same in
            // these modes.
            let alike = ["blend-normal", "blend-pass_through", "blend-dissolve"];
            assert!(
                alike.contains(&other.as_str()) && alike.contains(&case.name.as_str()),
                "{} and {} render the same picture",
                other,
                case.name
            );
        }
    }
}
