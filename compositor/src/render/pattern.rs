//! Patterns stored in the document (`Patt`, `Pat2`, `Pat3`), used by pattern
//! fills and pattern overlays.
//!
//! Layout of the block: a sequence of pattern records, each a u32 length
//! (the record is padded to 4 bytes) holding: version (1), image mode
//! (u32, the header colour-mode numbers), height and width (i16), a Unicode
//! name, a Pascal-string ID, a 256-entry RGB table (+4 bytes) for indexed
//! patterns, and a virtual memory array list: version (3), length, bounds
//! (top, left, bottom, right), channel count `n`, then `n + 2` arrays
//! (colour channels first; the two extra ones are the user and sheet
//! masks). Each array: written flag, length, depth, bounds, depth again
//! (u16), compression (0 raw, 1 PackBits with a u16 byte count per row)
//! and the data.

use crate::color::{ColorInfo, ColorMode};
use crate::error::{Error, Result};
use crate::psd::reader::Reader;
use crate::render::raster::{Color, Raster, Rect};

/// One pattern tile.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    /// Pattern ID (referenced by fills and effects).
    pub id: String,
    /// Pattern name.
    pub name: String,
    /// Tile pixels in the document's working space, rect at the origin.
    pub tile: Raster,
}

/// Largest pattern tile accepted (pixels). Real patterns are small; this
/// bounds what a hostile RLE stream can make us allocate.
const MAX_TILE_PIXELS: u64 = 64 << 20;

/// Parses the patterns in a global `Patt`/`Pat2`/`Pat3` block.
///
/// A malformed record is an error (the block lengths are self-consistent
/// in valid files); a pattern whose mode or depth is not supported is
/// skipped.
pub fn parse_patterns(data: &[u8], info: &ColorInfo) -> Result<Vec<Pattern>> {
    let mut r = Reader::new(data);
    let mut out = Vec::new();
    while r.remaining() >= 4 {
        let len = r.u32("pattern length")? as u64;
        if len == 0 {
            continue;
        }
        let mut rec = r.sub(len, "pattern record")?;
        // Records are padded to a multiple of 4 bytes.
        let pad = (4 - len % 4) % 4;
        r.skip(pad.min(r.remaining() as u64), "pattern padding")?;
        if let Some(p) = parse_pattern(&mut rec, info)? {
            out.push(p);
        }
    }
    Ok(out)
}

struct Channel<'a> {
    depth: u32,
    rect: (u32, u32, u32, u32),
    compression: u8,
    data: &'a [u8],
}

