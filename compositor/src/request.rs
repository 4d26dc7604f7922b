//! The render request (`POST /api/v1/renders` body): its typed form and the
//! validation that turns a JSON body into it, or into the list of field
//! errors the API answers with a 422.
//!
//! Validation walks the JSON by hand rather than through `serde` derives so
//! that every error names its field the way the API reports it
//! (`body -> smart_objects -> 0 -> asset -> rotate`) and so that every range
//! and format rule of the spec is checked before any work starts.

use crate::render::blend::BlendMode;
use serde::Serialize;
use serde_json::{Map, Value};

/// How artwork is fitted into the smart object's frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fit {
    /// Stretch to the whole frame.
    Fill,
    /// Fit inside, preserving the aspect ratio.
    Contain,
    /// Cover the frame, preserving the aspect ratio, cropping the excess.
    Cover,
}

/// Output encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageFormat {
    /// Lossy WebP (the default).
    Webp,
    /// Lossless PNG.
    Png,
    /// JPEG.
    Jpg,
}

/// Output width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageSize {
    /// The template's own size.
    Original,
    /// This many pixels wide; the height follows the template's aspect ratio.
    Width(u32),
}

/// Where the artwork bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssetSource {
    /// Decoded base64 bytes with their declared content type.
    Bytes {
        /// The image file.
        data: Vec<u8>,
        /// `image/png`, `image/jpeg`, `image/webp` or `image/gif`.
        content_type: String,
    },
    /// A URL to fetch (`http`, `https` or `data:`).
    Url(String),
}

/// The artwork placed into a smart object.
#[derive(Debug, Clone, PartialEq)]
pub struct Asset {
    /// Where the image comes from (base64 wins over url).
    pub source: AssetSource,
    /// Fit mode.
    pub fit: Fit,
    /// Clockwise rotation in degrees, applied before fitting.
    pub rotate: i32,
    /// Mirror left-right.
    pub flip_horizontal: bool,
    /// Mirror top-bottom.
    pub flip_vertical: bool,
    /// Size override in the smart object's own pixel frame.
    pub size: Option<(Option<u32>, Option<u32>)>,
    /// Position override (top, left) in the smart object's own pixel frame.
    pub position: Option<(Option<i32>, Option<i32>)>,
    /// Repeat the artwork as a pattern; `size` is one tile.
    pub tile: bool,
    /// Gap between tiles, percent of the tile size.
    pub tile_spacing: u32,
}

/// A colour overlay on a smart object.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColorOverlay {
    /// sRGB colour.
    pub rgb: [u8; 3],
    /// How it blends.
    pub blend_mode: BlendMode,
}

/// Adjustments applied to the artwork before it is placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ArtworkAdjustments {
    /// -150..150.
    pub brightness: i32,
    /// -100..100.
    pub contrast: i32,
    /// -100..100.
    pub saturation: i32,
    /// -100..100.
    pub vibrance: i32,
    /// 0..100.
    pub opacity: i32,
    /// 0..100.
    pub blur: i32,
}

/// One smart object of the request.
#[derive(Debug, Clone, PartialEq)]
pub struct SmartObjectRequest {
    /// UUID of the smart object (as `inspect` and the API list it).
    pub uuid: String,
    /// Artwork, if any.
    pub asset: Option<Asset>,
    /// Colour overlay, if any.
    pub color: Option<ColorOverlay>,
    /// Artwork adjustments.
    pub adjustments: ArtworkAdjustments,
}

/// Export settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ExportOptions {
    /// Encoding.
    pub image_format: ImageFormat,
    /// Output width.
    pub image_size: ImageSize,
    /// 1..100 (JPEG and WebP).
    pub quality: u8,
    /// Resolution written into the file, 72..2400; `None` keeps the
    /// template's.
    pub dpi: Option<u32>,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            image_format: ImageFormat::Webp,
            image_size: ImageSize::Width(1920),
            quality: 95,
            dpi: None,
        }
    }
}

