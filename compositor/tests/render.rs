//! Rendering requests end to end on real templates.

use compositor::doc::LayerKind;
use compositor::mockup::Rescale;
use compositor::request::{parse, MockupUuid};
use compositor::Limits;
use serde_json::json;

const FIXTURES: &str = "../../shared/fixtures/psd";

/// A 64 x 64 chart: white, with a solid 8 x 8 block in each corner (red
/// top-left, green top-right, blue bottom-right, yellow bottom-left).
fn chart_png() -> Vec<u8> {
    let mut rgba = vec![255u8; 64 * 64 * 4];
    let corners = [
        (0, 0, [255, 0, 0]),
        (56, 0, [0, 255, 0]),
        (56, 56, [0, 0, 255]),
        (0, 56, [255, 255, 0]),
    ];
    for (x0, y0, c) in corners {
        for y in y0..y0 + 8 {
            for x in x0..x0 + 8 {
                let i = (y * 64 + x) * 4;
                rgba[i..i + 3].copy_from_slice(&c);
            }
        }
    }
    compositor::encode::png_rgba8(&rgba, 64, 64).expect("png")
}

/// The template at `path` and the UUIDs of its smart objects, in order.
fn open_with_smart_objects(path: &str) -> (compositor::Document, Vec<String>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let doc = compositor::open(&bytes, &Limits::default()).expect("opens");
    let sos = doc
        .walk()
        .iter()
        .filter(|l| matches!(l.kind, LayerKind::SmartObject(_)))
        .map(|l| l.uuid.to_string())
        .collect();
    (doc, sos)
}

/// Replacing each smart object with the chart (every other layer hidden)
/// puts the chart's corner blocks at the transform's corners: the extreme
/// pixel of each colour lies within one pixel of where the quad (or, for
/// mesh warps, the warped frame) puts that corner.
#[test]
fn chart_corners_land_on_the_transform_corners() {
    let Ok(bytes) = std::fs::read(format!(
        "{FIXTURES}/PhotoshopAPI/smart_objects_transformed.psd"
    )) else {
        eprintln!("fixture missing; skipping");
        return;
    };
    let limits = Limits::default();
    let doc = compositor::open(&bytes, &limits).expect("opens");
    let chart = compositor::request::encode_base64(&chart_png());
    let all: Vec<String> = doc
        .walk()
        .iter()
        .filter(|l| !matches!(l.kind, LayerKind::Group { .. }))
        .map(|l| l.uuid.to_string())
        .collect();
    for name in ["control", "rotation", "perspective_transform"] {
        let layer = doc
            .walk()
            .into_iter()
            .find(|l| l.name == name)
            .expect("layer");
        let LayerKind::SmartObject(so) = &layer.kind else {
            panic!("{name} is a smart object")
        };
        let uuid = layer.uuid.to_string();
        let hidden: Vec<&String> = all.iter().filter(|u| **u != uuid).collect();
        let body = json!({
            "smart_objects": [{"uuid": uuid, "asset": {"base64": chart, "fit": "fill"}}],
            "hidden_layers": hidden,
            "export_options": {"image_size": "original", "image_format": "png"}
        });
        let req = parse(&body, MockupUuid::Optional).expect("valid request");
        let out = compositor::mockup::render(&doc, &req, &|_| Err("offline".into()), &limits)
            .expect("renders");
        let (rgba, w, _) = compositor::encode::decode_png_rgba8(&out.bytes, 1 << 24).expect("png");
        // For each corner colour, the pixel farthest toward the expected
        // corner, weighted by how strongly the pixel has that colour.
        let q = so.quad;
        let expect = [
            (q[0], q[1], [255, 0, 0]),
            (q[2], q[3], [0, 255, 0]),
            (q[4], q[5], [0, 0, 255]),
            (q[6], q[7], [255, 255, 0]),
        ];
        for (ex, ey, c) in expect {
            let mut best = (f64::INFINITY, 0.0, 0.0);
            for (i, p) in rgba.chunks_exact(4).enumerate() {
                let matches = p[3] > 200 && (0..3).all(|k| (p[k] as i32 - c[k]).abs() < 60);
                if !matches {
                    continue;
                }
                let (x, y) = ((i as u32 % w) as f64 + 0.5, (i as u32 / w) as f64 + 0.5);
                let d = (x - ex).hypot(y - ey);
                if d < best.0 {
                    best = (d, x, y);
                }
            }
            // The nearest fully coloured pixel centre is within a pixel and
            // a half of the corner (half a pixel of it is anti-aliasing).
            assert!(
                best.0 <= 1.5,
                "{name}: corner {c:?} expected at ({ex:.1}, {ey:.1}), nearest at ({:.1}, {:.1})",
                best.1,
                best.2
            );
        }
    }
}