fn parse_pattern(r: &mut Reader<'_>, info: &ColorInfo) -> Result<Option<Pattern>> {
    let version = r.u32("pattern version")?;
    if version != 1 {
        return Err(Error::unsupported("pattern version", version));
    }
    let mode = r.u32("pattern mode")?;
    let _height = r.i16("pattern height")?;
    let _width = r.i16("pattern width")?;
    let name = r.unicode_string("pattern name")?;
    let id = r.pascal_string(1, "pattern id")?;
    let mut palette = Vec::new();
    if mode == 2 {
        let table = r.bytes(768, "pattern colour table")?;
        palette = table.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
        r.skip(4, "pattern colour table tail")?;
    }
    let vma_version = r.u32("pattern data version")?;
    if vma_version != 3 {
        return Err(Error::unsupported("pattern data version", vma_version));
    }
    let len = r.u32("pattern data length")?;
    let mut v = r.sub(len as u64, "pattern data")?;
    let top = v.u32("pattern bounds")?;
    let left = v.u32("pattern bounds")?;
    let bottom = v.u32("pattern bounds")?;
    let right = v.u32("pattern bounds")?;
    let count = v.u32("pattern channel count")?;
    let width = right.saturating_sub(left);
    let height = bottom.saturating_sub(top);
    if width == 0 || height == 0 {
        return Ok(None);
    }
    Error::check_limit(
        "pattern size",
        width as u64 * height as u64,
        MAX_TILE_PIXELS,
    )?;
    let mut channels: Vec<Option<Channel<'_>>> = Vec::new();
    for _ in 0..count.saturating_add(2) {
        if v.remaining() < 4 {
            break;
        }
        if v.u32("pattern channel written")? == 0 {
            channels.push(None);
            continue;
        }
        let clen = v.u32("pattern channel length")?;
        if clen == 0 {
            channels.push(None);
            continue;
        }
        if clen < 23 {
            return Err(Error::invalid("pattern channel length", clen));
        }
        let mut c = v.sub(clen as u64, "pattern channel")?;
        let depth = c.u32("pattern channel depth")?;
        let rect = (
            c.u32("pattern channel bounds")?,
            c.u32("pattern channel bounds")?,
            c.u32("pattern channel bounds")?,
            c.u32("pattern channel bounds")?,
        );
        let _depth2 = c.u16("pattern channel depth")?;
        let compression = c.u8("pattern channel compression")?;
        let data = c.bytes(c.remaining() as u64, "pattern channel data")?;
        channels.push(Some(Channel {
            depth,
            rect,
            compression,
            data,
        }));
    }
    let ncolor = match mode {
        3 | 9 => 3,
        4 => 4,
        0 | 1 | 2 | 7 | 8 => 1,
        _ => return Ok(None),
    };
    let n = width as usize * height as usize;
    let mut planes: Vec<Vec<f32>> = Vec::with_capacity(ncolor);
    for k in 0..ncolor {
        match channels.get(k).and_then(|c| c.as_ref()) {
            Some(c) => planes.push(decode_channel(c, width, height)?),
            None => return Ok(None),
        }
    }
    // Transparency: the channel after the colour ones, else the user mask.
    let alpha = [ncolor, count as usize, count as usize + 1]
        .iter()
        .find_map(|&i| channels.get(i).and_then(|c| c.as_ref()))
        .map(|c| decode_channel(c, width, height))
        .transpose()?
        .unwrap_or_else(|| vec![1.0; n]);

    let doc = info.mode.unwrap_or(ColorMode::Rgb);
    // Gather each pixel in the pattern's own mode, then convert; the mode
    // match is hoisted out of the pixel loops.
    let gray = |i: usize| [planes[0][i], planes[0][i], planes[0][i], 0.0];
    let raw: Vec<[f32; 4]> = match mode {
        3 | 9 => (0..n)
            .map(|i| [planes[0][i], planes[1][i], planes[2][i], 0.0])
            .collect(),
        4 => (0..n)
            .map(|i| [planes[0][i], planes[1][i], planes[2][i], planes[3][i]])
            .collect(),
        2 => planes[0]
            .iter()
            .map(|&v| {
                let c = palette
                    .get((v * 255.0).round() as usize)
                    .copied()
                    .unwrap_or([0, 0, 0]);
                [
                    c[0] as f32 / 255.0,
                    c[1] as f32 / 255.0,
                    c[2] as f32 / 255.0,
                    0.0,
                ]
            })
            .collect(),
        _ => (0..n).map(gray).collect(),
    };
    // Indexed patterns are RGB once looked up.
    let source_mode = if mode == 2 { 3 } else { mode };
    let color: Vec<Color> = raw
        .into_iter()
        .map(|px| to_working(px, source_mode, doc))
        .collect();
    Ok(Some(Pattern {
        id,
        name,
        tile: Raster {
            rect: Rect::new(0, 0, width, height),
            color,
            alpha,
        },
    }))
}

