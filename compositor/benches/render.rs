//! Full mockup renders: a perspective smart object (`ag-psd/placed-transform.psd`)
//! and a mesh-warped one (`PhotoshopAPI/smart_objects_transformed.psd`, every
//! other layer hidden), with a 1600 x 1200 artwork, to JPEG, PNG and WebP at
//! 1920 px and 4000 px wide and at the template's size, the whole render and each of its four stages
//! (decode, place, composite, encode) on its own.
//! Run: `cargo bench -p compositor --bench render`.

// Allocate as the `mockup` host does, so large per-render buffers are
// reused instead of being faulted in afresh on every iteration.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use compositor::mockup;
use compositor::request::{parse, MockupUuid};
use compositor::Limits;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use serde_json::json;

fn artwork_png() -> Vec<u8> {
    let (w, h) = (1600u32, 1200u32);
    let mut rgba = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            rgba.extend([
                (x * 255 / w) as u8,
                (y * 255 / h) as u8,
                ((x ^ y) & 255) as u8,
                255,
            ]);
        }
    }
    compositor::encode::png_rgba8(&rgba, w, h).expect("png")
}

fn bench(c: &mut Criterion) {
    let limits = Limits::default();
    let art = compositor::request::encode_base64(&artwork_png());
    let mut group = c.benchmark_group("render");
    group.sample_size(10);
    for (rel, layer) in [
        ("ag-psd/placed-transform.psd", "Layer 1"),
        (
            "PhotoshopAPI/smart_objects_transformed.psd",
            "no_bbox_change_perspective_warp",
        ),
    ] {
        let path = format!("../../shared/fixtures/psd/{rel}");
        let Ok(bytes) = std::fs::read(&path) else {
            eprintln!("{path} missing; skipped");
            continue;
        };
        let doc = compositor::open(&bytes, &limits).expect("fixture opens");
        let target = doc
            .walk()
            .into_iter()
            .find(|l| l.name == layer)
            .expect("layer")
            .uuid
            .to_string();
        let hidden: Vec<String> = doc
            .walk()
            .iter()
            .filter(|l| {
                l.uuid.to_string() != target
                    && !matches!(l.kind, compositor::doc::LayerKind::Group { .. })
            })
            .filter(|_| rel.contains("transformed"))
            .map(|l| l.uuid.to_string())
            .collect();
        let offline = |_: &str| -> Result<Vec<u8>, String> { Err("offline".into()) };
        for (format, size) in [
            ("jpg", json!(1920)),
            ("webp", json!(1920)),
            ("png", json!(1920)),
            ("jpg", json!(4000)),
            ("jpg", json!("original")),
            ("webp", json!("original")),
        ] {
            let body = json!({
                "smart_objects": [{"uuid": target, "asset": {"base64": art, "fit": "cover"}}],
                "hidden_layers": hidden,
                "export_options": {"image_format": format, "image_size": size, "quality": 90}
            });
            let req = parse(&body, MockupUuid::Optional).expect("valid request");
            let id = |stage: &str| {
                BenchmarkId::new(
                    format!("{rel}/{format}/{stage}"),
                    size.to_string().replace('"', ""),
                )
            };
            group.bench_with_input(id("full"), &req, |b, req| {
                b.iter(|| mockup::render(&doc, req, &offline, &limits).expect("renders"))
            });
            if format != "jpg" || size != json!(1920) {
                // The stages before encoding do not depend on the format;
                // split the 1920-px JPEG render only, plus every encoder.
                let decoded = mockup::decode(&doc, &req, &offline, &limits).expect("decodes");
                let placed = mockup::place(&doc, &req, &decoded, &limits).expect("places");
                let image = mockup::composite(&doc, &req, placed, &limits).expect("composites");
                group.bench_with_input(id("encode"), &req, |b, req| {
                    b.iter_batched(
                        || image.clone(),
                        |image| mockup::encode(image, req).expect("encodes"),
                        criterion::BatchSize::LargeInput,
                    )
                });
                continue;
            }
            group.bench_with_input(id("decode"), &req, |b, req| {
                b.iter(|| mockup::decode(&doc, req, &offline, &limits).expect("decodes"))
            });
            let decoded = mockup::decode(&doc, &req, &offline, &limits).expect("decodes");
            group.bench_with_input(id("place"), &req, |b, req| {
                b.iter(|| mockup::place(&doc, req, &decoded, &limits).expect("places"))
            });
            group.bench_with_input(id("composite"), &req, |b, req| {
                b.iter_batched(
                    || mockup::place(&doc, req, &decoded, &limits).expect("places"),
                    |placed| mockup::composite(&doc, req, placed, &limits).expect("composites"),
                    criterion::BatchSize::LargeInput,
                )
            });
            let placed = mockup::place(&doc, &req, &decoded, &limits).expect("places");
            let image = mockup::composite(&doc, &req, placed, &limits).expect("composites");
            group.bench_with_input(id("encode"), &req, |b, req| {
                b.iter_batched(
                    || image.clone(),
                    |image| mockup::encode(image, req).expect("encodes"),
                    criterion::BatchSize::LargeInput,
                )
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
