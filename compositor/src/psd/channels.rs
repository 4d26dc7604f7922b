//! Channel image data: raw, RLE (PackBits), ZIP and ZIP with prediction.
//!
//! Every output size is computed from the header and the layer bounds and
//! charged to a per-document [`Budget`] before anything is allocated, and
//! decompression stops at that size, so a decompression bomb cannot grow
//! past the limits.

use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::psd::reader::Reader;
use crate::psd::{Budget, Header};
use crate::render::raster::Rect;

/// A decoded channel: samples row-major at `depth` bits, big-endian for 16
/// and 32 bits (32-bit samples are IEEE floats). 1-bit data is expanded to
/// 8-bit gray (0 black, 255 white) when decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    /// Channel ID: 0.. colour, -1 transparency, -2 user mask, -3 real mask.
    pub id: i16,
    /// Bounds of the samples.
    pub rect: Rect,
    /// Bits per sample of `data`: 8, 16 or 32.
    pub depth: u8,
    /// The samples; empty when the file stores none for this channel.
    pub data: Vec<u8>,
}

impl Channel {
    /// True when the channel holds a full set of samples.
    pub fn is_complete(&self) -> bool {
        !self.rect.is_empty()
            && self.data.len() as u64 == self.rect.area() * (self.depth as u64 / 8)
    }

    /// Sample `i` as 0..1 (32-bit values pass through unclamped).
    #[inline]
    pub fn sample(&self, i: usize) -> f32 {
        match self.depth {
            8 => self.data[i] as f32 * (1.0 / 255.0),
            16 => {
                u16::from_be_bytes([self.data[2 * i], self.data[2 * i + 1]]) as f32
                    * (1.0 / 65535.0)
            }
            _ => f32::from_be_bytes([
                self.data[4 * i],
                self.data[4 * i + 1],
                self.data[4 * i + 2],
                self.data[4 * i + 3],
            ]),
        }
    }

    /// Writes `out.len()` samples starting at sample index `start` as 0..1.
    /// The caller keeps `start + out.len()` within the channel.
    pub fn row_into(&self, start: usize, out: &mut [f32]) {
        let n = out.len();
        match self.depth {
            8 => {
                for (o, &b) in out.iter_mut().zip(&self.data[start..start + n]) {
                    *o = b as f32 * (1.0 / 255.0);
                }
            }
            16 => {
                for (o, c) in out
                    .iter_mut()
                    .zip(self.data[2 * start..2 * (start + n)].chunks_exact(2))
                {
                    *o = u16::from_be_bytes([c[0], c[1]]) as f32 * (1.0 / 65535.0);
                }
            }
            _ => {
                for (o, c) in out
                    .iter_mut()
                    .zip(self.data[4 * start..4 * (start + n)].chunks_exact(4))
                {
                    *o = f32::from_be_bytes([c[0], c[1], c[2], c[3]]);
                }
            }
        }
    }

    /// Writes every sample as 0..1 into `out` (which must hold `rect.area()`).
    pub fn samples_into(&self, out: &mut [f32]) {
        match self.depth {
            8 => {
                for (o, &b) in out.iter_mut().zip(&self.data) {
                    *o = b as f32 * (1.0 / 255.0);
                }
            }
            16 => {
                for (o, c) in out.iter_mut().zip(self.data.chunks_exact(2)) {
                    *o = u16::from_be_bytes([c[0], c[1]]) as f32 * (1.0 / 65535.0);
                }
            }
            _ => {
                for (o, c) in out.iter_mut().zip(self.data.chunks_exact(4)) {
                    *o = f32::from_be_bytes([c[0], c[1], c[2], c[3]]);
                }
            }
        }
    }
}

/// Bytes in one row of `width` samples at `depth` bits as stored.
fn row_bytes(width: u32, depth: u8) -> u64 {
    if depth == 1 {
        (width as u64).div_ceil(8)
    } else {
        width as u64 * (depth as u64 / 8)
    }
}

/// Decodes one layer channel. `r` holds exactly the channel's data, starting
/// with its compression code.
pub fn decode_channel(
    r: &mut Reader<'_>,
    id: i16,
    rect: Rect,
    header: &Header,
    limits: &Limits,
    budget: &mut Budget<'_>,
) -> Result<Channel> {
    let depth = header.depth;
    let empty = Channel {
        id,
        rect,
        depth: depth.max(8),
        data: Vec::new(),
    };
    if r.remaining() < 2 || rect.is_empty() {
        return Ok(empty);
    }
    Error::check_limit("channel pixels", rect.area(), limits.max_layer_pixels)?;
    let compression = r.u16("channel compression")?;
    let (w, h) = (rect.width(), rect.height());
    let rb = row_bytes(w, depth);
    let stored = rb * h as u64;
    budget.take(stored, limits.max_decoded_bytes)?;
    let data = decode_rows(r, compression, w, h, depth, header.psb, "layer channel")?;
    Ok(Channel {
        id,
        rect,
        depth: depth.max(8),
        data: expand_bits(data, w, h, depth),
    })
}

