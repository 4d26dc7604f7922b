//! Rendering: turns a [`crate::doc::Document`] into pixels.
//!
//! Pipeline: [`composite`] walks the layer tree bottom to top; each layer's
//! pixels are masked ([`vector_mask`], layer masks), optionally generated
//! ([`fill`]) or replaced by an adjusted backdrop ([`adjust`]), given their
//! [`effects`], and blended ([`blend`]) into the group's buffer.

pub mod adjust;
pub mod artwork;
pub mod blend;
pub mod composite;
pub mod effects;
pub mod fill;
pub mod gradient;
pub mod mesh;
pub mod pattern;
pub mod place;
pub mod raster;
pub mod scale;
pub mod vector_mask;

use crate::color::ColorInfo;
use crate::limits::Limits;
use blend::BlendMode;
use pattern::Pattern;
use raster::{Plane, Raster, Rect};

/// Document-wide facts every render stage may need.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Colour mode, depth and profile.
    pub info: &'a ColorInfo,
    /// Patterns defined by the document.
    pub patterns: &'a [Pattern],
    /// The canvas rectangle (0, 0, width, height).
    pub canvas: Rect,
    /// Resource limits.
    pub limits: &'a Limits,
}

/// A document's colour facts and limits for tests that need a [`Context`].
#[cfg(test)]
pub(crate) struct TestDoc {
    pub info: ColorInfo,
    pub limits: Limits,
}

#[cfg(test)]
impl TestDoc {
    /// A document described by `info`, with default limits.
    pub fn new(info: ColorInfo) -> Self {
        TestDoc {
            info,
            limits: Limits::default(),
        }
    }

    /// The context of a `w` x `h` canvas with no patterns.
    pub fn ctx(&self, w: u32, h: u32) -> Context<'_> {
        Context {
            info: &self.info,
            patterns: &[],
            canvas: Rect::new(0, 0, w, h),
            limits: &self.limits,
        }
    }
}

/// Composites `src` onto `dst` over their intersection.
pub fn composite_raster(dst: &mut Raster, src: &Raster, mode: BlendMode, opacity: f32, fill: f32) {
    composite_raster_masked(dst, src, mode, opacity, fill, None);
}

/// Composites `src` onto `dst` over their intersection, with source alpha
/// also multiplied by `mask`.
pub fn composite_raster_masked(
    dst: &mut Raster,
    src: &Raster,
    mode: BlendMode,
    opacity: f32,
    fill: f32,
    mask: Option<&Plane>,
) {
    let r = dst.rect.intersect(&src.rect);
    if r.is_empty() {
        return;
    }
    let mut cov = Vec::new();
    for y in r.top..r.bottom {
        let (sc, sa) = src.span(y, r.left, r.right);
        let coverage = mask.map(|m| {
            cov.clear();
            cov.extend((r.left..r.right).map(|x| m.at(x, y)));
            cov.as_slice()
        });
        let (dc, da) = dst.span_mut(y, r.left, r.right);
        blend::composite_span(mode, dc, da, sc, sa, opacity, fill, coverage, r.left, y);
    }
}
