//! Explicit resource limits, checked before any allocation that depends on
//! untrusted input.

use serde::{Deserialize, Serialize};

/// Upper bounds on what a document may make the compositor allocate or walk.
///
/// The defaults admit every real mockup template we know of (PSB canvases up
/// to 16k x 16k) while keeping a hostile file from exhausting memory: a
/// 100 KB file cannot claim gigabytes, because every buffer size is checked
/// against these limits before it is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Largest accepted input file, in bytes.
    pub max_file_bytes: u64,
    /// Largest canvas, in pixels (width x height).
    pub max_canvas_pixels: u64,
    /// Largest side of a canvas or of one layer, in pixels.
    pub max_dimension: u32,
    /// Largest single layer, in pixels.
    pub max_layer_pixels: u64,
    /// Most layer records in one document (nested documents count apart).
    pub max_layers: u32,
    /// Deepest group nesting.
    pub max_group_depth: u32,
    /// Deepest descriptor nesting (descriptors inside lists inside descriptors).
    pub max_descriptor_depth: u32,
    /// Total decoded pixel bytes one document may hold (channels of all layers).
    pub max_decoded_bytes: u64,
    /// Deepest nesting of embedded documents (smart objects holding PSBs).
    pub max_embedded_depth: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 2 << 30,
            max_canvas_pixels: 120_000_000,
            max_dimension: 30_000,
            max_layer_pixels: 120_000_000,
            max_layers: 8_000,
            max_group_depth: 64,
            max_descriptor_depth: 32,
            max_decoded_bytes: 4 << 30,
            max_embedded_depth: 4,
        }
    }
}
