//! The compositor in the browser: a small API for live mockup previews.
//!
//! The page (`web-demo/www`) runs this module in a Web Worker: it opens a
//! template once ([`Template::open`]), hands over each smart object's
//! artwork as file bytes once ([`Template::set_artwork`]), then asks for a
//! picture for every change of the render options ([`Template::render`]),
//! with the very JSON body it would send to `POST /api/v1/renders`.
//!
//! The picture is the server's, stage for stage: the same
//! [`compositor::request::parse`] validation, then
//! [`compositor::mockup::decode`], [`place`](compositor::mockup::place) and
//! [`composite`](compositor::mockup::composite); only the encoding is left
//! to the caller (the browser shows RGBA pixels; PNG and JPEG can be encoded
//! here, WebP cannot, as the browser build has no libwebp).
//!
//! Artwork travels as bytes, not base64: a request entry whose smart object
//! has artwork set here gets those bytes as its asset, whatever `base64` or
//! `url` the JSON carries. Decoded artwork is kept between renders as long
//! as the request names the same artworks in the same order, and so is the
//! last canvas ([`compositor::mockup::composite_reusing`]), so a slider
//! change costs placement and recompositing the smart objects' area only.
//!
//! The plain-Rust [`Preview`] holds the logic (and is tested natively); the
//! `wasm_bindgen` wrappers only convert errors into JS `Error`s whose `name`
//! says what kind of error it is ([`ErrorKind`]).

#![warn(missing_docs)]

use compositor::mockup::{self, CanvasCache, Composited, Decoded, RenderError, Rescale};
use compositor::request::{
    self, AssetSource, ExportOptions, ImageFormat, MockupUuid, RenderRequest,
};
use compositor::{Document, Limits};
use serde_json::Value;
use std::collections::HashMap;
use wasm_bindgen::prelude::*;

/// What kind of error a call failed with (the JS `Error`'s `name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The template could not be read (`BadTemplate`).
    BadTemplate,
    /// The request JSON is not valid; the message lists every field error
    /// as the API's 422 does (`BadRequest`).
    BadRequest,
    /// A smart object or layer UUID is not in the template
    /// (`UnknownLayer`).
    UnknownLayer,
    /// An artwork could not be read (`BadArtwork`).
    BadArtwork,
    /// Something this build cannot do, e.g. WebP encoding or fetching an
    /// artwork URL (`Unsupported`).
    Unsupported,
    /// The compositor failed on the template (`RenderFailed`).
    RenderFailed,
}

impl ErrorKind {
    /// The name given to the JS `Error`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::BadTemplate => "BadTemplate",
            ErrorKind::BadRequest => "BadRequest",
            ErrorKind::UnknownLayer => "UnknownLayer",
            ErrorKind::BadArtwork => "BadArtwork",
            ErrorKind::Unsupported => "Unsupported",
            ErrorKind::RenderFailed => "RenderFailed",
        }
    }
}

/// An error with its kind and a message meant for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoError {
    /// The kind.
    pub kind: ErrorKind,
    /// What went wrong, in words.
    pub message: String,
}

impl DemoError {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        DemoError {
            kind,
            message: message.into(),
        }
    }
}

impl From<RenderError> for DemoError {
    fn from(e: RenderError) -> Self {
        let kind = match &e {
            RenderError::UnknownSmartObject(_) | RenderError::UnknownLayer(_) => {
                ErrorKind::UnknownLayer
            }
            RenderError::BadArtwork { .. } => ErrorKind::BadArtwork,
            RenderError::Fetch { .. } => ErrorKind::Unsupported,
            RenderError::Compositor(compositor::Error::Unsupported { .. }) => {
                ErrorKind::Unsupported
            }
            RenderError::Compositor(_) => ErrorKind::RenderFailed,
        };
        DemoError::new(kind, e.to_string())
    }
}

/// A placeholder asset source: `request::parse` wants `base64` or `url`,
/// and the real bytes are put in after validation.
const PLACEHOLDER_BASE64: &str = "AA==";

/// What decoded artworks were decoded from: per request entry, the smart
/// object and its artwork's generation (`None`: a colour-only entry).
type DecodeKey = Vec<(String, Option<u64>)>;

/// One artwork set on a smart object: its file bytes and a number that
/// changes whenever they do (the decode cache's key).
struct Artwork {
    bytes: Vec<u8>,
    generation: u64,
}

