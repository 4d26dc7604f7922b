//! Colour adjustments: hue/saturation, vibrance, colour balance, black &
//! white, photo filter, channel mixer, gradient map, selective colour.
//!
//! All of them work on RGB (see [`super::for_each_rgb`]). Where Photoshop's
//! exact algorithm is not public the model used is stated on the function.

use super::{
    descriptor_rgb, for_each_rgb, hsl_to_rgb, lab_to_srgb, luma, rgb_to_hsl, rgb_to_lanes, set_lum,
    BinaryColor, Space,
};
use crate::color::ColorInfo;
use crate::error::{Error, Result};
use crate::psd::descriptor::Descriptor;
use crate::psd::reader::Reader;
use crate::render::gradient::Gradient;
use crate::render::raster::Color;

/// Hue/saturation settings.
#[derive(Debug, Clone, PartialEq)]
pub struct HueSaturation {
    /// "Colorize" mode.
    pub colorize: bool,
    /// Colorize hue (degrees 0..360), saturation 0..1, lightness -1..1.
    pub colorization: [f32; 3],
    /// Master hue shift (degrees), saturation -1..1, lightness -1..1.
    pub master: [f32; 3],
    /// The six range edits (reds, yellows, greens, cyans, blues, magentas):
    /// hue ramps in degrees (begin ramp, begin sustain, end sustain, end
    /// ramp) and hue / saturation / lightness like `master`.
    pub ranges: Vec<([f32; 4], [f32; 3])>,
}

/// Colour balance settings: cyan-red, magenta-green, yellow-blue, each
/// -1..1, per tonal range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColorBalance {
    /// Shadows.
    pub shadows: [f32; 3],
    /// Midtones.
    pub midtones: [f32; 3],
    /// Highlights.
    pub highlights: [f32; 3],
    /// Preserve luminosity.
    pub preserve_luminosity: bool,
}

/// Black & white settings.
#[derive(Debug, Clone, PartialEq)]
pub struct BlackWhite {
    /// Weights of reds, yellows, greens, cyans, blues, magentas (1 = 100 %).
    pub weights: [f32; 6],
    /// Tint colour descriptor when "Tint" is on.
    pub tint: Option<Descriptor>,
}

/// Photo filter settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhotoFilter {
    /// Filter colour, sRGB 0..1.
    pub rgb: [f32; 3],
    /// Density 0..1.
    pub density: f32,
    /// Preserve luminosity.
    pub preserve_luminosity: bool,
}

/// Channel mixer settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChannelMixer {
    /// Monochrome: row 0 feeds every channel.
    pub monochrome: bool,
    /// Per output channel: weights of input channels 1..4 and a constant,
    /// as fractions (1 = 100 %).
    pub rows: [[f32; 5]; 4],
}

/// Gradient map settings.
#[derive(Debug, Clone, PartialEq)]
pub struct GradientMap {
    /// Reverse the gradient.
    pub reverse: bool,
    /// Colour stops: location 0..1, midpoint 0..1, colour.
    pub stops: Vec<(f32, f32, BinaryColor)>,
    /// Smoothness 0..1.
    pub smoothness: f32,
}

/// Selective colour settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelectiveColor {
    /// Absolute (true) or relative method.
    pub absolute: bool,
    /// Cyan, magenta, yellow, black adjustments (-1..1) for reds, yellows,
    /// greens, cyans, blues, magentas, whites, neutrals, blacks.
    pub plates: [[f32; 4]; 9],
}

/// `hue2` / `hue `: version, colorize flag, pad, colorization (3 × i16),
/// master (3 × i16), six ranges of 4 + 3 i16.
pub(super) fn parse_hue(r: &mut Reader<'_>) -> Result<HueSaturation> {
    let version = r.u16("hue/saturation version")?;
    if version > 2 {
        return Err(Error::unsupported("hue/saturation version", version));
    }
    let colorize = r.u8("colorize flag")? != 0;
    let _pad = r.u8("hue/saturation padding")?;
    let tri = |r: &mut Reader<'_>| -> Result<[f32; 3]> {
        Ok([
            r.i16("hue")? as f32,
            r.i16("saturation")? as f32 / 100.0,
            r.i16("lightness")? as f32 / 100.0,
        ])
    };
    let colorization = tri(r)?;
    let master = tri(r)?;
    let mut ranges = Vec::with_capacity(6);
    for _ in 0..6 {
        let mut ramp = [0.0f32; 4];
        for v in &mut ramp {
            *v = r.i16("hue range")? as f32;
        }
        ranges.push((ramp, tri(r)?));
    }
    Ok(HueSaturation {
        colorize,
        colorization: [
            colorization[0],
            colorization[1].clamp(0.0, 1.0),
            colorization[2].clamp(-1.0, 1.0),
        ],
        master: [
            master[0],
            master[1].clamp(-1.0, 1.0),
            master[2].clamp(-1.0, 1.0),
        ],
        ranges,
    })
}

