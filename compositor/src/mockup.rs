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
use crate::doc::smart_object::{is_design_slot, SmartObject};
use crate::doc::{Document, Layer, LayerKind, Warning};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::render::composite::{composite_document, effect_reach, CompositeOptions};
use crate::render::mesh::{warp_mesh, BezierMesh};
use crate::render::place::{warp, Homography};
use crate::render::raster::{Raster, Rect};
use crate::render::{artwork, scale, Context};
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

/// Renders `req` on `doc`: the four stages below, in order.
pub fn render(
    doc: &Document,
    req: &RenderRequest,
    fetch: &Fetch<'_>,
    limits: &Limits,
) -> std::result::Result<Rendered, RenderError> {
    let decoded = decode(doc, req, fetch, limits)?;
    let placed = place(doc, req, &decoded, limits)?;
    let image = composite(doc, req, placed, limits)?;
    Ok(encode(image, req)?)
}

/// Stage 1 output: the request's artworks, decoded, one per smart-object
/// entry (`None` for a colour-only entry).
pub struct Decoded {
    artworks: Vec<Option<artwork::Artwork>>,
}

impl Decoded {
    /// Keeps, per artwork, the last frame stage 2 drew it into, for callers
    /// that place the same decoded artworks again with new options (a live
    /// preview): a change of adjustments or colour then skips the warp into
    /// the frame. Costs a copy of each frame per placement.
    pub fn remember_layouts(&mut self) {
        for a in self.artworks.iter_mut().flatten() {
            a.remember_layout();
        }
    }
}

/// Stage 2 output: the layers to leave out and the placed layers' new
/// pixels on the canvas.
pub struct Placed {
    hidden: HashSet<Uuid>,
    replacements: HashMap<Uuid, Raster>,
}

/// Stage 3 output: the finished picture at export size, before encoding.
#[derive(Debug, Clone)]
pub struct Composited {
    /// Straight-alpha sRGB RGBA8 pixels.
    pub rgba: Vec<u8>,
    /// Pixel size.
    pub width: u32,
    /// Pixel size.
    pub height: u32,
    /// The resolution to record in the file.
    pub dpi: u32,
    /// What could not be rendered faithfully.
    pub warnings: Vec<Warning>,
}

/// The smart object a request entry names, or the API's 400.
fn smart_object<'d>(
    by_uuid: &HashMap<String, &'d Layer>,
    uuid: &str,
) -> std::result::Result<&'d SmartObject, RenderError> {
    match by_uuid.get(uuid).map(|l| &l.kind) {
        Some(LayerKind::SmartObject(so)) => Ok(so),
        _ => Err(RenderError::UnknownSmartObject(uuid.to_string())),
    }
}