/// A template opened for previews, with its artworks and the decoded
/// artwork of the last render.
pub struct Preview {
    doc: Document,
    limits: Limits,
    inspection: String,
    artworks: HashMap<String, Artwork>,
    next_generation: u64,
    /// The decoded artworks of the last render and what they were decoded
    /// from.
    decoded: Option<(DecodeKey, Decoded)>,
    /// The last canvas: a render that changes only smart objects'
    /// contents recomposites just the part of it they reach.
    canvas: CanvasCache,
    /// A clock in milliseconds (the page's `performance.now`), for
    /// [`Preview::stages`].
    clock: fn() -> f64,
    /// Milliseconds spent in each stage of the last render.
    stages: Vec<(&'static str, f64)>,
}

impl Preview {
    /// Parses a PSD or PSB file.
    pub fn open(bytes: &[u8]) -> Result<Preview, DemoError> {
        Preview::open_with_progress(bytes, &mut |_| {})
    }

    /// [`Preview::open`], reporting the fraction done as it goes
    /// ([`compositor::open_with_progress`]).
    pub fn open_with_progress(
        bytes: &[u8],
        progress: &mut dyn FnMut(f32),
    ) -> Result<Preview, DemoError> {
        let limits = Limits::default();
        let doc = compositor::open_with_progress(bytes, &limits, progress)
            .map_err(|e| DemoError::new(ErrorKind::BadTemplate, e.to_string()))?;
        let inspection = serde_json::to_string(&compositor::inspect::inspect(&doc))
            .map_err(|e| DemoError::new(ErrorKind::BadTemplate, e.to_string()))?;
        Ok(Preview {
            doc,
            limits,
            inspection,
            artworks: HashMap::new(),
            next_generation: 1,
            decoded: None,
            canvas: CanvasCache::default(),
            clock: || 0.0,
            stages: Vec::new(),
        })
    }

    /// Sets the clock [`Preview::stages`] reads (milliseconds).
    pub fn set_clock(&mut self, clock: fn() -> f64) {
        self.clock = clock;
    }

