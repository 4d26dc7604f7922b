//! Image encoding and decoding of finished renders: PNG (lossless), JPEG
//! and lossy WebP, each with the export resolution in its metadata.

use crate::error::{Error, Result};

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub mod webp;

/// Refuses a buffer that is not `width * height` RGBA pixels.
fn check_rgba_len(rgba: &[u8], width: u32, height: u32) -> Result<()> {
    if rgba.len() as u64 != width as u64 * height as u64 * 4 {
        return Err(Error::Codec(format!(
            "{} bytes do not make a {width}x{height} RGBA image",
            rgba.len()
        )));
    }
    Ok(())
}

/// Encodes straight-alpha RGBA8 pixels as lossy WebP (see [`webp`]).
/// Builds without libwebp (the browser's wasm32-unknown-unknown) return
/// [`Error::Unsupported`].
pub fn webp_rgba8(
    rgba: &[u8],
    width: u32,
    height: u32,
    quality: u8,
    dpi: Option<u32>,
) -> Result<Vec<u8>> {
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    {
        webp::encode_rgba8(rgba, width, height, quality, dpi)
    }
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    {
        let _ = (rgba, width, height, quality, dpi);
        Err(Error::unsupported(
            "image format",
            "this build has no WebP encoder; use png or jpg",
        ))
    }
}

/// Encodes straight-alpha RGBA8 pixels as a baseline JPEG at `quality`
/// 1..=100 (4:2:0 below 100, 4:4:4 at 100), flattened over white (JPEG has
/// no alpha), with the resolution in the JFIF header.
pub fn jpeg_rgba8(
    rgba: &[u8],
    width: u32,
    height: u32,
    quality: u8,
    dpi: Option<u32>,
) -> Result<Vec<u8>> {
    check_rgba_len(rgba, width, height)?;
    let mut out = Vec::new();
    let quality = quality.clamp(1, 100);
    let mut enc = jpeg_encoder::Encoder::new(&mut out, quality);
    // Chroma at half resolution (4:2:0), the default of libjpeg, Pillow and
    // sharp, whatever the quality: 40% smaller files and a 30% faster encode
    // at the default quality 95, with no visible change on photographic
    // mockups. Quality 100 keeps full-resolution chroma for crisp coloured
    // edges.
    enc.set_sampling_factor(if quality == 100 {
        jpeg_encoder::SamplingFactor::F_1_1
    } else {
        jpeg_encoder::SamplingFactor::F_2_2
    });
    if let Some(dpi) = dpi {
        let d = dpi.clamp(1, u16::MAX as u32) as u16;
        enc.set_density(jpeg_encoder::PixelDensity::dpi(d));
    }
    let (w, h) = (u16::try_from(width), u16::try_from(height));
    let (Ok(w), Ok(h)) = (w, h) else {
        return Err(Error::unsupported(
            "JPEG size",
            format!("{width}x{height} is over JPEG's 65535 pixels per side"),
        ));
    };
    if !cfg!(target_family = "wasm") && crate::render::raster::is_opaque(rgba) {
        // The usual opaque mockup goes to the encoder's own RGBA path, AVX2
        // natively, which skips the alpha.
        enc.encode(rgba, w, h, jpeg_encoder::ColorType::Rgba)
    } else {
        // In wasm, where that path runs scalar, every picture goes row by
        // row through our converter, which flattens a row only if it is not
        // opaque, while it is in cache: no whole-picture opacity scan (~2 ms
        // of a 5.5-megapixel export in wasm) and no flattened copy.
        enc.encode_image(RgbaRows {
            rgba,
            width: w,
            height: h,
        })
    }
    .map_err(|e| Error::Codec(e.to_string()))?;
    Ok(out)
}

/// Straight-alpha RGBA8 rows for `jpeg-encoder`, flattened over white when
/// a row is not opaque, then converted to YCbCr with the crate's own
/// integer formula ([`jpeg_encoder::rgb_to_ycbcr`]) in one pass per row
/// that the compiler vectorises. Used in wasm, where the crate's own RGBA
/// path (AVX2 natively) runs scalar. Gives the same file as the native
/// paths (tests below).
struct RgbaRows<'a> {
    rgba: &'a [u8],
    width: u16,
    height: u16,
}

