//! Blend modes: where a source pixel meets a backdrop pixel.
//!
//! # Model
//!
//! Pixels are straight (non-premultiplied) alpha, colour lanes as described
//! in [`crate::render::raster::Color`]. A source pixel `(cs, as)` lands on a
//! backdrop `(cb, ab)` as W3C Compositing and Blending Level 1 source-over
//! with blending:
//!
//! ```text
//! ao = as + ab (1 - as)
//! co = [as (1 - ab) cs + as ab B(cb, cs) + (1 - as) ab cb] / ao
//! ```
//!
//! where `as` is the pixel's alpha times layer opacity, fill opacity and
//! mask coverage. See [`composite_span`] for how fill differs for the
//! "special eight" modes.
//!
//! # Blend functions `B(cb, cs)`
//!
//! * W3C's 16 modes follow W3C Compositing Level 1, including its colour
//!   dodge / burn edge cases (dodge: `cb = 0 -> 0` before `cs = 1 -> 1`;
//!   burn: `cb = 1 -> 1` before `cs = 0 -> 0`), which are Photoshop's.
//! * Soft light is W3C's formula (the cubic `D(cb)` for `cb <= 1/4`, the
//!   square root above). The square-root-only "Photoshop soft light" found
//!   in many formula lists does not match Photoshop: on psd-tools'
//!   `rgb-blend-modes.psd` stored composite the W3C form scores 55 dB and
//!   the square-root form 42 dB (errors up to 20/255 on dark backdrops).
//! * Vivid light's edge cases differ from plain burn / dodge: a source of
//!   exactly 0 gives 0 and exactly 1 gives 1 whatever the backdrop (same
//!   measurement).
//! * Hard mix ties (`cb + cs = 1`) go to 1 when `cb > 1/2`, else 0; on the
//!   same fixture this rule misses 3 of 6585 channel values, `> 1` or
//!   `>= 1` alone miss about 150.
//! * The Photoshop-only modes use the formulas in `shared/NOTES.md`.
//! * Separable modes act on all four lanes; non-separable modes (hue,
//!   saturation, color, luminosity, darker / lighter color) use lanes 0..3 as
//!   RGB with luminosity weights 0.3 / 0.59 / 0.11 and keep the backdrop's
//!   lane 3.
//!
//! # Values above 1 (32-bit documents)
//!
//! Formulas that clamp in 8/16-bit Photoshop (linear dodge, linear light,
//! dodge, divide, ClipColor in the HSL modes, ...) clamp here too, so they
//! are correct for integer depths. Modes without a clamp in their formula
//! (normal, multiply, darken, lighten, difference, subtract, ...) pass HDR
//! values through untouched, which is the natural linear-light reading of
//! those formulas (not verified against a 32-bit Photoshop composite).
//! 32-bit documents using clamping modes are rare and get integer-depth
//! results.

use crate::doc::BlendIf;
use crate::render::raster::Color;

/// Every Photoshop layer blend mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlendMode {
    /// Groups only: children blend straight into the group's backdrop.
    PassThrough,
    /// Source replaces backdrop (source-over).
    Normal,
    /// Normal, but partial alpha becomes a per-pixel all-or-nothing choice.
    Dissolve,
    /// Per channel minimum.
    Darken,
    /// Per channel product.
    Multiply,
    /// Darkens the backdrop by dividing its inverse by the source.
    ColorBurn,
    /// Sum minus one, clamped at 0.
    LinearBurn,
    /// Whole pixel with the lower luminosity.
    DarkerColor,
    /// Per channel maximum.
    Lighten,
    /// Inverse product of inverses.
    Screen,
    /// Brightens the backdrop by dividing it by the inverse source.
    ColorDodge,
    /// Sum clamped at 1 ("Add").
    LinearDodge,
    /// Whole pixel with the higher luminosity.
    LighterColor,
    /// Hard light with the layers swapped.
    Overlay,
    /// Photoshop's soft light (square-root variant).
    SoftLight,
    /// Multiply or screen by the source.
    HardLight,
    /// Colour burn or colour dodge by the source.
    VividLight,
    /// Linear burn or linear dodge by the source.
    LinearLight,
    /// Darken or lighten by the source.
    PinLight,
    /// Posterises each channel to 0 or 1.
    HardMix,
    /// Absolute difference.
    Difference,
    /// Lower-contrast difference.
    Exclusion,
    /// Backdrop minus source, clamped at 0.
    Subtract,
    /// Backdrop divided by source, clamped at 1.
    Divide,
    /// Source hue with the backdrop's saturation and luminosity.
    Hue,
    /// Source saturation with the backdrop's hue and luminosity.
    Saturation,
    /// Source hue and saturation with the backdrop's luminosity.
    Color,
    /// Source luminosity with the backdrop's hue and saturation.
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

    /// Mode from a descriptor enum value (`BlnM` type), as used by effects
    /// and fill layers: the classic four-character codes (`Nrml`, `Mltp`),
    /// the long names of the newer modes (`linearBurn`), and the long names
    /// recent Photoshop versions write for every mode (`multiply`).
    pub fn from_descriptor(value: &str) -> Option<Self> {
        use BlendMode::*;
        Some(match value {
            "passThrough" => PassThrough,
            "Nrml" | "normal" => Normal,
            "Dslv" | "dissolve" => Dissolve,
            "Drkn" | "darken" => Darken,
            "Mltp" | "multiply" => Multiply,
            "CBrn" | "colorBurn" => ColorBurn,
            "linearBurn" => LinearBurn,
            "darkerColor" => DarkerColor,
            "Lghn" | "lighten" => Lighten,
            "Scrn" | "screen" => Screen,
            "CDdg" | "colorDodge" => ColorDodge,
            "linearDodge" => LinearDodge,
            "lighterColor" => LighterColor,
            "Ovrl" | "overlay" => Overlay,
            "SftL" | "softLight" => SoftLight,
            "HrdL" | "hardLight" => HardLight,
            "vividLight" => VividLight,
            "linearLight" => LinearLight,
            "pinLight" => PinLight,
            "hardMix" => HardMix,
            "Dfrn" | "difference" => Difference,
            "Xclu" | "exclusion" => Exclusion,
            "blendSubtraction" => Subtract,
            "blendDivide" => Divide,
            "H   " | "hue" => Hue,
            "Strt" | "saturation" => Saturation,
            "Clr " | "color" => Color,
            "Lmns" | "luminosity" => Luminosity,
            _ => return None,
        })
    }
}

/// API spellings (`snake_case`) of every mode, plus the `add` alias for
/// linear dodge: the 29 names of the render API's `blending_mode`.
const API_NAMES: [(&str, BlendMode); 29] = [
    ("normal", BlendMode::Normal),
    ("dissolve", BlendMode::Dissolve),
    ("pass_through", BlendMode::PassThrough),
    ("darken", BlendMode::Darken),
    ("multiply", BlendMode::Multiply),
    ("color_burn", BlendMode::ColorBurn),
    ("linear_burn", BlendMode::LinearBurn),
    ("darker_color", BlendMode::DarkerColor),
    ("lighten", BlendMode::Lighten),
    ("screen", BlendMode::Screen),
    ("color_dodge", BlendMode::ColorDodge),
    ("linear_dodge", BlendMode::LinearDodge),
    ("add", BlendMode::LinearDodge),
    ("lighter_color", BlendMode::LighterColor),
    ("overlay", BlendMode::Overlay),
    ("soft_light", BlendMode::SoftLight),
    ("hard_light", BlendMode::HardLight),
    ("vivid_light", BlendMode::VividLight),
    ("linear_light", BlendMode::LinearLight),
    ("pin_light", BlendMode::PinLight),
    ("hard_mix", BlendMode::HardMix),
    ("difference", BlendMode::Difference),
    ("exclusion", BlendMode::Exclusion),
    ("subtract", BlendMode::Subtract),
    ("divide", BlendMode::Divide),
    ("hue", BlendMode::Hue),
    ("saturation", BlendMode::Saturation),
    ("color", BlendMode::Color),
    ("luminosity", BlendMode::Luminosity),
];

/// True when `input` spells `canonical` (lower-case, `_`-separated) up to
/// ASCII case and a space or hyphen in place of each underscore.
fn api_name_eq(input: &str, canonical: &str) -> bool {
    let (a, b) = (input.as_bytes(), canonical.as_bytes());
    a.len() == b.len()
        && a.iter().zip(b).all(|(&x, &y)| {
            let x = match x.to_ascii_lowercase() {
                b' ' | b'-' => b'_',
                x => x,
            };
            x == y
        })
}

impl BlendMode {
    /// Mode from the render API's `blending_mode` string: `soft_light`,
    /// `soft light`, `Soft-Light`, `add` (= linear dodge), ... Leading and
    /// trailing whitespace is ignored.
    pub fn from_api_name(name: &str) -> Option<Self> {
        let name = name.trim();
        API_NAMES
            .iter()
            .find(|(n, _)| api_name_eq(name, n))
            .map(|&(_, m)| m)
    }