/// Stage 1: checks every UUID of the request against the template (before
/// any work), then fetches and decodes each artwork, refusing oversized
/// images before their pixels are decoded.
pub fn decode(
    doc: &Document,
    req: &RenderRequest,
    fetch: &Fetch<'_>,
    limits: &Limits,
) -> std::result::Result<Decoded, RenderError> {
    let layers = doc.walk();
    let by_uuid: HashMap<String, &Layer> =
        layers.iter().map(|l| (l.uuid.to_string(), *l)).collect();
    for h in &req.hidden_layers {
        if !by_uuid.contains_key(h) {
            return Err(RenderError::UnknownLayer(h.clone()));
        }
    }
    for so_req in &req.smart_objects {
        let so = smart_object(&by_uuid, &so_req.uuid)?;
        let (fw, fh) = frame_size(so);
        Error::check_limit(
            "smart object contents pixels",
            fw as u64 * fh as u64,
            limits.max_layer_pixels,
        )?;
    }
    let mut artworks: Vec<Option<artwork::Artwork>> = Vec::with_capacity(req.smart_objects.len());
    // The sources decoded so far and where: smart objects given the same
    // image (one design on every mug of a set, every instance of a
    // pattern) share one decode and one set of reductions. Decoding took
    // half of a 54-instance render.
    let mut decoded: Vec<(&AssetSource, usize)> = Vec::new();
    for so_req in &req.smart_objects {
        let Some(asset) = &so_req.asset else {
            artworks.push(None);
            continue;
        };
        let same = decoded
            .iter()
            .find(|(source, _)| same_image(source, &asset.source))
            .and_then(|&(_, i)| artworks[i].as_ref());
        if let Some(first) = same {
            artworks.push(Some(first.sharing()));
            continue;
        }
        let bad = |detail: String| RenderError::BadArtwork {
            uuid: so_req.uuid.clone(),
            detail,
        };
        let bytes = match &asset.source {
            AssetSource::Bytes { data, .. } => std::borrow::Cow::Borrowed(data.as_slice()),
            AssetSource::Url(u) if u.to_ascii_lowercase().starts_with("data:") => {
                std::borrow::Cow::Owned(
                    decode_data_url(u).ok_or_else(|| bad("malformed data: URL".into()))?,
                )
            }
            AssetSource::Url(u) => {
                std::borrow::Cow::Owned(fetch(u).map_err(|detail| RenderError::Fetch {
                    uuid: so_req.uuid.clone(),
                    detail,
                })?)
            }
        };
        let px = crate::encode::decode_image8(&bytes, limits.max_layer_pixels)
            .map_err(|e| bad(e.to_string()))?;
        let rect = Rect::new(0, 0, px.width, px.height);
        let art = match px.channels {
            3 => Raster::from_rgb8(rect, &px.data),
            _ => Raster::from_rgba8(rect, &px.data),
        }
        .ok_or_else(|| bad("decoded size mismatch".into()))?;
        decoded.push((&asset.source, artworks.len()));
        artworks.push(Some(artwork::Artwork::new(art)));
    }
    Ok(Decoded { artworks })
}

/// Whether two asset sources are the same image: the same bytes (slices
/// compare their lengths first), or the same URL, fetched once.
fn same_image(a: &AssetSource, b: &AssetSource) -> bool {
    match (a, b) {
        (AssetSource::Bytes { data: x, .. }, AssetSource::Bytes { data: y, .. }) => x == y,
        (AssetSource::Url(x), AssetSource::Url(y)) => x == y,
        _ => false,
    }
}