impl jpeg_encoder::ImageBuffer for RgbaRows<'_> {
    fn get_jpeg_color_type(&self) -> jpeg_encoder::JpegColorType {
        jpeg_encoder::JpegColorType::Ycbcr
    }

    fn width(&self) -> u16 {
        self.width
    }

    fn height(&self) -> u16 {
        self.height
    }

    fn fill_buffers(&self, y: u16, buffers: &mut [Vec<u8>; 4]) {
        let w = self.width as usize;
        let start = y as usize * w * 4;
        let Some(row) = self.rgba.get(start..start + w * 4) else {
            return;
        };
        // Flattening keeps an opaque pixel as it is: an opaque row (the
        // usual case) is converted where it lies.
        let flat;
        let row = if crate::render::raster::is_opaque(row) {
            row
        } else {
            flat = row
                .chunks_exact(4)
                .flat_map(|p| {
                    let over = |c| crate::metrics::over_white(c, p[3]);
                    [over(p[0]), over(p[1]), over(p[2]), 255]
                })
                .collect::<Vec<u8>>();
            &flat
        };
        let [luma, blue, red, _] = buffers;
        let at = |b: &mut Vec<u8>| {
            let n = b.len();
            b.resize(n + w, 0);
            n
        };
        let (l0, b0, r0) = (at(luma), at(blue), at(red));
        let pixels = row.chunks_exact(4);
        let out = luma[l0..]
            .iter_mut()
            .zip(&mut blue[b0..])
            .zip(&mut red[r0..]);
        for (p, ((l, cb), cr)) in pixels.zip(out) {
            let (r, g, b) = (p[0] as i32, p[1] as i32, p[2] as i32);
            *l = ((19595 * r + 38470 * g + 7471 * b + 0x7FFF) >> 16) as u8;
            *cb = ((-11059 * r - 21709 * g + 32768 * b + (128 << 16) + 0x7FFF) >> 16) as u8;
            *cr = ((32768 * r - 27439 * g - 5329 * b + (128 << 16) + 0x7FFF) >> 16) as u8;
        }
    }
}

/// Encodes straight-alpha RGBA8 pixels as a PNG.
pub fn png_rgba8(rgba: &[u8], width: u32, height: u32) -> Result<Vec<u8>> {
    png_rgba8_dpi(rgba, width, height, None)
}

/// [`png_rgba8`] with the resolution recorded in a `pHYs` chunk.
pub fn png_rgba8_dpi(rgba: &[u8], width: u32, height: u32, dpi: Option<u32>) -> Result<Vec<u8>> {
    check_rgba_len(rgba, width, height)?;
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        // Fast settings: renders are written often and read once.
        enc.set_compression(png::Compression::Fast);
        if let Some(dpi) = dpi {
            // pHYs counts pixels per metre.
            let ppm = (dpi as f64 / 0.0254).round() as u32;
            enc.set_pixel_dims(Some(png::PixelDimensions {
                xppu: ppm,
                yppu: ppm,
                unit: png::Unit::Meter,
            }));
        }
        let mut w = enc
            .write_header()
            .map_err(|e| Error::Codec(e.to_string()))?;
        w.write_image_data(rgba)
            .map_err(|e| Error::Codec(e.to_string()))?;
    }
    Ok(out)
}

