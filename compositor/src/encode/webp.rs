//! Lossy WebP through libwebp (the reference encoder, built from source by
//! `libwebp-sys`), with the export resolution written as EXIF.
//!
//! Why libwebp and not a Rust encoder: `image`'s WebP encoder is lossless
//! only, and the pure-Rust lossy encoder measured 4x slower natively and
//! 4.5x slower in wasm (README, "Output encoders"). libwebp compiles for
//! native and, with clang and wasi-libc, for wasm32-wasip2; the browser
//! build (wasm32-unknown-unknown, no libc) has no WebP encoder and reports
//! that as an unsupported format (the web demo encodes with the canvas).
//!
//! libwebp writes a plain `RIFF/WEBP` file; to carry the resolution we
//! re-wrap its chunks in the extended (`VP8X`) layout with an `EXIF` chunk,
//! the place every WebP reader looks for XResolution/YResolution.

use crate::error::{Error, Result};
use libwebp_sys as sys;

/// libwebp's method (0 fastest .. 6 smallest). 4 is libwebp's default; 2
/// measured ~1.6x faster at the same quality for ~3% more bytes on renders
/// (README, "Output encoders"), a trade worth making on a request path.
const METHOD: i32 = 2;

/// Encodes straight-alpha RGBA8 pixels as lossy WebP at `quality` 1..=100.
/// A fully opaque image is encoded without an alpha plane; otherwise alpha
/// is kept losslessly. `dpi`, if any, is written as EXIF resolution.
pub fn encode_rgba8(
    rgba: &[u8],
    width: u32,
    height: u32,
    quality: u8,
    dpi: Option<u32>,
) -> Result<Vec<u8>> {
    super::check_rgba_len(rgba, width, height)?;
    // libwebp's own limit (WEBP_MAX_DIMENSION).
    if width == 0 || height == 0 || width > 16383 || height > 16383 {
        return Err(Error::unsupported(
            "WebP size",
            format!("{width}x{height} is outside WebP's 1..16383 pixels per side"),
        ));
    }
    let opaque = crate::render::raster::is_opaque(rgba);
    let bitstream = encode_raw(rgba, width, height, quality, opaque)?;
    match dpi {
        Some(dpi) => with_exif_resolution(&bitstream, width, height, dpi),
        None => Ok(bitstream),
    }
}

/// libwebp's `RIFF/WEBP` output for the pixels.
fn encode_raw(rgba: &[u8], width: u32, height: u32, quality: u8, opaque: bool) -> Result<Vec<u8>> {
    let fail = |what: &str| Error::Codec(format!("libwebp: {what}"));
    // SAFETY: every libwebp struct is initialised by its init function
    // before use; `rgba` outlives the import (which copies it), the picture
    // and writer are freed on every path, and the output is copied into a
    // Rust Vec before the writer's buffer is released.
    unsafe {
        let mut config = std::mem::MaybeUninit::<sys::WebPConfig>::uninit();
        if sys::WebPConfigInitInternal(
            config.as_mut_ptr(),
            sys::WebPPreset::WEBP_PRESET_DEFAULT,
            quality.clamp(1, 100) as f32,
            sys::WEBP_ENCODER_ABI_VERSION as i32,
        ) == 0
        {
            return Err(fail("config version mismatch"));
        }
        let mut config = config.assume_init();
        config.method = METHOD;
        // Natively, encode the alpha plane on a second thread alongside the
        // colour (libwebp is built with threads there; wasm has none).
        config.thread_level = cfg!(not(target_family = "wasm")) as i32;
        // Alpha stays lossless, without libwebp's predictive filter: on a
        // 1920 x 1920 transparent mockup it halved alpha encoding time
        // (303 -> 148 ms) for 2% more bytes.
        config.alpha_filtering = 0;
        if sys::WebPValidateConfig(&config) == 0 {
            return Err(fail("invalid config"));
        }

        let mut pic = std::mem::MaybeUninit::<sys::WebPPicture>::uninit();
        if sys::WebPPictureInitInternal(pic.as_mut_ptr(), sys::WEBP_ENCODER_ABI_VERSION as i32) == 0
        {
            return Err(fail("picture version mismatch"));
        }
        let mut pic = pic.assume_init();
        pic.use_argb = 0;
        pic.width = width as i32;
        pic.height = height as i32;
        let stride = width as i32 * 4;
        let imported = if opaque {
            sys::WebPPictureImportRGBX(&mut pic, rgba.as_ptr(), stride)
        } else {
            sys::WebPPictureImportRGBA(&mut pic, rgba.as_ptr(), stride)
        };
        if imported == 0 {
            sys::WebPPictureFree(&mut pic);
            return Err(fail("out of memory importing pixels"));
        }

        let mut writer = std::mem::MaybeUninit::<sys::WebPMemoryWriter>::uninit();
        sys::WebPMemoryWriterInit(writer.as_mut_ptr());
        let mut writer = writer.assume_init();
        pic.writer = Some(sys::WebPMemoryWrite);
        pic.custom_ptr = (&mut writer as *mut sys::WebPMemoryWriter).cast();
        let ok = sys::WebPEncode(&config, &mut pic);
        let code = pic.error_code;
        sys::WebPPictureFree(&mut pic);
        let out = if ok != 0 && !writer.mem.is_null() {
            Ok(std::slice::from_raw_parts(writer.mem, writer.size).to_vec())
        } else {
            Err(fail(&format!("encoding failed ({code:?})")))
        };
        sys::WebPMemoryWriterClear(&mut writer);
        out
    }
}