#[test]
fn unknown_smart_objects_and_layers_are_reported() {
    let Ok(bytes) = std::fs::read(format!("{FIXTURES}/psd-tools/placedLayer.psd")) else {
        return;
    };
    let limits = Limits::default();
    let doc = compositor::open(&bytes, &limits).expect("opens");
    let body = json!({"smart_objects": [{"uuid": "00000000-0000-4000-8000-000000000000", "color": {"hex": "#ff0000"}}]});
    let req = parse(&body, MockupUuid::Optional).unwrap();
    let err =
        compositor::mockup::render(&doc, &req, &|_| Err("offline".into()), &limits).unwrap_err();
    assert!(
        matches!(err, compositor::mockup::RenderError::UnknownSmartObject(_)),
        "{err}"
    );
    let body = json!({"hidden_layers": ["00000000-0000-4000-8000-000000000000"]});
    let req = parse(&body, MockupUuid::Optional).unwrap();
    let err =
        compositor::mockup::render(&doc, &req, &|_| Err("offline".into()), &limits).unwrap_err();
    assert!(
        matches!(err, compositor::mockup::RenderError::UnknownLayer(_)),
        "{err}"
    );
    // Garbage artwork is the user's error, named.
    let so = compositor::inspect::inspect(&doc).smart_objects[0]
        .uuid
        .clone();
    let body = json!({"smart_objects": [{"uuid": so, "asset": {"base64": "AAAA"}}]});
    let req = parse(&body, MockupUuid::Optional).unwrap();
    let err =
        compositor::mockup::render(&doc, &req, &|_| Err("offline".into()), &limits).unwrap_err();
    assert!(
        matches!(err, compositor::mockup::RenderError::BadArtwork { .. }),
        "{err}"
    );
    // Tiles too small to draw in bounded time are refused, not attempted.
    let png = chart_png();
    let body = json!({"smart_objects": [{"uuid": so, "asset": {"base64": compositor::request::encode_base64(&png), "tile": true, "size": {"width": 1, "height": 1}}}]});
    let req = parse(&body, MockupUuid::Optional).unwrap();
    let err =
        compositor::mockup::render(&doc, &req, &|_| Err("offline".into()), &limits).unwrap_err();
    assert!(err.to_string().contains("tiles"), "{err}");
}