/// A validated render request.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderRequest {
    /// The mockup to render (absent for offline renders).
    pub mockup_uuid: Option<String>,
    /// Smart objects to fill.
    pub smart_objects: Vec<SmartObjectRequest>,
    /// Text layer edits, kept as sent (validated to carry a `uuid`).
    pub text_layers: Vec<Value>,
    /// Layers to leave out (UUIDs).
    pub hidden_layers: Vec<String>,
    /// Export settings.
    pub export_options: ExportOptions,
    /// Label for the output file name.
    pub export_label: Option<String>,
    /// Render asynchronously (API only).
    pub is_async: bool,
}

/// One rejected field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Path as the API reports it: `body -> smart_objects -> 0 -> uuid`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// Largest artwork accepted as base64, in decoded bytes.
pub const MAX_ASSET_BYTES: usize = 50 << 20;
/// Most layers one request may hide.
pub const MAX_HIDDEN_LAYERS: usize = 50;

/// Whether the request must name its mockup (the API) or may omit it
/// (offline renders of a file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MockupUuid {
    /// `mockup_uuid` is required.
    Required,
    /// `mockup_uuid` may be absent.
    Optional,
}

/// Validates a request body. All field errors are collected, not just the
/// first.
pub fn parse(body: &Value, mockup: MockupUuid) -> Result<RenderRequest, Vec<FieldError>> {
    let mut v = Validator::default();
    let Some(obj) = body.as_object() else {
        v.err("body", "Request body must be a JSON object");
        return Err(v.errors);
    };
    let mockup_uuid = match (obj.get("mockup_uuid"), mockup) {
        (None | Some(Value::Null), MockupUuid::Optional) => None,
        (None | Some(Value::Null), MockupUuid::Required) => {
            v.err("body -> mockup_uuid", "Field required");
            None
        }
        (Some(x), _) => v.uuid("body -> mockup_uuid", x),
    };

    let text_layers = match obj.get("text_layers") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => {
            for (i, t) in items.iter().enumerate() {
                let path = format!("body -> text_layers -> {i}");
                match t.as_object() {
                    Some(o) => {
                        match o.get("uuid") {
                            Some(u) => {
                                v.uuid(&format!("{path} -> uuid"), u);
                            }
                            None => v.err(&format!("{path} -> uuid"), "Field required"),
                        };
                    }
                    None => v.err(&path, "Input should be an object"),
                }
            }
            items.clone()
        }
        Some(_) => {
            v.err("body -> text_layers", "Input should be a valid list");
            Vec::new()
        }
    };

    let hidden_layers = match obj.get("hidden_layers") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => {
            if items.len() > MAX_HIDDEN_LAYERS {
                v.err(
                    "body -> hidden_layers",
                    &format!("List should have at most {MAX_HIDDEN_LAYERS} items"),
                );
            }
            items
                .iter()
                .enumerate()
                .filter_map(|(i, u)| v.uuid(&format!("body -> hidden_layers -> {i}"), u))
                .collect()
        }
        Some(_) => {
            v.err("body -> hidden_layers", "Input should be a valid list");
            Vec::new()
        }
    };

    let smart_objects = match obj.get("smart_objects") {
        None | Some(Value::Null) if !text_layers.is_empty() || !hidden_layers.is_empty() => {
            Vec::new()
        }
        None | Some(Value::Null) => {
            v.err("body -> smart_objects", "Field required");
            Vec::new()
        }
        Some(Value::Array(items)) => {
            if items.is_empty() && text_layers.is_empty() && hidden_layers.is_empty() {
                v.err("body -> smart_objects", "List should have at least 1 item");
            }
            items
                .iter()
                .enumerate()
                .filter_map(|(i, so)| v.smart_object(&format!("body -> smart_objects -> {i}"), so))
                .collect()
        }
        Some(_) => {
            v.err("body -> smart_objects", "Input should be a valid list");
            Vec::new()
        }
    };

    let export_options = match obj.get("export_options") {
        None | Some(Value::Null) => ExportOptions::default(),
        Some(Value::Object(o)) => v.export_options("body -> export_options", o),
        Some(_) => {
            v.err("body -> export_options", "Input should be an object");
            ExportOptions::default()
        }
    };

    let export_label = match obj.get("export_label") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.chars().count() <= 100 => Some(s.clone()),
        Some(Value::String(_)) => {
            v.err(
                "body -> export_label",
                "String should have at most 100 characters",
            );
            None
        }
        Some(_) => {
            v.err("body -> export_label", "Input should be a valid string");
            None
        }
    };
    let is_async = v
        .boolean("body -> is_async", obj.get("is_async"))
        .unwrap_or(false);

    if v.errors.is_empty() {
        Ok(RenderRequest {
            mockup_uuid,
            smart_objects,
            text_layers,
            hidden_layers,
            export_options,
            export_label,
            is_async,
        })
    } else {
        Err(v.errors)
    }
}

