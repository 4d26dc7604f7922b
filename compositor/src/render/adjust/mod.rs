//! Adjustment layers: parse their blocks and apply them to a backdrop.
//!
//! [`parse`] turns a tagged block into an [`Adjustment`] (plain data, no
//! colour conversion yet: parsing does not know the document's colour
//! mode); [`apply`] runs it over a copy of the backdrop's colour lanes.
//!
//! Per-channel tone curves (levels, curves, brightness/contrast, exposure)
//! are baked into a [`Lut`] once per call and looked up with linear
//! interpolation, so the pixel loops hold no branching on the adjustment
//! kind. The colour adjustments ([`chroma`]) work on RGB; in Grayscale
//! documents they run on the neutral `[g, g, g]` lanes and the result is
//! folded back to gray.
//!
//! Working spaces: RGB and Gray are supported by every adjustment but
//! colour lookup. In CMYK documents levels, curves, invert, posterize,
//! channel mixer and selective colour apply (levels and curves act on the
//! stored values, which is what Photoshop's CMYK levels/curves records
//! describe: 0 = full ink); the others report "unsupported". Lab documents
//! support levels, curves, invert and posterize only.
//!
//! `brit` vs `CgEd`: Photoshop CS3+ writes a zeroed `brit` block and keeps
//! the real brightness/contrast settings, including the "use legacy" flag,
//! in a `CgEd` descriptor block of the same layer. [`parse`] accepts
//! `CgEd` (it is not in [`ADJUSTMENT_KEYS`], because `CgEd` also holds
//! preset names on levels/curves layers): when a layer has `brit`, parse
//! its `CgEd` too and prefer that result when it is `Some`.

mod chroma;
mod tone;

use crate::color::{descriptor_color, ColorInfo, ColorMode};
use crate::error::{Error, Result};
use crate::psd::descriptor::{self, Descriptor};
use crate::psd::reader::Reader;
use crate::render::raster::Color;

pub use chroma::{
    BlackWhite, ChannelMixer, ColorBalance, GradientMap, HueSaturation, PhotoFilter, SelectiveColor,
};
pub use tone::{BrightnessContrast, Curve, LevelRecord};

/// Tagged-block keys that make a layer an adjustment layer.
pub const ADJUSTMENT_KEYS: &[&[u8; 4]] = &[
    b"brit", b"levl", b"curv", b"expA", b"vibA", b"hue ", b"hue2", b"blnc", b"blwh", b"phfl",
    b"mixr", b"clrL", b"nvrt", b"post", b"thrs", b"grdm", b"selc",
];

/// A parsed adjustment.
#[derive(Debug, Clone, PartialEq)]
pub struct Adjustment {
    /// The block key it came from.
    pub key: [u8; 4],
    /// What it does.
    pub kind: AdjustmentKind,
}

/// The settings of each adjustment type.
#[derive(Debug, Clone, PartialEq)]
pub enum AdjustmentKind {
    /// `brit` / `CgEd`.
    BrightnessContrast(BrightnessContrast),
    /// `levl`: record 0 is the composite, 1.. the channels.
    Levels(Vec<LevelRecord>),
    /// `curv`: per channel (0 = composite) curve.
    Curves(Vec<(u16, Curve)>),
    /// `expA`.
    Exposure {
        /// Stops (-20..20).
        exposure: f32,
        /// Offset added in linear light (-0.5..0.5).
        offset: f32,
        /// Gamma correction (0.01..9.99).
        gamma: f32,
    },
    /// `vibA`.
    Vibrance {
        /// Vibrance -1..1.
        vibrance: f32,
        /// Saturation -1..1.
        saturation: f32,
    },
    /// `hue2` / `hue `.
    HueSaturation(HueSaturation),
    /// `blnc`.
    ColorBalance(ColorBalance),
    /// `blwh`.
    BlackWhite(BlackWhite),
    /// `phfl`.
    PhotoFilter(PhotoFilter),
    /// `mixr`.
    ChannelMixer(ChannelMixer),
    /// `clrL`: not implemented (needs 3D LUT files / profiles).
    ColorLookup,
    /// `nvrt`.
    Invert,
    /// `post`: number of levels, 2..255.
    Posterize(u16),
    /// `thrs`: level 1..255.
    Threshold(u16),
    /// `grdm`.
    GradientMap(GradientMap),
    /// `selc`.
    SelectiveColor(SelectiveColor),
}