/// Decodes the merged image section (all channels share one compression
/// code; RLE row counts for all channels come first).
pub fn decode_merged(
    r: &mut Reader<'_>,
    header: &Header,
    limits: &Limits,
    budget: &mut Budget<'_>,
) -> Result<Vec<Channel>> {
    let compression = r.u16("merged image compression")?;
    let (w, h, depth) = (header.width, header.height, header.depth);
    let rect = Rect::new(0, 0, w, h);
    let rb = row_bytes(w, depth);
    let n = header.channels as u64;
    budget.take(rb * h as u64 * n, limits.max_decoded_bytes)?;
    let mut out = Vec::with_capacity(n as usize);
    match compression {
        0 => {
            for id in 0..n {
                let data = r.bytes(rb * h as u64, "merged image data")?.to_vec();
                out.push(Channel {
                    id: id as i16,
                    rect,
                    depth: depth.max(8),
                    data: expand_bits(data, w, h, depth),
                });
                (budget.progress)(r.offset());
            }
        }
        1 => {
            let counts = read_rle_counts(r, h as u64 * n, header.psb)?;
            for (id, rows) in counts.chunks(h as usize).enumerate() {
                let data = unpack_rows(r, rows, rb, "merged image data")?;
                out.push(Channel {
                    id: id as i16,
                    rect,
                    depth: depth.max(8),
                    data: expand_bits(data, w, h, depth),
                });
                (budget.progress)(r.offset());
            }
        }
        2 | 3 => {
            let plane = rb * h as u64;
            let all = inflate(r.rest().bytes_all(), plane * n, "merged image data")?;
            for id in 0..n as usize {
                let start = id * plane as usize;
                let mut data = all
                    .get(start..start + plane as usize)
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default();
                data.resize(plane as usize, 0);
                if compression == 3 {
                    unpredict(&mut data, w, h, depth);
                }
                out.push(Channel {
                    id: id as i16,
                    rect,
                    depth: depth.max(8),
                    data: expand_bits(data, w, h, depth),
                });
            }
        }
        c => {
            return Err(Error::invalid(
                "merged image compression",
                format!("{c}, expected 0 to 3"),
            ))
        }
    }
    Ok(out)
}

impl<'a> Reader<'a> {
    /// Every remaining byte.
    pub fn bytes_all(&mut self) -> &'a [u8] {
        let n = self.remaining() as u64;
        self.bytes(n, "data").unwrap_or(&[])
    }
}

fn decode_rows(
    r: &mut Reader<'_>,
    compression: u16,
    w: u32,
    h: u32,
    depth: u8,
    psb: bool,
    ctx: &'static str,
) -> Result<Vec<u8>> {
    let rb = row_bytes(w, depth);
    let total = rb * h as u64;
    match compression {
        0 => {
            // Some writers store fewer bytes than the bounds need: pad with
            // zeros (transparent) rather than reject the whole file.
            let n = total.min(r.remaining() as u64);
            let mut data = r.bytes(n, ctx)?.to_vec();
            data.resize(total as usize, 0);
            Ok(data)
        }
        1 => {
            let counts = read_rle_counts(r, h as u64, psb)?;
            unpack_rows(r, &counts, rb, ctx)
        }
        2 | 3 => {
            let mut data = inflate(r.bytes_all(), total, ctx)?;
            data.resize(total as usize, 0);
            if compression == 3 {
                unpredict(&mut data, w, h, depth);
            }
            Ok(data)
        }
        c => Err(Error::invalid(
            "channel compression",
            format!("{c}, expected 0 to 3"),
        )),
    }
}

fn read_rle_counts(r: &mut Reader<'_>, rows: u64, psb: bool) -> Result<Vec<u32>> {
    let size = if psb { 4 } else { 2 };
    let bytes = r.bytes(rows * size, "RLE row byte counts")?;
    Ok(if psb {
        bytes
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    } else {
        bytes
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]) as u32)
            .collect()
    })
}