/// One RIFF chunk of a WebP file.
struct Chunk<'a> {
    fourcc: [u8; 4],
    data: &'a [u8],
}

/// Splits a `RIFF/WEBP` file into its chunks.
fn chunks(file: &[u8]) -> Result<Vec<Chunk<'_>>> {
    let bad = || Error::Codec("libwebp wrote an unexpected RIFF layout".into());
    if file.len() < 12 || &file[0..4] != b"RIFF" || &file[8..12] != b"WEBP" {
        return Err(bad());
    }
    let mut out = Vec::new();
    let mut pos = 12;
    while pos + 8 <= file.len() {
        let fourcc: [u8; 4] = file[pos..pos + 4].try_into().map_err(|_| bad())?;
        let len = u32::from_le_bytes(file[pos + 4..pos + 8].try_into().map_err(|_| bad())?);
        let start = pos + 8;
        let end = start.checked_add(len as usize).ok_or_else(bad)?;
        let data = file.get(start..end).ok_or_else(bad)?;
        out.push(Chunk { fourcc, data });
        pos = end + (len as usize & 1);
    }
    Ok(out)
}

/// Re-wraps a WebP file in the extended layout with an EXIF chunk holding
/// the resolution.
fn with_exif_resolution(file: &[u8], width: u32, height: u32, dpi: u32) -> Result<Vec<u8>> {
    const ALPHA: u8 = 0x10;
    const EXIF: u8 = 0x08;
    let parts = chunks(file)?;
    let mut flags = EXIF;
    let mut body: Vec<&Chunk> = Vec::new();
    for c in &parts {
        match &c.fourcc {
            // The extended header is rebuilt below; keep its alpha flag.
            b"VP8X" => flags |= c.data.first().copied().unwrap_or(0) & ALPHA,
            b"ALPH" => {
                flags |= ALPHA;
                body.push(c);
            }
            _ => body.push(c),
        }
    }
    let mut vp8x = [0u8; 10];
    vp8x[0] = flags;
    vp8x[4..7].copy_from_slice(&(width - 1).to_le_bytes()[..3]);
    vp8x[7..10].copy_from_slice(&(height - 1).to_le_bytes()[..3]);
    let exif = exif_resolution(dpi);

    let mut out = Vec::with_capacity(file.len() + 64);
    out.extend_from_slice(b"RIFF\0\0\0\0WEBP");
    let mut put = |fourcc: &[u8; 4], data: &[u8]| {
        out.extend_from_slice(fourcc);
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
        if data.len() % 2 == 1 {
            out.push(0);
        }
    };
    put(b"VP8X", &vp8x);
    for c in body {
        put(&c.fourcc, c.data);
    }
    put(b"EXIF", &exif);
    let riff_len = (out.len() - 8) as u32;
    out[4..8].copy_from_slice(&riff_len.to_le_bytes());
    Ok(out)
}