/// `blnc`: shadows, midtones, highlights (3 × i16 each, -100..100),
/// preserve-luminosity byte.
pub(super) fn parse_balance(r: &mut Reader<'_>) -> Result<ColorBalance> {
    let mut tri = || -> Result<[f32; 3]> {
        let mut t = [0.0f32; 3];
        for v in &mut t {
            *v = (r.i16("colour balance")? as f32 / 100.0).clamp(-1.0, 1.0);
        }
        Ok(t)
    };
    let shadows = tri()?;
    let midtones = tri()?;
    let highlights = tri()?;
    let preserve_luminosity = r.u8("preserve luminosity")? != 0;
    Ok(ColorBalance {
        shadows,
        midtones,
        highlights,
        preserve_luminosity,
    })
}

/// `blwh` descriptor: `Rd  `, `Yllw`, `Grn `, `Cyn `, `Bl  `, `Mgnt` in
/// percent, `useTint`, `tintColor`.
pub(super) fn parse_black_white(d: &Descriptor) -> BlackWhite {
    let w = |k: &str, default: f64| (d.f64(k).unwrap_or(default) / 100.0) as f32;
    BlackWhite {
        weights: [
            w("Rd  ", 40.0),
            w("Yllw", 60.0),
            w("Grn ", 40.0),
            w("Cyn ", 60.0),
            w("Bl  ", 20.0),
            w("Mgnt", 80.0),
        ],
        tint: if d.bool("useTint").unwrap_or(false) {
            d.desc("tintColor").cloned()
        } else {
            None
        },
    }
}

/// `phfl`: version 2 holds a colour structure, version 3 an XYZ colour
/// (three 16.16 fixed values scaled like Photoshop's XYZ 0..100... taken as
/// fractions of D50 white), then density (u32 percent) and
/// preserve-luminosity (u8).
pub(super) fn parse_photo_filter(r: &mut Reader<'_>) -> Result<PhotoFilter> {
    let version = r.u16("photo filter version")?;
    let rgb = match version {
        2 => BinaryColor::read(r)?.to_rgb(),
        3 => {
            let x = r.u32("photo filter X")? as f32 / 65536.0;
            let y = r.u32("photo filter Y")? as f32 / 65536.0;
            let z = r.u32("photo filter Z")? as f32 / 65536.0;
            // Values may be 0..100 or 0..1: normalise to Y = 0..1.
            let s = if y > 1.5 { 0.01 } else { 1.0 };
            xyz_d50_to_srgb(x * s, y * s, z * s)
        }
        v => return Err(Error::unsupported("photo filter version", v)),
    };
    let density = (r.u32("photo filter density")?.min(100) as f32) / 100.0;
    let preserve_luminosity = r.u8("preserve luminosity")? != 0;
    Ok(PhotoFilter {
        rgb,
        density,
        preserve_luminosity,
    })
}

fn xyz_d50_to_srgb(x: f32, y: f32, z: f32) -> [f32; 3] {
    // Go through Lab so there is one D50 -> sRGB path.
    let f = |t: f32| {
        if t > 0.008856 {
            t.cbrt()
        } else {
            7.787 * t + 16.0 / 116.0
        }
    };
    let (fx, fy, fz) = (f(x / 0.9642), f(y), f(z / 0.8249));
    lab_to_srgb(116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz))
}

/// `mixr`: version, monochrome (u16), then per output channel four input
/// weights and a constant (i16 percent). Photoshop writes four rows even
/// for RGB.
pub(super) fn parse_mixer(r: &mut Reader<'_>) -> Result<ChannelMixer> {
    let _version = r.u16("channel mixer version")?;
    let monochrome = r.u16("channel mixer monochrome")? != 0;
    let mut rows = [[0.0f32; 5]; 4];
    for (i, row) in rows.iter_mut().enumerate() {
        if r.remaining() < 10 {
            if i < 3 {
                return Err(super::err_short("channel mixer rows", i));
            }
            row[3] = 1.0;
            break;
        }
        for v in row.iter_mut() {
            *v = r.i16("channel mixer weight")? as f32 / 100.0;
        }
    }
    Ok(ChannelMixer { monochrome, rows })
}