/// `dpi` is written into the file: a PNG `pHYs` chunk, a JPEG JFIF density;
/// without it, an "original" size render carries the template's resolution.
#[test]
fn dpi_is_written_into_the_file() {
    let Ok(bytes) = std::fs::read(format!("{FIXTURES}/psd-tools/placedLayer.psd")) else {
        return;
    };
    let limits = Limits::default();
    let doc = compositor::open(&bytes, &limits).expect("opens");
    let so = compositor::inspect::inspect(&doc).smart_objects[0]
        .uuid
        .clone();
    let render = |opts: serde_json::Value| {
        let body = json!({"smart_objects": [{"uuid": so, "color": {"hex": "#336699"}}], "export_options": opts});
        let req = parse(&body, MockupUuid::Optional).unwrap();
        compositor::mockup::render(&doc, &req, &|_| Err("offline".into()), &limits)
            .expect("renders")
            .bytes
    };
    // PNG: pHYs holds pixels per metre, unit 1.
    let png = render(json!({"image_format": "png", "image_size": 200, "dpi": 300}));
    let at = png
        .windows(4)
        .position(|w| w == b"pHYs")
        .expect("pHYs chunk");
    let ppm = u32::from_be_bytes(png[at + 4..at + 8].try_into().unwrap());
    assert_eq!((ppm, png[at + 12]), (11_811, 1));
    // JPEG: JFIF APP0 with unit 1 (dots per inch).
    let jpg = render(json!({"image_format": "jpg", "image_size": 200, "dpi": 144}));
    let at = jpg
        .windows(5)
        .position(|w| w == b"JFIF\0")
        .expect("JFIF header");
    assert_eq!(jpg[at + 7], 1);
    assert_eq!(u16::from_be_bytes([jpg[at + 8], jpg[at + 9]]), 144);
    // Original size without dpi: the template's own resolution.
    let expected = doc.resolution_dpi.map_or(72, |d| d.round() as u16);
    let jpg = render(json!({"image_format": "jpg", "image_size": "original"}));
    let at = jpg
        .windows(5)
        .position(|w| w == b"JFIF\0")
        .expect("JFIF header");
    assert_eq!(u16::from_be_bytes([jpg[at + 8], jpg[at + 9]]), expected);
}

/// The spec promises WebP files 30-70% smaller than PNG; at quality 90 a
/// render must be at least 40% smaller than the PNG of the same render, and
/// decode back close to it.
#[test]
fn webp_at_quality_90_is_much_smaller_than_png() {
    let bytes = std::fs::read("../fixtures/small-mockup.psd").expect("own fixture");
    let doc = compositor::open(&bytes, &Limits::default()).expect("opens");
    let design = doc
        .walk()
        .into_iter()
        .find(|l| l.name == "Design")
        .expect("design layer")
        .uuid
        .to_string();
    let render = |format: &str| {
        let body = json!({
            "smart_objects": [{"uuid": design, "asset": {"base64": compositor::request::encode_base64(&chart_png())}}],
            "export_options": {"image_format": format, "image_size": "original", "quality": 90}
        });
        let req = parse(&body, MockupUuid::Optional).expect("valid");
        compositor::mockup::render(&doc, &req, &|_| Err("offline".into()), &Limits::default())
            .expect("renders")
    };
    let (png, webp) = (render("png"), render("webp"));
    assert_eq!(webp.content_type, "image/webp");
    assert_eq!(&webp.bytes[8..12], b"WEBP");
    let ratio = webp.bytes.len() as f64 / png.bytes.len() as f64;
    assert!(
        ratio <= 0.6,
        "WebP {} bytes is {:.0}% of PNG {} bytes",
        webp.bytes.len(),
        ratio * 100.0,
        png.bytes.len()
    );
    let (a, ..) = compositor::encode::decode_image_rgba8(&png.bytes, u64::MAX).unwrap();
    let (b, ..) = compositor::encode::decode_image_rgba8(&webp.bytes, u64::MAX).unwrap();
    let psnr = compositor::metrics::psnr_premultiplied(&a, &b);
    assert!(psnr > 32.0, "WebP q90 PSNR {psnr:.1} dB");
    eprintln!(
        "WebP q90: {} bytes = {:.0}% of PNG ({} bytes), {psnr:.1} dB",
        webp.bytes.len(),
        ratio * 100.0,
        png.bytes.len()
    );
}