/// A minimal little-endian TIFF/EXIF block: XResolution, YResolution
/// (`dpi`/1) and ResolutionUnit (2 = inches).
fn exif_resolution(dpi: u32) -> Vec<u8> {
    const ENTRIES: u16 = 3;
    // Header (8) + entry count (2) + entries (12 each) + next IFD (4).
    let rationals_at = 8 + 2 + 12 * ENTRIES as u32 + 4;
    let mut t = Vec::with_capacity(rationals_at as usize + 16);
    t.extend_from_slice(b"II*\0");
    t.extend_from_slice(&8u32.to_le_bytes());
    t.extend_from_slice(&ENTRIES.to_le_bytes());
    let mut entry = |tag: u16, kind: u16, value: u32| {
        t.extend_from_slice(&tag.to_le_bytes());
        t.extend_from_slice(&kind.to_le_bytes());
        t.extend_from_slice(&1u32.to_le_bytes());
        t.extend_from_slice(&value.to_le_bytes());
    };
    const RATIONAL: u16 = 5;
    const SHORT: u16 = 3;
    entry(0x011A, RATIONAL, rationals_at);
    entry(0x011B, RATIONAL, rationals_at + 8);
    entry(0x0128, SHORT, 2);
    t.extend_from_slice(&0u32.to_le_bytes());
    for _ in 0..2 {
        t.extend_from_slice(&dpi.to_le_bytes());
        t.extend_from_slice(&1u32.to_le_bytes());
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smooth gradient with a soft-edged disc: photo-like content.
    fn sample(w: u32, h: u32, alpha: bool) -> Vec<u8> {
        let mut px = Vec::with_capacity((w * h * 4) as usize);
        for y in 0..h {
            for x in 0..w {
                let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
                let d = ((fx - 0.5).powi(2) + (fy - 0.5).powi(2)).sqrt();
                let a = if alpha {
                    ((0.45 - d) * 40.0).clamp(0.0, 1.0) * 255.0
                } else {
                    255.0
                };
                px.extend_from_slice(&[
                    (fx * 255.0) as u8,
                    (fy * 255.0) as u8,
                    ((1.0 - d) * 200.0) as u8,
                    a as u8,
                ]);
            }
        }
        px
    }

    fn decode(bytes: &[u8]) -> (Vec<u8>, u32, u32) {
        crate::encode::decode_image_rgba8(bytes, u64::MAX).expect("decodes")
    }

    #[test]
    fn lossy_output_decodes_close_to_the_input() {
        let (w, h) = (96, 64);
        let px = sample(w, h, false);
        let bytes = encode_rgba8(&px, w, h, 90, None).unwrap();
        assert_eq!(&bytes[12..16], b"VP8 ", "lossy bitstream, not VP8L");
        let (back, bw, bh) = decode(&bytes);
        assert_eq!((bw, bh), (w, h));
        let psnr = crate::metrics::psnr_premultiplied(&px, &back);
        assert!(psnr > 35.0, "q90 PSNR {psnr:.1} dB");
    }

    #[test]
    fn quality_trades_size() {
        let (w, h) = (128, 128);
        let px = sample(w, h, false);
        let small = encode_rgba8(&px, w, h, 10, None).unwrap().len();
        let large = encode_rgba8(&px, w, h, 95, None).unwrap().len();
        assert!(small < large, "q10 {small} bytes vs q95 {large} bytes");
    }

    #[test]
    fn alpha_is_kept() {
        let (w, h) = (64, 64);
        let px = sample(w, h, true);
        let bytes = encode_rgba8(&px, w, h, 80, Some(300)).unwrap();
        let (back, _, _) = decode(&bytes);
        // Alpha is lossless in libwebp's default configuration.
        let alpha_err = px
            .chunks_exact(4)
            .zip(back.chunks_exact(4))
            .map(|(a, b)| a[3].abs_diff(b[3]))
            .max()
            .unwrap();
        assert_eq!(alpha_err, 0);
        assert_eq!(back[3], 0, "corner is transparent");
    }

    #[test]
    fn resolution_is_written_as_exif() {
        let (w, h) = (33, 17);
        let px = sample(w, h, true);
        let bytes = encode_rgba8(&px, w, h, 75, Some(300)).unwrap();
        let parts = chunks(&bytes).unwrap();
        let names: Vec<&[u8; 4]> = parts.iter().map(|c| &c.fourcc).collect();
        assert_eq!(names, [b"VP8X", b"ALPH", b"VP8 ", b"EXIF"]);
        let vp8x = parts[0].data;
        assert_eq!(vp8x[0], 0x18, "alpha and EXIF flags");
        assert_eq!(u32::from_le_bytes([vp8x[4], vp8x[5], vp8x[6], 0]) + 1, w);
        assert_eq!(u32::from_le_bytes([vp8x[7], vp8x[8], vp8x[9], 0]) + 1, h);
        let riff = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
        assert_eq!(riff + 8, bytes.len());
        let exif = parts[3].data;
        let x_at = u32::from_le_bytes(exif[18..22].try_into().unwrap()) as usize;
        assert_eq!(
            u32::from_le_bytes(exif[x_at..x_at + 4].try_into().unwrap()),
            300
        );
        // Any WebP reader still decodes it.
        assert_eq!(decode(&bytes).1, w);
    }

    #[test]
    fn bad_sizes_are_errors() {
        assert!(encode_rgba8(&[0; 8], 1, 1, 75, None).is_err());
        assert!(encode_rgba8(&[], 0, 0, 75, None).is_err());
        let wide = vec![0u8; 16384 * 4];
        assert!(encode_rgba8(&wide, 16384, 1, 75, None).is_err());
    }
}