/// `grdm`: version (1 or 3), reverse, dither, (v3: method), name, colour
/// stops (location u32 0..4096, midpoint u32 0..100, colour structure, 2
/// pad bytes), transparency stops (ignored: gradient maps are opaque),
/// then expansion, interpolation (smoothness 0..4096), ...
pub(super) fn parse_gradient_map(r: &mut Reader<'_>) -> Result<GradientMap> {
    let version = r.u16("gradient map version")?;
    if version != 1 && version != 3 {
        return Err(Error::unsupported("gradient map version", version));
    }
    let reverse = r.u8("gradient map reverse")? != 0;
    let _dither = r.u8("gradient map dither")?;
    if version == 3 {
        let _method = r.array::<4>("gradient map method")?;
    }
    let _name = r.unicode_string("gradient map name")?;
    let n = r.u16("gradient map stop count")?;
    let mut stops = Vec::new();
    for _ in 0..n {
        let loc = (r.u32("stop location")?.min(4096) as f32) / 4096.0;
        let mid = (r.u32("stop midpoint")?.min(100) as f32) / 100.0;
        let color = BinaryColor::read(r)?;
        r.skip(2, "stop padding")?;
        stops.push((loc, mid, color));
    }
    let n = r.u16("gradient map opacity stop count")?;
    r.skip(n as u64 * 10, "gradient map opacity stops")?;
    let _expansion = r.u16("gradient map expansion")?;
    let smoothness = (r.u16("gradient map interpolation")?.min(4096) as f32) / 4096.0;
    if stops.is_empty() {
        return Err(Error::invalid("gradient map", "no colour stops"));
    }
    Ok(GradientMap {
        reverse,
        stops,
        smoothness,
    })
}

/// `selc`: version, method (0 relative, 1 absolute), ten records of four
/// i16 percentages; record 0 is unused.
pub(super) fn parse_selective(r: &mut Reader<'_>) -> Result<SelectiveColor> {
    let _version = r.u16("selective colour version")?;
    let absolute = r.u16("selective colour method")? != 0;
    r.skip(8, "selective colour record 0")?;
    let mut plates = [[0.0f32; 4]; 9];
    for p in &mut plates {
        for v in p.iter_mut() {
            *v = (r.i16("selective colour")? as f32 / 100.0).clamp(-1.0, 1.0);
        }
    }
    Ok(SelectiveColor { absolute, plates })
}

/// Photoshop's lightness: positive values blend towards white, negative
/// towards black.
#[inline]
fn lighten(v: f32, l: f32) -> f32 {
    if l >= 0.0 {
        v * (1.0 - l) + l
    } else {
        v * (1.0 + l)
    }
}

/// Photoshop's saturation change on HSL saturation: negative values scale
/// chroma down (-100 % gives the HSL lightness `(max + min) / 2`), positive
/// ones divide by `1 - k` (saturating at 100 %).
#[inline]
fn saturate(s: f32, k: f32) -> f32 {
    if k >= 0.0 {
        if k >= 1.0 {
            if s > 0.0 {
                1.0
            } else {
                0.0
            }
        } else {
            (s / (1.0 - k)).min(1.0)
        }
    } else {
        s * (1.0 + k)
    }
}

/// Trapezoid weight of hue `h` (degrees) in a hue range.
fn range_weight(h: f32, ramp: &[f32; 4]) -> f32 {
    let [b0, b1, e1, e0] = *ramp;
    let rel = |v: f32| (v - b0).rem_euclid(360.0);
    let x = rel(h);
    let (s1, s2, s3) = (rel(b1), rel(e1), rel(e0));
    if x <= s1 {
        if s1 > 0.0 {
            x / s1
        } else {
            1.0
        }
    } else if x <= s2 {
        1.0
    } else if x <= s3 {
        if s3 > s2 {
            (s3 - x) / (s3 - s2)
        } else {
            0.0
        }
    } else {
        0.0
    }
}