/// Decodes a PNG to straight-alpha RGBA8, returning (pixels, width, height).
/// Refuses images over `max_pixels` before decoding them.
pub fn decode_png_rgba8(bytes: &[u8], max_pixels: u64) -> Result<(Vec<u8>, u32, u32)> {
    let mut dec = png::Decoder::new(std::io::Cursor::new(bytes));
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = dec.read_info().map_err(|e| Error::Codec(e.to_string()))?;
    let (w, h) = (reader.info().width, reader.info().height);
    Error::check_limit("image pixels", w as u64 * h as u64, max_pixels)?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| Error::Codec("image too large".into()))?;
    let mut buf = vec![0; size];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| Error::Codec(e.to_string()))?;
    buf.truncate(info.buffer_size());
    let n = w as usize * h as usize;
    let rgba = match info.color_type {
        png::ColorType::Rgba => buf,
        png::ColorType::Rgb => buf
            .chunks_exact(3)
            .flat_map(|c| [c[0], c[1], c[2], 255])
            .collect(),
        png::ColorType::GrayscaleAlpha => buf
            .chunks_exact(2)
            .flat_map(|c| [c[0], c[0], c[0], c[1]])
            .collect(),
        png::ColorType::Grayscale => buf.iter().flat_map(|&g| [g, g, g, 255]).collect(),
        png::ColorType::Indexed => return Err(Error::Codec("indexed PNG was not expanded".into())),
    };
    if rgba.len() != n * 4 {
        return Err(Error::Codec("unexpected PNG buffer size".into()));
    }
    Ok((rgba, w, h))
}

/// Decoded 8-bit pixels, as the file holds them where that is cheap: RGB8
/// for an opaque colour image (most PNG and every colour JPEG artwork),
/// straight-alpha RGBA8 otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pixels8 {
    /// Rows of `channels` bytes per pixel, top to bottom.
    pub data: Vec<u8>,
    /// 3 (RGB) or 4 (RGBA).
    pub channels: usize,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Pixels8 {
    /// The pixels as straight-alpha RGBA8.
    pub fn into_rgba8(self) -> Vec<u8> {
        if self.channels == 4 {
            return self.data;
        }
        self.data
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect()
    }
}

/// Decodes a PNG, JPEG, WebP or GIF (first frame) to RGB8 or RGBA8
/// ([`Pixels8`]). The size is read from the header and checked against
/// `max_pixels` before any pixel is decoded.
pub fn decode_image8(bytes: &[u8], max_pixels: u64) -> Result<Pixels8> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return decode_png8(bytes, max_pixels);
    }
    decode_with_image(bytes, max_pixels)
}

/// The most memory a PNG's decoder may allocate: `image`'s default, which
/// PNGs were decoded with before they had their own path.
const PNG_MAX_ALLOC: usize = 512 << 20;

/// A PNG through the `png` crate directly, as `image` decodes it (the same
/// expansion of palettes, transparency chunks and low bit depths, the same
/// rounding of 16-bit samples; tested against it), but checking the pixel
/// data by the zlib stream's Adler-32 (SIMD in wasm too) instead of by the
/// chunk CRCs: `crc32fast` has no SIMD in wasm, where the CRCs took ~2.5 ms
/// of a 2-megapixel artwork. The stream is read to its end for that check,
/// so a file cut after its last pixel is an error too.
fn decode_png8(bytes: &[u8], max_pixels: u64) -> Result<Pixels8> {
    let codec = |e: png::DecodingError| Error::Codec(format!("PNG: {e}"));
    let mut options = png::DecodeOptions::default();
    options.set_ignore_crc(true);
    // (`png` skips it by default.)
    options.set_ignore_adler32(false);
    let mut decoder = png::Decoder::new_with_options(std::io::Cursor::new(bytes), options);
    decoder.set_limits(png::Limits {
        bytes: PNG_MAX_ALLOC,
    });
    let header = decoder.read_header_info().map_err(codec)?;
    let (width, height) = (header.width, header.height);
    Error::check_limit("image pixels", width as u64 * height as u64, max_pixels)?;
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().map_err(codec)?;
    let size = reader
        .output_buffer_size()
        .filter(|&n| n <= PNG_MAX_ALLOC)
        .ok_or_else(|| Error::Codec("PNG: the image is too large to decode".into()))?;
    let mut buf = vec![0u8; size];
    reader.next_frame(&mut buf).map_err(codec)?;
    // The rest of the stream, to its Adler-32 (`next_frame` stops at the
    // last pixel).
    reader.finish().map_err(codec)?;
    let (color, depth) = reader.output_color_type();
    // 16-bit samples are big-endian, rounded to 8 bits as `image` rounds
    // them; EXPAND leaves no depth below 8.
    let sixteen = depth == png::BitDepth::Sixteen;
    let samples: Vec<u8> = if sixteen {
        buf.chunks_exact(2)
            .map(|c| ((u32::from(u16::from_be_bytes([c[0], c[1]])) + 128) / 257) as u8)
            .collect()
    } else {
        buf
    };
    let (data, channels) = match color {
        // RGB8 stays three channels, as `image` gives it; RGB16 does not.
        png::ColorType::Rgb if !sixteen => (samples, 3),
        png::ColorType::Rgba => (samples, 4),
        png::ColorType::Rgb => (
            samples
                .chunks_exact(3)
                .flat_map(|p| [p[0], p[1], p[2], 255])
                .collect(),
            4,
        ),
        png::ColorType::Grayscale => (samples.iter().flat_map(|&l| [l, l, l, 255]).collect(), 4),
        png::ColorType::GrayscaleAlpha => (
            samples
                .chunks_exact(2)
                .flat_map(|p| [p[0], p[0], p[0], p[1]])
                .collect(),
            4,
        ),
        // EXPAND turns palettes into RGB or RGBA.
        png::ColorType::Indexed => {
            return Err(Error::Codec("PNG: an unexpanded palette".into()));
        }
    };
    Ok(Pixels8 {
        data,
        channels,
        width,
        height,
    })
}

