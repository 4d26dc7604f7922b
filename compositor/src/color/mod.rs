//! Colour: the document's colour mode, its working space for compositing,
//! and conversion of the result to sRGB.

use crate::render::raster::Color;

/// The colour mode in the file header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColorMode {
    Bitmap,
    Grayscale,
    Indexed,
    Rgb,
    Cmyk,
    Multichannel,
    Duotone,
    Lab,
}

impl ColorMode {
    /// From the header's mode number.
    pub fn from_u16(v: u16) -> Option<Self> {
        Some(match v {
            0 => ColorMode::Bitmap,
            1 => ColorMode::Grayscale,
            2 => ColorMode::Indexed,
            3 => ColorMode::Rgb,
            4 => ColorMode::Cmyk,
            7 => ColorMode::Multichannel,
            8 => ColorMode::Duotone,
            9 => ColorMode::Lab,
            _ => return None,
        })
    }

    /// Number of colour channels (not counting alpha) the mode stores per
    /// layer.
    pub fn color_channels(self) -> usize {
        match self {
            ColorMode::Bitmap | ColorMode::Grayscale | ColorMode::Duotone | ColorMode::Indexed => 1,
            ColorMode::Rgb | ColorMode::Lab => 3,
            ColorMode::Cmyk => 4,
            ColorMode::Multichannel => 1,
        }
    }
}

/// Everything needed to interpret colour values of a document.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ColorInfo {
    /// Header colour mode.
    pub mode: Option<ColorMode>,
    /// Bits per channel (1, 8, 16, 32).
    pub depth: u8,
    /// Embedded ICC profile (resource 1039), if any.
    pub icc_profile: Option<Vec<u8>>,
    /// Indexed palette: 256 RGB triples.
    pub palette: Option<Vec<[u8; 3]>>,
    /// Raw colour-mode data (duotone specification).
    pub color_mode_data: Vec<u8>,
}

/// Converts working-space pixels to sRGB RGBA8, straight alpha.
///
/// Placeholder until the colour module lands: treats lanes as RGB / gray /
/// naive CMYK.
pub fn to_rgba8(info: &ColorInfo, color: &[Color], alpha: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(color.len() * 4);
    for (c, &a) in color.iter().zip(alpha) {
        let rgb = match info.mode {
            Some(ColorMode::Cmyk) => [c[0] * c[3], c[1] * c[3], c[2] * c[3]],
            _ => [c[0], c[1], c[2]],
        };
        for v in rgb {
            out.push((v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8);
        }
        out.push((a.clamp(0.0, 1.0) * 255.0 + 0.5) as u8);
    }
    out
}

/// Converts a descriptor colour (`Clr ` value: `RGBC`, `CMYC`, `Grsc`,
/// `HSBC`, `LbCl`, or the float forms of newer files) to working-space lanes
/// of the document described by `info`.
///
/// Placeholder: RGB only, until the colour module lands.
pub fn descriptor_color(
    desc: &crate::psd::descriptor::Descriptor,
    info: &ColorInfo,
) -> Option<Color> {
    let _ = info;
    let r = desc.f64("Rd  ")? / 255.0;
    let g = desc.f64("Grn ")? / 255.0;
    let b = desc.f64("Bl  ")? / 255.0;
    Some([r as f32, g as f32, b as f32, 0.0])
}

/// Converts an sRGB colour to working-space lanes of the document.
///
/// Placeholder until the colour module lands: RGB and gray only.
pub fn working_from_srgb8(info: &ColorInfo, rgb: [u8; 3]) -> Color {
    let [r, g, b] = rgb.map(|v| v as f32 / 255.0);
    match info.mode {
        Some(ColorMode::Cmyk) => {
            let k = r.max(g).max(b);
            if k <= 0.0 {
                return [1.0, 1.0, 1.0, 0.0];
            }
            [r / k, g / k, b / k, k]
        }
        Some(
            ColorMode::Grayscale | ColorMode::Duotone | ColorMode::Bitmap | ColorMode::Multichannel,
        ) => {
            let y = 0.299 * r + 0.587 * g + 0.114 * b;
            [y, y, y, 0.0]
        }
        _ => [r, g, b, 0.0],
    }
}