    /// The canonical API spelling (`snake_case`, e.g. `linear_dodge`).
    pub fn api_name(self) -> &'static str {
        use BlendMode::*;
        match self {
            PassThrough => "pass_through",
            Normal => "normal",
            Dissolve => "dissolve",
            Darken => "darken",
            Multiply => "multiply",
            ColorBurn => "color_burn",
            LinearBurn => "linear_burn",
            DarkerColor => "darker_color",
            Lighten => "lighten",
            Screen => "screen",
            ColorDodge => "color_dodge",
            LinearDodge => "linear_dodge",
            LighterColor => "lighter_color",
            Overlay => "overlay",
            SoftLight => "soft_light",
            HardLight => "hard_light",
            VividLight => "vivid_light",
            LinearLight => "linear_light",
            PinLight => "pin_light",
            HardMix => "hard_mix",
            Difference => "difference",
            Exclusion => "exclusion",
            Subtract => "subtract",
            Divide => "divide",
            Hue => "hue",
            Saturation => "saturation",
            Color => "color",
            Luminosity => "luminosity",
        }
    }

    /// Photoshop's "special eight": modes where fill opacity does not act
    /// like layer opacity (see [`composite_span`]).
    pub fn is_fill_sensitive(self) -> bool {
        use BlendMode::*;
        matches!(
            self,
            ColorBurn
                | LinearBurn
                | ColorDodge
                | LinearDodge
                | VividLight
                | LinearLight
                | HardMix
                | Difference
        )
    }

    /// True for modes computed channel by channel.
    pub fn is_separable(self) -> bool {
        use BlendMode::*;
        !matches!(
            self,
            DarkerColor | LighterColor | Hue | Saturation | Color | Luminosity
        )
    }
}

// ---------------------------------------------------------------------------
// Per-channel blend functions: `b` backdrop, `s` source, nominally 0..1.

#[inline(always)]
fn multiply(b: f32, s: f32) -> f32 {
    b * s
}

#[inline(always)]
fn screen(b: f32, s: f32) -> f32 {
    b + s - b * s
}

#[inline(always)]
fn hard_light(b: f32, s: f32) -> f32 {
    if s <= 0.5 {
        multiply(b, 2.0 * s)
    } else {
        screen(b, 2.0 * s - 1.0)
    }
}

#[inline(always)]
fn overlay(b: f32, s: f32) -> f32 {
    hard_light(s, b)
}

#[inline(always)]
fn color_dodge(b: f32, s: f32) -> f32 {
    // W3C order of the edge cases, which is Photoshop's: black stays black
    // even under a white source.
    if b <= 0.0 {
        0.0
    } else if s >= 1.0 {
        1.0
    } else {
        (b / (1.0 - s)).min(1.0)
    }
}

#[inline(always)]
fn color_burn(b: f32, s: f32) -> f32 {
    // White stays white even under a black source.
    if b >= 1.0 {
        1.0
    } else if s <= 0.0 {
        0.0
    } else {
        1.0 - ((1.0 - b) / s).min(1.0)
    }
}

#[inline(always)]
fn soft_light(b: f32, s: f32) -> f32 {
    if s <= 0.5 {
        b - (1.0 - 2.0 * s) * b * (1.0 - b)
    } else {
        // W3C's D(b): a cubic for dark backdrops, the square root above.
        // Photoshop matches this (see the module docs), not the
        // square-root-only formula often quoted for it.
        let d = if b <= 0.25 {
            ((16.0 * b - 12.0) * b + 4.0) * b
        } else {
            b.sqrt()
        };
        b + (2.0 * s - 1.0) * (d - b)
    }
}

#[inline(always)]
fn difference(b: f32, s: f32) -> f32 {
    (b - s).abs()
}

#[inline(always)]
fn exclusion(b: f32, s: f32) -> f32 {
    b + s - 2.0 * b * s
}

#[inline(always)]
fn linear_burn(b: f32, s: f32) -> f32 {
    (b + s - 1.0).max(0.0)
}

#[inline(always)]
fn linear_dodge(b: f32, s: f32) -> f32 {
    (b + s).min(1.0)
}

#[inline(always)]
fn vivid_light(b: f32, s: f32) -> f32 {
    // Unlike plain colour burn / dodge, the source's extremes win over the
    // backdrop's here: s = 0 gives 0 even on white and s = 1 gives 1 even
    // on black (measured on psd-tools' rgb-blend-modes.psd composite).
    if s <= 0.5 {
        if s <= 0.0 {
            0.0
        } else {
            color_burn(b, 2.0 * s)
        }
    } else if s >= 1.0 {
        1.0
    } else {
        color_dodge(b, 2.0 * (s - 0.5))
    }
}

#[inline(always)]
fn linear_light(b: f32, s: f32) -> f32 {
    (b + 2.0 * s - 1.0).clamp(0.0, 1.0)
}

#[inline(always)]
fn pin_light(b: f32, s: f32) -> f32 {
    if s <= 0.5 {
        b.min(2.0 * s)
    } else {
        b.max(2.0 * s - 1.0)
    }
}

#[inline(always)]
fn hard_mix(b: f32, s: f32) -> f32 {
    let t = b + s;
    // Ties are decided on the 8-bit sum (f32 sums of 8-bit values scatter
    // around 1): b + s = 255 goes to the side the backdrop is on.
    const HALF_LEVEL: f32 = 0.5 / 255.0;
    if (t - 1.0).abs() < HALF_LEVEL {
        if b > 0.5 {
            1.0
        } else {
            0.0
        }
    } else if t > 1.0 {
        1.0
    } else {
        0.0
    }
}

#[inline(always)]
fn subtract(b: f32, s: f32) -> f32 {
    (b - s).max(0.0)
}

#[inline(always)]
fn divide(b: f32, s: f32) -> f32 {
    if s <= 0.0 {
        if b <= 0.0 {
            0.0
        } else {
            1.0
        }
    } else {
        (b / s).min(1.0)
    }
}

// Fill-opacity forms of the special eight, `f` = fill in 0..1 (see
// `composite_span` for the model). With `f = 1` each equals its plain form.

#[inline(always)]
fn toward_white(s: f32, f: f32) -> f32 {
    1.0 - f * (1.0 - s)
}

#[inline(always)]
fn toward_gray(s: f32, f: f32) -> f32 {
    0.5 + f * (s - 0.5)
}

#[inline(always)]
fn hard_mix_fill(b: f32, s: f32, f: f32) -> f32 {
    if f >= 1.0 {
        hard_mix(b, s)
    } else {
        // A ramp through the hard-mix threshold b + s = 1 whose slope
        // 1 / (1 - f) steepens into the step as fill reaches 1, and which is
        // the identity at fill 0. Hard mix has no neutral colour, so this is
        // the continuous family that joins the two known ends.
        ((b - f * (1.0 - s)) / (1.0 - f)).clamp(0.0, 1.0)
    }
}

/// Applies a per-channel function to all four lanes.
#[inline(always)]
fn sep(b: Color, s: Color, f: impl Fn(f32, f32) -> f32) -> Color {
    [f(b[0], s[0]), f(b[1], s[1]), f(b[2], s[2]), f(b[3], s[3])]
}

// ---------------------------------------------------------------------------
// Non-separable helpers (W3C Compositing Level 1, section 5.8).

#[inline(always)]
fn lum3(c: [f32; 3]) -> f32 {
    0.3 * c[0] + 0.59 * c[1] + 0.11 * c[2]
}

#[inline(always)]
fn lum(c: Color) -> f32 {
    0.3 * c[0] + 0.59 * c[1] + 0.11 * c[2]
}

#[inline(always)]
fn clip_color(c: [f32; 3]) -> [f32; 3] {
    let l = lum3(c);
    let n = c[0].min(c[1]).min(c[2]);
    let x = c[0].max(c[1]).max(c[2]);
    let mut c = c;
    // The guards keep a degenerate (all lanes equal) colour from dividing
    // by zero; then there is nothing to rescale.
    if n < 0.0 && l - n > 0.0 {
        let k = l / (l - n);
        c = c.map(|v| l + (v - l) * k);
    }
    if x > 1.0 && x - l > 0.0 {
        let k = (1.0 - l) / (x - l);
        c = c.map(|v| l + (v - l) * k);
    }
    c
}

#[inline(always)]
fn set_lum(c: [f32; 3], l: f32) -> [f32; 3] {
    let d = l - lum3(c);
    clip_color(c.map(|v| v + d))
}

#[inline(always)]
fn sat(c: [f32; 3]) -> f32 {
    c[0].max(c[1]).max(c[2]) - c[0].min(c[1]).min(c[2])
}