/// A smart object holding a layered PSD with a design slot keeps the inner
/// layers: with a plain white artwork in the slot (multiply), the fabric's
/// weave still shows on the canvas, where "Replace Contents" would paint
/// flat white. Without a slot the artwork replaces the whole contents.
#[test]
fn nested_design_slot_keeps_the_inner_layers() {
    let bytes = std::fs::read("../fixtures/nested-mockup.psd").expect("own fixture");
    let doc = compositor::open(&bytes, &Limits::default()).expect("opens");
    let so = doc
        .walk()
        .into_iter()
        .find(|l| l.name == "Shirt print")
        .expect("smart object")
        .uuid
        .to_string();
    let white = compositor::encode::png_rgba8(&[255; 16 * 16 * 4], 16, 16).unwrap();
    let body = json!({
        "smart_objects": [{"uuid": so, "asset": {"base64": compositor::request::encode_base64(&white)}}],
        "export_options": {"image_format": "png", "image_size": "original"}
    });
    let req = parse(&body, MockupUuid::Optional).expect("valid");
    let out =
        compositor::mockup::render(&doc, &req, &|_| Err("offline".into()), &Limits::default())
            .expect("renders");
    let (px, w, _) = compositor::encode::decode_png_rgba8(&out.bytes, u64::MAX).unwrap();
    // Sample a patch in the middle of the placed quad, away from the
    // highlight band: the weave alternates by 18 levels every 3 inner px.
    let (mut lo, mut hi) = (255u8, 0u8);
    for y in 100..116 {
        for x in 80..96 {
            let r = px[(y * w as usize + x) * 4];
            lo = lo.min(r);
            hi = hi.max(r);
        }
    }
    assert!(hi - lo >= 10, "weave lost: red spans {lo}..{hi}");
    assert!(
        hi < 250,
        "the slot was not multiplied over the fabric: {hi}"
    );

    // The same contents without a slot: a single-layer nested PSD
    // (ag-psd's placed-transform) is replaced whole; the chart's corner
    // test in chart_corners_land_on_the_transform_corners covers placement,
    // here only that the render differs from the stored layer.
    let Ok(bytes) = std::fs::read(format!("{FIXTURES}/ag-psd/placed-transform.psd")) else {
        return;
    };
    let doc = compositor::open(&bytes, &Limits::default()).expect("opens");
    let so = doc
        .walk()
        .into_iter()
        .find(|l| matches!(l.kind, LayerKind::SmartObject(_)))
        .expect("smart object")
        .uuid
        .to_string();
    let body = json!({
        "smart_objects": [{"uuid": so, "asset": {"base64": compositor::request::encode_base64(&white)}}],
        "export_options": {"image_format": "png", "image_size": "original"}
    });
    let req = parse(&body, MockupUuid::Optional).expect("valid");
    let out =
        compositor::mockup::render(&doc, &req, &|_| Err("offline".into()), &Limits::default())
            .expect("renders");
    let (px, ..) = compositor::encode::decode_png_rgba8(&out.bytes, u64::MAX).unwrap();
    let (stored, _) = compositor::composite_rgba8(&doc, &Limits::default()).unwrap();
    assert_ne!(px, stored, "the artwork replaced the single-layer contents");
}

/// `position` without `size` moves the smart object itself on the canvas:
/// its drawn bounds start at (left, top).
#[test]
fn position_without_size_moves_the_smart_object() {
    let bytes = std::fs::read("../fixtures/small-mockup.psd").expect("own fixture");
    let doc = compositor::open(&bytes, &Limits::default()).expect("opens");
    let layers = doc.walk();
    let design = layers
        .iter()
        .find(|l| l.name == "Design")
        .unwrap()
        .uuid
        .to_string();
    let hidden: Vec<String> = layers
        .iter()
        .filter(|l| l.name != "Design")
        .map(|l| l.uuid.to_string())
        .collect();
    for (left, top) in [(30, 20), (150, 100)] {
        let body = json!({
            "smart_objects": [{"uuid": design, "asset": {"base64": compositor::request::encode_base64(&chart_png()),
                "position": {"top": top, "left": left}}}],
            "hidden_layers": hidden,
            "export_options": {"image_format": "png", "image_size": "original"}
        });
        let req = parse(&body, MockupUuid::Optional).expect("valid");
        let out =
            compositor::mockup::render(&doc, &req, &|_| Err("offline".into()), &Limits::default())
                .expect("renders");
        let (px, w, h) = compositor::encode::decode_png_rgba8(&out.bytes, u64::MAX).unwrap();
        let (mut x0, mut y0) = (u32::MAX, u32::MAX);
        for y in 0..h {
            for x in 0..w {
                if px[((y * w + x) * 4 + 3) as usize] > 128 {
                    x0 = x0.min(x);
                    y0 = y0.min(y);
                }
            }
        }
        assert!(
            x0.abs_diff(left) <= 1 && y0.abs_diff(top) <= 1,
            "bounds start at ({x0}, {y0}), asked ({left}, {top})"
        );
    }
}

