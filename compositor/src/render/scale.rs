//! Scaling a finished RGBA8 picture to the export size.
//!
//! `fast_image_resize` does the work: a separable Catmull-Rom convolution on
//! alpha-premultiplied pixels (so transparent pixels' colour never bleeds
//! into edges), with SSE4.1/AVX2 natively and simd128 in wasm. It measured
//! ~10x faster than `image::imageops::resize` on the same filter (README,
//! "Speed"); the workspace vendors it with faster wasm kernels
//! (`vendor/fast_image_resize/PATCHES.md`). Its SIMD paths compute the same
//! integers as its scalar path, which the browser preview relies on for
//! pixel parity with the server: a test below checks that on this
//! machine's extensions, and reference files (`fixtures/scale/`) hold the
//! wasm build to the native pixels in Chromium.

use fast_image_resize as fir;

/// Scales straight-alpha RGBA8 pixels from `w` x `h` to `tw` x `th`. Returns
/// the input unchanged when the size is the same; an empty image for a zero
/// size or a buffer that does not match the size.
pub fn rgba8(rgba: Vec<u8>, w: u32, h: u32, tw: u32, th: u32) -> Vec<u8> {
    if (w, h) == (tw, th) {
        return rgba;
    }
    rgba8_with(&rgba, w, h, tw, th, None)
}

/// [`rgba8`] of borrowed pixels (a copy when the size is the same).
pub fn rgba8_ref(rgba: &[u8], w: u32, h: u32, tw: u32, th: u32) -> Vec<u8> {
    rgba8_with(rgba, w, h, tw, th, None)
}

/// [`rgba8`] with a chosen CPU extension (`None`: the best available).
fn rgba8_with(
    rgba: &[u8],
    w: u32,
    h: u32,
    tw: u32,
    th: u32,
    cpu: Option<fir::CpuExtensions>,
) -> Vec<u8> {
    if rgba.len() != w as usize * h as usize * 4 || tw == 0 || th == 0 {
        return Vec::new();
    }
    if (w, h) == (tw, th) {
        return rgba.to_vec();
    }
    // Premultiplying opaque pixels is the identity: skip it (measured ~7% of
    // a wasm render of an opaque 1920-px export).
    let alpha = !super::raster::is_opaque(rgba);
    let Ok(src) = fir::images::ImageRef::new(w, h, rgba, fir::PixelType::U8x4) else {
        return Vec::new();
    };
    let mut dst = fir::images::Image::new(tw, th, fir::PixelType::U8x4);
    let mut resizer = fir::Resizer::new();
    if let Some(cpu) = cpu.filter(|c| c.is_supported()) {
        // SAFETY: the CPU reports the extension.
        unsafe { resizer.set_cpu_extensions(cpu) };
    }
    let options = fir::ResizeOptions::new()
        .resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::CatmullRom))
        .use_alpha(alpha);
    match resizer.resize(&src, &mut dst, &options) {
        Ok(()) => dst.into_vec(),
        // Only a pixel-type mismatch can fail, and both are U8x4.
        Err(_) => Vec::new(),
    }
}

/// The part `part` (a rectangle of the `tw` x `th` result) of
/// [`rgba8`]`(rgba, w, h, tw, th)`, computed without the rest, through a
/// crop box that keeps each output pixel's filter window and scale. The
/// filter's coefficients are computed from the box's offset, so a few
/// pixels round a level or two away from the full result's (measured: 36 of
/// 83,250 pixels on a 320 -> 333 px scale, at most 2 levels); previews use
/// it for frames shown while an option is dragged. `alpha` says whether the whole picture has
/// transparency (premultiplication is chosen as for the full picture).
/// Empty on a bad size or part.
pub fn rgba8_part(
    rgba: &[u8],
    (w, h): (u32, u32),
    (tw, th): (u32, u32),
    part: super::raster::Rect,
    alpha: bool,
) -> Vec<u8> {
    let full = super::raster::Rect::new(0, 0, tw, th);
    if part.intersect(&full) != part || part.is_empty() || w == 0 || h == 0 {
        return Vec::new();
    }
    let Ok(src) = fir::images::ImageRef::new(w, h, rgba, fir::PixelType::U8x4) else {
        return Vec::new();
    };
    let (kx, ky) = (w as f64 / tw as f64, h as f64 / th as f64);
    let (left, top) = (part.left as f64 * kx, part.top as f64 * ky);
    // Rounding may put the box's far edge a hair past the picture.
    let width = (part.width() as f64 * kx).min(w as f64 - left);
    let height = (part.height() as f64 * ky).min(h as f64 - top);
    let mut dst = fir::images::Image::new(part.width(), part.height(), fir::PixelType::U8x4);
    let options = fir::ResizeOptions::new()
        .resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::CatmullRom))
        .use_alpha(alpha)
        .crop(left, top, width, height);
    match fir::Resizer::new().resize(&src, &mut dst, &options) {
        Ok(()) => dst.into_vec(),
        Err(_) => Vec::new(),
    }
}

