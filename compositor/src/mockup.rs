//! Rendering a mockup: a template plus a validated render request in, an
//! encoded image out. This is what `POST /api/v1/renders` and
//! `mockup render` do.
//!
//! Pipeline: decode each artwork -> prepare it in the smart object's frame
//! ([`artwork`]) -> carry it through the placed layer's quad or mesh warp
//! onto the canvas ([`place`], [`mesh`]) for every instance sharing those
//! contents -> re-composite the template with those layers replaced and the
//! hidden layers left out -> convert to sRGB -> scale to the export width ->
//! encode.

use crate::color;
use crate::doc::smart_object::SmartObject;
use crate::doc::{Document, Layer, LayerKind, Warning};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::render::composite::{composite_document, CompositeOptions};
use crate::render::mesh::{warp_mesh, BezierMesh};
use crate::render::place::{warp, Homography};
use crate::render::raster::{Raster, Rect};
use crate::render::{artwork, Context};
use crate::request::{AssetSource, ImageFormat, ImageSize, RenderRequest};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Why a render could not be made, in the API's terms.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RenderError {
    /// A smart object UUID of the request is not in the template (400).
    #[error("Smart object {0} not found in mockup")]
    UnknownSmartObject(String),
    /// A hidden layer UUID of the request is not in the template (400).
    #[error("Layer {0} not found in mockup")]
    UnknownLayer(String),
    /// An artwork could not be read (422: the user's data is at fault).
    #[error("Could not read the image for smart object {uuid}: {detail}")]
    BadArtwork {
        /// The smart object.
        uuid: String,
        /// What is wrong with it.
        detail: String,
    },
    /// An artwork URL could not be fetched (502).
    #[error("Could not download the image for smart object {uuid}: {detail}")]
    Fetch {
        /// The smart object.
        uuid: String,
        /// What went wrong.
        detail: String,
    },
    /// The template itself could not be rendered.
    #[error(transparent)]
    Compositor(#[from] Error),
}

/// A finished render.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The encoded file.
    pub bytes: Vec<u8>,
    /// Its MIME type.
    pub content_type: &'static str,
    /// Pixel size.
    pub width: u32,
    /// Pixel size.
    pub height: u32,
    /// What could not be rendered faithfully.
    pub warnings: Vec<Warning>,
}

/// Fetches the bytes of an artwork URL (the host's job: outbound policy,
/// timeouts and size caps live there). `data:` URLs never reach it.
pub type Fetch<'a> = dyn Fn(&str) -> std::result::Result<Vec<u8>, String> + 'a;

