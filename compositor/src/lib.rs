//! Photoshop template reading and compositing, with no I/O.
//!
//! The pipeline is parse -> document -> render:
//!
//! * [`psd`] reads the file format (PSD and PSB) into raw structures,
//! * [`doc`] builds the document model (layer tree, smart objects, text),
//! * [`render`] composites the tree the way Photoshop does,
//! * [`color`] converts the result to sRGB,
//! * [`inspect`] describes a template as JSON.
//!
//! Everything takes bytes and returns bytes or values, so the same code runs
//! natively, in the Spin component (wasm32-wasip2) and in the browser
//! (wasm32-unknown-unknown).

#![warn(missing_docs)]

pub mod color;
pub mod doc;
pub mod encode;
pub mod error;
pub mod inspect;
pub mod limits;
pub mod metrics;
pub mod mockup;
pub mod psd;
pub mod render;
pub mod request;
#[cfg(test)]
mod testing;

pub use doc::Document;
pub use error::{Error, Result};
pub use limits::Limits;

/// Parses a PSD or PSB file into a [`Document`].
pub fn open(bytes: &[u8], limits: &Limits) -> Result<Document> {
    let file = psd::parse(bytes, limits)?;
    doc::build::build(bytes, file, limits)
}

/// [`open`], calling `progress` with the fraction done (0 to 1, never
/// decreasing) as the file's pixel data is decoded, and 1 when the document
/// is built: a big PSB takes seconds in a browser.
pub fn open_with_progress(
    bytes: &[u8],
    limits: &Limits,
    progress: &mut dyn FnMut(f32),
) -> Result<Document> {
    let total = bytes.len().max(1) as f64;
    let mut done = 0f32;
    let file = psd::parse_with_progress(bytes, limits, &mut |offset| {
        // Decoding is most of the work; building the tree takes the rest.
        let f = (offset as f64 / total * 0.95).clamp(0.0, 0.95) as f32;
        if f > done {
            done = f;
            progress(f);
        }
    })?;
    let doc = doc::build::build(bytes, file, limits)?;
    progress(1.0);
    Ok(doc)
}

/// Re-composites a document from its layers and returns straight-alpha sRGB
/// RGBA8 pixels with the warnings met on the way.
pub fn composite_rgba8(doc: &Document, limits: &Limits) -> Result<(Vec<u8>, Vec<doc::Warning>)> {
    let c = render::composite::composite_document(doc, limits, &Default::default())?;
    let rgba = color::to_rgba8(&doc.color, &c.raster.color, &c.raster.alpha);
    Ok((rgba, c.warnings))
}