    /// Milliseconds spent in each stage of the last render (`decode`,
    /// `place`, `composite`), by the clock set with [`Preview::set_clock`].
    pub fn stages(&self) -> &[(&'static str, f64)] {
        &self.stages
    }

    /// The part of the last picture that can differ from the one before it
    /// when both have the same size (`None`: all of it); see
    /// [`CanvasCache::last_change`].
    pub fn last_change(&self) -> Option<compositor::render::raster::Rect> {
        self.canvas.last_change()
    }

    /// The template's description (`mockup inspect`'s JSON).
    pub fn inspection(&self) -> &str {
        &self.inspection
    }

    /// Canvas size.
    pub fn size(&self) -> (u32, u32) {
        (self.doc.width, self.doc.height)
    }

    /// Sets (or replaces) the artwork file of a smart object. The bytes are
    /// decoded at the next render that uses them.
    pub fn set_artwork(&mut self, uuid: &str, bytes: Vec<u8>) {
        let generation = self.next_generation;
        self.next_generation += 1;
        self.artworks
            .insert(uuid.to_ascii_lowercase(), Artwork { bytes, generation });
    }

    /// Forgets a smart object's artwork.
    pub fn clear_artwork(&mut self, uuid: &str) {
        self.artworks.remove(&uuid.to_ascii_lowercase());
    }

    /// Validates a render request body (the API's JSON) with the artworks
    /// set here standing in for the entries' `base64`/`url` (their sources
    /// in the result are placeholders; [`Preview::render_request`] puts the
    /// files in when it decodes them). A body with no
    /// smart objects, text layers or hidden layers is accepted (unlike the
    /// API) and renders the template as it is.
    pub fn request(&self, body: &str) -> Result<RenderRequest, DemoError> {
        let mut body: Value = serde_json::from_str(body)
            .map_err(|e| DemoError::new(ErrorKind::BadRequest, format!("body: {e}")))?;
        // Entries with artwork here get a placeholder source so validation
        // does not depend on the (possibly elided) base64 in the JSON.
        if let Some(list) = body.get_mut("smart_objects").and_then(Value::as_array_mut) {
            for so in list {
                let has_art = so
                    .get("uuid")
                    .and_then(Value::as_str)
                    .is_some_and(|u| self.artworks.contains_key(&u.to_ascii_lowercase()));
                if let (true, Some(asset)) =
                    (has_art, so.get_mut("asset").and_then(Value::as_object_mut))
                {
                    asset.remove("url");
                    asset.insert("base64".into(), Value::from(PLACEHOLDER_BASE64));
                }
            }
        }
        // A request with nothing to change is not a valid API request, but
        // it is the template as it is: the preview's empty state. It is
        // validated with a stand-in text-layer entry, removed after.
        let empty = |k: &str| match body.get(k) {
            None | Some(Value::Null) => true,
            Some(Value::Array(a)) => a.is_empty(),
            Some(_) => false,
        };
        let as_is = ["smart_objects", "text_layers", "hidden_layers"]
            .iter()
            .all(|k| empty(k));
        if let (true, Some(obj)) = (as_is, body.as_object_mut()) {
            obj.remove("smart_objects");
            obj.insert(
                "text_layers".into(),
                serde_json::json!([{ "uuid": "00000000-0000-0000-0000-000000000000" }]),
            );
        }
        let mut req = request::parse(&body, MockupUuid::Optional).map_err(|errors| {
            let lines: Vec<String> = errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect();
            DemoError::new(ErrorKind::BadRequest, lines.join("\n"))
        })?;
        if as_is {
            req.text_layers.clear();
        }
        Ok(req)
    }

    /// `req` with the artworks set here as the entries' sources (copies of
    /// the files, needed only when they are decoded).
    fn with_artwork_bytes(&self, req: &RenderRequest) -> RenderRequest {
        let mut full = req.clone();
        for so in &mut full.smart_objects {
            if let (Some(asset), Some(art)) = (&mut so.asset, self.artworks.get(&so.uuid)) {
                if let AssetSource::Bytes { data, .. } = &mut asset.source {
                    data.clone_from(&art.bytes);
                }
            }
        }
        full
    }

    /// Renders a request body to straight-alpha sRGB RGBA8 pixels at the
    /// requested export size, before encoding.
    pub fn render(&mut self, body: &str) -> Result<Composited, DemoError> {
        let req = self.request(body)?;
        self.render_request(&req, Rescale::Exact)
    }

    /// Renders a validated request (see [`Preview::render`]), its export
    /// scaled as `rescale` says: [`Rescale::Exact`] is the server's picture,
    /// [`Rescale::Draft`] a faster frame for while an option is dragged.
    pub fn render_request(
        &mut self,
        req: &RenderRequest,
        rescale: Rescale,
    ) -> Result<Composited, DemoError> {
        // The decode cache's key: which artwork feeds which entry. Entries
        // with artwork from the JSON itself (a data: URL typed in) are not
        // cached.
        let key: Option<DecodeKey> = req
            .smart_objects
            .iter()
            .map(|so| match (&so.asset, self.artworks.get(&so.uuid)) {
                (None, _) => Some((so.uuid.clone(), None)),
                (Some(_), Some(art)) => Some((so.uuid.clone(), Some(art.generation))),
                (Some(_), None) => None,
            })
            .collect();
        let no_fetch = |url: &str| -> Result<Vec<u8>, String> {
            Err(format!(
                "the browser preview does not download {url}; drop the image file on the page"
            ))
        };
        let t0 = (self.clock)();
        let decoded = match self.decoded.take() {
            // The cached artworks fit the same smart objects; the hidden
            // layers, which decode also checks, are checked here.
            Some((k, d)) if key.as_ref() == Some(&k) => {
                let layers = self.doc.walk();
                if let Some(h) = req
                    .hidden_layers
                    .iter()
                    .find(|h| !layers.iter().any(|l| l.uuid.to_string() == **h))
                {
                    self.decoded = Some((k, d));
                    return Err(RenderError::UnknownLayer(h.clone()).into());
                }
                d
            }
            _ => {
                let full = self.with_artwork_bytes(req);
                let mut d = mockup::decode(&self.doc, &full, &no_fetch, &self.limits)?;
                d.remember_layouts();
                d
            }
        };
        let t1 = (self.clock)();
        let placed = mockup::place(&self.doc, req, &decoded, &self.limits);
        let t2 = (self.clock)();
        let image = placed.and_then(|placed| {
            mockup::composite_reusing(
                &self.doc,
                req,
                placed,
                &self.limits,
                &mut self.canvas,
                rescale,
            )
        });
        let t3 = (self.clock)();
        self.stages = vec![
            ("decode", t1 - t0),
            ("place", t2 - t1),
            ("composite", t3 - t2),
        ];
        // Kept for the next option change, even when this one failed.
        if let Some(k) = key {
            self.decoded = Some((k, decoded));
        }
        Ok(image?)
    }
}

/// Encodes a finished picture as a request's `export_options` ask (PNG or
/// JPEG; WebP is [`ErrorKind::Unsupported`] in the browser build).
pub fn encode(
    image: &Composited,
    export: &ExportOptions,
) -> Result<(Vec<u8>, &'static str), DemoError> {
    let q = export.quality;
    let dpi = Some(image.dpi);
    let (w, h) = (image.width, image.height);
    let out = match export.image_format {
        ImageFormat::Png => {
            compositor::encode::png_rgba8_dpi(&image.rgba, w, h, dpi).map(|b| (b, "image/png"))
        }
        ImageFormat::Jpg => {
            compositor::encode::jpeg_rgba8(&image.rgba, w, h, q, dpi).map(|b| (b, "image/jpeg"))
        }
        ImageFormat::Webp => {
            compositor::encode::webp_rgba8(&image.rgba, w, h, q, dpi).map(|b| (b, "image/webp"))
        }
    };
    out.map_err(|e| match e {
        compositor::Error::Unsupported { .. } => {
            DemoError::new(ErrorKind::Unsupported, e.to_string())
        }
        _ => DemoError::new(ErrorKind::RenderFailed, e.to_string()),
    })
}

/// A JS `Error` named after the error's kind.
fn js_error(e: DemoError) -> JsValue {
    let err = js_sys::Error::new(&e.message);
    err.set_name(e.kind.name());
    err.into()
}

/// A template opened in the browser (the JS class `Template`).
#[wasm_bindgen]
pub struct Template {
    inner: Preview,
}

#[wasm_bindgen]
impl Template {
    /// Parses a PSD or PSB file. Throws a `BadTemplate` error.
    pub fn open(bytes: &[u8]) -> Result<Template, JsValue> {
        let mut inner = Preview::open(bytes).map_err(js_error)?;
        inner.set_clock(performance_now);
        Ok(Template { inner })
    }