/// Converts a pattern pixel (lanes in the pattern's own mode) to the
/// document's working space. Same-mode patterns pass through; mixed modes
/// use simple conversions (luma for gray, naive separation for CMYK).
fn to_working(px: Color, pattern_mode: u32, doc: ColorMode) -> Color {
    let is_cmyk = pattern_mode == 4;
    let rgb = if is_cmyk {
        [px[0] * px[3], px[1] * px[3], px[2] * px[3]]
    } else if pattern_mode == 9 {
        crate::render::adjust::lab_to_srgb(
            px[0] * 100.0,
            px[1] * 255.0 - 128.0,
            px[2] * 255.0 - 128.0,
        )
    } else {
        [px[0], px[1], px[2]]
    };
    match doc {
        ColorMode::Cmyk => {
            if is_cmyk {
                px
            } else {
                let k = rgb[0].max(rgb[1]).max(rgb[2]);
                if k <= 0.0 {
                    [1.0, 1.0, 1.0, 0.0]
                } else {
                    [rgb[0] / k, rgb[1] / k, rgb[2] / k, k]
                }
            }
        }
        ColorMode::Lab => {
            if pattern_mode == 9 {
                px
            } else {
                // No Lab conversion here: keep lightness-ish neutral values.
                let l = 0.3 * rgb[0] + 0.59 * rgb[1] + 0.11 * rgb[2];
                [l, 0.5, 0.5, 0.0]
            }
        }
        ColorMode::Grayscale | ColorMode::Duotone | ColorMode::Bitmap | ColorMode::Multichannel => {
            let g = 0.3 * rgb[0] + 0.59 * rgb[1] + 0.11 * rgb[2];
            [g, g, g, 0.0]
        }
        _ => [rgb[0], rgb[1], rgb[2], 0.0],
    }
}

/// Decodes one channel to 0..1 values, placed in the pattern's bounds.
fn decode_channel(c: &Channel<'_>, width: u32, height: u32) -> Result<Vec<f32>> {
    let (ct, cl, cb, cr) = c.rect;
    let cw = cr.saturating_sub(cl);
    let ch = cb.saturating_sub(ct);
    let n = width as usize * height as usize;
    // Real channels cover the whole tile; one that does not cannot justify
    // allocating the tile's size.
    if (cw as u64) * (ch as u64) < n as u64 {
        return Err(Error::invalid(
            "pattern channel",
            format!("{cw}x{ch} does not cover the {width}x{height} tile"),
        ));
    }
    Error::check_limit(
        "pattern channel size",
        cw as u64 * ch as u64,
        MAX_TILE_PIXELS,
    )?;
    let bpp: usize = match c.depth {
        1 => 0,
        8 => 1,
        16 => 2,
        32 => 4,
        d => return Err(Error::unsupported("pattern depth", d)),
    };
    let row_bytes = if bpp == 0 {
        (cw as usize).div_ceil(8)
    } else {
        cw as usize * bpp
    };
    let raw = match c.compression {
        0 => {
            let need = row_bytes * ch as usize;
            if c.data.len() < need {
                return Err(Error::Truncated {
                    context: "pattern channel pixels",
                    offset: 0,
                    needed: need as u64,
                    available: c.data.len() as u64,
                });
            }
            c.data[..need].to_vec()
        }
        1 => {
            // PackBits expands at most 128-fold (plus the row table): refuse
            // channels whose claimed size the data cannot produce, so a tiny
            // hostile block cannot make us allocate a huge tile.
            let claimed = row_bytes as u64 * ch as u64;
            if claimed > c.data.len() as u64 * 128 {
                return Err(Error::invalid(
                    "pattern channel",
                    format!("{claimed} bytes claimed from {} compressed", c.data.len()),
                ));
            }
            unpack_rle(c.data, row_bytes, ch as usize)?
        }
        m => return Err(Error::unsupported("pattern compression", m)),
    };
    // Allocated only now that the data is known to cover the channel.
    let mut out = vec![0.0f32; n];
    // The channel's own rect is relative to the pattern's; copy the
    // overlapping part.
    for y in 0..ch as usize {
        let ty = ct as usize + y;
        if ty >= height as usize {
            break;
        }
        let row = &raw[y * row_bytes..(y + 1) * row_bytes];
        for x in 0..cw as usize {
            let tx = cl as usize + x;
            if tx >= width as usize {
                break;
            }
            let v = match bpp {
                0 => {
                    // Bitmap: 1 = black.
                    if row[x / 8] & (0x80 >> (x % 8)) != 0 {
                        0.0
                    } else {
                        1.0
                    }
                }
                1 => row[x] as f32 / 255.0,
                2 => u16::from_be_bytes([row[2 * x], row[2 * x + 1]]) as f32 / 65535.0,
                _ => {
                    f32::from_be_bytes([row[4 * x], row[4 * x + 1], row[4 * x + 2], row[4 * x + 3]])
                }
            };
            out[ty * width as usize + tx] = v;
        }
    }
    Ok(out)
}