impl Adjustment {
    /// Short machine name, e.g. `levels`.
    pub fn name(&self) -> &'static str {
        match &self.kind {
            AdjustmentKind::BrightnessContrast(_) => "brightness_contrast",
            AdjustmentKind::Levels(_) => "levels",
            AdjustmentKind::Curves(_) => "curves",
            AdjustmentKind::Exposure { .. } => "exposure",
            AdjustmentKind::Vibrance { .. } => "vibrance",
            AdjustmentKind::HueSaturation(_) => "hue_saturation",
            AdjustmentKind::ColorBalance(_) => "color_balance",
            AdjustmentKind::BlackWhite(_) => "black_white",
            AdjustmentKind::PhotoFilter(_) => "photo_filter",
            AdjustmentKind::ChannelMixer(_) => "channel_mixer",
            AdjustmentKind::ColorLookup => "color_lookup",
            AdjustmentKind::Invert => "invert",
            AdjustmentKind::Posterize(_) => "posterize",
            AdjustmentKind::Threshold(_) => "threshold",
            AdjustmentKind::GradientMap(_) => "gradient_map",
            AdjustmentKind::SelectiveColor(_) => "selective_color",
        }
    }
}

/// Parses an adjustment block (its payload, after the length). `Ok(None)`
/// when the key is not an adjustment, or for a `CgEd` block that holds no
/// brightness/contrast settings.
pub fn parse(key: &[u8; 4], data: &[u8], max_depth: u32) -> Result<Option<Adjustment>> {
    let mut r = Reader::new(data);
    let kind = match key {
        b"brit" => AdjustmentKind::BrightnessContrast(tone::parse_brit(&mut r)?),
        b"CgEd" => {
            let d = descriptor::parse_versioned(&mut r, max_depth)?;
            match tone::parse_cged(&d) {
                Some(bc) => AdjustmentKind::BrightnessContrast(bc),
                None => return Ok(None),
            }
        }
        b"levl" => AdjustmentKind::Levels(tone::parse_levels(&mut r)?),
        b"curv" => AdjustmentKind::Curves(tone::parse_curves(&mut r)?),
        b"expA" => {
            let _version = r.u16("exposure version")?;
            let exposure = r.f32("exposure")?;
            let offset = r.f32("exposure offset")?;
            let gamma = r.f32("exposure gamma")?;
            AdjustmentKind::Exposure {
                exposure: finite_or(exposure, 0.0).clamp(-20.0, 20.0),
                offset: finite_or(offset, 0.0).clamp(-0.5, 0.5),
                gamma: finite_or(gamma, 1.0).clamp(0.01, 9.99),
            }
        }
        b"vibA" => {
            let d = descriptor::parse_versioned(&mut r, max_depth)?;
            AdjustmentKind::Vibrance {
                vibrance: (d.f64("vibrance").unwrap_or(0.0) / 100.0).clamp(-1.0, 1.0) as f32,
                saturation: (d.f64("Strt").unwrap_or(0.0) / 100.0).clamp(-1.0, 1.0) as f32,
            }
        }
        b"hue2" | b"hue " => AdjustmentKind::HueSaturation(chroma::parse_hue(&mut r)?),
        b"blnc" => AdjustmentKind::ColorBalance(chroma::parse_balance(&mut r)?),
        b"blwh" => {
            let d = descriptor::parse_versioned(&mut r, max_depth)?;
            AdjustmentKind::BlackWhite(chroma::parse_black_white(&d))
        }
        b"phfl" => AdjustmentKind::PhotoFilter(chroma::parse_photo_filter(&mut r)?),
        b"mixr" => AdjustmentKind::ChannelMixer(chroma::parse_mixer(&mut r)?),
        b"clrL" => AdjustmentKind::ColorLookup,
        b"nvrt" => AdjustmentKind::Invert,
        b"post" => AdjustmentKind::Posterize(r.u16("posterize levels")?.clamp(2, 255)),
        b"thrs" => AdjustmentKind::Threshold(r.u16("threshold level")?.clamp(1, 255)),
        b"grdm" => AdjustmentKind::GradientMap(chroma::parse_gradient_map(&mut r)?),
        b"selc" => AdjustmentKind::SelectiveColor(chroma::parse_selective(&mut r)?),
        _ => return Ok(None),
    };
    Ok(Some(Adjustment { key: *key, kind }))
}