    /// [`Template::open`], calling `progress(fraction)` (0 to 1) as the
    /// file is decoded, at most once per percent.
    pub fn open_with_progress(
        bytes: &[u8],
        progress: &js_sys::Function,
    ) -> Result<Template, JsValue> {
        let mut shown = -1.0f32;
        let mut report = |f: f32| {
            if f - shown >= 0.01 || f >= 1.0 {
                shown = f;
                // A throwing callback must not stop the parse.
                let _ = progress.call1(&JsValue::NULL, &JsValue::from_f64(f as f64));
            }
        };
        let mut inner = Preview::open_with_progress(bytes, &mut report).map_err(js_error)?;
        inner.set_clock(performance_now);
        Ok(Template { inner })
    }

    /// The template's description as JSON: size, smart objects (UUIDs,
    /// sizes, quads), text layers, layer tree, warnings.
    pub fn inspection(&self) -> String {
        self.inner.inspection().to_string()
    }

    /// Canvas width.
    #[wasm_bindgen(getter)]
    pub fn width(&self) -> u32 {
        self.inner.size().0
    }

    /// Canvas height.
    #[wasm_bindgen(getter)]
    pub fn height(&self) -> u32 {
        self.inner.size().1
    }

    /// Sets a smart object's artwork (PNG, JPEG, WebP or GIF file bytes).
    pub fn set_artwork(&mut self, uuid: &str, bytes: Vec<u8>) {
        self.inner.set_artwork(uuid, bytes);
    }

    /// Forgets a smart object's artwork.
    pub fn clear_artwork(&mut self, uuid: &str) {
        self.inner.clear_artwork(uuid);
    }

    /// Renders a `POST /api/v1/renders` body to pixels at its export size:
    /// the server's picture, pixel for pixel. Throws `BadRequest`,
    /// `UnknownLayer`, `BadArtwork`, `Unsupported` or `RenderFailed` errors.
    pub fn render(&mut self, request_json: &str) -> Result<Frame, JsValue> {
        self.render_with(request_json, Rescale::Exact)
    }