/// Hue/saturation. Colorize: HSL with the given hue and saturation and the
/// pixel's own lightness (after the lightness setting). Otherwise:
/// lightness first (blend to white/black), then hue rotation and
/// saturation in HSL; range edits are weighted by the trapezoid of the
/// pixel's original hue and added to the master values.
pub(super) fn apply_hue(h: &HueSaturation, color: &mut [Color], space: Space) -> bool {
    if h.colorize {
        let [hue, sat, light] = h.colorization;
        let hue = hue / 360.0;
        return for_each_rgb(color, space, |c| {
            let l = (c[0].max(c[1]).max(c[2]) + c[0].min(c[1]).min(c[2])) * 0.5;
            hsl_to_rgb(hue, sat, lighten(l, light))
        });
    }
    let active: Vec<&([f32; 4], [f32; 3])> = h
        .ranges
        .iter()
        .filter(|(_, s)| s.iter().any(|&v| v != 0.0))
        .collect();
    let [mh, ms, ml] = h.master;
    if active.is_empty() && mh == 0.0 && ms == 0.0 && ml == 0.0 {
        return true;
    }
    for_each_rgb(color, space, |c| {
        let (mut dh, mut ds, mut dl) = (0.0f32, 0.0f32, 0.0f32);
        if !active.is_empty() {
            let hue = rgb_to_hsl(c[0], c[1], c[2])[0] * 360.0;
            let chroma = c[0].max(c[1]).max(c[2]) - c[0].min(c[1]).min(c[2]);
            if chroma > 1e-6 {
                for (ramp, s) in &active {
                    let w = range_weight(hue, ramp);
                    dh += w * s[0];
                    ds += w * s[1];
                    dl += w * s[2];
                }
            }
        }
        let mut c = c.map(|v| lighten(v, ml));
        if dl != 0.0 {
            c = c.map(|v| lighten(v, dl.clamp(-1.0, 1.0)));
        }
        let hsl = rgb_to_hsl(c[0], c[1], c[2]);
        let s = saturate(saturate(hsl[1], ms), ds.clamp(-1.0, 1.0));
        hsl_to_rgb(hsl[0] + (mh + dh) / 360.0, s, hsl[2])
    })
}

/// Vibrance. Approximation (Photoshop's formula is not public):
/// saturation as in hue/saturation, then vibrance as a saturation change
/// scaled by how unsaturated the pixel is, `k = vibrance · (1 - s)`, so
/// saturated colours move least.
pub(super) fn apply_vibrance(
    vibrance: f32,
    saturation: f32,
    color: &mut [Color],
    space: Space,
) -> bool {
    if vibrance == 0.0 && saturation == 0.0 {
        return true;
    }
    for_each_rgb(color, space, |c| {
        let hsl = rgb_to_hsl(c[0], c[1], c[2]);
        let s = saturate(hsl[1], saturation);
        let s = saturate(s, vibrance * (1.0 - s));
        hsl_to_rgb(hsl[0], s, hsl[2])
    })
}

/// Tonal weights of colour balance for a channel value `v`: ramps centred
/// on a third and two thirds of the range, each capped at 0.7 (the weights
/// GIMP's Photoshop-compatible colour balance uses).
#[inline]
fn balance_weights(v: f32) -> [f32; 3] {
    const A: f32 = 0.25;
    const B: f32 = 0.333;
    const SCALE: f32 = 0.7;
    let sh = ((B - v) / A + 0.5).clamp(0.0, 1.0) * SCALE;
    let mid =
        ((v - B) / A + 0.5).clamp(0.0, 1.0) * ((v + B - 1.0) / -A + 0.5).clamp(0.0, 1.0) * SCALE;
    let hi = ((v + B - 1.0) / A + 0.5).clamp(0.0, 1.0) * SCALE;
    [sh, mid, hi]
}

/// Colour balance: each channel moves by the shadow / midtone / highlight
/// amounts weighted by [`balance_weights`] of its own value; "preserve
/// luminosity" restores the original luma.
pub(super) fn apply_balance(b: &ColorBalance, color: &mut [Color], space: Space) -> bool {
    let amounts = [b.shadows, b.midtones, b.highlights];
    for_each_rgb(color, space, |c| {
        let mut o = c;
        for k in 0..3 {
            let w = balance_weights(c[k]);
            let d = amounts[0][k] * w[0] + amounts[1][k] * w[1] + amounts[2][k] * w[2];
            o[k] = (c[k] + d).clamp(0.0, 1.0);
        }
        if b.preserve_luminosity {
            set_lum(o, luma(c[0], c[1], c[2]))
        } else {
            o
        }
    })
}