/// Renders `req` on `doc`.
pub fn render(
    doc: &Document,
    req: &RenderRequest,
    fetch: &Fetch<'_>,
    limits: &Limits,
) -> std::result::Result<Rendered, RenderError> {
    let layers = doc.walk();
    let by_uuid: HashMap<String, &Layer> =
        layers.iter().map(|l| (l.uuid.to_string(), *l)).collect();
    let mut hidden: HashSet<Uuid> = HashSet::new();
    for h in &req.hidden_layers {
        let l = by_uuid
            .get(h)
            .ok_or_else(|| RenderError::UnknownLayer(h.clone()))?;
        hidden.insert(l.uuid);
    }
    let canvas = Rect::new(0, 0, doc.width, doc.height);
    let mut replacements: HashMap<Uuid, Raster> = HashMap::new();
    let ctx = Context {
        info: &doc.color,
        patterns: &doc.patterns,
        canvas,
        limits,
    };
    for so_req in &req.smart_objects {
        let layer = by_uuid
            .get(&so_req.uuid)
            .copied()
            .filter(|l| matches!(l.kind, LayerKind::SmartObject(_)));
        let Some(LayerKind::SmartObject(so)) = layer.map(|l| &l.kind) else {
            return Err(RenderError::UnknownSmartObject(so_req.uuid.clone()));
        };
        let (fw, fh) = frame_size(so);
        Error::check_limit(
            "smart object contents pixels",
            fw as u64 * fh as u64,
            limits.max_layer_pixels,
        )?;
        // The artwork in the smart object's own frame, sRGB lanes.
        let mut frame = match &so_req.asset {
            Some(asset) => {
                let bytes = match &asset.source {
                    AssetSource::Bytes { data, .. } => data.clone(),
                    AssetSource::Url(u) if u.to_ascii_lowercase().starts_with("data:") => {
                        decode_data_url(u).ok_or_else(|| RenderError::BadArtwork {
                            uuid: so_req.uuid.clone(),
                            detail: "malformed data: URL".into(),
                        })?
                    }
                    AssetSource::Url(u) => fetch(u).map_err(|detail| RenderError::Fetch {
                        uuid: so_req.uuid.clone(),
                        detail,
                    })?,
                };
                let (rgba, w, h) =
                    crate::encode::decode_image_rgba8(&bytes, limits.max_layer_pixels).map_err(
                        |e| RenderError::BadArtwork {
                            uuid: so_req.uuid.clone(),
                            detail: e.to_string(),
                        },
                    )?;
                let art = Raster::from_rgba8(Rect::new(0, 0, w, h), &rgba).ok_or_else(|| {
                    RenderError::BadArtwork {
                        uuid: so_req.uuid.clone(),
                        detail: "decoded size mismatch".into(),
                    }
                })?;
                let n = artwork::copies(asset, w, h, fw, fh);
                if n > artwork::MAX_TILES {
                    return Err(RenderError::BadArtwork {
                        uuid: so_req.uuid.clone(),
                        detail: format!(
                            "the tile size makes {n} tiles; at most {} fit in one render",
                            artwork::MAX_TILES
                        ),
                    });
                }
                let mut placed = artwork::place_in_frame(&art, asset, fw, fh);
                artwork::adjust(&mut placed, &so_req.adjustments);
                if let Some(c) = &so_req.color {
                    let rgb = c.rgb.map(|v| v as f32 / 255.0);
                    artwork::overlay_color(
                        &mut placed,
                        [rgb[0], rgb[1], rgb[2], 0.0],
                        c.blend_mode,
                    );
                }
                placed
            }
            None => {
                let c = so_req
                    .color
                    .as_ref()
                    .map_or([0, 0, 0], |c| c.rgb)
                    .map(|v| v as f32 / 255.0);
                let mut r = artwork::solid_frame(fw, fh, [c[0], c[1], c[2], 0.0]);
                artwork::adjust(&mut r, &so_req.adjustments);
                r
            }
        };
        // The request's colours are sRGB; the template composites in its
        // own working space.
        to_working(&mut frame, &ctx);
        // Every instance of the same contents changes together.
        for l in &layers {
            if let LayerKind::SmartObject(other) = &l.kind {
                if other.placed_id == so.placed_id {
                    replacements.insert(l.uuid, place_on_canvas(&frame, other, canvas));
                }
            }
        }
    }
    let opts = CompositeOptions {
        hidden,
        replacements,
    };
    let c = composite_document(doc, limits, &opts)?;
    let rgba = color::to_rgba8(&doc.color, &c.raster.color, &c.raster.alpha);
    let (rgba, w, h) = scale_to(rgba, doc.width, doc.height, req.export_options.image_size);
    // The file carries the requested resolution, else (at the template's
    // own size) the template's, else 72 dpi.
    let dpi = req
        .export_options
        .dpi
        .unwrap_or_else(|| match req.export_options.image_size {
            ImageSize::Original => doc
                .resolution_dpi
                .map_or(72, |d| d.round().clamp(1.0, 65_535.0) as u32),
            ImageSize::Width(_) => 72,
        });
    let (bytes, content_type) = encode(
        &rgba,
        w,
        h,
        req.export_options.image_format,
        req.export_options.quality,
        dpi,
    )?;
    let mut warnings = doc.warnings.clone();
    warnings.extend(c.warnings);
    Ok(Rendered {
        bytes,
        content_type,
        width: w,
        height: h,
        warnings,
    })
}

/// The contents frame size in whole pixels (at least 1 x 1).
fn frame_size(so: &SmartObject) -> (u32, u32) {
    let clamp = |v: f64| v.round().clamp(1.0, 30_000.0) as u32;
    (clamp(so.content_size.0), clamp(so.content_size.1))
}

