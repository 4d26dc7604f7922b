//! Patched (PATCHES.md, 2): the horizontal coefficients laid out for the
//! wasm32 kernel that computes four output pixels of one row at a time.
//!
//! Every output pixel gets the same number of taps, a multiple of four,
//! padded with zero coefficients; a window that would then run past the
//! right edge of the source row is moved left, its coefficients moved right
//! by as much. Zero coefficients add nothing to the integer sums, so the
//! result is the unpadded convolution's, bit for bit. Each pair of taps is
//! stored as its two coefficients repeated four times, the order
//! `i32x4_dot_i16x8` multiplies a pair of pixels' interleaved channels in,
//! so the kernel loads them instead of splatting them per row.

use crate::compat::*;
use crate::convolution::optimisations::Normalizer16;

pub(crate) struct PackedCoefficients {
    /// Taps per output pixel: a multiple of 4, at most the source width.
    pub taps: usize,
    /// The first source pixel of each output pixel's window.
    pub starts: Vec<u32>,
    /// Per output pixel, `taps / 2` pairs of coefficients `[k0, k1]`
    /// repeated four times.
    pub pairs: Vec<[i16; 8]>,
}

impl PackedCoefficients {
    /// The layout for rows of `src_width` pixels, or `None` when a padded
    /// window cannot fit in the row (rows narrower than the window) or a
    /// chunk lies outside it.
    pub fn new(normalizer: &Normalizer16, src_width: usize) -> Option<Self> {
        let chunks = normalizer.chunks();
        let longest = chunks.iter().map(|c| c.values().len()).max()?;
        let taps = longest.max(1).div_ceil(4) * 4;
        if taps > src_width {
            return None;
        }
        let mut starts = Vec::with_capacity(chunks.len());
        let mut pairs = Vec::with_capacity(chunks.len() * taps / 2);
        let mut window = vec![0i16; taps];
        for chunk in chunks {
            let (start, values) = (chunk.start as usize, chunk.values());
            if start + values.len() > src_width {
                return None;
            }
            let moved = start.min(src_width - taps);
            let shift = start - moved;
            window.fill(0);
            window[shift..shift + values.len()].copy_from_slice(values);
            starts.push(moved as u32);
            pairs.extend(window.chunks_exact(2).map(|k| {
                let (a, b) = (k[0], k[1]);
                [a, b, a, b, a, b, a, b]
            }));
        }
        Some(Self {
            taps,
            starts,
            pairs,
        })
    }

    /// The convolution of one row through this layout, in plain integer
    /// arithmetic: what the wasm32 kernel computes with `simd128`.
    #[cfg(test)]
    pub fn convolve_row(
        &self,
        src: &[crate::pixels::U8x4],
        dst: &mut [crate::pixels::U8x4],
        precision: u8,
    ) {
        let groups = self.taps / 2;
        for (x, d) in dst.iter_mut().enumerate() {
            let start = self.starts[x] as usize;
            let mut sum = [1i32 << (precision - 1); 4];
            for (p, pair) in self.pairs[x * groups..(x + 1) * groups].iter().enumerate() {
                let (a, b) = (src[start + 2 * p].0, src[start + 2 * p + 1].0);
                for c in 0..4 {
                    sum[c] += a[c] as i32 * pair[0] as i32 + b[c] as i32 * pair[1] as i32;
                }
            }
            d.0 = sum.map(|s| (s >> precision).clamp(0, 255) as u8);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convolution::{get_filter_func, precompute_coefficients};
    use crate::images::{TypedImage, TypedImageRef};
    use crate::pixels::U8x4;
    use crate::FilterType;

    #[test]
    fn packed_rows_convolve_as_the_scalar_kernel() {
        let mut seed = 0x1234_5678_u32;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        let mut checked = 0;
        for filter in [
            FilterType::CatmullRom,
            FilterType::Lanczos3,
            FilterType::Bilinear,
        ] {
            let (f, support) = get_filter_func(filter);
            for (sw, dw) in [
                (1, 5),
                (3, 7),
                (4, 4),
                (4, 9),
                (5, 2),
                (7, 3),
                (16, 24),
                (64, 97),
                (64, 26),
                (97, 64),
                (300, 41),
                (41, 300),
                (1280, 1920),
                (3000, 1920),
            ] {
                let src: Vec<U8x4> = (0..sw).map(|_| U8x4::new(next().to_le_bytes())).collect();
                let coeffs = precompute_coefficients(sw, 0.0, sw as f64, dw, f, support, true);
                let normalizer = Normalizer16::new(coeffs);
                let mut want = vec![U8x4::new([0; 4]); dw as usize];
                super::super::native::horiz_convolution(
                    &TypedImageRef::new(sw, 1, &src).unwrap(),
                    &mut TypedImage::from_pixels_slice(dw, 1, &mut want).unwrap(),
                    0,
                    &normalizer,
                );
                let Some(packed) = PackedCoefficients::new(&normalizer, sw as usize) else {
                    // Only rows narrower than the padded window fall back.
                    let longest = normalizer.chunks().iter().map(|c| c.values().len()).max();
                    assert!(
                        longest.unwrap().div_ceil(4) * 4 > sw as usize,
                        "{sw} -> {dw}"
                    );
                    continue;
                };
                assert_eq!(packed.taps % 4, 0);
                let mut got = vec![U8x4::new([0; 4]); dw as usize];
                packed.convolve_row(&src, &mut got, normalizer.precision());
                let (got, want): (Vec<_>, Vec<_>) = (
                    got.iter().map(|p| p.0).collect(),
                    want.iter().map(|p| p.0).collect(),
                );
                assert_eq!(got, want, "{filter:?} {sw} -> {dw}");
                checked += 1;
            }
        }
        assert!(checked >= 30, "only {checked} cases packed");
    }
}