#[inline(always)]
fn set_sat(c: [f32; 3], s: f32) -> [f32; 3] {
    // Equivalent to W3C's sort-based SetSat: the maximum lane maps to `s`,
    // the minimum to 0 and the middle one proportionally.
    let n = c[0].min(c[1]).min(c[2]);
    let x = c[0].max(c[1]).max(c[2]);
    if x > n {
        let k = s / (x - n);
        c.map(|v| (v - n) * k)
    } else {
        [0.0; 3]
    }
}

#[inline(always)]
fn rgb(c: Color) -> [f32; 3] {
    [c[0], c[1], c[2]]
}

#[inline(always)]
fn with_lane3(c: [f32; 3], l3: f32) -> Color {
    [c[0], c[1], c[2], l3]
}

#[inline(always)]
fn hue(b: Color, s: Color) -> Color {
    with_lane3(set_lum(set_sat(rgb(s), sat(rgb(b))), lum(b)), b[3])
}

#[inline(always)]
fn saturation(b: Color, s: Color) -> Color {
    with_lane3(set_lum(set_sat(rgb(b), sat(rgb(s))), lum(b)), b[3])
}

#[inline(always)]
fn color(b: Color, s: Color) -> Color {
    with_lane3(set_lum(rgb(s), lum(b)), b[3])
}

/// Lane 3 (CMYK's black) comes from the source here, unlike hue,
/// saturation and colour, which keep the backdrop's: that is what
/// Photoshop's CMYK composites show. RGB, gray and Lab carry 0 there.
#[inline(always)]
fn luminosity(b: Color, s: Color) -> Color {
    with_lane3(set_lum(rgb(b), lum(s)), s[3])
}

/// Darker and lighter colour pick one operand whole, lane 3 (CMYK's
/// black) included: Photoshop's CMYK composites show the source's black
/// wherever the source wins.
#[inline(always)]
fn darker_color(b: Color, s: Color) -> Color {
    if lum(s) < lum(b) {
        s
    } else {
        b
    }
}

/// See [`darker_color`].
#[inline(always)]
fn lighter_color(b: Color, s: Color) -> Color {
    if lum(s) > lum(b) {
        s
    } else {
        b
    }
}

/// `B(cb, cs)` for one pixel, without alpha, at full fill.
///
/// Convenience for code outside hot loops (it matches on the mode per
/// call); spans should go through [`composite_span`]. Normal, pass through
/// and dissolve return the source.
pub fn blend_color(mode: BlendMode, cb: Color, cs: Color) -> Color {
    blend_color_fill(mode, cb, cs, 1.0)
}

/// `B(cb, cs)` for one pixel with the fill opacity `fill` (0..1) folded in
/// for the special eight modes (for the others `fill` is ignored here and
/// acts as alpha in [`composite_span`]).
pub fn blend_color_fill(mode: BlendMode, cb: Color, cs: Color, fill: f32) -> Color {
    use BlendMode::*;
    let f = clamp01(fill);
    match mode {
        PassThrough | Normal | Dissolve => cs,
        Darken => sep(cb, cs, f32::min),
        Multiply => sep(cb, cs, multiply),
        ColorBurn => sep(cb, cs, |b, s| color_burn(b, toward_white(s, f))),
        LinearBurn => sep(cb, cs, |b, s| linear_burn(b, toward_white(s, f))),
        DarkerColor => darker_color(cb, cs),
        Lighten => sep(cb, cs, f32::max),
        Screen => sep(cb, cs, screen),
        ColorDodge => sep(cb, cs, |b, s| color_dodge(b, f * s)),
        LinearDodge => sep(cb, cs, |b, s| linear_dodge(b, f * s)),
        LighterColor => lighter_color(cb, cs),
        Overlay => sep(cb, cs, overlay),
        SoftLight => sep(cb, cs, soft_light),
        HardLight => sep(cb, cs, hard_light),
        VividLight => sep(cb, cs, |b, s| vivid_light(b, toward_gray(s, f))),
        LinearLight => sep(cb, cs, |b, s| linear_light(b, toward_gray(s, f))),
        PinLight => sep(cb, cs, pin_light),
        HardMix => sep(cb, cs, |b, s| hard_mix_fill(b, s, f)),
        Difference => sep(cb, cs, |b, s| difference(b, f * s)),
        Exclusion => sep(cb, cs, exclusion),
        Subtract => sep(cb, cs, subtract),
        Divide => sep(cb, cs, divide),
        Hue => hue(cb, cs),
        Saturation => saturation(cb, cs),
        Color => color(cb, cs),
        Luminosity => luminosity(cb, cs),
    }
}

/// Clamps to 0..1, mapping NaN to 0.
#[inline(always)]
fn clamp01(v: f32) -> f32 {
    if v > 0.0 {
        v.min(1.0)
    } else {
        0.0
    }
}

// ---------------------------------------------------------------------------
// Span compositing.

/// Composites a source span over a backdrop span, in place.
///
/// Source alpha is `src_alpha * opacity * coverage` (coverage 1 when
/// `None`), and `fill` as follows. All slices should have the same length;
/// extra elements of longer slices are ignored. `x`, `y` are the canvas
/// coordinates of the first pixel (used by dissolve's noise).
///
/// # Fill opacity
///
/// For most modes fill multiplies source alpha exactly like opacity. For
/// Photoshop's "special eight" (colour burn, linear burn, colour dodge,
/// linear dodge, vivid light, linear light, hard mix, difference) Adobe's
/// documentation and tutorials (e.g. Deke McClelland's "Fill Opacity
/// Eight", KelbyOne's "special blend modes", zevendesign.com's "Opacity vs
/// Fill") establish that fill changes the blend itself rather than fading
/// it: a linear dodge layer at 50% fill adds half its value (`b + s/2`)
/// instead of mixing half-way to `b + s`, and hard mix softens from a
/// posterised step into a contrast ramp. No public source gives Adobe's
/// exact formula, so this implements the model that reproduces those
/// documented behaviours, in the spirit of Adobe's patent US 7,136,075
/// (a transfer mode `T(A, B, q)` parameterised by a pseudo-opacity):
///
/// * fill `f` pulls the source toward the mode's neutral colour inside the
///   formula: `s' = f s` for dodge, add and difference (neutral black),
///   `s' = 1 - f (1 - s)` for the burns (neutral white),
///   `s' = 1/2 + f (s - 1/2)` for vivid and linear light (neutral gray);
///   hard mix becomes `clamp((b - f (1 - s)) / (1 - f))`;
/// * over an opaque backdrop the result is `lerp(b, B_f(b, s), a)` with
///   `a = pixel alpha * opacity * coverage` (fill not in it);
/// * over transparency the layer's own colour still fades with fill (its
///   coverage alpha is `a f`), so a 0% fill layer vanishes everywhere. In
///   the formula: `ao = a f + ab (1 - a f)`,
///   `co = [a f (1 - ab) cs + ab (cb + a (B_f - cb))] / ao`, which is the
///   W3C formula when `f = 1`.
///
/// Per-pixel layer transparency is treated like opacity (it fades the
/// result) in every mode; whether Photoshop folds it into the formula like
/// fill for the special eight is not established.
///
/// # Dissolve
///
/// Only opacity and fill dissolve: where [`dissolve_noise`]`(x, y) <
/// opacity * fill` the pixel is composited as in Normal mode with its own
/// alpha (times coverage), elsewhere the backdrop is left unchanged. So
/// anti-aliased edges stay soft and a dissolve layer at full opacity looks
/// like a normal one, as Photoshop's composites show (`dissolve.psd`: edge
/// pixels keep their own alpha, and about half of them show at 50%
/// opacity whatever that alpha is). That fill dissolves like opacity, and
/// that mask coverage acts like pixel alpha, is assumed, not measured.
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
    use BlendMode::*;
    let mut n = dst_color
        .len()
        .min(dst_alpha.len())
        .min(src_color.len())
        .min(src_alpha.len());
    if let Some(c) = coverage {
        n = n.min(c.len());
    }
    let dc = &mut dst_color[..n];
    let da = &mut dst_alpha[..n];
    let sc = &src_color[..n];
    let sa = &src_alpha[..n];
    let cov = coverage.map(|c| &c[..n]);

    let opacity = clamp01(opacity);
    let f = clamp01(fill);
    // Alpha the source covers transparency with, and the strength of the
    // blend over the backdrop (differs only for the special eight).
    let a_cover = opacity * f;
    let a_mix = if mode.is_fill_sensitive() {
        opacity
    } else {
        a_cover
    };
    if a_mix <= 0.0 {
        return;
    }

    // Selects the monomorphised kernel once per span, never per pixel.
    macro_rules! run {
        ($blend:expr) => {
            match cov {
                Some(c) => blend_kernel(dc, da, sc, sa, a_cover, a_mix, |i| c[i], $blend),
                None => blend_kernel(dc, da, sc, sa, a_cover, a_mix, |_| 1.0, $blend),
            }
        };
    }

    match mode {
        Normal | PassThrough => match cov {
            Some(c) => normal_kernel(dc, da, sc, sa, a_cover, |i| c[i]),
            None if a_cover >= 1.0 => normal_opaque_kernel(dc, da, sc, sa),
            None => normal_kernel(dc, da, sc, sa, a_cover, |_| 1.0),
        },
        Dissolve => match cov {
            Some(c) => dissolve_kernel(dc, da, sc, sa, a_cover, |i| c[i], x, y),
            None => dissolve_kernel(dc, da, sc, sa, a_cover, |_| 1.0, x, y),
        },
        Darken => run!(|b, s| sep(b, s, f32::min)),
        Multiply => run!(|b, s| sep(b, s, multiply)),
        ColorBurn => run!(|b, s| sep(b, s, |b, s| color_burn(b, toward_white(s, f)))),
        LinearBurn => run!(|b, s| sep(b, s, |b, s| linear_burn(b, toward_white(s, f)))),
        DarkerColor => run!(darker_color),
        Lighten => run!(|b, s| sep(b, s, f32::max)),
        Screen => run!(|b, s| sep(b, s, screen)),
        ColorDodge => run!(|b, s| sep(b, s, |b, s| color_dodge(b, f * s))),
        LinearDodge => run!(|b, s| sep(b, s, |b, s| linear_dodge(b, f * s))),
        LighterColor => run!(lighter_color),
        Overlay => run!(|b, s| sep(b, s, overlay)),
        SoftLight => run!(|b, s| sep(b, s, soft_light)),
        HardLight => run!(|b, s| sep(b, s, hard_light)),
        VividLight => run!(|b, s| sep(b, s, |b, s| vivid_light(b, toward_gray(s, f)))),
        LinearLight => run!(|b, s| sep(b, s, |b, s| linear_light(b, toward_gray(s, f)))),
        PinLight => run!(|b, s| sep(b, s, pin_light)),
        HardMix => run!(|b, s| sep(b, s, |b, s| hard_mix_fill(b, s, f))),
        Difference => run!(|b, s| sep(b, s, |b, s| difference(b, f * s))),
        Exclusion => run!(|b, s| sep(b, s, exclusion)),
        Subtract => run!(|b, s| sep(b, s, subtract)),
        Divide => run!(|b, s| sep(b, s, divide)),
        Hue => run!(hue),
        Saturation => run!(saturation),
        Color => run!(color),
        Luminosity => run!(luminosity),
    }
}