/// PackBits with a table of u16 compressed row lengths in front.
fn unpack_rle(data: &[u8], row_bytes: usize, rows: usize) -> Result<Vec<u8>> {
    let mut r = Reader::new(data);
    let mut lens = Vec::with_capacity(rows.min(data.len() / 2));
    for _ in 0..rows {
        lens.push(r.u16("pattern RLE row length")? as u64);
    }
    let mut out = Vec::with_capacity(row_bytes * rows);
    for len in lens {
        let src = r.bytes(len, "pattern RLE row")?;
        let start = out.len();
        packbits(src, &mut out, row_bytes)?;
        // Short rows are padded so the image stays rectangular.
        out.resize(start + row_bytes, 0);
    }
    Ok(out)
}

/// Decodes one PackBits row into `out`, producing at most `limit` bytes.
fn packbits(src: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<()> {
    let start = out.len();
    let mut i = 0;
    while i < src.len() && out.len() - start < limit {
        let n = src[i] as i8;
        i += 1;
        if n >= 0 {
            let count = n as usize + 1;
            let end = i + count;
            let Some(lit) = src.get(i..end) else {
                return Err(Error::Decompress {
                    context: "pattern RLE",
                    detail: "literal run past the end of the row".into(),
                });
            };
            out.extend_from_slice(lit);
            i = end;
        } else if n != -128 {
            let count = 1 - n as isize;
            let Some(&b) = src.get(i) else {
                return Err(Error::Decompress {
                    context: "pattern RLE",
                    detail: "repeat run without a byte".into(),
                });
            };
            i += 1;
            out.extend(std::iter::repeat_n(b, count as usize));
        }
    }
    out.truncate(start + limit);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(mode: ColorMode) -> ColorInfo {
        ColorInfo {
            mode: Some(mode),
            depth: 8,
            ..Default::default()
        }
    }

    fn channel(w: u32, h: u32, compression: u8, data: &[u8]) -> Vec<u8> {
        let mut v = 1u32.to_be_bytes().to_vec();
        v.extend((23 + data.len() as u32).to_be_bytes());
        v.extend(8u32.to_be_bytes());
        for x in [0u32, 0, h, w] {
            v.extend(x.to_be_bytes());
        }
        v.extend(8u16.to_be_bytes());
        v.push(compression);
        v.extend(data);
        v
    }

    /// A 2x2 RGB pattern: red channel raw, green RLE, blue raw; no masks.
    fn block() -> Vec<u8> {
        let mut rec = 1u32.to_be_bytes().to_vec();
        rec.extend(3u32.to_be_bytes());
        rec.extend(2i16.to_be_bytes());
        rec.extend(2i16.to_be_bytes());
        // Name "P" (with NUL).
        rec.extend(2u32.to_be_bytes());
        rec.extend([0, b'P', 0, 0]);
        // ID "ab".
        rec.extend([2, b'a', b'b']);
        let mut vma = Vec::new();
        for x in [0u32, 0, 2, 2] {
            vma.extend(x.to_be_bytes());
        }
        vma.extend(24u32.to_be_bytes());
        vma.extend(channel(2, 2, 0, &[255, 0, 0, 255]));
        // RLE rows: row 0 = repeat 2 x 128 (0xff, 128); row 1 = literal [1, 2].
        let mut rle = Vec::new();
        rle.extend(2u16.to_be_bytes());
        rle.extend(3u16.to_be_bytes());
        rle.extend([0xff, 128, 1, 1, 2]);
        vma.extend(channel(2, 2, 1, &rle));
        vma.extend(channel(2, 2, 0, &[0, 0, 0, 51]));
        for _ in 3..26 {
            vma.extend(0u32.to_be_bytes());
        }
        rec.extend(3u32.to_be_bytes());
        rec.extend((vma.len() as u32).to_be_bytes());
        rec.extend(vma);
        let mut out = (rec.len() as u32).to_be_bytes().to_vec();
        let pad = (4 - rec.len() % 4) % 4;
        out.extend(rec);
        out.extend(std::iter::repeat_n(0, pad));
        out
    }

    #[test]
    fn parses_hand_built_rgb_pattern() {
        let mut data = block();
        data.extend(block());
        let p = parse_patterns(&data, &info(ColorMode::Rgb)).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].id, "ab");
        assert_eq!(p[0].name, "P");
        assert_eq!(p[0].tile.rect, Rect::new(0, 0, 2, 2));
        let c = &p[0].tile.color;
        assert_eq!(c[0], [1.0, 128.0 / 255.0, 0.0, 0.0]);
        assert_eq!(c[2], [0.0, 1.0 / 255.0, 0.0, 0.0]);
        assert_eq!(c[3], [1.0, 2.0 / 255.0, 0.2, 0.0]);
        assert_eq!(p[0].tile.alpha, vec![1.0; 4]);
    }

    #[test]
    fn converts_to_gray_documents() {
        let p = parse_patterns(&block(), &info(ColorMode::Grayscale)).unwrap();
        let c = p[0].tile.color[0];
        let g = 0.3 + 0.59 * 128.0 / 255.0;
        assert!((c[0] - g).abs() < 1e-6 && c[0] == c[1]);
    }

    #[test]
    fn truncated_and_hostile_blocks_fail_cleanly() {
        let data = block();
        for cut in [3, 10, 40, data.len() - 30] {
            let _ = parse_patterns(&data[..cut], &info(ColorMode::Rgb));
        }
        let mut bad = block();
        // Make the first channel claim a huge RLE-free size.
        let pos = bad.len() / 2;
        bad[pos] ^= 0xff;
        let _ = parse_patterns(&bad, &info(ColorMode::Rgb));
    }

    #[test]
    fn implausible_rle_size_is_refused() {
        // A 4000x4000 channel claimed from a few bytes of RLE.
        let c = Channel {
            depth: 8,
            rect: (0, 0, 4000, 4000),
            compression: 1,
            data: &[0, 0, 0, 0],
        };
        assert!(decode_channel(&c, 4000, 4000).is_err());
    }

    #[test]
    fn packbits_runs() {
        let mut out = Vec::new();
        packbits(&[0xfe, 7, 1, 8, 9], &mut out, 5).unwrap();
        assert_eq!(out, [7, 7, 7, 8, 9]);
        let mut out = Vec::new();
        assert!(packbits(&[5, 1], &mut out, 6).is_err());
    }

    #[test]
    fn real_fixture_patterns() {
        let path = "../../shared/fixtures/psd/psd-tools/patterns.psd";
        let Ok(file) = std::fs::read(path) else {
            println!("skipping: {path} missing");
            return;
        };
        // Find the global Patt block by its signature and key.
        let Some(pos) = file.windows(8).position(|w| w == b"8BIMPatt") else {
            println!("skipping: no Patt block");
            return;
        };
        let len = u32::from_be_bytes(file[pos + 8..pos + 12].try_into().unwrap()) as usize;
        let data = &file[pos + 12..pos + 12 + len];
        let p = parse_patterns(data, &info(ColorMode::Rgb)).unwrap();
        assert!(p.len() >= 5, "{}", p.len());
        let mums = &p[0];
        assert_eq!(mums.tile.rect.width(), 265);
        assert_eq!(mums.tile.rect.height(), 219);
        assert_eq!(mums.id, "b2fdfd29-de85-11d5-838b-ff55e75fb875");
        let grid = p.iter().find(|p| p.tile.rect.width() == 8).unwrap();
        assert_eq!(grid.tile.color.len(), 64);
    }
}