/// Instances of one contents all show the last request made for any of
/// them (Photoshop's "Replace Contents" replaces it everywhere): a request
/// per instance renders exactly as the last one alone, moves included.
#[test]
fn instances_of_one_contents_show_the_last_request() {
    let (doc, sos) = open_with_smart_objects(&format!(
        "{FIXTURES}/PhotoshopAPI/smart_objects_transformed.psd"
    ));
    assert!(sos.len() >= 3, "{}", sos.len());
    let chart = compositor::request::encode_base64(&chart_png());
    let render = |smart_objects: Vec<serde_json::Value>| {
        let body = json!({
            "smart_objects": smart_objects,
            "export_options": {"image_format": "png", "image_size": "original"}
        });
        let req = parse(&body, MockupUuid::Optional).expect("valid");
        compositor::mockup::render(&doc, &req, &|_| Err("offline".into()), &Limits::default())
            .expect("renders")
            .bytes
    };
    let last = json!({"uuid": sos[2], "asset": {"base64": chart, "fit": "contain",
        "position": {"top": 40, "left": 30}}});
    let every: Vec<serde_json::Value> = sos
        .iter()
        .take(2)
        .map(|u| {
            json!({"uuid": u, "color": {"hex": "#3366ff"},
            "asset": {"base64": chart, "fit": "fill", "rotate": 90}})
        })
        .chain([last.clone()])
        .collect();
    assert!(render(every) == render(vec![last]));
}

/// Smart objects given the same image share one fetch and one decode; what
/// each shows is what a separately decoded copy shows.
#[test]
fn one_image_in_several_smart_objects_is_fetched_and_decoded_once() {
    let (doc, sos) = open_with_smart_objects(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/small-mockup.psd"
    ));
    assert_eq!(sos.len(), 2);
    let chart = chart_png();
    let fetches = std::cell::Cell::new(0);
    let fetch = |url: &str| {
        fetches.set(fetches.get() + 1);
        match url {
            "https://art.test/chart.png" => Ok(chart.clone()),
            _ => Err(format!("no {url}")),
        }
    };
    let render = |first: serde_json::Value, second: serde_json::Value| {
        let body = json!({
            "smart_objects": [
                {"uuid": sos[0], "asset": first},
                {"uuid": sos[1], "asset": second},
            ],
            "export_options": {"image_format": "png", "image_size": "original"}
        });
        let req = parse(&body, MockupUuid::Optional).expect("valid");
        compositor::mockup::render(&doc, &req, &fetch, &Limits::default())
            .expect("renders")
            .bytes
    };
    let url = "https://art.test/chart.png";
    let shared = render(
        json!({"url": url, "fit": "cover", "rotate": 90}),
        json!({"url": url, "fit": "contain"}),
    );
    assert_eq!(fetches.get(), 1, "one fetch for one URL");
    // The same image from two different sources is decoded twice.
    let b64 = compositor::request::encode_base64(&chart);
    let separate = render(
        json!({"base64": b64, "fit": "cover", "rotate": 90}),
        json!({"url": format!("data:image/png;base64,{b64}"), "fit": "contain"}),
    );
    assert!(shared == separate);
}