/// Stage 2: prepares each artwork in its smart object's frame (fit,
/// rotation, flips, size, position, tiles, adjustments, colour) and carries
/// it through the placed layer's transform onto the canvas, for every
/// instance sharing those contents.
pub fn place(
    doc: &Document,
    req: &RenderRequest,
    decoded: &Decoded,
    limits: &Limits,
) -> std::result::Result<Placed, RenderError> {
    let layers = doc.walk();
    let by_uuid: HashMap<String, &Layer> =
        layers.iter().map(|l| (l.uuid.to_string(), *l)).collect();
    let hidden: HashSet<Uuid> = req
        .hidden_layers
        .iter()
        .filter_map(|h| by_uuid.get(h).map(|l| l.uuid))
        .collect();
    let canvas = Rect::new(0, 0, doc.width, doc.height);
    let ctx = Context {
        info: &doc.color,
        patterns: &doc.patterns,
        canvas,
        limits,
    };
    // Every instance of one contents shows the last request for any of
    // them (replacing contents replaces it everywhere, as in Photoshop), so
    // only that request is drawn. A template listing n instances of one
    // contents gets n requests: drawing each, over all n instances, was n²
    // placements (1.7 s for the 11 instances of PhotoshopAPI's
    // smart_objects_transformed.psd).
    let mut last_request: HashMap<&str, usize> = HashMap::new();
    for (i, so_req) in req.smart_objects.iter().enumerate() {
        if let Ok(so) = smart_object(&by_uuid, &so_req.uuid) {
            last_request.insert(so.placed_id.as_str(), i);
        }
    }
    let mut replacements: HashMap<Uuid, Raster> = HashMap::new();
    for (i, (so_req, art)) in req.smart_objects.iter().zip(&decoded.artworks).enumerate() {
        let so = smart_object(&by_uuid, &so_req.uuid)?;
        let (fw, fh) = frame_size(so);
        if let (Some(asset), Some(art)) = (&so_req.asset, art) {
            let (w, h) = (art.pixels().rect.width(), art.pixels().rect.height());
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
        }
        if last_request.get(so.placed_id.as_str()) != Some(&i) {
            continue;
        }
        // The artwork in the smart object's own frame, sRGB lanes.
        let mut frame = match (&so_req.asset, art) {
            (Some(asset), Some(art)) => {
                let mut placed = artwork::place_in_frame(art, asset, fw, fh);
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
            _ => {
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
        // A layered smart object with a design slot keeps its other inner
        // layers: the artwork replaces the slot, and the inner document is
        // composited into the frame. Otherwise the artwork replaces the
        // whole contents, as Photoshop's "Replace Contents" does.
        if let Some(inner) = nested_with_slot(so, limits) {
            frame = composite_nested(&inner, frame, limits)?;
        }
        // The request's colours are sRGB; the template composites in its
        // own working space.
        to_working(&mut frame, &ctx);
        // Every instance of the same contents changes together; instances
        // that will not be drawn are not placed.
        for l in &layers {
            if let LayerKind::SmartObject(other) = &l.kind {
                if other.placed_id == so.placed_id && l.visible && !hidden.contains(&l.uuid) {
                    // `position` without `size` moves the requested smart
                    // object itself on the canvas (its bounds' top-left to
                    // left/top), as the official SDK documents.
                    let moved = match so_req.asset.as_ref().map(|a| (a.size, a.position)) {
                        Some((None, Some((top, left)))) if l.uuid.to_string() == so_req.uuid => {
                            Some(moved_to(other, left, top))
                        }
                        _ => None,
                    };
                    let target = moved.as_ref().unwrap_or(other);
                    replacements.insert(l.uuid, place_on_canvas(&frame, target, canvas));
                }
            }
        }
    }
    Ok(Placed {
        hidden,
        replacements,
    })
}

/// Stage 3: re-composites the template with the placed layers replaced and
/// the hidden layers left out, converts to sRGB and scales to the export
/// width.
pub fn composite(
    doc: &Document,
    req: &RenderRequest,
    placed: Placed,
    limits: &Limits,
) -> std::result::Result<Composited, RenderError> {
    let (rgba, _, warnings) = composite_srgb(doc, limits, placed, None)?;
    Ok(finish(doc, req, rgba, warnings))
}

/// Composites the template, or the `region` of it, with the placed layers
/// replaced and the hidden ones left out, in sRGB RGBA8: the pixels, the
/// rectangle they cover and the warnings.
fn composite_srgb(
    doc: &Document,
    limits: &Limits,
    placed: Placed,
    region: Option<Rect>,
) -> std::result::Result<(Vec<u8>, Rect, Vec<Warning>), RenderError> {
    let opts = CompositeOptions {
        hidden: placed.hidden,
        replacements: placed.replacements,
        region,
    };
    let c = composite_document(doc, limits, &opts)?;
    let rgba = color::to_rgba8(&doc.color, &c.raster.color, &c.raster.alpha);
    Ok((rgba, c.raster.rect, c.warnings))
}

/// The finished canvas of one template kept between renders, for live
/// previews: [`composite_reusing`] then recomposites only the part of the
/// canvas that the smart objects' new contents can change.
#[derive(Debug, Default)]
pub struct CanvasCache {
    canvas: Option<CachedCanvas>,
    last_change: Option<Rect>,
}

impl CanvasCache {
    /// The part of the last export that can differ from the export before
    /// it (same size, same cache), in export pixels; `None` when all of it
    /// may. A preview redraws just this part on screen.
    pub fn last_change(&self) -> Option<Rect> {
        self.last_change
    }
}

#[derive(Debug)]
struct CachedCanvas {
    /// The whole canvas, straight-alpha sRGB RGBA8.
    rgba: Vec<u8>,
    /// The layers left out of it.
    hidden: HashSet<Uuid>,
    /// Where each replaced layer's new contents were drawn.
    drawn: HashMap<Uuid, Rect>,
    /// What could not be rendered faithfully in it.
    warnings: Vec<Warning>,
    /// The canvas at the last export size other than its own: width,
    /// height, pixels.
    scaled: Option<(u32, u32, Vec<u8>)>,
}

/// How [`composite_reusing`] scales the canvas to the export size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rescale {
    /// The whole canvas: the server's pixels exactly.
    Exact,
    /// Only the part the change reaches, pasted into the last export
    /// ([`scale::rgba8_part`]): a few pixels there may be a level or two off
    /// the server's. For frames shown while an option is being dragged, followed
    /// by an exact one when it stops.
    Draft,
}

/// [`composite`], reusing the canvas of the previous call with the same
/// `cache`: when the same layers are hidden, only the smart objects' old
/// and new areas, grown by the document's [`effect_reach`] (twice: once for
/// what their effects change, once for what those pixels read), are
/// recomposited and pasted in. The pixels equal [`composite`]'s, which a
/// test checks on real templates.
///
/// The export is scaled as `rescale` says; [`Rescale::Exact`] gives
/// [`composite`]'s pixels.
pub fn composite_reusing(
    doc: &Document,
    req: &RenderRequest,
    placed: Placed,
    limits: &Limits,
    cache: &mut CanvasCache,
    rescale: Rescale,
) -> std::result::Result<Composited, RenderError> {
    let canvas = Rect::new(0, 0, doc.width, doc.height);
    let drawn: HashMap<Uuid, Rect> = placed
        .replacements
        .iter()
        .map(|(u, r)| (*u, r.rect))
        .collect();
    let reusable = cache
        .canvas
        .as_ref()
        .filter(|c| c.hidden == placed.hidden && c.rgba.len() == canvas.area() as usize * 4);
    let Some(old) = reusable else {
        let hidden = placed.hidden.clone();
        let (rgba, _, warnings) = composite_srgb(doc, limits, placed, None)?;
        let (w, h) = (doc.width, doc.height);
        let (tw, th) = export_size(w, h, req.export_options.image_size);
        let out = scale::rgba8_ref(&rgba, w, h, tw, th);
        cache.last_change = None;
        cache.canvas = Some(CachedCanvas {
            rgba,
            hidden,
            drawn,
            warnings: warnings.clone(),
            scaled: ((tw, th) != (w, h)).then(|| (tw, th, out.clone())),
        });
        return Ok(finish_scaled(doc, req, (out, tw, th), warnings));
    };
    // Where the replaced layers drew before and draw now; a layer without
    // new contents shows its stored pixels.
    let layers = doc.walk();
    let stored = |u: &Uuid| {
        layers
            .iter()
            .find(|l| l.uuid == *u)
            .and_then(|l| l.pixels.as_ref())
            .map_or(Rect::default(), |p| p.rect)
    };
    let mut changed = Rect::default();
    for u in old.drawn.keys().chain(drawn.keys()) {
        let before = old.drawn.get(u).copied().unwrap_or_else(|| stored(u));
        let now = drawn.get(u).copied().unwrap_or_else(|| stored(u));
        changed = changed.union(&before).union(&now);
    }
    let reach = effect_reach(&doc.layers);
    let dirty = changed.inflate(reach).intersect(&canvas);
    let mut warnings = old.warnings.clone();
    if !dirty.is_empty() {
        let work = dirty.inflate(reach).intersect(&canvas);
        let (part, covered, new_warnings) = composite_srgb(doc, limits, placed, Some(work))?;
        let cached = cache.canvas.as_mut().expect("checked above");
        paste(&mut cached.rgba, canvas, &part, covered, dirty);
        for w in new_warnings {
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
    }
    let cached = cache.canvas.as_mut().expect("checked above");
    cached.drawn = drawn;
    cached.warnings.clone_from(&warnings);
    let (w, h) = (doc.width, doc.height);
    let (tw, th) = export_size(w, h, req.export_options.image_size);
    let (out, change) = if (tw, th) == (w, h) {
        // Changes made now are not in the scaled copy.
        cached.scaled = None;
        ((cached.rgba.clone(), tw, th), Some(dirty))
    } else {
        // A draft rescales only what the change reaches, into the last
        // export at this size; otherwise the whole canvas is rescaled.
        let zone = scale::affected(dirty, (w, h), (tw, th));
        let part = match (&cached.scaled, rescale) {
            (Some((sw, sh, _)), Rescale::Draft) if (*sw, *sh) == (tw, th) => {
                let alpha = !crate::render::raster::is_opaque(&cached.rgba);
                let part = scale::rgba8_part(&cached.rgba, (w, h), (tw, th), zone, alpha);
                (part.len() == zone.area() as usize * 4).then_some(part)
            }
            _ => None,
        };
        match (part, &mut cached.scaled) {
            (Some(part), Some((_, _, px))) => {
                paste(px, Rect::new(0, 0, tw, th), &part, zone, zone);
                ((px.clone(), tw, th), Some(zone))
            }
            // Rescaled whole: after drafts, every pixel may move a level.
            _ => {
                let px = scale::rgba8_ref(&cached.rgba, w, h, tw, th);
                cached.scaled = Some((tw, th, px.clone()));
                ((px, tw, th), None)
            }
        }
    };
    cache.last_change = change;
    Ok(finish_scaled(doc, req, out, warnings))
}

/// Copies the `area` part of RGBA8 pixels covering `src_rect` into those
/// covering `dst_rect`.
fn paste(dst: &mut [u8], dst_rect: Rect, src: &[u8], src_rect: Rect, area: Rect) {
    let r = area.intersect(&src_rect).intersect(&dst_rect);
    if r.is_empty() {
        return;
    }
    let row = |rect: Rect, y: i32| {
        let start =
            ((y - rect.top) as usize * rect.width() as usize + (r.left - rect.left) as usize) * 4;
        start..start + r.width() as usize * 4
    };
    for y in r.top..r.bottom {
        dst[row(dst_rect, y)].copy_from_slice(&src[row(src_rect, y)]);
    }
}

/// The end of stage 3: scales sRGB pixels of the whole canvas to the export
/// width and picks the resolution to record.
fn finish(
    doc: &Document,
    req: &RenderRequest,
    rgba: Vec<u8>,
    warnings: Vec<Warning>,
) -> Composited {
    let (rgba, width, height) =
        scale_to(rgba, doc.width, doc.height, req.export_options.image_size);
    finish_scaled(doc, req, (rgba, width, height), warnings)
}

/// [`finish`] for pixels already at the export size.
fn finish_scaled(
    doc: &Document,
    req: &RenderRequest,
    (rgba, width, height): (Vec<u8>, u32, u32),
    warnings: Vec<Warning>,
) -> Composited {
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
    let mut all = doc.warnings.clone();
    all.extend(warnings);
    Composited {
        rgba,
        width,
        height,
        dpi,
        warnings: all,
    }
}

/// Stage 4: encodes the picture in the requested format and quality.
pub fn encode(image: Composited, req: &RenderRequest) -> Result<Rendered> {
    use crate::encode as enc;
    let (rgba, w, h, dpi) = (&image.rgba, image.width, image.height, Some(image.dpi));
    let quality = req.export_options.quality;
    let (bytes, content_type) = match req.export_options.image_format {
        ImageFormat::Png => (enc::png_rgba8_dpi(rgba, w, h, dpi)?, "image/png"),
        ImageFormat::Jpg => (enc::jpeg_rgba8(rgba, w, h, quality, dpi)?, "image/jpeg"),
        ImageFormat::Webp => (enc::webp_rgba8(rgba, w, h, quality, dpi)?, "image/webp"),
    };
    Ok(Rendered {
        bytes,
        content_type,
        width: w,
        height: h,
        warnings: image.warnings,
    })
}

/// A smart object's contents when they are a layered document (nested
/// PSD/PSB) with at least one design slot ([`is_design_slot`]).
struct Nested {
    doc: Document,
    slots: Vec<Uuid>,
}

/// Opens the contents of a layered smart object that has a design slot.
/// Contents that are not a PSD/PSB, do not parse, or have no slot give
/// `None`: the artwork then replaces the whole contents.
fn nested_with_slot(so: &SmartObject, limits: &Limits) -> Option<Nested> {
    let data = so.data.as_ref()?;
    if !data.starts_with(b"8BPS") {
        return None;
    }
    let doc = crate::open(data, limits).ok()?;
    let slots: Vec<Uuid> = doc
        .walk()
        .into_iter()
        .filter(|l| {
            is_design_slot(&l.name)
                && matches!(
                    l.kind,
                    LayerKind::Pixel | LayerKind::SmartObject(_) | LayerKind::Text(_)
                )
        })
        .map(|l| l.uuid)
        .collect();
    (!slots.is_empty()).then_some(Nested { doc, slots })
}

/// Composites a nested document with its design slots replaced by `frame`
/// (sRGB lanes, the contents' size) and returns the result in sRGB lanes.
fn composite_nested(
    inner: &Nested,
    mut frame: Raster,
    limits: &Limits,
) -> std::result::Result<Raster, RenderError> {
    let canvas = Rect::new(0, 0, inner.doc.width, inner.doc.height);
    let ctx = Context {
        info: &inner.doc.color,
        patterns: &inner.doc.patterns,
        canvas,
        limits,
    };
    to_working(&mut frame, &ctx);
    let opts = CompositeOptions {
        hidden: HashSet::new(),
        replacements: inner.slots.iter().map(|&u| (u, frame.clone())).collect(),
        region: None,
    };
    let c = composite_document(&inner.doc, limits, &opts)?;
    let rgba = color::to_rgba8(&inner.doc.color, &c.raster.color, &c.raster.alpha);
    Raster::from_rgba8(canvas, &rgba)
        .ok_or_else(|| RenderError::Compositor(Error::Codec("nested composite size".into())))
}

/// The contents frame size in whole pixels (at least 1 x 1).
fn frame_size(so: &SmartObject) -> (u32, u32) {
    let clamp = |v: f64| v.round().clamp(1.0, 30_000.0) as u32;
    (clamp(so.content_size.0), clamp(so.content_size.1))
}

/// A copy of the smart object translated so its bounds' top-left is at
/// (`left`, `top`); a missing coordinate keeps its current value.
fn moved_to(so: &SmartObject, left: Option<i32>, top: Option<i32>) -> SmartObject {
    let (mut x0, mut y0) = (f64::INFINITY, f64::INFINITY);
    for p in so.quad.chunks_exact(2) {
        x0 = x0.min(p[0]);
        y0 = y0.min(p[1]);
    }
    let dx = left.map_or(0.0, |l| l as f64 - x0);
    let dy = top.map_or(0.0, |t| t as f64 - y0);
    let mut out = so.clone();
    for p in out.quad.chunks_exact_mut(2) {
        p[0] += dx;
        p[1] += dy;
    }
    out
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
    // Converting to a gray, CMYK or Lab space costs tens of nanoseconds a
    // pixel (powers, a profile, a Newton refinement for CMYK), and the
    // frame is at the contents' full size. Two shortcuts that leave the
    // output as it was:
    // - a transparent pixel's colour is never seen (every later step
    //   weighs colour by alpha), so it is not converted;
    // - flat artwork (logos, lettering: the usual print design) repeats a
    //   colour along a row, so the last conversion is reused.
    let mut last: Option<([u32; 3], crate::render::raster::Color)> = None;
    for (c, &a) in r.color.iter_mut().zip(&r.alpha) {
        if a == 0.0 {
            continue;
        }
        let key = [c[0].to_bits(), c[1].to_bits(), c[2].to_bits()];
        *c = match last {
            Some((k, v)) if k == key => v,
            _ => {
                let v = conv.srgb_to_lanes([c[0], c[1], c[2]]);
                last = Some((key, v));
                v
            }
        };
    }
}

/// Scales RGBA8 to the export width (height by aspect ratio).
fn scale_to(rgba: Vec<u8>, w: u32, h: u32, size: ImageSize) -> (Vec<u8>, u32, u32) {
    let (tw, th) = export_size(w, h, size);
    if (tw, th) == (w, h) {
        return (rgba, w, h);
    }
    (crate::render::scale::rgba8(rgba, w, h, tw, th), tw, th)
}

/// The export size of a `w` x `h` canvas: `size` wide, the height in
/// proportion.
fn export_size(w: u32, h: u32, size: ImageSize) -> (u32, u32) {
    match size {
        ImageSize::Width(target) if target != w && w != 0 => {
            let th = ((h as f64 * target as f64 / w as f64).round() as u32).max(1);
            (target, th)
        }
        _ => (w, h),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::color::{ColorInfo, ColorMode};

    /// Smart objects given the same bytes share the decoded pixels; other
    /// bytes get their own.
    #[test]
    fn the_same_bytes_are_decoded_once() {
        let psd = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/small-mockup.psd"
        ))
        .expect("fixture");
        let doc = crate::open(&psd, &Limits::default()).expect("opens");
        let so = doc
            .walk()
            .iter()
            .find(|l| matches!(l.kind, LayerKind::SmartObject(_)))
            .map(|l| l.uuid.to_string())
            .expect("a smart object");
        let png =
            |shade: u8| crate::encode::png_rgba8(&[shade, 0, 0, 255].repeat(4), 2, 2).expect("png");
        let asset =
            |bytes: &[u8]| serde_json::json!({"base64": crate::request::encode_base64(bytes)});
        let body = serde_json::json!({"smart_objects": [
            {"uuid": so, "asset": asset(&png(10))},
            {"uuid": so, "asset": asset(&png(10))},
            {"uuid": so, "asset": asset(&png(20))},
        ]});
        let req =
            crate::request::parse(&body, crate::request::MockupUuid::Optional).expect("valid");
        let d =
            decode(&doc, &req, &|_| Err("offline".into()), &Limits::default()).expect("decodes");
        let [Some(a), Some(b), Some(c)] = &d.artworks[..] else {
            panic!("three artworks");
        };
        assert!(a.shares_pixels_with(b));
        assert!(!a.shares_pixels_with(c));
    }

    /// The shortcuts of `to_working` change nothing a later step sees:
    /// every pixel with alpha is its colour converted on its own.
    #[test]
    fn to_working_converts_every_visible_pixel_as_on_its_own() {
        let rect = Rect::new(0, 0, 64, 8);
        let mut r = Raster::transparent(rect);
        for (i, (c, a)) in r.color.iter_mut().zip(r.alpha.iter_mut()).enumerate() {
            // Runs of one colour, a colour per pixel, and transparency.
            let v = if i % 64 < 30 {
                0.25
            } else {
                (i % 17) as f32 / 16.0
            };
            *c = [v, 1.0 - v, v * 0.5, 0.0];
            *a = if i % 64 > 55 {
                0.0
            } else {
                0.5 + (i % 3) as f32 * 0.25
            };
        }
        let src = r.clone();
        for mode in [ColorMode::Grayscale, ColorMode::Cmyk, ColorMode::Lab] {
            let doc = crate::render::TestDoc::new(ColorInfo {
                mode: Some(mode),
                depth: 8,
                ..Default::default()
            });
            let mut got = src.clone();
            to_working(&mut got, &doc.ctx(rect.width(), rect.height()));
            let conv = color::WorkingConverter::cached(&doc.info);
            for i in 0..src.color.len() {
                if src.alpha[i] > 0.0 {
                    let c = src.color[i];
                    assert_eq!(
                        got.color[i],
                        conv.srgb_to_lanes([c[0], c[1], c[2]]),
                        "{mode:?} {i}"
                    );
                }
            }
            assert_eq!(got.alpha, src.alpha);
        }
    }
}
