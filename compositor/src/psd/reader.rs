//! A bounds-checked big-endian cursor over the file bytes.
//!
//! Every read checks the remaining length first and reports a
//! [`Error::Truncated`] naming the structure being read, so a cut-off or
//! hostile file can never make the parser index out of bounds.

use crate::error::{Error, Result};

/// Cursor over a byte slice. `base` is the slice's offset in the whole file,
/// kept so that error messages give absolute offsets.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    base: u64,
}

impl<'a> Reader<'a> {
    /// A reader over a whole file.
    pub fn new(data: &'a [u8]) -> Self {
        Reader {
            data,
            pos: 0,
            base: 0,
        }
    }

    /// Current position relative to this reader's start.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Absolute file offset of the current position.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// True when nothing is left.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    fn need(&self, n: u64, context: &'static str) -> Result<usize> {
        if n > self.remaining() as u64 {
            return Err(Error::Truncated {
                context,
                offset: self.offset(),
                needed: n,
                available: self.remaining() as u64,
            });
        }
        Ok(n as usize)
    }

    /// Takes `n` bytes.
    pub fn bytes(&mut self, n: u64, context: &'static str) -> Result<&'a [u8]> {
        let n = self.need(n, context)?;
        let out = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// Takes `n` bytes as a sub-reader (for length-prefixed sections).
    pub fn sub(&mut self, n: u64, context: &'static str) -> Result<Reader<'a>> {
        let base = self.offset();
        let data = self.bytes(n, context)?;
        Ok(Reader { data, pos: 0, base })
    }

    /// The unread rest of this reader as a sub-reader, leaving this one empty.
    pub fn rest(&mut self) -> Reader<'a> {
        let base = self.offset();
        let data = &self.data[self.pos..];
        self.pos = self.data.len();
        Reader { data, pos: 0, base }
    }

    /// Skips `n` bytes.
    pub fn skip(&mut self, n: u64, context: &'static str) -> Result<()> {
        self.bytes(n, context).map(|_| ())
    }

    /// Moves to `pos` (relative to this reader's start).
    pub fn seek(&mut self, pos: usize, context: &'static str) -> Result<()> {
        if pos > self.data.len() {
            return Err(Error::Truncated {
                context,
                offset: self.base + pos as u64,
                needed: 0,
                available: 0,
            });
        }
        self.pos = pos;
        Ok(())
    }

    /// Reads a fixed-size array.
    pub fn array<const N: usize>(&mut self, context: &'static str) -> Result<[u8; N]> {
        let b = self.bytes(N as u64, context)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    /// Reads one byte.
    pub fn u8(&mut self, context: &'static str) -> Result<u8> {
        Ok(self.array::<1>(context)?[0])
    }
    /// Reads a big-endian u16.
    pub fn u16(&mut self, context: &'static str) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array(context)?))
    }
    /// Reads a big-endian i16.
    pub fn i16(&mut self, context: &'static str) -> Result<i16> {
        Ok(i16::from_be_bytes(self.array(context)?))
    }
    /// Reads a big-endian u32.
    pub fn u32(&mut self, context: &'static str) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array(context)?))
    }
    /// Reads a big-endian i32.
    pub fn i32(&mut self, context: &'static str) -> Result<i32> {
        Ok(i32::from_be_bytes(self.array(context)?))
    }
    /// Reads a big-endian u64.
    pub fn u64(&mut self, context: &'static str) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array(context)?))
    }
    /// Reads a big-endian i64.
    pub fn i64(&mut self, context: &'static str) -> Result<i64> {
        Ok(i64::from_be_bytes(self.array(context)?))
    }
    /// Reads a big-endian IEEE double.
    pub fn f64(&mut self, context: &'static str) -> Result<f64> {
        Ok(f64::from_be_bytes(self.array(context)?))
    }
    /// Reads a big-endian IEEE single.
    pub fn f32(&mut self, context: &'static str) -> Result<f32> {
        Ok(f32::from_be_bytes(self.array(context)?))
    }

    /// Reads a length that is 4 bytes in PSD and 8 bytes in PSB.
    pub fn length(&mut self, psb: bool, context: &'static str) -> Result<u64> {
        if psb {
            self.u64(context)
        } else {
            Ok(self.u32(context)? as u64)
        }
    }

    /// Reads a Pascal string (length byte, bytes), padded so that the whole
    /// field is a multiple of `pad` bytes. Text is decoded as Latin-1 / Mac
    /// Roman approximated by Latin-1.
    pub fn pascal_string(&mut self, pad: usize, context: &'static str) -> Result<String> {
        let len = self.u8(context)? as usize;
        let bytes = self.bytes(len as u64, context)?;
        let total = 1 + len;
        let padded = total.div_ceil(pad) * pad;
        self.skip((padded - total) as u64, context)?;
        Ok(bytes.iter().map(|&b| b as char).collect())
    }

    /// Reads a Unicode string: u32 count of UTF-16 code units, then the units.
    /// A trailing NUL is dropped.
    pub fn unicode_string(&mut self, context: &'static str) -> Result<String> {
        let count = self.u32(context)? as u64;
        let bytes = self.bytes(count * 2, context)?;
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        let mut s = String::from_utf16_lossy(&units);
        while s.ends_with('\0') {
            s.pop();
        }
        Ok(s)
    }

    /// Reads a descriptor key or class ID: u32 length, or 0 meaning a 4-byte
    /// code follows.
    pub fn id_string(&mut self, context: &'static str) -> Result<String> {
        let len = self.u32(context)?;
        let len = if len == 0 { 4 } else { len as u64 };
        let bytes = self.bytes(len, context)?;
        Ok(bytes.iter().map(|&b| b as char).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_read_names_the_structure() {
        let mut r = Reader::new(&[0, 1, 2]);
        assert_eq!(r.u16("a").unwrap(), 1);
        let err = r.u32("layer count").unwrap_err();
        assert!(matches!(
            err,
            Error::Truncated {
                context: "layer count",
                offset: 2,
                needed: 4,
                available: 1
            }
        ));
    }

    #[test]
    fn pascal_string_padding() {
        let mut r = Reader::new(&[3, b'a', b'b', b'c', 9]);
        assert_eq!(r.pascal_string(4, "name").unwrap(), "abc");
        assert_eq!(r.u8("x").unwrap(), 9);
        let mut r = Reader::new(&[0, 0, 7]);
        assert_eq!(r.pascal_string(2, "name").unwrap(), "");
        assert_eq!(r.u8("x").unwrap(), 7);
    }

    #[test]
    fn unicode_string_drops_nul() {
        let mut r = Reader::new(&[0, 0, 0, 3, 0, b'h', 0, b'i', 0, 0]);
        assert_eq!(r.unicode_string("s").unwrap(), "hi");
        assert!(r.is_empty());
    }
}