fn unpack_rows(
    r: &mut Reader<'_>,
    counts: &[u32],
    row_bytes: u64,
    ctx: &'static str,
) -> Result<Vec<u8>> {
    let rb = row_bytes as usize;
    let mut out = Vec::with_capacity(rb * counts.len());
    for &count in counts {
        // Grown (and zeroed) a row at a time, so the zeroing stays in cache
        // just before the row is decoded over it, instead of a separate
        // pass over the whole channel. A short file keeps the rows decoded
        // so far; missing rows stay 0.
        let start = out.len();
        out.resize(start + rb, 0);
        let n = (count as u64).min(r.remaining() as u64);
        let packed = r.bytes(n, ctx)?;
        unpack_bits(packed, &mut out[start..]);
    }
    Ok(out)
}

/// PackBits: decodes `src` into `dst`, stopping at whichever ends first;
/// when `src` ends first, the rest of `dst` is set to 0. Over-long runs
/// (seen in files written by GIMP) are cut at the row end.
pub fn unpack_bits(src: &[u8], dst: &mut [u8]) {
    let (mut i, mut o) = (0usize, 0usize);
    // Fast path while a whole packet (header + up to 128 bytes) fits in
    // both buffers: copy or fill a fixed 128 bytes, which compiles to a few
    // vector moves instead of a `memcpy`/`memset` call per packet (runs are
    // short in typical files). Bytes written past the packet are
    // overwritten by the packets that follow, or by the slow path below.
    const PACKET: usize = 128;
    while i + 1 + PACKET <= src.len() && o + PACKET <= dst.len() {
        let n = src[i] as i8;
        if n >= 0 {
            let len = n as usize + 1;
            dst[o..o + PACKET].copy_from_slice(&src[i + 1..i + 1 + PACKET]);
            i += 1 + len;
            o += len;
        } else if n != -128 {
            let len = (1 - n as isize) as usize;
            dst[o..o + PACKET].fill(src[i + 1]);
            i += 2;
            o += len;
        } else {
            i += 1;
        }
    }
    while i < src.len() && o < dst.len() {
        let n = src[i] as i8;
        i += 1;
        if n >= 0 {
            let len = n as usize + 1;
            let take = len.min(src.len() - i).min(dst.len() - o);
            dst[o..o + take].copy_from_slice(&src[i..i + take]);
            i += len;
            o += take;
        } else if n != -128 {
            let len = (1 - n as isize) as usize;
            let Some(&v) = src.get(i) else { break };
            i += 1;
            let take = len.min(dst.len() - o);
            dst[o..o + take].fill(v);
            o += take;
        }
    }
    // The fast path may have written past the last packet.
    let end = o.min(dst.len());
    dst[end..].fill(0);
}

/// Inflates zlib data, refusing to produce more than `limit` bytes.
fn inflate(src: &[u8], limit: u64, ctx: &'static str) -> Result<Vec<u8>> {
    use miniz_oxide::inflate::{decompress_to_vec_zlib_with_limit, TINFLStatus};
    match decompress_to_vec_zlib_with_limit(src, limit as usize) {
        Ok(v) => Ok(v),
        // More data than the bounds need: keep what fits.
        Err(e) if e.status == TINFLStatus::HasMoreOutput => Ok(e.output),
        Err(e) => Err(Error::Decompress {
            context: ctx,
            detail: format!("{:?}", e.status),
        }),
    }
}

/// Undoes ZIP prediction: per-row deltas of 8- or 16-bit samples; for 32-bit
/// samples, a byte delta over the row whose bytes are stored as four planes
/// (all high bytes, then the next, ...).
fn unpredict(data: &mut [u8], w: u32, h: u32, depth: u8) {
    let w = w as usize;
    match depth {
        8 => {
            for row in data.chunks_exact_mut(w).take(h as usize) {
                for i in 1..row.len() {
                    row[i] = row[i].wrapping_add(row[i - 1]);
                }
            }
        }
        16 => {
            for row in data.chunks_exact_mut(w * 2).take(h as usize) {
                let mut prev = 0u16;
                for c in row.chunks_exact_mut(2) {
                    let v = u16::from_be_bytes([c[0], c[1]]).wrapping_add(prev);
                    c.copy_from_slice(&v.to_be_bytes());
                    prev = v;
                }
            }
        }
        32 => {
            let mut tmp = vec![0u8; w * 4];
            for row in data.chunks_exact_mut(w * 4).take(h as usize) {
                for i in 1..row.len() {
                    row[i] = row[i].wrapping_add(row[i - 1]);
                }
                for x in 0..w {
                    for b in 0..4 {
                        tmp[x * 4 + b] = row[b * w + x];
                    }
                }
                row.copy_from_slice(&tmp);
            }
        }
        _ => {}
    }
}