/// Black & white: `gray = min + (max - mid)·w_primary + (mid - min)·w_secondary`
/// where the primary is the largest channel's colour (red, green, blue)
/// and the secondary the mix of the two largest (yellow, cyan, magenta),
/// so a pure colour gets exactly its slider's weight. Tint: the tint
/// colour given the gray's luma.
pub(super) fn apply_black_white(
    b: &BlackWhite,
    color: &mut [Color],
    space: Space,
    info: &ColorInfo,
) -> bool {
    let [wr, wy, wg, wc, wb, wm] = b.weights;
    let tint = b.tint.as_ref().and_then(|d| descriptor_rgb(d, info));
    for_each_rgb(color, space, |c| {
        let [r, g, bl] = c;
        let (max, mid, min, wp, ws) = if r >= g && r >= bl {
            if g >= bl {
                (r, g, bl, wr, wy)
            } else {
                (r, bl, g, wr, wm)
            }
        } else if g >= bl {
            if r >= bl {
                (g, r, bl, wg, wy)
            } else {
                (g, bl, r, wg, wc)
            }
        } else if r >= g {
            (bl, r, g, wb, wm)
        } else {
            (bl, g, r, wb, wc)
        };
        let gray = (min + (max - mid) * wp + (mid - min) * ws).clamp(0.0, 1.0);
        match tint {
            Some(t) => set_lum(t, gray),
            None => [gray, gray, gray],
        }
    })
}

/// Photo filter. Model: the colour multiplied by the filter colour, mixed
/// in at the density; "preserve luminosity" restores the original luma.
pub(super) fn apply_photo_filter(p: &PhotoFilter, color: &mut [Color], space: Space) -> bool {
    let d = p.density;
    let f = p.rgb;
    for_each_rgb(color, space, |c| {
        let o = [
            c[0] + (c[0] * f[0] - c[0]) * d,
            c[1] + (c[1] * f[1] - c[1]) * d,
            c[2] + (c[2] * f[2] - c[2]) * d,
        ];
        if p.preserve_luminosity {
            set_lum(o, luma(c[0], c[1], c[2]))
        } else {
            o
        }
    })
}

/// Channel mixer: each output channel is a weighted sum of the inputs plus
/// a constant. In CMYK the sums run on ink amounts (1 - stored value).
pub(super) fn apply_mixer(m: &ChannelMixer, color: &mut [Color], space: Space) -> bool {
    let rows = m.rows;
    match space {
        Space::Rgb => {
            for c in color.iter_mut() {
                let i = [c[0], c[1], c[2]];
                let out = |row: &[f32; 5]| {
                    (row[0] * i[0] + row[1] * i[1] + row[2] * i[2] + row[4]).clamp(0.0, 1.0)
                };
                if m.monochrome {
                    let g = out(&rows[0]);
                    c[0] = g;
                    c[1] = g;
                    c[2] = g;
                } else {
                    c[0] = out(&rows[0]);
                    c[1] = out(&rows[1]);
                    c[2] = out(&rows[2]);
                }
            }
            true
        }
        Space::Gray => {
            for c in color.iter_mut() {
                let g = (rows[0][0] * c[0] + rows[0][4]).clamp(0.0, 1.0);
                c[0] = g;
                c[1] = g;
                c[2] = g;
            }
            true
        }
        Space::Cmyk => {
            for c in color.iter_mut() {
                let ink = [1.0 - c[0], 1.0 - c[1], 1.0 - c[2], 1.0 - c[3]];
                let out = |row: &[f32; 5]| {
                    (row[0] * ink[0] + row[1] * ink[1] + row[2] * ink[2] + row[3] * ink[3] + row[4])
                        .clamp(0.0, 1.0)
                };
                if m.monochrome {
                    *c = [1.0, 1.0, 1.0, 1.0 - out(&rows[0])];
                } else {
                    *c = [
                        1.0 - out(&rows[0]),
                        1.0 - out(&rows[1]),
                        1.0 - out(&rows[2]),
                        1.0 - out(&rows[3]),
                    ];
                }
            }
            true
        }
        Space::Lab => false,
    }
}

