//! The wasm-bindgen API, tested in a browser (`wasm-bindgen-test`).
//!
//! Built for wasm32-unknown-unknown by `cargo xtask test` and run in
//! headless Chromium by the page test (`mockup/tests/web.rs`), which loads
//! them through wasm-bindgen-test's own `WasmBindgenTestContext` (the
//! harness page `web-demo/harness/`), as `wasm-bindgen-test-runner` would.
//! Natively this file is empty: the same logic has native tests in
//! `src/tests.rs`.
#![cfg(target_arch = "wasm32")]

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_demo::{Frame, Template};

wasm_bindgen_test_configure!(run_in_browser);

/// The fixture template, compiled into the test module (the test has no
/// file system).
const PSD: &[u8] = include_bytes!("../../fixtures/small-mockup.psd");

/// A 4x2 PNG: left half opaque red, right half opaque blue.
fn art() -> Vec<u8> {
    let mut rgba = Vec::new();
    for _y in 0..2 {
        for x in 0..4 {
            rgba.extend_from_slice(if x < 2 {
                &[255, 0, 0, 255]
            } else {
                &[0, 0, 255, 255]
            });
        }
    }
    compositor::encode::png_rgba8(&rgba, 4, 2).unwrap()
}

fn design(t: &Template) -> (String, serde_json::Value) {
    let v: serde_json::Value = serde_json::from_str(&t.inspection()).unwrap();
    let so = v["smart_objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Design")
        .unwrap()
        .clone();
    (so["uuid"].as_str().unwrap().to_string(), so)
}

/// The JS `Error` a call threw: (name, message).
fn js_error(e: JsValue) -> (String, String) {
    let e: js_sys::Error = e.dyn_into().expect("a JS Error");
    (e.name().into(), e.message().into())
}

fn render(t: &mut Template, body: serde_json::Value) -> Result<Frame, JsValue> {
    t.render(&body.to_string())
}

#[wasm_bindgen_test]
fn opens_the_fixture_and_describes_it() {
    let t = Template::open(PSD).unwrap();
    assert_eq!((t.width(), t.height()), (320, 240));
    let (uuid, so) = design(&t);
    assert_eq!(uuid.len(), 36);
    // scripts/make-fixtures.py embeds a 160 x 120 design.
    assert_eq!(
        so["size"],
        serde_json::json!({ "width": 160, "height": 120 })
    );
    // The JS class is what the page sees: a real object with the methods.
    let v: JsValue = t.into();
    assert!(Reflect::has(&v, &"render".into()).unwrap());
}

#[wasm_bindgen_test]
fn a_bad_template_throws_a_named_error() {
    let (name, message) = js_error(Template::open(b"8BPS nonsense").err().unwrap());
    assert_eq!(name, "BadTemplate");
    assert!(!message.is_empty());
}

#[wasm_bindgen_test]
fn renders_artwork_at_the_export_size_and_equals_the_native_pipeline() {
    let mut t = Template::open(PSD).unwrap();
    let (uuid, _) = design(&t);
    t.set_artwork(&uuid, art());
    let body = serde_json::json!({
        "smart_objects": [{ "uuid": uuid, "asset": { "base64": "elided", "fit": "fill" } }],
        "export_options": { "image_format": "png", "image_size": 160 },
    });
    let f = render(&mut t, body.clone()).unwrap();
    assert_eq!((f.width(), f.height()), (160, 120));
    let px = f.pixels();
    assert_eq!(px.len(), 160 * 120 * 4);
    // The same request through compositor::mockup::render, as the server
    // runs it (here in the same wasm build): the same pixels.
    let limits = compositor::Limits::default();
    let doc = compositor::open(PSD, &limits).unwrap();
    let mut sent = body;
    sent["smart_objects"][0]["asset"]["base64"] = compositor::request::encode_base64(&art()).into();
    let req = compositor::request::parse(&sent, compositor::request::MockupUuid::Optional).unwrap();
    let fetch = |_: &str| -> Result<Vec<u8>, String> { Err("none".into()) };
    let out = compositor::mockup::render(&doc, &req, &fetch, &limits).unwrap();
    let (rgba, _, _) = compositor::encode::decode_png_rgba8(&out.bytes, u64::MAX).unwrap();
    assert!(rgba == px, "the preview differs from the render pipeline");
    // And the encoded file is that PNG.
    assert_eq!(f.content_type(), "image/png");
    assert!(f.encode().unwrap() == out.bytes);
    assert_eq!(f.warnings(), "[]");
}

