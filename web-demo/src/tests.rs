//! Native tests of the preview logic: the browser build runs the same code
//! (the wasm-bindgen tests in `tests/browser.rs` run it in Chromium).

use super::*;
use compositor::request::encode_base64;

fn template() -> Vec<u8> {
    std::fs::read("../fixtures/small-mockup.psd").expect("fixtures/small-mockup.psd")
}

/// A 48x32 artwork with a gradient and a hard edge, so placement errors
/// show up in the pixels.
fn art(seed: u8) -> Vec<u8> {
    let (w, h) = (48u32, 32u32);
    let mut rgba = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let edge = if x < w / 3 { 255 } else { 0 };
            rgba.extend_from_slice(&[(x * 5) as u8 ^ seed, (y * 7) as u8, edge, 255]);
        }
    }
    compositor::encode::png_rgba8(&rgba, w, h).unwrap()
}

fn design_uuid(p: &Preview) -> String {
    let v: Value = serde_json::from_str(p.inspection()).unwrap();
    v["smart_objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Design")
        .expect("the Design smart object")["uuid"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A request body with every artwork option set away from its default.
fn body(so: &str, asset_source: Value) -> Value {
    let mut asset = serde_json::json!({
        "fit": "contain",
        "rotate": 30,
        "flip_horizontal": true,
        "size": { "width": 40, "height": 30 },
        "position": { "top": 5, "left": 7 },
        "tile": true,
        "tile_spacing": 10,
    });
    for (k, v) in asset_source.as_object().unwrap() {
        asset[k] = v.clone();
    }
    serde_json::json!({
        "smart_objects": [{
            "uuid": so,
            "asset": asset,
            "color": { "hex": "#3366CC", "blending_mode": "multiply" },
            "adjustment_layers": { "brightness": 20, "contrast": -10, "saturation": 15,
                                   "vibrance": 5, "opacity": 90, "blur": 2 },
        }],
        "export_options": { "image_format": "png", "image_size": 200 },
    })
}

/// What the server sends for the same request: `mockup::render` with the
/// artwork as base64, PNG-decoded back to pixels.
fn server_pixels(template: &[u8], body: &Value) -> (Vec<u8>, u32, u32) {
    let limits = Limits::default();
    let doc = compositor::open(template, &limits).unwrap();
    let req = request::parse(body, MockupUuid::Optional).unwrap();
    let fetch = |_: &str| -> Result<Vec<u8>, String> { Err("no fetch".into()) };
    let out = mockup::render(&doc, &req, &fetch, &limits).unwrap();
    assert_eq!(out.content_type, "image/png");
    compositor::encode::decode_png_rgba8(&out.bytes, u64::MAX).unwrap()
}

#[test]
fn preview_equals_the_server_render_before_encoding() {
    let psd = template();
    let mut p = Preview::open(&psd).unwrap();
    let so = design_uuid(&p);
    p.set_artwork(&so, art(0));
    // The page's JSON may carry an elided base64: the artwork set here wins.
    let shown = body(&so, serde_json::json!({ "base64": "iVBORw0…(elided)" }));
    let preview = p.render(&shown.to_string()).unwrap();
    let sent = body(&so, serde_json::json!({ "base64": encode_base64(&art(0)) }));
    let (rgba, w, h) = server_pixels(&psd, &sent);
    assert_eq!((preview.width, preview.height), (w, h));
    assert_eq!((w, h), (200, 150), "320x240 scaled to 200 wide");
    assert!(preview.rgba == rgba, "the preview differs from the server");
    // And the PNG the preview would encode is the server's file.
    let req = p.request(&shown.to_string()).unwrap();
    let (png, ct) = encode(&preview, &req.export_options).unwrap();
    assert_eq!(ct, "image/png");
    let (back, _, _) = compositor::encode::decode_png_rgba8(&png, u64::MAX).unwrap();
    assert!(back == rgba);
}

#[test]
fn replacing_the_artwork_invalidates_the_decoded_cache() {
    let psd = template();
    let mut p = Preview::open(&psd).unwrap();
    let so = design_uuid(&p);
    let shown = body(
        &so,
        serde_json::json!({ "url": "https://example.test/a.png" }),
    );
    p.set_artwork(&so, art(0));
    let first = p.render(&shown.to_string()).unwrap();
    // Same artwork again (cached decode): same picture.
    let again = p.render(&shown.to_string()).unwrap();
    assert!(first.rgba == again.rgba);
    // New artwork: the picture is the server's for the new artwork.
    p.set_artwork(&so, art(0x55));
    let second = p.render(&shown.to_string()).unwrap();
    let sent = body(
        &so,
        serde_json::json!({ "base64": encode_base64(&art(0x55)) }),
    );
    let (rgba, _, _) = server_pixels(&psd, &sent);
    assert!(second.rgba == rgba);
    assert!(first.rgba != second.rgba);
}

#[test]
fn an_option_change_reuses_the_decoded_artwork_and_matches_the_server() {
    let psd = template();
    let mut p = Preview::open(&psd).unwrap();
    let so = design_uuid(&p);
    p.set_artwork(&so, art(3));
    let mut shown = body(&so, serde_json::json!({ "base64": "x" }));
    p.render(&shown.to_string()).unwrap();
    shown["smart_objects"][0]["asset"]["rotate"] = 90.into();
    shown["smart_objects"][0]["asset"]["fit"] = "cover".into();
    shown["smart_objects"][0]["adjustment_layers"]["opacity"] = 40.into();
    let preview = p.render(&shown.to_string()).unwrap();
    let mut sent = shown.clone();
    sent["smart_objects"][0]["asset"]["base64"] = encode_base64(&art(3)).into();
    let (rgba, _, _) = server_pixels(&psd, &sent);
    assert!(preview.rgba == rgba);
}

#[test]
fn drafts_while_dragging_then_the_exact_frame_is_the_servers() {
    let psd = template();
    let mut p = Preview::open(&psd).unwrap();
    let so = design_uuid(&p);
    p.set_artwork(&so, art(9));
    let mut shown = body(&so, serde_json::json!({ "base64": "x" }));
    p.render(&shown.to_string()).unwrap();
    let server = |shown: &Value| {
        let mut sent = shown.clone();
        sent["smart_objects"][0]["asset"]["base64"] = encode_base64(&art(9)).into();
        server_pixels(&psd, &sent).0
    };
    // A dragged opacity slider and position handle: each draft is within
    // two levels (premultiplied) of the server's picture.
    for (i, opacity) in [80, 65, 50, 35].into_iter().enumerate() {
        shown["smart_objects"][0]["adjustment_layers"]["opacity"] = opacity.into();
        shown["smart_objects"][0]["asset"]["position"]["left"] = (7 + 9 * i).into();
        let req = p.request(&shown.to_string()).unwrap();
        let draft = p.render_request(&req, Rescale::Draft).unwrap();
        let want = server(&shown);
        let worst = draft
            .rgba
            .chunks_exact(4)
            .zip(want.chunks_exact(4))
            .map(|(a, b)| {
                let pm = |p: &[u8], c: usize| p[c] as i32 * p[3] as i32 / 255;
                (0..3)
                    .map(|c| (pm(a, c) - pm(b, c)).abs())
                    .chain([(a[3] as i32 - b[3] as i32).abs()])
                    .max()
                    .unwrap()
            })
            .max()
            .unwrap();
        assert!(worst <= 2, "draft {i} is {worst} levels off");
    }
    // At rest, the exact frame is the server's, pixel for pixel.
    let exact = p.render(&shown.to_string()).unwrap();
    assert!(
        exact.rgba == server(&shown),
        "the frame at rest differs from the server"
    );
}

#[test]
fn errors_have_kinds_and_words() {
    assert_eq!(
        Preview::open(b"8BPS but not really").err().unwrap().kind,
        ErrorKind::BadTemplate
    );
    let mut p = Preview::open(&template()).unwrap();
    let so = design_uuid(&p);
    // Every field error is listed, with the API's field paths.
    let mut bad = body(&so, serde_json::json!({ "base64": "x" }));
    bad["smart_objects"][0]["asset"]["rotate"] = 999.into();
    bad["export_options"]["quality"] = 0.into();
    let e = p.render(&bad.to_string()).err().unwrap();
    assert_eq!(e.kind, ErrorKind::BadRequest);
    assert!(
        e.message
            .contains("body -> smart_objects -> 0 -> asset -> base64"),
        "{}",
        e.message
    );
    assert!(
        e.message
            .contains("body -> smart_objects -> 0 -> asset -> rotate"),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("body -> export_options -> quality"),
        "{}",
        e.message
    );
    // Artwork set, but a smart object that is not in the template.
    let ghost = "00000000-0000-4000-8000-000000000000";
    p.set_artwork(ghost, art(0));
    let e = p
        .render(&body(ghost, serde_json::json!({})).to_string())
        .err()
        .unwrap();
    assert_eq!(e.kind, ErrorKind::UnknownLayer);
    assert_eq!(
        e.message,
        format!("Smart object {ghost} not found in mockup")
    );
    // Bytes that are not an image.
    p.set_artwork(&so, b"not an image".to_vec());
    let e = p
        .render(&body(&so, serde_json::json!({})).to_string())
        .err()
        .unwrap();
    assert_eq!(e.kind, ErrorKind::BadArtwork);
    // A URL with no artwork set: the preview does not fetch.
    p.clear_artwork(&so);
    let url = body(
        &so,
        serde_json::json!({ "url": "https://example.test/a.png" }),
    );
    let e = p.render(&url.to_string()).err().unwrap();
    assert_eq!(e.kind, ErrorKind::Unsupported);
    assert!(e.message.contains("drop the image file"), "{}", e.message);
    // Not JSON at all.
    assert_eq!(p.render("{").err().unwrap().kind, ErrorKind::BadRequest);
}

#[test]
fn a_request_with_nothing_to_change_is_the_template_as_it_is() {
    let psd = template();
    let mut p = Preview::open(&psd).unwrap();
    let body = r#"{"smart_objects": [], "export_options": {"image_format": "png", "image_size": "original"}}"#;
    let img = p.render(body).unwrap();
    let limits = Limits::default();
    let doc = compositor::open(&psd, &limits).unwrap();
    let (rgba, _) = compositor::composite_rgba8(&doc, &limits).unwrap();
    assert_eq!((img.width, img.height), (320, 240));
    assert!(img.rgba == rgba);
    assert!(p.request(body).unwrap().text_layers.is_empty());
}

#[test]
fn an_unknown_hidden_layer_is_refused_with_cached_artwork_too() {
    let mut p = Preview::open(&template()).unwrap();
    let so = design_uuid(&p);
    p.set_artwork(&so, art(1));
    let mut b = body(&so, serde_json::json!({}));
    p.render(&b.to_string()).unwrap();
    let ghost = "00000000-0000-4000-8000-00000000beef";
    b["hidden_layers"] = serde_json::json!([ghost]);
    let e = p.render(&b.to_string()).err().unwrap();
    assert_eq!(e.kind, ErrorKind::UnknownLayer);
    assert_eq!(e.message, format!("Layer {ghost} not found in mockup"));
}