/// The general blending kernel (see [`composite_span`] for the formula).
/// All slices have the same length; `cov(i)` is in bounds for every `i`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn blend_kernel(
    dc: &mut [Color],
    da: &mut [f32],
    sc: &[Color],
    sa: &[f32],
    a_cover: f32,
    a_mix: f32,
    cov: impl Fn(usize) -> f32,
    blend: impl Fn(Color, Color) -> Color,
) {
    for (i, ((d, dst_a), (s, &src_a))) in dc
        .iter_mut()
        .zip(da.iter_mut())
        .zip(sc.iter().zip(sa))
        .enumerate()
    {
        let base = src_a * cov(i);
        let am = base * a_mix;
        if am <= 0.0 {
            continue;
        }
        let ac = base * a_cover;
        let ab = *dst_a;
        if ab <= 0.0 {
            // Nothing to blend with: the source as is.
            *d = *s;
            *dst_a = ac;
            continue;
        }
        let bl = blend(*d, *s);
        if ab >= 1.0 {
            // Opaque backdrop (the common case): no division needed.
            for k in 0..4 {
                d[k] += am * (bl[k] - d[k]);
            }
            continue;
        }
        let ao = ac + ab - ac * ab;
        let inv = 1.0 / ao;
        let w_src = ac * (1.0 - ab);
        for k in 0..4 {
            let cb = d[k];
            d[k] = (w_src * s[k] + ab * (cb + am * (bl[k] - cb))) * inv;
        }
        *dst_a = ao;
    }
}

/// Normal mode with a scaled source alpha.
#[inline(always)]
fn normal_kernel(
    dc: &mut [Color],
    da: &mut [f32],
    sc: &[Color],
    sa: &[f32],
    scale: f32,
    cov: impl Fn(usize) -> f32,
) {
    for (i, ((d, dst_a), (s, &src_a))) in dc
        .iter_mut()
        .zip(da.iter_mut())
        .zip(sc.iter().zip(sa))
        .enumerate()
    {
        let a_s = src_a * scale * cov(i);
        if a_s <= 0.0 {
            continue;
        }
        normal_pixel(d, dst_a, s, a_s);
    }
}

/// Normal mode at full opacity and coverage: opaque source pixels are
/// plain copies.
#[inline(always)]
fn normal_opaque_kernel(dc: &mut [Color], da: &mut [f32], sc: &[Color], sa: &[f32]) {
    for ((d, dst_a), (s, &a_s)) in dc.iter_mut().zip(da.iter_mut()).zip(sc.iter().zip(sa)) {
        if a_s >= 1.0 {
            *d = *s;
            *dst_a = 1.0;
        } else if a_s > 0.0 {
            normal_pixel(d, dst_a, s, a_s);
        }
    }
}

/// A pixel composited in Normal mode at full opacity onto a transparent
/// backdrop, in place: exactly what [`composite_span`] gives for it.
#[inline(always)]
pub(crate) fn normal_onto_transparent(c: &mut Color, a: &mut f32) {
    let a_s = *a;
    let (mut d, mut d_a) = ([0.0; 4], 0.0);
    if a_s >= 1.0 {
        d = *c;
        d_a = 1.0;
    } else if a_s > 0.0 {
        normal_pixel(&mut d, &mut d_a, c, a_s);
    }
    *c = d;
    *a = d_a;
}

#[inline(always)]
fn normal_pixel(d: &mut Color, dst_a: &mut f32, s: &Color, a_s: f32) {
    let ab = *dst_a;
    if ab >= 1.0 {
        for k in 0..4 {
            d[k] += a_s * (s[k] - d[k]);
        }
        return;
    }
    let w_b = ab * (1.0 - a_s);
    let ao = a_s + w_b;
    let inv = 1.0 / ao;
    for k in 0..4 {
        d[k] = (a_s * s[k] + w_b * d[k]) * inv;
    }
    *dst_a = ao;
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn dissolve_kernel(
    dc: &mut [Color],
    da: &mut [f32],
    sc: &[Color],
    sa: &[f32],
    threshold: f32,
    cov: impl Fn(usize) -> f32,
    x: i32,
    y: i32,
) {
    for (i, ((d, dst_a), (s, &src_a))) in dc
        .iter_mut()
        .zip(da.iter_mut())
        .zip(sc.iter().zip(sa))
        .enumerate()
    {
        if dissolve_noise(x.wrapping_add(i as i32), y) >= threshold {
            continue;
        }
        let a_s = src_a * cov(i);
        if a_s > 0.0 {
            normal_pixel(d, dst_a, s, a_s);
        }
    }
}

/// Dissolve's per-pixel threshold in `[0, 1)` for canvas pixel `(x, y)`:
/// a stateless integer hash (coordinates mixed by two odd constants, then
/// the MurmurHash3 32-bit finaliser), so any tile order renders the same.
/// Photoshop's own pattern is not reproducible; only its density matters.
#[inline]
pub fn dissolve_noise(x: i32, y: i32) -> f32 {
    let mut h = (x as u32).wrapping_mul(0x9E37_79B1) ^ (y as u32).wrapping_mul(0x85EB_CA77);
    h = h.wrapping_add(0x27D4_EB2F);
    h ^= h >> 16;
    h = h.wrapping_mul(0x85EB_CA6B);
    h ^= h >> 13;
    h = h.wrapping_mul(0xC2B2_AE35);
    h ^= h >> 16;
    // Top 24 bits: exactly representable in f32, so the value is < 1.
    (h >> 8) as f32 * (1.0 / 16_777_216.0)
}

// ---------------------------------------------------------------------------
// Blend-if ("Blend If" sliders).

/// How blend-if derives its "Gray" channel from a pixel's colour lanes.
///
/// Photoshop describes blend-if Gray as the composite's gray / luminosity;
/// for RGB this uses the same 0.3 / 0.59 / 0.11 luminosity weights as the
/// luminosity blend modes ([`GrayMethod::RGB`]). That choice is an
/// assumption (no public source gives Adobe's exact weights); pass other
/// weights through [`GrayMethod::Weighted`] if measurements disagree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GrayMethod {
    /// Weighted sum of lanes 0..3 (RGB documents).
    Weighted([f32; 3]),
    /// Lane 0 as is: grayscale / duotone / bitmap (`[g, g, g, 0]`) and Lab
    /// (`L`).
    Lane0,
    /// CMYK stored (inverted, 1 = no ink) lanes: the RGB-weighted gray of
    /// `c', m', y'` darkened by `k'`.
    CmykInverted,
}

impl GrayMethod {
    /// RGB with Photoshop's luminosity weights.
    pub const RGB: GrayMethod = GrayMethod::Weighted([0.3, 0.59, 0.11]);