/// Gradient map: the pixel's luma picks the gradient position.
pub(super) fn apply_gradient_map(
    g: &GradientMap,
    color: &mut [Color],
    space: Space,
    info: &ColorInfo,
) -> bool {
    let _ = info;
    if matches!(space, Space::Cmyk | Space::Lab) {
        return false;
    }
    let stops: Vec<(f32, Color)> = g
        .stops
        .iter()
        .map(|s| (s.0, rgb_to_lanes(s.2.to_rgb(), Space::Rgb)))
        .collect();
    let mids = g.stops.iter().map(|s| s.1).collect();
    let mut grad = Gradient::new(stops, mids, Vec::new(), Vec::new(), g.smoothness);
    if g.reverse {
        grad = grad.reversed();
    }
    const N: usize = 4096;
    let lut: Vec<[f32; 3]> = grad
        .lut(N + 1)
        .into_iter()
        .map(|(c, _)| [c[0], c[1], c[2]])
        .collect();
    for_each_rgb(color, space, |c| {
        let t = luma(c[0], c[1], c[2]).clamp(0.0, 1.0);
        lut[(t * N as f32 + 0.5) as usize]
    })
}

/// Selective colour. Each pixel belongs to colour ranges with weights:
/// its primary (largest channel: reds/greens/blues) by `max - mid`, its
/// secondary (yellows/cyans/magentas) by `mid - min`, whites by
/// `2·min - 1`, blacks by `1 - 2·max`, neutrals by
/// `1 - (|max - ½| + |min - ½|)`. For each range the ink change of a
/// channel is `a + k·(1 + a)` (its own plate `a` plus black `k`), scaled by
/// the channel's current ink in relative mode, limited to the available
/// range and weighted.
pub(super) fn apply_selective(s: &SelectiveColor, color: &mut [Color], space: Space) -> bool {
    if space == Space::Cmyk {
        // Stored values are 1 - ink: run the same model on them as if they
        // were RGB, ignoring the black plate's own data.
        let mut ok = true;
        for c in color.iter_mut() {
            let mut rgb = [c[0] * c[3], c[1] * c[3], c[2] * c[3]];
            rgb = selective_rgb(s, rgb);
            let k = rgb[0].max(rgb[1]).max(rgb[2]);
            if k > 0.0 {
                *c = [rgb[0] / k, rgb[1] / k, rgb[2] / k, k];
            } else {
                *c = [1.0, 1.0, 1.0, 0.0];
            }
            ok &= true;
        }
        return ok;
    }
    for_each_rgb(color, space, |c| selective_rgb(s, c))
}

