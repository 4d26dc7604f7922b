//! Scaling a finished RGBA8 picture to the export size.
//!
//! `fast_image_resize` does the work: a separable Catmull-Rom convolution on
//! alpha-premultiplied pixels (so transparent pixels' colour never bleeds
//! into edges), with SSE4.1/AVX2 natively and simd128 in wasm. It measured
//! ~10x faster than `image::imageops::resize` on the same filter (README,
//! "Speed"). Its SIMD paths compute the same integers as its scalar path,
//! which the browser preview relies on for pixel parity with the server; a
//! test below checks that on this machine's extensions.

use fast_image_resize as fir;

/// Scales straight-alpha RGBA8 pixels from `w` x `h` to `tw` x `th`. Returns
/// the input unchanged when the size is the same; an empty image for a zero
/// size or a buffer that does not match the size.
pub fn rgba8(rgba: Vec<u8>, w: u32, h: u32, tw: u32, th: u32) -> Vec<u8> {
    rgba8_with(rgba, w, h, tw, th, None)
}

/// [`rgba8`] with a chosen CPU extension (`None`: the best available).
fn rgba8_with(
    rgba: Vec<u8>,
    w: u32,
    h: u32,
    tw: u32,
    th: u32,
    cpu: Option<fir::CpuExtensions>,
) -> Vec<u8> {
    if (w, h) == (tw, th) {
        return rgba;
    }
    if tw == 0 || th == 0 {
        return Vec::new();
    }
    // Premultiplying opaque pixels is the identity: skip it (measured ~7% of
    // a wasm render of an opaque 1920-px export).
    let alpha = !super::raster::is_opaque(&rgba);
    let Ok(src) = fir::images::Image::from_vec_u8(w, h, rgba, fir::PixelType::U8x4) else {
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
    fn every_cpu_extension_gives_the_same_pixels() {
        // The browser build (wasm, simd128 or not) must match the server.
        let px = sample(157, 93);
        let reference = rgba8_with(px.clone(), 157, 93, 61, 200, Some(fir::CpuExtensions::None));
        #[allow(unused_mut)]
        let mut others: Vec<fir::CpuExtensions> = Vec::new();
        #[cfg(target_arch = "x86_64")]
        others.extend([fir::CpuExtensions::Sse4_1, fir::CpuExtensions::Avx2]);
        for cpu in others.into_iter().filter(|c| c.is_supported()) {
            let out = rgba8_with(px.clone(), 157, 93, 61, 200, Some(cpu));
            assert_eq!(out, reference, "{cpu:?} differs from the scalar path");
        }
    }
}