#[derive(Default)]
struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    fn err(&mut self, field: &str, message: &str) {
        self.errors.push(FieldError {
            field: field.to_string(),
            message: message.to_string(),
        });
    }

    fn uuid(&mut self, path: &str, v: &Value) -> Option<String> {
        match v.as_str() {
            Some(s) if uuid::Uuid::try_parse(s).is_ok() => Some(s.to_ascii_lowercase()),
            Some(_) => {
                self.err(path, "Input should be a valid UUID");
                None
            }
            None => {
                self.err(path, "Input should be a valid string");
                None
            }
        }
    }

    fn boolean(&mut self, path: &str, v: Option<&Value>) -> Option<bool> {
        match v {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.err(path, "Input should be a valid boolean");
                None
            }
        }
    }

    /// An integer in `lo..=hi`, or `None` (with an error) when it is not.
    fn int(&mut self, path: &str, v: Option<&Value>, lo: i64, hi: i64) -> Option<i64> {
        let x = v?;
        if x.is_null() {
            return None;
        }
        // Integral floats (`10.0`) are accepted, as JSON clients send them.
        let n = x.as_i64().or_else(|| {
            x.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
                .map(|f| f as i64)
        });
        match n {
            Some(n) if n < lo => {
                self.err(
                    path,
                    &format!("Input should be greater than or equal to {lo}"),
                );
                None
            }
            Some(n) if n > hi => {
                self.err(path, &format!("Input should be less than or equal to {hi}"));
                None
            }
            Some(n) => Some(n),
            None => {
                self.err(path, "Input should be a valid integer");
                None
            }
        }
    }

    fn smart_object(&mut self, path: &str, so: &Value) -> Option<SmartObjectRequest> {
        let Some(o) = so.as_object() else {
            self.err(path, "Input should be an object");
            return None;
        };
        let before = self.errors.len();
        let uuid = match o.get("uuid") {
            Some(u) => self.uuid(&format!("{path} -> uuid"), u),
            None => {
                self.err(&format!("{path} -> uuid"), "Field required");
                None
            }
        };
        let asset = match o.get("asset") {
            None | Some(Value::Null) => None,
            Some(Value::Object(a)) => self.asset(&format!("{path} -> asset"), a),
            Some(_) => {
                self.err(&format!("{path} -> asset"), "Input should be an object");
                None
            }
        };
        let color = match o.get("color") {
            None | Some(Value::Null) => None,
            Some(Value::Object(c)) => self.color(&format!("{path} -> color"), c),
            Some(_) => {
                self.err(&format!("{path} -> color"), "Input should be an object");
                None
            }
        };
        let present = |k: &str| o.get(k).is_some_and(|v| !v.is_null());
        if !present("asset") && !present("color") {
            self.err(path, "Each smart object needs an asset, a color, or both");
        }
        let adjustments = match o.get("adjustment_layers") {
            None | Some(Value::Null) => ArtworkAdjustments {
                opacity: 100,
                ..Default::default()
            },
            Some(Value::Object(a)) => {
                let p = format!("{path} -> adjustment_layers");
                let mut get = |k: &str, lo, hi, default| {
                    self.int(&format!("{p} -> {k}"), a.get(k), lo, hi)
                        .map_or(default, |v| v as i32)
                };
                ArtworkAdjustments {
                    brightness: get("brightness", -150, 150, 0),
                    contrast: get("contrast", -100, 100, 0),
                    saturation: get("saturation", -100, 100, 0),
                    vibrance: get("vibrance", -100, 100, 0),
                    opacity: get("opacity", 0, 100, 100),
                    blur: get("blur", 0, 100, 0),
                }
            }
            Some(_) => {
                self.err(
                    &format!("{path} -> adjustment_layers"),
                    "Input should be an object",
                );
                ArtworkAdjustments::default()
            }
        };
        if self.errors.len() > before {
            return None;
        }
        Some(SmartObjectRequest {
            uuid: uuid?,
            asset,
            color,
            adjustments,
        })
    }

    fn asset(&mut self, path: &str, a: &Map<String, Value>) -> Option<Asset> {
        let before = self.errors.len();
        let content_type = match a.get("content_type") {
            None | Some(Value::Null) => "image/png".to_string(),
            Some(Value::String(s))
                if matches!(
                    s.as_str(),
                    "image/png" | "image/jpeg" | "image/webp" | "image/gif"
                ) =>
            {
                s.clone()
            }
            Some(_) => {
                self.err(
                    &format!("{path} -> content_type"),
                    "String should match pattern '^image/(png|jpeg|webp|gif)$'",
                );
                String::new()
            }
        };
        let source = match (
            a.get("base64").filter(|v| !v.is_null()),
            a.get("url").filter(|v| !v.is_null()),
        ) {
            (Some(Value::String(b)), _) => match decode_base64(b) {
                Some(data) if data.len() > MAX_ASSET_BYTES => {
                    self.err(
                        &format!("{path} -> base64"),
                        &format!("Image is larger than {} MB", MAX_ASSET_BYTES >> 20),
                    );
                    None
                }
                Some(data) if data.is_empty() => {
                    self.err(&format!("{path} -> base64"), "Image data is empty");
                    None
                }
                Some(data) => Some(AssetSource::Bytes { data, content_type }),
                None => {
                    self.err(
                        &format!("{path} -> base64"),
                        "Invalid base64 data (send raw base64, without a data: prefix)",
                    );
                    None
                }
            },
            (Some(_), _) => {
                self.err(
                    &format!("{path} -> base64"),
                    "Input should be a valid string",
                );
                None
            }
            (None, Some(Value::String(u))) => {
                let lower = u.to_ascii_lowercase();
                if lower.starts_with("http://")
                    || lower.starts_with("https://")
                    || lower.starts_with("data:")
                {
                    Some(AssetSource::Url(u.clone()))
                } else {
                    self.err(
                        &format!("{path} -> url"),
                        "URL must start with http://, https:// or data:",
                    );
                    None
                }
            }
            (None, Some(_)) => {
                self.err(&format!("{path} -> url"), "Input should be a valid string");
                None
            }
            (None, None) => {
                self.err(path, "Either base64 or url must be provided");
                None
            }
        };
        let fit = match a.get("fit") {
            None | Some(Value::Null) => Fit::Fill,
            Some(Value::String(s)) => match s.as_str() {
                "fill" => Fit::Fill,
                "contain" => Fit::Contain,
                "cover" => Fit::Cover,
                _ => {
                    self.err(
                        &format!("{path} -> fit"),
                        "Input should be 'fill', 'contain' or 'cover'",
                    );
                    Fit::Fill
                }
            },
            Some(_) => {
                self.err(
                    &format!("{path} -> fit"),
                    "Input should be 'fill', 'contain' or 'cover'",
                );
                Fit::Fill
            }
        };
        let rotate = self
            .int(&format!("{path} -> rotate"), a.get("rotate"), -360, 360)
            .unwrap_or(0) as i32;
        let flip_horizontal = self
            .boolean(
                &format!("{path} -> flip_horizontal"),
                a.get("flip_horizontal"),
            )
            .unwrap_or(false);
        let flip_vertical = self
            .boolean(&format!("{path} -> flip_vertical"), a.get("flip_vertical"))
            .unwrap_or(false);
        let size = match a.get("size") {
            None | Some(Value::Null) => None,
            Some(Value::Object(s)) => {
                let w = self
                    .int(
                        &format!("{path} -> size -> width"),
                        s.get("width"),
                        1,
                        100_000,
                    )
                    .map(|v| v as u32);
                let h = self
                    .int(
                        &format!("{path} -> size -> height"),
                        s.get("height"),
                        1,
                        100_000,
                    )
                    .map(|v| v as u32);
                Some((w, h))
            }
            Some(_) => {
                self.err(&format!("{path} -> size"), "Input should be an object");
                None
            }
        };
        let position = match a.get("position") {
            None | Some(Value::Null) => None,
            Some(Value::Object(p)) => {
                let top = self
                    .int(
                        &format!("{path} -> position -> top"),
                        p.get("top"),
                        -1_000_000,
                        1_000_000,
                    )
                    .map(|v| v as i32);
                let left = self
                    .int(
                        &format!("{path} -> position -> left"),
                        p.get("left"),
                        -1_000_000,
                        1_000_000,
                    )
                    .map(|v| v as i32);
                Some((top, left))
            }
            Some(_) => {
                self.err(&format!("{path} -> position"), "Input should be an object");
                None
            }
        };
        let tile = self
            .boolean(&format!("{path} -> tile"), a.get("tile"))
            .unwrap_or(false);
        let tile_spacing = self
            .int(
                &format!("{path} -> tile_spacing"),
                a.get("tile_spacing"),
                0,
                100,
            )
            .unwrap_or(0) as u32;
        if tile && !size.is_some_and(|(w, h)| w.is_some() || h.is_some()) {
            self.err(
                &format!("{path} -> tile"),
                "tile requires size (the size of one tile)",
            );
        }
        if self.boolean(
            &format!("{path} -> remove_background"),
            a.get("remove_background"),
        ) == Some(true)
        {
            self.err(
                &format!("{path} -> remove_background"),
                "remove_background is not supported by this server",
            );
        }
        if self.errors.len() > before {
            return None;
        }
        Some(Asset {
            source: source?,
            fit,
            rotate,
            flip_horizontal,
            flip_vertical,
            size,
            position,
            tile,
            tile_spacing,
        })
    }

    fn color(&mut self, path: &str, c: &Map<String, Value>) -> Option<ColorOverlay> {
        let rgb = match c.get("hex") {
            Some(Value::String(h)) => parse_hex(h).or_else(|| {
                self.err(
                    &format!("{path} -> hex"),
                    "String should match pattern '^#[0-9A-Fa-f]{6}$'",
                );
                None
            }),
            Some(_) => {
                self.err(&format!("{path} -> hex"), "Input should be a valid string");
                None
            }
            None => {
                self.err(&format!("{path} -> hex"), "Field required");
                None
            }
        };
        let blend_mode = match c.get("blending_mode") {
            None | Some(Value::Null) => Some(BlendMode::Normal),
            Some(Value::String(s)) => BlendMode::from_api_name(s).or_else(|| {
                self.err(
                    &format!("{path} -> blending_mode"),
                    &format!("Unknown blending mode '{s}'"),
                );
                None
            }),
            Some(_) => {
                self.err(
                    &format!("{path} -> blending_mode"),
                    "Input should be a valid string",
                );
                None
            }
        };
        Some(ColorOverlay {
            rgb: rgb?,
            blend_mode: blend_mode?,
        })
    }

    fn export_options(&mut self, path: &str, o: &Map<String, Value>) -> ExportOptions {
        let d = ExportOptions::default();
        let image_format = match o.get("image_format") {
            None | Some(Value::Null) => d.image_format,
            Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "webp" => ImageFormat::Webp,
                "png" => ImageFormat::Png,
                "jpg" | "jpeg" => ImageFormat::Jpg,
                _ => {
                    self.err(
                        &format!("{path} -> image_format"),
                        "Input should be 'webp', 'png' or 'jpg'",
                    );
                    d.image_format
                }
            },
            Some(_) => {
                self.err(
                    &format!("{path} -> image_format"),
                    "Input should be 'webp', 'png' or 'jpg'",
                );
                d.image_format
            }
        };
        let image_size = match o.get("image_size") {
            None | Some(Value::Null) => d.image_size,
            Some(Value::String(s)) if s == "original" => ImageSize::Original,
            Some(Value::String(_)) => {
                self.err(
                    &format!("{path} -> image_size"),
                    "Input should be an integer from 100 to 10000 or 'original'",
                );
                d.image_size
            }
            v => self
                .int(&format!("{path} -> image_size"), v, 100, 10_000)
                .map_or(d.image_size, |w| ImageSize::Width(w as u32)),
        };
        let quality = self
            .int(&format!("{path} -> quality"), o.get("quality"), 1, 100)
            .map_or(d.quality, |q| q as u8);
        let dpi = self
            .int(&format!("{path} -> dpi"), o.get("dpi"), 72, 2400)
            .map(|v| v as u32);
        ExportOptions {
            image_format,
            image_size,
            quality,
            dpi,
        }
    }
}