/// Any format `image` reads (PNGs too, for the tests that hold
/// [`decode_png8`] to it).
fn decode_with_image(bytes: &[u8], max_pixels: u64) -> Result<Pixels8> {
    use image::ImageDecoder;
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Error::Codec(e.to_string()))?;
    let decoder = reader
        .into_decoder()
        .map_err(|e| Error::Codec(e.to_string()))?;
    let (width, height) = decoder.dimensions();
    Error::check_limit("image pixels", width as u64 * height as u64, max_pixels)?;
    let img =
        image::DynamicImage::from_decoder(decoder).map_err(|e| Error::Codec(e.to_string()))?;
    let (data, channels) = match img {
        image::DynamicImage::ImageRgb8(px) => (px.into_raw(), 3),
        other => (other.into_rgba8().into_raw(), 4),
    };
    Ok(Pixels8 {
        data,
        channels,
        width,
        height,
    })
}

/// Decodes a PNG, JPEG, WebP or GIF (first frame) to straight-alpha RGBA8,
/// returning (pixels, width, height), with the checks of [`decode_image8`].
pub fn decode_image_rgba8(bytes: &[u8], max_pixels: u64) -> Result<(Vec<u8>, u32, u32)> {
    let px = decode_image8(bytes, max_pixels)?;
    let (w, h) = (px.width, px.height);
    Ok((px.into_rgba8(), w, h))
}

#[cfg(test)]
mod tests {

    /// A `w` x `h` PNG of `color` at `depth` from raw (packed, big-endian)
    /// sample bytes.
    fn png_of(
        w: u32,
        h: u32,
        color: png::ColorType,
        depth: png::BitDepth,
        palette: Option<(&[u8], &[u8])>,
        trns: Option<&[u8]>,
        data: &[u8],
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(color);
        enc.set_depth(depth);
        if let Some((plte, alpha)) = palette {
            enc.set_palette(plte.to_vec());
            enc.set_trns(alpha.to_vec());
        }
        if let Some(t) = trns {
            enc.set_trns(t.to_vec());
        }
        let mut writer = enc.write_header().unwrap();
        writer.write_image_data(data).unwrap();
        writer.finish().unwrap();
        out
    }

