//! Image comparison metrics used by the fidelity and golden tests.

/// PSNR in dB between two straight-alpha RGBA8 images of the same size,
/// computed over premultiplied RGBA with peak 1.0, so that colour under
/// transparent pixels does not count. `f64::INFINITY` when identical.
pub fn psnr_premultiplied(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len(), "images must have the same size");
    let mut sum = 0.0f64;
    for (pa, pb) in a.chunks_exact(4).zip(b.chunks_exact(4)) {
        let (aa, ab) = (pa[3] as f64 / 255.0, pb[3] as f64 / 255.0);
        for k in 0..3 {
            let d = pa[k] as f64 / 255.0 * aa - pb[k] as f64 / 255.0 * ab;
            sum += d * d;
        }
        sum += (aa - ab) * (aa - ab);
    }
    let mse = sum / (a.len() as f64);
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (1.0 / mse).log10()
    }
}

/// Flattens straight-alpha RGBA8 over white, keeping alpha 255.
pub fn flatten_over_white(rgba: &mut [u8]) {
    for p in rgba.chunks_exact_mut(4) {
        let a = p[3];
        for c in &mut p[..3] {
            *c = over_white(*c, a);
        }
        p[3] = 255;
    }
}

/// One 8-bit channel `c` at alpha `a` composited over white, rounded.
pub fn over_white(c: u8, a: u8) -> u8 {
    let (c, a) = (c as u32, a as u32);
    ((c * a + 255 * (255 - a) + 127) / 255) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psnr_of_one_level_everywhere_is_48_db() {
        let a = [100u8, 100, 100, 255].repeat(16);
        let b = [101u8, 101, 101, 255].repeat(16);
        // Three of four channels differ by 1/255: MSE = 0.75 / 255^2.
        let expected = 10.0 * (255.0f64 * 255.0 / 0.75).log10();
        assert!((psnr_premultiplied(&a, &b) - expected).abs() < 1e-9);
        assert!(psnr_premultiplied(&a, &a).is_infinite());
    }

    #[test]
    fn colour_under_full_transparency_is_ignored() {
        let a = [10u8, 20, 30, 0];
        let b = [200u8, 100, 0, 0];
        assert!(psnr_premultiplied(&a, &b).is_infinite());
    }
}