#[wasm_bindgen_test]
fn webp_is_a_typed_unsupported_error_in_the_browser() {
    let mut t = Template::open(PSD).unwrap();
    let (uuid, _) = design(&t);
    let body = serde_json::json!({
        "smart_objects": [{ "uuid": uuid, "color": { "hex": "#FF0000" } }],
        "export_options": { "image_format": "webp", "image_size": 100 },
    });
    // The pixels render; only the encoding is not available.
    let f = render(&mut t, body).unwrap();
    assert_eq!(f.width(), 100);
    assert_eq!(f.content_type(), "image/webp");
    let (name, message) = js_error(f.encode().err().unwrap());
    assert_eq!(name, "Unsupported");
    assert!(message.contains("WebP"), "{message}");
}

#[wasm_bindgen_test]
fn request_errors_are_named_and_list_the_fields() {
    let mut t = Template::open(PSD).unwrap();
    let (uuid, _) = design(&t);
    let bad = serde_json::json!({
        "smart_objects": [{ "uuid": uuid, "color": { "hex": "red" } }],
        "export_options": { "image_size": 5 },
    });
    let (name, message) = js_error(render(&mut t, bad).err().unwrap());
    assert_eq!(name, "BadRequest");
    assert!(
        message.contains("body -> smart_objects -> 0 -> color -> hex"),
        "{message}"
    );
    assert!(
        message.contains("body -> export_options -> image_size"),
        "{message}"
    );
    let ghost = serde_json::json!({
        "smart_objects": [{ "uuid": "00000000-0000-4000-8000-000000000000", "color": { "hex": "#000000" } }],
    });
    let (name, _) = js_error(render(&mut t, ghost).err().unwrap());
    assert_eq!(name, "UnknownLayer");
    t.set_artwork(&uuid, b"GIF89a broken".to_vec());
    let broken = serde_json::json!({ "smart_objects": [{ "uuid": uuid, "asset": { "url": "https://x.test/a.gif" } }] });
    let (name, _) = js_error(render(&mut t, broken).err().unwrap());
    assert_eq!(name, "BadArtwork");
}

