//! Vector masks (`vmsk` / `vsms`): path records rasterised to coverage.

use crate::error::Result;
use crate::render::raster::{Plane, Rect};

/// A parsed vector mask.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VectorMask {
    /// Mask is inverted.
    pub invert: bool,
    /// Mask is disabled.
    pub disabled: bool,
}

/// Parses a `vmsk`/`vsms` block.
pub fn parse(data: &[u8]) -> Result<VectorMask> {
    let _ = data;
    Ok(VectorMask::default())
}

/// Rasterises the mask over `rect` for a `doc_width` x `doc_height` canvas
/// (path coordinates are relative to the canvas). `None` when not supported.
pub fn rasterize(mask: &VectorMask, doc_width: u32, doc_height: u32, rect: Rect) -> Option<Plane> {
    let _ = (mask, doc_width, doc_height, rect);
    None
}
