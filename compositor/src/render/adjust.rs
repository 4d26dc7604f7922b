//! Adjustment layers: parse their blocks and apply them to a backdrop.

use crate::color::ColorInfo;
use crate::error::Result;
use crate::render::raster::Color;

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
}

impl Adjustment {
    /// Short machine name, e.g. `levels`.
    pub fn name(&self) -> &'static str {
        "unknown"
    }
}

/// Parses an adjustment block. `Ok(None)` when the key is not an adjustment.
pub fn parse(key: &[u8; 4], data: &[u8], max_depth: u32) -> Result<Option<Adjustment>> {
    let _ = (data, max_depth);
    Ok(ADJUSTMENT_KEYS
        .contains(&key)
        .then_some(Adjustment { key: *key }))
}

/// Applies the adjustment to working-space colours in place. Returns false
/// when this adjustment is not implemented (the caller warns).
pub fn apply(adj: &Adjustment, color: &mut [Color], info: &ColorInfo) -> bool {
    let _ = (adj, color, info);
    false
}