    /// The gray value of one pixel.
    #[inline]
    pub fn gray(self, c: Color) -> f32 {
        match self {
            GrayMethod::Weighted(w) => w[0] * c[0] + w[1] * c[1] + w[2] * c[2],
            GrayMethod::Lane0 => c[0],
            GrayMethod::CmykInverted => (0.3 * c[0] + 0.59 * c[1] + 0.11 * c[2]) * c[3],
        }
    }
}

/// Coverage of value `v` under one slider pair `[black_lo, black_hi,
/// white_lo, white_hi]`: 0 below `black_lo` and above `white_hi`, 1 between
/// `black_hi` and `white_lo`, linear across each split. Values are clamped
/// to 0..1 first (HDR values count as white).
#[inline]
pub fn blend_if_range(v: f32, r: [f32; 4]) -> f32 {
    let v = clamp01(v);
    let [bl, bh, wl, wh] = r;
    if v < bl || v > wh {
        return 0.0;
    }
    let mut c = 1.0f32;
    // `v >= bl` here, so `v < bh` implies `bh > bl` (no division by zero);
    // likewise `v <= wh` and `v > wl` imply `wh > wl`.
    if v < bh {
        c = (v - bl) / (bh - bl);
    }
    if v > wl {
        c = c.min((wh - v) / (wh - wl));
    }
    c
}

/// True for a slider pair that lets every value through.
#[inline]
fn range_is_open(r: [f32; 4]) -> bool {
    r[0] <= 0.0 && r[1] <= 0.0 && r[2] >= 1.0 && r[3] >= 1.0
}

/// Value of blend-if channel `ch` of a pixel: 0 is gray, 1.. colour lanes.
#[inline(always)]
fn blend_if_value(ch: usize, c: Color, gray: GrayMethod) -> f32 {
    if ch == 0 {
        gray.gray(c)
    } else {
        c[ch - 1]
    }
}

/// Blend-if coverage (0..1) of one source pixel `src` over backdrop `dst`,
/// both in the document's working-space lanes.
///
/// `blend_if.channels[0]` is the gray channel, computed with `gray`;
/// entries 1.. are colour lanes 0.. in order (R, G, B / C, M, Y, K / L, a,
/// b), compared on the stored lane values. Each entry's first range applies
/// to the source ("This Layer"), its second to the backdrop ("Underlying
/// Layer"); the coverage is the product over all of them. Channels beyond
/// four colour lanes are ignored. Multiply the source alpha by the result.
pub fn blend_if_coverage(blend_if: &BlendIf, src: Color, dst: Color, gray: GrayMethod) -> f32 {
    let mut cov = 1.0;
    for (ch, &(rs, rd)) in blend_if.channels.iter().enumerate().take(5) {
        if !range_is_open(rs) {
            cov *= blend_if_range(blend_if_value(ch, src, gray), rs);
        }
        if !range_is_open(rd) {
            cov *= blend_if_range(blend_if_value(ch, dst, gray), rd);
        }
    }
    cov
}

