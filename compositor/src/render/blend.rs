//! Blend modes: where a source pixel meets a backdrop pixel.

use crate::render::raster::Color;

/// Every Photoshop layer blend mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlendMode {
    /// Groups only: children blend straight into the group's backdrop.
    PassThrough,
    Normal,
    Dissolve,
    Darken,
    Multiply,
    ColorBurn,
    LinearBurn,
    DarkerColor,
    Lighten,
    Screen,
    ColorDodge,
    LinearDodge,
    LighterColor,
    Overlay,
    SoftLight,
    HardLight,
    VividLight,
    LinearLight,
    PinLight,
    HardMix,
    Difference,
    Exclusion,
    Subtract,
    Divide,
    Hue,
    Saturation,
    Color,
    Luminosity,
}

impl BlendMode {
    /// Mode from a layer record's 4-byte key (`norm`, `mul `, ...).
    pub fn from_key(key: &[u8; 4]) -> Option<Self> {
        use BlendMode::*;
        Some(match key {
            b"pass" => PassThrough,
            b"norm" => Normal,
            b"diss" => Dissolve,
            b"dark" => Darken,
            b"mul " => Multiply,
            b"idiv" => ColorBurn,
            b"lbrn" => LinearBurn,
            b"dkCl" => DarkerColor,
            b"lite" => Lighten,
            b"scrn" => Screen,
            b"div " => ColorDodge,
            b"lddg" => LinearDodge,
            b"lgCl" => LighterColor,
            b"over" => Overlay,
            b"sLit" => SoftLight,
            b"hLit" => HardLight,
            b"vLit" => VividLight,
            b"lLit" => LinearLight,
            b"pLit" => PinLight,
            b"hMix" => HardMix,
            b"diff" => Difference,
            b"smud" => Exclusion,
            b"fsub" => Subtract,
            b"fdiv" => Divide,
            b"hue " => Hue,
            b"sat " => Saturation,
            b"colr" => Color,
            b"lum " => Luminosity,
            _ => return None,
        })
    }

    /// Mode from a descriptor enum value (`BlnM` type: `Nrml`, `Mltp`,
    /// `linearBurn`, ...), as used by effects and fill layers.
    pub fn from_descriptor(value: &str) -> Option<Self> {
        use BlendMode::*;
        Some(match value {
            "passThrough" => PassThrough,
            "Nrml" | "normal" => Normal,
            "Dslv" => Dissolve,
            "Drkn" => Darken,
            "Mltp" => Multiply,
            "CBrn" => ColorBurn,
            "linearBurn" => LinearBurn,
            "darkerColor" => DarkerColor,
            "Lghn" => Lighten,
            "Scrn" => Screen,
            "CDdg" => ColorDodge,
            "linearDodge" => LinearDodge,
            "lighterColor" => LighterColor,
            "Ovrl" => Overlay,
            "SftL" => SoftLight,
            "HrdL" => HardLight,
            "vividLight" => VividLight,
            "linearLight" => LinearLight,
            "pinLight" => PinLight,
            "hardMix" => HardMix,
            "Dfrn" => Difference,
            "Xclu" => Exclusion,
            "blendSubtraction" => Subtract,
            "blendDivide" => Divide,
            "H   " => Hue,
            "Strt" => Saturation,
            "Clr " => Color,
            "Lmns" => Luminosity,
            _ => return None,
        })
    }
}

/// Composites a source span over a backdrop span, in place.
///
/// `src` alpha is multiplied by `opacity`, by `fill` (see Photoshop's fill
/// opacity rules for the special modes) and by `coverage` when given.
/// `x`, `y` are the canvas coordinates of the first pixel (dissolve noise).
#[allow(clippy::too_many_arguments)]
pub fn composite_span(
    mode: BlendMode,
    dst_color: &mut [Color],
    dst_alpha: &mut [f32],
    src_color: &[Color],
    src_alpha: &[f32],
    opacity: f32,
    fill: f32,
    coverage: Option<&[f32]>,
    x: i32,
    y: i32,
) {
    let _ = (mode, x, y);
    // Placeholder: normal mode only, replaced by the full implementation.
    for i in 0..dst_color.len() {
        let a_s = src_alpha[i] * opacity * fill * coverage.map_or(1.0, |c| c[i]);
        if a_s <= 0.0 {
            continue;
        }
        let a_b = dst_alpha[i];
        let a_o = a_s + a_b * (1.0 - a_s);
        for k in 0..4 {
            dst_color[i][k] = (src_color[i][k] * a_s + dst_color[i][k] * a_b * (1.0 - a_s)) / a_o;
        }
        dst_alpha[i] = a_o;
    }
}