/// Applies the adjustment to working-space colours in place (straight
/// colour lanes; alpha is not involved). Returns false when this
/// adjustment is not implemented for the document's colour mode (the
/// caller warns and should then leave the backdrop as it is).
pub fn apply(adj: &Adjustment, color: &mut [Color], info: &ColorInfo) -> bool {
    let space = Space::of(info);
    use AdjustmentKind as K;
    match &adj.kind {
        K::BrightnessContrast(bc) => tone::apply_brightness_contrast(bc, color, space, info),
        K::Levels(records) => tone::apply_levels(records, color, space),
        K::Curves(curves) => tone::apply_curves(curves, color, space),
        K::Exposure {
            exposure,
            offset,
            gamma,
        } => tone::apply_exposure(*exposure, *offset, *gamma, color, space),
        K::Invert => tone::apply_invert(color, space),
        K::Posterize(levels) => tone::apply_posterize(*levels, color, space, info),
        K::Threshold(level) => tone::apply_threshold(*level, color, space),
        K::Vibrance {
            vibrance,
            saturation,
        } => chroma::apply_vibrance(*vibrance, *saturation, color, space),
        K::HueSaturation(h) => chroma::apply_hue(h, color, space),
        K::ColorBalance(b) => chroma::apply_balance(b, color, space),
        K::BlackWhite(b) => chroma::apply_black_white(b, color, space, info),
        K::PhotoFilter(p) => chroma::apply_photo_filter(p, color, space),
        K::ChannelMixer(m) => chroma::apply_mixer(m, color, space),
        K::GradientMap(g) => chroma::apply_gradient_map(g, color, space, info),
        K::SelectiveColor(s) => chroma::apply_selective(s, color, space),
        K::ColorLookup => false,
    }
}

/// The working space as the adjustments see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Space {
    /// `[r, g, b, 0]`.
    Rgb,
    /// `[g, g, g, 0]`.
    Gray,
    /// `[c', m', y', k']`, stored (inverted) values.
    Cmyk,
    /// `[L, a, b, 0]`.
    Lab,
}

impl Space {
    fn of(info: &ColorInfo) -> Space {
        match info.mode {
            Some(ColorMode::Cmyk) => Space::Cmyk,
            Some(ColorMode::Lab) => Space::Lab,
            Some(ColorMode::Grayscale)
            | Some(ColorMode::Duotone)
            | Some(ColorMode::Bitmap)
            | Some(ColorMode::Multichannel) => Space::Gray,
            _ => Space::Rgb,
        }
    }

    /// Number of meaningful lanes.
    pub(crate) fn lanes(self) -> usize {
        match self {
            Space::Cmyk => 4,
            Space::Gray => 1,
            _ => 3,
        }
    }
}

fn finite_or(v: f32, default: f32) -> f32 {
    if v.is_finite() {
        v
    } else {
        default
    }
}

/// A tone curve sampled on 0..1, looked up with linear interpolation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Lut {
    table: Vec<f32>,
}

/// Samples per LUT (plus one for the closing point): fine enough that
/// interpolation error stays far below 16-bit precision for smooth curves.
const LUT_STEPS: usize = 4096;

impl Lut {
    /// Samples `f` over 0..1.
    pub(crate) fn from_fn(f: impl Fn(f32) -> f32) -> Lut {
        Lut {
            table: (0..=LUT_STEPS)
                .map(|i| f(i as f32 / LUT_STEPS as f32))
                .collect(),
        }
    }

    /// The curve at `x` (clamped to 0..1; NaN reads as 0).
    #[inline]
    pub(crate) fn get(&self, x: f32) -> f32 {
        let x = if x > 0.0 { x.min(1.0) } else { 0.0 } * LUT_STEPS as f32;
        let i = (x as usize).min(LUT_STEPS - 1);
        let f = x - i as f32;
        let a = self.table[i];
        let b = self.table[i + 1];
        a + (b - a) * f
    }