/// The rectangle of a `w` x `h` -> `tw` x `th` scaling whose pixels can
/// depend on the source pixels in `changed`: Catmull-Rom reads two pixels
/// each way at the larger of the two scales, so the rectangle is grown by
/// that (plus rounding) on each side.
pub fn affected(
    changed: super::raster::Rect,
    (w, h): (u32, u32),
    (tw, th): (u32, u32),
) -> super::raster::Rect {
    let full = super::raster::Rect::new(0, 0, tw, th);
    if changed.is_empty() || w == 0 || h == 0 {
        return super::raster::Rect::default();
    }
    let (kx, ky) = (w as f64 / tw as f64, h as f64 / th as f64);
    // The filter's reach in output pixels, generously rounded.
    let reach = |k: f64| (2.0 * k.max(1.0) / k).ceil() as i32 + 2;
    super::raster::Rect {
        left: (changed.left as f64 / kx).floor() as i32 - reach(kx),
        top: (changed.top as f64 / ky).floor() as i32 - reach(ky),
        right: (changed.right as f64 / kx).ceil() as i32 + reach(kx),
        bottom: (changed.bottom as f64 / ky).ceil() as i32 + reach(ky),
    }
    .intersect(&full)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(w: u32, h: u32) -> Vec<u8> {
        (0..w * h)
            .flat_map(|i| {
                let (x, y) = (i % w, i / w);
                [
                    (x * 7 + y) as u8,
                    (y * 3) as u8,
                    (x ^ y) as u8,
                    if (x / 5 + y / 3) % 3 == 0 {
                        0
                    } else {
                        (x * 11) as u8
                    },
                ]
            })
            .collect()
    }

    #[test]
    fn same_size_is_untouched_and_bad_buffers_are_empty() {
        let px = sample(9, 4);
        assert_eq!(rgba8(px.clone(), 9, 4, 9, 4), px);
        assert!(rgba8(px.clone(), 9, 4, 0, 3).is_empty());
        assert!(rgba8(vec![0; 7], 9, 4, 5, 3).is_empty());
    }

    #[test]
    fn transparent_pixels_do_not_bleed() {
        // Opaque red next to transparent green: the edge stays red.
        let px: Vec<u8> = (0..64)
            .flat_map(|i| {
                if i % 8 < 4 {
                    [255, 0, 0, 255]
                } else {
                    [0, 255, 0, 0]
                }
            })
            .collect();
        let out = rgba8(px, 8, 8, 3, 3);
        for p in out.chunks_exact(4).filter(|p| p[3] > 0) {
            assert!(p[1] <= 1, "green bled into {p:?}");
        }
    }

    #[test]
    fn opaque_pictures_scale_as_with_premultiplication() {
        // Skipping premultiplication on opaque input changes no pixel.
        let mut px = sample(157, 93);
        px.iter_mut().skip(3).step_by(4).for_each(|a| *a = 255);
        let options = fir::ResizeOptions::new()
            .resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::CatmullRom))
            .use_alpha(true);
        for (tw, th) in [(61, 200), (314, 186), (40, 20)] {
            let src =
                fir::images::Image::from_vec_u8(157, 93, px.clone(), fir::PixelType::U8x4).unwrap();
            let mut dst = fir::images::Image::new(tw, th, fir::PixelType::U8x4);
            fir::Resizer::new()
                .resize(&src, &mut dst, &options)
                .unwrap();
            assert_eq!(
                rgba8(px.clone(), 157, 93, tw, th),
                dst.into_vec(),
                "{tw}x{th}"
            );
        }
    }

    #[test]
    fn parts_are_within_two_levels_of_the_full_result_and_cover_every_change() {
        use super::super::raster::Rect;
        for ((w, h), (tw, th)) in [
            ((157, 93), (61, 200)),
            ((157, 93), (101, 59)),
            ((90, 70), (311, 242)),
        ] {
            for opaque in [false, true] {
                let mut px = sample(w, h);
                if opaque {
                    px.iter_mut().skip(3).step_by(4).for_each(|a| *a = 255);
                }
                let full = rgba8(px.clone(), w, h, tw, th);
                let alpha = !crate::render::raster::is_opaque(&px);
                for part in [
                    Rect::new(0, 0, tw, th),
                    Rect::new(3, 5, 17, 11),
                    Rect::new(tw as i32 - 9, th as i32 - 4, 9, 4),
                ] {
                    let got = rgba8_part(&px, (w, h), (tw, th), part, alpha);
                    assert_eq!(got.len(), part.area() as usize * 4);
                    for y in part.top..part.bottom {
                        for x in part.left..part.right {
                            let i =
                                ((y - part.top) * part.width() as i32 + x - part.left) as usize * 4;
                            let j = (y as usize * tw as usize + x as usize) * 4;
                            for c in 0..4 {
                                let d = (got[i + c] as i32 - full[j + c] as i32).abs();
                                assert!(d <= 2, "{w}x{h} -> {tw}x{th}, ({x}, {y}): {d} levels");
                            }
                        }
                    }
                }
                // Changing source pixels changes nothing outside `affected`.
                let changed = Rect::new(40, 30, 13, 9);
                let mut edited = px.clone();
                for y in changed.top..changed.bottom {
                    for x in changed.left..changed.right {
                        let i = (y as usize * w as usize + x as usize) * 4;
                        edited[i..i + 3].copy_from_slice(&[255, 0, 255]);
                    }
                }
                let after = rgba8(edited, w, h, tw, th);
                let zone = affected(changed, (w, h), (tw, th));
                for y in 0..th as i32 {
                    for x in 0..tw as i32 {
                        let i = (y as usize * tw as usize + x as usize) * 4;
                        let inside =
                            x >= zone.left && x < zone.right && y >= zone.top && y < zone.bottom;
                        assert!(
                            inside || full[i..i + 4] == after[i..i + 4],
                            "({x}, {y}) outside {zone:?}"
                        );
                    }
                }
            }
        }
    }

    /// The reference scalings in `fixtures/scale/`: `(file, width,
    /// height, opaque)` of `input.png` scaled. The web demo's browser test
    /// (`scaling_matches_the_native_reference_files`) checks the same
    /// files, so wasm (its simd128 kernels, its compiler) must give
    /// native's pixels.
    /// The sizes give the wasm kernels' unrolled windows (4 and 12 taps)
    /// and, for the 8.7x reduction to 7x5, their general loop (36 taps)
    /// with a precision outside the unrolled ones.
    const REFERENCES: [(&str, u32, u32, bool); 6] = [
        ("up.png", 91, 70, false),
        ("down.png", 25, 19, false),
        ("tiny.png", 7, 5, false),
        ("opaque-up.png", 91, 70, true),
        ("opaque-down.png", 25, 19, true),
        ("opaque-tiny.png", 7, 5, true),
    ];

    /// A 61x47 picture (odd sizes, so every kernel's tail runs) of hard
    /// edges: every pixel fully opaque or fully transparent, each channel
    /// black or white, with a smooth gradient in the right third.
    /// Catmull-Rom's negative lobes then overshoot (premultiplied colours
    /// above their alpha), which un-premultiplying must clamp.
    fn hard_edges() -> Vec<u8> {
        let mut seed = 0x2545_f491_u32;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        (0..61 * 47)
            .flat_map(|i| {
                let r = next();
                if i % 61 >= 41 {
                    let v = (i % 61 - 41) as u8 * 12;
                    [v, 255 - v, (i / 61) as u8 * 5, 128 + v / 2]
                } else {
                    let bit = |k: u32| if r >> k & 1 == 1 { 255 } else { 0 };
                    [bit(0), bit(1), bit(2), bit(3)]
                }
            })
            .collect()
    }

    #[test]
    fn scaled_pixels_match_the_reference_files() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/scale");
        let bless = std::env::var_os("MOCKUP_BLESS").is_some_and(|v| v == "1");
        let input = format!("{dir}/input.png");
        if bless {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(
                &input,
                crate::encode::png_rgba8(&hard_edges(), 61, 47).unwrap(),
            )
            .unwrap();
        }
        let (px, w, h) =
            crate::encode::decode_png_rgba8(&std::fs::read(&input).unwrap(), 1 << 20).unwrap();
        assert_eq!((px.as_slice(), w, h), (hard_edges().as_slice(), 61, 47));
        for (name, tw, th, opaque) in REFERENCES {
            let src: Vec<u8> = if opaque {
                px.chunks_exact(4)
                    .flat_map(|p| [p[0], p[1], p[2], 255])
                    .collect()
            } else {
                px.clone()
            };
            let got = rgba8(src, w, h, tw, th);
            let path = format!("{dir}/{name}");
            if bless {
                std::fs::write(&path, crate::encode::png_rgba8(&got, tw, th).unwrap()).unwrap();
            }
            let (want, ww, wh) =
                crate::encode::decode_png_rgba8(&std::fs::read(&path).unwrap(), 1 << 20).unwrap();
            assert_eq!((ww, wh), (tw, th), "{name}");
            let differ = got.iter().zip(&want).filter(|(a, b)| a != b).count();
            assert_eq!(
                differ, 0,
                "{name}: {differ} samples differ from the reference"
            );
        }
    }

    #[test]
    fn every_cpu_extension_gives_the_same_pixels() {
        // The browser build (wasm, simd128 or not) must match the server.
        let px = sample(157, 93);
        let reference = rgba8_with(&px, 157, 93, 61, 200, Some(fir::CpuExtensions::None));
        #[allow(unused_mut)]
        let mut others: Vec<fir::CpuExtensions> = Vec::new();
        #[cfg(target_arch = "x86_64")]
        others.extend([fir::CpuExtensions::Sse4_1, fir::CpuExtensions::Avx2]);
        for cpu in others.into_iter().filter(|c| c.is_supported()) {
            let out = rgba8_with(&px, 157, 93, 61, 200, Some(cpu));
            assert_eq!(out, reference, "{cpu:?} differs from the scalar path");
        }
    }
}