/// `#RRGGBB` to bytes.
fn parse_hex(s: &str) -> Option<[u8; 3]> {
    let h = s.strip_prefix('#')?;
    if h.len() != 6 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).ok();
    Some([byte(0)?, byte(2)?, byte(4)?])
}

/// Standard base64 with padding: the encoding `asset.base64` expects (for
/// clients, tests and benchmarks building requests).
pub fn encode_base64(data: &[u8]) -> String {
    base64_simd::STANDARD.encode_to_string(data)
}

/// Decodes `asset.base64` as clients send it: the standard alphabet (the
/// URL-safe `-` and `_` accepted too), padding optional, whitespace (line
/// breaks of MIME-style base64) ignored. `None` on anything else.
///
/// `base64-simd` decodes with SSSE3/AVX2 natively and simd128 in wasm: a
/// 4.8 MB artwork took 9 ms of a wasm render with the scalar `base64`
/// crate (README, "Speed"). Its WHATWG "forgiving" decoding is exactly the
/// leniency above, minus the URL-safe alphabet, which is mapped first.
pub fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let raw = s.as_bytes();
    // Standard base64 is the usual case: decode first, look for the
    // URL-safe alphabet only when that fails (a scan of a multi-megabyte
    // string costs as much as the SIMD decode).
    if let Ok(bytes) = base64_simd::forgiving_decode_to_vec(raw) {
        return Some(bytes);
    }
    if !raw.iter().any(|&c| c == b'-' || c == b'_') {
        return None;
    }
    let standard: Vec<u8> = raw
        .iter()
        .map(|&c| match c {
            b'-' => b'+',
            b'_' => b'/',
            c => c,
        })
        .collect();
    base64_simd::forgiving_decode_to_vec(&standard).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SO: &str = "128394ee-6758-4f2f-aa36-e2b19b152bd9";
    const MOCKUP: &str = "c315f78f-d2c7-4541-b240-a9372842de94";

    fn fields(errs: &[FieldError]) -> Vec<&str> {
        errs.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn the_spec_example_parses_with_its_defaults() {
        let body = json!({
            "mockup_uuid": MOCKUP,
            "smart_objects": [{
                "uuid": SO,
                "asset": {"base64": "iVBORw0KGgo=", "content_type": "image/png", "fit": "cover"},
                "color": {"hex": "#FF5733", "blending_mode": "multiply"},
                "adjustment_layers": {"brightness": 10, "contrast": 5}
            }],
            "export_options": {"image_format": "webp", "image_size": 1920, "quality": 95}
        });
        let r = parse(&body, MockupUuid::Required).unwrap();
        let so = &r.smart_objects[0];
        let asset = so.asset.as_ref().unwrap();
        assert_eq!(asset.fit, Fit::Cover);
        assert_eq!(
            asset.source,
            AssetSource::Bytes {
                data: vec![0x89, b'P', b'N', b'G', 13, 10, 26, 10],
                content_type: "image/png".into()
            }
        );
        assert_eq!(
            so.color,
            Some(ColorOverlay {
                rgb: [0xff, 0x57, 0x33],
                blend_mode: BlendMode::Multiply
            })
        );
        assert_eq!(
            so.adjustments,
            ArtworkAdjustments {
                brightness: 10,
                contrast: 5,
                opacity: 100,
                ..Default::default()
            }
        );
        assert_eq!(r.export_options, ExportOptions::default());
    }

    #[test]
    fn out_of_range_fields_are_each_named() {
        let body = json!({
            "mockup_uuid": "not-a-uuid",
            "smart_objects": [{
                "uuid": SO,
                "asset": {"url": "ftp://x", "rotate": 400, "fit": "squash", "content_type": "image/bmp"},
                "adjustment_layers": {"brightness": -151, "opacity": 101, "blur": 3.5}
            }],
            "export_options": {"image_size": 99, "quality": 0, "dpi": 2401, "image_format": "gif"},
            "export_label": "x".repeat(101)
        });
        let errs = parse(&body, MockupUuid::Required).unwrap_err();
        let f = fields(&errs);
        for expected in [
            "body -> mockup_uuid",
            "body -> smart_objects -> 0 -> asset -> url",
            "body -> smart_objects -> 0 -> asset -> rotate",
            "body -> smart_objects -> 0 -> asset -> fit",
            "body -> smart_objects -> 0 -> asset -> content_type",
            "body -> smart_objects -> 0 -> adjustment_layers -> brightness",
            "body -> smart_objects -> 0 -> adjustment_layers -> opacity",
            "body -> smart_objects -> 0 -> adjustment_layers -> blur",
            "body -> export_options -> image_size",
            "body -> export_options -> quality",
            "body -> export_options -> dpi",
            "body -> export_options -> image_format",
            "body -> export_label",
        ] {
            assert!(f.contains(&expected), "missing {expected} in {f:?}");
        }
    }

    #[test]
    fn a_smart_object_needs_an_asset_or_a_colour() {
        let body = json!({"mockup_uuid": MOCKUP, "smart_objects": [{"uuid": SO}]});
        let errs = parse(&body, MockupUuid::Required).unwrap_err();
        assert_eq!(fields(&errs), ["body -> smart_objects -> 0"]);
        let body = json!({"mockup_uuid": MOCKUP, "smart_objects": []});
        assert_eq!(
            fields(&parse(&body, MockupUuid::Required).unwrap_err()),
            ["body -> smart_objects"]
        );
        // A colour alone is enough.
        let body = json!({"smart_objects": [{"uuid": SO, "color": {"hex": "#00ff00"}}]});
        let r = parse(&body, MockupUuid::Optional).unwrap();
        assert_eq!(
            r.smart_objects[0].color.unwrap().blend_mode,
            BlendMode::Normal
        );
        assert!(parse(&body, MockupUuid::Required).is_err());
    }

    #[test]
    fn blend_modes_accept_both_spellings_and_reject_others() {
        for (name, mode) in [
            ("soft_light", BlendMode::SoftLight),
            ("soft light", BlendMode::SoftLight),
            ("add", BlendMode::LinearDodge),
        ] {
            let body = json!({"smart_objects": [{"uuid": SO, "color": {"hex": "#000000", "blending_mode": name}}]});
            assert_eq!(
                parse(&body, MockupUuid::Optional).unwrap().smart_objects[0]
                    .color
                    .unwrap()
                    .blend_mode,
                mode
            );
        }
        let body = json!({"smart_objects": [{"uuid": SO, "color": {"hex": "#00000", "blending_mode": "glow"}}]});
        let errs = parse(&body, MockupUuid::Optional).unwrap_err();
        assert_eq!(
            fields(&errs),
            [
                "body -> smart_objects -> 0 -> color -> hex",
                "body -> smart_objects -> 0 -> color -> blending_mode"
            ]
        );
    }

    #[test]
    fn image_size_original_and_tiles() {
        let body = json!({
            "smart_objects": [{"uuid": SO, "asset": {"url": "https://a/b.png", "tile": true, "size": {"width": 200}, "tile_spacing": 10}}],
            "export_options": {"image_size": "original", "image_format": "jpg", "dpi": 300}
        });
        let r = parse(&body, MockupUuid::Optional).unwrap();
        assert_eq!(r.export_options.image_size, ImageSize::Original);
        assert_eq!(r.export_options.dpi, Some(300));
        let a = r.smart_objects[0].asset.as_ref().unwrap();
        assert!(a.tile);
        assert_eq!(a.tile_spacing, 10);
        let body = json!({"smart_objects": [{"uuid": SO, "asset": {"url": "https://a/b.png", "tile": true}}]});
        assert_eq!(
            fields(&parse(&body, MockupUuid::Optional).unwrap_err()),
            ["body -> smart_objects -> 0 -> asset -> tile"]
        );
    }

    #[test]
    fn hidden_layers_are_bounded_and_checked() {
        let many: Vec<String> = (0..51).map(|_| SO.to_string()).collect();
        let body = json!({"hidden_layers": many});
        assert_eq!(
            fields(&parse(&body, MockupUuid::Optional).unwrap_err()),
            ["body -> hidden_layers"]
        );
        let body = json!({"hidden_layers": [SO, "nope"]});
        assert_eq!(
            fields(&parse(&body, MockupUuid::Optional).unwrap_err()),
            ["body -> hidden_layers -> 1"]
        );
        let body = json!({"hidden_layers": [SO]});
        assert_eq!(
            parse(&body, MockupUuid::Optional).unwrap().hidden_layers,
            [SO]
        );
    }

    #[test]
    fn base64_decoding() {
        assert_eq!(decode_base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode_base64("aGVs\nbG8").unwrap(), b"hello");
        assert_eq!(decode_base64("-_8=").unwrap(), [0xfb, 0xff]);
        assert_eq!(decode_base64("+/8").unwrap(), [0xfb, 0xff]);
        assert!(decode_base64("data:image/png;base64,aGVsbG8=").is_none());
        assert!(decode_base64("aGVsbG8=x").is_none());
        assert!(decode_base64("aGVsb").is_none(), "one char past a quantum");
        // Non-zero trailing bits are dropped, as most decoders do.
        assert_eq!(decode_base64("aGVsbG9").unwrap(), b"hello");
        // Long input (past every SIMD block size), MIME line breaks, and
        // the URL-safe alphabet, all at once.
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 131 % 251) as u8).collect();
        let text = encode_base64(&data);
        assert_eq!(decode_base64(&text).unwrap(), data);
        let mime: Vec<String> = text
            .as_bytes()
            .chunks(76)
            .map(|l| String::from_utf8_lossy(l).into())
            .collect();
        assert_eq!(decode_base64(&mime.join("\r\n")).unwrap(), data);
        let url = text.replace('+', "-").replace('/', "_");
        assert_eq!(decode_base64(&url).unwrap(), data);
        let mut bad = text.clone();
        bad.insert(3001, '*');
        assert!(decode_base64(&bad).is_none());
        // Known vectors (RFC 4648), and the round trip of every length mod 3.
        assert_eq!(encode_base64(b"hello"), "aGVsbG8=");
        assert_eq!(encode_base64(b"fo"), "Zm8=");
        assert_eq!(encode_base64(b"foo"), "Zm9v");
        assert_eq!(encode_base64(b""), "");
        for n in 0..9u8 {
            let data: Vec<u8> = (0..n).map(|i| i.wrapping_mul(97)).collect();
            assert_eq!(decode_base64(&encode_base64(&data)).unwrap(), data);
        }
    }

    #[test]
    fn non_object_bodies_are_rejected() {
        assert_eq!(
            fields(&parse(&json!([1, 2]), MockupUuid::Optional).unwrap_err()),
            ["body"]
        );
    }
}