/// A live preview recomposites only what a smart object can change
/// (`composite_reusing`): after every step of an editing session the
/// canvas equals a full composite of the same request, pixel for pixel, on
/// templates with perspective and warped smart objects, nested groups and
/// layer effects.
#[test]
fn reused_canvas_equals_a_full_composite() {
    let files = [
        "../fixtures/small-mockup.psd".to_string(),
        "../fixtures/nested-mockup.psd".to_string(),
        format!("{FIXTURES}/ag-psd/placed-transform.psd"),
        format!("{FIXTURES}/ag-psd/smart-object.psd"),
        format!("{FIXTURES}/ag-psd/psb-test.psb"),
        format!("{FIXTURES}/psd.rb/slices.psd"),
        format!("{FIXTURES}/PhotoshopAPI/smart_objects_transformed.psd"),
        format!("{FIXTURES}/psd-tools/rgb-blend-modes.psd"),
    ];
    let limits = Limits::default();
    let chart = compositor::request::encode_base64(&chart_png());
    let offline = |_: &str| -> Result<Vec<u8>, String> { Err("offline".into()) };
    let mut checked = 0;
    for file in &files {
        let Ok(bytes) = std::fs::read(file) else {
            eprintln!("{file} missing; skipped");
            continue;
        };
        let doc = compositor::open(&bytes, &limits).expect("opens");
        let sos: Vec<String> = doc
            .walk()
            .iter()
            .filter(|l| matches!(l.kind, LayerKind::SmartObject(_)))
            .take(3)
            .map(|l| l.uuid.to_string())
            .collect();
        let Some(first) = sos.first() else { continue };
        let other = doc
            .walk()
            .iter()
            .find(|l| !matches!(l.kind, LayerKind::SmartObject(_) | LayerKind::Group { .. }))
            .map(|l| l.uuid.to_string());
        let art = |extra: serde_json::Value| {
            let mut asset = json!({"base64": chart, "fit": "cover"});
            asset
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            asset
        };
        // An editing session: artwork on each smart object, then moves,
        // rotations, colour, adjustments, an artwork taken off, a layer
        // hidden (a full redraw) and shown again.
        let all = |extra: serde_json::Value| -> Vec<serde_json::Value> {
            sos.iter()
                .map(|u| json!({"uuid": u, "asset": art(extra.clone())}))
                .collect()
        };
        let adjusted = |adj: serde_json::Value| -> Vec<serde_json::Value> {
            sos.iter()
                .map(|u| {
                    json!({"uuid": u, "asset": art(json!({"fit": "contain", "rotate": 30})),
                    "adjustment_layers": adj})
                })
                .collect()
        };
        let mut steps = vec![
            json!({"smart_objects": all(json!({}))}),
            json!({"smart_objects": all(json!({"fit": "contain", "rotate": 30}))}),
            // Same layout, new adjustments: the remembered frames are reused.
            json!({"smart_objects": adjusted(json!({"opacity": 50}))}),
            json!({"smart_objects": adjusted(json!({"opacity": 80, "brightness": -30}))}),
            json!({"smart_objects": all(json!({"position": {"top": 5, "left": -7}, "size": {"width": 40}}))}),
            json!({"smart_objects": [{"uuid": first, "asset": art(json!({"flip_horizontal": true})),
                "color": {"hex": "#3366ff", "blending_mode": "multiply"},
                "adjustment_layers": {"brightness": 40, "opacity": 60, "blur": 2}}]}),
            json!({"smart_objects": [{"uuid": first, "color": {"hex": "#ff0000"}}]}),
        ];
        if let Some(other) = &other {
            steps.push(json!({"smart_objects": all(json!({"tile": true, "size": {"width": 24}})), "hidden_layers": [other]}));
        }
        steps.push(json!({"smart_objects": all(json!({"rotate": -90}))}));
        let mut cache = compositor::mockup::CanvasCache::default();
        let mut drafts = compositor::mockup::CanvasCache::default();
        let mut previous: Option<compositor::mockup::Composited> = None;
        let mut kept: Option<(Vec<(String, bool)>, compositor::mockup::Decoded)> = None;
        // Export sizes change along the way too: the scaled copy is reused,
        // rescaled where the change reaches, and dropped when stale.
        let sizes = [
            json!(333),
            json!(333),
            json!("original"),
            json!(333),
            json!(1000),
            json!(1000),
        ];
        for (i, step) in steps.iter().enumerate() {
            let mut body = step.clone();
            body["export_options"] =
                json!({"image_format": "png", "image_size": sizes[i % sizes.len()]});
            let req = parse(&body, MockupUuid::Optional).expect("valid request");
            let decoded =
                compositor::mockup::decode(&doc, &req, &offline, &limits).expect("decodes");
            let full = compositor::mockup::place(&doc, &req, &decoded, &limits)
                .and_then(|p| compositor::mockup::composite(&doc, &req, p, &limits))
                .expect("composites");
            // The preview's way: decoded artworks kept (remembering their
            // frames) while the request names artworks on the same entries.
            let shape: Vec<(String, bool)> = req
                .smart_objects
                .iter()
                .map(|s| (s.uuid.clone(), s.asset.is_some()))
                .collect();
            if kept.as_ref().is_none_or(|(k, _)| *k != shape) {
                let mut d =
                    compositor::mockup::decode(&doc, &req, &offline, &limits).expect("decodes");
                d.remember_layouts();
                kept = Some((shape, d));
            }
            let decoded = &kept.as_ref().unwrap().1;
            let reuse = |cache: &mut _, rescale| {
                compositor::mockup::place(&doc, &req, decoded, &limits)
                    .and_then(|p| {
                        compositor::mockup::composite_reusing(
                            &doc, &req, p, &limits, cache, rescale,
                        )
                    })
                    .expect("composites")
            };
            // A draft frame (the preview's while a slider moves): a few
            // pixels of the rescaled part round differently (measured: at
            // most 2 levels, premultiplied: a nearly transparent pixel's
            // colour can swing more and shows nothing); a stale or
            // misplaced part would be far off.
            let draft = reuse(&mut drafts, Rescale::Draft);
            // What the preview redraws on screen: outside `last_change`, the
            // draft is the previous one.
            if let (Some(r), Some(prev)) = (drafts.last_change(), &previous) {
                let prev: &compositor::mockup::Composited = prev;
                if (prev.width, prev.height) == (draft.width, draft.height) {
                    let w = draft.width as i32;
                    for (k, (a, b)) in draft
                        .rgba
                        .chunks_exact(4)
                        .zip(prev.rgba.chunks_exact(4))
                        .enumerate()
                    {
                        let (x, y) = (k as i32 % w, k as i32 / w);
                        let inside = x >= r.left && x < r.right && y >= r.top && y < r.bottom;
                        assert!(
                            inside || a == b,
                            "{file}, step {i}: ({x}, {y}) changed outside {r:?}"
                        );
                    }
                }
            }
            let premul = |p: &[u8]| -> [i32; 4] {
                let a = p[3] as i32;
                [
                    p[0] as i32 * a / 255,
                    p[1] as i32 * a / 255,
                    p[2] as i32 * a / 255,
                    a,
                ]
            };
            let off: Vec<i32> = draft
                .rgba
                .chunks_exact(4)
                .zip(full.rgba.chunks_exact(4))
                .map(|(a, b)| {
                    let (a, b) = (premul(a), premul(b));
                    (0..4).map(|c| (a[c] - b[c]).abs()).max().unwrap()
                })
                .filter(|&d| d > 0)
                .collect();
            let worst = off.iter().copied().max().unwrap_or(0);
            assert!(
                worst <= 2,
                "{file}, step {i}: a draft is {worst} levels off"
            );
            assert!(
                off.len() * 100 <= full.rgba.len() / 4,
                "{file}, step {i}: {} of {} draft pixels differ",
                off.len(),
                full.rgba.len() / 4
            );
            let reused = reuse(&mut cache, Rescale::Exact);
            previous = Some(draft);
            assert_eq!((reused.width, reused.height), (full.width, full.height));
            let differ = reused
                .rgba
                .chunks_exact(4)
                .zip(full.rgba.chunks_exact(4))
                .filter(|(a, b)| a != b)
                .count();
            assert_eq!(differ, 0, "{file}, step {i}: {differ} pixels differ");
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} steps checked");
}
