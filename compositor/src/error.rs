//! The one error type of the compositor.
//!
//! Every failure on untrusted input is a typed [`Error`] with enough context
//! to tell a user what is wrong with their file; nothing in the crate panics
//! on bad input.

use std::fmt;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while reading or rendering a document.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The file ended before a structure was complete.
    #[error("file is truncated: {context} needs {needed} bytes at offset {offset}, only {available} remain")]
    Truncated {
        /// What was being read.
        context: &'static str,
        /// Byte offset in the file.
        offset: u64,
        /// Bytes needed.
        needed: u64,
        /// Bytes left.
        available: u64,
    },
    /// A structure holds a value the format does not allow.
    #[error("invalid {what}: {detail}")]
    Invalid {
        /// The structure or field.
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// The file is valid but uses something this build cannot read.
    #[error("unsupported {what}: {detail}")]
    Unsupported {
        /// The feature.
        what: &'static str,
        /// Which variant.
        detail: String,
    },
    /// A configured [`crate::Limits`] value would be exceeded.
    #[error("{what} is {actual}, over the limit of {limit}")]
    LimitExceeded {
        /// The limited quantity.
        what: &'static str,
        /// The value found in the input.
        actual: u64,
        /// The configured limit.
        limit: u64,
    },
    /// Compressed data could not be decompressed.
    #[error("corrupt compressed data in {context}: {detail}")]
    Decompress {
        /// Where the data was.
        context: &'static str,
        /// Decoder message.
        detail: String,
    },
    /// An image could not be encoded or decoded.
    #[error("image codec error: {0}")]
    Codec(String),
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(what: &'static str, detail: impl fmt::Display) -> Self {
        Error::Invalid {
            what,
            detail: detail.to_string(),
        }
    }

    /// Shorthand for [`Error::Unsupported`].
    pub fn unsupported(what: &'static str, detail: impl fmt::Display) -> Self {
        Error::Unsupported {
            what,
            detail: detail.to_string(),
        }
    }

    /// Returns `Err(LimitExceeded)` when `actual > limit`.
    pub fn check_limit(what: &'static str, actual: u64, limit: u64) -> Result<()> {
        if actual > limit {
            Err(Error::LimitExceeded {
                what,
                actual,
                limit,
            })
        } else {
            Ok(())
        }
    }
}
