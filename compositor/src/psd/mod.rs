//! The PSD/PSB file format: raw structures as stored.

pub mod descriptor;
pub mod reader;

use crate::error::Result;
use crate::limits::Limits;

/// A parsed file, borrowing from its bytes.
#[derive(Debug)]
pub struct PsdFile<'a> {
    /// Raw bytes.
    pub data: &'a [u8],
}

/// Parses the file structure.
pub fn parse<'a>(bytes: &'a [u8], limits: &Limits) -> Result<PsdFile<'a>> {
    let _ = limits;
    Ok(PsdFile { data: bytes })
}