#[wasm_bindgen_test]
fn a_colour_overlay_paints_the_design_area() {
    // Multiply-free Normal red over the whole Design frame: the centre of
    // the Design quad turns red (independent of any artwork decoding).
    let mut t = Template::open(PSD).unwrap();
    let (uuid, so) = design(&t);
    let body = serde_json::json!({
        "smart_objects": [{ "uuid": uuid, "color": { "hex": "#FF0000" } }],
        "export_options": { "image_format": "png", "image_size": "original" },
    });
    let f = render(&mut t, body).unwrap();
    let q: Vec<f64> = so["quad"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let cx = ((q[0] + q[2] + q[4] + q[6]) / 4.0) as usize;
    let cy = ((q[1] + q[3] + q[5] + q[7]) / 4.0) as usize;
    let px = f.pixels();
    let i = (cy * f.width() as usize + cx) * 4;
    let p = &px[i..i + 4];
    assert!(p[0] > 200 && p[1] < 60 && p[2] < 60, "centre pixel {p:?}");
}

#[wasm_bindgen_test]
fn jpeg_bytes_match_the_native_reference_files() {
    // The same cases as compositor's native `jpeg_bytes_match_the_reference_files`:
    // wasm's simd128 DCT, coefficient mask and row converter must give
    // native's file, byte for byte.
    let png = include_bytes!("../../fixtures/jpeg/input.png");
    let (rgba, w, h) = compositor::encode::decode_image_rgba8(png, 1 << 20).unwrap();
    let opaque: Vec<u8> = rgba
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect();
    let cases: [(&str, &[u8], u8, &[u8]); 3] = [
        (
            "q90.jpg",
            &rgba,
            90,
            include_bytes!("../../fixtures/jpeg/q90.jpg"),
        ),
        (
            "q100.jpg",
            &rgba,
            100,
            include_bytes!("../../fixtures/jpeg/q100.jpg"),
        ),
        (
            "opaque-q90.jpg",
            &opaque,
            90,
            include_bytes!("../../fixtures/jpeg/opaque-q90.jpg"),
        ),
    ];
    let mismatches: Vec<String> = cases
        .iter()
        .filter_map(|&(name, px, quality, want)| {
            let got = compositor::encode::jpeg_rgba8(px, w, h, quality, None).unwrap();
            let first = got.iter().zip(want).position(|(a, b)| a != b);
            (got != want).then(|| {
                format!(
                    "{name}: {} bytes, the reference has {}, first difference at {first:?}",
                    got.len(),
                    want.len()
                )
            })
        })
        .collect();
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

#[wasm_bindgen_test]
fn scaling_matches_the_native_reference_files() {
    // The same cases as compositor's native
    // `scaled_pixels_match_the_reference_files`: hard alpha edges, up,
    // down and far down, with and without transparency.
    let png = include_bytes!("../../fixtures/scale/input.png");
    let (px, w, h) = compositor::encode::decode_png_rgba8(png, 1 << 20).unwrap();
    let opaque: Vec<u8> = px
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect();
    let cases: [(&str, &[u8], u32, u32, &[u8]); 6] = [
        (
            "up.png",
            &px,
            91,
            70,
            include_bytes!("../../fixtures/scale/up.png"),
        ),
        (
            "down.png",
            &px,
            25,
            19,
            include_bytes!("../../fixtures/scale/down.png"),
        ),
        (
            "tiny.png",
            &px,
            7,
            5,
            include_bytes!("../../fixtures/scale/tiny.png"),
        ),
        (
            "opaque-up.png",
            &opaque,
            91,
            70,
            include_bytes!("../../fixtures/scale/opaque-up.png"),
        ),
        (
            "opaque-down.png",
            &opaque,
            25,
            19,
            include_bytes!("../../fixtures/scale/opaque-down.png"),
        ),
        (
            "opaque-tiny.png",
            &opaque,
            7,
            5,
            include_bytes!("../../fixtures/scale/opaque-tiny.png"),
        ),
    ];
    let mismatches: Vec<String> = cases
        .iter()
        .filter_map(|&(name, src, tw, th, want)| {
            let got = compositor::render::scale::rgba8_ref(src, w, h, tw, th);
            let (want, _, _) = compositor::encode::decode_png_rgba8(want, 1 << 20).unwrap();
            let differ: Vec<usize> = (0..got.len()).filter(|&i| got[i] != want[i]).collect();
            (!differ.is_empty() || got.len() != want.len()).then(|| {
                let i = differ.first().copied().unwrap_or(0) & !3;
                format!(
                    "{name}: {} samples differ; first at pixel {}: {:?}, the reference has {:?}",
                    differ.len(),
                    i / 4,
                    got.get(i..i + 4),
                    want.get(i..i + 4)
                )
            })
        })
        .collect();
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

#[wasm_bindgen_test]
fn opacity_is_seen_at_every_position_of_blocks_and_tails() {
    // wasm's `is_opaque` reads 64-byte blocks with simd128 and the rest by
    // words: at every length up to 5 blocks and a tail, a translucent alpha
    // at any position is found and colour never counts.
    use compositor::render::raster::is_opaque;
    for n in 0..=83usize {
        let px = vec![255u8; 4 * n];
        assert!(is_opaque(&px), "{n} opaque pixels");
        for i in 0..n {
            let mut p = px.clone();
            p[i * 4 + 3] = 254;
            assert!(!is_opaque(&p), "{n} pixels, pixel {i} translucent");
            p[i * 4 + 3] = 255;
            p[i * 4 + 1] = 0;
            assert!(is_opaque(&p), "{n} pixels, colour of pixel {i}");
        }
    }
}

#[wasm_bindgen_test]
fn srgb_pixels_round_as_the_scalar_formula() {
    // wasm converts sRGB working pixels four at a time with simd128
    // (`rgba_u8_simd128`); every value must round as the scalar
    // `to_u8` does: clamp to 0..=1 (NaN to 0), then `(v * 255 + 0.5)`
    // truncated.
    use compositor::color::{to_rgba8, ColorInfo, ColorMode};
    let scalar = |v: f32| {
        let v = if v > 0.0 { v } else { 0.0 };
        let v = if v < 1.0 { v } else { 1.0 };
        (v * 255.0 + 0.5) as i32 as u8
    };
    let mut values: Vec<f32> = (0..=2550).map(|i| i as f32 / 2550.0).collect();
    values.extend((0..=255).map(|i| (i as f32 + 0.5) / 255.0));
    values.extend([
        -1.0,
        -0.0,
        1.5,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        1e-9,
    ]);
    let color: Vec<[f32; 4]> = values
        .iter()
        .enumerate()
        .map(|(i, &v)| [v, values[(i * 7) % values.len()], 1.0 - v, 0.0])
        .collect();
    let alpha: Vec<f32> = (0..values.len())
        .map(|i| values[(i * 13) % values.len()])
        .collect();
    let info = ColorInfo {
        mode: Some(ColorMode::Rgb),
        depth: 8,
        ..ColorInfo::default()
    };
    let got = to_rgba8(&info, &color, &alpha);
    assert_eq!(got.len(), color.len() * 4);
    for (i, (c, &a)) in color.iter().zip(&alpha).enumerate() {
        let want = [scalar(c[0]), scalar(c[1]), scalar(c[2]), scalar(a)];
        assert_eq!(got[i * 4..i * 4 + 4], want, "pixel {i}: {c:?}, alpha {a}");
    }
}
