//! Fill layers (solid colour, gradient, pattern).

use crate::error::Result;
use crate::render::raster::{Raster, Rect};
use crate::render::Context;

/// Tagged-block keys of fill layers.
pub const FILL_KEYS: &[&[u8; 4]] = &[b"SoCo", b"GdFl", b"PtFl"];

/// A parsed fill.
#[derive(Debug, Clone, PartialEq)]
pub struct Fill {
    /// The block key it came from.
    pub key: [u8; 4],
}

impl Fill {
    /// Short machine name, e.g. `solid_color`.
    pub fn name(&self) -> &'static str {
        "unknown"
    }
}

/// Parses a fill block (`SoCo`, `GdFl`, `PtFl`).
pub fn parse(key: &[u8; 4], data: &[u8], max_depth: u32) -> Result<Option<Fill>> {
    let _ = (data, max_depth);
    Ok(FILL_KEYS.contains(&key).then_some(Fill { key: *key }))
}

/// Renders the fill over `rect` (opaque; masks are applied by the caller).
/// `None` when this fill is not implemented (the caller warns).
pub fn render(fill: &Fill, rect: Rect, ctx: &Context<'_>) -> Option<Raster> {
    let _ = (fill, rect, ctx);
    None
}
