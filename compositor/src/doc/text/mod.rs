//! Text layers (`TySh`): the text, font, size and colour.
//!
//! The block holds the layer's transform, a descriptor with the plain text
//! (`Txt `) and the styled text as EngineData (see [`engine_data`]), a warp
//! descriptor and the text bounds. Photoshop keeps the style of each run of
//! characters in EngineData; we read the first run, which is what a mockup
//! template's single-style text layer uses throughout.

pub mod engine_data;

use crate::error::{Error, Result};
use crate::psd::descriptor;
use crate::psd::reader::Reader;
use engine_data::Value;

/// What a text layer says and how.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct TextLayer {
    /// The text. Photoshop separates paragraphs with `\r`; they are given
    /// here as `\n`, and the `\r` Photoshop appends at the end is dropped.
    pub text: String,
    /// PostScript name of the first run's font.
    pub font: Option<String>,
    /// Font size in points of the first run, after the layer transform (the
    /// stored size times the transform's vertical scale, which is what
    /// Photoshop's Character panel shows for a scaled layer).
    pub size: Option<f64>,
    /// First run's fill colour as `#rrggbb`.
    pub color: Option<String>,
    /// The stored font size of the first run, before the transform.
    pub font_size: Option<f64>,
    /// Layer transform `[xx, xy, yx, yy, tx, ty]`: a text-space point
    /// `(x, y)` lands on the canvas at `(xx*x + yx*y + tx, xy*x + yy*y + ty)`.
    pub transform: [f64; 6],
    /// Text box bounds `[left, top, right, bottom]` in text space (add the
    /// transform's translation for canvas pixels), when stored.
    pub bounds: Option<[f64; 4]>,
    /// Tight bounds of the glyphs `[left, top, right, bottom]` in text space,
    /// when stored.
    pub bounding_box: Option<[f64; 4]>,
}

/// Parses a `TySh` block. `max_depth` bounds descriptor and EngineData
/// nesting.
pub fn parse_tysh(data: &[u8], max_depth: u32) -> Result<TextLayer> {
    let mut r = Reader::new(data);
    let version = r.u16("type tool version")?;
    if version != 1 {
        return Err(Error::unsupported(
            "type tool version",
            format!("{version}, expected 1"),
        ));
    }
    let mut transform = [0.0; 6];
    for t in &mut transform {
        *t = r.f64("type tool transform")?;
    }
    let text_version = r.u16("text version")?;
    if text_version != 50 {
        return Err(Error::unsupported(
            "text version",
            format!("{text_version}, expected 50"),
        ));
    }
    let text_desc = descriptor::parse_versioned(&mut r, max_depth)?;

    let mut layer = TextLayer {
        text: clean_text(text_desc.str("Txt ").unwrap_or_default()),
        transform,
        bounds: rect_of(text_desc.desc("bounds")),
        bounding_box: rect_of(text_desc.desc("boundingBox")),
        ..TextLayer::default()
    };

    if let Some(descriptor::Value::RawData(raw)) = text_desc.get("EngineData") {
        // Style is best effort: unreadable EngineData leaves the text alone.
        if let Ok(engine) = engine_data::parse(raw, max_depth) {
            apply_first_style(&mut layer, &engine);
            if layer.text.is_empty() {
                if let Some(t) = engine
                    .path(&["EngineDict", "Editor", "Text"])
                    .and_then(Value::as_str)
                {
                    layer.text = clean_text(t);
                }
            }
        }
    }

    // The warp descriptor and bounds follow; older writers stop early, so
    // their absence is not an error.
    let bounds_follow =
        r.u16("warp version").is_ok() && descriptor::parse_versioned(&mut r, max_depth).is_ok();
    if bounds_follow && layer.bounds.is_none() {
        // Photoshop leaves these zero; keep them only when they say more.
        layer.bounds = read_bounds(&mut r).filter(|b| b.iter().any(|&v| v != 0.0));
    }
    Ok(layer)
}