    /// Every PNG colour type and depth decodes as `image` decodes it.
    #[test]
    fn pngs_decode_as_image_decodes_them() {
        use png::{BitDepth as D, ColorType as C};
        let (w, h) = (7u32, 5u32);
        let bytes = |n: usize| -> Vec<u8> { (0..n).map(|i| (i * 37 % 251) as u8).collect() };
        let px = (w * h) as usize;
        // Rows of packed low-depth samples are padded to whole bytes.
        let packed = |bits: usize| bytes((w as usize * bits).div_ceil(8) * h as usize);
        let plte: Vec<u8> = (0..16u8)
            .flat_map(|i| [i * 16, 255 - i * 16, i * 7])
            .collect();
        let alpha: Vec<u8> = (0..16u8).map(|i| i * 17).collect();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            (
                "gray8",
                png_of(w, h, C::Grayscale, D::Eight, None, None, &bytes(px)),
            ),
            (
                "gray8 trns",
                png_of(
                    w,
                    h,
                    C::Grayscale,
                    D::Eight,
                    None,
                    Some(&[0, 74]),
                    &bytes(px),
                ),
            ),
            (
                "gray16",
                png_of(w, h, C::Grayscale, D::Sixteen, None, None, &bytes(px * 2)),
            ),
            (
                "gray1",
                png_of(w, h, C::Grayscale, D::One, None, None, &packed(1)),
            ),
            (
                "gray2",
                png_of(w, h, C::Grayscale, D::Two, None, None, &packed(2)),
            ),
            (
                "gray4",
                png_of(w, h, C::Grayscale, D::Four, None, None, &packed(4)),
            ),
            (
                "graya8",
                png_of(
                    w,
                    h,
                    C::GrayscaleAlpha,
                    D::Eight,
                    None,
                    None,
                    &bytes(px * 2),
                ),
            ),
            (
                "graya16",
                png_of(
                    w,
                    h,
                    C::GrayscaleAlpha,
                    D::Sixteen,
                    None,
                    None,
                    &bytes(px * 4),
                ),
            ),
            (
                "rgb8",
                png_of(w, h, C::Rgb, D::Eight, None, None, &bytes(px * 3)),
            ),
            (
                "rgb8 trns",
                png_of(
                    w,
                    h,
                    C::Rgb,
                    D::Eight,
                    None,
                    Some(&[0, 37, 0, 74, 0, 111]),
                    &bytes(px * 3),
                ),
            ),
            (
                "rgb16",
                png_of(w, h, C::Rgb, D::Sixteen, None, None, &bytes(px * 6)),
            ),
            (
                "rgba8",
                png_of(w, h, C::Rgba, D::Eight, None, None, &bytes(px * 4)),
            ),
            (
                "rgba16",
                png_of(w, h, C::Rgba, D::Sixteen, None, None, &bytes(px * 8)),
            ),
            (
                "palette4",
                png_of(
                    w,
                    h,
                    C::Indexed,
                    D::Four,
                    Some((&plte, &alpha)),
                    None,
                    &packed(4),
                ),
            ),
            (
                "palette8",
                png_of(
                    w,
                    h,
                    C::Indexed,
                    D::Eight,
                    Some((&plte, &alpha[..7])),
                    None,
                    &bytes(px).iter().map(|b| b % 16).collect::<Vec<_>>(),
                ),
            ),
        ];
        for (name, file) in cases {
            let ours = super::decode_png8(&file, 1 << 20).unwrap();
            let theirs = super::decode_with_image(&file, 1 << 20).unwrap();
            assert_eq!(
                (ours.width, ours.height, ours.channels),
                (theirs.width, theirs.height, theirs.channels),
                "{name}"
            );
            assert!(ours.data == theirs.data, "{name}");
        }
    }

    /// A chunk CRC that does not match is not an error; damaged pixel data
    /// (the zlib stream and its Adler-32) and a pixel count over the limit
    /// are.
    #[test]
    fn png_checks_the_pixel_data_not_the_chunk_crcs() {
        let rgba: Vec<u8> = (0..16 * 16 * 4).map(|i| (i % 255) as u8).collect();
        let file = super::png_rgba8(&rgba, 16, 16).unwrap();
        let idat = file.windows(4).position(|w| w == b"IDAT").unwrap() - 4;
        let len = u32::from_be_bytes(file[idat..idat + 4].try_into().unwrap()) as usize;
        let crc = idat + 8 + len;

        let mut bad_crc = file.clone();
        bad_crc[crc] ^= 0xff;
        let px = super::decode_image8(&bad_crc, 1 << 20).unwrap();
        assert_eq!(px.data, rgba);

        let mut bad_data = file.clone();
        // The zlib stream's last byte: part of its Adler-32.
        bad_data[crc - 1] ^= 0xff;
        assert!(super::decode_image8(&bad_data, 1 << 20).is_err());

        let over = super::decode_image8(&file, 255).unwrap_err();
        assert!(
            matches!(over, super::Error::LimitExceeded { .. }),
            "{over:?}"
        );
    }

    /// The JPEG encoder's bytes are pinned by reference files, which the
    /// browser build checks too (`web-demo/tests/browser.rs`): wasm takes
    /// other code paths (the simd128 DCT and coefficient mask patched into
    /// `vendor/jpeg-encoder`, our row converter for opaque pictures) and
    /// must give the same file as native, so the service's JPEG is the
    /// offline render's. `MOCKUP_BLESS=1` rewrites them.
    #[test]
    fn jpeg_bytes_match_the_reference_files() {
        // The references are the AVX2 DCT's rounding, which wasm reproduces;
        // the encoder's scalar DCT (no AVX2) rounds differently.
        #[cfg(target_arch = "x86_64")]
        let avx2 = std::is_x86_feature_detected!("avx2");
        #[cfg(not(target_arch = "x86_64"))]
        let avx2 = false;
        if !avx2 {
            eprintln!("skipped: the JPEG reference files need an AVX2 host");
            return;
        }
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/jpeg");
        let png = std::fs::read(format!("{dir}/input.png")).unwrap();
        let (rgba, w, h) = super::decode_image_rgba8(&png, 1 << 20).unwrap();
        let opaque: Vec<u8> = rgba
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect();
        for (name, px, quality) in [
            ("q90.jpg", &rgba, 90),
            ("q100.jpg", &rgba, 100),
            ("opaque-q90.jpg", &opaque, 90),
        ] {
            let got = super::jpeg_rgba8(px, w, h, quality, None).unwrap();
            let path = format!("{dir}/{name}");
            if std::env::var_os("MOCKUP_BLESS").is_some_and(|v| v == "1") {
                std::fs::write(&path, &got).unwrap();
            }
            let want = std::fs::read(&path).unwrap();
            assert!(
                got == want,
                "{name}: {} bytes, the reference has {}",
                got.len(),
                want.len()
            );
        }
    }

    #[test]
    fn rgba_rows_encode_as_the_crates_own_rgba_path() {
        // The wasm build's row converter gives the same file as the
        // encoder's own RGBA input (AVX2 or scalar here).
        // Odd and even sizes, multiples of the 16-pixel block and not: the
        // last row and column are repeated into the bottom and right blocks.
        for (w, h) in [
            (75u16, 41u16),
            (64, 48),
            (33, 32),
            (16, 17),
            (20, 18),
            (31, 6),
            (1, 1),
            (2, 3),
        ] {
            let rgba: Vec<u8> = (0..w as u32 * h as u32)
                .flat_map(|i| [(i * 7) as u8, (i * 13 / 5) as u8, (i ^ 0x5a) as u8, 255])
                .collect();
            for sampling in [
                jpeg_encoder::SamplingFactor::F_2_2,
                jpeg_encoder::SamplingFactor::F_1_1,
            ] {
                let encode = |rows: bool| {
                    let mut out = Vec::new();
                    let mut enc = jpeg_encoder::Encoder::new(&mut out, 90);
                    enc.set_sampling_factor(sampling);
                    if rows {
                        enc.encode_image(RgbaRows {
                            rgba: &rgba,
                            width: w,
                            height: h,
                        })
                    } else {
                        enc.encode(&rgba, w, h, jpeg_encoder::ColorType::Rgba)
                    }
                    .unwrap();
                    out
                };
                assert!(encode(true) == encode(false), "{w}x{h} {sampling:?}");
            }
        }
    }

    use super::*;

    fn picture(alpha: u8) -> Vec<u8> {
        (0..64 * 48u32)
            .flat_map(|i| [(i % 64 * 4) as u8, (i / 64 * 5) as u8, 128, alpha])
            .collect()
    }

    /// The opaque fast path (RGBA straight to the encoder) writes exactly
    /// the file the flattening path would.
    #[test]
    fn opaque_jpeg_matches_the_flattened_encoding() {
        let rgba = picture(255);
        let ours = jpeg_rgba8(&rgba, 64, 48, 90, Some(72)).unwrap();
        let rgb: Vec<u8> = rgba
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        let mut want = Vec::new();
        let mut enc = jpeg_encoder::Encoder::new(&mut want, 90);
        enc.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
        enc.set_density(jpeg_encoder::PixelDensity::dpi(72));
        enc.encode(&rgb, 64, 48, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        assert_eq!(ours, want);
    }

    /// A picture with transparent rows, opaque rows and rows mixing both
    /// (the wasm path decides per row) gives the file of the flattened
    /// RGB, whichever path encodes it.
    #[test]
    fn transparent_rows_match_the_flattened_encoding() {
        let (w, h) = (64u16, 48u16);
        let rgba: Vec<u8> = (0..w as u32 * h as u32)
            .flat_map(|i| {
                let (x, y) = (i % w as u32, i / w as u32);
                let a = match y % 3 {
                    0 => 255,
                    1 => (x * 4) as u8,
                    _ => {
                        if x == 37 {
                            200
                        } else {
                            255
                        }
                    }
                };
                [(x * 4) as u8, (y * 5) as u8, (i ^ 0x5a) as u8, a]
            })
            .collect();
        let rgb: Vec<u8> = rgba
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]].map(|c| crate::metrics::over_white(c, p[3])))
            .collect();
        for quality in [90, 100] {
            let ours = jpeg_rgba8(&rgba, w as u32, h as u32, quality, None).unwrap();
            let mut want = Vec::new();
            let mut enc = jpeg_encoder::Encoder::new(&mut want, quality);
            enc.set_sampling_factor(if quality == 100 {
                jpeg_encoder::SamplingFactor::F_1_1
            } else {
                jpeg_encoder::SamplingFactor::F_2_2
            });
            enc.encode(&rgb, w, h, jpeg_encoder::ColorType::Rgb)
                .unwrap();
            assert!(ours == want, "quality {quality}");
        }
    }

    /// The luma sampling factor byte of a baseline JPEG's SOF0 segment:
    /// 0x22 for 4:2:0, 0x11 for 4:4:4.
    fn luma_sampling(jpg: &[u8]) -> u8 {
        let sof = jpg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        // marker(2) length(2) precision(1) height(2) width(2) count(1) id(1)
        jpg[sof + 11]
    }

    #[test]
    fn chroma_is_subsampled_below_quality_100() {
        let rgba = picture(255);
        let q95 = jpeg_rgba8(&rgba, 64, 48, 95, None).unwrap();
        let q100 = jpeg_rgba8(&rgba, 64, 48, 100, None).unwrap();
        assert_eq!(luma_sampling(&q95), 0x22);
        assert_eq!(luma_sampling(&q100), 0x11);
        // Still faithful on a smooth picture.
        let (px, _, _) = decode_image_rgba8(&q95, 1 << 20).unwrap();
        let psnr = crate::metrics::psnr_premultiplied(&rgba, &px);
        assert!(psnr > 35.0, "{psnr}");
    }

    /// A transparent picture is flattened over white.
    #[test]
    fn transparent_jpeg_is_white() {
        let jpg = jpeg_rgba8(&picture(0), 64, 48, 90, None).unwrap();
        let (px, w, h) = decode_image_rgba8(&jpg, 1 << 20).unwrap();
        assert_eq!((w, h), (64, 48));
        assert!(px.chunks_exact(4).all(|p| p[..3].iter().all(|&c| c >= 250)));
    }
}