/// Span form of [`blend_if_coverage`]: multiplies `coverage[i]` by the
/// blend-if coverage of `src[i]` over `dst[i]` (up to the shortest slice).
/// Slider pairs that pass everything are skipped once, outside the loop.
pub fn blend_if_span(
    blend_if: &BlendIf,
    src: &[Color],
    dst: &[Color],
    gray: GrayMethod,
    coverage: &mut [f32],
) {
    // At most 5 channels x 2 sides of active tests, gathered without
    // allocating: (channel, range, applies to source).
    let mut tests = [(0usize, [0.0f32; 4], false); 10];
    let mut count = 0;
    for (ch, &(rs, rd)) in blend_if.channels.iter().enumerate().take(5) {
        if !range_is_open(rs) {
            tests[count] = (ch, rs, true);
            count += 1;
        }
        if !range_is_open(rd) {
            tests[count] = (ch, rd, false);
            count += 1;
        }
    }
    let tests = &tests[..count];
    if tests.is_empty() {
        return;
    }
    for ((c, s), d) in coverage.iter_mut().zip(src).zip(dst) {
        if *c <= 0.0 {
            continue;
        }
        for &(ch, r, on_src) in tests {
            let px = if on_src { *s } else { *d };
            *c *= blend_if_range(blend_if_value(ch, px, gray), r);
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn normal_onto_transparent_matches_compositing_a_span() {
        let alphas = [0.0, -0.5, 1e-6, 0.3, 0.999, 1.0, 1.7, f32::NAN];
        let src: Vec<crate::render::raster::Color> = (0..alphas.len())
            .map(|i| [0.1 * i as f32, 0.9, 1.0 / 3.0, 0.25])
            .collect();
        let (mut dc, mut da) = (vec![[0.0; 4]; alphas.len()], vec![0.0; alphas.len()]);
        composite_span(
            BlendMode::Normal,
            &mut dc,
            &mut da,
            &src,
            &alphas,
            1.0,
            1.0,
            None,
            0,
            0,
        );
        for i in 0..alphas.len() {
            let (mut c, mut a) = (src[i], alphas[i]);
            normal_onto_transparent(&mut c, &mut a);
            assert_eq!((c, a), (dc[i], da[i]), "alpha {}", alphas[i]);
        }
        // Independently: an opaque pixel is copied, a transparent one is
        // nothing, and a partial one keeps its colour and alpha.
        assert_eq!((dc[5], da[5]), (src[5], 1.0));
        assert_eq!((dc[0], da[0]), ([0.0; 4], 0.0));
        assert!((dc[3][1] - 0.9).abs() < 1e-6 && da[3] == 0.3);
    }
    use super::*;

    #[test]
    fn descriptor_names_in_both_spellings() {
        for (code, long, mode) in [
            ("Mltp", "multiply", BlendMode::Multiply),
            ("CDdg", "colorDodge", BlendMode::ColorDodge),
            ("Lmns", "luminosity", BlendMode::Luminosity),
            ("H   ", "hue", BlendMode::Hue),
        ] {
            assert_eq!(BlendMode::from_descriptor(code), Some(mode));
            assert_eq!(BlendMode::from_descriptor(long), Some(mode));
        }
        assert_eq!(BlendMode::from_descriptor("nonsense"), None);
    }
    use BlendMode::*;

    const EPS: f32 = 1e-5;

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() <= EPS
    }

    /// B(b, s) on a gray pixel through the public per-pixel entry point.
    fn b1(mode: BlendMode, b: f32, s: f32) -> f32 {
        blend_color(mode, [b, b, b, 0.0], [s, s, s, 0.0])[0]
    }

    /// One opaque source pixel over one opaque backdrop pixel through the
    /// span compositor.
    fn over_opaque(
        mode: BlendMode,
        cb: [f32; 4],
        cs: [f32; 4],
        opacity: f32,
        fill: f32,
    ) -> [f32; 4] {
        let mut dc = [cb];
        let mut da = [1.0];
        composite_span(
            mode,
            &mut dc,
            &mut da,
            &[cs],
            &[1.0],
            opacity,
            fill,
            None,
            0,
            0,
        );
        assert!(close(da[0], 1.0));
        dc[0]
    }

    #[test]
    fn separable_modes_at_hand_computed_points() {
        // (mode, backdrop, source, expected), worked out by hand from the
        // formulas in the module docs.
        let cases: &[(BlendMode, f32, f32, f32)] = &[
            (Normal, 0.25, 0.75, 0.75),
            (Darken, 0.25, 0.75, 0.25),
            (Lighten, 0.25, 0.75, 0.75),
            (Multiply, 0.25, 0.75, 0.1875),
            (Screen, 0.25, 0.75, 0.8125),
            (Overlay, 0.25, 0.75, 0.375),
            (Overlay, 0.75, 0.25, 0.625),
            (HardLight, 0.25, 0.75, 0.625),
            (HardLight, 0.75, 0.25, 0.375),
            (ColorDodge, 0.25, 0.75, 1.0),
            (ColorDodge, 0.25, 0.5, 0.5),
            (ColorBurn, 0.25, 0.75, 0.0),
            (ColorBurn, 0.5, 0.75, 1.0 / 3.0),
            (SoftLight, 0.25, 0.25, 0.15625),
            (SoftLight, 0.64, 0.75, 0.72),
            // W3C cubic for dark backdrops: D(0.16) = 0.398336, so
            // 0.16 + 0.5 * 0.238336; the square-root form would give 0.28.
            (SoftLight, 0.16, 0.75, 0.279168),
            (Difference, 0.25, 0.75, 0.5),
            (Exclusion, 0.25, 0.75, 0.625),
            (LinearBurn, 0.25, 0.75, 0.0),
            (LinearBurn, 0.5, 0.75, 0.25),
            (LinearDodge, 0.25, 0.75, 1.0),
            (LinearDodge, 0.25, 0.5, 0.75),
            (VividLight, 0.25, 0.75, 0.5),
            (VividLight, 0.75, 0.25, 0.5),
            (VividLight, 0.25, 0.25, 0.0),
            (LinearLight, 0.25, 0.75, 0.75),
            (LinearLight, 0.75, 0.25, 0.25),
            (LinearLight, 0.1, 0.25, 0.0),
            (PinLight, 0.25, 0.75, 0.5),
            (PinLight, 0.75, 0.25, 0.5),
            (PinLight, 0.4, 0.25, 0.4),
            (HardMix, 0.3, 0.8, 1.0),
            (HardMix, 0.3, 0.6, 0.0),
            (Subtract, 0.25, 0.75, 0.0),
            (Subtract, 0.75, 0.25, 0.5),
            (Divide, 0.25, 0.75, 1.0 / 3.0),
            (Divide, 0.75, 0.25, 1.0),
        ];
        for &(mode, b, s, want) in cases {
            let got = b1(mode, b, s);
            assert!(close(got, want), "{mode:?}({b}, {s}) = {got}, want {want}");
            // Same through the span compositor over an opaque backdrop.
            let got = over_opaque(mode, [b; 4], [s; 4], 1.0, 1.0)[0];
            assert!(
                close(got, want),
                "span {mode:?}({b}, {s}) = {got}, want {want}"
            );
        }
    }

    #[test]
    fn photoshop_edge_cases() {
        // Colour burn: white backdrop wins over a black source.
        assert_eq!(b1(ColorBurn, 1.0, 0.0), 1.0);
        assert_eq!(b1(ColorBurn, 0.5, 0.0), 0.0);
        assert_eq!(b1(ColorBurn, 0.0, 1.0), 0.0);
        // Colour dodge: black backdrop wins over a white source.
        assert_eq!(b1(ColorDodge, 0.0, 1.0), 0.0);
        assert_eq!(b1(ColorDodge, 0.5, 1.0), 1.0);
        assert_eq!(b1(ColorDodge, 1.0, 0.0), 1.0);
        // Vivid light: the source's extremes win.
        assert_eq!(b1(VividLight, 1.0, 0.0), 0.0);
        assert_eq!(b1(VividLight, 0.0, 1.0), 1.0);
        assert_eq!(b1(VividLight, 0.0, 0.0), 0.0);
        assert!(close(b1(VividLight, 0.3, 0.5), 0.3));
        // Divide by zero.
        assert_eq!(b1(Divide, 0.5, 0.0), 1.0);
        assert_eq!(b1(Divide, 0.0, 0.0), 0.0);
        // Hard mix ties (b + s = 1 exactly in binary) follow the backdrop.
        assert_eq!(b1(HardMix, 0.25, 0.75), 0.0);
        assert_eq!(b1(HardMix, 0.75, 0.25), 1.0);
        assert_eq!(b1(HardMix, 0.5, 0.5), 0.0);
    }

    #[test]
    fn matches_photoshop_composite_samples() {
        // (mode, backdrop, source, Photoshop's result), 8-bit RGB pixels
        // read from psd-tools' tests/psd_files/blend-modes/rgb-blend-modes.psd
        // (MIT): an opaque rainbow rectangle under a duck layer in each
        // mode, and the stored composite Photoshop wrote.
        type Sample = (BlendMode, [u8; 3], [u8; 3], [u8; 3]);
        let samples: &[Sample] = &[
            // Soft light on dark backdrops: W3C's cubic (the square-root
            // form would give 50, 47, 47).
            (SoftLight, [12, 255, 0], [240, 189, 101], [38, 255, 0]),
            (SoftLight, [11, 0, 255], [247, 185, 2], [37, 0, 255]),
            (SoftLight, [10, 255, 0], [253, 213, 3], [35, 255, 0]),
            (SoftLight, [0, 35, 255], [253, 211, 1], [0, 73, 255]),
            // Vivid light: source 0 wins over a white backdrop, source 1
            // over a black one.
            (VividLight, [255, 235, 0], [0, 0, 6], [0, 0, 0]),
            (VividLight, [0, 128, 255], [255, 218, 0], [255, 255, 0]),
            // Hard mix tie 255 + 0 with a light backdrop goes to 1.
            (HardMix, [255, 234, 0], [0, 0, 6], [255, 0, 0]),
            // Colour burn / dodge extremes, as observed per channel across
            // the same composite (b = 1, s = 0 -> 1; b = 0, s = 1 -> 0;
            // 0 < b < 1, s = 0 -> 0 for burn, b for dodge).
            (ColorBurn, [255, 128, 0], [0, 0, 255], [255, 0, 0]),
            (ColorDodge, [0, 128, 255], [255, 0, 0], [0, 128, 255]),
        ];
        let f = |c: [u8; 3]| {
            [
                c[0] as f32 / 255.0,
                c[1] as f32 / 255.0,
                c[2] as f32 / 255.0,
                0.0,
            ]
        };
        for &(mode, b, s, want) in samples {
            let got = over_opaque(mode, f(b), f(s), 1.0, 1.0);
            for k in 0..3 {
                let g = got[k] * 255.0;
                assert!(
                    (g - want[k] as f32).abs() <= 1.5,
                    "{mode:?} {b:?} {s:?}: lane {k} = {g}, Photoshop {}",
                    want[k]
                );
            }
        }
    }

    #[test]
    fn unused_lane_stays_zero_in_every_mode() {
        // RGB lanes are [r, g, b, 0]; no mode may invent a value in lane 3,
        // at any fill.
        let all = all_modes();
        for &mode in &all {
            for fill in [1.0, 0.6, 0.0] {
                let got = over_opaque(mode, [0.2, 0.7, 1.0, 0.0], [0.9, 0.1, 0.0, 0.0], 1.0, fill);
                assert_eq!(got[3], 0.0, "{mode:?} fill {fill}");
            }
        }
    }

    #[test]
    fn non_separable_modes_on_a_known_pair() {
        // Expected values from W3C's SetLum / ClipColor / SetSat by hand:
        // Lum(cb) = 0.362, Lum(cs) = 0.369, Sat(cb) = 0.4, Sat(cs) = 0.7.
        let cb = [0.2, 0.4, 0.6, 0.5];
        let cs = [0.8, 0.2, 0.1, 0.9];
        let cases: &[(BlendMode, [f32; 3])] = &[
            (Luminosity, [0.207, 0.407, 0.607]),
            (Color, [0.793, 0.193, 0.093]),
            (Saturation, [0.0785, 0.4285, 0.7785]),
            (Hue, [0.608_285_7, 0.265_428_6, 0.208_285_7]),
            (DarkerColor, [0.2, 0.4, 0.6]),
            (LighterColor, [0.8, 0.2, 0.1]),
        ];
        for &(mode, want) in cases {
            let got = blend_color(mode, cb, cs);
            for k in 0..3 {
                assert!(
                    close(got[k], want[k]),
                    "{mode:?} lane {k}: {got:?} vs {want:?}"
                );
            }
            // Lane 3 follows the operand the colour comes from: the source
            // for luminosity and a winning source (lighter colour here).
            let lane3 = if matches!(mode, Luminosity | LighterColor) {
                0.9
            } else {
                0.5
            };
            assert_eq!(got[3], lane3, "{mode:?}");
        }
    }

    /// Stored CMYK values (inverted bytes, 255 = no ink) read from
    /// Photoshop's composite of `cmyk-blend-modes.psd`, where an opaque
    /// rainbow rectangle is blended onto an opaque duck: the black plate
    /// comes from the source in luminosity and in a winning lighter colour.
    #[test]
    fn cmyk_black_plate_follows_photoshop() {
        let px = |v: [f32; 4]| v.map(|x| x / 255.0);
        let cases = [
            (
                Luminosity,
                [0.0, 21.0, 37.0, 11.0],
                [129.0, 255.0, 0.0, 255.0],
                [173.0, 194.0, 210.0, 255.0],
            ),
            (
                LighterColor,
                [81.0, 57.0, 4.0, 133.0],
                [133.0, 255.0, 0.0, 255.0],
                [134.0, 255.0, 0.0, 255.0],
            ),
        ];
        for (mode, b, s, want) in cases {
            let got = blend_color(mode, px(b), px(s));
            for k in 0..4 {
                assert!(
                    (got[k] * 255.0 - want[k]).abs() <= 1.5,
                    "{mode:?} lane {k}: {got:?}, Photoshop {want:?}"
                );
            }
        }
    }

    #[test]
    fn clip_color_keeps_luminosity_in_range() {
        // Luminosity of light gray onto pure red: (1.6, 0.6, 0.6) clipped
        // around l = 0.9 with factor 0.1 / 0.7.
        let got = blend_color(Luminosity, [1.0, 0.0, 0.0, 0.0], [0.9, 0.9, 0.9, 0.0]);
        let want = [1.0, 0.857_142_9, 0.857_142_9];
        for k in 0..3 {
            assert!(close(got[k], want[k]), "{got:?}");
        }
        // Colour of blue onto dark gray: (-0.06, -0.06, 0.94) clipped
        // around l = 0.05 with factor 0.05 / 0.11.
        let got = blend_color(Color, [0.05, 0.05, 0.05, 0.0], [0.0, 0.0, 1.0, 0.0]);
        let want = [0.0, 0.0, 0.454_545_45];
        for k in 0..3 {
            assert!(close(got[k], want[k]), "{got:?}");
        }
    }

    #[test]
    fn source_over_alpha() {
        // Normal, ab = as = 0.5: ao = 0.75, co = (0.5*0.8 + 0.25*0.2) / 0.75.
        let mut dc = [[0.2; 4]];
        let mut da = [0.5];
        composite_span(
            Normal,
            &mut dc,
            &mut da,
            &[[0.8; 4]],
            &[0.5],
            1.0,
            1.0,
            None,
            0,
            0,
        );
        assert!(close(da[0], 0.75));
        assert!(close(dc[0][0], 0.6), "{:?}", dc[0]);

        // Multiply, same alphas, cb = 0.5, cs = 0.4, B = 0.2:
        // (0.25*0.4 + 0.25*0.2 + 0.25*0.5) / 0.75 = 0.275 / 0.75.
        let mut dc = [[0.5; 4]];
        let mut da = [0.5];
        composite_span(
            Multiply,
            &mut dc,
            &mut da,
            &[[0.4; 4]],
            &[0.5],
            1.0,
            1.0,
            None,
            0,
            0,
        );
        assert!(close(da[0], 0.75));
        assert!(close(dc[0][0], 0.275 / 0.75), "{:?}", dc[0]);

        // Onto transparency every mode gives the source as is.
        for mode in all_modes() {
            if mode == Dissolve {
                continue;
            }
            let mut dc = [[0.3; 4]];
            let mut da = [0.0];
            composite_span(
                mode,
                &mut dc,
                &mut da,
                &[[0.9; 4]],
                &[0.6],
                0.5,
                1.0,
                None,
                0,
                0,
            );
            assert!(close(da[0], 0.3), "{mode:?}");
            assert!(close(dc[0][0], 0.9), "{mode:?}");
        }

        // Opacity and coverage scale alpha: normal 0.8 over opaque 0.2 at
        // opacity 0.5 and coverage 0.5 moves a quarter of the way.
        let mut dc = [[0.2; 4], [0.2; 4]];
        let mut da = [1.0, 1.0];
        composite_span(
            Normal,
            &mut dc,
            &mut da,
            &[[0.8; 4], [0.8; 4]],
            &[1.0, 0.0],
            0.5,
            1.0,
            Some(&[0.5, 1.0]),
            0,
            0,
        );
        assert!(close(dc[0][0], 0.35));
        // Zero source alpha leaves the backdrop untouched.
        assert_eq!(dc[1], [0.2; 4]);
        assert_eq!(da, [1.0, 1.0]);
    }

    #[test]
    fn normal_fast_path_matches_formula() {
        let mut dc = [[0.1, 0.2, 0.3, 0.0], [0.5; 4], [0.5; 4]];
        let mut da = [0.4, 1.0, 0.0];
        let sc = [[0.9, 0.8, 0.7, 0.0], [0.25; 4], [0.75; 4]];
        composite_span(
            Normal,
            &mut dc,
            &mut da,
            &sc,
            &[1.0, 0.5, 0.5],
            1.0,
            1.0,
            None,
            0,
            0,
        );
        assert_eq!(dc[0], sc[0]);
        assert_eq!(da[0], 1.0);
        assert!(close(dc[1][0], 0.375) && close(da[1], 1.0));
        assert!(close(dc[2][0], 0.75) && close(da[2], 0.5));
    }

    #[test]
    fn fill_acts_inside_the_special_eight() {
        let cb = [0.5; 4];
        let cs = [0.8; 4];
        // Linear dodge: opacity 50% mixes half-way to min(1, 1.3) = 1,
        // fill 50% adds half the source.
        assert!(close(over_opaque(LinearDodge, cb, cs, 0.5, 1.0)[0], 0.75));
        assert!(close(over_opaque(LinearDodge, cb, cs, 1.0, 0.5)[0], 0.9));
        // Hard mix: opacity mixes with the posterised 1; fill 50% ramps:
        // (0.5 - 0.5 * 0.2) / 0.5 = 0.8.
        assert!(close(over_opaque(HardMix, cb, cs, 0.5, 1.0)[0], 0.75));
        assert!(close(over_opaque(HardMix, cb, cs, 1.0, 0.5)[0], 0.8));
        // Colour burn at fill 0.5: s' = 1 - 0.5 * 0.2 = 0.9,
        // 1 - 0.5 / 0.9.
        assert!(close(
            over_opaque(ColorBurn, cb, cs, 1.0, 0.5)[0],
            1.0 - 0.5 / 0.9
        ));
        // Difference at fill 0.5: |0.5 - 0.4|.
        assert!(close(over_opaque(Difference, cb, cs, 1.0, 0.5)[0], 0.1));
        // Both together: opacity mixes toward the fill-blended value.
        assert!(close(over_opaque(LinearDodge, cb, cs, 0.5, 0.5)[0], 0.7));
        // Fill 0 leaves every special mode's backdrop unchanged.
        for mode in all_modes().into_iter().filter(|m| m.is_fill_sensitive()) {
            assert!(
                close(over_opaque(mode, cb, cs, 1.0, 0.0)[0], 0.5),
                "{mode:?}"
            );
        }
        // Over transparency the layer still fades with fill.
        let mut dc = [[0.0; 4]];
        let mut da = [0.0];
        composite_span(
            LinearDodge,
            &mut dc,
            &mut da,
            &[cs],
            &[1.0],
            1.0,
            0.5,
            None,
            0,
            0,
        );
        assert!(close(da[0], 0.5) && close(dc[0][0], 0.8));
    }

    #[test]
    fn fill_equals_opacity_for_ordinary_modes() {
        let cb = [0.5; 4];
        let cs = [0.4; 4];
        for mode in [Multiply, Screen, Overlay, SoftLight, Exclusion, Hue] {
            let a = over_opaque(mode, cb, cs, 0.5, 1.0);
            let b = over_opaque(mode, cb, cs, 1.0, 0.5);
            assert_eq!(a, b, "{mode:?}");
        }
        // Multiply at 50%: lerp(0.5, 0.2, 0.5).
        assert!(close(over_opaque(Multiply, cb, cs, 1.0, 0.5)[0], 0.35));
    }

    /// Photoshop's composite of `dissolve.psd` (ellipses at opacity 128
    /// over transparency): an anti-aliased edge pixel of alpha 92 shows
    /// with alpha 92 or not at all, and about half the pixels show (295
    /// of 576 inside one ellipse, 49 of 90 on its edge) whatever their
    /// alpha. At full opacity nothing is dropped.
    #[test]
    fn dissolve_dithers_opacity_not_pixel_alpha() {
        const N: usize = 4096;
        let edge = 92.0 / 255.0;
        for (opacity, lo, hi) in [(128.0 / 255.0, 0.45, 0.55), (1.0, 1.0, 1.0)] {
            let mut dc = vec![[0.0; 4]; N];
            let mut da = vec![0.0; N];
            let sc = vec![[1.0, 0.0, 0.0, 0.0]; N];
            let sa = vec![edge; N];
            composite_span(
                Dissolve, &mut dc, &mut da, &sc, &sa, opacity, 1.0, None, 3, 40,
            );
            let mut shown = 0;
            for (c, &a) in dc.iter().zip(&da) {
                if a > 0.0 {
                    assert!(close(a, edge) && c[0] == 1.0, "{c:?} {a}");
                    shown += 1;
                } else {
                    assert_eq!(a, 0.0);
                }
            }
            let frac = shown as f32 / N as f32;
            assert!((lo..=hi).contains(&frac), "opacity {opacity}: {frac}");
        }
    }

    #[test]
    fn dissolve_is_deterministic_with_the_right_density() {
        const N: usize = 256;
        let run = |x0: i32, y0: i32| {
            let mut hits = 0usize;
            let mut out = Vec::with_capacity(N * N);
            for row in 0..N as i32 {
                let mut dc = vec![[0.0; 4]; N];
                let mut da = vec![1.0; N];
                let sc = vec![[1.0; 4]; N];
                let sa = vec![0.6; N];
                // Opacity 0.5 dissolves; the pixel's own alpha 0.6 does not.
                composite_span(
                    Dissolve,
                    &mut dc,
                    &mut da,
                    &sc,
                    &sa,
                    0.5,
                    1.0,
                    None,
                    x0,
                    y0 + row,
                );
                for (c, a) in dc.iter().zip(&da) {
                    // Either the source at its own alpha over black
                    // (0.6) or the untouched backdrop.
                    assert!(*a == 1.0 && (close(c[0], 0.6) || c[0] == 0.0));
                    hits += (c[0] > 0.0) as usize;
                    out.push(c[0]);
                }
            }
            (hits as f64 / (N * N) as f64, out)
        };
        let (frac, a) = run(0, 0);
        assert!((frac - 0.5).abs() < 0.01, "density {frac}");
        let (_, b) = run(0, 0);
        assert_eq!(a, b, "not deterministic");
        let (frac2, c) = run(1000, -77);
        assert!((frac2 - 0.5).abs() < 0.01, "density {frac2}");
        assert_ne!(a, c, "pattern does not depend on position");
        // Noise is in [0, 1).
        for (x, y) in [(0, 0), (-1, -1), (i32::MAX, i32::MIN), (12345, 678)] {
            let v = dissolve_noise(x, y);
            assert!((0.0..1.0).contains(&v));
        }
    }

    #[test]
    fn blend_if_ramps() {
        let r = [0.2, 0.4, 0.6, 0.8];
        let cases = [
            (0.1, 0.0),
            (0.2, 0.0),
            (0.3, 0.5),
            (0.4, 1.0),
            (0.5, 1.0),
            (0.6, 1.0),
            (0.7, 0.5),
            (0.8, 0.0),
            (0.9, 0.0),
        ];
        for (v, want) in cases {
            let got = blend_if_range(v, r);
            assert!(close(got, want), "{v}: {got} vs {want}");
        }
        // Unsplit sliders are hard thresholds; black point 1/255 drops 0.
        let hard = [1.0 / 255.0, 1.0 / 255.0, 254.0 / 255.0, 254.0 / 255.0];
        assert_eq!(blend_if_range(0.0, hard), 0.0);
        assert_eq!(blend_if_range(1.0 / 255.0, hard), 1.0);
        assert_eq!(blend_if_range(1.0, hard), 0.0);
        assert_eq!(blend_if_range(0.5, [0.0, 0.0, 1.0, 1.0]), 1.0);
    }

    #[test]
    fn blend_if_combines_gray_and_channels() {
        let open = [0.0, 0.0, 1.0, 1.0];
        let bi = BlendIf {
            channels: vec![
                // Gray: this layer fades in over 0.2..0.4; underlying open.
                ([0.2, 0.4, 1.0, 1.0], open),
                // Red: underlying fades out over 0.6..0.8.
                (open, [0.0, 0.0, 0.6, 0.8]),
                (open, open),
                (open, open),
            ],
        };
        // Source gray 0.3*0.5 + 0.59*0.2 + 0.11*0.3 = 0.301 -> 0.505;
        // backdrop red 0.75 -> 0.25.
        let src = [0.5, 0.2, 0.3, 0.0];
        let dst = [0.75, 0.1, 0.1, 0.0];
        let got = blend_if_coverage(&bi, src, dst, GrayMethod::RGB);
        assert!(close(got, 0.505 * 0.25), "{got}");
        // Gray documents read lane 0.
        let got = blend_if_coverage(&bi, [0.3; 4], [0.0; 4], GrayMethod::Lane0);
        assert!(close(got, 0.5), "{got}");
        // The span form multiplies into the coverage it is given.
        let mut cov = [1.0, 0.5, 0.0];
        blend_if_span(
            &bi,
            &[src, src, src],
            &[dst, dst, dst],
            GrayMethod::RGB,
            &mut cov,
        );
        assert!(close(cov[0], 0.505 * 0.25));
        assert!(close(cov[1], 0.5 * 0.505 * 0.25));
        assert_eq!(cov[2], 0.0);
        // All-open ranges pass everything.
        let none = BlendIf {
            channels: vec![(open, open); 4],
        };
        assert_eq!(
            blend_if_coverage(&none, [0.0; 4], [1.0; 4], GrayMethod::RGB),
            1.0
        );
    }

    #[test]
    fn api_names() {
        let names: [(&str, BlendMode); 29] = [
            ("normal", Normal),
            ("dissolve", Dissolve),
            ("pass through", PassThrough),
            ("darken", Darken),
            ("multiply", Multiply),
            ("color burn", ColorBurn),
            ("linear burn", LinearBurn),
            ("darker color", DarkerColor),
            ("lighten", Lighten),
            ("screen", Screen),
            ("color dodge", ColorDodge),
            ("linear dodge", LinearDodge),
            ("add", LinearDodge),
            ("lighter color", LighterColor),
            ("overlay", Overlay),
            ("soft light", SoftLight),
            ("hard light", HardLight),
            ("vivid light", VividLight),
            ("linear light", LinearLight),
            ("pin light", PinLight),
            ("hard mix", HardMix),
            ("difference", Difference),
            ("exclusion", Exclusion),
            ("subtract", Subtract),
            ("divide", Divide),
            ("hue", Hue),
            ("saturation", Saturation),
            ("color", Color),
            ("luminosity", Luminosity),
        ];
        for (name, mode) in names {
            let snake = name.replace(' ', "_");
            assert_eq!(BlendMode::from_api_name(name), Some(mode), "{name}");
            assert_eq!(BlendMode::from_api_name(&snake), Some(mode), "{snake}");
            assert_eq!(BlendMode::from_api_name(&name.to_uppercase()), Some(mode));
            assert_eq!(BlendMode::from_api_name(&format!(" {snake} ")), Some(mode));
            if name != "add" {
                assert_eq!(mode.api_name(), snake);
            }
        }
        assert_eq!(BlendMode::from_api_name("Soft-Light"), Some(SoftLight));
        assert_eq!(BlendMode::from_api_name("softlight"), None);
        assert_eq!(BlendMode::from_api_name("soft  light"), None);
        assert_eq!(BlendMode::from_api_name(""), None);
        // Every mode round-trips through its API name.
        for mode in all_modes() {
            assert_eq!(BlendMode::from_api_name(mode.api_name()), Some(mode));
        }
    }

    #[test]
    fn mismatched_span_lengths_do_not_panic() {
        let mut dc = [[0.5; 4]; 3];
        let mut da = [1.0; 3];
        composite_span(
            Screen,
            &mut dc,
            &mut da,
            &[[0.5; 4]; 2],
            &[1.0; 3],
            1.0,
            1.0,
            Some(&[1.0]),
            0,
            0,
        );
        assert!(close(dc[0][0], 0.75));
        assert_eq!(dc[1], [0.5; 4]);
    }

    #[test]
    fn span_and_pixel_paths_agree() {
        // Both dispatch tables must map every mode to the same function.
        let cb = [0.3, 0.6, 0.9, 0.0];
        let cs = [0.7, 0.45, 0.2, 0.0];
        for mode in all_modes() {
            if mode == Dissolve {
                continue;
            }
            for fill in [1.0, 0.4] {
                let want = blend_color_fill(mode, cb, cs, fill);
                let got = over_opaque(mode, cb, cs, 1.0, 1.0);
                let want_full = blend_color(mode, cb, cs);
                for k in 0..4 {
                    assert!(close(got[k], want_full[k]), "{mode:?}");
                }
                if mode.is_fill_sensitive() {
                    let got = over_opaque(mode, cb, cs, 1.0, fill);
                    for k in 0..4 {
                        assert!(close(got[k], want[k]), "{mode:?} fill {fill}");
                    }
                }
            }
        }
    }

    fn all_modes() -> Vec<BlendMode> {
        let keys: [&[u8; 4]; 28] = [
            b"pass", b"norm", b"diss", b"dark", b"mul ", b"idiv", b"lbrn", b"dkCl", b"lite",
            b"scrn", b"div ", b"lddg", b"lgCl", b"over", b"sLit", b"hLit", b"vLit", b"lLit",
            b"pLit", b"hMix", b"diff", b"smud", b"fsub", b"fdiv", b"hue ", b"sat ", b"colr",
            b"lum ",
        ];
        keys.iter()
            .map(|k| BlendMode::from_key(k).unwrap())
            .collect()
    }

    /// Rough throughput check: `cargo test -p compositor --lib
    /// blend_throughput -- --ignored --nocapture` (the dev profile is
    /// optimised). Prints, asserts nothing.
    #[test]
    #[ignore]
    fn blend_throughput() {
        let n = 1 << 20;
        let sc: Vec<[f32; 4]> = (0..n)
            .map(|i| [(i % 251) as f32 / 250.0, 0.5, 0.25, 0.0])
            .collect();
        let sa: Vec<f32> = (0..n).map(|i| (i % 7) as f32 / 6.0).collect();
        for mode in [
            Normal, Multiply, Screen, SoftLight, VividLight, Hue, Luminosity,
        ] {
            let mut dc = vec![[0.4, 0.5, 0.6, 0.0]; n];
            let mut da = vec![1.0; n];
            let t = std::time::Instant::now();
            composite_span(mode, &mut dc, &mut da, &sc, &sa, 1.0, 1.0, None, 0, 0);
            let ns = t.elapsed().as_nanos() as f64 / n as f64;
            println!("{mode:?}: {ns:.2} ns/pixel (checksum {})", dc[n / 3][0]);
        }
    }
}