    /// [`Template::render`] for frames shown while an option is dragged:
    /// only the part of the export the change reaches is rescaled, and a few
    /// pixels there may be a level or two off the server's. Render the last
    /// request with [`Template::render`] once the dragging stops.
    pub fn render_draft(&mut self, request_json: &str) -> Result<Frame, JsValue> {
        self.render_with(request_json, Rescale::Draft)
    }

    fn render_with(&mut self, request_json: &str, rescale: Rescale) -> Result<Frame, JsValue> {
        let req = self.inner.request(request_json).map_err(js_error)?;
        let image = self.inner.render_request(&req, rescale).map_err(js_error)?;
        let stages = self.inner.stages().to_vec();
        let changed = self.inner.last_change();
        Ok(Frame {
            image,
            export: req.export_options,
            stages,
            changed,
        })
    }
}

/// A rendered picture (the JS class `Frame`).
#[wasm_bindgen]
pub struct Frame {
    image: Composited,
    export: ExportOptions,
    stages: Vec<(&'static str, f64)>,
    changed: Option<compositor::render::raster::Rect>,
}

#[wasm_bindgen]
impl Frame {
    /// Width in pixels.
    #[wasm_bindgen(getter)]
    pub fn width(&self) -> u32 {
        self.image.width
    }

    /// Height in pixels.
    #[wasm_bindgen(getter)]
    pub fn height(&self) -> u32 {
        self.image.height
    }

    /// Straight-alpha sRGB RGBA8 pixels, row by row (for `ImageData`).
    pub fn pixels(&self) -> Vec<u8> {
        self.image.rgba.clone()
    }

    /// The part of this picture that can differ from the previous one of
    /// the same size, as `[x, y, width, height]`; empty when all of it may.
    /// The page then copies and draws only [`Frame::changed_pixels`].
    pub fn changed(&self) -> Vec<u32> {
        match self.changed {
            Some(r) => vec![r.left as u32, r.top as u32, r.width(), r.height()],
            None => Vec::new(),
        }
    }

    /// The pixels of [`Frame::changed`], row by row (all of them when it is
    /// empty).
    pub fn changed_pixels(&self) -> Vec<u8> {
        let Some(r) = self.changed else {
            return self.pixels();
        };
        let w = self.image.width as usize;
        let mut out = Vec::with_capacity(r.area() as usize * 4);
        for y in r.top..r.bottom {
            let start = (y as usize * w + r.left as usize) * 4;
            out.extend_from_slice(&self.image.rgba[start..start + r.width() as usize * 4]);
        }
        out
    }

    /// Milliseconds spent in each stage of this render, as a JSON object
    /// (`decode`, `place`, `composite`).
    pub fn stages(&self) -> String {
        let map: serde_json::Map<String, Value> = self
            .stages
            .iter()
            .map(|&(k, v)| (k.to_string(), Value::from((v * 100.0).round() / 100.0)))
            .collect();
        Value::Object(map).to_string()
    }

    /// What could not be rendered faithfully, as a JSON array.
    pub fn warnings(&self) -> String {
        serde_json::to_string(&self.image.warnings).unwrap_or_else(|_| "[]".into())
    }

    /// The file the server would send for this request (PNG or JPEG).
    /// Throws `Unsupported` for WebP.
    pub fn encode(&self) -> Result<Vec<u8>, JsValue> {
        encode(&self.image, &self.export)
            .map(|(b, _)| b)
            .map_err(js_error)
    }

    /// The MIME type [`Frame::encode`] produces.
    pub fn content_type(&self) -> String {
        match self.export.image_format {
            ImageFormat::Png => "image/png",
            ImageFormat::Jpg => "image/jpeg",
            ImageFormat::Webp => "image/webp",
        }
        .into()
    }
}

/// `performance.now()` of the page or worker (0 where there is none).
fn performance_now() -> f64 {
    let global = js_sys::global();
    js_sys::Reflect::get(&global, &JsValue::from_str("performance"))
        .ok()
        .and_then(|perf| {
            let now = js_sys::Reflect::get(&perf, &JsValue::from_str("now")).ok()?;
            let now: js_sys::Function = now.dyn_into().ok()?;
            now.call0(&perf).ok()?.as_f64()
        })
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests;