/// `Left`/`Top `/`Rght`/`Btom` of a bounds descriptor.
fn rect_of(d: Option<&descriptor::Descriptor>) -> Option<[f64; 4]> {
    let d = d?;
    Some([
        d.f64("Left")?,
        d.f64("Top ")?,
        d.f64("Rght")?,
        d.f64("Btom")?,
    ])
}

/// The text with Photoshop's paragraph separators turned into newlines and
/// its trailing one dropped.
fn clean_text(s: &str) -> String {
    let s = s.strip_suffix('\r').unwrap_or(s);
    s.replace("\r\n", "\n").replace('\r', "\n")
}

/// Reads the bounds: the specification says four doubles, but Photoshop
/// writes four 32-bit integers; take whichever fits what is left.
fn read_bounds(r: &mut Reader<'_>) -> Option<[f64; 4]> {
    let mut b = [0.0; 4];
    if r.remaining() >= 32 {
        for v in &mut b {
            *v = r.f64("text bounds").ok()?;
        }
    } else {
        for v in &mut b {
            *v = r.i32("text bounds").ok()? as f64;
        }
    }
    Some(b)
}

/// Fills font, size and colour from the first style run of the EngineData
/// (font index into ResourceDict/FontSet).
fn apply_first_style(layer: &mut TextLayer, engine: &Value) {
    let style = engine
        .path(&["EngineDict", "StyleRun", "RunArray"])
        .and_then(|runs| runs.index(0))
        .and_then(|run| run.path(&["StyleSheet", "StyleSheetData"]));
    // Properties a run does not set come from the normal style sheet:
    // ResourceDict/StyleSheetSet[TheNormalStyleSheet], the first by default.
    let normal = engine
        .path(&["ResourceDict", "TheNormalStyleSheet"])
        .and_then(Value::as_f64)
        .filter(|i| *i >= 0.0 && i.fract() == 0.0)
        .map_or(0, |i| i as usize);
    let default_style = engine
        .path(&["ResourceDict", "StyleSheetSet"])
        .and_then(|set| set.index(normal))
        .and_then(|s| s.get("StyleSheetData"));
    let prop = |key: &str| {
        style
            .and_then(|s| s.get(key))
            .or_else(|| default_style.and_then(|s| s.get(key)))
    };

    if let Some(index) = prop("Font").and_then(Value::as_f64) {
        if index >= 0.0 && index.fract() == 0.0 {
            layer.font = engine
                .path(&["ResourceDict", "FontSet"])
                .and_then(|set| set.index(index as usize))
                .and_then(|font| font.get("Name"))
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
    }

    if let Some(size) = prop("FontSize").and_then(Value::as_f64) {
        layer.font_size = Some(size);
        // The text's vertical axis maps to (yx, yy) on the canvas.
        let [_, _, yx, yy, _, _] = layer.transform;
        let scale = (yx * yx + yy * yy).sqrt();
        let scale = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        layer.size = Some(size * scale);
    }

    layer.color = prop("FillColor").and_then(color_hex);
}

/// An EngineData colour as `#rrggbb`. `/Values` starts with alpha, then
/// the components 0..1 of the `/Type`: 0 gray level, 1 RGB, 2 CMYK (ink,
/// converted naively: this is a label, not a colour-managed value).
fn color_hex(color: &Value) -> Option<String> {
    let kind = color.get("Type").and_then(Value::as_f64).unwrap_or(1.0);
    let values = color.get("Values")?.as_array()?;
    let v = |i: usize| -> Option<f64> {
        let x = values.get(i)?.as_f64()?;
        x.is_finite().then(|| x.clamp(0.0, 1.0))
    };
    let rgb = match kind as i64 {
        0 => {
            let g = v(1)?;
            [g, g, g]
        }
        1 => [v(1)?, v(2)?, v(3)?],
        2 => {
            let k = 1.0 - v(4)?;
            [(1.0 - v(1)?) * k, (1.0 - v(2)?) * k, (1.0 - v(3)?) * k]
        }
        _ => return None,
    };
    let mut out = String::from("#");
    for c in rgb {
        out.push_str(&format!("{:02x}", (c * 255.0).round() as u8));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_and_text_cleanup() {
        let c = engine_data::parse(b"<< /Type 1 /Values [ 1.0 0.34119 0.06274 0.23138 ] >>", 4)
            .unwrap();
        assert_eq!(color_hex(&c).as_deref(), Some("#57103b"));
        let c = engine_data::parse(b"<< /Type 1 /Values [ 1 2.0 -1 0.5 ] >>", 4).unwrap();
        assert_eq!(color_hex(&c).as_deref(), Some("#ff0080"));
        // Gray level (ag-psd/psb-test.psb: its black text stores 0.0).
        let c = engine_data::parse(b"<< /Type 0 /Values [ 1.0 0.0 ] >>", 4).unwrap();
        assert_eq!(color_hex(&c).as_deref(), Some("#000000"));
        let c = engine_data::parse(b"<< /Type 0 /Values [ 1.0 .5 ] >>", 4).unwrap();
        assert_eq!(color_hex(&c).as_deref(), Some("#808080"));
        // CMYK ink: full cyan and no other ink is (0, 255, 255).
        let c = engine_data::parse(b"<< /Type 2 /Values [ 1 1 0 0 0 ] >>", 4).unwrap();
        assert_eq!(color_hex(&c).as_deref(), Some("#00ffff"));
        let c = engine_data::parse(b"<< /Type 1 /Values [ 1 0.5 ] >>", 4).unwrap();
        assert_eq!(color_hex(&c), None);
        assert_eq!(clean_text("a\rb\r"), "a\nb");
        assert_eq!(clean_text("abc"), "abc");
    }

    #[test]
    fn first_run_style_with_scale() {
        let engine = engine_data::parse(
            b"<< /EngineDict << /StyleRun << /RunArray [ << /StyleSheet << /StyleSheetData \
              << /Font 1 /FontSize 10.0 >> >> >> << /StyleSheet << /StyleSheetData << /Font 0 >> >> >> ] >> >> \
              /ResourceDict << /FontSet [ << /Name (\xfe\xff\x00A) >> << /Name (\xfe\xff\x00B\x00C) >> ] \
              /TheNormalStyleSheet 1 /StyleSheetSet [ << /StyleSheetData << /FillColor << /Type 1 /Values [ 1 1 0 0 ] >> >> >> \
              << /StyleSheetData << /FontSize 99 /FillColor << /Type 1 /Values [ 1 0 0 1 ] >> >> >> ] >> >>",
            16,
        )
        .unwrap();
        let mut layer = TextLayer {
            // Scaled by 2 vertically and rotated a quarter turn: the local
            // y axis maps to (-2, 0), length 2.
            transform: [0.0, 1.0, -2.0, 0.0, 5.0, 5.0],
            ..TextLayer::default()
        };
        apply_first_style(&mut layer, &engine);
        assert_eq!(layer.font.as_deref(), Some("BC"));
        assert_eq!(layer.font_size, Some(10.0));
        assert_eq!(layer.size, Some(20.0));
        // Not set on the run: from the default style sheet.
        assert_eq!(layer.color.as_deref(), Some("#0000ff"));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse_tysh(&[], 32).is_err());
        assert!(parse_tysh(&[0, 1, 0, 0], 32).is_err());
        let mut b = vec![0, 1];
        b.extend([0u8; 48]);
        b.extend([0, 50, 0, 0, 0, 16]);
        b.extend((0..300u32).map(|i| (i * 131 % 256) as u8));
        assert!(parse_tysh(&b, 32).is_err());
    }

    use crate::testing::{fixture, tagged_blocks};

    /// Every `8BIMTySh` block in a PSD file.
    fn tysh_blocks(file: &[u8]) -> Vec<&[u8]> {
        tagged_blocks(file, b"TySh")
    }

    // Expected values below are what psd-tools 1.26 reports for these layers
    // (text, ResourceDict/FontSet[Font]/Name, FontSize, FillColor, transform).

    #[test]
    fn fixture_clip_adjustment_text() {
        let Some(file) = fixture("psd-tools/clip-adjustment.psd") else {
            return;
        };
        let blocks = tysh_blocks(&file);
        assert_eq!(blocks.len(), 1);
        let t = parse_tysh(blocks[0], 32).unwrap();
        assert_eq!(t.text, "a");
        assert_eq!(t.font.as_deref(), Some("ArialMT"));
        assert_eq!(t.size, Some(12.0));
        // FillColor [1.0, 1.0, 2e-05, 2e-05].
        assert_eq!(t.color.as_deref(), Some("#ff0000"));
        assert_eq!(t.transform[..4], [1.0, 0.0, 0.0, 1.0]);
        assert!((t.transform[4] - 8.763).abs() < 1e-9);
        assert!((t.transform[5] - 21.192333333333334).abs() < 1e-9);
        // psd-tools: bounds Left -3.3369140625, Top -9.704391479492188, ...
        let b = t.bounds.unwrap();
        assert_eq!(b[0], -3.3369140625);
        assert!((b[1] + 9.704391479492188).abs() < 1e-12);
        assert!((b[2] - 3.516913890838623).abs() < 1e-12);
        assert!((b[3] - 4.4899444580078125).abs() < 1e-12);
        let bb = t.bounding_box.unwrap();
        assert_eq!(bb[0], -2.3369140625);
        assert!((bb[3] - 0.5934600830078125).abs() < 1e-12);
    }

    #[test]
    fn fixture_layer_effects_text() {
        let Some(file) = fixture("psd-tools/layer_effects.psd") else {
            return;
        };
        let layers: Vec<TextLayer> = tysh_blocks(&file)
            .into_iter()
            .map(|b| parse_tysh(b, 32).unwrap())
            .collect();
        assert_eq!(layers.len(), 11);
        let bevel = layers.iter().find(|t| t.text == "Bevel").unwrap();
        assert_eq!(bevel.font.as_deref(), Some("Arial-Black"));
        assert_eq!(bevel.size, Some(62.5));
        // FillColor [1.0, 0.34119, 0.06274, 0.23138].
        assert_eq!(bevel.color.as_deref(), Some("#57103b"));
        let glow = layers.iter().find(|t| t.text == "Inner Glow").unwrap();
        assert_eq!(glow.color.as_deref(), Some("#000000"));
        let satin = layers.iter().find(|t| t.text == "Satin").unwrap();
        // FillColor [1.0, 1.0, 0.79999, 1.0].
        assert_eq!(satin.color.as_deref(), Some("#ffccff"));
        assert!(layers.iter().any(|t| t.text == "Color Overlay"));
    }

    #[test]
    fn fixture_scaled_text() {
        let Some(file) = fixture("psd-tools/masks.psd") else {
            return;
        };
        let layers: Vec<TextLayer> = tysh_blocks(&file)
            .into_iter()
            .map(|b| parse_tysh(b, 32).unwrap())
            .collect();
        assert_eq!(layers.len(), 6);
        // psd-tools: FontSize 14.0, transform (1.8561070831009483, 0, 0, 2,
        // 340, 580.734375): the size on the canvas is 14 x 2.
        let t = layers
            .iter()
            .find(|t| t.transform[0] == 1.8561070831009483)
            .unwrap();
        assert_eq!(t.text, "replaced");
        assert_eq!(t.font.as_deref(), Some("ProximaNova-Regular"));
        assert_eq!(t.font_size, Some(14.0));
        assert_eq!(t.size, Some(28.0));
        assert_eq!(t.color.as_deref(), Some("#0070bf"));
        let sign_in = layers.iter().find(|t| t.text == "sign in").unwrap();
        assert_eq!((sign_in.font_size, sign_in.size), (Some(16.0), Some(32.0)));
    }
}
