//! Smart-object placement measured against Photoshop: each placed layer's
//! stored pixels are Photoshop's own rendering of its contents through its
//! transform, so re-rendering the embedded contents through the same quad
//! must reproduce them. Prints the PSNR of every affine, perspective and
//! mesh-warped smart object of the fixtures that embed decodable contents.

use compositor::doc::{LayerKind, SmartObject};
use compositor::metrics::psnr_premultiplied;
use compositor::render::mesh::{warp_mesh, BezierMesh};
use compositor::render::place::{downscale_box, warp, Homography};
use compositor::render::raster::{Raster, Rect};
use compositor::Limits;

const FIXTURES: &str = "../../shared/fixtures/psd";

/// The contents of a smart object as a raster in its own frame.
fn contents(so: &SmartObject, limits: &Limits) -> Option<Raster> {
    let data = so.data.as_ref()?;
    let (rgba, w, h) = match compositor::open(data, limits) {
        Ok(doc) => {
            let (rgba, _) = compositor::composite_rgba8(&doc, limits).ok()?;
            (rgba, doc.width, doc.height)
        }
        Err(_) => compositor::encode::decode_image_rgba8(data, limits.max_canvas_pixels).ok()?,
    };
    Raster::from_rgba8(Rect::new(0, 0, w, h), &rgba)
}

fn to_rgba8(r: &Raster, area: Rect) -> Vec<u8> {
    let mut out = Vec::with_capacity(area.area() as usize * 4);
    for y in area.top..area.bottom {
        for x in area.left..area.right {
            let (c, a) = r
                .index(x, y)
                .map_or(([0.0; 4], 0.0), |i| (r.color[i], r.alpha[i]));
            for v in [c[0], c[1], c[2], a] {
                out.push((v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8);
            }
        }
    }
    out
}

#[test]
fn placed_layers_match_photoshop() {
    let limits = Limits::default();
    let mut scores = Vec::new();
    for rel in [
        "PhotoshopAPI/smart_objects_transformed.psd",
        "ag-psd/placed-transform.psd",
        "ag-psd/smart-object.psd",
        "psd-tools/placedLayer.psd",
    ] {
        let Ok(bytes) = std::fs::read(format!("{FIXTURES}/{rel}")) else {
            eprintln!("{rel} missing; skipping");
            continue;
        };
        let doc = compositor::open(&bytes, &limits).expect("fixture opens");
        for layer in doc.walk() {
            let LayerKind::SmartObject(so) = &layer.kind else {
                continue;
            };
            let (Some(src), Some(stored)) = (contents(so, &limits), layer.pixels.as_ref()) else {
                continue;
            };
            let canvas = Rect::new(0, 0, doc.width, doc.height);
            let ours = if let Some(w) = &so.warp {
                let (w0, h0) = (src.rect.width() as f64, src.rect.height() as f64);
                let Some(mesh) = BezierMesh::from_warp(w, w0, h0) else {
                    println!(
                        "{rel:<46} {:<36} warp style {} not rendered",
                        layer.name, w.style
                    );
                    continue;
                };
                let (bw, bh) = mesh.bounds_size();
                let Some(hom) = Homography::from_rect_to_quad(bw, bh, &so.quad) else {
                    continue;
                };
                warp_mesh(&src, &mesh, &hom, canvas)
            } else {
                let (w, h) = (src.rect.width() as f64, src.rect.height() as f64);
                let Some(hom) = Homography::from_rect_to_quad(w, h, &so.quad) else {
                    continue;
                };
                // Reduce strongly minified contents first so no source pixel
                // is skipped; the reduced frame is the same frame in coarser
                // pixels.
                let quad_w = ((so.quad[2] - so.quad[0]).hypot(so.quad[3] - so.quad[1])).max(1.0);
                let factor = (w / quad_w).floor().max(1.0) as u32;
                if factor > 1 {
                    let f = factor as f64;
                    let hom = Homography::from_rect_to_quad(w / f, h / f, &so.quad).unwrap_or(hom);
                    warp(&downscale_box(&src, factor), &hom, canvas)
                } else {
                    warp(&src, &hom, canvas)
                }
            };
            let area = stored.rect.intersect(&canvas);
            let theirs = stored.to_raster(area);
            let psnr =
                psnr_premultiplied(&to_rgba8(&ours, area), &to_rgba8(&theirs, area)).min(99.0);
            println!(
                "{rel:<46} {:<36} {:?} {psnr:6.1} dB",
                layer.name, so.transform_kind
            );
            scores.push((format!("{rel}:{}", layer.name), psnr));
        }
    }
    if scores.is_empty() {
        return;
    }
    let mut sorted: Vec<f64> = scores.iter().map(|s| s.1).collect();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    println!(
        "{} placed layers: median {median:.1} dB, worst {:.1} dB",
        sorted.len(),
        sorted[0]
    );
    // Regression floor (measured: median 39 dB, worst 27 dB).
    assert!(
        median >= 35.0 && sorted[0] >= 25.0,
        "placement drifted from Photoshop's rendering: {scores:?}"
    );
}