fn selective_rgb(s: &SelectiveColor, c: [f32; 3]) -> [f32; 3] {
    let [r, g, b] = c;
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let mid = r + g + b - max - min;
    // Index of primary and secondary plates.
    let primary = if max == r {
        0
    } else if max == g {
        2
    } else {
        4
    };
    let secondary = if min == b {
        1 // red + green = yellow
    } else if min == r {
        3 // green + blue = cyan
    } else {
        5 // blue + red = magenta
    };
    let weights: [(usize, f32); 5] = [
        (primary, max - mid),
        (secondary, mid - min),
        (6, (2.0 * min - 1.0).max(0.0)),
        (7, (1.0 - ((max - 0.5).abs() + (min - 0.5).abs())).max(0.0)),
        (8, (1.0 - 2.0 * max).max(0.0)),
    ];
    let mut out = c;
    for (k, v) in c.iter().enumerate() {
        let ink = 1.0 - v;
        let mut delta = 0.0;
        for &(plate, w) in &weights {
            if w <= 0.0 {
                continue;
            }
            let p = &s.plates[plate];
            let (a, kk) = (p[k], p[3]);
            let mut d = a + kk * (1.0 + a);
            if !s.absolute {
                d *= ink;
            }
            // Ink cannot leave 0..1.
            let d = d.clamp(-ink, 1.0 - ink);
            delta += d * w;
        }
        out[k] = (v - delta).clamp(0.0, 1.0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{apply, parse, Adjustment};
    use super::*;
    use crate::color::ColorMode;

    fn info() -> ColorInfo {
        ColorInfo {
            mode: Some(ColorMode::Rgb),
            depth: 8,
            ..Default::default()
        }
    }

    fn run(adj: &Adjustment, px: &mut [Color]) {
        assert!(apply(adj, px, &info()), "{} unsupported", adj.name());
    }

    fn hue_block(colorize: bool, col: [i16; 3], master: [i16; 3], ranges: &[[i16; 7]]) -> Vec<u8> {
        let mut v = 2u16.to_be_bytes().to_vec();
        v.push(colorize as u8);
        v.push(0);
        for x in col.iter().chain(master.iter()) {
            v.extend(x.to_be_bytes());
        }
        let defaults: [[i16; 4]; 6] = [
            [315, 345, 15, 45],
            [15, 45, 75, 105],
            [75, 105, 135, 165],
            [135, 165, 195, 225],
            [195, 225, 255, 285],
            [255, 285, 315, 345],
        ];
        for (i, d) in defaults.iter().enumerate() {
            let rec = ranges
                .get(i)
                .copied()
                .unwrap_or([d[0], d[1], d[2], d[3], 0, 0, 0]);
            for x in rec {
                v.extend(x.to_be_bytes());
            }
        }
        v
    }

    #[test]
    fn saturation_minus_100_gives_hsl_lightness() {
        let data = hue_block(false, [0, 25, 0], [0, -100, 0], &[]);
        let adj = parse(b"hue2", &data, 8).unwrap().unwrap();
        let mut px = [[0.8, 0.4, 0.2, 0.0]];
        run(&adj, &mut px);
        // (max + min) / 2 = 0.5
        for k in 0..3 {
            assert!((px[0][k] - 0.5).abs() < 1e-5, "{px:?}");
        }
    }

    #[test]
    fn hue_rotation_and_lightness() {
        // +120 degrees turns red into green.
        let data = hue_block(false, [0, 25, 0], [120, 0, 0], &[]);
        let adj = parse(b"hue2", &data, 8).unwrap().unwrap();
        let mut px = [[1.0, 0.0, 0.0, 0.0]];
        run(&adj, &mut px);
        assert!(
            (px[0][0]).abs() < 1e-5 && (px[0][1] - 1.0).abs() < 1e-5,
            "{px:?}"
        );
        // Lightness +50 blends half-way to white.
        let data = hue_block(false, [0, 25, 0], [0, 0, 50], &[]);
        let adj = parse(b"hue2", &data, 8).unwrap().unwrap();
        let mut px = [[0.2, 0.4, 0.6, 0.0]];
        run(&adj, &mut px);
        assert!(
            (px[0][0] - 0.6).abs() < 1e-5 && (px[0][2] - 0.8).abs() < 1e-5,
            "{px:?}"
        );
    }

    #[test]
    fn range_edit_only_touches_its_hues() {
        // Reds: saturation -100; blue pixel untouched, red pixel grayed.
        let data = hue_block(
            false,
            [0, 25, 0],
            [0, 0, 0],
            &[[315, 345, 15, 45, 0, -100, 0]],
        );
        let adj = parse(b"hue2", &data, 8).unwrap().unwrap();
        let mut px = [[0.9, 0.1, 0.1, 0.0], [0.1, 0.1, 0.9, 0.0]];
        run(&adj, &mut px);
        assert!((px[0][0] - 0.5).abs() < 1e-5, "{px:?}");
        for k in 0..3 {
            assert!((px[1][k] - [0.1, 0.1, 0.9][k]).abs() < 1e-6, "{px:?}");
        }
    }

    #[test]
    fn colorize_uses_lightness() {
        // Colorize hue 240 (blue), saturation 100 on mid gray -> pure blue.
        let data = hue_block(true, [240, 100, 0], [0, 0, 0], &[]);
        let adj = parse(b"hue2", &data, 8).unwrap().unwrap();
        let mut px = [[0.5, 0.5, 0.5, 0.0]];
        run(&adj, &mut px);
        assert!(
            px[0][0].abs() < 1e-5 && (px[0][2] - 1.0).abs() < 1e-5,
            "{px:?}"
        );
    }

    #[test]
    fn black_white_default_weights() {
        let bw = Adjustment {
            key: *b"blwh",
            kind: super::super::AdjustmentKind::BlackWhite(BlackWhite {
                weights: [0.4, 0.6, 0.4, 0.6, 0.2, 0.8],
                tint: None,
            }),
        };
        let mut px = [
            [1.0, 0.0, 0.0, 0.0],
            [1.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, 1.0, 0.0],
            [1.0, 1.0, 1.0, 0.0],
            // min 0.2, mid 0.5 (green), max 0.8 (red): 0.2 + 0.3*0.4 + 0.3*0.6
            [0.8, 0.5, 0.2, 0.0],
        ];
        run(&bw, &mut px);
        let g: Vec<f32> = px.iter().map(|c| c[0]).collect();
        let want = [0.4, 0.6, 0.2, 1.0, 0.5];
        for (a, b) in g.iter().zip(want) {
            assert!((a - b).abs() < 1e-5, "{g:?}");
        }
    }

    #[test]
    fn channel_mixer_block() {
        // RGB: red output = 50 % green + 10 % constant; others identity.
        let mut data = vec![0, 1, 0, 0];
        let rows: [[i16; 5]; 4] = [
            [0, 50, 0, 0, 10],
            [0, 100, 0, 0, 0],
            [0, 0, 100, 0, 0],
            [0, 0, 0, 100, 0],
        ];
        for r in rows {
            for x in r {
                data.extend(x.to_be_bytes());
            }
        }
        let adj = parse(b"mixr", &data, 8).unwrap().unwrap();
        let mut px = [[0.9, 0.6, 0.3, 0.0]];
        run(&adj, &mut px);
        assert!((px[0][0] - 0.4).abs() < 1e-5);
        assert!((px[0][1] - 0.6).abs() < 1e-5);
    }

    #[test]
    fn color_balance_moves_midtones() {
        // Midtones red +100, no luminosity preservation.
        let mut data = Vec::new();
        for x in [0i16, 0, 0, 100, 0, 0, 0, 0, 0] {
            data.extend(x.to_be_bytes());
        }
        data.extend([0, 0]);
        let adj = parse(b"blnc", &data, 8).unwrap().unwrap();
        let mut px = [[0.5, 0.5, 0.5, 0.0], [0.0, 0.0, 0.0, 0.0]];
        run(&adj, &mut px);
        // At 0.5 the midtone weight is 0.7 (both ramps saturated).
        assert!((px[0][0] - 1.0).abs() < 1e-5, "{px:?}");
        assert_eq!(px[0][1], 0.5);
        // Black has no midtone weight.
        assert_eq!(px[1][0], 0.0);
    }

    #[test]
    fn photo_filter_block_lab_colour() {
        // Version 2, Lab colour (L 100, a 0, b 0 = white), density 50 %.
        let mut data = vec![0, 2, 0, 7];
        for x in [10000u16, 0, 0, 0] {
            data.extend(x.to_be_bytes());
        }
        data.extend(50u32.to_be_bytes());
        data.push(0);
        let adj = parse(b"phfl", &data, 8).unwrap().unwrap();
        let mut px = [[0.4, 0.5, 0.6, 0.0]];
        run(&adj, &mut px);
        // A white filter changes nothing.
        for k in 0..3 {
            assert!((px[0][k] - [0.4, 0.5, 0.6][k]).abs() < 2e-3, "{px:?}");
        }
    }

    #[test]
    fn gradient_map_block() {
        // Black to white RGB gradient map, no smoothing: identity on luma.
        let mut data = vec![0, 1, 0, 0];
        data.extend(0u32.to_be_bytes()); // empty name
        data.extend(2u16.to_be_bytes());
        for (loc, c) in [(0u32, 0u16), (4096, 65535)] {
            data.extend(loc.to_be_bytes());
            data.extend(50u32.to_be_bytes());
            data.extend(0u16.to_be_bytes());
            for x in [c, c, c, 0] {
                data.extend(x.to_be_bytes());
            }
            data.extend([0, 0]);
        }
        data.extend(0u16.to_be_bytes());
        data.extend(2u16.to_be_bytes());
        data.extend(0u16.to_be_bytes());
        let adj = parse(b"grdm", &data, 8).unwrap().unwrap();
        let mut px = [[1.0, 0.0, 0.0, 0.0]];
        run(&adj, &mut px);
        // Red has luma 0.3.
        assert!(
            (px[0][0] - 0.3).abs() < 1e-3 && (px[0][2] - 0.3).abs() < 1e-3,
            "{px:?}"
        );
    }

    #[test]
    fn selective_color_relative_reds_cyan() {
        // Reds: +100 % cyan, relative. Pure red (ink 0 in the cyan plate)
        // is unchanged in relative mode; absolute removes all red.
        let mut data = vec![0, 1, 0, 0];
        data.extend([0u8; 8]);
        data.extend(100i16.to_be_bytes());
        data.extend([0u8; 6]);
        data.extend([0u8; 8 * 8]);
        let adj = parse(b"selc", &data, 8).unwrap().unwrap();
        let mut px = [[1.0, 0.0, 0.0, 0.0]];
        run(&adj, &mut px);
        assert_eq!(px[0][0], 1.0);
        data[3] = 1;
        let adj = parse(b"selc", &data, 8).unwrap().unwrap();
        let mut px = [[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]];
        run(&adj, &mut px);
        assert_eq!(px[0][0], 0.0);
        assert_eq!(px[1], [0.0, 0.0, 1.0, 0.0]);
    }
}