    /// True when the curve is (numerically) the identity.
    pub(crate) fn is_identity(&self) -> bool {
        self.table
            .iter()
            .enumerate()
            .all(|(i, &v)| (v - i as f32 / LUT_STEPS as f32).abs() < 1e-6)
    }

    /// `self` after `first`: x -> self(first(x)).
    pub(crate) fn after(&self, first: &Lut) -> Lut {
        Lut {
            table: first.table.iter().map(|&v| self.get(v)).collect(),
        }
    }
}

/// Applies one LUT per lane (`None` = unchanged) to the first `n` lanes.
pub(crate) fn apply_luts(color: &mut [Color], luts: &[Option<Lut>; 4]) {
    for (k, lut) in luts.iter().enumerate() {
        let Some(lut) = lut else { continue };
        for c in color.iter_mut() {
            c[k] = lut.get(c[k]);
        }
    }
}

/// Rec. 601 luma, the weights Photoshop's non-separable blend modes and
/// its luminosity-based adjustments use.
#[inline]
pub(crate) fn luma(r: f32, g: f32, b: f32) -> f32 {
    0.3 * r + 0.59 * g + 0.11 * b
}

/// Gives `c` the luma `l`, clipping into gamut while keeping hue (the
/// `SetLum` of the PDF/Photoshop non-separable modes).
#[inline]
pub(crate) fn set_lum(c: [f32; 3], l: f32) -> [f32; 3] {
    let d = l - luma(c[0], c[1], c[2]);
    let mut c = [c[0] + d, c[1] + d, c[2] + d];
    let l = luma(c[0], c[1], c[2]);
    let n = c[0].min(c[1]).min(c[2]);
    let x = c[0].max(c[1]).max(c[2]);
    if n < 0.0 && l - n > 1e-9 {
        for v in &mut c {
            *v = l + (*v - l) * l / (l - n);
        }
    }
    if x > 1.0 && x - l > 1e-9 {
        for v in &mut c {
            *v = l + (*v - l) * (1.0 - l) / (x - l);
        }
    }
    c
}

/// RGB 0..1 to HSL (hue 0..1).
#[inline]
pub(crate) fn rgb_to_hsl(r: f32, g: f32, b: f32) -> [f32; 3] {
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let l = (max + min) * 0.5;
    let d = max - min;
    if d <= 1e-9 {
        return [0.0, 0.0, l];
    }
    let s = if l <= 0.5 {
        d / (max + min)
    } else {
        d / (2.0 - max - min)
    };
    let h = if max == r {
        (g - b) / d + if g < b { 6.0 } else { 0.0 }
    } else if max == g {
        (b - r) / d + 2.0
    } else {
        (r - g) / d + 4.0
    };
    [h / 6.0, s, l]
}

/// HSL (hue 0..1, wrapping) to RGB 0..1.
#[inline]
pub(crate) fn hsl_to_rgb(h: f32, s: f32, l: f32) -> [f32; 3] {
    if s <= 0.0 {
        return [l, l, l];
    }
    let q = if l < 0.5 {
        l * (1.0 + s)
    } else {
        l + s - l * s
    };
    let p = 2.0 * l - q;
    let f = |t: f32| {
        let t = t.rem_euclid(1.0);
        if t < 1.0 / 6.0 {
            p + (q - p) * 6.0 * t
        } else if t < 0.5 {
            q
        } else if t < 2.0 / 3.0 {
            p + (q - p) * (2.0 / 3.0 - t) * 6.0
        } else {
            p
        }
    };
    [f(h + 1.0 / 3.0), f(h), f(h - 1.0 / 3.0)]
}

/// A colour as stored in binary adjustment blocks: Photoshop's colour
/// structure (colour space id and four 16-bit components).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BinaryColor {
    /// 0 RGB, 1 HSB, 2 CMYK, 7 Lab, 8 Gray.
    pub space: u16,
    /// Raw components.
    pub components: [u16; 4],
}

impl BinaryColor {
    /// Reads space id and components.
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<BinaryColor> {
        let space = r.u16("colour space")?;
        let mut components = [0u16; 4];
        for c in &mut components {
            *c = r.u16("colour component")?;
        }
        Ok(BinaryColor { space, components })
    }

