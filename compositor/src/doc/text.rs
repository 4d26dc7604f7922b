//! Text layers (`TySh`): the text, font, size and colour.

use crate::error::Result;

/// What a text layer says and how.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct TextLayer {
    /// The text.
    pub text: String,
    /// PostScript name of the first run's font.
    pub font: Option<String>,
    /// Font size in points of the first run (after the layer transform).
    pub size: Option<f64>,
    /// First run's fill colour as `#rrggbb`.
    pub color: Option<String>,
}

/// Parses a `TySh` block.
pub fn parse_tysh(data: &[u8], max_depth: u32) -> Result<TextLayer> {
    let _ = (data, max_depth);
    Ok(TextLayer::default())
}