/// Expands 1-bit rows (1 = black) to 8-bit gray; other depths pass through.
fn expand_bits(data: Vec<u8>, w: u32, h: u32, depth: u8) -> Vec<u8> {
    if depth != 1 {
        return data;
    }
    let rb = row_bytes(w, 1) as usize;
    let mut out = Vec::with_capacity(w as usize * h as usize);
    for row in data.chunks_exact(rb).take(h as usize) {
        for x in 0..w as usize {
            let bit = (row[x / 8] >> (7 - (x % 8))) & 1;
            out.push(if bit == 1 { 0 } else { 255 });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plain PackBits decoder (push by push) to check the fast one.
    fn unpack_reference(src: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < src.len() {
            let h = src[i] as i8;
            i += 1;
            if h >= 0 {
                for _ in 0..=h {
                    if let Some(&b) = src.get(i) {
                        out.push(b);
                    }
                    i += 1;
                }
            } else if h != -128 {
                if let Some(&b) = src.get(i) {
                    out.extend(std::iter::repeat_n(b, (1 - h as i32) as usize));
                }
                i += 1;
            }
        }
        out
    }

    #[test]
    fn packbits_fast_path_matches_plain_decoding() {
        // Random packet streams (literals, runs, no-op headers, cut short
        // or over-long) into rows shorter, equal and longer than the data.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for case in 0..300 {
            let mut src = Vec::new();
            for _ in 0..next() % 40 {
                match next() % 5 {
                    0 => src.push(0x80),
                    1 | 2 => {
                        let n = (next() % 128) as u8;
                        src.push(n);
                        src.extend((0..=n).map(|_| next() as u8));
                    }
                    _ => {
                        src.push((next() % 127 + 129) as u8);
                        src.push(next() as u8);
                    }
                }
            }
            if case % 7 == 0 {
                src.truncate(src.len() * 2 / 3);
            }
            let decoded = unpack_reference(&src);
            let full = decoded.len();
            for n in [full / 2, full, full + 300] {
                let mut dst = vec![0xAA; n];
                unpack_bits(&src, &mut dst);
                let mut expected = decoded.clone();
                expected.resize(n, 0);
                assert_eq!(dst, expected, "case {case}, {n} bytes");
            }
        }
    }

    #[test]
    fn packbits_literal_and_run() {
        let src = [2, 1, 2, 3, 0xfe, 9]; // literal 3 bytes, then run of 3 nines
        let mut dst = [0u8; 6];
        unpack_bits(&src, &mut dst);
        assert_eq!(dst, [1, 2, 3, 9, 9, 9]);
    }

    #[test]
    fn packbits_overflow_is_cut_and_short_is_zero_filled() {
        let mut dst = [0u8; 4];
        unpack_bits(&[0x81, 7], &mut dst); // a run of 128 into 4 bytes
        assert_eq!(dst, [7; 4]);
        let mut dst = [5u8; 4];
        dst.fill(0);
        unpack_bits(&[1, 3], &mut dst); // literal of 2 with only 1 byte present
        assert_eq!(dst, [3, 0, 0, 0]);
    }

    #[test]
    fn prediction_16_bit() {
        let mut data = vec![0, 1, 0, 1, 0xff, 0xff];
        unpredict(&mut data, 3, 1, 16);
        assert_eq!(data, vec![0, 1, 0, 2, 0, 1]);
    }

    #[test]
    fn prediction_32_bit_planes() {
        // Two samples 1.0f32 (3f800000) and 2.0f32 (40000000), stored as byte
        // planes [3f,40][80,00][00,00][00,00], then delta-encoded.
        let planes = [0x3fu8, 0x40, 0x80, 0x00, 0, 0, 0, 0];
        let mut enc = planes;
        for i in (1..enc.len()).rev() {
            enc[i] = enc[i].wrapping_sub(planes[i - 1]);
        }
        let mut data = enc.to_vec();
        unpredict(&mut data, 2, 1, 32);
        assert_eq!(data, [0x3f, 0x80, 0, 0, 0x40, 0, 0, 0]);
    }

    #[test]
    fn inflate_stops_at_limit() {
        let big = vec![0u8; 1 << 20];
        let z = miniz_oxide::deflate::compress_to_vec_zlib(&big, 6);
        let out = inflate(&z, 1000, "t").unwrap();
        assert_eq!(out.len(), 1000);
        assert!(inflate(&[1, 2, 3], 10, "t").is_err());
    }

    #[test]
    fn bits_expand_to_gray() {
        assert_eq!(expand_bits(vec![0b1010_0000], 3, 1, 1), vec![0, 255, 0]);
    }
}