/// Draws a prepared frame through a placed layer's transform.
fn place_on_canvas(frame: &Raster, so: &SmartObject, canvas: Rect) -> Raster {
    let (fw, fh) = (frame.rect.width() as f64, frame.rect.height() as f64);
    if let Some(w) = &so.warp {
        if let Some(mesh) = BezierMesh::from_warp(w, fw, fh) {
            let (bw, bh) = mesh.bounds_size();
            if let Some(h) = Homography::from_rect_to_quad(bw, bh, &so.quad) {
                return warp_mesh(frame, &mesh, &h, canvas);
            }
        }
    }
    match Homography::from_rect_to_quad(fw, fh, &so.quad) {
        Some(h) => warp(frame, &h, canvas),
        None => Raster::transparent(Rect::default()),
    }
}

/// Converts sRGB lanes to the document's working space in place.
fn to_working(r: &mut Raster, ctx: &Context<'_>) {
    if matches!(ctx.info.mode, Some(color::ColorMode::Rgb) | None) && ctx.info.depth != 32 {
        return;
    }
    let conv = color::WorkingConverter::cached(ctx.info);
    for c in &mut r.color {
        *c = conv.srgb_to_lanes([c[0], c[1], c[2]]);
    }
}

/// Resizes RGBA8 to the export width (height by aspect ratio) with a
/// Catmull-Rom filter on premultiplied pixels.
fn scale_to(rgba: Vec<u8>, w: u32, h: u32, size: ImageSize) -> (Vec<u8>, u32, u32) {
    let ImageSize::Width(target) = size else {
        return (rgba, w, h);
    };
    if target == w || w == 0 {
        return (rgba, w, h);
    }
    let th = ((h as f64 * target as f64 / w as f64).round() as u32).max(1);
    let Some(mut img) = image::RgbaImage::from_raw(w, h, rgba) else {
        return (Vec::new(), 0, 0);
    };
    // Premultiply so transparent pixels' colour does not bleed.
    for p in img.pixels_mut() {
        let a = p[3] as u32;
        for c in 0..3 {
            p[c] = ((p[c] as u32 * a + 127) / 255) as u8;
        }
    }
    let mut out =
        image::imageops::resize(&img, target, th, image::imageops::FilterType::CatmullRom);
    for p in out.pixels_mut() {
        let a = p[3] as u32;
        if a > 0 && a < 255 {
            for c in 0..3 {
                p[c] = ((p[c] as u32 * 255 + a / 2) / a).min(255) as u8;
            }
        }
    }
    (out.into_raw(), target, th)
}

/// Encodes RGBA8 in the requested format.
fn encode(
    rgba: &[u8],
    w: u32,
    h: u32,
    format: ImageFormat,
    quality: u8,
    dpi: u32,
) -> Result<(Vec<u8>, &'static str)> {
    match format {
        ImageFormat::Png => Ok((
            crate::encode::png_rgba8_dpi(rgba, w, h, Some(dpi))?,
            "image/png",
        )),
        ImageFormat::Jpg => {
            // JPEG has no alpha: flatten over white first.
            let mut flat = rgba.to_vec();
            crate::metrics::flatten_over_white(&mut flat);
            let rgb: Vec<u8> = flat
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect();
            let mut out = Vec::new();
            let mut enc =
                image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100));
            enc.set_pixel_density(image::codecs::jpeg::PixelDensity::dpi(
                dpi.min(u16::MAX as u32) as u16,
            ));
            enc.encode(&rgb, w, h, image::ExtendedColorType::Rgb8)
                .map_err(|e| Error::Codec(e.to_string()))?;
            Ok((out, "image/jpeg"))
        }
        ImageFormat::Webp => Err(Error::unsupported(
            "image format",
            "lossy WebP is not available yet; use png or jpg",
        )),
    }
}

/// Bytes of a `data:[<type>][;base64],<data>` URL.
fn decode_data_url(u: &str) -> Option<Vec<u8>> {
    let rest = &u[5..];
    let (meta, data) = rest.split_once(',')?;
    if meta.ends_with(";base64") {
        crate::request::decode_base64(data)
    } else {
        Some(data.as_bytes().to_vec())
    }
}
