//! Descriptor colour objects (the values under `Clr ` keys of fill layers,
//! effects, gradients) converted to working lanes.

use super::{ColorInfo, WorkingConverter};
use crate::psd::descriptor::Descriptor;
use crate::render::raster::Color;

/// Converts a descriptor colour to working-space lanes of the document
/// described by `info`.
///
/// Handles `RGBC` (`Rd  `/`Grn `/`Bl  ` 0..255, or `redFloat`/`greenFloat`/
/// `blueFloat` 0..1), `HSBC` (`H   ` degrees, `Strt`/`Brgh` percent),
/// `CMYC` (`Cyn `/`Mgnt`/`Ylw `/`Blck` percent ink), `Grsc` (`Gry ` percent
/// ink, 100 = black), `LbCl` (`Lmnc`, `A   `, `B   `) and book colours
/// (`BkCl`), which carry their colour either nested or as Lab/CMYK/RGB keys.
/// The component keys decide the model (the class ID only breaks ties), so
/// unusual classes with the usual keys still work. RGB and HSB values are
/// the document's own RGB in RGB documents and sRGB (Photoshop's default
/// RGB working space) elsewhere; see
/// [`WorkingConverter::document_rgb_to_lanes`].
///
/// Builds a [`WorkingConverter`] per call; use [`descriptor_color_with`] to
/// reuse one.
pub fn descriptor_color(desc: &Descriptor, info: &ColorInfo) -> Option<Color> {
    descriptor_color_with(desc, &WorkingConverter::cached(info))
}

/// [`descriptor_color`] with a prepared converter.
pub fn descriptor_color_with(desc: &Descriptor, conv: &WorkingConverter) -> Option<Color> {
    descriptor_color_at(desc, conv, 0)
}

/// Nesting guard: book colours nest one level; anything deeper is junk.
const MAX_NESTING: u32 = 4;

fn finite(v: Option<f64>) -> Option<f32> {
    v.filter(|v| v.is_finite()).map(|v| v as f32)
}

fn descriptor_color_at(desc: &Descriptor, conv: &WorkingConverter, depth: u32) -> Option<Color> {
    let f = |k: &str| finite(desc.f64(k));
    // RGB, float form first: newer files write both, the float form is the
    // precise one.
    if let (Some(r), Some(g), Some(b)) = (f("redFloat"), f("greenFloat"), f("blueFloat")) {
        return Some(conv.document_rgb_to_lanes([r, g, b]));
    }
    if let (Some(r), Some(g), Some(b)) = (f("Rd  "), f("Grn "), f("Bl  ")) {
        return Some(conv.document_rgb_to_lanes([r / 255.0, g / 255.0, b / 255.0]));
    }
    if let (Some(c), Some(m), Some(y), Some(k)) = (f("Cyn "), f("Mgnt"), f("Ylw "), f("Blck")) {
        return Some(conv.cmyk_ink_to_lanes([c / 100.0, m / 100.0, y / 100.0, k / 100.0]));
    }
    if let (Some(l), Some(a), Some(b)) = (f("Lmnc"), f("A   "), f("B   ")) {
        return Some(conv.lab_to_lanes([l, a, b]));
    }
    if let (Some(h), Some(s), Some(b)) = (f("H   "), f("Strt"), f("Brgh")) {
        let rgb = super::math::hsb_to_rgb(h, s / 100.0, b / 100.0);
        return Some(conv.document_rgb_to_lanes(rgb));
    }
    if let Some(g) = f("Gry ") {
        return Some(conv.gray_to_lanes(1.0 - g / 100.0));
    }
    if depth >= MAX_NESTING {
        return None;
    }
    // Book colours (and wrappers) keep the colour in a nested descriptor;
    // prefer the `Clr ` key, then any nested descriptor that converts.
    if let Some(inner) = desc.desc("Clr ") {
        if let Some(c) = descriptor_color_at(inner, conv, depth + 1) {
            return Some(c);
        }
    }
    desc.items
        .iter()
        .filter_map(|(_, v)| v.as_descriptor())
        .find_map(|d| descriptor_color_at(d, conv, depth + 1))
}