    /// The colour as sRGB 0..1 (out-of-gamut values clipped).
    pub fn to_rgb(&self) -> [f32; 3] {
        let c = self.components.map(|v| v as f32);
        match self.space {
            0 => [c[0] / 65535.0, c[1] / 65535.0, c[2] / 65535.0],
            1 => {
                // HSB: hue 0..65535 = 0..360 degrees.
                hsb_to_rgb(c[0] / 65535.0, c[1] / 65535.0, c[2] / 65535.0)
            }
            2 => {
                // CMYK, 0 = 100 % ink as Photoshop stores it.
                let k = c[3] / 65535.0;
                [c[0] / 65535.0 * k, c[1] / 65535.0 * k, c[2] / 65535.0 * k]
            }
            7 => {
                let l = c[0] / 100.0;
                let a = self.components[1] as i16 as f32 / 100.0;
                let b = self.components[2] as i16 as f32 / 100.0;
                lab_to_srgb(l, a, b)
            }
            8 => {
                // Gray 0..10000 = 0..100 % black.
                let g = 1.0 - (c[0] / 10000.0).clamp(0.0, 1.0);
                [g, g, g]
            }
            _ => [0.0, 0.0, 0.0],
        }
    }
}

/// HSB (all 0..1) to RGB.
pub(crate) fn hsb_to_rgb(h: f32, s: f32, v: f32) -> [f32; 3] {
    let h = h.rem_euclid(1.0) * 6.0;
    let i = h.floor();
    let f = h - i;
    let p = v * (1.0 - s);
    let q = v * (1.0 - s * f);
    let t = v * (1.0 - s * (1.0 - f));
    match i as i32 {
        0 => [v, t, p],
        1 => [q, v, p],
        2 => [p, v, t],
        3 => [p, q, v],
        4 => [t, p, v],
        _ => [v, p, q],
    }
}

/// CIE Lab (D50, as Photoshop stores it; L 0..100, a/b about -128..127)
/// to sRGB 0..1, clipped.
pub fn lab_to_srgb(l: f32, a: f32, b: f32) -> [f32; 3] {
    let fy = (l + 16.0) / 116.0;
    let fx = fy + a / 500.0;
    let fz = fy - b / 200.0;
    let inv = |t: f32| {
        if t > 6.0 / 29.0 {
            t * t * t
        } else {
            3.0 * (6.0f32 / 29.0).powi(2) * (t - 4.0 / 29.0)
        }
    };
    let (x, y, z) = (0.9642 * inv(fx), inv(fy), 0.8249 * inv(fz));
    // XYZ (D50) to linear sRGB through the Bradford-adapted matrix.
    let r = 3.133_856 * x - 1.6168667 * y - 0.490_614_6 * z;
    let g = -0.9787684 * x + 1.9161415 * y + 0.0334540 * z;
    let bl = 0.0719453 * x - 0.2289914 * y + 1.4052427 * z;
    [r, g, bl].map(|v| crate::color::math::linear_to_srgb(v.clamp(0.0, 1.0)))
}

/// Converts an sRGB colour to working-space lanes (for colours that come
/// from binary blocks; descriptor colours go through
/// [`crate::color::descriptor_color`]).
pub(crate) fn rgb_to_lanes(rgb: [f32; 3], space: Space) -> Color {
    match space {
        Space::Gray => {
            let g = luma(rgb[0], rgb[1], rgb[2]);
            [g, g, g, 0.0]
        }
        Space::Cmyk => {
            // Naive separation: k' from the brightest channel.
            let k = rgb[0].max(rgb[1]).max(rgb[2]);
            if k <= 0.0 {
                [1.0, 1.0, 1.0, 0.0]
            } else {
                [rgb[0] / k, rgb[1] / k, rgb[2] / k, k]
            }
        }
        _ => [rgb[0], rgb[1], rgb[2], 0.0],
    }
}

/// A descriptor colour as sRGB-ish RGB 0..1 for adjustments that work in
/// RGB (tint colours). Goes through [`descriptor_color`] with an RGB
/// document so that every colour model the colour module knows is handled.
pub(crate) fn descriptor_rgb(desc: &Descriptor, info: &ColorInfo) -> Option<[f32; 3]> {
    let rgb_info = ColorInfo {
        mode: Some(ColorMode::Rgb),
        depth: info.depth,
        icc_profile: None,
        palette: None,
        color_mode_data: Vec::new(),
    };
    descriptor_color(desc, &rgb_info).map(|c| [c[0], c[1], c[2]])
}

