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

pub mod color;
pub mod doc;
pub mod error;
pub mod inspect;
pub mod limits;
pub mod psd;
pub mod render;

pub use doc::Document;
pub use error::{Error, Result};
pub use limits::Limits;

/// Parses a PSD or PSB file into a [`Document`].
pub fn open(bytes: &[u8], limits: &Limits) -> Result<Document> {
    let file = psd::parse(bytes, limits)?;
    doc::build::build(bytes, file, limits)
}
