//! Builds the [`Document`] from the raw file structures.

use crate::doc::Document;
use crate::error::Result;
use crate::limits::Limits;
use crate::psd::PsdFile;

/// Builds the document model.
pub fn build(bytes: &[u8], file: PsdFile<'_>, limits: &Limits) -> Result<Document> {
    let _ = (bytes, file, limits);
    todo!()
}