/// Runs an RGB colour operation over the lanes of any space it supports:
/// RGB directly, Gray through `[g, g, g]` and back to the luma of the
/// result. Returns false for CMYK and Lab.
pub(crate) fn for_each_rgb(
    color: &mut [Color],
    space: Space,
    mut f: impl FnMut([f32; 3]) -> [f32; 3],
) -> bool {
    match space {
        Space::Rgb => {
            for c in color.iter_mut() {
                let o = f([c[0], c[1], c[2]]);
                c[0] = o[0];
                c[1] = o[1];
                c[2] = o[2];
            }
            true
        }
        Space::Gray => {
            for c in color.iter_mut() {
                let o = f([c[0], c[0], c[0]]);
                let g = luma(o[0], o[1], o[2]);
                *c = [g, g, g, c[3]];
            }
            true
        }
        Space::Cmyk | Space::Lab => false,
    }
}

fn err_short(what: &'static str, n: usize) -> Error {
    Error::invalid(what, format!("{n} entries is too few"))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn rgb_info() -> ColorInfo {
        ColorInfo {
            mode: Some(ColorMode::Rgb),
            depth: 8,
            ..Default::default()
        }
    }

    #[test]
    fn unknown_key_is_none_and_truncation_is_an_error() {
        assert_eq!(parse(b"lyid", &[0, 0, 0, 1], 8).unwrap(), None);
        assert!(parse(b"post", &[0], 8).is_err());
        assert!(parse(b"levl", &[0, 2, 0], 8).is_err());
        assert!(parse(b"curv", &[0, 0, 1, 0, 0, 0, 1, 0, 30], 8).is_err());
    }

    #[test]
    fn color_lookup_is_reported_unsupported() {
        let adj = parse(b"clrL", &[], 8).unwrap().unwrap();
        assert_eq!(adj.name(), "color_lookup");
        let mut px = [[0.5, 0.5, 0.5, 0.0]];
        assert!(!apply(&adj, &mut px, &rgb_info()));
        assert_eq!(px[0][0], 0.5);
    }

    #[test]
    fn hsl_round_trip() {
        for rgb in [
            [0.2, 0.4, 0.9],
            [1.0, 0.0, 0.0],
            [0.5, 0.5, 0.5],
            [0.9, 0.8, 0.1],
        ] {
            let h = rgb_to_hsl(rgb[0], rgb[1], rgb[2]);
            let back = hsl_to_rgb(h[0], h[1], h[2]);
            for k in 0..3 {
                assert!((back[k] - rgb[k]).abs() < 1e-5, "{rgb:?} -> {back:?}");
            }
        }
        // Pure red: hue 0, full saturation, lightness 0.5.
        assert_eq!(rgb_to_hsl(1.0, 0.0, 0.0), [0.0, 1.0, 0.5]);
    }

    #[test]
    fn lab_white_and_black() {
        let w = lab_to_srgb(100.0, 0.0, 0.0);
        assert!(w.iter().all(|&v| (v - 1.0).abs() < 2e-3), "{w:?}");
        let k = lab_to_srgb(0.0, 0.0, 0.0);
        assert!(k.iter().all(|&v| v.abs() < 1e-4));
        // Lab 50 gray is sRGB ~119/255.
        let g = lab_to_srgb(50.0, 0.0, 0.0);
        assert!((g[0] * 255.0 - 119.0).abs() < 1.0, "{g:?}");
    }

    #[test]
    fn lut_interpolates_and_composes() {
        let sq = Lut::from_fn(|x| x * x);
        assert!((sq.get(0.5) - 0.25).abs() < 1e-6);
        assert!(Lut::from_fn(|x| x).is_identity());
        let inv = Lut::from_fn(|x| 1.0 - x);
        let both = inv.after(&sq);
        assert!((both.get(0.5) - 0.75).abs() < 1e-6);
        assert_eq!(sq.get(f32::NAN), 0.0);
        assert_eq!(sq.get(7.0), 1.0);
    }
}
